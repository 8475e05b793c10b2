import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchDatabase } from './db.js';
import { exec } from './exec.js';

export const PGBENCH = process.env.PGBENCH ?? '/usr/bin/pgbench';

export interface PgbenchRun {
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
  /** `-D name=value` variables, e.g. which set of streams a run writes to. */
  readonly defines?: Readonly<Record<string, string>>;
  /**
   * `extended` (the default): parse, bind and execute every time, as node-postgres does with unnamed statements;
   * `prepared`: parsed once per connection, as the store's named statements are.
   */
  readonly protocol?: 'extended' | 'prepared';
}

export interface PgbenchResult {
  readonly transactions: number;
  readonly failed: number;
  /** Transactions per second, excluding connection set-up (pgbench's own figure). */
  readonly tps: number;
  readonly latencyAverageMs: number;
}

const number = (output: string, pattern: RegExp, what: string): number => {
  const match = pattern.exec(output);
  if (!match?.[1]) throw new Error(`pgbench printed no ${what}:\n${output.slice(-2000)}`);
  return Number(match[1]);
};

/**
 * Runs a custom pgbench script, by default with `-M extended` because node-postgres sends every parameterised
 * query without a name with the extended protocol (parse, bind, execute each time); `-n` because the script
 * does not use pgbench's own tables.
 */
export async function pgbench(database: BenchDatabase, script: string, run: PgbenchRun): Promise<PgbenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'll-bench-'));
  try {
    const file = join(dir, 'append.sql');
    await writeFile(file, script);
    const defines = Object.entries(run.defines ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]);
    const args = [
      ...['-h', database.host, '-p', database.port, '-U', database.user],
      ...[
        '-n',
        '-M',
        run.protocol ?? 'extended',
        '-c',
        String(run.clients),
        '-j',
        String(run.threads),
        '-T',
        String(run.seconds),
      ],
      ...defines,
      ...['-f', file, database.name],
    ];
    const result = await exec(PGBENCH, args, { timeoutMs: (run.seconds + 30) * 1000 });
    const output = `${result.stdout}\n${result.stderr}`;
    if (result.code !== 0) throw new Error(`pgbench exited with ${result.code}:\n${output.slice(-2000)}`);
    return {
      transactions: number(output, /number of transactions actually processed: (\d+)/, 'transaction count'),
      failed: /number of failed transactions: (\d+)/.test(output)
        ? number(output, /number of failed transactions: (\d+)/, 'failure count')
        : 0,
      tps: number(output, /tps = ([\d.]+) \(without initial connection time\)/, 'tps'),
      latencyAverageMs: number(output, /latency average = ([\d.]+) ms/, 'latency'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function pgbenchVersion(): Promise<string> {
  const result = await exec(PGBENCH, ['--version'], { timeoutMs: 10_000 }).catch(() => null);
  // "pgbench (PostgreSQL) 15.20 (Debian ...)": the version number is what a reader compares.
  return result?.stdout.match(/\d+(\.\d+)+/)?.[0] ?? 'not found';
}
