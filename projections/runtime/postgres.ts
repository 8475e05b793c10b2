import type { Knex } from 'knex';
import { StreamGapError } from '../../runtime/consumer/failures.js';
import { countDuplicates } from '../../runtime/consumer/observe.js';
import type { BatchSource, ProjectedEvent, Projection } from '../../runtime/consumer/types.js';
import { versionKey } from './tables.js';

/** A read model in PostgreSQL: its tables are suffixed with the version, so two versions live side by side. */
export interface PostgresReadModel {
  readonly name: string;
  readonly version: number;
  readonly topics: readonly string[];
  createTables(db: Knex): Promise<void>;
  dropTables(db: Knex): Promise<void>;
  /** Applies events this version has not seen yet, in stream order, inside the runtime's transaction. */
  apply(trx: Knex.Transaction, events: readonly ProjectedEvent[]): Promise<void>;
}

/**
 * Wraps a PostgreSQL read model into a Projection: the read-model write, the stream versions seen and the
 * partition checkpoint commit in one transaction, so a redelivered event (stream version already seen) is
 * skipped and a crash leaves either all of a batch or none of it.
 */
export function postgresProjection(
  db: Knex,
  model: PostgresReadModel,
): Projection & { readonly model: PostgresReadModel } {
  const key = versionKey(model.name, model.version);
  return {
    name: model.name,
    version: model.version,
    topics: model.topics,
    model,
    setup: () => model.createTables(db),
    drop: () => model.dropTables(db),
    applyBatch: async (events, source) => {
      await applyInTransaction(db, key, model, events, source);
    },
  };
}

export async function applyInTransaction(
  db: Knex,
  key: string,
  model: PostgresReadModel,
  events: readonly ProjectedEvent[],
  source: BatchSource | null,
  options: { readonly exclusive?: boolean } = {},
): Promise<number> {
  if (events.length === 0 && !source) return 0;
  let duplicates = 0;
  const appliedCount = await db.transaction(async (trx) => {
    duplicates = 0;
    const streams = [...new Set(events.map((e) => e.streamId))].sort();
    let fresh: ProjectedEvent[] = [];
    if (streams.length > 0 && !options.exclusive) {
      // Serialises two consumers of one stream during a rebalance hand-over; sorted, so never a deadlock. Streams
      // share 1024 lock buckets per projection, so a 5,000-stream rebuild batch cannot exhaust the lock table.
      await trx.raw(
        `SELECT pg_advisory_xact_lock(hashtext(?), b) FROM (
           SELECT DISTINCT (abs(hashtextextended(s, 0)) % 1024)::int AS b FROM unnest(?::text[]) AS s
         ) buckets ORDER BY b`,
        [key, streams],
      );
    }
    if (streams.length > 0) {
      // A rebuild (exclusive) builds an emptied version from the log, in order, each event once: nothing was applied
      // before but what it applied itself, so it skips reading the versions seen (a fifth of a rebuild's time) and
      // takes a stream's first event in the batch as the next one. The log's versions are contiguous, and a stream
      // with an event left out as poison is held back by the PoisonIsolator, so no gap can reach it.
      const versions = options.exclusive ? new Map<string, number>() : await versionsSeen(trx, key, streams);
      const positions = new Map<string, number>();
      for (const event of events) {
        const applied = versions.get(event.streamId) ?? (options.exclusive ? event.streamVersion - 1 : 0);
        if (event.streamVersion <= applied) {
          duplicates++; // already applied: the dedupe of redelivered events
          continue;
        }
        // Applying v(n+2) over a missing v(n+1) would corrupt the row: the stream waits for the missing event,
        // which reaches the DLQ and, retried from there in order, repairs it.
        if (event.streamVersion !== applied + 1)
          throw new StreamGapError(event.streamId, applied + 1, event.streamVersion);
        fresh.push(event);
        versions.set(event.streamId, event.streamVersion);
        positions.set(event.streamId, event.globalPosition);
      }
      fresh = fresh.sort((a, b) => a.globalPosition - b.globalPosition);
      if (fresh.length > 0) {
        await model.apply(trx, fresh);
        const rows = [...positions].map(([streamId, position]) => ({
          projection: key,
          stream_id: streamId,
          version: versions.get(streamId)!,
          position,
        }));
        // One array per column, not one bind parameter per value: a 5,000-stream rebuild batch would pass
        // PostgreSQL's 65,535-parameter limit.
        await trx.raw(
          `INSERT INTO projection_streams (projection, stream_id, version, position)
           SELECT ?, * FROM unnest(?::text[], ?::int[], ?::bigint[])
           ON CONFLICT (projection, stream_id) DO UPDATE SET version = EXCLUDED.version, position = EXCLUDED.position`,
          [key, rows.map((r) => r.stream_id), rows.map((r) => r.version), rows.map((r) => r.position)],
        );
      }
    }
    if (source) {
      await trx('projection_checkpoints')
        .insert({
          projection: key,
          topic: source.topic,
          partition: source.partition,
          offset: source.lastOffset,
          updated_at: trx.fn.now(),
        })
        .onConflict(['projection', 'topic', 'partition'])
        .merge(['offset', 'updated_at']);
    }
    return fresh.length;
  });
  // Counted once committed, so a rolled-back attempt that the runner retries is not counted twice.
  countDuplicates(duplicates);
  return appliedCount;
}

/** The stream versions a projection version has applied, for the streams of a batch. */
async function versionsSeen(
  trx: Knex.Transaction,
  key: string,
  streams: readonly string[],
): Promise<Map<string, number>> {
  // One array parameter rather than one per stream: a 5,000-stream batch parses and binds far faster.
  const seen = await trx.raw(
    'SELECT stream_id, version FROM projection_streams WHERE projection = ? AND stream_id = ANY(?::text[])',
    [key, [...streams]],
  );
  return new Map((seen.rows as { stream_id: string; version: number }[]).map((r) => [r.stream_id, r.version]));
}
