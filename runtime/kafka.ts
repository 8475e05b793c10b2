import { type Admin, Kafka, logLevel } from 'kafkajs';
import type { Logger } from './log.js';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose logs go through pino. */
export function createKafka(brokers: readonly string[], clientId: string, logger: Logger): Kafka {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  return new Kafka({
    clientId,
    brokers: [...brokers],
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 200 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...rest } = log;
        // kafkajs warns whenever an idempotent producer has bounded retries; ours are bounded on purpose (the
        // relay retries the whole batch and consumers dedupe by event id), so the warning is noise.
        const noise = message.startsWith('Limiting retries for the idempotent producer');
        logger[noise ? 'debug' : (levels[level] ?? 'info')]({ kafka: rest }, message);
      },
  });
}

/**
 * Creates the topics that do not exist yet (one partition count for all) and returns once their partitions serve
 * reads: right after a topic is created (more so on a busy or just-started broker) its first requests can still
 * fail with "This server does not host this topic-partition".
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly string[],
  numPartitions = 6,
  readyWithinMs = 30_000,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length === 0) return;
  // Not kafkajs's waitForLeaders: it retries only "leader not available", and a broker whose metadata cache has
  // not caught up with the controller answers "unknown topic" for a moment, which it throws. untilServed retries.
  await admin.createTopics({
    topics: missing.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })),
    waitForLeaders: false,
  });
  const deadline = Date.now() + readyWithinMs;
  for (const topic of missing) await untilServed(admin, topic, deadline);
}

/** Waits until every partition of the topic answers a list-offsets request (sent to its leader). */
async function untilServed(admin: Admin, topic: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      await admin.fetchTopicOffsets(topic);
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`topic ${topic} was created but its partitions are not served yet: ${String(error)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
