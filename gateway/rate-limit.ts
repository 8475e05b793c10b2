import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { bearerClaims, hasBearer } from './auth.js';
import { body } from './errors.js';
import type { TokenService } from './tokens.js';

export interface RateLimitOptions {
  /** Per account. */
  readonly max: number;
  /** Per client IP. */
  readonly ipMax: number;
  readonly windowMs: number;
  readonly keyPrefix?: string;
}

// Fixed windows counted in Redis, so every gateway process shares the count. One INCR per key per request:
// the account (when the request carries a valid token) and the client IP.
const COUNT = `
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  counts[i] = n
end
return counts
`;

export function rateLimiter(redis: Redis, tokens: TokenService, options: RateLimitOptions) {
  const prefix = `${options.keyPrefix ?? ''}ratelimit:`;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const now = Date.now();
    const window = Math.floor(now / options.windowMs);
    const keys = [`${prefix}ip:${request.ip}:${window}`];
    const limits = [options.ipMax];
    if (hasBearer(request)) {
      try {
        // Verified once per request (authentication reuses it); the session is checked by authentication.
        keys.push(`${prefix}account:${bearerClaims(tokens, request).accountId}:${window}`);
        limits.push(options.max);
      } catch {
        // An invalid token is refused by authentication; here it only counts against the IP.
      }
    }
    let counts: number[];
    try {
      counts = (await redis.eval(COUNT, keys.length, ...keys, String(options.windowMs))) as number[];
    } catch (error) {
      // Rate limiting protects the service; an unreachable Redis must not take every route down with it.
      request.log.warn({ err: error }, 'rate limiter unavailable; request allowed');
      return;
    }
    const exceeded = counts.findIndex((count, i) => count > limits[i]!);
    if (exceeded >= 0) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * options.windowMs - now) / 1000));
      reply
        .status(429)
        .header('retry-after', String(retryAfter))
        .send(
          body('RATE_LIMITED', `too many requests; retry in ${retryAfter} s`, {
            limit: limits[exceeded],
            windowMs: options.windowMs,
            scope: exceeded === 0 ? 'ip' : 'account',
          }),
        );
    }
  };
}
