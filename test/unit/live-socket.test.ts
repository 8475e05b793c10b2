import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { errorHandler } from '../../gateway/errors.js';
import type { LiveHub } from '../../gateway/live/hub.js';
import { liveSocketPlugin } from '../../gateway/live/socket-plugin.js';
import { marketplaceSocketTopic } from '../../gateway/marketplace/socket-topic.js';
import type { OrderParties } from '../../gateway/ordering/access.js';
import { type LiveDeps, livePlugin } from '../../gateway/ordering/live/plugin.js';
import { orderSocketTopic } from '../../gateway/ordering/live/socket-topic.js';
import { TokenService } from '../../gateway/tokens.js';

// The live endpoints over fakes (no Redis, no read model): the WebSocket protocol and when SSE and WebSocket
// connections end (issue 12). The real stack is in test/e2e/identity-and-live.test.ts.

const SECRET = 'unit-test-secret-of-at-least-32-characters';
const CHECK_MS = 100;

interface Fakes {
  /** Session ids the fake Redis says are revoked. */
  revoked: Set<string>;
  /** Orders that exist, and how long looking one up takes. */
  orders: Map<string, OrderParties>;
  lookupMs: number;
  /** hub.subscribe calls, and whether the next ones fail as if Redis were down. */
  subscribes: string[];
  hubDown: boolean;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const redisDown = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

async function build(): Promise<{ app: FastifyInstance; fakes: Fakes; token: (ttl?: number, sid?: string) => string }> {
  const fakes: Fakes = { revoked: new Set(), orders: new Map(), lookupMs: 0, subscribes: [], hubDown: false };
  const revoked = (key: string) => [...fakes.revoked].some((sid) => key.endsWith(`:${sid}`));
  const redis = {
    exists: async (key: string) => (revoked(key) ? 1 : 0),
    mget: async (...keys: string[]) => keys.map((key) => (revoked(key) ? '1' : null)),
  } as unknown as Redis;
  const options = { secret: SECRET, accessTtlSeconds: 900, refreshTtlSeconds: 3600, sessionCacheMs: CHECK_MS };
  const tokens = new TokenService(redis, options);
  const hub = {
    async subscribe(key: string) {
      await new Promise((r) => setTimeout(r, 10));
      if (fakes.hubDown) throw redisDown();
      fakes.subscribes.push(key);
      return () => {};
    },
  } as unknown as LiveHub;
  const deps: LiveDeps = {
    hub,
    keyPrefix: 'unit.',
    orderParties: async (orderId) => {
      await new Promise((r) => setTimeout(r, fakes.lookupMs));
      return fakes.orders.get(orderId) ?? null;
    },
    restaurantOwner: async () => null,
  };
  const fastify = Fastify();
  fastify.setErrorHandler(errorHandler);
  fastify.decorateRequest('principal', null);
  await fastify.register(livePlugin(deps, tokens));
  const topics = [orderSocketTopic(deps), marketplaceSocketTopic(deps.keyPrefix)];
  await fastify.register(liveSocketPlugin({ hub, topics, heartbeatMs: 60_000 }, tokens));
  // A real loopback listener: the WebSocket plugin is registered inside the live plugin, out of injectWS's reach.
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  app = fastify;
  // Tokens of a given lifetime, signed with the same key (the lifetime is the signer's option).
  const token = (ttl = 900, sid = 'session-1') =>
    new TokenService(redis, { ...options, accessTtlSeconds: ttl }).accessToken(
      { accountId: 'customer-1', role: 'customer' },
      sid,
    );
  return { app: fastify, fakes, token };
}

interface Received {
  type: string;
  code?: string;
  orderId?: string;
  channel?: string;
}

/** A WebSocket on the in-process app, recording what it receives and how it closed. */
async function connect(fastify: FastifyInstance, token: string) {
  const messages: Received[] = [];
  let closed: { code: number; reason: string } | null = null;
  const { port } = fastify.server.address() as AddressInfo;
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws?access_token=${token}`);
  socket.on('message', (raw) => messages.push(JSON.parse(String(raw)) as Received));
  socket.on('close', (code, reason) => {
    closed = { code, reason: String(reason) };
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const until = async (what: string, check: () => boolean, timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    messages,
    closed: () => closed as { code: number; reason: string } | null,
    send: (text: string) => socket.send(text),
    until,
    close: () => socket.terminate(),
  };
}

const order = (customerId = 'customer-1'): OrderParties => ({ customerId, restaurantId: 'r-1' });

describe('WebSocket /ws: messages that are not subscribe requests', () => {
  it.each(['null', '42', '"subscribe"', '[]', 'true'])(
    'answers INVALID_MESSAGE to the JSON frame %s',
    async (frame) => {
      const { app, token } = await build();
      const ws = await connect(app, token());
      ws.send(frame);
      await ws.until('an answer', () => ws.messages.length > 0);
      expect(ws.messages[0]).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE' });
      // The connection stays usable.
      ws.send(JSON.stringify({ type: 'ping' }));
      await ws.until('the pong', () => ws.messages.some((m) => m.type === 'pong'));
      ws.close();
    },
  );
});

describe('WebSocket /ws: a subscribe for an order whose subscription is still being made', () => {
  it('never answers subscribed when the first one fails: both get its error', async () => {
    const { app, fakes, token } = await build();
    fakes.lookupMs = 150; // the order does not exist; finding that out takes a while
    const ws = await connect(app, token());
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-missing' }));
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-missing' }));
    await ws.until('two answers', () => ws.messages.length >= 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(ws.messages).toEqual([
      expect.objectContaining({ type: 'error', code: 'ORDER_NOT_FOUND', orderId: 'o-missing' }),
      expect.objectContaining({ type: 'error', code: 'ORDER_NOT_FOUND', orderId: 'o-missing' }),
    ]);
    expect(fakes.subscribes).toEqual([]);
    ws.close();
  });

  it('answers subscribed to both once the first succeeds, with one subscription made', async () => {
    const { app, fakes, token } = await build();
    fakes.lookupMs = 100;
    fakes.orders.set('o-1', order());
    const ws = await connect(app, token());
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-1' }));
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-1' }));
    await ws.until('two answers', () => ws.messages.length >= 2);
    expect(ws.messages).toEqual([
      { type: 'subscribed', orderId: 'o-1' },
      { type: 'subscribed', orderId: 'o-1' },
    ]);
    expect(fakes.subscribes).toEqual(['unit.live:order:o-1']);
    ws.close();
  });

  it('answers DEPENDENCY_UNAVAILABLE, not INTERNAL, when Redis is down, and lets the next subscribe try again', async () => {
    const { app, fakes, token } = await build();
    fakes.orders.set('o-1', order());
    fakes.hubDown = true;
    const ws = await connect(app, token());
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-1' }));
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-1' }));
    await ws.until('two answers', () => ws.messages.length >= 2);
    expect(ws.messages.map((m) => m.code)).toEqual(['DEPENDENCY_UNAVAILABLE', 'DEPENDENCY_UNAVAILABLE']);
    fakes.hubDown = false;
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-1' }));
    await ws.until('the subscription', () => ws.messages.some((m) => m.type === 'subscribed'));
    ws.close();
  });

  it('a subscribe, unsubscribe, subscribe sequence ends subscribed; subscribe, subscribe, unsubscribe ends not', async () => {
    const { app, fakes, token } = await build();
    fakes.lookupMs = 100;
    fakes.orders.set('o-1', order());
    fakes.orders.set('o-2', order());
    const ws = await connect(app, token());
    for (const type of ['subscribe', 'unsubscribe', 'subscribe']) ws.send(JSON.stringify({ type, orderId: 'o-1' }));
    for (const type of ['subscribe', 'subscribe', 'unsubscribe']) ws.send(JSON.stringify({ type, orderId: 'o-2' }));
    await ws.until('o-1 subscribed', () => ws.messages.some((m) => m.type === 'subscribed' && m.orderId === 'o-1'));
    await new Promise((r) => setTimeout(r, 400));
    expect(ws.messages.filter((m) => m.orderId === 'o-1').map((m) => m.type)).toEqual(['unsubscribed', 'subscribed']);
    expect(ws.messages.filter((m) => m.orderId === 'o-2').map((m) => m.type)).toEqual(['unsubscribed']);
    ws.close();
  });
});

describe("WebSocket /ws: a context's channel beside the orders", () => {
  it("subscribes to the marketplace channel: the caller's own stream, answered with the channel", async () => {
    const { app, fakes, token } = await build();
    fakes.orders.set('o-1', order());
    const ws = await connect(app, token());
    ws.send(JSON.stringify({ type: 'subscribe', channel: 'marketplace' }));
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-1' }));
    await ws.until('two subscriptions', () => ws.messages.filter((m) => m.type === 'subscribed').length === 2);
    expect(ws.messages).toEqual([
      { type: 'subscribed', channel: 'marketplace' },
      { type: 'subscribed', orderId: 'o-1' },
    ]);
    // The account's own live stream: another account's cannot be named in the message.
    expect(fakes.subscribes).toEqual(['unit.mkt:live:customer-1', 'unit.live:order:o-1']);
    ws.send(JSON.stringify({ type: 'unsubscribe', channel: 'marketplace' }));
    await ws.until('the unsubscribe', () => ws.messages.some((m) => m.type === 'unsubscribed'));
    expect(ws.messages.at(-1)).toEqual({ type: 'unsubscribed', channel: 'marketplace' });
    ws.close();
  });

  it.each([['"billing"'], ['null'], ['7']])('refuses the unknown channel %s with UNKNOWN_CHANNEL', async (channel) => {
    const { app, fakes, token } = await build();
    const ws = await connect(app, token());
    ws.send(`{"type":"subscribe","channel":${channel}}`);
    await ws.until('an answer', () => ws.messages.length > 0);
    expect(ws.messages[0]).toMatchObject({ type: 'error', code: 'UNKNOWN_CHANNEL' });
    expect(fakes.subscribes).toEqual([]);
    ws.close();
  });
});

describe('live connections end when their token does (issue 12)', () => {
  it('WebSocket: closed at the token’s expiry with TOKEN_EXPIRED', async () => {
    const { app, token } = await build();
    const ws = await connect(app, token(1));
    await ws.until('the close', () => ws.closed() !== null, 3000);
    expect(ws.messages.at(-1)).toMatchObject({ type: 'error', code: 'TOKEN_EXPIRED' });
    expect(ws.closed()).toEqual({ code: 4401, reason: 'TOKEN_EXPIRED' });
  });

  it('WebSocket: closed with SESSION_REVOKED when its session is revoked, without waiting for a message', async () => {
    const { app, fakes, token } = await build();
    const ws = await connect(app, token(900, 'to-revoke'));
    fakes.revoked.add('to-revoke');
    await ws.until('the close', () => ws.closed() !== null, CHECK_MS * 10);
    expect(ws.messages.at(-1)).toMatchObject({ type: 'error', code: 'SESSION_REVOKED' });
    expect(ws.closed()).toEqual({ code: 4401, reason: 'SESSION_REVOKED' });
  });

  it('WebSocket: a subscribe after the session was revoked is refused and the socket closed', async () => {
    const { app, fakes, token } = await build();
    fakes.orders.set('o-1', order());
    const ws = await connect(app, token(900, 'to-revoke'));
    fakes.revoked.add('to-revoke');
    await new Promise((r) => setTimeout(r, CHECK_MS + 10)); // past the cache window of the connect's check
    ws.send(JSON.stringify({ type: 'subscribe', orderId: 'o-1' }));
    await ws.until('the close', () => ws.closed() !== null, 2000);
    expect(ws.messages.some((m) => m.type === 'subscribed')).toBe(false);
    expect(ws.messages.at(-1)).toMatchObject({ type: 'error', code: 'SESSION_REVOKED' });
  });

  it('WebSocket: refused at once with SESSION_REVOKED when the session is already revoked', async () => {
    const { app, fakes, token } = await build();
    fakes.revoked.add('gone');
    const ws = await connect(app, token(900, 'gone'));
    await ws.until('the close', () => ws.closed() !== null, 2000);
    expect(ws.messages).toEqual([expect.objectContaining({ type: 'error', code: 'SESSION_REVOKED' })]);
  });

  it('SSE: the stream ends at the token’s expiry with a final `end` event saying TOKEN_EXPIRED', async () => {
    const { app, token } = await build();
    const response = await app.inject({
      method: 'GET',
      url: '/streams/me',
      headers: { authorization: `Bearer ${token(1)}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(/event: end\ndata: \{"code":"TOKEN_EXPIRED","message":"[^"]+"\}\n\n$/);
  }, 5000);

  it('SSE: the stream ends with SESSION_REVOKED when its session is revoked', async () => {
    const { app, fakes, token } = await build();
    const answer = app.inject({
      method: 'GET',
      url: `/streams/me?access_token=${token(900, 'to-revoke')}`,
    });
    await new Promise((r) => setTimeout(r, 50));
    fakes.revoked.add('to-revoke');
    const response = await answer;
    expect(response.body).toMatch(/event: end\ndata: \{"code":"SESSION_REVOKED".*\n\n$/);
  }, 5000);

  it('SSE: a revoked session gets 401 SESSION_REVOKED, not a stream', async () => {
    const { app, fakes, token } = await build();
    fakes.revoked.add('gone');
    const response = await app.inject({
      method: 'GET',
      url: '/streams/me',
      headers: { authorization: `Bearer ${token(900, 'gone')}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: { code: 'SESSION_REVOKED' } });
  });
});
