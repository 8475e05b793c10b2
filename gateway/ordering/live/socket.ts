import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { HttpError, isDependencyFailure } from '../../errors.js';
import type { LiveEntry } from '../../live/hub.js';
import type { AccessClaims, TokenService } from '../../tokens.js';
import { authorizeOrder, liveCaller } from './caller.js';
import type { LiveDeps } from './deps.js';
import { LIVE_END_MESSAGES, type LiveEnd, type LiveSessionWatch } from './session-watch.js';

// One WebSocket connection on /ws: the client subscribes to and unsubscribes from orders with JSON messages
// and receives their status updates; ping/pong heartbeats cut off a client that went away silently. The
// connection ends with an `error` message (TOKEN_EXPIRED, SESSION_REVOKED) and close code 4401 when its token
// expires or its session is revoked; every new subscribe checks the session first.

const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;
/** Close codes: 4401 means "authenticate again" (as for a refused connection); 1013 is "try again later". */
const CLOSE_CODES: Readonly<Record<LiveEnd, number>> = {
  TOKEN_EXPIRED: 4401,
  SESSION_REVOKED: 4401,
  DEPENDENCY_UNAVAILABLE: 1013,
};

interface ClientMessage {
  type?: unknown;
  orderId?: unknown;
  after?: unknown;
  position?: unknown;
}

/** What every connection of the endpoint shares. */
export interface LiveSocketEnv {
  readonly deps: LiveDeps;
  readonly tokens: TokenService;
  readonly watch: LiveSessionWatch;
  readonly orderKey: (orderId: string) => string;
}

/**
 * The subscribe messages of one order not answered yet. They are answered one after the other: a subscribe
 * for an order whose subscription is being made waits for that one's outcome, so the client never hears
 * `subscribed` for a subscription that then failed (issue 12).
 */
interface OrderQueue {
  /** Subscribe messages waiting or being handled. */
  count: number;
  /** The attempt being made (settled, never rejected), which the others wait for. */
  attempt: Promise<void> | null;
  /** The sequence number of the last unsubscribe: subscribes sent before it are cancelled. */
  unsubscribedAt: number;
}

/** One connection's state. */
interface Connection {
  readonly env: LiveSocketEnv;
  readonly log: FastifyRequest['log'];
  readonly socket: WebSocket;
  readonly claims: AccessClaims;
  readonly subscriptions: Map<string, () => void>;
  readonly queues: Map<string, OrderQueue>;
  /** Sends a message if the socket is still open. */
  readonly send: (message: object) => void;
  /** Tells the client why, then closes the connection. */
  readonly end: (reason: LiveEnd) => void;
}

/** Serves one WebSocket connection: authenticates it, then answers its messages until it closes. */
export function serveLiveSocket(env: LiveSocketEnv, socket: WebSocket, request: FastifyRequest): void {
  const send = (message: object) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  // Listening starts now: messages the client sends while it is being authenticated wait for the outcome.
  const ready = authenticateSocket(env.tokens, socket, request, send).then((claims) =>
    claims ? open(env, socket, request, claims, send) : null,
  );
  let received = 0;
  socket.on('message', (raw: Buffer) => {
    const seq = ++received;
    void ready
      .then((conn) => (conn ? handleMessage(conn, raw, seq) : undefined))
      .catch((error: unknown) => {
        request.log.warn({ err: error }, 'websocket message failed');
        const code = isDependencyFailure(error) ? 'DEPENDENCY_UNAVAILABLE' : 'INTERNAL';
        send({ type: 'error', code, message: 'the message could not be handled' });
      });
  });
  socket.on('close', () => {
    void ready.then((conn) => conn && release(conn));
  });
}

/** The caller, or null after telling the client why not and closing the socket (4401, or 1013 for an outage). */
async function authenticateSocket(
  tokens: TokenService,
  socket: WebSocket,
  request: FastifyRequest,
  send: (message: object) => void,
): Promise<AccessClaims | null> {
  try {
    return await liveCaller(tokens, request);
  } catch (error) {
    if (!(error instanceof HttpError) && isDependencyFailure(error)) {
      request.log.warn({ err: error }, 'websocket session could not be checked');
      send({ type: 'error', code: 'DEPENDENCY_UNAVAILABLE', message: LIVE_END_MESSAGES.DEPENDENCY_UNAVAILABLE });
      socket.close(CLOSE_CODES.DEPENDENCY_UNAVAILABLE, 'DEPENDENCY_UNAVAILABLE');
      return null;
    }
    const code = error instanceof HttpError ? error.code : 'UNAUTHENTICATED';
    const message = error instanceof HttpError ? error.message : 'the connection could not be authenticated';
    send({ type: 'error', code, message: `${message} (authenticate with ?access_token= or Authorization)` });
    socket.close(4401, code);
    return null;
  }
}

function open(
  env: LiveSocketEnv,
  socket: WebSocket,
  request: FastifyRequest,
  claims: AccessClaims,
  send: (message: object) => void,
): Connection {
  let ended = false;
  const conn: Connection = {
    env,
    log: request.log,
    socket,
    claims,
    subscriptions: new Map(),
    queues: new Map(),
    send,
    end: (reason) => {
      if (ended) return;
      ended = true;
      send({ type: 'error', code: reason, message: LIVE_END_MESSAGES[reason] });
      socket.close(CLOSE_CODES[reason], reason);
      release(conn);
    },
  };
  const heartbeat = startHeartbeat(socket, send, env.deps.heartbeatMs ?? 15_000);
  const stopWatching = env.watch.watch(claims, conn.end);
  releases.set(conn, () => {
    clearInterval(heartbeat);
    stopWatching();
  });
  if (socket.readyState !== socket.OPEN) release(conn); // closed while it was being authenticated
  request.log.debug({ sessionId: claims.sessionId }, 'websocket opened');
  return conn;
}

const releases = new WeakMap<Connection, () => void>();

/** Stops the heartbeat, the session watch and every subscription; idempotent. */
function release(conn: Connection): void {
  releases.get(conn)?.();
  releases.delete(conn);
  for (const unsubscribe of conn.subscriptions.values()) unsubscribe();
  conn.subscriptions.clear();
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

const invalidMessage = {
  type: 'error',
  code: 'INVALID_MESSAGE',
  message: 'send a JSON object: {"type":"subscribe","orderId":"..."}',
};

async function handleMessage(conn: Connection, raw: Buffer, seq: number): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return conn.send(invalidMessage);
  }
  // `null`, a number, a string or an array is JSON, but not a message.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return conn.send(invalidMessage);
  const message = parsed as ClientMessage;
  const orderId = typeof message.orderId === 'string' ? message.orderId : '';
  switch (message.type) {
    case 'subscribe':
      return subscribe(conn, orderId, message, seq);
    case 'unsubscribe':
      return unsubscribe(conn, orderId, seq);
    case 'ping':
      return conn.send({ type: 'pong' });
    default:
      return conn.send({ type: 'error', code: 'UNKNOWN_MESSAGE_TYPE', message: 'types: subscribe, unsubscribe, ping' });
  }
}

async function subscribe(conn: Connection, orderId: string, message: ClientMessage, seq: number): Promise<void> {
  const queue = conn.queues.get(orderId) ?? { count: 0, attempt: null, unsubscribedAt: 0 };
  conn.queues.set(orderId, queue);
  queue.count++;
  try {
    while (queue.attempt) await queue.attempt;
    const cancelled = () => queue.unsubscribedAt > seq || conn.socket.readyState !== conn.socket.OPEN;
    if (cancelled()) return;
    if (conn.subscriptions.has(orderId)) return conn.send({ type: 'subscribed', orderId });
    const attempts = [...conn.queues.values()].filter((q) => q.attempt).length;
    if (conn.subscriptions.size + attempts >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
      return conn.send({ type: 'error', code: 'TOO_MANY_SUBSCRIPTIONS', orderId });
    }
    const attempt = makeSubscription(conn, orderId, message, cancelled);
    queue.attempt = attempt.then(
      () => undefined,
      () => undefined,
    );
    try {
      await attempt;
    } catch (error) {
      conn.log.warn({ err: error, orderId }, 'websocket subscription failed');
      const code = isDependencyFailure(error) ? 'DEPENDENCY_UNAVAILABLE' : 'INTERNAL';
      conn.send({ type: 'error', code, orderId, message: `the subscription to ${orderId} could not be made` });
    } finally {
      queue.attempt = null;
    }
  } finally {
    queue.count--;
    if (queue.count === 0) conn.queues.delete(orderId);
  }
}

/**
 * Checks the session, the position and the caller's right to the order, then subscribes; answers `subscribed`
 * or an error. Does nothing more once `cancelled` (an unsubscribe meanwhile, or the socket closed).
 */
async function makeSubscription(
  conn: Connection,
  orderId: string,
  message: ClientMessage,
  cancelled: () => boolean,
): Promise<void> {
  const ended = await conn.env.watch.ended(conn.claims);
  if (ended) return conn.end(ended);
  const refusal = await admit(conn, orderId, message.position);
  if (refusal) return conn.send(refusal);
  if (cancelled()) return;
  const after = typeof message.after === 'string' && /^\d+-\d+$/.test(message.after) ? message.after : undefined;
  const unsubscribe = await conn.env.deps.hub.subscribe(
    conn.env.orderKey(orderId),
    (entry) => conn.send(statusMessage(orderId, entry)),
    after,
  );
  if (cancelled()) {
    unsubscribe();
    return;
  }
  conn.subscriptions.set(orderId, unsubscribe);
  conn.send({ type: 'subscribed', orderId });
}

/**
 * Waits until the read model has passed `position` (if given), then checks the caller may see the order.
 * Null if both pass; else the error message to send.
 */
async function admit(conn: Connection, orderId: string, position: unknown): Promise<object | null> {
  try {
    if (typeof position === 'number' && Number.isInteger(position) && position > 0) {
      await conn.env.deps.caughtUpWith?.(position);
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      type: 'error',
      code: typeof code === 'string' ? code : 'PROJECTION_NOT_CAUGHT_UP',
      orderId,
      message: `position ${String(position)} is not in the read model yet`,
    };
  }
  try {
    await authorizeOrder(conn.env.deps, conn.claims, orderId);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error; // the read model unreachable: not a "not found"
    return { type: 'error', code: 'ORDER_NOT_FOUND', orderId, message: `order ${orderId} does not exist` };
  }
  return null;
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

function unsubscribe(conn: Connection, orderId: string, seq: number): void {
  const queue = conn.queues.get(orderId);
  if (queue) queue.unsubscribedAt = seq; // subscribes sent before this one are cancelled
  conn.subscriptions.get(orderId)?.();
  conn.subscriptions.delete(orderId);
  conn.send({ type: 'unsubscribed', orderId });
}
