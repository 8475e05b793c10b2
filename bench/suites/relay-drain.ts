import { OutboxRelay } from '../../commands/relay/outbox-relay.js';
import { createRelayProducer } from '../../commands/relay/producer.js';
import { shardOf } from '../../commands/store/event-store.js';
import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import {
  benchKafka,
  createTopics,
  deleteTopicsAndGroups,
  type ProducerPerformanceResult,
  producerPerformance,
  quietLogger,
  tapAcks,
} from '../lib/kafka.js';
import { progress, sleep } from '../lib/progress.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { atMost, row } from '../lib/table.js';

// How fast the relay empties a backlog: the outbox is pre-filled (by SQL, not through append(), which the
// append suite measures) and the relay drains it with the production settings. The baseline is Kafka's own
// producer benchmark, unthrottled, for the same number of records of the same size: the broker's ceiling for
// one producer on this machine.

const SUITE = 'relay-drain';
const SHARDS = 16;
const STREAMS = 64;
const PAYLOAD_BYTES = 200;

interface OursResult {
  readonly events: number;
  readonly published: number;
  readonly eventsPerSecond: number;
  readonly batches: number;
  readonly meanBatchSize: number;
  readonly leftInOutbox: number;
  readonly cpu: CpuWindow;
}

async function measureOurs(events: number, topicPrefix: string, deadlineMs: number): Promise<OursResult> {
  const database = await createBenchDatabase('drain');
  const db = database.pool(6, 'ledgerline-relay');
  // The producer commands/relay/main.ts publishes with.
  const producer = createRelayProducer(benchKafka('ledgerline-relay'));
  let relay: OutboxRelay | null = null;
  try {
    // The rows append() would have written: same stream spread, version numbering, shard and topic.
    await db.raw(
      `INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_id, payload, metadata)
       SELECT 'drain-' || (g % ?), 'bench.drain', g / ? + 1, gen_random_uuid(), 'BenchDrained', 1,
              substring(convert_to(repeat(md5(g::text), 7), 'UTF8') for ?),
              '{"correlationId":"bench-correlation","causationId":null,"actor":"bench"}'::jsonb
       FROM generate_series(0, ? - 1) AS g`,
      [STREAMS, STREAMS, PAYLOAD_BYTES, events],
    );
    // Each stream's shard as append() computes it (shardOf), so the rows spread over the shards as in production.
    const streams = Array.from({ length: STREAMS }, (_, i) => `drain-${i}`);
    await db.raw(
      `INSERT INTO outbox (global_position, shard, topic)
       SELECT e.global_position, s.shard, ? FROM events e
       JOIN unnest(?::text[], ?::int[]) AS s(stream_id, shard) ON s.stream_id = e.stream_id`,
      [`${topicPrefix}bench.drain`, streams, streams.map((id) => shardOf(id, SHARDS))],
    );
    // Fresh statistics, as autovacuum would have gathered on a table that grew gradually.
    await db.raw('VACUUM ANALYZE events, outbox');
    await producer.connect();
    let published = 0;
    let batches = 0;
    let lastAck = 0;
    const tapped = tapAcks(producer, (ack) => {
      published += ack.eventIds.length;
      batches++;
      lastAck = ack.at;
    });
    relay = new OutboxRelay(db, tapped, quietLogger, {});
    const closeCpu = cpuWindow();
    const start = performance.now();
    relay.start();
    while (published < events && performance.now() - start < deadlineMs) await sleep(10);
    const cpu = closeCpu();
    await relay.stop();
    relay = null;
    const left = await db('outbox').count<{ n: string }[]>({ n: '*' });
    const seconds = (lastAck - start) / 1000;
    return {
      events,
      published,
      eventsPerSecond: seconds > 0 ? published / seconds : 0,
      batches,
      meanBatchSize: batches > 0 ? published / batches : 0,
      leftInOutbox: Number(left[0]?.n ?? 0),
      cpu,
    };
  } finally {
    await relay?.stop();
    await producer.disconnect().catch(() => undefined);
    await db.destroy();
    await database.drop();
  }
}

export const relayDrainSuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    const events = quick ? 20_000 : 50_000;
    const deadlineMs = quick ? 30_000 : 60_000;
    const topicPrefix = `bench${uniqueSuffix()}.`;
    const topic = `${topicPrefix}bench.drain`;
    const perfTopic = `${topicPrefix}perf-max`;
    await createTopics([topic, perfTopic]);
    try {
      progress(SUITE, `ours: relay drains ${events} pre-filled outbox rows`);
      const ours = await measureOurs(events, topicPrefix, deadlineMs);
      progress(
        SUITE,
        `  ${ours.published} published at ${ours.eventsPerSecond.toFixed(0)}/s in ${ours.batches} batches ` +
          `(mean ${ours.meanBatchSize.toFixed(0)}); node ${ours.cpu.processPercentOfCore.toFixed(0)}% of a core, ` +
          `machine ${ours.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`,
      );
      progress(SUITE, `ProducerPerformance: ${events} records unthrottled, acks=all`);
      const baseline: ProducerPerformanceResult = await producerPerformance({
        topic: perfTopic,
        records: events,
        throughput: -1,
        recordSize: PAYLOAD_BYTES,
        timeoutMs: deadlineMs + 60_000,
      });
      progress(SUITE, `  ${baseline.finalLine}`);
      const rows = [
        row(
          SUITE,
          `events/s, drain of ${events} (vs unthrottled)`,
          'events/s',
          ours.eventsPerSecond,
          baseline.recordsPerSecond,
        ),
        row(SUITE, 'outbox rows left after the drain', 'count', ours.leftInOutbox, null, atMost(0)),
      ];
      return { rows, details: { events, streams: STREAMS, ours, baseline } };
    } finally {
      await deleteTopicsAndGroups([topic, perfTopic], []);
    }
  },
};
