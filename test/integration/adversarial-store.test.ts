import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../commands/store/event-store.js';
import { metadata, opaqueEvents, openTestStore, type TestStore } from '../support/store.js';

// Hostile input on the one-statement append and the one-query load (issue 14), on a real PostgreSQL: big
// batches, streams longer than a load page, and stream ids made of the characters SQL, LIKE and arrays care about.

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore('advstore');
});
afterAll(() => t?.close());

const versionsOf = async (streamId: string) =>
  (await t.db('events').where({ stream_id: streamId }).orderBy('global_position').select('stream_version')).map(
    (r: { stream_version: number }) => r.stream_version,
  );

describe('big appends', () => {
  it('appends 1000 events in one statement: versions 1..1000 in position order, 1000 outbox rows', async () => {
    const streamId = `adv-big-${randomUUID()}`;
    const result = await t.store.append({
      streamId,
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events: opaqueEvents(1000),
      metadata,
    });
    expect(result.version).toBe(1000);
    expect(await versionsOf(streamId)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const outbox = await t
      .db('outbox')
      .whereIn('global_position', t.db('events').where({ stream_id: streamId }).select('global_position'));
    expect(outbox).toHaveLength(1000);
    expect(result.position).toBe(Math.max(...outbox.map((r: { global_position: number }) => r.global_position)));
  });

  it('loads a stream longer than a page, beside short ones, whole and in order (keyset paging across streams)', async () => {
    const long = `adv-long-${randomUUID()}`;
    const short = `adv-short-${randomUUID()}`;
    await t.store.append({
      streamId: long,
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events: opaqueEvents(1000),
      metadata,
    });
    await t.store.append({
      streamId: long,
      streamType: 'test.probe',
      expectedVersion: 1000,
      events: opaqueEvents(501),
      metadata,
    });
    await t.store.append({
      streamId: short,
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events: opaqueEvents(3),
      metadata,
    });
    const streams = await t.store.readStreams([short, long, `adv-missing-${randomUUID()}`], 250);
    expect(streams.get(long)?.map((e) => e.streamVersion)).toEqual(Array.from({ length: 1501 }, (_, i) => i + 1));
    expect(streams.get(short)?.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
    expect([...streams.values()].filter((events) => events.length === 0)).toHaveLength(1);
  });
});

describe('SQL-significant characters in stream ids', () => {
  const hostile = [
    `adv-'; DROP TABLE events; --`,
    'adv-"quoted"',
    'adv-back\\slash',
    'adv-%_wild%',
    'adv-{1,2}',
    'adv-$1::int',
    'adv- spaced ',
    'adv-ünïcødé-😀',
    `adv-${'x'.repeat(500)}`,
  ];

  it.each(hostile)('stores, loads and shards %s as plain text', async (name) => {
    const streamId = `${name}-${randomUUID()}`;
    await t.store.append({
      streamId,
      streamType: 'test.probe',
      expectedVersion: 'no_stream',
      events: opaqueEvents(2),
      metadata,
    });
    await t.store.append({ streamId, streamType: 'test.probe', expectedVersion: 2, events: opaqueEvents(1), metadata });
    const loaded = await t.store.readStreams([streamId, `adv-%-${randomUUID()}`]);
    expect(loaded.get(streamId)?.map((e) => e.streamId)).toEqual([streamId, streamId, streamId]);
    expect(await t.store.streamVersion(streamId)).toBe(3);
    const shards = await t
      .db('outbox')
      .whereIn('global_position', t.db('events').where({ stream_id: streamId }).select('global_position'))
      .distinct('shard');
    expect(shards).toEqual([{ shard: shardOf(streamId, 16) }]);
    expect(await t.db.schema.hasTable('events')).toBe(true);
  });

  it('a NUL in a stream id fails the append with a data exception, appending nothing', async () => {
    const before = Number((await t.db('events').count({ n: '*' }).first())?.n);
    await expect(
      t.store.append({
        streamId: `adv-nul-\u0000-${randomUUID()}`,
        streamType: 'test.probe',
        expectedVersion: 'no_stream',
        events: opaqueEvents(1),
        metadata,
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^22/) });
    expect(Number((await t.db('events').count({ n: '*' }).first())?.n)).toBe(before);
  });
});
