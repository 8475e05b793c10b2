import { type IHeaders, Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../runtime/config.js';
import { uniqueSuffix } from './env.js';

export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

export const testKafka = (): Kafka =>
  new Kafka({ clientId: 'ledgerline-test', brokers: [...loadConfig().kafkaBrokers], logLevel: logLevel.NOTHING });

const headerText = (headers: IHeaders | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));

/**
 * Reads the topics from the beginning with a fresh consumer group until `done(messages)` holds or the timeout
 * passes (then it returns what it has, for the assertion to explain). Each record of the log once.
 */
export async function consumeUntil(
  topics: readonly string[],
  done: (messages: readonly ConsumedMessage[]) => boolean,
  timeoutMs = 30_000,
): Promise<ConsumedMessage[]> {
  const consumer = testKafka().consumer({ groupId: `test-${uniqueSuffix()}`, maxWaitTimeInMs: 100 });
  const messages: ConsumedMessage[] = [];
  const seen = new Set<string>();
  await consumer.connect();
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              // A group that rebalances or re-fetches hands the same record (same offset) over again: that is the
              // reader repeating itself, not a duplicate in the log, which always has an offset of its own.
              const record = `${batch.topic}/${batch.partition}/${m.offset}`;
              if (seen.has(record)) continue;
              seen.add(record);
              messages.push({
                topic: batch.topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key?.toString() ?? '',
                value: m.value ?? Buffer.alloc(0),
                headers: headerText(m.headers),
              });
            }
            if (done(messages)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(() => resolve());
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
