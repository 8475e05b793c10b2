// The gateway process: `tsx gateway/main.ts`.

import { Registry } from 'prom-client';
import { openWriteSide } from '../commands/write-side.js';
import { loadConfig } from '../ops/runtime/config.js';
import { createHealthProbe } from '../ops/runtime/health.js';
import { createLogger } from '../ops/runtime/log.js';
import { isEntryPoint, runUntilSignal } from '../ops/runtime/process.js';
import { createRedis } from '../ops/runtime/redis.js';
import { openReadSide } from '../queries/read-side.js';
import { buildGateway } from './app.js';
import { TokenService } from './identity/tokens.js';
import { LiveHub } from './live/hub.js';

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
  const tokens = new TokenService(redis, {
    secret: config.jwtSecret,
    accessTtlSeconds: config.accessTokenTtlSeconds,
    refreshTtlSeconds: config.refreshTokenTtlSeconds,
    keyPrefix: config.topicPrefix,
  });
  const app = await buildGateway({
    logger,
    ordering: write.ordering,
    identity: write.identity,
    tokens,
    redis,
    rateLimit: {
      max: config.rateLimitMax,
      ipMax: config.rateLimitIpMax,
      windowMs: config.rateLimitWindowMs,
      keyPrefix: config.topicPrefix,
    },
    health: { check: probe.check, metrics },
    queries: read.ordering,
    notifications: read.notifications,
    webhookSecret: config.stripeWebhookSecret,
    paymentProvider: config.paymentProvider,
    live: {
      hub,
      keyPrefix: config.topicPrefix,
      orderParties: read.ordering.orderParties,
      restaurantOwner: read.ordering.restaurantOwner,
      // Longer than a query's wait: a live stream is long-lived anyway, and this only delays its start.
      caughtUpWith: async (position) =>
        read.ordering.waiter.waitFor(position, await read.ordering.ordersProjection(), { timeoutMs: 15_000 }),
    },
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
