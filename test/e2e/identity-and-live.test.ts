import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway } from '../../gateway/main.js';
import { uniqueSuffix } from '../support/env.js';
import { baseUrlOf } from '../support/gateway.js';
import { ctx, seedMenu } from '../support/ordering.js';
import { openSse } from '../support/sse.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

let sys: TestSystem;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let base: string;
let menu: { restaurantId: string; menuItemIds: string[] };
const address = { line1: '1 Main St', city: 'Lisbon', postalCode: '1000-001', country: 'PT' };

beforeAll(async () => {
  sys = await startTestSystem('e2eauth');
  gateway = await startGateway(sys.config);
  base = baseUrlOf(gateway.app);
  menu = await seedMenu(sys.write.ordering);
});
afterAll(async () => {
  await gateway?.stop();
  await sys?.close();
});

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : null) as Record<string, unknown>,
  };
};
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function signUp(role = 'customer') {
  const email = `  User.${uniqueSuffix()}@Example.COM `;
  const registered = await call('POST', '/auth/register', { email, password: 'correct horse battery', role });
  expect(registered.status).toBe(201);
  const login = await call('POST', '/auth/login', {
    email: email.trim().toLowerCase(),
    password: 'correct horse battery',
  });
  expect(login.status).toBe(200);
  return {
    email,
    accountId: registered.body.accountId as string,
    ...(login.body as { accessToken: string; refreshToken: string }),
  };
}

async function placeOrder(accessToken: string) {
  const res = await call(
    'POST',
    '/commands/ordering/place-order',
    {
      restaurantId: menu.restaurantId,
      items: [{ menuItemId: menu.menuItemIds[0], quantity: 1 }],
      payment: { card: '4242424242424242' },
      deliveryAddress: address,
    },
    auth(accessToken),
  );
  expect(res.status).toBe(201);
  const { streamId, position } = res.body as { streamId: string; position: number };
  return { orderId: streamId.replace(/^order-/, ''), position };
}

describe('identity', () => {
  it('registers with a normalised email, logs in, and refuses a second account for the same email', async () => {
    const user = await signUp();
    expect(user.accessToken).toMatch(/^ey/);
    const again = await call('POST', '/auth/register', {
      email: user.email.toUpperCase(),
      password: 'another password',
      role: 'customer',
    });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'EMAIL_TAKEN' } } });
  });

  it('refuses a wrong password, an admin self-registration and a short password', async () => {
    const user = await signUp();
    expect(
      (await call('POST', '/auth/login', { email: user.email.trim(), password: 'wrong password!' })).body,
    ).toMatchObject({
      error: { code: 'INVALID_CREDENTIALS' },
    });
    expect(
      (
        await call('POST', '/auth/register', {
          email: `a${uniqueSuffix()}@x.io`,
          password: 'long enough pw',
          role: 'admin',
        })
      ).status,
    ).toBe(400);
    expect(
      (await call('POST', '/auth/register', { email: `a${uniqueSuffix()}@x.io`, password: 'short', role: 'customer' }))
        .status,
    ).toBe(400);
  });

  it('rotates refresh tokens, and reuse of a used one revokes the whole family', async () => {
    const user = await signUp();
    const rotated = await call('POST', '/auth/refresh', { refreshToken: user.refreshToken });
    expect(rotated.status).toBe(200);
    const next = rotated.body as { refreshToken: string; accessToken: string };
    expect(next.refreshToken).not.toBe(user.refreshToken);
    const reuse = await call('POST', '/auth/refresh', { refreshToken: user.refreshToken });
    expect(reuse).toMatchObject({ status: 401, body: { error: { code: 'REFRESH_TOKEN_REUSED' } } });
    const afterRevoke = await call('POST', '/auth/refresh', { refreshToken: next.refreshToken });
    expect(afterRevoke).toMatchObject({ status: 401, body: { error: { code: 'SESSION_REVOKED' } } });
  });

  it('logs out: the refresh token stops working', async () => {
    const user = await signUp();
    expect((await call('POST', '/auth/logout', { refreshToken: user.refreshToken })).status).toBe(204);
    expect((await call('POST', '/auth/refresh', { refreshToken: user.refreshToken })).status).toBe(401);
  });
});

describe('authentication and authorisation on commands and queries', () => {
  it.each<[string, Record<string, string> | 'wrong-key' | 'expired', string]>([
    ['no token', {}, 'UNAUTHENTICATED'],
    ['a tampered token', { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.Zm9v' }, 'TOKEN_INVALID'],
    ['a token signed with another key', 'wrong-key', 'TOKEN_INVALID'],
    ['an expired token', 'expired', 'TOKEN_EXPIRED'],
  ])('answers 401 to %s', async (_name, spec, code) => {
    let headers: Record<string, string> = typeof spec === 'object' ? spec : {};
    if (spec === 'wrong-key' || spec === 'expired') {
      const secret = spec === 'wrong-key' ? 'another-secret-that-is-at-least-32-chars' : sys.config.jwtSecret;
      const token = jwt.sign(
        {
          role: 'customer',
          exp: spec === 'expired' ? Math.floor(Date.now() / 1000) - 60 : Math.floor(Date.now() / 1000) + 60,
        },
        secret,
        {
          subject: 'someone',
          issuer: 'ledgerline',
          audience: 'ledgerline-api',
        },
      );
      headers = auth(token);
    }
    const res = await call('GET', '/queries/ordering/orders', undefined, headers);
    expect(res).toMatchObject({ status: 401, body: { error: { code } } });
  });

  it('answers 403 to a role the route is not for, and 404 for another customer’s order', async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { orderId, position } = await placeOrder(alice.accessToken);
    const asCustomer = await call(
      'POST',
      '/commands/ordering/open-restaurant',
      { restaurantId: menu.restaurantId },
      auth(alice.accessToken),
    );
    expect(asCustomer).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(
      (await call('GET', `/queries/ordering/orders/${orderId}?after=${position}`, undefined, auth(alice.accessToken)))
        .status,
    ).toBe(200);
    const theirs = await call('GET', `/queries/ordering/orders/${orderId}`, undefined, auth(bob.accessToken));
    expect(theirs).toMatchObject({ status: 404, body: { error: { code: 'ORDER_NOT_FOUND' } } });
    const cancel = await call(
      'POST',
      '/commands/ordering/cancel-order',
      { orderId, reason: 'not mine' },
      auth(bob.accessToken),
    );
    expect(cancel.status).toBe(404);
  });
});

/** Read-your-writes: the order is in the read models (and its owner can subscribe) before the test goes on. */
async function projected(orderId: string, position: number, token: string) {
  const read = await call('GET', `/queries/ordering/orders/${orderId}?after=${position}`, undefined, auth(token));
  expect(read.status).toBe(200);
}

describe('live status', () => {
  it('SSE: after a disconnect, reconnecting with Last-Event-ID delivers the update that was missed', async () => {
    const alice = await signUp();
    const { orderId, position } = await placeOrder(alice.accessToken);
    await projected(orderId, position, alice.accessToken);
    const first = await openSse(`${base}/streams/orders/${orderId}`, auth(alice.accessToken));
    expect(first.status).toBe(200);
    await first.waitFor((events) => events.some((e) => (e.data as { status: string }).status === 'PENDING'));
    const lastEventId = first.events.at(-1)!.id!;
    await first.close();

    await sys.write.ordering.advanceOrder('ConfirmOrder', { orderId, paymentId: 'p-1' }, ctx('saga'));
    const second = await openSse(`${base}/streams/orders/${orderId}`, {
      ...auth(alice.accessToken),
      'last-event-id': lastEventId,
    });
    await second.waitFor((events) => events.some((e) => (e.data as { status: string }).status === 'CONFIRMED'));
    expect(second.events.map((e) => (e.data as { status: string }).status)).toEqual(['CONFIRMED']);
    await second.close();
  });

  it('SSE: ?after=<position> follows an order straight after placing it (read-your-writes before the access check)', async () => {
    const alice = await signUp();
    // The projector is stopped, so the order is certainly not in the read model when the stream is asked for.
    await sys.stopProjector();
    const { orderId, position } = await placeOrder(alice.accessToken);
    const opening = openSse(`${base}/streams/orders/${orderId}?after=${position}`, auth(alice.accessToken));
    const plain = await call('GET', `/streams/orders/${orderId}`, undefined, auth(alice.accessToken));
    expect(plain.status).toBe(404); // without ?after: not (yet) found
    await sys.startProjector();
    const sse = await opening;
    expect(sse.status).toBe(200);
    await sse.waitFor((events) => events.some((e) => (e.data as { status: string }).status === 'PENDING'));
    await sse.close();
    const malformed = await call('GET', '/streams/orders/not%20an%20id', undefined, auth(alice.accessToken));
    expect(malformed.status).toBe(400);
  });

  it('SSE: another customer’s order stream is refused', async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { orderId, position } = await placeOrder(alice.accessToken);
    await projected(orderId, position, alice.accessToken);
    const res = await fetch(`${base}/streams/orders/${orderId}`, { headers: auth(bob.accessToken) });
    expect(res.status).toBe(404);
  });

  it('WebSocket: a subscribed order’s update arrives after a command; someone else’s order is refused', async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { orderId, position } = await placeOrder(alice.accessToken);
    const other = await placeOrder(bob.accessToken);
    await projected(other.orderId, other.position, bob.accessToken);
    const socket = new WebSocket(`${base.replace('http', 'ws')}/ws?access_token=${alice.accessToken}`);
    const messages: { type: string; orderId?: string; code?: string; status?: string; data?: { status: string } }[] =
      [];
    socket.on('message', (raw) => messages.push(JSON.parse(String(raw))));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    // `position`: wait until the order just placed is in the read models before checking access.
    socket.send(JSON.stringify({ type: 'subscribe', orderId, position }));
    socket.send(JSON.stringify({ type: 'subscribe', orderId: other.orderId }));
    await waitUntil(
      async () => messages.some((m) => m.type === 'subscribed') && messages.some((m) => m.type === 'error'),
      5000,
      'both answers',
    );
    expect(messages.find((m) => m.type === 'error')).toMatchObject({ code: 'ORDER_NOT_FOUND', orderId: other.orderId });
    await sys.write.ordering.advanceOrder('ConfirmOrder', { orderId, paymentId: 'p-2' }, ctx('saga'));
    await waitUntil(
      async () => messages.some((m) => m.type === 'status' && m.status === 'CONFIRMED'),
      30_000,
      'the CONFIRMED update',
    );
    // The HTTP contract's status event: { orderId, status, version, position } (plus the entry id and its data).
    expect(messages.find((m) => m.type === 'status' && m.status === 'CONFIRMED')).toMatchObject({
      orderId,
      status: 'CONFIRMED',
      version: 2,
      position: expect.any(Number),
      data: { orderId, status: 'CONFIRMED' },
    });
    socket.close();
  });
});

describe('secrets published in the source never sign or verify (issue 12)', () => {
  it('runs on a generated JWT secret, not the former development default', () => {
    expect(sys.config.jwtSecret).not.toBe('ledgerline-development-secret-change-me-in-production');
    expect(sys.config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(sys.config.stripeWebhookSecret).not.toBe('whsec_ledgerline_simulator');
  });

  it('refuses an admin token forged with the former development secret', async () => {
    const forged = jwt.sign({ role: 'admin', sid: 'forged' }, 'ledgerline-development-secret-change-me-in-production', {
      subject: 'attacker',
      issuer: 'ledgerline',
      audience: 'ledgerline-api',
      expiresIn: 600,
    });
    const res = await call('GET', '/queries/ordering/sagas/any-order', undefined, auth(forged));
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_INVALID' } } });
  });

  it('refuses a payment webhook signed with the former simulator secret', async () => {
    const payload = JSON.stringify({
      id: `evt_${uniqueSuffix()}`,
      object: 'event',
      type: 'payment_intent.amount_capturable_updated',
      data: { object: { id: 'pi_forged', object: 'payment_intent', amount: 1, currency: 'eur', metadata: {} } },
    });
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', 'whsec_ledgerline_simulator').update(`${t}.${payload}`).digest('hex');
    const res = await fetch(`${base}/webhooks/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` },
      body: payload,
    });
    expect({ status: res.status, body: await res.json() }).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_WEBHOOK_SIGNATURE' } },
    });
  });

  it('refuses a well-signed access token without exp', async () => {
    const user = await signUp();
    const { sid } = jwt.decode(user.accessToken, { json: true }) as { sid: string };
    const eternal = jwt.sign({ role: 'customer', sid }, sys.config.jwtSecret, {
      subject: user.accountId,
      issuer: 'ledgerline',
      audience: 'ledgerline-api',
    });
    const res = await call('GET', '/queries/ordering/orders', undefined, auth(eternal));
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_INVALID' } } });
  });
});

/** Polls until `check` holds; revocation is documented to take effect within 2 s (the session cache). */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  await waitUntil(async () => (await check()) || undefined, ms, what);
}

describe('revocation reaches access tokens and live connections (issue 12)', () => {
  const ordersWith = (token: string) => call('GET', '/queries/ordering/orders', undefined, auth(token));
  const revoked = async (token: string) => {
    const res = await ordersWith(token);
    if (res.status === 200) return false;
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'SESSION_REVOKED' } } });
    return true;
  };

  it('logout: the access token stops working within 2 s, on every gateway', async () => {
    const other = await startGateway({ ...sys.config, httpPort: 0 });
    try {
      const user = await signUp();
      const elsewhere = () =>
        fetch(`${baseUrlOf(other.app)}/queries/ordering/orders`, { headers: auth(user.accessToken) });
      expect((await ordersWith(user.accessToken)).status).toBe(200);
      expect((await elsewhere()).status).toBe(200); // now cached as valid on the other gateway
      expect((await call('POST', '/auth/logout', { refreshToken: user.refreshToken })).status).toBe(204);
      expect(await revoked(user.accessToken)).toBe(true); // at once on the gateway that logged out
      await within(2500, 'the other gateway to see the logout', async () => (await elsewhere()).status === 401);
    } finally {
      await other.stop();
    }
  });

  it('refresh-token reuse: every access token of the session stops working', async () => {
    const user = await signUp();
    const rotated = (await call('POST', '/auth/refresh', { refreshToken: user.refreshToken })).body as {
      accessToken: string;
    };
    expect((await ordersWith(rotated.accessToken)).status).toBe(200);
    const reuse = await call('POST', '/auth/refresh', { refreshToken: user.refreshToken });
    expect(reuse).toMatchObject({ status: 401, body: { error: { code: 'REFRESH_TOKEN_REUSED' } } });
    expect(await revoked(rotated.accessToken)).toBe(true);
    expect(await revoked(user.accessToken)).toBe(true);
  });

  it('SSE: a stream ends with an `end` event saying SESSION_REVOKED after logout', async () => {
    const user = await signUp();
    const sse = await openSse(`${base}/streams/me`, auth(user.accessToken));
    expect(sse.status).toBe(200);
    expect((await call('POST', '/auth/logout', { refreshToken: user.refreshToken })).status).toBe(204);
    await sse.waitFor((events) => events.some((e) => e.event === 'end'), 5000);
    expect(sse.events.at(-1)).toMatchObject({ event: 'end', data: { code: 'SESSION_REVOKED' } });
    // The server ended the stream: no close() (aborting a fetch right at the end of its body can hang undici).
  });

  it('WebSocket: closed with SESSION_REVOKED after logout, and no new subscription is accepted', async () => {
    const user = await signUp();
    const { orderId, position } = await placeOrder(user.accessToken);
    await projected(orderId, position, user.accessToken);
    const socket = new WebSocket(`${base.replace('http', 'ws')}/ws?access_token=${user.accessToken}`);
    const messages: { type: string; code?: string }[] = [];
    let closed: number | null = null;
    socket.on('message', (raw) => messages.push(JSON.parse(String(raw))));
    socket.on('close', (code) => {
      closed = code;
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    expect((await call('POST', '/auth/logout', { refreshToken: user.refreshToken })).status).toBe(204);
    socket.send(JSON.stringify({ type: 'subscribe', orderId }));
    await waitUntil(async () => closed !== null, 5000, 'the socket to close');
    expect(messages.some((m) => m.type === 'subscribed')).toBe(false);
    expect(messages.at(-1)).toMatchObject({ type: 'error', code: 'SESSION_REVOKED' });
    expect(closed).toBe(4401);
  });

  it('SSE and WebSocket: closed at the token’s expiry with TOKEN_EXPIRED', async () => {
    const short = await startGateway({ ...sys.config, accessTokenTtlSeconds: 2, httpPort: 0 });
    try {
      const url = baseUrlOf(short.app);
      const user = await signUp();
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: user.email.trim().toLowerCase(), password: 'correct horse battery' }),
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const sse = await openSse(`${url}/streams/me`, auth(accessToken));
      expect(sse.status).toBe(200);
      const socket = new WebSocket(`${url.replace('http', 'ws')}/ws?access_token=${accessToken}`);
      const messages: { type: string; code?: string }[] = [];
      let closed: number | null = null;
      socket.on('message', (raw) => messages.push(JSON.parse(String(raw))));
      socket.on('close', (code) => {
        closed = code;
      });
      await sse.waitFor((events) => events.some((e) => e.event === 'end'), 5000);
      expect(sse.events.at(-1)).toMatchObject({ event: 'end', data: { code: 'TOKEN_EXPIRED' } });
      await waitUntil(async () => closed !== null, 5000, 'the socket to close');
      expect(messages.at(-1)).toMatchObject({ type: 'error', code: 'TOKEN_EXPIRED' });
      expect(closed).toBe(4401);
    } finally {
      await short.stop();
    }
  });
});

describe('Redis unreachable', () => {
  it('answers 503 DEPENDENCY_UNAVAILABLE to a valid token whose session cannot be checked (fail closed)', async () => {
    const alice = await signUp();
    // A gateway of its own: ioredis waits longer at each retry of an outage, so each check starts afresh.
    const cut = await startGateway({ ...sys.config, redisUrl: 'redis://127.0.0.1:1', httpPort: 0 });
    try {
      const query = await fetch(`${baseUrlOf(cut.app)}/queries/ordering/orders`, {
        headers: auth(alice.accessToken),
        signal: AbortSignal.timeout(15_000),
      });
      expect({ status: query.status, body: await query.json() }).toMatchObject({
        status: 503,
        body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } },
      });
    } finally {
      await cut.stop();
    }
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE on a live stream and on login, not a silent stream or a 500', async () => {
    const alice = await signUp();
    const { orderId, position } = await placeOrder(alice.accessToken);
    await projected(orderId, position, alice.accessToken);
    const cut = await startGateway({ ...sys.config, redisUrl: 'redis://127.0.0.1:1', httpPort: 0 });
    try {
      const url = baseUrlOf(cut.app);
      const stream = await fetch(`${url}/streams/orders/${orderId}`, {
        headers: auth(alice.accessToken),
        signal: AbortSignal.timeout(15_000),
      });
      expect({ status: stream.status, body: await stream.json() }).toMatchObject({
        status: 503,
        body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } },
      });
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: alice.email.trim().toLowerCase(), password: 'correct horse battery' }),
        signal: AbortSignal.timeout(15_000),
      });
      // The credentials are right; the session cannot be stored.
      expect({ status: login.status, body: await login.json() }).toMatchObject({
        status: 503,
        body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } },
      });
    } finally {
      await cut.stop();
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After beyond the limit and appends nothing for refused requests', async () => {
    // The IP allowance is left high: other tests of this file share 127.0.0.1; the account limit is under test.
    const limited = await startGateway({
      ...sys.config,
      rateLimitMax: 5,
      rateLimitIpMax: 100_000,
      // Fixed windows aligned to the clock: an hour makes a burst straddling a window boundary all but impossible.
      rateLimitWindowMs: 3_600_000,
      httpPort: 0,
    });
    try {
      const url = baseUrlOf(limited.app);
      const token = limited.tokens.accessToken({ accountId: `burst-${uniqueSuffix()}`, role: 'customer' });
      const before = Number((await sys.write.db('events').count({ n: '*' }).first())?.n);
      const results = await Promise.all(
        Array.from({ length: 15 }, () =>
          fetch(`${url}/commands/ordering/place-order`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...auth(token) },
            body: JSON.stringify({
              restaurantId: menu.restaurantId,
              items: [{ menuItemId: menu.menuItemIds[0], quantity: 1 }],
              payment: { card: '4242424242424242' },
              deliveryAddress: address,
            }),
          }),
        ),
      );
      const limitedResponses = results.filter((r) => r.status === 429);
      const accepted = results.filter((r) => r.status === 201);
      expect(accepted).toHaveLength(5);
      expect(limitedResponses).toHaveLength(10);
      expect(Number(limitedResponses[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
      const after = Number((await sys.write.db('events').count({ n: '*' }).first())?.n);
      expect(after - before).toBe(5);
    } finally {
      await limited.stop();
    }
  });
});
