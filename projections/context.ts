import type { Client as SearchClient } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import type { Config } from '../runtime/config.js';
import type { EventShape, ProjectedEvent, Projection } from '../runtime/consumer/types.js';
import type { PostgresReadModel } from './runtime/postgres.js';
import type { RebuildTarget } from './runtime/rebuild.js';

/** What a projection's factory may use: the configuration and the process's connections, opened on demand. */
export interface ProjectionEnv {
  readonly config: Config;
  /** The read models' database (READ_DATABASE_URL), where the projection runtime's tables are. */
  readDb(): Promise<Knex>;
  search(): Promise<SearchClient>;
  redis(): Promise<Redis>;
}

interface ProjectionEntryBase {
  /** The projection's stable name, as in projection_versions and the consumer group. */
  readonly name: string;
  readonly description: string;
  /** The version a fresh deployment runs while projection_versions has no row for it. */
  readonly initialVersion: number;
  /** Stream types (topics without the prefix) it consumes. */
  readonly topics: readonly string[];
}

/**
 * A PostgreSQL read model (possibly with another store beside it, written in the same transaction, as the menu
 * search does with Elasticsearch): the projector runs it, and the CLI rebuilds and replays into it.
 */
export interface PostgresProjectionEntry extends ProjectionEntryBase {
  readonly kind: 'postgres';
  /** Its read model at `version`. */
  model(version: number, env: ProjectionEnv): Promise<PostgresReadModel>;
  /** Runs just before reads switch to `version`, for storage the switch row does not cover (a search alias). */
  activated?(version: number, env: ProjectionEnv): Promise<void>;
  /** Why `version` must not be dropped because something still reads it (a search alias), or null. */
  readsFrom?(version: number, env: ProjectionEnv): Promise<string | null>;
}

/**
 * How a projection with storage of its own kind is rebuilt from the event store, side by side as a new version
 * (`ledger projections rebuild|drop|list`): the same run as for PostgreSQL read models (rebuildProjection: batches,
 * progress and ETA, poison isolation, the new version's consumer group seeded, then `projection_versions` switched).
 */
export interface RebuildCapability {
  /** `version` as a rebuild writes it: reset, applied in batches from the store, dropped once unused. */
  target(version: number, env: ProjectionEnv): Promise<RebuildTarget>;
  /** Runs just before the switch to `version`, for storage the switch row does not cover. */
  activated?(version: number, env: ProjectionEnv): Promise<void>;
  /** Why `version` must not be dropped because something still reads it, or null. */
  readsFrom?(version: number, env: ProjectionEnv): Promise<string | null>;
  /** How many streams `version` holds, for `ledger projections list` (its `appliedStreams`). */
  appliedStreams?(version: number, env: ProjectionEnv): Promise<number>;
}

/**
 * A projection with storage of its own kind (Redis): the projector runs `make`; with `rebuild` the CLI rebuilds
 * and drops its versions like a PostgreSQL read model's, without it only a new version fed from Kafka rebuilds it.
 */
export interface CustomProjectionEntry extends ProjectionEntryBase {
  readonly kind: 'custom';
  make(version: number, env: ProjectionEnv): Promise<Projection>;
  readonly rebuild?: RebuildCapability;
}

export type ProjectionEntry = PostgresProjectionEntry | CustomProjectionEntry;

/**
 * One notification an event makes, in its context's words. The notifications read model (identity's) adds the
 * rest: one row per channel the recipient has enabled, the row ids, the time.
 */
export interface NotificationDraft {
  /** The account told. */
  readonly recipientId: string;
  /** What it is about, as the context names it (`application`, `contract`): the stored row's subject. */
  readonly subject: { readonly kind: string; readonly id: string };
  /** Stable and upper case, unique across contexts (`APPLICATION_RECEIVED`). */
  readonly kind: string;
  readonly title: string;
  readonly body: string;
}

/**
 * What a context tells its users through the notifications read model, which knows the context only through
 * this: it consumes `topics` too and stores what `notificationsFor` makes of each event of `eventTypes`. A rule
 * is a pure function of one event, so each of these events must name its recipients.
 */
export interface NotificationRules {
  readonly topics: readonly string[];
  readonly eventTypes: readonly string[];
  /** The kinds `notificationsFor` makes, checked unique across contexts. */
  readonly kinds: readonly string[];
  notificationsFor(event: ProjectedEvent): readonly NotificationDraft[];
}

/**
 * Notification rules written against their topics' contract `E`. Sound for the reason `asContract` is: the codec
 * decoded each event with its own type's reader schema, and the read model passes only events of `eventTypes`.
 */
export const notificationRules = <E extends EventShape>(
  rules: Omit<NotificationRules, 'notificationsFor'> & {
    notificationsFor(event: ProjectedEvent<E>): readonly NotificationDraft[];
  },
): NotificationRules => ({
  ...rules,
  notificationsFor: (event) => rules.notificationsFor(event as unknown as ProjectedEvent<E>),
});

/** What a bounded context contributes to the read side's projections (`projections/<context>/index.ts`). */
export interface ProjectionContext {
  readonly name: string;
  readonly projections: readonly ProjectionEntry[];
  /** What its events tell its users, stored by the notifications read model (collected in `contexts.ts`). */
  readonly notifications?: NotificationRules;
}

/** A projection whose storage is the PostgreSQL read model `factory(version)` and nothing else. */
export const postgresBacked = (
  name: string,
  description: string,
  initialVersion: number,
  factory: (version: number) => PostgresReadModel,
): PostgresProjectionEntry => ({
  kind: 'postgres',
  name,
  description,
  initialVersion,
  topics: factory(initialVersion).topics,
  model: async (version) => factory(version),
});
