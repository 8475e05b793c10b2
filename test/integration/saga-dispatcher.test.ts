import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../runtime/log.js';
import { type CommandHandler, SagaCommandDispatcher } from '../../sagas/runtime/dispatcher.js';
import { uniqueSuffix } from '../support/env.js';
import { openSagaDatabase, type SagaDatabase } from '../support/saga-database.js';
import { waitUntil } from '../support/system.js';

let db: Knex;
let sagaDb: SagaDatabase | undefined;
let database: string;
beforeAll(async () => {
  sagaDb = await openSagaDatabase('dispatch');
  db = sagaDb.db;
  database = new URL(sagaDb.url).pathname.slice(1);
});
afterAll(async () => {
  await sagaDb?.close();
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

/** Waits until the saga's `count` commands are all done. */
const allDone = (sagaId: string, count: number, timeoutMs: number) =>
  waitUntil(
    async () =>
      Number((await db('saga_commands').where({ saga_id: sagaId, status: 'done' }).count({ n: '*' }).first())?.n) ===
      count,
    timeoutMs,
    `all ${count} commands to be done`,
  );

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
      await allDone(sagaId, 60, 30_000);
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(runs.size).toBe(60);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    // No claim outlives its command: the outcome cleared each lease.
    const claimed = await db('saga_commands')
      .where({ saga_id: sagaId })
      .whereNotNull('claimed_until')
      .count({ n: '*' });
    expect(Number(claimed[0]?.n)).toBe(0);
  });

  it('three dispatchers on one table with short leases: no command performed twice, nor by two at once, even calls outlasting the lease', async () => {
    const runs = new Map<string, number>();
    const active = new Set<string>();
    const overlaps: string[] = [];
    let concurrent = 0;
    let peak = 0;
    const handler: CommandHandler = async ({ step }) => {
      if (active.has(step)) overlaps.push(step);
      active.add(step);
      runs.set(step, (runs.get(step) ?? 0) + 1);
      peak = Math.max(peak, ++concurrent);
      // One call in ten outlasts the 150 ms lease by far: only the renewal keeps another dispatcher off it.
      const slow = Number(step.slice(5)) % 10 === 0;
      await new Promise((r) => setTimeout(r, slow ? 500 : Math.random() * 20));
      concurrent--;
      active.delete(step);
    };
    const sagaId = await enqueue('contended', 150);
    const dispatchers = [1, 2, 3].map(
      () =>
        new SagaCommandDispatcher(db, { contended: handler }, () => true, logger, {
          pollMs: 10,
          concurrency: 6,
          leaseMs: 150,
        }),
    );
    for (const d of dispatchers) d.start();
    try {
      await allDone(sagaId, 150, 60_000);
    } finally {
      for (const d of dispatchers) await d.stop();
    }
    expect(overlaps).toEqual([]);
    expect(runs.size).toBe(150);
    expect([...runs.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    // Each started once on the timeline, and never superseded.
    const kinds: { kind: string; n: string }[] = await db('saga_timeline')
      .where({ saga_id: sagaId })
      .select('kind')
      .count({ n: '*' })
      .groupBy('kind');
    expect(Object.fromEntries(kinds.map((k) => [k.kind, Number(k.n)]))).toEqual({
      'attempt-started': 150,
      'command-done': 150,
    });
    // Work was shared and performed side by side: three dispatchers of six slots each.
    expect(peak).toBeGreaterThan(6);
    expect(peak).toBeLessThanOrEqual(18);
  });

  it('claims due commands in one statement and performs them side by side, up to its concurrency', async () => {
    let concurrent = 0;
    let peak = 0;
    const handler: CommandHandler = async () => {
      peak = Math.max(peak, ++concurrent);
      await new Promise((r) => setTimeout(r, 100));
      concurrent--;
    };
    const sagaId = await enqueue('wide', 10);
    const d = new SagaCommandDispatcher(db, { wide: handler }, () => true, logger, { concurrency: 4 });
    // One claim fills the four slots; the rest waits for the next.
    expect(await d.runDue()).toBe(4);
    expect(peak).toBe(4);
    const started = await db('saga_timeline').where({ saga_id: sagaId, kind: 'attempt-started' }).count({ n: '*' });
    expect(Number(started[0]?.n)).toBe(4);
    d.start();
    try {
      await allDone(sagaId, 10, 10_000);
    } finally {
      await d.stop();
    }
    expect(peak).toBe(4);
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

  it("takes a command due on the database's clock, whatever the process's clock says, and backs off on it too", async () => {
    // A host a minute behind the database. On one host the same happened by less than a millisecond: a JS Date
    // drops the microseconds now() keeps, so a command issued in the claim's millisecond was not yet due to it and a
    // one-shot runDue left it pending (the saga-attempts flake).
    const lagging = () => new Date(Date.now() - 60_000);
    const sagaId = await enqueue('skewed', 1);
    let calls = 0;
    const d = new SagaCommandDispatcher(
      db,
      {
        skewed: async () => {
          if (++calls === 1) throw new Error('provider answered 503');
        },
      },
      () => true,
      logger,
      { backoffBaseMs: 10 },
      lagging,
    );
    expect(await d.runDue()).toBe(1);
    const row = () => db('saga_commands').where({ saga_id: sagaId }).first();
    const { next_attempt_at: retryAt, db_now: dbNow } = await db('saga_commands')
      .where({ saga_id: sagaId })
      .first('next_attempt_at', db.raw('clock_timestamp() AS db_now'));
    // The backoff (10 ms) counted from the database's now, not from the lagging clock's.
    expect(Math.abs(retryAt.getTime() - dbNow.getTime())).toBeLessThan(5_000);
    expect(await row()).toMatchObject({ status: 'pending', attempts: 1 });
    await waitUntil(async () => (await d.runDue()) === 1, 5_000, 'the retry to be due');
    expect(await row()).toMatchObject({ status: 'done', attempts: 2 });
    expect(calls).toBe(2);
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
