import type { FastifyRequest } from 'fastify';
import { authenticate } from '../../auth.js';
import { HttpError } from '../../errors.js';
import type { AccessClaims, Principal, TokenService } from '../../tokens.js';
import { canSeeOrder } from '../access.js';
import type { LiveDeps } from './deps.js';

// Who is calling a live endpoint, and whether they may follow an order.

export const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The caller of a live endpoint, token verified and session not revoked (as on every request). Browsers'
 * EventSource and WebSocket cannot set headers, so a token may also come as ?access_token=.
 */
export async function liveCaller(tokens: TokenService, request: FastifyRequest): Promise<AccessClaims> {
  const query = request.query as { access_token?: unknown };
  if (!request.headers.authorization && typeof query.access_token === 'string') {
    const claims = tokens.verify(query.access_token);
    await tokens.checkSession(claims.sessionId);
    return claims;
  }
  return authenticate(tokens, request);
}

/** Throws 404 ORDER_NOT_FOUND unless the order exists and the principal may see it (no existence leak). */
export async function authorizeOrder(deps: LiveDeps, principal: Principal, orderId: string): Promise<void> {
  const parties = ORDER_ID.test(orderId) ? await deps.orderParties(orderId) : null;
  if (!parties || !(await canSeeOrder(deps, principal, parties))) {
    throw new HttpError(404, 'ORDER_NOT_FOUND', `order ${orderId} does not exist`);
  }
}
