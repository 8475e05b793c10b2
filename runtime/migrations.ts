import type { Knex } from 'knex';

/** Migrations by name; names sort in the order they run (`YYYYMMDD_NNNN_what`). */
export type Migrations = Readonly<Record<string, Knex.Migration>>;

/**
 * Brings a database up to date with `migrations`, recorded in `tableName`. Migrations are passed in, not
 * discovered on disk, so they load the same under tsx, vitest and a bundle, and each context brings its own.
 * Safe to call from every process at start-up: knex serialises runs with its lock table.
 */
export async function runMigrations(db: Knex, tableName: string, migrations: Migrations): Promise<void> {
  const source: Knex.MigrationSource<string> = {
    getMigrations: async () => Object.keys(migrations).sort(),
    getMigrationName: (name) => name,
    getMigration: async (name) => migrations[name]!,
  };
  await db.migrate.latest({ migrationSource: source, tableName });
}

/** Joins migration sets, refusing a name that two of them use (one would silently shadow the other). */
export function mergeMigrations(...sets: readonly Migrations[]): Migrations {
  const merged: Record<string, Knex.Migration> = {};
  for (const set of sets) {
    for (const [name, migration] of Object.entries(set)) {
      if (merged[name]) throw new Error(`two migrations are named ${name}`);
      merged[name] = migration;
    }
  }
  return merged;
}
