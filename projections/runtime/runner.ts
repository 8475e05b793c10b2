import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../ops/runtime/log.js';
import type { EventCodec } from '../../schemas/codec.js';
import { toProjectedEvent } from './envelope.js';
import { type BatchSource, groupIdOf, type ProjectedEvent, type Projection } from './types.js';

export interface RunnerOptions {
  readonly topicPrefix: string;
  /** Attempts at a failing batch before it is split to find the poison event. */
  readonly maxAttempts?: number;
  readonly retryDelayMs?: number;
  readonly metrics?: Registry;
  /** Start a new consumer group at the beginning of the topics (true) or at their end. */
  readonly fromBeginning?: boolean;
  /** Another consumer group for the same projection version: replays everything into the same storage. */
  readonly groupId?: string;
}

interface Metrics {
  applied: Counter<'projection'>;
  deadLettered: Counter<'projection'>;
  lag: Gauge<'projection' | 'topic' | 'partition'>;
}

const metricsCache = new WeakMap<Registry, Metrics>();
function metricsFor(registry: Registry | undefined): Metrics {
  const make = (registers: Registry[]): Metrics => ({
    applied: new Counter({
      name: 'projection_events_applied_total',
      help: 'Events handed to a projection',
      labelNames: ['projection'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'projection_events_dead_lettered_total',
      help: 'Events sent to a dead-letter topic',
      labelNames: ['projection'],
      registers,
    }),
    lag: new Gauge({
      name: 'projection_lag_messages',
      help: 'Messages behind the end of the partition',
      labelNames: ['projection', 'topic', 'partition'],
      registers,
    }),
  });
  if (!registry) return make([]);
  let metrics = metricsCache.get(registry);
  if (!metrics) {
    metrics = make([registry]);
    metricsCache.set(registry, metrics);
  }
  return metrics;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Feeds one projection version from Kafka: one consumer group per projection version, batches applied through
 * the projection (idempotently), offsets committed after the apply. A batch that keeps failing is split so the
 * one poison message (undecodable, or refused by the handler) goes to `<topic>.dlq.<consumer>` with the reason
 * in its headers, and the projection keeps going.
 */
export class ProjectionRunner {
  private consumer: Consumer | null = null;
  private readonly metrics: Metrics;
  private readonly label: string;

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly codec: EventCodec,
    private readonly projection: Projection,
    private readonly logger: Logger,
    private readonly options: RunnerOptions,
  ) {
    this.metrics = metricsFor(options.metrics);
    this.label = `${projection.name}.v${projection.version}`;
  }

  get groupId(): string {
    return this.options.groupId ?? groupIdOf(this.options.topicPrefix, this.projection);
  }

  async start(): Promise<void> {
    await this.projection.setup();
    // A short session lets a crashed member's partitions move on in ~10 s instead of the default 30 s.
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
    });
    this.consumer = consumer;
    await consumer.connect();
    for (const topic of this.projection.topics) {
      await consumer.subscribe({
        topic: this.options.topicPrefix + topic,
        fromBeginning: this.options.fromBeginning ?? true,
      });
    }
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: false,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.logger.info({ projection: this.label, group: this.groupId }, 'projection started');
  }

  /** Lets the batch in flight finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = null;
  }

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload) {
    if (batch.messages.length === 0) return;
    const messages = batch.messages;
    await this.applyMessages(batch.topic, batch.partition, messages, heartbeat);
    if (!isRunning() || isStale()) return;
    resolveOffset(messages.at(-1)!.offset);
    await commitOffsetsIfNecessary({
      topics: [
        {
          topic: batch.topic,
          partitions: [{ partition: batch.partition, offset: String(Number(messages.at(-1)!.offset) + 1) }],
        },
      ],
    });
    this.metrics.lag.set(
      { projection: this.label, topic: batch.topic, partition: String(batch.partition) },
      Number(batch.offsetLag()),
    );
  }

  /** Decodes and applies messages; a failure is retried, then isolated by halving until the poison message is found. */
  private async applyMessages(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    heartbeat: () => Promise<void>,
  ) {
    const source: BatchSource = { topic, partition, lastOffset: messages.at(-1)!.offset };
    let lastError: unknown;
    const attempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const events: ProjectedEvent[] = [];
        for (const message of messages) events.push(await toProjectedEvent(this.codec, message));
        await this.projection.applyBatch(events, source);
        this.metrics.applied.inc({ projection: this.label }, events.length);
        return;
      } catch (error) {
        lastError = error;
        // A message that cannot be decoded will not decode on retry either.
        if (
          (error as { code?: string }).code === 'UNDECODABLE_EVENT' ||
          (error as { code?: string }).code === 'MALFORMED_MESSAGE'
        )
          break;
        await heartbeat();
        await sleep((this.options.retryDelayMs ?? 200) * attempt);
      }
    }
    if (messages.length > 1) {
      const half = Math.ceil(messages.length / 2);
      await this.applyMessages(topic, partition, messages.slice(0, half), heartbeat);
      await this.applyMessages(topic, partition, messages.slice(half), heartbeat);
      return;
    }
    await this.deadLetter(topic, partition, messages[0]!, lastError);
  }

  private async deadLetter(topic: string, partition: number, message: KafkaMessage, error: unknown) {
    const dlq = `${topic}.dlq.${this.groupId.slice(this.options.topicPrefix.length)}`;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.logger.error(
      { projection: this.label, topic, partition, offset: message.offset, dlq, reason },
      'event dead-lettered',
    );
    await this.producer.send({
      topic: dlq,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            'dlq-reason': reason.slice(0, 2000),
            'dlq-source-topic': topic,
            'dlq-source-partition': String(partition),
            'dlq-source-offset': message.offset,
            'dlq-consumer': this.groupId,
            'dlq-at': new Date().toISOString(),
          },
        },
      ],
    });
    this.metrics.deadLettered.inc({ projection: this.label });
  }
}
