import type { FastifyRequest } from 'fastify';
import { authenticate } from '../auth.js';
import type { AccessClaims, TokenService } from '../tokens.js';

// Who is calling a live endpoint (SSE, WebSocket), for every context's live routes.

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
