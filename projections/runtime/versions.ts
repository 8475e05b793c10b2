import type { Knex } from 'knex';

/**
 * Which version of each projection the query side reads. A rebuild builds version N+1 beside N, then switches
 * this row in one statement: readers move atomically, and the old version can be dropped afterwards.
 */
export async function activeVersion(db: Knex, name: string, fallback: number): Promise<number> {
  const row = await db('projection_versions').where({ name }).first('active_version');
  return row ? (row.active_version as number) : fallback;
}

export async function activateVersion(db: Knex | Knex.Transaction, name: string, version: number): Promise<void> {
  await db('projection_versions')
    .insert({ name, active_version: version, switched_at: db.fn.now() })
    .onConflict('name')
    .merge(['active_version', 'switched_at']);
}

/** Reads the active version at most once per `ttlMs`, so queries do not pay a lookup each. */
export function cachedActiveVersion(db: Knex, name: string, fallback: number, ttlMs = 1000) {
  let cached: { version: number; at: number } | null = null;
  return async (): Promise<number> => {
    if (cached && Date.now() - cached.at < ttlMs) return cached.version;
    cached = { version: await activeVersion(db, name, fallback), at: Date.now() };
    return cached.version;
  };
}
