import { randomBytes, randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Consumer } from 'kafkajs';
import { OutboxRelay } from '../../commands/relay/outbox-relay.js';
import { EventStore } from '../../commands/store/event-store.js';
import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import {
  type Ack,
  benchKafka,
  createTopics,
  deleteTopicsAndGroups,
  type ProducerPerformanceResult,
  producerPerformance,
  quietLogger,
  tapAcks,
} from '../lib/kafka.js';
import { progress, sleep, within } from '../lib/progress.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { atMost, below, row } from '../lib/table.js';

// How long an appended event takes to reach a Kafka consumer through the outbox relay, under a steady load.
// Each event's clock starts when its append() resolves (the transaction has committed) and stops when the
// consumer's batch holding it arrives; writer, relay and consumer share this process and so one clock.

const SUITE = 'relay-latency';
const RATE = 1000; // events per second, one event per append
const STREAMS = 32; // spread over streams so that concurrent appends rarely queue on one stream's row
const SHARDS = 16;
const PAYLOAD_BYTES = 200;
const MAX_IN_FLIGHT = 200; // if appends ever lag this far behind the schedule, the writer stops adding more
const TARGET_P99_MS = 50;
const METADATA = { correlationId: 'bench-correlation', causationId: null, actor: 'bench' } as const;

interface Timing {
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
}

interface Clocks {
  readonly committed: Map<string, number>;
  readonly acked: Map<string, number>;
  readonly consumed: Map<string, number>;
}

interface OursResult {
  readonly measured: number;
  readonly writtenPerSecond: number;
  /** Appends that threw, and events the writer never got to before its deadline (it fell behind). */
  readonly appendFailures: number;
  readonly unsent: number;
  readonly notConsumed: number;
  /** How long each append() took under this load, and how far the writer fell behind its schedule. */
  readonly appendMs: Summary;
  readonly maxDispatchLagMs: number;
  readonly commitToConsumeMs: Summary;
  readonly commitToAckMs: Summary;
  readonly ackToConsumeMs: Summary;
  /** The relay's passes over the outbox that published something: how often, how long, how many events. */
  readonly passes: { readonly perSecond: number; readonly durationMs: Summary; readonly meanEvents: number };
  /** The relay's produce calls in the measured window: how many, how full, how long until acked. */
  readonly sendBatch: { readonly perSecond: number; readonly meanEvents: number; readonly durationMs: Summary };
  /** From Node's own histogram (not raw samples): context for the latencies, not a headline number. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly cpu: CpuWindow;
}

/** A consumer in a fresh group, reading from the beginning, recording when each event id arrives. */
async function startConsumer(topic: string, groupId: string, consumed: Map<string, number>): Promise<Consumer> {
  const consumer = benchKafka('ledgerline-bench-consumer').consumer({ groupId, maxWaitTimeInMs: 100 });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    // kafkajs would otherwise commit offsets after every partition batch, one round trip each, before fetching
    // again: that is the measuring consumer's cost, not the relay's. The projections run without autoCommit too.
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      for (const message of batch.messages) {
        const id = message.headers?.['event-id']?.toString();
        if (id && !consumed.has(id)) consumed.set(id, at);
      }
    },
  });
  await within(joined, 30_000, 'joining the consumer group');
  return consumer;
}

/**
 * An open-loop writer: event i is due at start + i/RATE, whatever earlier appends are doing, so a slow append
 * shows up as latency rather than as a quietly lower rate. Returns the ids of the events after the warm-up.
 */
async function writeSteadily(store: EventStore, timing: Timing, clocks: Clocks) {
  const total = RATE * (timing.warmupSeconds + timing.measureSeconds);
  const warmup = RATE * timing.warmupSeconds;
  const payload = randomBytes(PAYLOAD_BYTES);
  const measuredIds: string[] = [];
  const appendMs: number[] = [];
  const pending = new Set<Promise<void>>();
  let failures = 0;
  let lastMeasured = 0;
  let maxDispatchLagMs = 0;
  const start = performance.now();
  const hardEnd = start + (timing.warmupSeconds + timing.measureSeconds) * 1000 + 5000;
  let next = 0;
  const dispatch = (i: number) => {
    const eventId = randomUUID();
    const sentAt = performance.now();
    if (i >= warmup) maxDispatchLagMs = Math.max(maxDispatchLagMs, sentAt - (start + (i * 1000) / RATE));
    const append = store
      .append({
        streamId: `latency-${i % STREAMS}`,
        streamType: 'bench.latency',
        // A steady writer has no aggregate to load: 'any' keeps concurrent appends to a stream from conflicting.
        expectedVersion: 'any',
        events: [{ eventId, eventType: 'BenchLatencyProbe', schemaId: 1, payload }],
        metadata: METADATA,
      })
      .then(
        () => {
          const at = performance.now();
          clocks.committed.set(eventId, at);
          if (i >= warmup) {
            measuredIds.push(eventId);
            appendMs.push(at - sentAt);
            lastMeasured = Math.max(lastMeasured, at);
          }
        },
        () => {
          failures++;
        },
      )
      .finally(() => pending.delete(append));
    pending.add(append);
  };
  while (next < total && performance.now() < hardEnd) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * RATE) / 1000) + 1);
    while (next < due && pending.size < MAX_IN_FLIGHT) dispatch(next++);
    await sleep(1);
  }
  await within(Promise.allSettled([...pending]), 10_000, 'the last appends');
  // From when the first measured event was due to when the last one committed: a writer that falls behind
  // the schedule shows a rate below RATE here.
  const span = (lastMeasured - (start + timing.warmupSeconds * 1000)) / 1000;
  return {
    measuredIds,
    failures,
    unsent: total - next,
    writtenPerSecond: span > 0 ? measuredIds.length / span : 0,
    appendMs: summarize(appendMs),
    maxDispatchLagMs,
  };
}

async function measureOurs(timing: Timing, topicPrefix: string, topic: string, groupId: string): Promise<OursResult> {
  const database = await createBenchDatabase('relay');
  // Writer and relay get their own pools, as they are separate processes in production, sized as there
  // (commands/write-side.ts defaults to 10, commands/relay/main.ts uses 6).
  const writerDb = database.pool(10, 'ledgerline-bench-writer');
  const relayDb = database.pool(6, 'ledgerline-relay');
  const clocks: Clocks = { committed: new Map(), acked: new Map(), consumed: new Map() };
  // As commands/relay/main.ts builds it.
  const producer = benchKafka('ledgerline-relay').producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let consumer: Consumer | null = null;
  let relay: OutboxRelay | null = null;
  try {
    consumer = await startConsumer(topic, groupId, clocks.consumed);
    await producer.connect();
    const acks: Ack[] = [];
    const tapped = tapAcks(producer, (ack) => {
      acks.push(ack);
      for (const id of ack.eventIds) if (!clocks.acked.has(id)) clocks.acked.set(id, ack.at);
    });
    relay = new OutboxRelay(relayDb, tapped, quietLogger, {});
    // Times each relay pass (its loop calls this.publishOnce, so an instance property intercepts it): an event
    // committed just after the pass read its shard waits for the next pass.
    const passes: { at: number; ms: number; events: number }[] = [];
    const publishOnce = relay.publishOnce.bind(relay);
    relay.publishOnce = async () => {
      const began = performance.now();
      const events = await publishOnce();
      if (events > 0) passes.push({ at: began, ms: performance.now() - began, events });
      return events;
    };
    relay.start();
    const store = new EventStore(writerDb, { topicPrefix, outboxShards: SHARDS });
    const measureFrom = performance.now() + timing.warmupSeconds * 1000;
    // How late this process runs its callbacks: writer, relay and consumer share one event loop.
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    const cpuOpened = sleep(timing.warmupSeconds * 1000).then(() => {
      loopDelay.enable();
      return cpuWindow();
    });
    const written = await writeSteadily(store, timing, clocks);
    const cpu = (await cpuOpened)();
    loopDelay.disable();
    const measuredAcks = acks.filter((a) => a.sentAt >= measureFrom);
    const measuredPasses = passes.filter((p) => p.at >= measureFrom);
    // Bounded wait for the stragglers; whatever has not arrived by then is reported, not waited for.
    const drainedBy = performance.now() + 10_000;
    while (performance.now() < drainedBy && written.measuredIds.some((id) => !clocks.consumed.has(id))) {
      await sleep(50);
    }
    const e2e: number[] = [];
    const toAck: number[] = [];
    const ackToConsumeMs: number[] = [];
    let notConsumed = 0;
    for (const id of written.measuredIds) {
      const committed = clocks.committed.get(id)!;
      const consumed = clocks.consumed.get(id);
      const acked = clocks.acked.get(id);
      // A batch can be handled before the append's own continuation runs: that is zero latency, not negative.
      if (consumed === undefined) notConsumed++;
      else e2e.push(Math.max(0, consumed - committed));
      if (acked !== undefined) toAck.push(Math.max(0, acked - committed));
      if (acked !== undefined && consumed !== undefined) ackToConsumeMs.push(consumed - acked);
    }
    return {
      measured: written.measuredIds.length,
      writtenPerSecond: written.writtenPerSecond,
      appendFailures: written.failures,
      unsent: written.unsent,
      notConsumed,
      appendMs: written.appendMs,
      maxDispatchLagMs: written.maxDispatchLagMs,
      commitToConsumeMs: summarize(e2e),
      commitToAckMs: summarize(toAck),
      ackToConsumeMs: summarize(ackToConsumeMs),
      passes: {
        perSecond: measuredPasses.length / timing.measureSeconds,
        durationMs: summarize(measuredPasses.map((p) => p.ms)),
        meanEvents: measuredPasses.reduce((n, p) => n + p.events, 0) / Math.max(1, measuredPasses.length),
      },
      sendBatch: {
        perSecond: measuredAcks.length / timing.measureSeconds,
        meanEvents: measuredAcks.reduce((n, a) => n + a.eventIds.length, 0) / Math.max(1, measuredAcks.length),
        durationMs: summarize(measuredAcks.map((a) => a.at - a.sentAt)),
      },
      eventLoopDelayMs: {
        p50: loopDelay.percentile(50) / 1e6,
        p99: loopDelay.percentile(99) / 1e6,
        max: loopDelay.max / 1e6,
      },
      cpu,
    };
  } finally {
    await relay?.stop();
    await producer.disconnect().catch(() => undefined);
    await consumer?.disconnect().catch(() => undefined);
    await writerDb.destroy();
    await relayDb.destroy();
    await database.drop();
  }
}

const ms = (x: number) => x.toFixed(1);

export const relayLatencySuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    const timing: Timing = quick ? { warmupSeconds: 1, measureSeconds: 4 } : { warmupSeconds: 1, measureSeconds: 10 };
    const topicPrefix = `bench${uniqueSuffix()}.`;
    const topic = `${topicPrefix}bench.latency`;
    const perfTopic = `${topicPrefix}perf`;
    const groupId = `${topicPrefix}latency-consumer`;
    await createTopics([topic, perfTopic]);
    try {
      progress(
        SUITE,
        `ours: ${RATE} events/s for ${timing.warmupSeconds}+${timing.measureSeconds} s through the relay`,
      );
      const ours = await measureOurs(timing, topicPrefix, topic, groupId);
      const e2e = ours.commitToConsumeMs;
      progress(
        SUITE,
        `  ${ours.measured} events at ${ours.writtenPerSecond.toFixed(0)}/s; commit→consume p50 ${ms(e2e.p50)} ` +
          `p99 ${ms(e2e.p99)} max ${ms(e2e.max)} ms; commit→ack p99 ${ms(ours.commitToAckMs.p99)} ms; ` +
          `${ours.notConsumed} not consumed`,
      );
      if (ours.appendFailures > 0 || ours.unsent > 0) {
        progress(SUITE, `  warning: ${ours.appendFailures} appends failed, ${ours.unsent} never sent (writer behind)`);
      }
      progress(
        SUITE,
        `  writer: append p50 ${ms(ours.appendMs.p50)} p99 ${ms(ours.appendMs.p99)} ms, ` +
          `at most ${ms(ours.maxDispatchLagMs)} ms behind schedule`,
      );
      progress(
        SUITE,
        `  relay: ${ours.passes.perSecond.toFixed(0)} passes/s of ${ours.passes.meanEvents.toFixed(0)} events taking ` +
          `p50 ${ms(ours.passes.durationMs.p50)} p99 ${ms(ours.passes.durationMs.p99)} ms; ` +
          `${ours.sendBatch.perSecond.toFixed(0)} sendBatch/s of ${ours.sendBatch.meanEvents.toFixed(1)} ` +
          `events, acked in p50 ${ms(ours.sendBatch.durationMs.p50)} p99 ${ms(ours.sendBatch.durationMs.p99)} ms; ` +
          `event-loop delay p50 ${ms(ours.eventLoopDelayMs.p50)} p99 ${ms(ours.eventLoopDelayMs.p99)} ms; ` +
          `node ${ours.cpu.processPercentOfCore.toFixed(0)}% of a core, machine ` +
          `${ours.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`,
      );
      const records = RATE * (timing.warmupSeconds + timing.measureSeconds);
      progress(SUITE, `ProducerPerformance: ${records} records at ${RATE}/s, acks=all`);
      const baseline: ProducerPerformanceResult = await producerPerformance({
        topic: perfTopic,
        records,
        throughput: RATE,
        recordSize: PAYLOAD_BYTES,
        timeoutMs: (timing.warmupSeconds + timing.measureSeconds + 60) * 1000,
      });
      progress(SUITE, `  ${baseline.finalLine}`);
      const rows = [
        row(SUITE, 'commit→consume p50', 'ms', e2e.p50, baseline.p50Ms),
        row(SUITE, 'commit→consume p99', 'ms', e2e.p99, baseline.p99Ms, below(TARGET_P99_MS, 'p99')),
        row(SUITE, 'commit→consume max', 'ms', e2e.max, baseline.maxMs),
        row(SUITE, 'commit→broker ack p99', 'ms', ours.commitToAckMs.p99, baseline.p99Ms),
        row(SUITE, 'events/s written (steady load)', 'events/s', ours.writtenPerSecond, baseline.recordsPerSecond),
        // Latency over the events that arrived means little if some did not: every committed event must arrive.
        row(SUITE, 'events committed but not consumed', 'count', ours.notConsumed, null, atMost(0)),
      ];
      return { rows, details: { rate: RATE, streams: STREAMS, timing, ours, baseline } };
    } finally {
      await deleteTopicsAndGroups([topic, perfTopic], [groupId]);
    }
  },
};
