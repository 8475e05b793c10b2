import { Client as SearchClient } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { Knex } from 'knex';
import { createRegistryClient } from '../schemas/registry.js';
import type { Config } from './config.js';

export type DependencyName = 'postgres' | 'redis' | 'kafka' | 'schemaRegistry' | 'search';

export interface DependencyStatus {
  readonly status: 'up' | 'down';
  readonly latencyMs: number;
  readonly error?: string;
}

export type HealthReport = Record<DependencyName, DependencyStatus>;

const CHECK_TIMEOUT_MS = 2500;

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);

/**
 * Probes every dependency in parallel, each bounded by a timeout, so a dead broker is reported in seconds and
 * never blocks the process. Clients are made for probing only: no retries, short connection timeouts.
 */
export function createHealthProbe(config: Config, db: Knex) {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1500,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => undefined); // reported by the probe, not thrown at the process
  const kafka = new Kafka({
    clientId: 'ledgerline-health',
    brokers: [...config.kafkaBrokers],
    connectionTimeout: 1500,
    requestTimeout: 2000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const registry = createRegistryClient(config.registryUrl);
  const search = new SearchClient({ node: config.searchUrl, requestTimeout: 2000, maxRetries: 0 });

  const checks: Record<DependencyName, () => Promise<unknown>> = {
    postgres: () => db.raw('SELECT 1'),
    redis: async () => {
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
      return redis.ping();
    },
    kafka: async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.describeCluster();
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    schemaRegistry: () => registry.ping(),
    // The Maven Central build of Elasticsearch answers 405 to `GET /` (no ping): cluster health is the probe.
    search: () => search.cluster.health({ timeout: '2s' }),
  };

  const probe = async (name: DependencyName): Promise<DependencyStatus> => {
    const started = performance.now();
    try {
      await withTimeout(checks[name](), CHECK_TIMEOUT_MS);
      return { status: 'up', latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      return { status: 'down', latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
    }
  };

  return {
    async check(): Promise<HealthReport> {
      const names = Object.keys(checks) as DependencyName[];
      const results = await Promise.all(names.map(probe));
      return Object.fromEntries(names.map((n, i) => [n, results[i]])) as HealthReport;
    },
    async close(): Promise<void> {
      redis.disconnect();
      await search.close();
    },
  };
}
