import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError } from '../../commands/store/errors.js';
import { metadata, opaqueEvents, openTestStore, type TestStore } from '../support/store.js';

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore('store');
});
afterAll(() => t?.close());

let counter = 0;
const newStream = () => `probe-${Date.now()}-${counter++}`;

describe('event store append', () => {
  it('appends to a new stream and reads it back in order with metadata', async () => {
    const streamId = newStream();
    const events = opaqueEvents(3);
    const result = await t.store.append({
      streamId,
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events,
      metadata,
    });
    expect(result.version).toBe(3);
    const read = await t.store.readStream(streamId);
    expect(read.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
    expect(read.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    expect(read[2]!.globalPosition).toBe(result.position);
    expect(read[0]!.metadata).toEqual(metadata);
    expect((await t.store.readStreamBackward(streamId, { fromVersion: 2 })).map((e) => e.streamVersion)).toEqual([
      2, 1,
    ]);
    expect((await t.store.readStream(streamId, { fromVersion: 2 })).map((e) => e.streamVersion)).toEqual([2, 3]);
  });

  it('rejects a second append at the same expected version with a typed error', async () => {
    const streamId = newStream();
    await t.store.append({
      streamId,
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events: opaqueEvents(1),
      metadata,
    });
    await t.store.append({ streamId, streamType: 'test.probe', expectedVersion: 1, events: opaqueEvents(1), metadata });
    const stale = t.store.append({
      streamId,
      streamType: 'test.probe',
      expectedVersion: 1,
      events: opaqueEvents(1),
      metadata,
    });
    await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(stale).rejects.toMatchObject({ code: 'STREAM_VERSION_CONFLICT', actual: 2 });
  });

  it('rejects no_stream on an existing stream and a version ahead of the stream', async () => {
    const streamId = newStream();
    await t.store.append({
      streamId,
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events: opaqueEvents(1),
      metadata,
    });
    await expect(
      t.store.append({
        streamId,
        streamType: 'test.probe',
        expectedVersion: 'no_stream',
        events: opaqueEvents(1),
        metadata,
      }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(
      t.store.append({ streamId, streamType: 'test.probe', expectedVersion: 5, events: opaqueEvents(1), metadata }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await t.store.streamVersion(streamId)).toBe(1);
  });

  it('appends at any version without a check, one after another', async () => {
    const streamId = newStream();
    await Promise.all(
      Array.from({ length: 5 }, () =>
        t.store.append({
          streamId,
          streamType: 'test.probe',
          expectedVersion: 'any',
          events: opaqueEvents(2),
          metadata,
        }),
      ),
    );
    const read = await t.store.readStream(streamId);
    expect(read.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('writes one outbox row per event, in the same transaction', async () => {
    const streamId = newStream();
    const result = await t.store.append({
      streamId,
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events: opaqueEvents(2),
      metadata,
    });
    const rows = await t.db('outbox').whereIn('global_position', [result.position - 1, result.position]);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.topic))).toEqual(new Set(['test.probe']));
  });

  it('property: of N concurrent appends at the same expected version exactly one wins and the stream has no gap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 0, max: 3 }),
        async (writers, preexisting) => {
          const streamId = newStream();
          if (preexisting > 0) {
            await t.store.append({
              streamId,
              streamType: 'test.probe',
              expectedVersion: 'no_stream',
              events: opaqueEvents(preexisting),
              metadata,
            });
          }
          const expectedVersion = preexisting === 0 ? ('no_stream' as const) : preexisting;
          const outcomes = await Promise.allSettled(
            Array.from({ length: writers }, () =>
              t.store.append({
                streamId,
                streamType: 'test.probe',
                expectedVersion,
                events: opaqueEvents(2),
                metadata,
              }),
            ),
          );
          const won = outcomes.filter((o) => o.status === 'fulfilled');
          const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost.every((o) => o.reason instanceof ConcurrencyError)).toBe(true);
          const versions = (await t.store.readStream(streamId)).map((e) => e.streamVersion);
          expect(versions).toEqual(Array.from({ length: preexisting + 2 }, (_, i) => i + 1));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('reading all events', () => {
  it('never hands out a position above a transaction still in flight (the gap hazard)', async () => {
    // A slow appender takes its position first and commits last.
    const slow = await t.db.transaction();
    await slow.raw('SELECT pg_advisory_xact_lock_shared(?)', [0x4c656467]);
    const [slowRow] = await slow('events')
      .insert({
        stream_id: newStream(),
        stream_type: 'test.probe',
        stream_version: 1,
        event_id: opaqueEvents(1)[0]!.eventId,
        event_type: 'Probe',
        schema_id: 1,
        payload: Buffer.from('slow'),
        metadata: JSON.stringify(metadata),
      })
      .returning('global_position');
    const fast = await t.store.append({
      streamId: newStream(),
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events: opaqueEvents(1),
      metadata,
    });
    expect(fast.position).toBeGreaterThan(slowRow.global_position);

    let settled = false;
    const mark = t.store.safeHighWaterMark().then((m) => {
      settled = true;
      return m;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false); // it waits for the slow transaction instead of skipping its event
    await slow.commit();
    const hwm = await mark;
    expect(hwm).toBeGreaterThanOrEqual(fast.position);
    const all = await t.store.readAll(slowRow.global_position - 1, hwm);
    expect(all.map((e) => e.globalPosition)).toContain(slowRow.global_position);
  });
});
