// The gateway process: `tsx gateway/main.ts`.

import { Registry } from 'prom-client';
import { openWriteSide } from '../commands/write-side.js';
import { openReadSide } from '../queries/read-side.js';
import { loadConfig } from '../runtime/config.js';
import { createHealthProbe } from '../runtime/health.js';
import { createLogger } from '../runtime/log.js';
import { isEntryPoint, runUntilSignal } from '../runtime/process.js';
import { createRedis } from '../runtime/redis.js';
import { buildGateway } from './app.js';
import { LiveHub } from './live/hub.js';
import { tokenServiceFor } from './tokens.js';

export async function startGateway(config = loadConfig(), metrics = new Registry()) {
  const logger = createLogger('gateway', config.logLevel);
  const write = await openWriteSide(config);
  const probe = createHealthProbe(config, write.db);
  const read = await openReadSide(config);
  const redis = createRedis(config.redisUrl, logger, 'gateway', { maxRetriesPerRequest: 2 });
  // XREAD BLOCK holds its connection: the live hub gets one of its own.
  const liveReader = createRedis(config.redisUrl, logger, 'live reader');
  const hub = new LiveHub(liveReader, redis, logger);
  hub.start();
  const tokens = tokenServiceFor(redis, config);
  const app = await buildGateway({
    config,
    logger,
    commands: write,
    queries: read,
    tokens,
    redis,
    hub,
    rateLimit: {
      max: config.rateLimitMax,
      ipMax: config.rateLimitIpMax,
      windowMs: config.rateLimitWindowMs,
      keyPrefix: config.topicPrefix,
    },
    health: { check: probe.check, metrics },
  });
  await app.listen({ host: config.httpHost, port: config.httpPort });
  return {
    app,
    write,
    read,
    tokens,
    async stop() {
      await app.close();
      await hub.stop();
      liveReader.disconnect();
      redis.disconnect();
      await probe.close();
      await read.close();
      await write.close();
    },
  };
}

if (isEntryPoint(import.meta.url)) await runUntilSignal((metrics) => startGateway(loadConfig(), metrics));
