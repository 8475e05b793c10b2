import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKeyPruner, pruneIdempotencyKeys } from '../../commands/store/retention.js';
import { createLogger } from '../../runtime/log.js';
import { metadata, opaqueEvents, openTestStore, type TestStore } from '../support/store.js';

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore('retention');
});
afterAll(() => t?.close());

const HOUR = 3_600_000;
const keysLeft = async () => (await t.db('idempotency_keys').orderBy('key').pluck('key')) as string[];

/** Appends one event under an idempotency key, then dates the key `ageHours` back. */
async function appendWithKey(key: string, ageHours: number) {
  const result = await t.store.append({
    streamId: `retention-${key}`,
    streamType: 'test.retention',
    expectedVersion: 'no_stream',
    events: opaqueEvents(1),
    metadata,
    idempotency: { scope: 'retention', key, requestHash: 'h' },
  });
  await t
    .db('idempotency_keys')
    .where({ scope: 'retention', key })
    .update({ created_at: new Date(Date.now() - ageHours * HOUR) });
  return result;
}

describe('idempotency key retention', () => {
  it('forgets keys older than the retention period and keeps the rest, in bounded batches', async () => {
    await t.db('idempotency_keys').delete();
    for (let i = 0; i < 7; i++) await appendWithKey(`old-${i}`, 200);
    await appendWithKey('young', 1);
    const pruner = new IdempotencyKeyPruner(t.db, createLogger('retention', 'silent'), {
      ttlMs: 168 * HOUR,
      batchSize: 3,
    });
    expect(await pruner.pruneBatch()).toBe(true); // a full batch: more may be due
    expect(await keysLeft()).toHaveLength(5);
    expect(await pruner.pruneBatch()).toBe(true);
    expect(await pruner.pruneBatch()).toBe(false); // the last old key
    expect(await keysLeft()).toEqual(['young']);
    // The events themselves are never touched.
    expect(await t.store.streamVersion('retention-old-0')).toBe(1);
  });

  it('lets two pruners run at once without waiting on each other or deleting a key twice', async () => {
    await t.db('idempotency_keys').delete();
    for (let i = 0; i < 40; i++) await appendWithKey(`busy-${i}`, 500);
    const cutoff = new Date(Date.now() - 168 * HOUR);
    const deleted = await Promise.all([pruneIdempotencyKeys(t.db, cutoff, 25), pruneIdempotencyKeys(t.db, cutoff, 25)]);
    expect(deleted[0]! + deleted[1]!).toBeLessThanOrEqual(40);
    expect(deleted[0]! + deleted[1]! + (await pruneIdempotencyKeys(t.db, cutoff, 100))).toBe(40);
    expect(await keysLeft()).toEqual([]);
  });
});
