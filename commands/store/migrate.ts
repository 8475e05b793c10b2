import type { Knex } from 'knex';
import * as eventStore from './migrations/20261125_0001_event_store.js';
import * as byStreamType from './migrations/20261125_0002_events_by_stream_type.js';
import * as credentials from './migrations/20261125_0003_identity_credentials.js';

// Migrations are imported, not discovered on disk, so they load the same under tsx, vitest and a bundle.
const migrations: Record<string, Knex.Migration> = {
  '20261125_0001_event_store': eventStore,
  '20261125_0002_events_by_stream_type': byStreamType,
  '20261125_0003_identity_credentials': credentials,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

/** Brings the write-side schema up to date; safe to call from every process at start-up. */
export async function migrateEventStore(db: Knex): Promise<void> {
  await db.migrate.latest({ migrationSource: source, tableName: 'knex_migrations_event_store' });
}
