import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  addressScope,
  type LoginPermit,
  type LoginRefusal,
  LoginThrottle,
} from '../../gateway/identity/login-throttle.js';
import { uniqueSuffix } from '../support/env.js';

// The login throttle against the real Redis, under a key prefix of its own; waits are shortened (100 ms steps)
// so back-off and expiry can be watched happen.

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `t${uniqueSuffix()}.`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const BASE = 100;
const throttle = (overrides: { accountFree?: number; ipFree?: number } = {}) =>
  new LoginThrottle(redis, {
    keyPrefix: prefix,
    account: { free: overrides.accountFree ?? 3, baseMs: BASE, maxMs: 800, memoryMs: 5_000 },
    ip: { free: overrides.ipFree ?? 1_000, baseMs: BASE, maxMs: 800, memoryMs: 5_000 },
  });
let n = 0;
const email = () => `user.${n++}.${uniqueSuffix()}@example.com`;
const address = () => `10.${n % 250}.${n++ % 250}.7`;

/** n failed attempts: each checked, let through, and recorded as failed. */
async function fail(t: LoginThrottle, who: string, from: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const permit = await t.check(who, from);
    expect(permit.allowed, `attempt ${i + 1}`).toBe(true);
    await (permit as LoginPermit).failed();
  }
}

describe('login throttle (Redis)', () => {
  it('lets `free` failures through, then makes the next attempt wait, doubling the wait with each failure', async () => {
    const t = throttle();
    const who = email();
    const from = address();
    await fail(t, who, from, 3);
    const refused = (await t.check(who, from)) as LoginRefusal;
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1, scope: 'account' });
    await sleep(BASE + 20);
    await fail(t, who, from, 1); // the 4th failure: the next wait is 200 ms
    await sleep(BASE + 20);
    expect((await t.check(who, from)).allowed).toBe(false);
    await sleep(BASE);
    expect((await t.check(who, from)).allowed).toBe(true);
  });

  it('does not count a refused attempt: hammering while refused neither extends the wait nor runs up the count', async () => {
    const t = throttle();
    const who = email();
    const from = address();
    await fail(t, who, from, 3);
    for (let i = 0; i < 20; i++) expect((await t.check(who, from)).allowed).toBe(false);
    expect(await redis.hget(t.keys(who, from).account, 'n')).toBe('3');
    await sleep(BASE + 20);
    expect((await t.check(who, from)).allowed).toBe(true);
  });

  it('counts a concurrent burst atomically: of 40 simultaneous guesses, exactly `free` get through', async () => {
    const t = throttle();
    const who = email();
    const from = address();
    const verdicts = await Promise.all(Array.from({ length: 40 }, () => t.check(who, from)));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(3);
  });

  it('keys an account by its normalised email, whether or not it exists: look-alikes share one count', async () => {
    const t = throttle();
    const local = `ana.${uniqueSuffix()}`;
    const from = address();
    await fail(t, `${local}@example.com`, from, 1);
    await fail(t, ` ${local.toUpperCase()}@Example.COM. `, from, 1);
    await fail(t, `${local}\u200B@example.com`, from, 1);
    expect((await t.check(`${local}@example.com`, from)).allowed).toBe(false);
  });

  it('resets the account’s count on success; the address keeps its other failures', async () => {
    const t = throttle({ ipFree: 5 });
    const who = email();
    const other = email();
    const from = address();
    await fail(t, other, from, 2);
    await fail(t, who, from, 2);
    const permit = (await t.check(who, from)) as LoginPermit;
    expect(permit.allowed).toBe(true);
    await permit.succeeded();
    const keys = t.keys(who, from);
    expect(await redis.exists(keys.account)).toBe(0);
    expect(await redis.hget(keys.ip, 'n')).toBe('4'); // the success took back only its own attempt
    // Its 5th failure, for anyone, is the address's last free one.
    await fail(t, email(), from, 1);
    expect(await t.check(email(), from)).toMatchObject({ allowed: false, scope: 'ip' });
    // And the account starts over: 3 more failures before a wait (from another address).
    await fail(t, who, address(), 3);
    expect((await t.check(who, address())).allowed).toBe(false);
  });

  it('throttles an address guessing across many accounts, with scope ip, and only that address', async () => {
    const t = throttle({ ipFree: 5 });
    const from = address();
    for (let i = 0; i < 5; i++) await fail(t, email(), from, 1);
    expect(await t.check(email(), from)).toMatchObject({ allowed: false, scope: 'ip' });
    expect((await t.check(email(), address())).allowed).toBe(true);
  });

  it('takes an abandoned attempt back from both counts (a dependency failed, not the password)', async () => {
    const t = throttle();
    const who = email();
    const from = address();
    await fail(t, who, from, 2);
    const permit = (await t.check(who, from)) as LoginPermit;
    await permit.abandoned();
    expect(await redis.hget(t.keys(who, from).account, 'n')).toBe('2');
    expect(await redis.hget(t.keys(who, from).ip, 'n')).toBe('2');
  });

  it('keeps its keys under the configured prefix, with a TTL, and no email in their names', async () => {
    const t = throttle();
    const who = email();
    const from = address();
    await fail(t, who, from, 1);
    const keys = t.keys(who, from);
    expect(keys.account.startsWith(`${prefix}login-throttle:account:`)).toBe(true);
    expect(keys.account).not.toContain('example.com');
    expect(keys.ip).toBe(`${prefix}login-throttle:ip:${from}`);
    for (const key of [keys.account, keys.ip]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5_000);
    }
  });

  it('forgets the count `memoryMs` after the last failure', async () => {
    const t = new LoginThrottle(redis, {
      keyPrefix: prefix,
      account: { free: 1, baseMs: 10_000, maxMs: 10_000, memoryMs: 300 },
    });
    const who = email();
    const from = address();
    await fail(t, who, from, 1);
    expect((await t.check(who, from)).allowed).toBe(false);
    await sleep(350);
    expect((await t.check(who, from)).allowed).toBe(true);
  });

  it('guard: never runs verify when the attempt must wait, records its outcome, and takes back a failed verify', async () => {
    const t = throttle();
    const who = email();
    const from = address();
    const wrong = vi.fn(async () => null);
    for (let i = 0; i < 3; i++) expect(await t.guard(who, from, wrong)).toEqual({ allowed: true, account: null });
    const right = vi.fn(async () => ({ accountId: 'a-1' }));
    expect(await t.guard(who, from, right)).toMatchObject({ allowed: false, scope: 'account' });
    expect(right).not.toHaveBeenCalled();
    await sleep(BASE + 20);
    await expect(
      t.guard(who, from, async () => {
        throw new Error('database down');
      }),
    ).rejects.toThrow('database down');
    expect(await redis.hget(t.keys(who, from).account, 'n')).toBe('3');
    expect(await t.guard(who, from, right)).toEqual({ allowed: true, account: { accountId: 'a-1' } });
    expect(await redis.exists(t.keys(who, from).account)).toBe(0);
  });
});

describe('addressScope', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('keeps %s under %s', (ip, scope) => {
    expect(addressScope(ip)).toBe(scope);
  });
});
