import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventCodec } from '../../schemas/codec.js';
import type { Logger } from '../log.js';
import { toProjectedEvent } from './envelope.js';
import { isPoison } from './failures.js';
import { observingBatch } from './observe.js';
import { type BatchSource, groupIdOf, type ProjectedEvent, type Projection } from './types.js';

export interface RunnerOptions {
  readonly topicPrefix: string;
  readonly retryDelayMs?: number;
  readonly metrics?: Registry;
  /** Start a new consumer group at the beginning of the topics (true) or at their end. */
  readonly fromBeginning?: boolean;
  /** Another consumer group for the same projection version: replays everything into the same storage. */
  readonly groupId?: string;
  /**
   * Partitions whose batches are applied at the same time (kafkajs `partitionsConsumedConcurrently`; default 1).
   * Order holds within a partition whatever the number; the projection must take batches of two partitions at
   * once (sagas lock their rows; PostgreSQL read models keep one row per stream).
   */
  readonly partitionsConsumedConcurrently?: number;
  /** Messages applied per transaction at most (default 200); the heartbeat goes out between them. */
  readonly maxBatchMessages?: number;
}

interface Metrics {
  applied: Counter<'projection'>;
  deadLettered: Counter<'projection'>;
  duplicates: Counter<'projection'>;
  withoutState: Counter<'projection'>;
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
    duplicates: new Counter({
      name: 'projection_duplicates_skipped_total',
      help: 'Events a consumer skipped because it had applied them already (redelivery, replay, retried batch)',
      labelNames: ['projection'],
      registers,
    }),
    withoutState: new Counter({
      name: 'projection_events_without_state_total',
      help: 'Events a projection skipped because it holds no state for their stream (storage lost data?): rebuild it',
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

/** Messages applied per transaction by default; the heartbeat goes out between chunks. */
const CHUNK = 200;

/** At most one warning per runner this often about events skipped for lack of state. */
const STATE_WARNING_EVERY_MS = 60_000;

/**
 * Feeds one projection version from Kafka: one consumer group per projection version, batches applied through
 * the projection (idempotently), offsets committed after the apply. A message that fails by itself (undecodable,
 * refused by the handler, a gap in its stream) is isolated and goes to `<topic>.dlq.<consumer>` with the reason
 * in its headers, and the projection keeps going; an outage of a dependency is waited out, never dead-lettered.
 */
export class ProjectionRunner {
  private consumer: Consumer | null = null;
  private readonly metrics: Metrics;
  private readonly label: string;
  private lastStateWarning = 0;

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

  private joinedGroup: Promise<void> = new Promise(() => undefined);

  /** Settles once the consumer has joined its group and holds partitions (consumer.run returns before that). */
  joined(): Promise<void> {
    return this.joinedGroup;
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
    this.joinedGroup = new Promise((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
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
      partitionsConsumedConcurrently: Math.max(1, this.options.partitionsConsumedConcurrently ?? 1),
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
    // Chunks keep each transaction small and let the heartbeat go out between them, so a large backlog never
    // outlives the session and triggers a rebalance mid-batch.
    const size = Math.max(1, this.options.maxBatchMessages ?? CHUNK);
    for (let i = 0; i < batch.messages.length; i += size) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + size);
      await this.applyMessages(batch.topic, batch.partition, chunk, heartbeat, isRunning);
      const last = chunk.at(-1)!.offset;
      resolveOffset(last);
      await commitOffsetsIfNecessary({
        topics: [
          { topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(last) + 1) }] },
        ],
      });
      await heartbeat();
    }
    this.metrics.lag.set(
      { projection: this.label, topic: batch.topic, partition: String(batch.partition) },
      Number(batch.offsetLag()),
    );
  }

  /**
   * Decodes and applies messages. An infrastructure failure is retried with capped backoff for as long as it lasts;
   * a failure of the message itself (see isPoison) is isolated by halving until the one poison message is found and
   * dead-lettered.
   */
  private async applyMessages(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<void> {
    const source: BatchSource = { topic, partition, lastOffset: messages.at(-1)!.offset };
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        const events: ProjectedEvent[] = [];
        for (const message of messages) events.push(await toProjectedEvent(this.codec, message));
        let withoutState = 0;
        // The consumer's dedupe reports what it skipped where it skips it (see observe.ts).
        await observingBatch(
          {
            duplicatesSkipped: (n) => this.metrics.duplicates.inc({ projection: this.label }, n),
            stateMissing: (n) => {
              withoutState += n;
              this.metrics.withoutState.inc({ projection: this.label }, n);
            },
          },
          () => this.projection.applyBatch(events, source),
        );
        this.metrics.applied.inc({ projection: this.label }, events.length);
        if (withoutState > 0) this.warnStateMissing(withoutState);
        return;
      } catch (error) {
        lastError = error;
        if (isPoison(error)) break;
        // Shutting down: leave the batch uncommitted for whoever owns the partition next.
        if (!isRunning()) throw error;
        const delayMs = Math.min(30_000, (this.options.retryDelayMs ?? 200) * 2 ** Math.min(attempt - 1, 8));
        this.logger.warn(
          { projection: this.label, topic, partition, attempt, delayMs, err: error },
          'batch failed; retrying',
        );
        await heartbeat().catch(() => undefined);
        await sleep(delayMs);
      }
    }
    if (messages.length > 1) {
      const half = Math.ceil(messages.length / 2);
      await this.applyMessages(topic, partition, messages.slice(0, half), heartbeat, isRunning);
      await this.applyMessages(topic, partition, messages.slice(half), heartbeat, isRunning);
      return;
    }
    await this.deadLetter(topic, partition, messages[0]!, lastError);
  }

  private warnStateMissing(events: number): void {
    const now = Date.now();
    if (now - this.lastStateWarning < STATE_WARNING_EVERY_MS) return;
    this.lastStateWarning = now;
    this.logger.warn(
      { projection: this.label, events, metric: 'projection_events_without_state_total' },
      `events skipped: ${this.label} has no state for their streams. If its storage lost data (a Redis restart ` +
        `without persistence), rebuild it: ledger projections rebuild ${this.projection.name}`,
    );
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
