import type { Client as SearchClient } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';
import type { Config } from '../runtime/config.js';
import type { Projection } from '../runtime/consumer/types.js';
import type { PostgresReadModel } from './runtime/postgres.js';

/** What a projection's factory may use: the configuration and the process's connections, opened on demand. */
export interface ProjectionEnv {
  readonly config: Config;
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

/** A projection with storage of its own kind (Redis): the projector runs it; it is rebuilt by a new version. */
export interface CustomProjectionEntry extends ProjectionEntryBase {
  readonly kind: 'custom';
  make(version: number, env: ProjectionEnv): Promise<Projection>;
}

export type ProjectionEntry = PostgresProjectionEntry | CustomProjectionEntry;

/** What a bounded context contributes to the read side's projections (`projections/<context>/index.ts`). */
export interface ProjectionContext {
  readonly name: string;
  readonly projections: readonly ProjectionEntry[];
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
