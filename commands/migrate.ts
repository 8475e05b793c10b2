import type { Knex } from 'knex';
import { mergeMigrations, runMigrations } from '../runtime/migrations.js';
import type { WriteContext } from './context.js';
import { writeContexts } from './contexts.js';
import { eventStoreMigrations } from './store/migrate.js';

/** Brings the write database up to date: the event store, then every context's own tables. */
export async function migrateWriteSide(db: Knex): Promise<void> {
  const contexts = writeContexts.map((c: WriteContext) => c.migrations ?? {});
  // One table of applied names, as before contexts brought their own: existing databases see nothing new.
  await runMigrations(db, 'knex_migrations_event_store', mergeMigrations(eventStoreMigrations, ...contexts));
}
