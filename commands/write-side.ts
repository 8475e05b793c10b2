import type { Knex } from 'knex';
import type { Config } from '../ops/runtime/config.js';
import { EventCodec } from '../schemas/codec.js';
import { createRegistryClient } from '../schemas/registry.js';
import { CommandExecutor } from './executor.js';
import { IdentityCommands } from './identity/handlers.js';
import { OrderingCommands } from './ordering/handlers.js';
import { connect, ensureDatabase } from './store/database.js';
import { EventStore } from './store/event-store.js';
import { migrateEventStore } from './store/migrate.js';

/** Everything a process needs to take commands: its own pool, the store, the codec, the handlers. */
export interface WriteSide {
  readonly db: Knex;
  readonly store: EventStore;
  readonly codec: EventCodec;
  readonly executor: CommandExecutor;
  readonly ordering: OrderingCommands;
  readonly identity: IdentityCommands;
  close(): Promise<void>;
}

/** Migrates the store and registers the schemas (both idempotent), then wires the handlers. */
export async function openWriteSide(config: Config, options: { poolMax?: number } = {}): Promise<WriteSide> {
  await ensureDatabase(config.databaseUrl);
  const db = connect(config.databaseUrl, { max: options.poolMax ?? 10, applicationName: 'ledgerline-commands' });
  try {
    await migrateEventStore(db);
    const store = new EventStore(db, { topicPrefix: config.topicPrefix, outboxShards: config.outboxShards });
    const codec = new EventCodec(createRegistryClient(config.registryUrl), db, config.topicPrefix);
    await codec.registerAll();
    const executor = new CommandExecutor(store, codec);
    return {
      db,
      store,
      codec,
      executor,
      ordering: new OrderingCommands(executor),
      identity: new IdentityCommands(executor, db),
      close: () => db.destroy(),
    };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
