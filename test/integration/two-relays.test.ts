import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxRelay } from '../../commands/relay/outbox-relay.js';
import { ensureTopics } from '../../runtime/kafka.js';
import { createLogger } from '../../runtime/log.js';
import { uniqueSuffix } from '../support/env.js';
import { type ConsumedMessage, consumeUntil, testKafka } from '../support/kafka.js';
import { metadata, opaqueEvents, openTestStore, type TestStore } from '../support/store.js';

// Issue 13, item 2: two healthy relays must not publish an event twice. A pass that read the outbox in the statement
// that took the shard locks saw rows the other relay deleted between that statement's snapshot and the lock, and
// published them again.
const logger = createLogger('two-relays-test', 'silent');
const SHARDS = 32;
const RELAYS = 2;
const WRITERS = 50;
const STREAMS_PER_WRITER = 4;
const APPENDS_PER_STREAM = 24;

describe('two healthy relays over one outbox', () => {
  let t: TestStore;
  const prefix = `t${uniqueSuffix()}.`;
  const topic = `${prefix}test.tworelays`;
  beforeAll(async () => {
    t = await openTestStore('tworelays', { topicPrefix: prefix, outboxShards: SHARDS }, 50);
    const admin = testKafka().admin();
    await admin.connect();
    await ensureTopics(admin, [topic], 3);
    await admin.disconnect();
  });
  afterAll(() => t?.close());

  it('publish every event exactly once, in per-stream order, while appends run', async () => {
    const producers: Producer[] = [];
    const relays = Array.from({ length: RELAYS }, () => {
      const producer = testKafka().producer({ idempotent: false, maxInFlightRequests: 1 });
      producers.push(producer);
      // Small batches: many passes, so many commits for the other relay's pass to meet.
      return new OutboxRelay(t.db, producer, logger, { batchSize: 50, idleMs: 1 });
    });
    await Promise.all(producers.map((p) => p.connect()));
    for (const r of relays) r.start();

    const appended = new Map<string, string[]>();
    try {
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let a = 0; a < APPENDS_PER_STREAM; a++) {
            for (let s = 0; s < STREAMS_PER_WRITER; s++) {
              const streamId = `two-${w}-${s}`;
              const events = opaqueEvents(1 + ((w + a + s) % 3));
              await t.store.append({
                streamId,
                streamType: 'test.tworelays',
                expectedVersion: a === 0 ? 'no_stream' : (appended.get(streamId)?.length ?? 0),
                events,
                metadata,
              });
              appended.set(streamId, [...(appended.get(streamId) ?? []), ...events.map((e) => e.eventId)]);
            }
          }
        }),
      );
      const deadline = Date.now() + 60_000;
      while (Number((await t.db('outbox').count({ n: '*' }).first())?.n) > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
      await Promise.all(producers.map((p) => p.disconnect()));
    }
    expect(await t.db('outbox').count({ n: '*' }).first()).toEqual({ n: 0 });
    const total = [...appended.values()].reduce((n, ids) => n + ids.length, 0);
    expect(total).toBeGreaterThanOrEqual(2500);

    // Everything the relays published, duplicates included: read up to the partitions' end offsets.
    const admin = testKafka().admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const published = ends.reduce((n, p) => n + Number(p.high), 0);
    const messages = await consumeUntil([topic], (m) => m.length >= published, 60_000);
    expect(messages.length).toBe(published);

    const counts = new Map<string, number>();
    for (const m of messages) counts.set(m.headers['event-id']!, (counts.get(m.headers['event-id']!) ?? 0) + 1);
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    expect(duplicated, `${duplicated.length} events published more than once`).toEqual([]);
    expect(published).toBe(total);
    expect(inStreamOrder(messages)).toEqual(Object.fromEntries(appended));
  }, 180_000);
});

/** Each stream's event ids in the order a consumer of its partition reads them. */
function inStreamOrder(messages: readonly ConsumedMessage[]): Record<string, string[]> {
  const sorted = [...messages].sort((a, b) =>
    a.partition === b.partition ? Number(a.offset) - Number(b.offset) : a.partition - b.partition,
  );
  const byStream: Record<string, string[]> = {};
  for (const m of sorted) {
    expect(m.key).toBe(m.headers['stream-id']);
    byStream[m.key] = [...(byStream[m.key] ?? []), m.headers['event-id']!];
  }
  return byStream;
}
