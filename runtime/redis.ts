import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './log.js';

const QUIET_MS = 30_000;

/**
 * An ioredis client whose connection errors go to the log, once per outage and then at most every 30 s, instead
 * of ioredis printing "Unhandled error event" to stderr on every reconnect attempt. Requests still fail (and are
 * answered 503 or retried by their caller); this is only about telling the operator.
 */
export function createRedis(url: string, logger: Logger, role: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, options);
  let down = false;
  let lastReport = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (!down || now - lastReport >= QUIET_MS) {
      logger.warn({ err, redis: role }, `redis (${role}) unreachable; reconnecting`);
      lastReport = now;
    }
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ redis: role }, `redis (${role}) reachable again`);
    down = false;
  });
  return redis;
}
