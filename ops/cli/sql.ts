import type { Knex } from 'knex';

/** Whether a table exists: the CLI reads databases where a process may not have created its tables yet. */
export async function tableExists(db: Knex, name: string): Promise<boolean> {
  const r = await db.raw('SELECT to_regclass(?) IS NOT NULL AS ok', [name]);
  return (r.rows[0] as { ok: boolean }).ok;
}
