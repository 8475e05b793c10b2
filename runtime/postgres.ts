import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// BIGINT (positions) arrive as strings by default; positions stay far below 2^53, so numbers are safe.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface PoolOptions {
  readonly min?: number;
  readonly max?: number;
  readonly applicationName?: string;
}

/** A knex pool on PostgreSQL. Commands, queries and projections each get their own. */
export function connect(url: string, options: PoolOptions = {}): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: url, application_name: options.applicationName ?? 'ledgerline' },
    pool: { min: options.min ?? 0, max: options.max ?? 10 },
    acquireConnectionTimeout: 10_000,
    // knex prints connection failures with console.log; callers get the same error and report it themselves.
    log: { warn: () => undefined, error: () => undefined, debug: () => undefined, deprecate: () => undefined },
  });
}

/** Creates the database named in `url` if it does not exist (connecting to `postgres` to do it). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[a-z0-9_]+$/i.test(name)) throw new Error(`refusing to create database with unusual name "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently by another process
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * Runs idempotent DDL (CREATE ... IF NOT EXISTS) under an advisory lock named `lockName`: several processes start
 * at once, and CREATE ... IF NOT EXISTS alone races on the catalog.
 */
export async function createOnce(db: Knex, lockName: string, ddl: string): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [lockName]);
    await trx.raw(ddl);
  });
}

/** A node-postgres client as knex's pool holds it: named prepared statements stay parsed on it between uses. */
export type RawClient = pg.ClientBase;

/**
 * Runs `work` on a node-postgres client borrowed from knex's pool, for hot paths where knex's query building
 * costs more than the query (and to use named prepared statements, which knex cannot send). Sharing knex's pool
 * keeps one pool per process; the client goes back to it afterwards (a broken one is discarded by knex, which
 * marks it on its 'error' and 'end' events). `work` must leave no transaction open.
 */
export async function withRawClient<T>(db: Knex, work: (client: RawClient) => Promise<T>): Promise<T> {
  const client = (await db.client.acquireConnection()) as RawClient;
  try {
    return await work(client);
  } finally {
    await db.client.releaseConnection(client);
  }
}
