import { createHash, createSecretKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { type Config, isPublishedSecret } from '../runtime/config.js';
import { ROLES, type Role } from '../runtime/roles.js';
import { HttpError } from './errors.js';
import { VERIFIED_TOKENS_MAX, VerifiedTokens } from './verified-tokens.js';

export interface Principal {
  readonly accountId: string;
  readonly role: Role;
}

/** What a verified access token says: who, which session (to check it is not revoked) and until when. */
export interface AccessClaims extends Principal {
  /** The session: the refresh-token family the token was issued for (`sid`). */
  readonly sessionId: string;
  /** When the token expires, in ms since the epoch (`exp`). */
  readonly expiresAt: number;
}

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
}

export interface TokenOptions {
  readonly secret: string;
  readonly accessTtlSeconds: number;
  readonly refreshTtlSeconds: number;
  /** `iss` and `aud` of access tokens, required on verification (defaults: ledgerline, ledgerline-api). */
  readonly issuer?: string;
  readonly audience?: string;
  /** Prefix of the Redis keys (the environment's topic prefix), so test runs never share sessions. */
  readonly keyPrefix?: string;
  /**
   * How long this process trusts a session check (default SESSION_CHECK_MS): revocation takes effect within it
   * on every gateway, and live connections are re-checked that often.
   */
  readonly sessionCacheMs?: number;
  /** Verified access tokens kept per process until their expiry (default VERIFIED_TOKENS_MAX; 0 keeps none). */
  readonly verifiedTokensMax?: number;
}

/** Default bound on how long a revoked session keeps working on a gateway that did not revoke it. */
export const SESSION_CHECK_MS = 2000;
/** Sessions remembered per process, at most; beyond it the cache is emptied (it only saves Redis lookups). */
const SESSION_CACHE_MAX = 100_000;

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

// Marks a refresh token used, atomically, and tells what it was. A token already used means it was stolen
// or replayed: the whole family (the session) is revoked, so neither the thief nor the owner can go on, and the
// session is marked revoked for as long as one of its access tokens may live.
const ROTATE = `
local token = redis.call('HGETALL', KEYS[1])
if #token == 0 then return {'missing'} end
local f = {}
for i = 1, #token, 2 do f[token[i]] = token[i + 1] end
local session = ARGV[1] .. 'session:' .. f.family
if redis.call('EXISTS', session) == 0 then return {'revoked'} end
if f.used == '1' then
  redis.call('DEL', session)
  redis.call('SET', ARGV[1] .. 'session-revoked:' .. f.family, '1', 'EX', ARGV[2])
  return {'reused', f.family}
end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', f.family, f.accountId, f.role}
`;

const invalid = () => new HttpError(401, 'TOKEN_INVALID', 'the access token is invalid');
const revoked = () => new HttpError(401, 'SESSION_REVOKED', 'this session was revoked; log in again');

/**
 * Short-lived JWT access tokens and rotating refresh tokens stored hashed in Redis, one family per session.
 * Every access token names its session (`sid`); a session revoked (logout, refresh-token reuse) is marked in
 * Redis, and `checkSession` refuses its tokens on every request, trusting an answer for `sessionCacheMs`.
 */
/** The token service a gateway process runs with: secret, issuer, audience and lifetimes from its config. */
export const tokenServiceFor = (redis: Redis, config: Config): TokenService =>
  new TokenService(redis, {
    secret: config.jwtSecret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTtlSeconds: config.accessTokenTtlSeconds,
    refreshTtlSeconds: config.refreshTokenTtlSeconds,
    keyPrefix: config.topicPrefix,
  });

export class TokenService {
  private readonly prefix: string;
  /** Prepared once: handed a string, jsonwebtoken tries to parse it as a public key on every call (~0.3 ms). */
  private readonly signingKey: KeyObject;
  private readonly issuer: string;
  private readonly audience: string;
  /** How long a session check is trusted here. */
  readonly sessionCacheMs: number;
  /** Session id → whether it is revoked, and until when that answer is trusted. */
  private readonly sessions = new Map<string, { revoked: boolean; until: number }>();
  /** Lookups in flight, so concurrent requests of one session cost one Redis call. */
  private readonly lookups = new Map<string, Promise<boolean>>();
  /** Tokens already verified: a client sends the same token for up to its whole lifetime. */
  private readonly verified: VerifiedTokens<AccessClaims>;

  constructor(
    private readonly redis: Redis,
    private readonly options: TokenOptions,
  ) {
    if (options.secret === '' || isPublishedSecret(options.secret))
      throw new Error('refusing an empty JWT secret or one published in the source; set JWT_SECRET');
    this.prefix = options.keyPrefix ?? '';
    this.signingKey = createSecretKey(Buffer.from(options.secret));
    this.issuer = options.issuer ?? 'ledgerline';
    this.audience = options.audience ?? 'ledgerline-api';
    this.sessionCacheMs = options.sessionCacheMs ?? SESSION_CHECK_MS;
    this.verified = new VerifiedTokens(options.verifiedTokensMax ?? VERIFIED_TOKENS_MAX);
  }

  /**
   * An access token of `sessionId` (a refresh-token family). Without one, a session of its own that nothing
   * can revoke: only tests and benchmarks mint tokens without logging in.
   */
  accessToken(principal: Principal, sessionId: string = randomUUID()): string {
    return jwt.sign({ role: principal.role, sid: sessionId }, this.signingKey, {
      algorithm: 'HS256',
      subject: principal.accountId,
      issuer: this.issuer,
      audience: this.audience,
      expiresIn: this.options.accessTtlSeconds,
      jwtid: randomUUID(),
    });
  }

  /**
   * The claims of an access token: HS256 only (alg none or any other is refused), our issuer and audience, an
   * expiry, a subject, a known role and a session. 401 with a code that says what is wrong. Does not look at
   * the session: see checkSession. A token verified before is answered from memory until it expires (the very
   * same string only: any other, a tampered one included, is verified in full).
   */
  verify(token: string): AccessClaims {
    const known = this.verified.get(token);
    if (known) return known;
    const claims = this.verifyInFull(token);
    this.verified.remember(token, claims);
    return claims;
  }

  private verifyInFull(token: string): AccessClaims {
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, this.signingKey, {
        algorithms: ['HS256'],
        issuer: this.issuer,
        audience: this.audience,
      }) as jwt.JwtPayload;
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError)
        throw new HttpError(401, 'TOKEN_EXPIRED', 'the access token has expired; refresh it');
      throw invalid();
    }
    const role = claims.role as Role;
    if (typeof claims.sub !== 'string' || !ROLES.includes(role)) throw invalid();
    // jsonwebtoken checks exp only when present: a token without one would be good forever.
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) throw invalid();
    if (typeof claims.sid !== 'string' || claims.sid === '') throw invalid();
    // Frozen: the same object now answers every request of this token.
    return Object.freeze({ accountId: claims.sub, role, sessionId: claims.sid, expiresAt: claims.exp * 1000 });
  }

  /**
   * Throws 401 SESSION_REVOKED if the session was revoked. One Redis lookup per session per `sessionCacheMs`
   * in this process; an unreachable Redis throws its own error, which the gateway answers 503 (fail closed).
   */
  async checkSession(sessionId: string): Promise<void> {
    const known = this.sessions.get(sessionId);
    const isRevoked =
      known && (known.revoked || known.until > Date.now()) ? known.revoked : await this.lookUp(sessionId);
    if (isRevoked) throw revoked();
  }

  /**
   * Which of these sessions are revoked, asked of Redis now in one call (the cache is bypassed, then updated):
   * the periodic check of live connections.
   */
  async revokedSessions(sessionIds: readonly string[]): Promise<Set<string>> {
    if (sessionIds.length === 0) return new Set();
    const marks = await this.redis.mget(...sessionIds.map((id) => this.revokedKey(id)));
    const found = new Set<string>();
    sessionIds.forEach((id, i) => {
      const isRevoked = marks[i] !== null && marks[i] !== undefined;
      if (isRevoked) found.add(id);
      this.remember(id, isRevoked);
    });
    return found;
  }

  /** Opens a session: a new refresh-token family. */
  async login(principal: Principal): Promise<TokenPair> {
    const family = randomUUID();
    const session = `${this.prefix}session:${family}`;
    await this.redis
      .multi()
      .hset(session, { accountId: principal.accountId, role: principal.role, createdAt: new Date().toISOString() })
      .expire(session, this.options.refreshTtlSeconds)
      .exec();
    return this.pair(principal, family);
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const result = (await this.redis.eval(
      ROTATE,
      1,
      this.key(refreshToken),
      this.prefix,
      String(this.revocationTtlSeconds()),
    )) as string[];
    switch (result[0]) {
      case 'ok':
        return this.pair({ accountId: result[2]!, role: result[3] as Role }, result[1]!);
      case 'reused':
        this.remember(result[1]!, true);
        throw new HttpError(401, 'REFRESH_TOKEN_REUSED', 'this refresh token was already used; the session is revoked');
      case 'revoked':
        throw revoked();
      default:
        throw new HttpError(401, 'REFRESH_TOKEN_INVALID', 'unknown or expired refresh token');
    }
  }

  /**
   * Ends the session of this refresh token (its whole family), its access tokens included: at once on this
   * gateway, within `sessionCacheMs` on the others. Unknown tokens are ignored: logout is idempotent.
   */
  async logout(refreshToken: string): Promise<void> {
    const family = await this.redis.hget(this.key(refreshToken), 'family');
    if (!family) return;
    await this.redis
      .multi()
      .del(`${this.prefix}session:${family}`)
      .set(this.revokedKey(family), '1', 'EX', this.revocationTtlSeconds())
      .exec();
    this.remember(family, true);
  }

  /** Kept as long as any access token of the session may live (plus a minute of clock skew). */
  private revocationTtlSeconds(): number {
    return this.options.accessTtlSeconds + 60;
  }

  private revokedKey(sessionId: string): string {
    return `${this.prefix}session-revoked:${sessionId}`;
  }

  private lookUp(sessionId: string): Promise<boolean> {
    let pending = this.lookups.get(sessionId);
    if (!pending) {
      pending = this.redis
        .exists(this.revokedKey(sessionId))
        .then((n) => {
          this.remember(sessionId, n > 0);
          return n > 0;
        })
        .finally(() => this.lookups.delete(sessionId));
      this.lookups.set(sessionId, pending);
    }
    return pending;
  }

  /** A revoked session stays revoked: that answer is kept until its last access token has expired. */
  private remember(sessionId: string, isRevoked: boolean): void {
    if (this.sessions.size >= SESSION_CACHE_MAX) this.prune();
    const ttl = isRevoked ? this.revocationTtlSeconds() * 1000 : this.sessionCacheMs;
    this.sessions.set(sessionId, { revoked: isRevoked, until: Date.now() + ttl });
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, entry] of this.sessions) if (entry.until <= now) this.sessions.delete(id);
    if (this.sessions.size >= SESSION_CACHE_MAX) this.sessions.clear();
  }

  private key(refreshToken: string): string {
    return `${this.prefix}refresh:${hash(refreshToken)}`;
  }

  private async pair(principal: Principal, family: string): Promise<TokenPair> {
    const refreshToken = randomBytes(32).toString('base64url');
    const key = this.key(refreshToken);
    await this.redis
      .multi()
      .hset(key, { family, accountId: principal.accountId, role: principal.role, used: '0' })
      .expire(key, this.options.refreshTtlSeconds)
      .exec();
    return {
      accessToken: this.accessToken(principal, family),
      refreshToken,
      expiresIn: this.options.accessTtlSeconds,
    };
  }
}
