import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../runtime/log.js';
import { connect } from '../../runtime/postgres.js';
import { type CommandHandler, SagaCommandDispatcher } from '../../sagas/runtime/dispatcher.js';
import { ensureSagaTables } from '../../sagas/runtime/tables.js';
import { createTestDatabase, uniqueSuffix } from '../support/env.js';
import { waitUntil } from '../support/system.js';

let db: Knex;
let drop: () => Promise<void>;
let database: string;
beforeAll(async () => {
  const created = await createTestDatabase('dispatch');
  drop = created.drop;
  database = new URL(created.url).pathname.slice(1);
  db = connect(created.url, { max: 12 });
  await ensureSagaTables(db);
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

const logger = createLogger('dispatcher-test', 'silent');
const dispatcher = (handlers: Record<string, CommandHandler>) =>
  new SagaCommandDispatcher(db, handlers, () => true, logger, { pollMs: 20, backoffBaseMs: 10 });

async function enqueue(kind: string, count: number): Promise<string> {
  const sagaId = `saga-${uniqueSuffix()}`;
  await db('saga_commands').insert(
    Array.from({ length: count }, (_, i) => ({
      saga_type: 'test',
      saga_id: sagaId,
      step: `step-${i}`,
      kind,
      payload: {},
    })),
  );
  return sagaId;
}

describe('saga command dispatcher', () => {
  it('holds no transaction open while a handler waits on the provider', async () => {
    let finish: () => void = () => undefined;
    let started = false;
    const slow = dispatcher({
      slow: () =>
        new Promise<void>((resolve) => {
          started = true;
          finish = resolve;
        }),
    });
    await enqueue('slow', 1);
    slow.start();
    try {
      await waitUntil(async () => started, 10_000, 'the handler to start');
      const open = await db('pg_stat_activity')
        .where({ datname: database })
        .andWhere('state', 'like', 'idle in transaction%')
        .count({ n: '*' })
        .first();
      expect(Number(open?.n)).toBe(0);
      // The command is held all the same: a second dispatcher does not run it too.
      const second = dispatcher({ slow: async () => expect.unreachable('run twice') });
      expect(await second.runDue()).toBe(0);
    } finally {
      finish();
      await slow.stop();
    }
    expect(await db('saga_commands').where({ kind: 'slow' }).pluck('status')).toEqual(['done']);
  });

  it('two dispatchers share the work: every command runs exactly once', async () => {
    const runs = new Map<string, number>();
    const handler: CommandHandler = async ({ step }) => {
      runs.set(step, (runs.get(step) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
    };
    const sagaId = await enqueue('shared', 60);
    const a = dispatcher({ shared: handler });
    const b = dispatcher({ shared: handler });
    a.start();
    b.start();
    try {
      await waitUntil(
        async () =>
          Number(
            (await db('saga_commands').where({ saga_id: sagaId, status: 'done' }).count({ n: '*' }).first())?.n,
          ) === 60,
        30_000,
        'all 60 commands to be done',
      );
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(runs.size).toBe(60);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    // No session keeps a command lock once the dispatchers have stopped.
    // pg_locks is cluster-wide: count this test database's locks only, not another test file's dispatchers'.
    const locks = await db('pg_locks')
      .where({ locktype: 'advisory', classid: 0x53616761 })
      .whereRaw('database = (SELECT oid FROM pg_database WHERE datname = current_database())')
      .count({ n: '*' })
      .first();
    expect(Number(locks?.n)).toBe(0);
  });

  it('defers a command refused by an open circuit without using an attempt, but only for so long', async () => {
    const refused = () =>
      Promise.reject(Object.assign(new Error('payment provider circuit open'), { deferMs: 60_000 }));
    const fresh = await enqueue('guarded', 1);
    const stale = await enqueue('guarded', 1);
    await db('saga_commands')
      .where({ saga_id: stale })
      .update({ created_at: new Date(Date.now() - 20 * 60_000) });
    const d = dispatcher({ guarded: refused });
    expect(await d.runDue()).toBe(2);
    const row = (sagaId: string) => db('saga_commands').where({ saga_id: sagaId }).first();
    // Issued just now: waits for the circuit, attempts untouched.
    expect(await row(fresh)).toMatchObject({
      status: 'pending',
      attempts: 0,
      last_error: expect.stringMatching(/circuit open/),
    });
    expect((await row(fresh)).next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 50_000);
    // Issued 20 minutes ago (past the 15-minute default): the outage counts against its attempts again.
    expect(await row(stale)).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('records nothing when the command was taken over and finished elsewhere while its handler ran', async () => {
    const sagaId = await enqueue('overtaken', 1);
    const d = dispatcher({
      // Another process's run finishing first (as after this one's lock session died): the row is done already.
      overtaken: async () => {
        await db('saga_commands').where({ saga_id: sagaId }).update({ status: 'done', attempts: 1 });
      },
    });
    expect(await d.runDue()).toBe(1);
    const done = await db('saga_timeline').where({ saga_id: sagaId, kind: 'command-done' }).count({ n: '*' }).first();
    expect(Number(done?.n)).toBe(0);
  });
});
