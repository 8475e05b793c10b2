import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { normalizeEmail } from '../../commands/identity/account.js';
import { body } from '../errors.js';

// Exponential back-off on failed logins, per account and per client address, counted in Redis so every gateway
// process shares it. After `free` failures, the next attempt waits `baseMs` after the last one, then twice that
// after each further failure, up to `maxMs`; the count is forgotten `memoryMs` after the last failure, and a
// successful login resets its account's. A refused attempt is not verified at all (no bcrypt, right password or
// not) and counts for nothing, so it neither extends the wait nor costs the server.
//
// No account enumeration: the account key is the normalised email, whether or not an account has it, so an
// unknown email is throttled exactly like a known one. Only a success resets a count, and only the password
// makes one. A client address's count is not reset by a success (an attacker's own account would wipe it):
// a success only takes back its own attempt.
//
// An attempt is counted when it is let through, before the password is checked (check → reserve, atomically, in
// one script), so a burst of concurrent guesses cannot all pass the check before the first failure is recorded.
// The attempt then succeeds (its account's count is reset), fails (its reservation stands), or ends in an error
// (its reservation is taken back: an outage must not lock users out).
//
// Redis down: logins fail (503), they are not let through. A login needs Redis for its session anyway, and an
// open throttle would turn "401 wrong password / 503 right password" into an unthrottled password oracle.

export interface BackOff {
  /** Failures allowed before any wait. */
  readonly free: number;
  /** The first wait; each further failure doubles it. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** How long the count is kept after the last failure. */
  readonly memoryMs: number;
}

export interface LoginThrottleOptions {
  /** Prefix of the Redis keys (the environment's topic prefix), as the rate limiter and the token service. */
  readonly keyPrefix?: string;
  readonly account?: Partial<BackOff>;
  readonly ip?: Partial<BackOff>;
}

/** 5 free failures, then 1 s, 2 s, 4 s … up to 15 min between guesses, for a day: ~100 guesses a day at most. */
export const ACCOUNT_BACK_OFF: BackOff = { free: 5, baseMs: 1_000, maxMs: 15 * 60_000, memoryMs: 24 * 3_600_000 };
/** More room for an address (an office, a mobile carrier's NAT), a shorter memory. */
export const IP_BACK_OFF: BackOff = { free: 20, baseMs: 1_000, maxMs: 15 * 60_000, memoryMs: 3_600_000 };

export type ThrottleScope = 'account' | 'ip';

/** The attempt may go on: verify the password, then say how it went. */
export interface LoginPermit {
  readonly allowed: true;
  /** The password was right: the account's count is reset, and the address's takes this attempt back. */
  succeeded(): Promise<void>;
  /** The password was wrong: the attempt stays counted. */
  failed(): Promise<void>;
  /** Verifying failed (a dependency is down): the attempt is taken back from both counts. */
  abandoned(): Promise<void>;
}

/** The attempt must wait: answer 429 with Retry-After. */
export interface LoginRefusal {
  readonly allowed: false;
  readonly retryAfterSeconds: number;
  /** Which count refused it (the longer wait when both do). */
  readonly scope: ThrottleScope;
}

// KEYS: account, ip. ARGV: free, baseMs, maxMs, memoryMs for the account, then the same for the ip.
// Each key is a hash { n: attempts counted, last: ms of the last one }. Returns {1, now, previous last of each}
// when the attempt is let through (and counted), {0, wait ms, scope index} when it must wait.
const CHECK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait, scope = 0, 0
local previous = {}
for i = 1, 2 do
  local o = (i - 1) * 4
  local free, base, max = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local state = redis.call('HMGET', KEYS[i], 'n', 'last')
  local n, last = tonumber(state[1]) or 0, tonumber(state[2]) or 0
  previous[i] = last
  if n >= free then
    local delay = math.min(base * 2 ^ (n - free), max)
    local w = last + delay - now
    if w > wait then wait, scope = w, i end
  end
end
if wait > 0 then return {0, math.ceil(wait), scope} end
for i = 1, 2 do
  redis.call('HINCRBY', KEYS[i], 'n', 1)
  redis.call('HSET', KEYS[i], 'last', now)
  redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 4 + 4])
end
return {1, now, previous[1], previous[2]}
`;

// Takes an attempt back from a count: one fewer, and the last attempt's time as it was before it, unless another
// attempt was counted since. KEYS: the count. ARGV: this attempt's time, the previous last.
const TAKE_BACK = `
local state = redis.call('HMGET', KEYS[1], 'n', 'last')
local n = tonumber(state[1])
if not n then return 0 end
if n <= 1 then redis.call('DEL', KEYS[1]) return 1 end
redis.call('HINCRBY', KEYS[1], 'n', -1)
if state[2] == ARGV[1] then redis.call('HSET', KEYS[1], 'last', ARGV[2]) end
return 1
`;

/**
 * The address a client's count is kept under: an IPv4 address as it is (also when IPv4-mapped), an IPv6 address
 * by its /64, the block one subscriber is usually given (else each of 2^64 addresses would have its own count).
 */
export function addressScope(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped && isIPv4(mapped)) return mapped;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export class LoginThrottle {
  private readonly prefix: string;
  private readonly account: BackOff;
  private readonly ip: BackOff;

  constructor(
    private readonly redis: Redis,
    options: LoginThrottleOptions = {},
  ) {
    this.prefix = `${options.keyPrefix ?? ''}login-throttle:`;
    this.account = { ...ACCOUNT_BACK_OFF, ...options.account };
    this.ip = { ...IP_BACK_OFF, ...options.ip };
  }

  /** The Redis keys of an email's and an address's counts (the email hashed: no addresses in key names). */
  keys(email: string, ip: string): { account: string; ip: string } {
    return {
      account: `${this.prefix}account:${sha256(normalizeEmail(email))}`,
      ip: `${this.prefix}ip:${addressScope(ip)}`,
    };
  }

  /** Before verifying a password: whether this attempt may go on; if it may, it is counted now. */
  async check(email: string, ip: string): Promise<LoginPermit | LoginRefusal> {
    const keys = this.keys(email, ip);
    const args = [this.account, this.ip].flatMap((b) => [b.free, b.baseMs, b.maxMs, b.memoryMs].map(String));
    const result = (await this.redis.eval(CHECK, 2, keys.account, keys.ip, ...args)) as number[];
    if (result[0] === 0) {
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil(result[1]! / 1000)),
        scope: result[2] === 1 ? 'account' : 'ip',
      };
    }
    const [, at, previousAccount, previousIp] = result.map(String);
    const takeBack = (key: string, previous: string) => this.redis.eval(TAKE_BACK, 1, key, at!, previous);
    return {
      allowed: true,
      succeeded: async () => {
        await this.redis.del(keys.account);
        await takeBack(keys.ip, previousIp!);
      },
      failed: async () => {},
      abandoned: async () => {
        await takeBack(keys.account, previousAccount!);
        await takeBack(keys.ip, previousIp!);
      },
    };
  }

  /**
   * `verify` (the password check: the account, or null for wrong credentials) under the throttle: not run at all
   * when the attempt must wait, and its outcome recorded when it runs.
   */
  async guard<T>(
    email: string,
    ip: string,
    verify: () => Promise<T | null>,
  ): Promise<LoginRefusal | { readonly allowed: true; readonly account: T | null }> {
    const permit = await this.check(email, ip);
    if (!permit.allowed) return permit;
    let account: T | null;
    try {
      account = await verify();
    } catch (error) {
      await permit.abandoned().catch(() => {}); // the verify error is the one to answer with
      throw error;
    }
    await (account === null ? permit.failed() : permit.succeeded());
    return { allowed: true, account };
  }
}

/** 429 LOGIN_THROTTLED with Retry-After, as the rate limiter answers (gateway/rate-limit.ts). */
export function sendLoginThrottled(reply: FastifyReply, refusal: LoginRefusal): FastifyReply {
  return reply
    .status(429)
    .header('retry-after', String(refusal.retryAfterSeconds))
    .send(
      body('LOGIN_THROTTLED', `too many failed logins; retry in ${refusal.retryAfterSeconds} s`, {
        retryAfterSeconds: refusal.retryAfterSeconds,
        scope: refusal.scope,
      }),
    );
}
