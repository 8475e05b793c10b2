import type { Admin } from 'kafkajs';
import type { Knex } from 'knex';
import { groupIdOf, type ProjectedEvent } from '../../runtime/consumer/types.js';
import type { EventLogReader } from '../../runtime/event-log.js';
import type { EventCodec } from '../../schemas/codec.js';
import { type DecodedOrNot, decodeEach, type IsolationReport, PoisonIsolator } from './isolation.js';
import { applyInTransaction, type PostgresReadModel } from './postgres.js';
import { versionKey } from './tables.js';
import { activateVersion } from './versions.js';

export interface RebuildProgress {
  readonly projection: string;
  readonly version: number;
  readonly read: number;
  readonly total: number;
  readonly eventsPerSecond: number;
  readonly etaSeconds: number | null;
  /** Poison events left out so far (see PoisonIsolator). */
  readonly isolated: number;
}

export interface RebuildResult {
  readonly events: number;
  readonly seconds: number;
  readonly isolated: IsolationReport;
  /** Whether queries now read the new version. */
  readonly activated: boolean;
}

/**
 * One version of a projection as a rebuild writes it, whatever its storage: a PostgreSQL read model
 * (postgresRebuildTarget) or another store (the Redis order status declares its own, see projections/context.ts).
 */
export interface RebuildTarget {
  readonly name: string;
  readonly version: number;
  /** Stream types (topics without the prefix) it is built from. */
  readonly topics: readonly string[];
  /** Empties this version's storage (whatever an interrupted earlier attempt left) and creates it afresh. */
  reset(): Promise<void>;
  /**
   * Applies events read from the store, in log order, to this version, which nothing else writes while it is
   * built; idempotent per stream version. Returns how many changed it. A failure of the events themselves must be
   * poison (see isPoison), so it is isolated; any other failure stops the rebuild.
   */
  apply(events: readonly ProjectedEvent[]): Promise<number>;
  /** Removes this version's storage once reads use another one (`ledger projections drop`). */
  drop(): Promise<void>;
}

/** A PostgreSQL read model's version as a rebuild target: its tables and its rows in the runtime tables. */
export function postgresRebuildTarget(readDb: Knex, model: PostgresReadModel): RebuildTarget {
  const key = versionKey(model.name, model.version);
  const clearRuntimeRows = async () => {
    await readDb('projection_streams').where('projection', key).delete();
    await readDb('projection_checkpoints').where('projection', key).delete();
  };
  return {
    name: model.name,
    version: model.version,
    topics: model.topics,
    async reset() {
      await model.dropTables(readDb);
      await clearRuntimeRows();
      await model.createTables(readDb);
    },
    // Exclusive: nothing else writes a version while it is being built (its consumer group has no members until
    // reads switch to it), so the per-stream hand-over locks are skipped.
    apply: (events) => applyInTransaction(readDb, key, model, events, null, { exclusive: true }),
    async drop() {
      await model.dropTables(readDb);
      await clearRuntimeRows();
    },
  };
}

interface RebuildCommonOptions {
  readonly store: EventLogReader;
  /** Where `projection_versions` is (the read database). */
  readonly readDb: Knex;
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  /** Seeds the new version's consumer group at the topics' current ends, so live consumption resumes there. */
  readonly admin?: Admin;
  readonly batchSize?: number;
  /** Switch queries to the new version when done (default true). */
  readonly activate?: boolean;
  /**
   * Switch even when events were left out as poison (default false): they may be poison only to this build (a
   * bug in the new version, a schema it cannot read), and reads would then lose them. Left unswitched, the
   * result says so and the live version keeps serving.
   */
  readonly acceptIsolated?: boolean;
  /** Runs just before reads switch (for storage the switch row does not cover); if it throws, nothing switches. */
  readonly beforeActivate?: () => Promise<void>;
  readonly onProgress?: (progress: RebuildProgress) => void;
}

export interface RebuildOptions extends RebuildCommonOptions {
  /** The new version to build, beside the one queries read now. */
  readonly model: PostgresReadModel;
}

export interface RebuildTargetOptions extends RebuildCommonOptions {
  /** The new version to build, beside the one in use now. */
  readonly target: RebuildTarget;
}

/**
 * Builds a new version of a PostgreSQL read model from the event store, side by side with the live one, then
 * switches reads to it in one statement (see rebuildProjection).
 */
export function rebuildPostgresProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { model, ...rest } = options;
  return rebuildProjection({ ...rest, target: postgresRebuildTarget(options.readDb, model) });
}

/**
 * Builds a new version of a projection from the event store, side by side with the live one, in batches, then
 * switches `projection_versions` to it in one statement. Kafka end offsets are taken before the store is read, so
 * everything in Kafka before them is in the store below the high-water mark; what comes after is consumed live and
 * deduplicated by stream version. A poison event is isolated (left out, with its stream's later events) as the live
 * runner dead-letters it, and reported.
 */
export async function rebuildProjection(options: RebuildTargetOptions): Promise<RebuildResult> {
  const { store, readDb, codec, target } = options;
  await target.reset();

  const groupOffsets = options.admin
    ? await Promise.all(
        target.topics.map(async (topic) => ({
          topic: options.topicPrefix + topic,
          partitions: (await options.admin!.fetchTopicOffsets(options.topicPrefix + topic)).map((p) => ({
            partition: p.partition,
            offset: p.high,
          })),
        })),
      )
    : [];

  const highWater = await store.safeHighWaterMark();
  const total = await store.countUpTo(highWater, target.topics);
  const started = performance.now();
  let read = 0;
  const batchSize = options.batchSize ?? 5000;
  const fetchAfter = async (after: number): Promise<DecodedOrNot[]> =>
    decodeEach(codec, await store.readAll(after, highWater, batchSize, target.topics));
  const isolator = new PoisonIsolator((events) => target.apply(events));
  // The next batch is read and decoded while this one is written: the two use different connections.
  let next = fetchAfter(0);
  for (;;) {
    const events = await next;
    if (events.length === 0) break;
    next = fetchAfter(events.at(-1)!.event.globalPosition);
    // Settled here too, so a failed write never leaves the prefetch's rejection unhandled.
    next.catch(() => undefined);
    await isolator.applyBatch(events);
    read += events.length;
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? read / seconds : 0;
    options.onProgress?.({
      projection: target.name,
      version: target.version,
      read,
      total,
      eventsPerSecond: Math.round(rate),
      etaSeconds: rate > 0 ? Math.max(0, (total - read) / rate) : null,
      isolated: isolator.count,
    });
  }

  if (options.admin) {
    const groupId = groupIdOf(options.topicPrefix, target);
    for (const { topic, partitions } of groupOffsets) {
      await options.admin.setOffsets({ groupId, topic, partitions });
    }
  }
  const isolated = isolator.report();
  const activated = (options.activate ?? true) && (isolated.count === 0 || options.acceptIsolated === true);
  if (activated) {
    await options.beforeActivate?.();
    await activateVersion(readDb, target.name, target.version);
  }
  return { events: read, seconds: (performance.now() - started) / 1000, isolated, activated };
}
