import type { Message, Producer } from 'kafkajs';
import type { Knex } from 'knex';
import type pg from 'pg';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';
import { withRawClient } from '../../runtime/postgres.js';
import type { EventMetadata } from '../store/event-store.js';

export interface RelayOptions {
  readonly batchSize?: number;
  /** Idle wait between polls when the outbox is empty. */
  readonly idleMs?: number;
  /** Upper bound of one publish request (Kafka's default message.max.bytes is 1 MiB). */
  readonly maxBatchBytes?: number;
  readonly metrics?: Registry;
}

interface OutboxRow {
  global_position: number;
  topic: string;
  created_at: Date;
  stream_id: string;
  stream_version: number;
  event_id: string;
  event_type: string;
  payload: Buffer;
  metadata: EventMetadata;
  recorded_at: Date;
}

/** Namespace of the relays' advisory locks (the second key is the shard). */
const RELAY_LOCK = 0x52656c61; // "Rela"

/**
 * Takes every shard with work that no other relay holds. The shards with work are found by skipping through the
 * (shard, position) index from one shard to the next (a recursive CTE, as PostgreSQL has no skip scan): a few
 * index probes per shard, where `SELECT DISTINCT shard` read the whole backlog on every pass.
 *
 * The rows are read by a second statement: a statement reads the snapshot taken when it began, and had it also
 * read the rows, a relay that committed (and so deleted what it had published) between that snapshot and our lock
 * would have its rows published again. The second statement's snapshot (READ COMMITTED) is taken once the locks
 * are held; a relay's commit is visible before its locks are released, so it sees every row that relay deleted.
 */
const TAKE_SHARDS = `WITH RECURSIVE pending(shard) AS (
  SELECT min(shard) FROM outbox
  UNION ALL
  SELECT (SELECT min(o.shard) FROM outbox o WHERE o.shard > pending.shard) FROM pending WHERE pending.shard IS NOT NULL
)
SELECT shard FROM pending WHERE shard IS NOT NULL AND pg_try_advisory_xact_lock(${RELAY_LOCK}, shard)`;

/** The oldest rows of the shards taken, in position order (a named statement: planned once per connection). */
const READ_ROWS = {
  name: 'll_relay_rows',
  text: `SELECT o.global_position, o.topic, o.created_at, e.stream_id, e.stream_version, e.event_id, e.event_type,
       e.payload, e.metadata, e.recorded_at
FROM outbox o JOIN events e ON e.global_position = o.global_position
WHERE o.shard = ANY($1::int[])
ORDER BY o.global_position
LIMIT $2::int`,
} as const;

/**
 * The DELETE of exactly the rows published, sent with the COMMIT in one round trip (a simple query, so the
 * positions are inlined: integers from our own read, checked). Never "every row up to the last position": a row
 * below it that committed after our read would be deleted unpublished.
 */
function deletePublished(rows: readonly Pick<OutboxRow, 'global_position'>[]): string {
  const positions = rows.map((r) => {
    if (!Number.isSafeInteger(r.global_position)) throw new Error(`unexpected outbox position ${r.global_position}`);
    return r.global_position;
  });
  return `DELETE FROM outbox WHERE global_position = ANY('{${positions.join(',')}}'::bigint[])`;
}

/**
 * Publishes the outbox to Kafka. Each shard (a hash of the stream id) is drained by one relay at a time: a pass
 * takes, under transaction-scoped advisory locks, every shard with work that no other relay holds, then (in a second
 * statement, so with a snapshot taken after the locks) reads their oldest rows in position order, publishes them in
 * one request (acks=all, key = stream id), deletes them, commits (on a node-postgres client from knex's pool). A crash anywhere before the commit leaves the
 * rows in place, so they are published again: duplicates are possible (same event id), losses are not.
 * Rows are deleted only once published, so an event that commits late is never skipped.
 */
export class OutboxRelay {
  private readonly worker: BackgroundLoop;
  private readonly batchSize: number;
  private readonly maxBatchBytes: number;
  private readonly published: Counter;
  private readonly unpublished: Gauge;
  private readonly oldestAge: Gauge;
  private readonly latency: Histogram;

  constructor(
    private readonly db: Knex,
    private readonly producer: Producer,
    logger: Logger,
    options: RelayOptions,
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.worker = new BackgroundLoop('outbox relay', async () => (await this.publishOnce()) > 0, logger, {
      idleMs: options.idleMs ?? 10,
    });
    this.maxBatchBytes = options.maxBatchBytes ?? 768 * 1024;
    const registers = options.metrics ? [options.metrics] : [];
    this.published = new Counter({
      name: 'outbox_published_events_total',
      help: 'Events published from the outbox to Kafka',
      registers,
    });
    this.unpublished = new Gauge({
      name: 'outbox_unpublished_events',
      help: 'Outbox rows not yet published',
      registers,
    });
    this.oldestAge = new Gauge({
      name: 'outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest unpublished outbox row',
      registers,
    });
    this.latency = new Histogram({
      name: 'outbox_publish_latency_seconds',
      help: 'Time from append to acknowledged publish',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  start(): void {
    this.worker.start();
  }

  /** Finishes the batch in flight (it commits or rolls back), then stops. */
  stop(): Promise<void> {
    return this.worker.stop();
  }

  /** One pass over the shards that have work and no other relay; returns how many events were published. */
  async publishOnce(): Promise<number> {
    return withRawClient(this.db, async (client) => {
      // Three round trips for a pass with work (BEGIN + locks, rows, DELETE + COMMIT), two for an idle one: the
      // relay's latency is what Kafka's adds to these, so each saved round trip shows in commit→consume.
      // A fresh snapshot per statement is what the snapshot argument on TAKE_SHARDS relies on: a server or role
      // defaulting to REPEATABLE READ would read every statement from the first one's snapshot, so BEGIN says it.
      const opened = (await client.query(
        `BEGIN ISOLATION LEVEL READ COMMITTED; ${TAKE_SHARDS}`,
      )) as unknown as pg.QueryResult<{ shard: number }>[];
      try {
        const shards = (opened[1]?.rows ?? []).map((r) => r.shard);
        const rows =
          shards.length === 0
            ? []
            : (await client.query<OutboxRow>({ ...READ_ROWS, values: [shards, this.batchSize] })).rows;
        if (rows.length === 0) {
          await client.query('COMMIT');
          return 0;
        }
        const batch = this.withinSizeLimit(rows);
        await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(batch) });
        await client.query(`${deletePublished(batch)}; COMMIT`);
        const now = Date.now();
        for (const row of batch) this.latency.observe((now - row.created_at.getTime()) / 1000);
        this.published.inc(batch.length);
        return batch.length;
      } catch (error) {
        // A connection that cannot even roll back is broken; knex discards it when it comes back to the pool.
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  /** The leading rows that fit one request: Kafka refuses an oversized request for good, wedging the shard. */
  private withinSizeLimit(rows: OutboxRow[]): OutboxRow[] {
    let bytes = 0;
    let count = 0;
    for (const row of rows) {
      bytes += row.payload.length + 512; // value plus key and headers, generously
      if (count > 0 && bytes > this.maxBatchBytes) break;
      count++;
    }
    return rows.slice(0, count);
  }

  /** Refreshes the lag gauges; returns them for logs and the CLI. */
  async measureLag(): Promise<{ unpublished: number; oldestAgeSeconds: number }> {
    const r = await this.db.raw(
      `SELECT count(*)::int AS n, coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float AS age FROM outbox`,
    );
    const row = r.rows[0] as { n: number; age: number };
    this.unpublished.set(row.n);
    this.oldestAge.set(row.age);
    return { unpublished: row.n, oldestAgeSeconds: row.age };
  }
}

/** Kafka headers of the contract: any consumer can dedupe and order without decoding the value. */
export function headersOf(
  row: Pick<
    OutboxRow,
    'event_id' | 'event_type' | 'stream_id' | 'stream_version' | 'global_position' | 'metadata' | 'recorded_at'
  >,
) {
  return {
    'event-id': row.event_id,
    'event-type': row.event_type,
    'stream-id': row.stream_id,
    'stream-version': String(row.stream_version),
    'global-position': String(row.global_position),
    'correlation-id': row.metadata.correlationId,
    'causation-id': row.metadata.causationId ?? '',
    'recorded-at': row.recorded_at.toISOString(),
    // Beyond the contract's headers (consumers ignore what they do not know): the flow's trace, when it has one.
    ...(row.metadata.traceId ? { 'trace-id': row.metadata.traceId } : {}),
  };
}

function groupByTopic(rows: readonly OutboxRow[]): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  for (const row of rows) {
    const messages = byTopic.get(row.topic) ?? [];
    messages.push({
      key: row.stream_id,
      value: row.payload,
      timestamp: String(row.recorded_at.getTime()),
      headers: headersOf(row),
    });
    byTopic.set(row.topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
