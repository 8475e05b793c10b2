import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import pg from 'pg';
import { liveKeys } from '../../projections/ordering/order-status-redis.js';
import { benchKafka } from './kafka.js';

// What the e2e suite observes of the running system, from outside its processes.
//
// CONFIRMED is seen on the live channel the order-status projection publishes every status change on
// (`<prefix>live:orders`, the feed behind SSE /streams/* and /ws). One subscription in this process sees every
// order as soon as a client could, pushed, with nothing added to the system under load: SSE would hold a
// gateway connection per order and run the gateway's fan-out on the gateway's CPU, which is what the load
// saturates (the sse-fanout suite measures that part), and polling the query API or Redis would add requests
// under load and round every latency up to the polling interval. The send and arrival times are taken on the
// same thread's monotonic clock, so no clock offset enters the latency.

export interface StatusMessage {
  readonly orderId: string;
  readonly status: string;
}

export class ConfirmationWatcher {
  private readonly subscriber: Redis;
  /** orderId → when its CONFIRMED status arrived here (performance.now()). */
  private readonly confirmed = new Map<string, number>();
  /** Orders that reached another end than CONFIRMED first (REJECTED, CANCELLED): they will never confirm. */
  private readonly otherwise = new Map<string, string>();
  private malformed = 0;

  constructor(
    redisUrl: string,
    private readonly channel: string,
  ) {
    this.subscriber = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  }

  static forPrefix(redisUrl: string, prefix: string): ConfirmationWatcher {
    return new ConfirmationWatcher(redisUrl, liveKeys(prefix).channel);
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
    await this.subscriber.connect();
    await this.subscriber.subscribe(this.channel);
  }

  private onMessage(text: string): void {
    const at = performance.now();
    let message: Partial<StatusMessage>;
    try {
      message = JSON.parse(text) as Partial<StatusMessage>;
    } catch {
      this.malformed++;
      return;
    }
    const { orderId, status } = message;
    if (typeof orderId !== 'string' || typeof status !== 'string') {
      this.malformed++;
      return;
    }
    if (status === 'CONFIRMED') {
      if (!this.confirmed.has(orderId)) this.confirmed.set(orderId, at);
    } else if (status === 'REJECTED' || status === 'CANCELLED') {
      if (!this.confirmed.has(orderId) && !this.otherwise.has(orderId)) this.otherwise.set(orderId, status);
    }
  }

  /** When the order's CONFIRMED arrived here, if it has. */
  confirmedAt(orderId: string): number | undefined {
    return this.confirmed.get(orderId);
  }

  /** REJECTED or CANCELLED when the order ended that way before it was ever confirmed. */
  endedWithout(orderId: string): string | undefined {
    return this.otherwise.get(orderId);
  }

  get malformedMessages(): number {
    return this.malformed;
  }

  stop(): void {
    this.subscriber.disconnect();
  }
}

/**
 * The saga's consumer lag: messages on its topics not yet committed by its consumer group (which commits after
 * each chunk it reacted to), summed over partitions. Read with the admin API, as an operator would, so the saga's
 * own code — being changed — is not what reports its progress.
 */
export class ConsumerLag {
  private admin: Admin | null = null;

  constructor(
    private readonly groupId: string,
    private readonly topics: readonly string[],
  ) {}

  async start(): Promise<void> {
    const admin = benchKafka('ledgerline-bench-e2e-lag').admin();
    await admin.connect();
    this.admin = admin;
  }

  /** Messages behind, or null if the offsets could not be read this time. */
  async sample(): Promise<number | null> {
    if (!this.admin) return null;
    try {
      const committed = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [...this.topics] });
      let lag = 0;
      for (const topic of this.topics) {
        const ends = await this.admin.fetchTopicOffsets(topic);
        const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const end of ends) {
          const offset = Number(done.find((p) => p.partition === end.partition)?.offset ?? '-1');
          // Nothing committed yet: the group starts from the beginning, so all of the partition is behind.
          const from = offset >= 0 ? offset : Number(end.low);
          lag += Math.max(0, Number(end.high) - from);
        }
      }
      return lag;
    } catch {
      return null;
    }
  }

  async stop(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = null;
  }
}

/**
 * For each order, OrderPlaced → OrderConfirmed as the event store recorded them (`recorded_at`, PostgreSQL's
 * clock_timestamp() at insert: one clock): the share of place→CONFIRMED spent between the two appends — relay,
 * saga, provider, relay, saga — without the gateway before it and the projector after it. Read after a step, so
 * it costs the system under load nothing. Orders without both events are left out.
 */
export async function storeConfirmLatencies(databaseUrl: string, orderIds: readonly string[]): Promise<number[]> {
  if (orderIds.length === 0) return [];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ ms: number }>(
      `SELECT extract(epoch FROM (c.recorded_at - p.recorded_at)) * 1000 AS ms
         FROM events p JOIN events c ON c.stream_id = p.stream_id AND c.event_type = 'OrderConfirmed'
        WHERE p.event_type = 'OrderPlaced' AND p.stream_id = ANY($1::text[])`,
      [orderIds.map((id) => `order-${id}`)],
    );
    return result.rows.map((r) => Number(r.ms));
  } finally {
    await client.end();
  }
}
