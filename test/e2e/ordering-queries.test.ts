import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/main.js';
import { baseUrlOf, bearer } from '../support/gateway.js';
import { placeOrderBody, seedMenu } from '../support/ordering.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

let sys: TestSystem;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let base: string;
let menu: { restaurantId: string; menuItemIds: string[] };

beforeAll(async () => {
  sys = await startTestSystem('e2equery');
  gateway = await startGateway(sys.config);
  base = baseUrlOf(gateway.app);
  menu = await seedMenu(sys.write.ordering);
});
afterAll(async () => {
  await gateway?.stop();
  await sys?.close();
});

const get = async (path: string, actor = 'customer-q', role = 'customer') => {
  const response = await fetch(`${base}${path}`, {
    headers: bearer(gateway.tokens, { 'x-actor-id': actor, 'x-role': role }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const place = async (customer: string) => {
  const response = await fetch(`${base}/commands/ordering/place-order`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(gateway.tokens, { 'x-actor-id': customer }) },
    body: JSON.stringify(placeOrderBody(menu, { quantity: 2 })),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { streamId: string; version: number; position: number };
};

describe('GET /queries/ordering/*', () => {
  it('reads its own write: ?after=<position> waits for the projection, then answers the new order', async () => {
    const placed = await place('customer-q');
    const orderId = placed.streamId.replace(/^order-/, '');
    const res = await get(`/queries/ordering/orders/${orderId}?after=${placed.position}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      orderId,
      status: 'PENDING',
      customerId: 'customer-q',
      totalMinor: 1000,
      currency: 'EUR',
      version: 1,
    });
  });

  it('pages through a customer’s orders with a cursor, newest first, without repeats', async () => {
    // ?after waits for the stream of that position only (partitions advance independently): wait for all five.
    const placed = [];
    for (let i = 0; i < 5; i++) placed.push(await place('customer-pages'));
    for (const p of placed) {
      expect(
        (
          await get(
            `/queries/ordering/orders/${p.streamId.replace(/^order-/, '')}?after=${p.position}`,
            'customer-pages',
          )
        ).status,
      ).toBe(200);
    }
    const last = placed.at(-1)!.position;
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `customerId=customer-pages&limit=2&after=${last}${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await get(`/queries/ordering/orders?${query}`, 'customer-pages');
      expect(res.status).toBe(200);
      const items = res.body.items as { orderId: string; placedAt: string }[];
      seen.push(...items.map((o) => o.orderId));
      cursor = res.body.nextCursor as string | null;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);
  });

  it('answers the restaurant dashboard with today’s orders by status and revenue', async () => {
    const placed = await place('customer-dash');
    const res = await get(
      `/queries/ordering/restaurants/${menu.restaurantId}/dashboard?after=${placed.position}`,
      'owner',
      'restaurant',
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      restaurantId: menu.restaurantId,
      byStatus: { PENDING: { orders: expect.any(Number) } },
    });
  });

  it.each([
    ['/queries/ordering/orders?cursor=bm9wZQ', 400, 'INVALID_CURSOR'],
    ['/queries/ordering/orders?status=LOST', 400, 'VALIDATION_FAILED'],
    ['/queries/ordering/orders?limit=1000', 400, 'VALIDATION_FAILED'],
    ['/queries/ordering/orders/no-such-order', 404, 'ORDER_NOT_FOUND'],
    ['/queries/ordering/orders/x?after=999999999', 400, 'UNKNOWN_POSITION'],
  ])('GET %s → %i %s', async (path, status, code) => {
    const res = await get(path);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ error: { code } });
  });

  it('answers 401 without a caller', async () => {
    const response = await fetch(`${base}/queries/ordering/orders`);
    expect(response.status).toBe(401);
  });

  it('answers 504 PROJECTION_NOT_CAUGHT_UP when the projection cannot reach the position in time', async () => {
    await sys.stopProjector();
    try {
      const placed = await place('customer-late');
      const res = await get(
        `/queries/ordering/orders/${placed.streamId.replace(/^order-/, '')}?after=${placed.position}`,
      );
      expect(res.status).toBe(504);
      expect(res.body).toMatchObject({ error: { code: 'PROJECTION_NOT_CAUGHT_UP' } });
    } finally {
      await sys.startProjector();
    }
  });
});
