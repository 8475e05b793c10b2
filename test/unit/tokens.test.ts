import type { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpError, isDependencyFailure } from '../../gateway/errors.js';
import { TokenService } from '../../gateway/tokens.js';

// Access tokens (issue 12): what a token must carry to be accepted, and the per-request session check.

const SECRET = 'unit-test-secret-of-at-least-32-characters';
const now = () => Math.floor(Date.now() / 1000);

/** The Redis commands the session check uses, over a set of revoked session ids; counts the lookups. */
function fakeRedis(options: { down?: boolean } = {}) {
  const revoked = new Set<string>();
  let lookups = 0;
  const isRevoked = (key: string) => [...revoked].some((sid) => key.endsWith(`:${sid}`));
  const fail = () => {
    // What ioredis throws once it gives up on a command while the server is unreachable.
    const error = new Error('Reached the max retries per request limit (which is 2).');
    error.name = 'MaxRetriesPerRequestError';
    return error;
  };
  const redis = {
    async exists(key: string) {
      lookups++;
      if (options.down) throw fail();
      return isRevoked(key) ? 1 : 0;
    },
    async mget(...keys: string[]) {
      lookups++;
      if (options.down) throw fail();
      return keys.map((key) => (isRevoked(key) ? '1' : null));
    },
  };
  return {
    redis: redis as unknown as Redis,
    revoke: (sid: string) => revoked.add(sid),
    lookups: () => lookups,
  };
}

const service = (redis: Redis = fakeRedis().redis, overrides: Record<string, unknown> = {}) =>
  new TokenService(redis, {
    secret: SECRET,
    accessTtlSeconds: 900,
    refreshTtlSeconds: 3600,
    sessionCacheMs: 200,
    ...overrides,
  });

/** A token as an attacker (or a bug) might make it: any claims, any key, any algorithm. */
const forge = (claims: Record<string, unknown>, options: { secret?: string; algorithm?: jwt.Algorithm } = {}): string =>
  jwt.sign(
    // A claim given as undefined is left out (jsonwebtoken refuses an undefined exp).
    JSON.parse(
      JSON.stringify({
        sub: 'acc-1',
        role: 'customer',
        sid: 'session-1',
        iss: 'ledgerline',
        aud: 'ledgerline-api',
        exp: now() + 60,
        ...claims,
      }),
    ),
    options.secret ?? SECRET,
    { algorithm: options.algorithm ?? 'HS256' },
  );

/** The 401 code verify() answers, or null when it accepts the token. */
function refusal(tokens: TokenService, token: string): string | null {
  try {
    tokens.verify(token);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).statusCode).toBe(401);
    return (error as HttpError).code;
  }
}

const unsigned = (claims: Record<string, unknown>) => {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'acc-1', role: 'admin', sid: 's', exp: now() + 60, iss: 'ledgerline', aud: 'ledgerline-api', ...claims })}.`;
};

describe('TokenService.verify: what an access token must carry', () => {
  it('accepts its own tokens, with the session id and the expiry', () => {
    const tokens = service();
    const before = Date.now();
    const claims = tokens.verify(tokens.accessToken({ accountId: 'acc-1', role: 'restaurant' }, 'family-1'));
    expect(claims).toMatchObject({ accountId: 'acc-1', role: 'restaurant', sessionId: 'family-1' });
    expect(claims.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 899_000);
    expect(claims.expiresAt).toBeLessThanOrEqual(before + 901_000);
  });

  it('refuses a token without exp (it would never expire)', () => {
    expect(refusal(service(), forge({ exp: undefined }))).toBe('TOKEN_INVALID');
  });

  it('refuses a token without a session id (it could never be revoked)', () => {
    expect(refusal(service(), forge({ sid: undefined }))).toBe('TOKEN_INVALID');
    expect(refusal(service(), forge({ sid: '' }))).toBe('TOKEN_INVALID');
  });

  it('refuses alg none and any algorithm but HS256, even with the right key', () => {
    const tokens = service();
    expect(refusal(tokens, unsigned({}))).toBe('TOKEN_INVALID');
    expect(refusal(tokens, forge({}, { algorithm: 'HS512' }))).toBe('TOKEN_INVALID');
    expect(refusal(tokens, forge({}, { algorithm: 'HS384' }))).toBe('TOKEN_INVALID');
    expect(refusal(tokens, forge({}))).toBeNull();
  });

  it('refuses a missing or foreign issuer or audience', () => {
    const tokens = service();
    expect(refusal(tokens, forge({ iss: undefined }))).toBe('TOKEN_INVALID');
    expect(refusal(tokens, forge({ iss: 'someone-else' }))).toBe('TOKEN_INVALID');
    expect(refusal(tokens, forge({ aud: undefined }))).toBe('TOKEN_INVALID');
    expect(refusal(tokens, forge({ aud: 'another-api' }))).toBe('TOKEN_INVALID');
  });

  it('takes the issuer and the audience from its options', () => {
    const custom = service(undefined, { issuer: 'https://auth.example.com', audience: 'ledger' });
    const token = custom.accessToken({ accountId: 'acc-1', role: 'customer' }, 'family-1');
    expect(custom.verify(token).accountId).toBe('acc-1');
    expect(refusal(service(), token)).toBe('TOKEN_INVALID');
    expect(jwt.decode(token, { json: true })).toMatchObject({ iss: 'https://auth.example.com', aud: 'ledger' });
  });

  it('refuses a token signed with another key, the former in-source default among them', () => {
    const forged = forge({ role: 'admin' }, { secret: 'ledgerline-development-secret-change-me-in-production' });
    expect(refusal(service(), forged)).toBe('TOKEN_INVALID');
  });

  it('will not sign or verify with a secret the source once published as a default', () => {
    expect(() => service(undefined, { secret: 'ledgerline-development-secret-change-me-in-production' })).toThrow(
      /published/,
    );
  });

  it('answers TOKEN_EXPIRED to an expired token', () => {
    expect(refusal(service(), forge({ exp: now() - 5 }))).toBe('TOKEN_EXPIRED');
  });
});

describe('TokenService.verify: a token verified once is answered from memory until it expires (issue 14)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('verifies the signature of a token once, then answers its claims from the cache', () => {
    const tokens = service();
    const token = tokens.accessToken({ accountId: 'acc-1', role: 'customer' }, 'family-1');
    const verify = vi.spyOn(jwt, 'verify');
    const first = tokens.verify(token);
    expect(tokens.verify(token)).toBe(first);
    expect(tokens.verify(token)).toEqual({
      accountId: 'acc-1',
      role: 'customer',
      sessionId: 'family-1',
      expiresAt: first.expiresAt,
    });
    expect(verify).toHaveBeenCalledTimes(1);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('never answers a tampered copy of a cached token from the cache', () => {
    const tokens = service();
    const token = tokens.accessToken({ accountId: 'acc-1', role: 'customer' }, 'family-1');
    tokens.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const escalated = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    expect(refusal(tokens, `${header}.${escalated}.${signature}`)).toBe('TOKEN_INVALID');
    const flipped = signature.at(-2) === 'A' ? 'B' : 'A';
    expect(refusal(tokens, `${header}.${payload}.${signature.slice(0, -2)}${flipped}${signature.at(-1)}`)).toBe(
      'TOKEN_INVALID',
    );
    expect(refusal(tokens, `${token} `)).toBe('TOKEN_INVALID');
    expect(tokens.verify(token).role).toBe('customer');
  });

  it('answers TOKEN_EXPIRED once a cached token expires', () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z'), toFake: ['Date'] });
    const tokens = service();
    const token = tokens.accessToken({ accountId: 'acc-1', role: 'customer' }, 'family-1');
    const { expiresAt } = tokens.verify(token);
    vi.setSystemTime(expiresAt - 1);
    expect(refusal(tokens, token)).toBeNull();
    vi.setSystemTime(expiresAt);
    expect(refusal(tokens, token)).toBe('TOKEN_EXPIRED');
  });

  it('keeps no token when its bound is 0: every call verifies in full', () => {
    const tokens = service(undefined, { verifiedTokensMax: 0 });
    const token = tokens.accessToken({ accountId: 'acc-1', role: 'customer' }, 'family-1');
    const verify = vi.spyOn(jwt, 'verify');
    tokens.verify(token);
    tokens.verify(token);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('still refuses a cached token of a revoked session, within the session window', async () => {
    const fake = fakeRedis();
    const tokens = service(fake.redis, { sessionCacheMs: 100 });
    const token = tokens.accessToken({ accountId: 'acc-1', role: 'customer' }, 'family-1');
    await tokens.checkSession(tokens.verify(token).sessionId);
    fake.revoke('family-1');
    await new Promise((r) => setTimeout(r, 150));
    await expect(tokens.checkSession(tokens.verify(token).sessionId)).rejects.toMatchObject({
      code: 'SESSION_REVOKED',
    });
  });
});

describe('TokenService.checkSession: revocation on every request', () => {
  it('refuses a revoked session with 401 SESSION_REVOKED', async () => {
    const fake = fakeRedis();
    fake.revoke('family-1');
    const error = await service(fake.redis)
      .checkSession('family-1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ statusCode: 401, code: 'SESSION_REVOKED' });
  });

  it('asks Redis once per session per cache window, and sees a revocation once the window has passed', async () => {
    const fake = fakeRedis();
    const tokens = service(fake.redis, { sessionCacheMs: 150 });
    await Promise.all([tokens.checkSession('family-1'), tokens.checkSession('family-1')]);
    await tokens.checkSession('family-1');
    expect(fake.lookups()).toBe(1);
    fake.revoke('family-1');
    await tokens.checkSession('family-1'); // still within the window: the documented bound
    await new Promise((r) => setTimeout(r, 200));
    await expect(tokens.checkSession('family-1')).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
    expect(fake.lookups()).toBe(2);
  });

  it('fails closed when Redis is unreachable: the error is one the gateway answers 503 DEPENDENCY_UNAVAILABLE', async () => {
    const error = await service(fakeRedis({ down: true }).redis)
      .checkSession('family-1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(HttpError);
    expect(isDependencyFailure(error)).toBe(true);
  });

  it('revokedSessions asks Redis for several sessions at once, bypassing the cache', async () => {
    const fake = fakeRedis();
    const tokens = service(fake.redis, { sessionCacheMs: 60_000 });
    await tokens.checkSession('a');
    fake.revoke('a');
    fake.revoke('c');
    expect(await tokens.revokedSessions(['a', 'b', 'c'])).toEqual(new Set(['a', 'c']));
    // What it learnt is cached: the next request of session a is refused without waiting for the window.
    await expect(tokens.checkSession('a')).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
  });
});
