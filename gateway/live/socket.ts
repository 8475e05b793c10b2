import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { HttpError, isDependencyFailure } from '../errors.js';
import type { AccessClaims, TokenService } from '../tokens.js';
import { liveCaller } from './caller.js';
import type { LiveEntry, LiveHub } from './hub.js';
import { LIVE_END_MESSAGES, type LiveEnd, type LiveSessionWatch } from './session-watch.js';

// One WebSocket connection on /ws: the client subscribes to and unsubscribes from what the contexts offer (an
// order by `orderId`, a context's own channel by `channel`) with JSON messages and receives their updates;
// ping/pong heartbeats cut off a client that went away silently. The connection ends with an `error` message
// (TOKEN_EXPIRED, SESSION_REVOKED) and close code 4401 when its token expires or its session is revoked; every
// new subscribe checks the session first.

/** A subscription a topic recognised in a client message. */
export interface SocketTarget {
  /** Unique per connection across every topic (a second subscribe to it is answered, not made again). */
  readonly id: string;
  /** The fields naming it in every message about it (`{ orderId }`, `{ channel }`). */
  readonly label: Readonly<Record<string, string>>;
}

/**
 * What a context lets a socket follow (contributed by `gateway/<context>/index.ts`). The first topic whose
 * `target` recognises a subscribe or unsubscribe message owns it.
 */
export interface SocketTopic {
  /** The subscription this message is about, or null if it is not this topic's. */
  target(message: Readonly<Record<string, unknown>>): SocketTarget | null;
  /**
   * Checks that the caller may follow it (after any read-your-writes wait the message asks for): the live
   * stream's key, or the error message to send. Throws only for an outage.
   */
  admit(claims: AccessClaims, target: SocketTarget, message: Readonly<Record<string, unknown>>): Promise<Admission>;
  /** The message an entry of the stream becomes. */
  status(entry: LiveEntry, target: SocketTarget): object;
}

export type Admission = { readonly key: string } | { readonly refusal: object };

const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;
/** Close codes: 4401 means "authenticate again" (as for a refused connection); 1013 is "try again later". */
const CLOSE_CODES: Readonly<Record<LiveEnd, number>> = {
  TOKEN_EXPIRED: 4401,
  SESSION_REVOKED: 4401,
  DEPENDENCY_UNAVAILABLE: 1013,
};

type ClientMessage = Readonly<Record<string, unknown>>;

/** What every connection of the endpoint shares. */
export interface LiveSocketEnv {
  readonly hub: LiveHub;
  readonly tokens: TokenService;
  readonly watch: LiveSessionWatch;
  readonly topics: readonly SocketTopic[];
  readonly heartbeatMs?: number;
}

/**
 * The subscribe messages of one target not answered yet. They are answered one after the other: a subscribe
 * for a target whose subscription is being made waits for that one's outcome, so the client never hears
 * `subscribed` for a subscription that then failed (issue 12).
 */
interface TargetQueue {
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
  readonly queues: Map<string, TargetQueue>;
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
  const heartbeat = startHeartbeat(socket, send, env.heartbeatMs ?? 15_000);
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
  message: 'send a JSON object: {"type":"subscribe","orderId":"..."} or {"type":"subscribe","channel":"..."}',
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
  if (message.type === 'ping') return conn.send({ type: 'pong' });
  if (message.type !== 'subscribe' && message.type !== 'unsubscribe') {
    return conn.send({ type: 'error', code: 'UNKNOWN_MESSAGE_TYPE', message: 'types: subscribe, unsubscribe, ping' });
  }
  const found = findTarget(conn.env.topics, message);
  if (!found) {
    const channel = typeof message.channel === 'string' ? message.channel.slice(0, 64) : String(message.channel);
    return conn.send({ type: 'error', code: 'UNKNOWN_CHANNEL', channel, message: `there is no channel ${channel}` });
  }
  return message.type === 'subscribe'
    ? subscribe(conn, found.topic, found.target, message, seq)
    : unsubscribe(conn, found.target, seq);
}

function findTarget(
  topics: readonly SocketTopic[],
  message: ClientMessage,
): { topic: SocketTopic; target: SocketTarget } | null {
  for (const topic of topics) {
    const target = topic.target(message);
    if (target) return { topic, target };
  }
  return null;
}

async function subscribe(
  conn: Connection,
  topic: SocketTopic,
  target: SocketTarget,
  message: ClientMessage,
  seq: number,
): Promise<void> {
  const queue = conn.queues.get(target.id) ?? { count: 0, attempt: null, unsubscribedAt: 0 };
  conn.queues.set(target.id, queue);
  queue.count++;
  try {
    while (queue.attempt) await queue.attempt;
    const cancelled = () => queue.unsubscribedAt > seq || conn.socket.readyState !== conn.socket.OPEN;
    if (cancelled()) return;
    if (conn.subscriptions.has(target.id)) return conn.send({ type: 'subscribed', ...target.label });
    const attempts = [...conn.queues.values()].filter((q) => q.attempt).length;
    if (conn.subscriptions.size + attempts >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
      return conn.send({ type: 'error', code: 'TOO_MANY_SUBSCRIPTIONS', ...target.label });
    }
    const attempt = makeSubscription(conn, topic, target, message, cancelled);
    queue.attempt = attempt.then(
      () => undefined,
      () => undefined,
    );
    try {
      await attempt;
    } catch (error) {
      conn.log.warn({ err: error, subscription: target.id }, 'websocket subscription failed');
      const code = isDependencyFailure(error) ? 'DEPENDENCY_UNAVAILABLE' : 'INTERNAL';
      const what = Object.values(target.label).join(' ');
      conn.send({ type: 'error', code, ...target.label, message: `the subscription to ${what} could not be made` });
    } finally {
      queue.attempt = null;
    }
  } finally {
    queue.count--;
    if (queue.count === 0) conn.queues.delete(target.id);
  }
}

/**
 * Checks the session, then lets the topic admit the caller, then subscribes; answers `subscribed` or an error.
 * Does nothing more once `cancelled` (an unsubscribe meanwhile, or the socket closed).
 */
async function makeSubscription(
  conn: Connection,
  topic: SocketTopic,
  target: SocketTarget,
  message: ClientMessage,
  cancelled: () => boolean,
): Promise<void> {
  const ended = await conn.env.watch.ended(conn.claims);
  if (ended) return conn.end(ended);
  const admission = await topic.admit(conn.claims, target, message);
  if ('refusal' in admission) return conn.send(admission.refusal);
  if (cancelled()) return;
  const after = typeof message.after === 'string' && /^\d+-\d+$/.test(message.after) ? message.after : undefined;
  const unsubscribe = await conn.env.hub.subscribe(
    admission.key,
    (entry) => conn.send(topic.status(entry, target)),
    after,
  );
  if (cancelled()) {
    unsubscribe();
    return;
  }
  conn.subscriptions.set(target.id, unsubscribe);
  conn.send({ type: 'subscribed', ...target.label });
}

function unsubscribe(conn: Connection, target: SocketTarget, seq: number): void {
  const queue = conn.queues.get(target.id);
  if (queue) queue.unsubscribedAt = seq; // subscribes sent before this one are cancelled
  conn.subscriptions.get(target.id)?.();
  conn.subscriptions.delete(target.id);
  conn.send({ type: 'unsubscribed', ...target.label });
}
