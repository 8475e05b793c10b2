import { Redis } from 'ioredis';
import { unlinkMatching } from '../../projections/ordering/order-status-redis.js';
import { type Config, loadConfig } from '../../runtime/config.js';
import { eventSchemas, subjectOf } from '../../schemas/catalog.js';

// Configuration and clean-up for suites that start real components (the gateway, the codec, projections): each
// gets its own topic prefix, which is also its Redis key prefix, its Elasticsearch index prefix and its
// schema-registry subject prefix, so that one prefix says everything a suite must remove afterwards.

/** The process configuration on a bench database and prefix; anything else from the environment as usual. */
export function benchConfig(databaseUrl: string, topicPrefix: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    DATABASE_URL: databaseUrl,
    READ_DATABASE_URL: databaseUrl,
    TOPIC_PREFIX: topicPrefix,
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...overrides,
  });
}

/** Removes every Redis key under the prefix (SCAN + UNLINK). Best-effort: a leftover key only wastes memory. */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  if (!/^bench[a-z0-9]+\.$/.test(prefix)) throw new Error(`refusing to delete Redis keys under "${prefix}"`);
  const redis = new Redis(loadConfig().redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await redis.connect();
    return await unlinkMatching(redis, `${prefix}*`);
  } catch {
    return 0;
  } finally {
    redis.disconnect();
  }
}

/**
 * Deletes the schema-registry subjects the codec registered under the prefix (soft, then permanently, as the
 * Confluent API requires). The schemas' content is shared by id with other subjects and stays; best-effort.
 */
export async function deleteSubjects(prefix: string): Promise<number> {
  if (!/^bench[a-z0-9]+\.$/.test(prefix)) throw new Error(`refusing to delete subjects under "${prefix}"`);
  const base = loadConfig().registryUrl.replace(/\/$/, '');
  const subjects = [...eventSchemas().values()].map((s) => subjectOf(prefix + s.topic, s.fullName));
  let deleted = 0;
  for (const subject of subjects) {
    const url = `${base}/subjects/${encodeURIComponent(subject)}`;
    try {
      const soft = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
      if (!soft.ok) continue;
      await fetch(`${url}?permanent=true`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
      deleted++;
    } catch {
      // the registry is unreachable: nothing more to do
    }
  }
  return deleted;
}
