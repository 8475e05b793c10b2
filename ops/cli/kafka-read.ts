import type { Admin, IHeaders, KafkaMessage } from 'kafkajs';
import { serviceFailure } from './errors.js';
import type { Services } from './services.js';

export interface TopicMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

export type StopReason = 'done' | 'limit' | 'timeout' | 'signal';

export interface ReadOptions {
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  /** Stop after this long; undefined reads until onMessage says stop or the signal fires. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called for each message (in order within a partition); return true to stop reading. */
  onMessage(message: TopicMessage): boolean | Promise<boolean>;
}

/**
 * Reads topics with a throw-away consumer group that commits nothing (so reading never moves anyone's offsets)
 * and is deleted afterwards. Resolves with why it stopped; rejects if the consumer crashes for good.
 */
export async function readTopics(services: Services, purpose: string, options: ReadOptions): Promise<StopReason> {
  const { consumer, groupId } = await services.consumer(purpose);
  try {
    for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
    return await new Promise<StopReason>((resolve, reject) => {
      let stopped = false;
      const finish = (outcome: () => void) => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const onAbort = () => finish(() => resolve('signal'));
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => finish(() => resolve('timeout')), options.timeoutMs);
      options.signal?.addEventListener('abort', onAbort);
      if (options.signal?.aborted) onAbort();
      consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart)
          finish(() => reject(serviceFailure('Kafka', services.kafkaAddress, event.payload.error)));
      });
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            // Fetches in flight keep arriving until the consumer disconnects; they are not ours to show.
            if (stopped) return;
            if (await options.onMessage({ topic, partition, message })) finish(() => resolve('done'));
          },
        })
        .catch((error: unknown) => finish(() => reject(serviceFailure('Kafka', services.kafkaAddress, error))));
    });
  } finally {
    await services.releaseConsumer(consumer, groupId);
  }
}

export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  /** First offset still on the partition. */
  readonly low: number;
  /** Offset the next message will get: the partition's end. */
  readonly high: number;
}

export async function partitionRanges(admin: Admin, topic: string): Promise<PartitionRange[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets
    .map((p) => ({ topic, partition: p.partition, low: Number(p.low), high: Number(p.high) }))
    .sort((a, b) => a.partition - b.partition);
}

/**
 * Reads every message on the topics as they are now (up to each partition's current end) and stops: a
 * snapshot, not a follow. Messages that arrive meanwhile are left out.
 */
export async function readToEnd(
  services: Services,
  purpose: string,
  topics: readonly string[],
  onMessage: (message: TopicMessage) => void,
  timeoutMs = 30_000,
): Promise<StopReason> {
  const admin = await services.admin();
  const pending = new Map<string, number>();
  for (const topic of topics) {
    for (const range of await partitionRanges(admin, topic)) {
      if (range.high > range.low) pending.set(`${topic}\u0000${range.partition}`, range.high);
    }
  }
  if (pending.size === 0) return 'done';
  return readTopics(services, purpose, {
    topics,
    fromBeginning: true,
    timeoutMs,
    onMessage: (m) => {
      const key = `${m.topic}\u0000${m.partition}`;
      const end = pending.get(key);
      if (end === undefined || Number(m.message.offset) >= end) return pending.size === 0;
      onMessage(m);
      if (Number(m.message.offset) >= end - 1) pending.delete(key);
      return pending.size === 0;
    },
  });
}

/** Kafka headers as text (values are bytes on the wire; every header of the contract is UTF-8). */
export function headerText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = (Array.isArray(value) ? value : [value]).map((v) => v.toString()).join(',');
  }
  return out;
}

/** "ordering.order" → "<TOPIC_PREFIX>ordering.order"; a name that already carries the prefix is kept. */
export const withPrefix = (prefix: string, topic: string): string =>
  topic.startsWith(prefix) ? topic : prefix + topic;
