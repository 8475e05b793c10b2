import type { FastifyInstance } from 'fastify';
import { liveKeys } from '../../../projections/ordering/order-status-redis.js';
import { HttpError } from '../../errors.js';
import type { TokenService } from '../../tokens.js';
import { authorizeOrder, liveCaller, ORDER_ID } from './caller.js';
import type { LiveDeps } from './deps.js';
import { LiveSessionWatch } from './session-watch.js';
import { streamSse } from './sse.js';

// The live endpoints: SSE streams of one order or of a customer's orders (the WebSocket's order topic is
// socket-topic.ts; the socket itself is the gateway's, gateway/live/socket.ts).
// Each connection is authenticated as any request is (token and session), then ended when its token expires
// or its session is revoked (see session-watch.ts).

export type { LiveDeps } from './deps.js';

/** A fresh object per registration, as Fastify marks the route schemas it has seen. */
const orderStreamSchema = () => ({
  params: {
    type: 'object',
    required: ['orderId'],
    properties: { orderId: { type: 'string', pattern: ORDER_ID.source } },
  },
  querystring: {
    type: 'object',
    properties: {
      after: { type: 'integer', minimum: 1, description: 'a command’s position: wait until it is projected' },
      access_token: { type: 'string', maxLength: 4096 },
    },
  },
});

export function livePlugin(deps: LiveDeps, tokens: TokenService) {
  const keys = liveKeys(deps.keyPrefix);
  return async (app: FastifyInstance): Promise<void> => {
    const watch = new LiveSessionWatch(tokens, app.log);
    app.addHook('onClose', async () => watch.stop());

    app.get<{ Params: { orderId: string }; Querystring: { after?: number; access_token?: string } }>(
      '/streams/orders/:orderId',
      { schema: orderStreamSchema() },
      async (request, reply) => {
        const claims = await liveCaller(tokens, request);
        if (request.query.after !== undefined) await deps.caughtUpWith?.(request.query.after);
        await authorizeOrder(deps, claims, request.params.orderId);
        await streamSse(deps, request, reply, keys.order(request.params.orderId), { watch, claims });
      },
    );

    app.get('/streams/me', async (request, reply) => {
      const claims = await liveCaller(tokens, request);
      if (claims.role !== 'customer') {
        throw new HttpError(403, 'FORBIDDEN', '/streams/me follows a customer’s own orders; use /streams/orders/:id');
      }
      await streamSse(deps, request, reply, keys.customer(claims.accountId), { watch, claims });
    });
  };
}
