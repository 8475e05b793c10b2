import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/postgres.js';
import { ensureSagaTables } from '../../sagas/runtime/tables.js';
import { createTestDatabase } from '../support/env.js';

// A saga process (re)started beside running ones (a rolling deploy, a crash restart, a second instance) runs
// ensureSagaTables while the others' batch transactions write saga_commands and saga_timeline. Found by killing
// one of two saga processes under load: the restarted one died at start with "deadlock detected". On a schema
// already complete, start-up must take no table lock at all: it must neither wait for running sagas nor make
// them wait (CREATE INDEX IF NOT EXISTS takes a SHARE lock on its table before finding the index exists).

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => {
  const created = await createTestDatabase('advsagarestart');
  drop = created.drop;
  db = connect(created.url, { max: 6 });
  await ensureSagaTables(db);
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

/** Settles to 'pending' when `promise` has not settled within `ms`. */
const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> =>
  Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

describe('ensureSagaTables beside running sagas', () => {
  it('completes at once while a saga transaction holds its rows, and that transaction then commits', async () => {
    const running = await db.transaction();
    try {
      // What a saga batch does first: write commands (ROW EXCLUSIVE on saga_commands, held until commit).
      await running('saga_commands').insert({
        saga_type: 't',
        saga_id: 'restart-1',
        step: 'a',
        kind: 'k',
        payload: {},
      });
      const restart = ensureSagaTables(db);
      restart.catch(() => undefined);
      // Then the timeline, in the same transaction: with the restart waiting on saga_commands while holding
      // saga_timeline, this is the deadlock.
      // (A knex builder runs again on every then/catch: made a promise once.)
      const timeline = Promise.resolve(
        running('saga_timeline').insert({ saga_type: 't', saga_id: 'restart-1', kind: 'k', detail: {} }),
      );
      timeline.catch(() => undefined);
      expect(await within(restart, 3000)).toBeUndefined();
      await timeline;
      await running.commit();
    } finally {
      if (!running.isCompleted()) await running.rollback().catch(() => undefined);
    }
    expect(await db('saga_timeline').where({ saga_id: 'restart-1' }).count({ n: '*' }).first()).toEqual({ n: 1 });
  });

  it('still creates every table, index and column on an empty database, twice over at once', async () => {
    const created = await createTestDatabase('advsagafresh');
    const fresh = connect(created.url, { max: 4 });
    try {
      await Promise.all([ensureSagaTables(fresh), ensureSagaTables(fresh)]);
      const columns = await fresh.raw(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'saga_commands'`,
      );
      expect(columns.rows.map((r: { column_name: string }) => r.column_name)).toEqual(
        expect.arrayContaining(['cause', 'attempt_id', 'retryable', 'claimed_until', 'claimed_by']),
      );
      const indexes = await fresh.raw(
        `SELECT to_regclass('saga_commands_due') AS a, to_regclass('saga_deadlines_due') AS b, to_regclass('saga_timeline_saga') AS c`,
      );
      expect(Object.values(indexes.rows[0]).every((v) => v !== null)).toBe(true);
    } finally {
      await fresh.destroy();
      await created.drop();
    }
  });
});
