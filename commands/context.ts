import type { Knex } from 'knex';
import type { Config } from '../runtime/config.js';
import type { Migrations } from '../runtime/migrations.js';
import type { CommandExecutor } from './executor.js';

/** What the write side hands each context's handlers: the executor and the write database. */
export interface WriteEnv {
  readonly executor: CommandExecutor;
  readonly db: Knex;
  readonly config: Config;
}

/**
 * What a bounded context contributes to the write side (`commands/<context>/index.ts`): its command handlers,
 * and the migrations of any write-side table of its own (beside the event store, like identity's credentials).
 */
export interface WriteContext<Name extends string = string, Handlers = unknown> {
  readonly name: Name;
  readonly migrations?: Migrations;
  readonly handlers: (env: WriteEnv) => Handlers;
}

/** The handlers of a list of contexts, by context name: `{ ordering: OrderingCommands, … }`. */
export type HandlersOf<Contexts extends readonly WriteContext[]> = {
  readonly [C in Contexts[number] as C['name']]: ReturnType<C['handlers']>;
};
