import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { migrateWriteSide } from '../../commands/migrate.js';
import { loadConfig } from '../../runtime/config.js';
import { connect } from '../../runtime/postgres.js';

/** Short and unique per measurement, so databases and topics of concurrent runs (or tests) never collide. */
export const uniqueSuffix = (): string => `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** Connection parameters for command-line clients (pgbench). */
  readonly host: string;
  readonly port: string;
  readonly user: string;
  /** Opens a knex pool on the database; the caller destroys it. */
  pool(max: number, applicationName?: string): Knex;
  /** Drops the database, disconnecting anything still attached. */
  drop(): Promise<void>;
}

const adminUrl = (): URL => {
  const url = new URL(loadConfig().databaseUrl);
  url.pathname = '/postgres';
  return url;
};

async function onAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl().toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database `ll_bench_<label>_<suffix>` with the event store's schema, migrated like production. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `ll_bench_${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${uniqueSuffix()}`;
  await onAdmin(`CREATE DATABASE "${name}"`);
  const url = adminUrl();
  url.pathname = `/${name}`;
  const database: BenchDatabase = {
    name,
    url: url.toString(),
    host: url.hostname,
    port: url.port || '5432',
    user: decodeURIComponent(url.username) || 'postgres',
    pool: (max, applicationName = 'ledgerline-bench') => connect(url.toString(), { max, applicationName }),
    drop: () => onAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
  const db = database.pool(1);
  try {
    await migrateWriteSide(db);
  } catch (error) {
    await db.destroy();
    await database.drop();
    throw error;
  }
  await db.destroy();
  return database;
}

/**
 * Flushes dirty pages before a measurement so that neither side pays for the other's checkpoint.
 * Needs superuser or pg_checkpoint; without it the measurement is only a little noisier.
 */
export async function checkpoint(): Promise<void> {
  await onAdmin('CHECKPOINT').catch(() => undefined);
}

export async function serverVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl().toString() });
  await client.connect();
  try {
    const r = await client.query<{ server_version: string }>('SHOW server_version');
    // "15.20 (Debian 15.20-0+deb12u1)": keep the number, like the other versions.
    return r.rows[0]?.server_version.split(' ')[0] ?? 'unknown';
  } finally {
    await client.end();
  }
}
