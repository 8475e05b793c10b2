import type { Knex } from 'knex';
import type { EncodedEvent, EventLogReader, EventMetadata, RecordedEvent } from '../../runtime/event-log.js';
import { ConcurrencyError, IdempotencyRaceError } from './errors.js';

export type { EncodedEvent, EventMetadata, RecordedEvent };

/** `no_stream`: the stream must not exist; `any`: no check; a number: the stream's current version. */
export type ExpectedVersion = number | 'no_stream' | 'any';

export interface IdempotencyRecord {
  readonly scope: string;
  readonly key: string;
  readonly requestHash: string;
}

export interface AppendRequest {
  readonly streamId: string;
  /** The aggregate type, which is also the Kafka topic name (before any prefix), e.g. `ordering.order`. */
  readonly streamType: string;
  readonly expectedVersion: ExpectedVersion;
  readonly events: readonly EncodedEvent[];
  readonly metadata: EventMetadata;
  /** Stored in the append's transaction with the response, so a retry returns it and appends nothing. */
  readonly idempotency?: IdempotencyRecord;
  /** Write-side state that must commit with the events or not at all (e.g. credentials); it may throw to abort. */
  readonly alsoInTransaction?: (trx: Knex.Transaction) => Promise<void>;
}

export interface AppendResult {
  readonly streamId: string;
  /** The stream's version after the append. */
  readonly version: number;
  /** The global position of the last appended event. */
  readonly position: number;
}

export interface StoredResponse {
  readonly requestHash: string;
  readonly response: AppendResult;
}

export interface EventStoreOptions {
  readonly topicPrefix?: string;
  /** Outbox shards: one relay at a time publishes a shard, which keeps each stream in order. */
  readonly outboxShards?: number;
}

/** Appenders hold this lock shared; a catch-up reader takes it exclusively for an instant to learn a position
 *  below which no transaction is still in flight (sequence values are taken before commit). */
const APPEND_BARRIER_LOCK = 0x4c656467; // "Ledg"

/** A row of the `events` table as the driver returns it (BIGINT as number: see database.ts). */
export interface EventRow {
  global_position: number;
  stream_id: string;
  stream_type: string;
  stream_version: number;
  event_id: string;
  event_type: string;
  schema_id: number;
  payload: Buffer;
  metadata: EventMetadata;
  recorded_at: Date;
}

export const toRecorded = (row: EventRow): RecordedEvent => ({
  globalPosition: row.global_position,
  streamId: row.stream_id,
  streamType: row.stream_type,
  streamVersion: row.stream_version,
  eventId: row.event_id,
  eventType: row.event_type,
  schemaId: row.schema_id,
  payload: row.payload,
  metadata: row.metadata,
  recordedAt: row.recorded_at,
});

const describe = (expected: ExpectedVersion): string => (typeof expected === 'number' ? String(expected) : expected);

/**
 * The outbox shard of a stream: FNV-1a of its id. Every process must agree, and a stream's rows must all land in
 * one shard, so the function and OUTBOX_SHARDS only change with a drained outbox.
 */
export function shardOf(streamId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < streamId.length; i++) {
    hash ^= streamId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

export class EventStore implements EventLogReader {
  private readonly topicPrefix: string;
  private readonly shards: number;

  constructor(
    readonly db: Knex,
    options: EventStoreOptions = {},
  ) {
    this.topicPrefix = options.topicPrefix ?? '';
    this.shards = options.outboxShards ?? 16;
  }

  /**
   * Appends events to one stream in one transaction with their outbox rows (and the idempotency record).
   * Throws ConcurrencyError when the stream is not at the expected version: of N concurrent appends at the
   * same expected version exactly one wins, because the version check is an UPDATE of the stream's row.
   */
  async append(request: AppendRequest): Promise<AppendResult> {
    const { streamId, streamType, expectedVersion, events } = request;
    if (events.length === 0) throw new Error('append needs at least one event');
    return this.db.transaction(async (trx) => {
      // Four round trips: BEGIN, claim (with the barrier lock), events + outbox in one statement, COMMIT.
      const newVersion = await this.claimVersions(trx, streamId, streamType, expectedVersion, events.length);
      const first = newVersion - events.length + 1;
      const inserted = await trx.raw(
        `WITH appended AS (
           INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_id, payload, metadata)
           SELECT ?, ?, v, e, t, sc, p, ?::jsonb
           FROM unnest(?::int[], ?::uuid[], ?::text[], ?::int[], ?::bytea[]) AS x(v, e, t, sc, p)
           ORDER BY v
           RETURNING global_position
         )
         INSERT INTO outbox (global_position, shard, topic) SELECT global_position, ?, ? FROM appended
         RETURNING global_position`,
        [
          streamId,
          streamType,
          JSON.stringify(request.metadata),
          events.map((_, i) => first + i),
          events.map((e) => e.eventId),
          events.map((e) => e.eventType),
          events.map((e) => e.schemaId),
          events.map((e) => e.payload),
          shardOf(streamId, this.shards),
          this.topicPrefix + streamType,
        ],
      );
      const positions = (inserted.rows as { global_position: number }[]).map((r) => r.global_position);
      const result: AppendResult = { streamId, version: newVersion, position: Math.max(...positions) };
      if (request.idempotency) await this.recordIdempotency(trx, request.idempotency, result);
      if (request.alsoInTransaction) await request.alsoInTransaction(trx);
      return result;
    });
  }

  /**
   * Claims the next versions of the stream, or throws ConcurrencyError. The same statement takes the append
   * barrier (shared) before any sequence value is drawn — see safeHighWaterMark.
   */
  private async claimVersions(
    trx: Knex.Transaction,
    streamId: string,
    streamType: string,
    expected: ExpectedVersion,
    count: number,
  ): Promise<number> {
    const barrier = `(SELECT pg_advisory_xact_lock_shared(${APPEND_BARRIER_LOCK})) AS barrier`;
    let sql: string;
    let bindings: (string | number)[];
    if (expected === 'no_stream') {
      sql = `INSERT INTO streams (stream_id, stream_type, version) SELECT ?, ?, ? FROM ${barrier}
             ON CONFLICT (stream_id) DO NOTHING RETURNING version`;
      bindings = [streamId, streamType, count];
    } else if (expected === 'any') {
      sql = `INSERT INTO streams (stream_id, stream_type, version) SELECT ?, ?, ? FROM ${barrier}
             ON CONFLICT (stream_id) DO UPDATE SET version = streams.version + EXCLUDED.version, updated_at = now()
             RETURNING version`;
      bindings = [streamId, streamType, count];
    } else {
      sql = `UPDATE streams SET version = ?, updated_at = now() FROM ${barrier}
             WHERE stream_id = ? AND version = ? RETURNING version`;
      bindings = [expected + count, streamId, expected];
    }
    const claimed = (await trx.raw(sql, bindings)).rows as { version: number }[];
    const row = claimed[0];
    if (row) return row.version;
    const actual = await trx('streams').where({ stream_id: streamId }).first('version');
    throw new ConcurrencyError(streamId, describe(expected), actual ? (actual.version as number) : null);
  }

  private async recordIdempotency(trx: Knex.Transaction, record: IdempotencyRecord, result: AppendResult) {
    const inserted = await trx.raw(
      `INSERT INTO idempotency_keys (scope, key, request_hash, response) VALUES (?, ?, ?, ?)
       ON CONFLICT (scope, key) DO NOTHING RETURNING key`,
      [record.scope, record.key, record.requestHash, JSON.stringify(result)],
    );
    if (inserted.rows.length === 0) throw new IdempotencyRaceError(record.scope, record.key);
  }

  /** The stored response for an idempotency key, if a command with it has committed. */
  async findIdempotent(scope: string, key: string): Promise<StoredResponse | null> {
    const row = await this.db('idempotency_keys').where({ scope, key }).first('request_hash', 'response');
    return row ? { requestHash: row.request_hash as string, response: row.response as AppendResult } : null;
  }

  /** Records a command that appended nothing (already in the asked-for state) under its idempotency key. */
  async rememberNoop(record: IdempotencyRecord, result: AppendResult): Promise<void> {
    await this.db.transaction((trx) => this.recordIdempotency(trx, record, result));
  }

  async readStream(streamId: string, options: { fromVersion?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
    const rows: EventRow[] = await this.db('events')
      .where('stream_id', streamId)
      .andWhere('stream_version', '>=', options.fromVersion ?? 1)
      .orderBy('stream_version', 'asc')
      .limit(options.limit ?? 10_000);
    return rows.map(toRecorded);
  }

  async readStreamBackward(streamId: string, options: { fromVersion?: number; limit?: number } = {}) {
    const query = this.db('events').where('stream_id', streamId);
    if (options.fromVersion !== undefined) query.andWhere('stream_version', '<=', options.fromVersion);
    const rows: EventRow[] = await query.orderBy('stream_version', 'desc').limit(options.limit ?? 10_000);
    return rows.map(toRecorded);
  }

  async streamVersion(streamId: string): Promise<number | null> {
    const row = await this.db('streams').where({ stream_id: streamId }).first('version');
    return row ? (row.version as number) : null;
  }

  /**
   * A global position at or below which every event is committed: no append transaction is in flight below it.
   * Taking the barrier exclusively waits for in-flight appends and briefly holds new ones back, so call it once
   * per catch-up round, not per read.
   */
  async safeHighWaterMark(): Promise<number> {
    return this.db.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [APPEND_BARRIER_LOCK]);
      const r = await trx.raw('SELECT coalesce(max(global_position), 0) AS hwm FROM events');
      return (r.rows[0] as { hwm: number }).hwm;
    });
  }

  /** Events after `after` up to `upTo` (take it from safeHighWaterMark) in global order: never skips a late commit. */
  async readAll(after: number, upTo: number, limit = 1000, streamTypes?: readonly string[]): Promise<RecordedEvent[]> {
    const query = this.db('events')
      .where('global_position', '>', after)
      .andWhere('global_position', '<=', upTo)
      .orderBy('global_position', 'asc')
      .limit(limit);
    if (streamTypes) query.whereIn('stream_type', streamTypes);
    const rows: EventRow[] = await query;
    return rows.map(toRecorded);
  }

  async countUpTo(upTo: number, streamTypes: readonly string[]): Promise<number> {
    const row = await this.db('events')
      .whereIn('stream_type', streamTypes)
      .andWhere('global_position', '<=', upTo)
      .count({ n: '*' })
      .first();
    return Number(row?.n ?? 0);
  }
}
