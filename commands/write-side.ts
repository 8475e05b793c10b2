import type { Knex } from 'knex';
import type { Config } from '../runtime/config.js';
import { connect, ensureDatabase } from '../runtime/postgres.js';
import { EventCodec } from '../schemas/codec.js';
import { createRegistryClient } from '../schemas/registry.js';
import { type CommandHandlers, writeContexts } from './contexts.js';
import { CommandExecutor } from './executor.js';
import { migrateWriteSide } from './migrate.js';
import { EventStore } from './store/event-store.js';

/** What every process taking commands has, whatever the contexts. */
export interface WriteRuntime {
  readonly db: Knex;
  readonly store: EventStore;
  readonly codec: EventCodec;
  readonly executor: CommandExecutor;
  close(): Promise<void>;
}

/** The runtime plus each context's command handlers under its name: `write.ordering.placeOrder(…)`. */
export type WriteSide = WriteRuntime & CommandHandlers;

const RESERVED: ReadonlySet<string> = new Set(['db', 'store', 'codec', 'executor', 'close']);

/** Migrates the store and registers the schemas (both idempotent), then wires every context's handlers. */
export async function openWriteSide(config: Config, options: { poolMax?: number } = {}): Promise<WriteSide> {
  await ensureDatabase(config.databaseUrl);
  const db = connect(config.databaseUrl, { max: options.poolMax ?? 10, applicationName: 'ledgerline-commands' });
  try {
    await migrateWriteSide(db);
    const store = new EventStore(db, { topicPrefix: config.topicPrefix, outboxShards: config.outboxShards });
    const codec = new EventCodec(createRegistryClient(config.registryUrl), db, config.topicPrefix);
    await codec.registerAll();
    const executor = new CommandExecutor(store, codec);
    const handlers: Record<string, unknown> = {};
    for (const context of writeContexts) {
      if (RESERVED.has(context.name)) throw new Error(`a context may not be named ${context.name}`);
      handlers[context.name] = context.handlers({ executor, db, config });
    }
    const runtime: WriteRuntime = { db, store, codec, executor, close: () => db.destroy() };
    return { ...(handlers as CommandHandlers), ...runtime };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
