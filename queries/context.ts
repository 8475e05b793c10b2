import type { Client as SearchClient } from '@elastic/elasticsearch';
import type { Knex } from 'knex';
import type { Config } from '../runtime/config.js';
import type { PositionWaiter } from './read-your-writes.js';

/** The query side's connections, shared by every context's queries. */
export interface ReadEnv {
  readonly config: Config;
  /** The read models' database: the query side's own pool. */
  readonly readDb: Knex;
  /** A small pool on the event store, for `?after=<position>` and the saga tables (write-side processes). */
  readonly storeDb: Knex;
  readonly search: SearchClient;
  readonly waiter: PositionWaiter;
}

/** What a bounded context contributes to the query side (`queries/<context>/index.ts`). */
export interface QueryContext<Name extends string = string, Api = unknown> {
  readonly name: Name;
  /** Its query functions; may create its read models' tables so queries answer "not found" before the projector runs. */
  readonly open: (env: ReadEnv) => Promise<Api>;
}

/** Each context's queries by name: `{ ordering: …, identity: … }`. */
export type QueriesOf<Contexts extends readonly QueryContext[]> = {
  readonly [C in Contexts[number] as C['name']]: Awaited<ReturnType<C['open']>>;
};
