import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { placeOrderBody, seedMenu } from '../support/ordering.js';

// Adversarial input on the gateway's lean paths (issue 14), through HTTP on the real gateway, store and Redis:
// what a hostile or merely unlucky client can send at the token cache, the trace id, idempotency keys and
// place-order's no-read creation of the order stream. Its own database and topic prefix.

let gw: TestGateway;
let menu: { restaurantId: string; menuItemIds: string[] };

beforeAll(async () => {
  // Limits far above these tests' bursts: what they attack is not the rate limiter.
  gw = await startTestGateway('advlean', { rateLimitMax: 1_000_000, rateLimitIpMax: 1_000_000 });
  menu = await seedMenu(gw.running.write.ordering);
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

const PLACE = '/commands/ordering/place-order';

async function raw(path: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(`${gw.baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const orderEvents = async (): Promise<number> => {
  const row = await gw.running.write.db('events').where('stream_type', 'ordering.order').count({ n: '*' }).first();
  return Number(row?.n ?? 0);
};

describe('idempotency-key races on place-order', () => {
  it('20 clients sending one key at once, without an order id: one order, the same answer for every client', async () => {
    const key = `race-${randomUUID()}`;
    const before = await orderEvents();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        gw.post(PLACE, placeOrderBody(menu), { 'x-actor-id': 'adv-race-1', 'idempotency-key': key }),
      ),
    );
    expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(await orderEvents()).toBe(before + 1);
  });

  it('20 clients sending one key at once with their own order id: one order, the same answer for every client', async () => {
    const key = `race-${randomUUID()}`;
    const body = { ...placeOrderBody(menu), orderId: randomUUID() };
    const before = await orderEvents();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => gw.post(PLACE, body, { 'x-actor-id': 'adv-race-2', 'idempotency-key': key })),
    );
    expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(await orderEvents()).toBe(before + 1);
  });

  it("another customer's order id stays 409 ORDER_ID_TAKEN for 20 racing clients, keyed or not, and appends nothing", async () => {
    const orderId = randomUUID();
    const body = { ...placeOrderBody(menu), orderId };
    expect((await gw.post(PLACE, body, { 'x-actor-id': 'adv-owner' })).status).toBe(201);
    const before = await orderEvents();
    const key = `taken-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        gw.post(PLACE, body, { 'x-actor-id': 'adv-thief', ...(i % 2 === 0 ? { 'idempotency-key': key } : {}) }),
      ),
    );
    for (const r of results) expect(r).toMatchObject({ status: 409, body: { error: { code: 'ORDER_ID_TAKEN' } } });
    expect(await orderEvents()).toBe(before);
  });
});

describe('the token cache against hostile tokens', () => {
  it('refuses thousands of tampered copies of a valid token, and still knows the valid one', async () => {
    const token = gw.running.tokens.accessToken({ accountId: 'adv-tokens', role: 'customer' });
    const ok = await raw('/queries/ordering/orders', { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flip = (text: string, i: number) => {
      const chars = [...text];
      chars[i % chars.length] = chars[i % chars.length] === 'A' ? 'B' : 'A';
      return chars.join('');
    };
    const forged = Array.from({ length: 2000 }, (_, i) => {
      if (i % 3 === 0) return `${header}.${flip(payload, i)}.${signature}`;
      if (i % 3 === 1) return `${header}.${payload}.${flip(signature, i)}`;
      // An admin claim with the valid token's signature.
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      return `${header}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin', n: i })).toString('base64url')}.${signature}`;
    });
    const statuses = new Map<number, number>();
    for (let i = 0; i < forged.length; i += 100) {
      const batch = await Promise.all(
        forged.slice(i, i + 100).map((t) => raw('/queries/ordering/orders', { authorization: `Bearer ${t}` })),
      );
      for (const r of batch) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    // A flipped last character of the signature may decode to the same bytes: the string differs, and the
    // verification compares the encoded signature, so even that is refused.
    expect([...statuses]).toEqual([[401, forged.length]]);
    expect((await raw('/queries/ordering/orders', { authorization: `Bearer ${token}` })).status).toBe(200);
  }, 60_000);
});

describe('traceparent', () => {
  const token = () => gw.running.tokens.accessToken({ accountId: 'adv-trace', role: 'customer' });

  it('a huge, odd or forged traceparent never fails the request and never becomes a trace id that is not 32 hex digits', async () => {
    const valid = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
    const odd = [
      `${valid}${' '.repeat(6000)}x`,
      'x'.repeat(8000),
      `00-${'0'.repeat(32)}-${'cd'.repeat(8)}-01`,
      `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01\u00e9`,
      `${valid},${valid}`,
      `00-${'g'.repeat(32)}-${'cd'.repeat(8)}-01`,
    ];
    for (const traceparent of odd) {
      const res = await raw('/queries/ordering/orders', { authorization: `Bearer ${token()}`, traceparent });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
      expect(res.headers.get('x-trace-id')).not.toBe('0'.repeat(32));
    }
    const continued = await raw('/queries/ordering/orders', { authorization: `Bearer ${token()}`, traceparent: valid });
    expect(continued.headers.get('x-trace-id')).toBe('ab'.repeat(16));
  });

  it('a header over the server limit is refused by Node before any of our code, with 431', async () => {
    const res = await fetch(`${gw.baseUrl}/health`, { headers: { traceparent: 'y'.repeat(70_000) } });
    expect(res.status).toBe(431);
  });
});
