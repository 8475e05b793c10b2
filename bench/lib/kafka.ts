import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Kafka, Producer, ProducerBatch } from 'kafkajs';
import { loadConfig } from '../../runtime/config.js';
import { createKafka, ensureTopics } from '../../runtime/kafka.js';
import { createLogger } from '../../runtime/log.js';
import { exec } from './exec.js';

/** The relay and kafkajs log through pino; the harness keeps stderr for its own progress lines. */
export const quietLogger = createLogger('bench', 'silent');

export const benchKafka = (clientId: string): Kafka => createKafka(loadConfig().kafkaBrokers, clientId, quietLogger);

/** Same partition count as production topics (ensureTopics' default), so the baseline writes the same shape. */
export async function createTopics(topics: readonly string[]): Promise<void> {
  const admin = benchKafka('ledgerline-bench-admin').admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics);
  } finally {
    await admin.disconnect();
  }
}

/** Best-effort clean-up: a leftover bench topic or group is harmless, so failures here are not fatal. */
export async function deleteTopicsAndGroups(topics: readonly string[], groups: readonly string[]): Promise<void> {
  const admin = benchKafka('ledgerline-bench-admin').admin();
  try {
    await admin.connect();
    if (groups.length > 0) await admin.deleteGroups([...groups]).catch(() => undefined);
    if (topics.length > 0) await admin.deleteTopics({ topics: [...topics], timeout: 10_000 }).catch(() => undefined);
  } catch {
    // the broker is unreachable: nothing to clean up that we could reach anyway
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** One acknowledged sendBatch: the event ids it carried, when it was called and when the broker acked it. */
export interface Ack {
  readonly eventIds: readonly string[];
  readonly sentAt: number;
  readonly at: number;
}

/**
 * The relay's producer with a tap: after each acknowledged sendBatch it reports the event ids it carried and
 * the time of the acknowledgement, which gives a commit-to-ack latency per event without touching the relay.
 * kafkajs producers are plain objects of closures, so a spread copy behaves exactly like the original.
 */
export function tapAcks(producer: Producer, onAck: (ack: Ack) => void): Producer {
  return {
    ...producer,
    sendBatch: async (batch: ProducerBatch) => {
      const sentAt = performance.now();
      const result = await producer.sendBatch(batch);
      const at = performance.now();
      const ids: string[] = [];
      for (const topicMessages of batch.topicMessages ?? []) {
        for (const message of topicMessages.messages) {
          const id = message.headers?.['event-id'];
          if (typeof id === 'string') ids.push(id);
          else if (Buffer.isBuffer(id)) ids.push(id.toString());
        }
      }
      onAck({ eventIds: ids, sentAt, at });
      return result;
    },
  };
}

const KAFKA_VERSION = process.env.KAFKA_VERSION ?? '4.1.1';
const KAFKA_LIBS =
  process.env.KAFKA_LIBS ?? fileURLToPath(new URL(`../../.stack/dist/kafka-${KAFKA_VERSION}/libs`, import.meta.url));

export interface ProducerPerformanceResult {
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly avgMs: number;
  readonly maxMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly finalLine: string;
}

const FINAL_LINE =
  /(\d+) records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th/;

/**
 * Kafka's own producer benchmark (what kafka-producer-perf-test.sh runs, with that script's heap), acks=all.
 * It measures send-to-acknowledgement per record with the Java client, and prints one summary line at the end.
 */
export async function producerPerformance(options: {
  topic: string;
  records: number;
  throughput: number;
  recordSize: number;
  timeoutMs: number;
}): Promise<ProducerPerformanceResult> {
  const args = [
    '-Xmx512M',
    '-cp',
    `${KAFKA_LIBS}/*`,
    'org.apache.kafka.tools.ProducerPerformance',
    ...['--topic', options.topic, '--num-records', String(options.records)],
    ...['--record-size', String(options.recordSize), '--throughput', String(options.throughput)],
    ...['--producer-props', `bootstrap.servers=${loadConfig().kafkaBrokers.join(',')}`, 'acks=all'],
  ];
  const result = await exec('java', args, { timeoutMs: options.timeoutMs });
  const line = result.stdout
    .split('\n')
    .reverse()
    .find((l) => FINAL_LINE.test(l));
  const m = line ? FINAL_LINE.exec(line) : null;
  if (!line || !m) {
    throw new Error(`ProducerPerformance printed no summary (exit ${result.code}):\n${result.stderr.slice(-1500)}`);
  }
  const n = (i: number) => Number(m[i]);
  return {
    records: n(1),
    recordsPerSecond: n(2),
    avgMs: n(3),
    maxMs: n(4),
    p50Ms: n(5),
    p95Ms: n(6),
    p99Ms: n(7),
    p999Ms: n(8),
    finalLine: line.trim(),
  };
}

/** The Kafka version the harness runs its baseline with, read from the client jar's name. */
export async function kafkaToolsVersion(): Promise<string> {
  const jars = await readdir(KAFKA_LIBS).catch(() => [] as string[]);
  const clients = jars.find((j) => /^kafka-clients-.*\.jar$/.test(j));
  return clients ? clients.replace(/^kafka-clients-|\.jar$/g, '') : 'not found';
}
