import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPEND_BARRIER_LOCK } from '../../commands/store/append-statement.js';
import { ConcurrencyError, IdempotencyRaceError } from '../../commands/store/errors.js';
import { type AppendRequest, EventStore, type ExpectedVersion } from '../../commands/store/event-store.js';
import { withRawClient } from '../../runtime/postgres.js';
import { metadata, opaqueEvents, openTestStore, type TestStore } from '../support/store.js';

// The one-statement append (commands/store/append-statement.ts) on a real PostgreSQL: atomicity without an
// explicit transaction, the idempotency key in the same statement, the alsoInTransaction path, the barrier taken
// before any position is drawn, and named prepared statements on a shared pool.

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore('appendstmt');
});
afterAll(() => t?.close());

const newStream = () => `append-${randomUUID()}`;
/** An append of `count` opaque events to a test stream; `extra` adds the idempotency record or a callback. */
const append = (
  streamId: string,
  expectedVersion: ExpectedVersion,
  count: number,
  extra: Pick<AppendRequest, 'idempotency' | 'alsoInTransaction'> = {},
) =>
  t.store.append({
    streamId,
    streamType: 'test.probe',
    expectedVersion,
    events: opaqueEvents(count),
    metadata,
    ...extra,
  });
const idempotency = () => ({ scope: `actor-${randomUUID()}`, key: `key-${randomUUID()}`, requestHash: 'h1' });
const eventsOf = (streamId: string) => t.db('events').where({ stream_id: streamId });
const sequenceValue = async (): Promise<number> =>
  Number((await t.db.raw('SELECT last_value FROM events_global_position_seq')).rows[0].last_value);

/** Settles to 'pending' when `promise` has not settled within `ms`. */
const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> =>
  Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

describe('one-statement append', () => {
  it('records the idempotency key with the response in the same statement', async () => {
    const streamId = newStream();
    const record = idempotency();
    const result = await append(streamId, 'no_stream', 3, { idempotency: record });
    expect(await t.store.findIdempotent(record.scope, record.key)).toEqual({ requestHash: 'h1', response: result });
    const outbox = await t.db('outbox').whereIn(
      'global_position',
      (await eventsOf(streamId)).map((e) => e.global_position),
    );
    expect(outbox).toHaveLength(3);
  });

  it('appends nothing when the key is already recorded, and says so with IdempotencyRaceError', async () => {
    const record = idempotency();
    const first = newStream();
    await append(first, 'no_stream', 1, { idempotency: record });
    const second = newStream();
    const outboxBefore = Number((await t.db('outbox').count({ n: '*' }))[0]!.n);
    await expect(append(second, 'no_stream', 2, { idempotency: record })).rejects.toBeInstanceOf(IdempotencyRaceError);
    // The unique violation aborted the statement's implicit transaction: no stream row, no events, no outbox rows.
    expect(await t.store.streamVersion(second)).toBeNull();
    expect(await eventsOf(second)).toHaveLength(0);
    expect(Number((await t.db('outbox').count({ n: '*' }))[0]!.n)).toBe(outboxBefore);
  });

  it('names the actual version in a conflict, for each way of claiming', async () => {
    const streamId = newStream();
    await append(streamId, 'no_stream', 2);
    await expect(append(streamId, 'no_stream', 1)).rejects.toMatchObject({
      code: 'STREAM_VERSION_CONFLICT',
      expected: 'no_stream',
      actual: 2,
    });
    await expect(append(streamId, 1, 1)).rejects.toMatchObject({ expected: '1', actual: 2 });
    await expect(append(newStream(), 3, 1)).rejects.toMatchObject({ actual: null });
    const any = await append(streamId, 'any', 2);
    expect(any.version).toBe(4);
    expect((await t.store.readStream(streamId)).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4]);
  });

  it('draws no position before it holds the append barrier', async () => {
    // A catch-up reader holds the barrier exclusively: an append must wait for it before taking a position.
    const reader = await t.db.transaction();
    try {
      await reader.raw('SELECT pg_advisory_xact_lock(?)', [APPEND_BARRIER_LOCK]);
      const before = await sequenceValue();
      const pending = append(newStream(), 'no_stream', 2);
      expect(await within(pending, 300)).toBe('pending');
      // Sequence values are not transactional: one drawn by the waiting append would show here at once.
      expect(await sequenceValue()).toBe(before);
      await reader.commit();
      expect((await pending).position).toBeGreaterThan(before);
    } finally {
      if (!reader.isCompleted()) await reader.rollback();
    }
  });

  it('keeps the high-water mark below a one-statement append still in flight', async () => {
    // The slow append waits inside its statement, after drawing its positions: its idempotency key is held by
    // an uncommitted insert of another transaction, which the statement's unique check must wait for.
    const record = idempotency();
    const holder = await t.db.transaction();
    let slow: Promise<unknown> | undefined;
    try {
      await holder('idempotency_keys').insert({ ...toRow(record), response: '{}' });
      const slowStream = newStream();
      slow = append(slowStream, 'no_stream', 1, { idempotency: record });
      const waitingSince = Date.now();
      while (!(await isWaitingOnLock())) {
        if (Date.now() - waitingSince > 5000) throw new Error('the slow append never started waiting');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const fast = await append(newStream(), 'no_stream', 1);
      const mark = t.store.safeHighWaterMark();
      expect(await within(mark, 300)).toBe('pending');
      await holder.rollback(); // the key is free again: the slow append commits
      await slow;
      const hwm = await mark;
      expect(hwm).toBeGreaterThanOrEqual(fast.position);
      const slowEvents = await eventsOf(slowStream);
      expect(slowEvents).toHaveLength(1);
      expect(slowEvents[0]!.global_position).toBeLessThan(fast.position);
      const read = await t.store.readAll(slowEvents[0]!.global_position - 1, hwm);
      expect(read.map((e) => e.globalPosition)).toContain(slowEvents[0]!.global_position);
    } finally {
      if (!holder.isCompleted()) await holder.rollback();
      await slow?.catch(() => undefined);
    }
  });
});

describe('alsoInTransaction', () => {
  it('commits the callback’s writes with the events', async () => {
    const streamId = newStream();
    const table = await scratchTable();
    await append(streamId, 'no_stream', 1, {
      alsoInTransaction: async (trx) => {
        await trx.query(`INSERT INTO ${table} (note) VALUES ($1)`, ['kept']);
      },
    });
    expect(await eventsOf(streamId)).toHaveLength(1);
    expect((await t.db(table)).map((r) => r.note)).toEqual(['kept']);
  });

  it('rolls the events, outbox rows, idempotency key and its own writes back when the callback throws', async () => {
    const streamId = newStream();
    const table = await scratchTable();
    const record = idempotency();
    const outboxBefore = Number((await t.db('outbox').count({ n: '*' }))[0]!.n);
    await expect(
      append(streamId, 'no_stream', 2, {
        idempotency: record,
        alsoInTransaction: async (trx) => {
          await trx.query(`INSERT INTO ${table} (note) VALUES ($1)`, ['lost']);
          throw new Error('refused by the callback');
        },
      }),
    ).rejects.toThrow('refused by the callback');
    expect(await t.store.streamVersion(streamId)).toBeNull();
    expect(await eventsOf(streamId)).toHaveLength(0);
    expect(await t.store.findIdempotent(record.scope, record.key)).toBeNull();
    expect(Number((await t.db('outbox').count({ n: '*' }))[0]!.n)).toBe(outboxBefore);
    expect(await t.db(table)).toHaveLength(0);
    // The connection went back to the pool clean: the next append on it is not inside an aborted transaction.
    await append(streamId, 'no_stream', 1);
    expect(await t.store.streamVersion(streamId)).toBe(1);
  });

  it('throws ConcurrencyError without calling the callback when the claim fails', async () => {
    const streamId = newStream();
    await append(streamId, 'no_stream', 1);
    let called = false;
    await expect(
      append(streamId, 'no_stream', 1, {
        alsoInTransaction: async () => {
          called = true;
        },
      }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    expect(called).toBe(false);
  });
});

describe('prepared statements on a shared pool', () => {
  it('survive concurrent use of a small pool by appends, conflicts, key races and reads', async () => {
    const pooled = await openTestStore('appendpool', {}, 3);
    try {
      const store = new EventStore(pooled.db);
      const streams = Array.from({ length: 6 }, newStream);
      const shared = idempotency();
      const sharesKey = (i: number) => i === 7 || i === 21;
      const expectedVersion = async (i: number, streamId: string): Promise<ExpectedVersion> => {
        if (i % 3 === 0 || sharesKey(i)) return 'any'; // the two appends sharing a key must not conflict otherwise
        if (i < streams.length) return 'no_stream';
        return (await store.streamVersion(streamId)) ?? 0;
      };
      const work = Array.from({ length: 120 }, async (_, i) => {
        const streamId = streams[i % streams.length]!;
        if (i % 5 === 4) return store.readStreams(streams);
        return store
          .append({
            streamId,
            streamType: 'test.probe',
            expectedVersion: await expectedVersion(i, streamId),
            events: opaqueEvents(1 + (i % 3)),
            metadata,
            ...(i % 7 === 0 ? { idempotency: sharesKey(i) ? shared : idempotency() } : {}),
          })
          .catch((error: unknown) => {
            // Conflicts and the one shared key's race are expected answers; anything else fails the test.
            if (error instanceof ConcurrencyError || error instanceof IdempotencyRaceError) return error;
            throw error;
          });
      });
      const outcomes = await Promise.all(work);
      expect(outcomes.filter((o) => o instanceof IdempotencyRaceError)).toHaveLength(1);
      // Every stream is gapless and its row agrees with its events.
      const read = await store.readStreams(streams);
      for (const streamId of streams) {
        const versions = read.get(streamId)!.map((e) => e.streamVersion);
        expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
        expect((await store.streamVersion(streamId)) ?? 0).toBe(versions.length);
      }
      // The statements are prepared on the pool's connections (named, parsed once per connection): all three
      // connections are borrowed at once and asked.
      let borrowed = 0;
      const prepared = await Promise.all(
        [0, 1, 2].map(() =>
          withRawClient(pooled.db, async (client) => {
            borrowed++;
            while (borrowed < 3) await new Promise((resolve) => setTimeout(resolve, 5));
            const rows = (await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements')).rows;
            return rows.map((r) => r.name);
          }),
        ),
      );
      expect(prepared.flat()).toEqual(expect.arrayContaining(['ll_append_any', 'll_read_streams']));
    } finally {
      await pooled.close();
    }
  });
});

describe('reading several streams at once', () => {
  it('returns each stream in version order, pages across stream boundaries, and answers a missing stream empty', async () => {
    const a = newStream();
    const b = newStream();
    await append(a, 'no_stream', 5);
    await append(b, 'no_stream', 4);
    await append(a, 5, 2);
    const missing = newStream();
    for (const pageSize of [1, 3, 1000]) {
      const read = await t.store.readStreams([b, missing, a, b], pageSize);
      expect([...read.keys()]).toEqual([b, missing, a]);
      expect(read.get(a)!.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(read.get(b)!.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4]);
      expect(read.get(missing)).toEqual([]);
      expect(read.get(a)).toEqual(await t.store.readStream(a));
    }
  });
});

const toRow = (record: { scope: string; key: string; requestHash: string }) => ({
  scope: record.scope,
  key: record.key,
  request_hash: record.requestHash,
});

async function isWaitingOnLock(): Promise<boolean> {
  const r = await t.db.raw(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH barrier%'`,
  );
  return r.rows[0].n > 0;
}

let tables = 0;
async function scratchTable(): Promise<string> {
  const name = `also_in_trx_${tables++}`;
  await t.db.raw(`CREATE TABLE ${name} (note text NOT NULL)`);
  return name;
}
