import type { FastifyRequest } from 'fastify';
import type { Role } from '../runtime/roles.js';
import { HttpError } from './errors.js';
import type { AccessClaims, Principal, TokenService } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by requireRoles once the token and its session have been checked. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route; every command and query route declares it. */
    roles?: readonly Role[];
  }
}

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Tokens already verified, per request, with their session check under way: the rate limiter and
 * authentication verify the signature once, and the session lookup runs beside the rate limiter's count.
 */
const verified = new WeakMap<FastifyRequest, { claims: AccessClaims; session: Promise<void> }>();

function verifiedBearer(tokens: TokenService, request: FastifyRequest) {
  const known = verified.get(request);
  if (known) return known;
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? BEARER.exec(header) : null;
  if (!match)
    throw new HttpError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <access token> (POST /auth/login)');
  const claims = tokens.verify(match[1]!);
  const session = tokens.checkSession(claims.sessionId);
  session.catch(() => undefined); // awaited by authenticate; a request refused before (429) must not leave it unhandled
  const entry = { claims, session };
  verified.set(request, entry);
  return entry;
}

/**
 * The claims of a request's Bearer token, signature and expiry checked (not its session: see authenticate);
 * 401 when absent or not valid.
 */
export const bearerClaims = (tokens: TokenService, request: FastifyRequest): AccessClaims =>
  verifiedBearer(tokens, request).claims;

/** Whether the request carries a Bearer token at all (valid or not). */
export const hasBearer = (request: FastifyRequest): boolean => BEARER.test(request.headers.authorization ?? '');

/**
 * The caller of a request: its Bearer token verified and its session not revoked (one Redis lookup per session
 * per `sessionCacheMs` in this process). 401 when absent, invalid, expired or revoked; a session store that
 * cannot be reached throws its error, which the gateway answers 503 DEPENDENCY_UNAVAILABLE (fail closed).
 */
export async function authenticate(tokens: TokenService, request: FastifyRequest): Promise<AccessClaims> {
  const { claims, session } = verifiedBearer(tokens, request);
  await session;
  return claims;
}

/** onRequest hook for a plugin whose routes all need a caller with one of their declared roles. */
export function requireRoles(tokens: TokenService) {
  return async (request: FastifyRequest): Promise<void> => {
    const principal = await authenticate(tokens, request);
    request.principal = principal;
    const roles = request.routeOptions.config.roles;
    if (roles && !roles.includes(principal.role)) {
      throw new HttpError(403, 'FORBIDDEN', `this route is for ${roles.join(', ')}; you are ${principal.role}`);
    }
  };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <access token>');
  return request.principal;
}
