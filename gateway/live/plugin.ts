import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { liveKeys } from '../../projections/ordering/order-status-redis.js';
import { type AccessLookups, canSeeOrder, type OrderParties } from '../access.js';
import { authenticate } from '../auth.js';
import { HttpError } from '../errors.js';
import type { Principal, TokenService } from '../identity/tokens.js';
import type { LiveEntry, LiveHub } from './hub.js';

export interface LiveDeps extends AccessLookups {
  readonly hub: LiveHub;
  readonly keyPrefix: string;
  readonly orderParties: (orderId: string) => Promise<OrderParties | null>;
  /**
   * Read-your-writes before the access check: waits until the orders read model has passed a command's
   * position, so a client can follow the order it has just placed (else it would not be found yet).
   */
  readonly caughtUpWith?: (position: number) => Promise<void>;
  readonly heartbeatMs?: number;
}

const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

/** Browsers' EventSource and WebSocket cannot set headers, so a token may also come as ?access_token=. */
function liveCaller(tokens: TokenService, request: FastifyRequest): Principal {
  const query = request.query as { access_token?: unknown };
  if (!request.headers.authorization && typeof query.access_token === 'string') {
    return tokens.verify(query.access_token);
  }
  return authenticate(tokens, request);
}

async function authorizeOrder(deps: LiveDeps, principal: Principal, orderId: string): Promise<void> {
  const parties = ORDER_ID.test(orderId) ? await deps.orderParties(orderId) : null;
  if (!parties || !(await canSeeOrder(deps, principal, parties))) {
    throw new HttpError(404, 'ORDER_NOT_FOUND', `order ${orderId} does not exist`);
  }
}

/** SSE: each entry is an event whose id is the stream entry id, so the browser's Last-Event-ID resumes it. */
async function streamSse(deps: LiveDeps, request: FastifyRequest, reply: FastifyReply, key: string): Promise<void> {
  const lastEventId = request.headers['last-event-id'];
  const after = typeof lastEventId === 'string' && /^\d+-\d+$/.test(lastEventId) ? lastEventId : undefined;
  const raw = reply.raw;
  const format = (entry: LiveEntry) => `id: ${entry.id}\nevent: status\ndata: ${JSON.stringify(entry.data)}\n\n`;
  // Subscribed before the 200 goes out: if Redis is down the client gets a 503 it can act on, not a silent
  // stream of heartbeats. What arrives meanwhile (the current status first) waits for the headers.
  const early: LiveEntry[] = [];
  let streaming = false;
  const unsubscribe = await deps.hub.subscribe(
    key,
    (entry) => (streaming ? raw.write(format(entry)) : early.push(entry)),
    after ?? 'latest',
  );
  if (request.socket.destroyed) {
    unsubscribe(); // the client left while we subscribed
    reply.hijack(); // nothing to answer
    return;
  }
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  raw.write(`retry: 2000\n\n${early.map(format).join('')}`);
  streaming = true;
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), deps.heartbeatMs ?? 15_000);
  // The response never ends on its own: its 'close' is the connection going away.
  raw.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

export function livePlugin(deps: LiveDeps, tokens: TokenService) {
  const keys = liveKeys(deps.keyPrefix);
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { orderId: string }; Querystring: { after?: number; access_token?: string } }>(
      '/streams/orders/:orderId',
      {
        schema: {
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
        },
      },
      async (request, reply) => {
        const principal = liveCaller(tokens, request);
        if (request.query.after !== undefined) await deps.caughtUpWith?.(request.query.after);
        await authorizeOrder(deps, principal, request.params.orderId);
        await streamSse(deps, request, reply, keys.order(request.params.orderId));
      },
    );

    app.get('/streams/me', async (request, reply) => {
      const principal = liveCaller(tokens, request);
      if (principal.role !== 'customer') {
        throw new HttpError(403, 'FORBIDDEN', '/streams/me follows a customer’s own orders; use /streams/orders/:id');
      }
      await streamSse(deps, request, reply, keys.customer(principal.accountId));
    });

    await app.register(websocket, { options: { maxPayload: 16 * 1024 } });
    app.get('/ws', { websocket: true }, (socket: WebSocket, request) => {
      let principal: Principal;
      try {
        principal = liveCaller(tokens, request);
      } catch (error) {
        const code = error instanceof HttpError ? error.code : 'UNAUTHENTICATED';
        socket.send(
          JSON.stringify({ type: 'error', code, message: 'authenticate with ?access_token= or Authorization' }),
        );
        socket.close(4401, code);
        return;
      }
      const subscriptions = new Map<string, () => void>();
      // Subscriptions being made (authorisation and backlog take a round trip) and those cancelled meanwhile.
      const pending = new Set<string>();
      const cancelled = new Set<string>();
      const send = (message: object) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
      };
      let alive = true;
      socket.on('pong', () => {
        alive = true;
      });
      const heartbeat = setInterval(() => {
        if (!alive) {
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
        send({ type: 'heartbeat', at: new Date().toISOString() });
      }, deps.heartbeatMs ?? 15_000);

      socket.on('message', (raw: Buffer) => {
        void (async () => {
          let message: { type?: unknown; orderId?: unknown; after?: unknown; position?: unknown };
          try {
            message = JSON.parse(raw.toString('utf8')) as typeof message;
          } catch {
            send({
              type: 'error',
              code: 'INVALID_MESSAGE',
              message: 'send JSON: {"type":"subscribe","orderId":"..."}',
            });
            return;
          }
          const orderId = typeof message.orderId === 'string' ? message.orderId : '';
          switch (message.type) {
            case 'subscribe': {
              if (subscriptions.has(orderId) || pending.has(orderId)) return send({ type: 'subscribed', orderId });
              if (subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
                return send({ type: 'error', code: 'TOO_MANY_SUBSCRIPTIONS', orderId });
              }
              pending.add(orderId);
              try {
                if (
                  typeof message.position === 'number' &&
                  Number.isInteger(message.position) &&
                  message.position > 0
                ) {
                  await deps.caughtUpWith?.(message.position);
                }
              } catch (error) {
                pending.delete(orderId);
                cancelled.delete(orderId);
                const code = (error as { code?: unknown }).code;
                return send({
                  type: 'error',
                  code: typeof code === 'string' ? code : 'PROJECTION_NOT_CAUGHT_UP',
                  orderId,
                  message: `position ${String(message.position)} is not in the read model yet`,
                });
              }
              try {
                await authorizeOrder(deps, principal, orderId);
              } catch {
                pending.delete(orderId);
                cancelled.delete(orderId);
                return send({
                  type: 'error',
                  code: 'ORDER_NOT_FOUND',
                  orderId,
                  message: `order ${orderId} does not exist`,
                });
              }
              const after =
                typeof message.after === 'string' && /^\d+-\d+$/.test(message.after) ? message.after : undefined;
              const unsubscribe = await deps.hub
                .subscribe(
                  keys.order(orderId),
                  // The contract's status event ({ orderId, status, version, position }) at the top level, as
                  // SSE sends it; `data` carries the whole entry (customer, restaurant, updatedAt) as well.
                  (entry) =>
                    send({
                      type: 'status',
                      id: entry.id,
                      orderId,
                      status: entry.data.status,
                      version: entry.data.version,
                      position: entry.data.position,
                      data: entry.data,
                    }),
                  after,
                )
                .catch((error: unknown) => {
                  cancelled.delete(orderId); // an unsubscribe meanwhile must not cancel a later subscribe
                  throw error;
                })
                .finally(() => pending.delete(orderId));
              // The socket may have closed, or the order been unsubscribed, while this subscription was being made.
              if (socket.readyState !== socket.OPEN || cancelled.delete(orderId)) {
                unsubscribe();
                return;
              }
              subscriptions.set(orderId, unsubscribe);
              return send({ type: 'subscribed', orderId });
            }
            case 'unsubscribe':
              if (pending.has(orderId)) cancelled.add(orderId);
              subscriptions.get(orderId)?.();
              subscriptions.delete(orderId);
              return send({ type: 'unsubscribed', orderId });
            case 'ping':
              return send({ type: 'pong' });
            default:
              return send({
                type: 'error',
                code: 'UNKNOWN_MESSAGE_TYPE',
                message: 'types: subscribe, unsubscribe, ping',
              });
          }
        })().catch((error: unknown) => {
          request.log.warn({ err: error }, 'websocket message failed');
          send({ type: 'error', code: 'INTERNAL', message: 'the message could not be handled' });
        });
      });
      socket.on('close', () => {
        clearInterval(heartbeat);
        for (const unsubscribe of subscriptions.values()) unsubscribe();
        subscriptions.clear();
      });
    });
  };
}
