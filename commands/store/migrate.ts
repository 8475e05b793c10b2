import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';

const directory = fileURLToPath(new URL('./migrations', import.meta.url));

/** Brings the write-side schema up to date; safe to call from every process at start-up. */
export async function migrateEventStore(db: Knex): Promise<void> {
  await db.migrate.latest({
    directory,
    tableName: 'knex_migrations_event_store',
    loadExtensions: ['.ts', '.js'],
  });
}
