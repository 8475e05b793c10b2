import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { TokenService } from '../tokens.js';
import type { LiveHub } from './hub.js';
import { LiveSessionWatch } from './session-watch.js';
import { type SocketTopic, serveLiveSocket } from './socket.js';

/** GET /ws: one WebSocket per client for every context's topics (see socket.ts for the protocol). */
export function liveSocketPlugin(
  deps: { readonly hub: LiveHub; readonly topics: readonly SocketTopic[]; readonly heartbeatMs?: number },
  tokens: TokenService,
) {
  return async (app: FastifyInstance): Promise<void> => {
    const watch = new LiveSessionWatch(tokens, app.log);
    app.addHook('onClose', async () => watch.stop());
    await app.register(websocket, { options: { maxPayload: 16 * 1024 } });
    const env = { hub: deps.hub, tokens, watch, topics: deps.topics, heartbeatMs: deps.heartbeatMs };
    app.get('/ws', { websocket: true }, (socket: WebSocket, request) => serveLiveSocket(env, socket, request));
  };
}
