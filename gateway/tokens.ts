import { createHash, createSecretKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { ROLES, type Role } from '../runtime/roles.js';
import { HttpError } from './errors.js';

export interface Principal {
  readonly accountId: string;
  readonly role: Role;
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
  /** Prefix of the Redis keys (the environment's topic prefix), so test runs never share sessions. */
  readonly keyPrefix?: string;
}

const ISSUER = 'ledgerline';
const AUDIENCE = 'ledgerline-api';

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

// Marks a refresh token used, atomically, and tells what it was. A token already used means it was stolen
// or replayed: the whole family (the session) is revoked, so neither the thief nor the owner can go on.
const ROTATE = `
local token = redis.call('HGETALL', KEYS[1])
if #token == 0 then return {'missing'} end
local f = {}
for i = 1, #token, 2 do f[token[i]] = token[i + 1] end
local session = ARGV[1] .. 'session:' .. f.family
if redis.call('EXISTS', session) == 0 then return {'revoked'} end
if f.used == '1' then
  redis.call('DEL', session)
  return {'reused', f.family}
end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', f.family, f.accountId, f.role}
`;

/** Short-lived JWT access tokens and rotating refresh tokens stored hashed in Redis, one family per session. */
export class TokenService {
  private readonly prefix: string;
  /** Prepared once: handed a string, jsonwebtoken tries to parse it as a public key on every call (~0.3 ms). */
  private readonly signingKey: KeyObject;

  constructor(
    private readonly redis: Redis,
    private readonly options: TokenOptions,
  ) {
    this.prefix = options.keyPrefix ?? '';
    this.signingKey = createSecretKey(Buffer.from(options.secret));
  }

  accessToken(principal: Principal): string {
    return jwt.sign({ role: principal.role }, this.signingKey, {
      algorithm: 'HS256',
      subject: principal.accountId,
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: this.options.accessTtlSeconds,
      jwtid: randomUUID(),
    });
  }

  /** The caller of a request, from its access token; 401 with a code that says what is wrong. */
  verify(token: string): Principal {
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, this.signingKey, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
      }) as jwt.JwtPayload;
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError)
        throw new HttpError(401, 'TOKEN_EXPIRED', 'the access token has expired; refresh it');
      throw new HttpError(401, 'TOKEN_INVALID', 'the access token is invalid');
    }
    const role = claims.role as Role;
    if (typeof claims.sub !== 'string' || !ROLES.includes(role))
      throw new HttpError(401, 'TOKEN_INVALID', 'the access token is invalid');
    return { accountId: claims.sub, role };
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
    const result = (await this.redis.eval(ROTATE, 1, this.key(refreshToken), this.prefix)) as string[];
    switch (result[0]) {
      case 'ok':
        return this.pair({ accountId: result[2]!, role: result[3] as Role }, result[1]!);
      case 'reused':
        throw new HttpError(401, 'REFRESH_TOKEN_REUSED', 'this refresh token was already used; the session is revoked');
      case 'revoked':
        throw new HttpError(401, 'SESSION_REVOKED', 'this session was revoked; log in again');
      default:
        throw new HttpError(401, 'REFRESH_TOKEN_INVALID', 'unknown or expired refresh token');
    }
  }

  /** Ends the session of this refresh token (its whole family). Unknown tokens are ignored: logout is idempotent. */
  async logout(refreshToken: string): Promise<void> {
    const family = await this.redis.hget(this.key(refreshToken), 'family');
    if (family) await this.redis.del(`${this.prefix}session:${family}`);
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
    return { accessToken: this.accessToken(principal), refreshToken, expiresIn: this.options.accessTtlSeconds };
  }
}
