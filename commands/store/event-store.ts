import type { Knex } from 'knex';
import type { EncodedEvent, EventLogReader, EventMetadata, RecordedEvent } from '../../runtime/event-log.js';
import { type RawClient, withRawClient } from '../../runtime/postgres.js';
import {
  APPEND_BARRIER_LOCK,
  type AppendParameter,
  appendParameterNames,
  appendStatement,
  type ClaimMode,
  FIND_IDEMPOTENT,
  type NamedStatement,
  READ_STREAMS,
  REMEMBER_NOOP,
  STREAM_VERSION,
} from './append-statement.js';
import { ConcurrencyError, IdempotencyRaceError } from './errors.js';

export type { EncodedEvent, EventMetadata, RecordedEvent };

/** `no_stream`: the stream must not exist; `any`: no check; a number: the stream's current version. */
export type ExpectedVersion = number | 'no_stream' | 'any';

export interface IdempotencyRecord {
  readonly scope: string;
  readonly key: string;
  readonly requestHash: string;
}

/** The append's open transaction, for write-side state that must commit with the events (`$1`, `$2`… placeholders). */
export interface AppendTransaction {
  query<Row extends object = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
  ): Promise<{ readonly rows: Row[] }>;
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
  /**
   * Write-side state that must commit with the events or not at all (e.g. credentials); it may throw to abort.
   * Costs an explicit transaction (BEGIN, the append, the callback, COMMIT) where an append alone is one statement.
   */
  readonly alsoInTransaction?: (trx: AppendTransaction) => Promise<void>;
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
   * Appends events to one stream with their outbox rows (and the idempotency record), in one statement: one round
   * trip, atomic without an explicit transaction (see appendStatement for how the high-water mark stays gap-safe).
   * Throws ConcurrencyError when the stream is not at the expected version: of N concurrent appends at the same
   * expected version exactly one wins, because the claim is a write of the stream's row (an UPDATE from a
   * version, or an INSERT that must not conflict), which PostgreSQL serialises. Throws IdempotencyRaceError when
   * the key is already recorded; then nothing is appended.
   */
  async append(request: AppendRequest): Promise<AppendResult> {
    if (request.events.length === 0) throw new Error('append needs at least one event');
    const { alsoInTransaction } = request;
    return withRawClient(this.db, async (client) => {
      if (!alsoInTransaction) return this.appendOn(client, request);
      await client.query('BEGIN');
      try {
        const result = await this.appendOn(client, request);
        await alsoInTransaction(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A connection that cannot even roll back is broken; knex discards it when it comes back to the pool.
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  private async appendOn(client: RawClient, request: AppendRequest): Promise<AppendResult> {
    const { streamId, expectedVersion, idempotency } = request;
    const mode: ClaimMode = typeof expectedVersion === 'number' ? 'version' : expectedVersion;
    const statement = statementFor(mode, idempotency !== undefined);
    const values = appendValues(statement.parameters, {
      streamId,
      streamType: request.streamType,
      metadata: JSON.stringify(request.metadata),
      eventIds: request.events.map((e) => e.eventId),
      eventTypes: request.events.map((e) => e.eventType),
      schemaIds: request.events.map((e) => e.schemaId),
      payloads: request.events.map((e) => e.payload),
      shard: shardOf(streamId, this.shards),
      topic: this.topicPrefix + request.streamType,
      expectedVersion: typeof expectedVersion === 'number' ? expectedVersion : null,
      idempotencyScope: idempotency?.scope ?? null,
      idempotencyKey: idempotency?.key ?? null,
      idempotencyRequestHash: idempotency?.requestHash ?? null,
    });
    let rows: { version: number; position: number }[];
    try {
      rows = (await client.query({ name: statement.name, text: statement.text, values })).rows;
    } catch (error) {
      if (idempotency && isIdempotencyKeyTaken(error))
        throw new IdempotencyRaceError(idempotency.scope, idempotency.key);
      throw error;
    }
    const row = rows[0];
    if (row) return { streamId, version: row.version, position: row.position };
    // The claim failed: read the version apart, as the failed statement's snapshot may predate the winner.
    const actual = await query<{ version: number }>(client, STREAM_VERSION, [streamId]);
    throw new ConcurrencyError(streamId, describe(expectedVersion), actual[0]?.version ?? null);
  }

  /** The stored response for an idempotency key, if a command with it has committed. */
  async findIdempotent(scope: string, key: string): Promise<StoredResponse | null> {
    const rows = await withRawClient(this.db, (client) =>
      query<{ request_hash: string; response: AppendResult }>(client, FIND_IDEMPOTENT, [scope, key]),
    );
    const row = rows[0];
    return row ? { requestHash: row.request_hash, response: row.response } : null;
  }

  /** Records a command that appended nothing (already in the asked-for state) under its idempotency key. */
  async rememberNoop(record: IdempotencyRecord, result: AppendResult): Promise<void> {
    const inserted = await withRawClient(this.db, (client) =>
      query(client, REMEMBER_NOOP, [record.scope, record.key, record.requestHash, JSON.stringify(result)]),
    );
    if (inserted.length === 0) throw new IdempotencyRaceError(record.scope, record.key);
  }

  /**
   * Every event of these streams, by stream in version order, in one query per `pageSize` events (keyset paging
   * on stream id and version): what a command loads. Every requested id is in the map, a missing stream empty.
   */
  async readStreams(streamIds: readonly string[], pageSize = 1000): Promise<Map<string, RecordedEvent[]>> {
    const unique = [...new Set(streamIds)];
    const streams = new Map<string, RecordedEvent[]>(unique.map((id) => [id, []]));
    await withRawClient(this.db, async (client) => {
      let after: [string, number] = ['', 0];
      for (;;) {
        const page = await query<EventRow>(client, READ_STREAMS, [unique, ...after, pageSize]);
        for (const row of page) streams.get(row.stream_id)?.push(toRecorded(row));
        const last = page.at(-1);
        if (!last || page.length < pageSize) return;
        after = [last.stream_id, last.stream_version];
      }
    });
    return streams;
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

interface PreparedAppend extends NamedStatement {
  readonly parameters: readonly AppendParameter[];
}

/** The six variants (claim mode × idempotency), built once: a named statement's text must never change. */
const STATEMENTS = new Map<string, PreparedAppend>();
function statementFor(mode: ClaimMode, withIdempotency: boolean): PreparedAppend {
  const id = `${mode}/${withIdempotency}`;
  let statement = STATEMENTS.get(id);
  if (!statement) {
    statement = { ...appendStatement(mode, withIdempotency), parameters: appendParameterNames(mode, withIdempotency) };
    STATEMENTS.set(id, statement);
  }
  return statement;
}

const appendValues = (names: readonly AppendParameter[], values: Record<AppendParameter, unknown>): unknown[] =>
  names.map((name) => values[name]);

const isIdempotencyKeyTaken = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { code?: unknown }).code === '23505' &&
  (error as { constraint?: unknown }).constraint === 'idempotency_keys_pkey';

async function query<Row extends object>(
  client: RawClient,
  statement: NamedStatement,
  values: readonly unknown[],
): Promise<Row[]> {
  return (await client.query<Row>({ name: statement.name, text: statement.text, values: [...values] })).rows;
}
