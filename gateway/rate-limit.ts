import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { bearerClaims, hasBearer } from './auth.js';
import { body } from './errors.js';
import { type Increment, LocalCounts } from './rate-limit-counts.js';
import type { TokenService } from './tokens.js';

export interface RateLimitOptions {
  /** Per account. */
  readonly max: number;
  /** Per client IP. */
  readonly ipMax: number;
  readonly windowMs: number;
  readonly keyPrefix?: string;
  /**
   * Requests a gateway may let through per counter before Redis has seen them (see rate-limit-counts.ts: with N
   * gateways, at most N × this over a limit; exact with one). Default: 5% of the limit, at most 50; 0 asks Redis
   * on every request.
   */
  readonly localBatch?: number;
  /** How often the counts let through locally are sent to Redis, so other gateways see them (default 100 ms). */
  readonly flushMs?: number;
}

const MAX_LOCAL_BATCH = 50;
const LOCAL_SHARE = 0.05;
const FLUSH_MS = 100;
/** Counters per Redis call when flushing: a burst of many client IPs is sent in several scripts, not one huge one. */
const FLUSH_CHUNK = 500;

/** The default number of requests let through locally per counter, for a limit. */
export const defaultLocalBatch = (limit: number): number => Math.min(MAX_LOCAL_BATCH, Math.floor(limit * LOCAL_SHARE));

// Fixed windows counted in Redis, so every gateway process shares the count: INCRBY each key by its increment
// (a batch of requests let through locally, or one request asking), the expiry set by whoever creates the key.
const COUNT = `
local counts = {}
for i, key in ipairs(KEYS) do
  local by = tonumber(ARGV[i + 1])
  local n = redis.call('INCRBY', key, by)
  if n == by then redis.call('PEXPIRE', key, ARGV[1]) end
  counts[i] = n
end
return counts
`;

export interface RateLimiter {
  /** The onRequest hook: 429 RATE_LIMITED with Retry-After beyond a limit. */
  readonly hook: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Sends what was counted locally and stops the flush timer (the gateway's onClose). */
  close(): Promise<void>;
}

/**
 * Rate limits per client IP and per account (when the request carries a valid token), in fixed windows shared
 * by every gateway through Redis, without a Redis round trip per request while a limit is not close: requests
 * far from a limit are counted here and sent to Redis in batches (LocalCounts says when, and how accurate it is).
 * An unreachable Redis lets requests through (logged): rate limiting protects the service, it must not take
 * every route down with it.
 */
export function rateLimiter(redis: Redis, tokens: TokenService, options: RateLimitOptions): RateLimiter {
  const prefix = `${options.keyPrefix ?? ''}ratelimit:`;
  const counts = new LocalCounts();
  const batchOf = (limit: number) => options.localBatch ?? defaultLocalBatch(limit);
  const flushMs = options.flushMs ?? FLUSH_MS;
  let timer: NodeJS.Timeout | null = null;
  let lastWindow = -1;
  let flushing: Promise<void> = Promise.resolve();

  const send = async (increments: readonly Increment[]): Promise<number[]> =>
    (await redis.eval(
      COUNT,
      increments.length,
      ...increments.map((i) => i.key),
      String(options.windowMs),
      ...increments.map((i) => String(i.by)),
    )) as number[];

  const flush = async (): Promise<void> => {
    const pending = counts.takePending();
    for (let i = 0; i < pending.length; i += FLUSH_CHUNK) {
      const chunk = pending.slice(i, i + FLUSH_CHUNK);
      const answers = await send(chunk).catch(() => null);
      chunk.forEach((increment, j) => {
        counts.settle(increment, answers?.[j] ?? null);
      });
    }
  };

  const scheduleFlush = (): void => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      flushing = flushing.then(flush);
    }, flushMs);
    // A pending count must not keep a process alive that has nothing else to do.
    timer.unref();
  };

  const refuse = (reply: FastifyReply, now: number, window: number, limit: number, scope: 'ip' | 'account') => {
    const retryAfter = Math.max(1, Math.ceil(((window + 1) * options.windowMs - now) / 1000));
    reply
      .status(429)
      .header('retry-after', String(retryAfter))
      .send(
        body('RATE_LIMITED', `too many requests; retry in ${retryAfter} s`, {
          limit,
          windowMs: options.windowMs,
          scope,
        }),
      );
  };

  const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const now = Date.now();
    const window = Math.floor(now / options.windowMs);
    if (window !== lastWindow) {
      counts.forgetBefore(window);
      lastWindow = window;
    }
    const keys = [`${prefix}ip:${request.ip}:${window}`];
    const limits = [options.ipMax];
    const scopes: ('ip' | 'account')[] = ['ip'];
    if (hasBearer(request)) {
      try {
        // Verified once per request (authentication reuses it); the session is checked by authentication.
        keys.push(`${prefix}account:${bearerClaims(tokens, request).accountId}:${window}`);
        limits.push(options.max);
        scopes.push('account');
      } catch {
        // An invalid token is refused by authentication; here it only counts against the IP.
      }
    }
    const decisions = keys.map((key, i) => counts.decide(key, window, limits[i]!, batchOf(limits[i]!)));
    const refused = decisions.indexOf('refuse');
    if (refused >= 0) return refuse(reply, now, window, limits[refused]!, scopes[refused]!);
    if (!decisions.includes('ask')) {
      if (keys.some((key, i) => counts.shouldSend(key, batchOf(limits[i]!)))) flushing = flushing.then(flush);
      else scheduleFlush();
      return;
    }
    // Close to a limit (or a counter not kept here): one script for every key, with what is pending on each.
    // A key decided locally goes in the same script with its pending count (this request already in it).
    const increments = keys.map((key, i) => counts.takeForAsk(key, decisions[i] === 'local'));
    let answers: number[];
    try {
      answers = await send(increments);
    } catch (error) {
      for (const increment of increments) counts.settle(increment, null);
      request.log.warn({ err: error }, 'rate limiter unavailable; request allowed');
      return;
    }
    increments.forEach((increment, i) => {
      counts.settle(increment, answers[i]!);
    });
    const exceeded = answers.findIndex((count, i) => count > limits[i]!);
    if (exceeded >= 0) refuse(reply, now, window, limits[exceeded]!, scopes[exceeded]!);
  };

  return {
    hook,
    async close() {
      if (timer) clearTimeout(timer);
      timer = null;
      flushing = flushing.then(flush);
      await flushing;
    },
  };
}
