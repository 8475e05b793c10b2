import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLocalBatch, type RateLimiter, type RateLimitOptions, rateLimiter } from '../../gateway/rate-limit.js';
import { TokenService } from '../../gateway/tokens.js';
import { loadConfig } from '../../runtime/config.js';
import { uniqueSuffix } from '../support/env.js';

// Rate limits without a Redis round trip per request (issue 14), against the real Redis: gateways count requests
// far from a limit locally and send them in batches. Exact with one gateway; with N gateways sharing Redis, at
// most N × batch over a limit (gateway/rate-limit-counts.ts). Each test has its own key prefix.

const config = loadConfig();
let redis: Redis;
let tokens: TokenService;

beforeAll(() => {
  redis = new Redis(config.redisUrl, { lazyConnect: false });
  tokens = new TokenService(redis, { secret: config.jwtSecret, accessTtlSeconds: 900, refreshTtlSeconds: 3600 });
});

afterAll(async () => {
  await redis.quit();
});

interface Gateway {
  readonly app: FastifyInstance;
  readonly limiter: RateLimiter;
  /** Redis scripts this gateway's limiter ran (calls pass through to the real Redis). */
  scripts(): number;
}

/** A Fastify app with the gateway's rate limiter in front of one route, on its own Redis connection. */
async function gateway(options: RateLimitOptions): Promise<Gateway> {
  const connection = new Redis(config.redisUrl);
  let scripts = 0;
  const evaluate = connection.eval.bind(connection);
  connection.eval = ((...args: Parameters<Redis['eval']>) => {
    scripts++;
    return evaluate(...args);
  }) as Redis['eval'];
  const limiter = rateLimiter(connection, tokens, options);
  const app = Fastify({ logger: false });
  app.addHook('onRequest', limiter.hook);
  app.addHook('onClose', async () => {
    await limiter.close();
    await connection.quit();
  });
  app.get('/limited', async () => ({ ok: true }));
  await app.ready();
  return { app, limiter, scripts: () => scripts };
}

/** `count` requests of one account, `concurrency` at a time, each sent to the next gateway in turn. */
async function burst(gateways: readonly Gateway[], token: string, count: number, concurrency: number) {
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const response = await gateways[n % gateways.length]!.app.inject({
        method: 'GET',
        url: '/limited',
        headers: { authorization: `Bearer ${token}` },
      });
      statuses.push(response.statusCode);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok: statuses.filter((s) => s === 200).length, limited: statuses.filter((s) => s === 429).length };
}

const options = (overrides: Partial<RateLimitOptions> = {}): RateLimitOptions => ({
  max: 200,
  ipMax: 10_000_000,
  // Fixed windows aligned to the clock: an hour makes a burst straddling a window boundary all but impossible.
  windowMs: 3_600_000,
  keyPrefix: `t${uniqueSuffix()}.`,
  ...overrides,
});

const accountToken = () => tokens.accessToken({ accountId: `acc-${uniqueSuffix()}`, role: 'customer' });

async function counted(prefix: string, accountId: string, windowMs: number): Promise<number> {
  const window = Math.floor(Date.now() / windowMs);
  return Number((await redis.get(`${prefix}ratelimit:account:${accountId}:${window}`)) ?? 0);
}

describe('rate limits counted locally far from the limit', () => {
  it('one gateway is exact under a concurrent burst', async () => {
    const o = options();
    expect(defaultLocalBatch(o.max)).toBe(10);
    const one = await gateway(o);
    try {
      expect(await burst([one], accountToken(), 300, 16)).toEqual({ ok: 200, limited: 100 });
    } finally {
      await one.app.close();
    }
  });

  it('asks Redis a fraction of the time: half a batch per script far from the limit, every time close to it', async () => {
    const o = options();
    const one = await gateway(o);
    try {
      // One at a time, so the count of scripts does not depend on how fast Redis answers: 195 requests in
      // scripts of 5, the last few asking one by one, then one refusal from Redis and 99 refused locally.
      expect(await burst([one], accountToken(), 300, 1)).toEqual({ ok: 200, limited: 100 });
      // Every request asked Redis before (300 scripts).
      expect(one.scripts()).toBeLessThanOrEqual(60);
    } finally {
      await one.app.close();
    }
  });

  it('two gateways sharing Redis stay within 2 × batch over the limit, and never refuse below it', async () => {
    const o = options();
    const batch = defaultLocalBatch(o.max);
    const gateways = [await gateway(o), await gateway(o)];
    try {
      for (let round = 0; round < 3; round++) {
        const result = await burst(gateways, accountToken(), 500, 16);
        expect(result.ok).toBeGreaterThanOrEqual(o.max);
        expect(result.ok).toBeLessThanOrEqual(o.max + gateways.length * batch);
        expect(result.ok + result.limited).toBe(500);
      }
    } finally {
      for (const g of gateways) await g.app.close();
    }
  });

  it('requests let through locally reach Redis within the flush interval: another gateway counts them', async () => {
    const o = options({ flushMs: 50 });
    const [first, second] = [await gateway(o), await gateway(o)];
    try {
      const token = accountToken();
      expect(await burst([first!], token, 150, 1)).toEqual({ ok: 150, limited: 0 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The first gateway is idle: the second sees its 150 and lets exactly the remaining 50 through.
      expect(await burst([second!], token, 80, 4)).toEqual({ ok: 50, limited: 30 });
    } finally {
      await first!.app.close();
      await second!.app.close();
    }
  });

  it('a small limit asks Redis for every request: exact under a concurrent burst, across gateways too', async () => {
    const o = options({ max: 5 });
    expect(defaultLocalBatch(o.max)).toBe(0);
    const gateways = [await gateway(o), await gateway(o)];
    try {
      expect(await burst(gateways, accountToken(), 15, 15)).toEqual({ ok: 5, limited: 10 });
    } finally {
      for (const g of gateways) await g.app.close();
    }
  });

  it('closing the gateway sends what it counted locally', async () => {
    const o = options({ max: 1000, flushMs: 60_000 });
    const one = await gateway(o);
    const accountId = `acc-${uniqueSuffix()}`;
    const token = tokens.accessToken({ accountId, role: 'customer' });
    await burst([one], token, 3, 1);
    expect(await counted(o.keyPrefix!, accountId, o.windowMs)).toBe(0);
    await one.app.close();
    expect(await counted(o.keyPrefix!, accountId, o.windowMs)).toBe(3);
  });

  it('answers 429 with Retry-After and the scope of the limit', async () => {
    const o = options({ max: 2 });
    const one = await gateway(o);
    try {
      const token = accountToken();
      await burst([one], token, 2, 1);
      const response = await one.app.inject({
        method: 'GET',
        url: '/limited',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.statusCode).toBe(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect(response.json()).toMatchObject({
        error: { code: 'RATE_LIMITED', details: { limit: 2, scope: 'account' } },
      });
    } finally {
      await one.app.close();
    }
  });
});
