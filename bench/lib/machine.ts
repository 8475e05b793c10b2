import { readFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { serverVersion } from './db.js';
import { exec } from './exec.js';
import { kafkaToolsVersion } from './kafka.js';
import { pgbenchVersion } from './pgbench.js';

/** What the numbers were measured on: without it a result file cannot be compared with another. */
export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly versions: Readonly<Record<string, string>>;
}

async function packageVersion(name: string): Promise<string> {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    const parsed = JSON.parse(await readFile(url, 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

async function javaVersion(): Promise<string> {
  const result = await exec('java', ['-version'], { timeoutMs: 20_000 }).catch(() => null);
  // `openjdk version "17.0.15" 2025-04-15` becomes `openjdk 17.0.15`.
  const first = result?.stderr.split('\n')[0] ?? '';
  const match = /^(\S+) version "([^"]+)"/.exec(first);
  return match ? `${match[1]} ${match[2]}` : first.trim() || 'not found';
}

export async function describeMachine(): Promise<Machine> {
  const [postgres, pgbench, kafka, java, kafkajs, knex, pg] = await Promise.all([
    serverVersion().catch(() => 'unreachable'),
    pgbenchVersion(),
    kafkaToolsVersion(),
    javaVersion(),
    packageVersion('kafkajs'),
    packageVersion('knex'),
    packageVersion('pg'),
  ]);
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    versions: { node: process.version, postgres, pgbench, kafka, java, kafkajs, knex, pg },
  };
}
