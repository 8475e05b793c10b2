import type { FastifyRequest } from 'fastify';
import type { Role } from '../runtime/roles.js';
import { HttpError } from './errors.js';
import type { Principal, TokenService } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route; every command and query route declares it. */
    roles?: readonly Role[];
  }
}

/** Reads the Bearer token of a request; 401 when absent or not valid. */
export function authenticate(tokens: TokenService, request: FastifyRequest): Principal {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match)
    throw new HttpError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <access token> (POST /auth/login)');
  return tokens.verify(match[1]!);
}

/** onRequest hook for a plugin whose routes all need a caller with one of their declared roles. */
export function requireRoles(tokens: TokenService) {
  return async (request: FastifyRequest): Promise<void> => {
    // The rate limiter (which runs first) may already have verified this request's token.
    const principal = request.principal ?? authenticate(tokens, request);
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
