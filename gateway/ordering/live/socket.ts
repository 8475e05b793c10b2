import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { HttpError } from '../../errors.js';
import type { LiveEntry } from '../../live/hub.js';
import type { Principal, TokenService } from '../../tokens.js';
import { authorizeOrder, liveCaller } from './caller.js';
import type { LiveDeps } from './deps.js';

// One WebSocket connection on /ws: the client subscribes to and unsubscribes from orders with JSON messages
// and receives their status updates; ping/pong heartbeats cut off a client that went away silently.

const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

interface ClientMessage {
  type?: unknown;
  orderId?: unknown;
  after?: unknown;
  position?: unknown;
}

/** One connection's state. */
interface Connection {
  readonly deps: LiveDeps;
  readonly orderKey: (orderId: string) => string;
  readonly socket: WebSocket;
  readonly principal: Principal;
  readonly subscriptions: Map<string, () => void>;
  /** Subscriptions being made (authorisation and backlog take a round trip) and those cancelled meanwhile. */
  readonly pending: Set<string>;
  readonly cancelled: Set<string>;
  /** Sends a message if the socket is still open. */
  readonly send: (message: object) => void;
}

/** Serves one WebSocket connection: authenticates it, then answers its messages until it closes. */
export function serveLiveSocket(
  deps: LiveDeps,
  tokens: TokenService,
  orderKey: (orderId: string) => string,
  socket: WebSocket,
  request: FastifyRequest,
): void {
  const principal = authenticateSocket(tokens, socket, request);
  if (!principal) return;
  const send = (message: object) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  const conn: Connection = {
    deps,
    orderKey,
    socket,
    principal,
    subscriptions: new Map(),
    pending: new Set(),
    cancelled: new Set(),
    send,
  };
  const heartbeat = startHeartbeat(socket, send, deps.heartbeatMs ?? 15_000);
  socket.on('message', (raw: Buffer) => {
    void handleMessage(conn, raw).catch((error: unknown) => {
      request.log.warn({ err: error }, 'websocket message failed');
      send({ type: 'error', code: 'INTERNAL', message: 'the message could not be handled' });
    });
  });
  socket.on('close', () => {
    clearInterval(heartbeat);
    for (const unsubscribe of conn.subscriptions.values()) unsubscribe();
    conn.subscriptions.clear();
  });
}

/** The caller, or null after telling the client why not and closing the socket with 4401. */
function authenticateSocket(tokens: TokenService, socket: WebSocket, request: FastifyRequest): Principal | null {
  try {
    return liveCaller(tokens, request);
  } catch (error) {
    const code = error instanceof HttpError ? error.code : 'UNAUTHENTICATED';
    socket.send(JSON.stringify({ type: 'error', code, message: 'authenticate with ?access_token= or Authorization' }));
    socket.close(4401, code);
    return null;
  }
}

/** Pings every `ms` (and sends a heartbeat message); a client that missed the previous pong is terminated. */
function startHeartbeat(socket: WebSocket, send: (message: object) => void, ms: number): NodeJS.Timeout {
  let alive = true;
  socket.on('pong', () => {
    alive = true;
  });
  return setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
    send({ type: 'heartbeat', at: new Date().toISOString() });
  }, ms);
}

async function handleMessage(conn: Connection, raw: Buffer): Promise<void> {
  let message: ClientMessage;
  try {
    message = JSON.parse(raw.toString('utf8')) as ClientMessage;
  } catch {
    return conn.send({
      type: 'error',
      code: 'INVALID_MESSAGE',
      message: 'send JSON: {"type":"subscribe","orderId":"..."}',
    });
  }
  const orderId = typeof message.orderId === 'string' ? message.orderId : '';
  switch (message.type) {
    case 'subscribe':
      return subscribe(conn, orderId, message);
    case 'unsubscribe':
      return unsubscribe(conn, orderId);
    case 'ping':
      return conn.send({ type: 'pong' });
    default:
      return conn.send({ type: 'error', code: 'UNKNOWN_MESSAGE_TYPE', message: 'types: subscribe, unsubscribe, ping' });
  }
}

async function subscribe(conn: Connection, orderId: string, message: ClientMessage): Promise<void> {
  const { subscriptions, pending, cancelled, send, socket } = conn;
  if (subscriptions.has(orderId) || pending.has(orderId)) return send({ type: 'subscribed', orderId });
  if (subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
    return send({ type: 'error', code: 'TOO_MANY_SUBSCRIPTIONS', orderId });
  }
  pending.add(orderId);
  const refusal = await admit(conn, orderId, message.position);
  if (refusal) return send(refusal);
  const after = typeof message.after === 'string' && /^\d+-\d+$/.test(message.after) ? message.after : undefined;
  const unsubscribe = await conn.deps.hub
    .subscribe(conn.orderKey(orderId), (entry) => send(statusMessage(orderId, entry)), after)
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

/**
 * Waits until the read model has passed `position` (if given), then checks the caller may see the order.
 * Null if both pass; else the pending subscription is dropped and the error message to send is returned.
 */
async function admit(conn: Connection, orderId: string, position: unknown): Promise<object | null> {
  try {
    if (typeof position === 'number' && Number.isInteger(position) && position > 0) {
      await conn.deps.caughtUpWith?.(position);
    }
  } catch (error) {
    dropPending(conn, orderId);
    const code = (error as { code?: unknown }).code;
    return {
      type: 'error',
      code: typeof code === 'string' ? code : 'PROJECTION_NOT_CAUGHT_UP',
      orderId,
      message: `position ${String(position)} is not in the read model yet`,
    };
  }
  try {
    await authorizeOrder(conn.deps, conn.principal, orderId);
  } catch {
    dropPending(conn, orderId);
    return { type: 'error', code: 'ORDER_NOT_FOUND', orderId, message: `order ${orderId} does not exist` };
  }
  return null;
}

function dropPending(conn: Connection, orderId: string): void {
  conn.pending.delete(orderId);
  conn.cancelled.delete(orderId);
}

/**
 * The contract's status event ({ orderId, status, version, position }) at the top level, as SSE sends it;
 * `data` carries the whole entry (customer, restaurant, updatedAt) as well.
 */
const statusMessage = (orderId: string, entry: LiveEntry) => ({
  type: 'status',
  id: entry.id,
  orderId,
  status: entry.data.status,
  version: entry.data.version,
  position: entry.data.position,
  data: entry.data,
});

function unsubscribe(conn: Connection, orderId: string): void {
  if (conn.pending.has(orderId)) conn.cancelled.add(orderId);
  conn.subscriptions.get(orderId)?.();
  conn.subscriptions.delete(orderId);
  conn.send({ type: 'unsubscribed', orderId });
}
