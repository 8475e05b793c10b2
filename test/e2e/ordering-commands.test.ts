import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { seedMenu } from '../support/ordering.js';

let gw: TestGateway;
const address = { line1: '1 Main St', city: 'Lisbon', postalCode: '1000-001', country: 'PT' };
let restaurantId: string;
let pizzaId: string;
let saladId: string;
let otherRestaurantItemId: string;

const asOwner = { 'x-actor-id': 'owner-1', 'x-role': 'restaurant' };

async function menuFixture() {
  const r = await gw.post(
    '/commands/ordering/register-restaurant',
    { name: 'Forno', cuisine: 'italian', address },
    asOwner,
  );
  expect(r.status).toBe(201);
  restaurantId = (r.body as { streamId: string }).streamId.replace(/^restaurant-/, '');
  expect((await gw.post('/commands/ordering/open-restaurant', { restaurantId }, asOwner)).status).toBe(200);
  const add = async (rid: string, name: string, priceMinor: number) => {
    const res = await gw.post(
      '/commands/ordering/add-menu-item',
      { restaurantId: rid, name, description: `${name}, freshly made`, priceMinor, currency: 'EUR' },
      asOwner,
    );
    expect(res.status).toBe(201);
    return (res.body as { streamId: string }).streamId.replace(/^menu-item-/, '');
  };
  pizzaId = await add(restaurantId, 'Margherita', 950);
  saladId = await add(restaurantId, 'Caprese', 700);
  const other = await gw.post(
    '/commands/ordering/register-restaurant',
    { name: 'Other', cuisine: 'thai', address },
    asOwner,
  );
  otherRestaurantItemId = await add(
    (other.body as { streamId: string }).streamId.replace(/^restaurant-/, ''),
    'Pad thai',
    1100,
  );
}

const order = (overrides: Record<string, unknown> = {}) => ({
  restaurantId,
  items: [
    { menuItemId: pizzaId, quantity: 2 },
    { menuItemId: saladId, quantity: 1 },
  ],
  payment: { card: '4242424242424242' },
  deliveryAddress: address,
  ...overrides,
});

beforeAll(async () => {
  gw = await startTestGateway('e2ecmd');
  await menuFixture();
});
afterAll(() => gw?.close());

describe('POST /commands/ordering/*', () => {
  it('places an order and returns its stream id, version and global position', async () => {
    const res = await gw.post('/commands/ordering/place-order', order());
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      streamId: expect.stringMatching(/^order-/),
      version: 1,
      position: expect.any(Number),
    });
    const [event] = await gw.running.write.store.readStream((res.body as { streamId: string }).streamId);
    const decoded = await gw.running.write.codec.decode(event!.payload);
    expect(decoded.eventType).toBe('OrderPlaced');
    expect(decoded.data).toMatchObject({ totalMinor: 2 * 950 + 700, currency: 'EUR', customerId: 'customer-1' });
    expect(event!.metadata).toMatchObject({ actor: 'customer-1', correlationId: expect.any(String) });
  });

  it('walks an order through its lifecycle to DELIVERED and refuses to cancel it then', async () => {
    const orderId = randomUUID();
    expect((await gw.post('/commands/ordering/place-order', order({ orderId }))).status).toBe(201);
    // Payment confirmation is the saga's command, not a client's: issue it the way the saga will.
    await gw.running.write.ordering.advanceOrder(
      'ConfirmOrder',
      { orderId, paymentId: 'pay-1' },
      { actor: 'saga', correlationId: 'c' },
    );
    for (const step of [
      'accept-order',
      'mark-order-preparing',
      'mark-order-ready',
      'mark-order-picked-up',
      'mark-order-delivered',
    ]) {
      const res = await gw.post(`/commands/ordering/${step}`, { orderId }, asOwner);
      expect(res.status, step).toBe(200);
    }
    const cancel = await gw.post('/commands/ordering/cancel-order', { orderId, reason: 'too late' });
    expect(cancel.status).toBe(409);
    expect(cancel.body).toMatchObject({ error: { code: 'ORDER_NOT_CANCELLABLE' } });
  });

  it('cancels a pending order once; a second cancel is a no-op at the same version', async () => {
    const orderId = randomUUID();
    await gw.post('/commands/ordering/place-order', order({ orderId }));
    const first = await gw.post('/commands/ordering/cancel-order', { orderId, reason: 'changed my mind' });
    const second = await gw.post('/commands/ordering/cancel-order', { orderId, reason: 'changed my mind' });
    expect(first).toMatchObject({ status: 200, body: { version: 2 } });
    expect(second).toMatchObject({ status: 200, body: { version: 2 } });
  });

  const badRequests: [string, string, unknown, number, string, Record<string, string>?][] = [
    ['missing fields', 'place-order', { restaurantId: 'x' }, 400, 'VALIDATION_FAILED'],
    [
      'a quantity sent as a string',
      'place-order',
      () => order({ items: [{ menuItemId: pizzaId, quantity: '2' }] }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a negative quantity',
      'place-order',
      () => order({ items: [{ menuItemId: pizzaId, quantity: -1 }] }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a huge quantity',
      'place-order',
      () => order({ items: [{ menuItemId: pizzaId, quantity: 1e9 }] }),
      400,
      'VALIDATION_FAILED',
    ],
    ['an empty order', 'place-order', () => order({ items: [] }), 400, 'VALIDATION_FAILED'],
    [
      'an unknown menu item',
      'place-order',
      () => order({ items: [{ menuItemId: 'nope', quantity: 1 }] }),
      404,
      'MENU_ITEM_NOT_FOUND',
    ],
    [
      'an item of another restaurant',
      'place-order',
      () => order({ items: [{ menuItemId: otherRestaurantItemId, quantity: 1 }] }),
      400,
      'MENU_ITEM_WRONG_RESTAURANT',
    ],
    [
      'an unknown property',
      'open-restaurant',
      () => ({ restaurantId, extra: true }),
      400,
      'VALIDATION_FAILED',
      asOwner,
    ],
    ['invalid JSON', 'place-order', '{"restaurantId": ', 400, 'INVALID_JSON'],
    ['an oversized body', 'place-order', () => order({ junk: 'x'.repeat(100_000) }), 413, 'BODY_TOO_LARGE'],
    ['an unknown command', 'launch-rocket', {}, 404, 'UNKNOWN_COMMAND'],
    ['a command outside the caller’s role', 'open-restaurant', () => ({ restaurantId }), 403, 'FORBIDDEN'],
    [
      'another owner’s restaurant',
      'close-restaurant',
      () => ({ restaurantId }),
      403,
      'NOT_RESTAURANT_OWNER',
      { 'x-actor-id': 'owner-2', 'x-role': 'restaurant' },
    ],
    [
      'a tampered token',
      'place-order',
      () => order(),
      401,
      'TOKEN_INVALID',
      { 'x-actor-id': '', authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' },
    ],
    ['no actor', 'place-order', () => order(), 401, 'UNAUTHENTICATED', { 'x-actor-id': '' }],
    [
      'a price out of range',
      'change-menu-item-price',
      () => ({ menuItemId: pizzaId, priceMinor: -5 }),
      400,
      'VALIDATION_FAILED',
      asOwner,
    ],
    [
      'an order for an unknown restaurant',
      'place-order',
      () => order({ restaurantId: 'nowhere' }),
      404,
      'RESTAURANT_NOT_FOUND',
    ],
  ];

  it.each(badRequests)(
    'refuses %s with a stable code and appends nothing',
    async (_name, command, input, status, code, headers) => {
      const before = await gw.eventCount();
      const body = typeof input === 'function' ? (input as () => unknown)() : input;
      const res = await gw.post(`/commands/ordering/${command}`, body, headers);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ error: { code, message: expect.any(String), details: expect.any(Object) } });
      expect(await gw.eventCount()).toBe(before);
    },
  );

  it('refuses an order while the restaurant is closed, and an unavailable item', async () => {
    await gw.post('/commands/ordering/set-menu-item-availability', { menuItemId: saladId, available: false }, asOwner);
    const unavailable = await gw.post('/commands/ordering/place-order', order());
    expect(unavailable).toMatchObject({ status: 409, body: { error: { code: 'MENU_ITEM_UNAVAILABLE' } } });
    await gw.post('/commands/ordering/set-menu-item-availability', { menuItemId: saladId, available: true }, asOwner);
    await gw.post('/commands/ordering/close-restaurant', { restaurantId }, asOwner);
    const closed = await gw.post('/commands/ordering/place-order', order());
    expect(closed).toMatchObject({ status: 409, body: { error: { code: 'RESTAURANT_CLOSED' } } });
    await gw.post('/commands/ordering/open-restaurant', { restaurantId }, asOwner);
  });
});

describe('idempotency keys', () => {
  it('returns the stored response for a retry and appends nothing', async () => {
    const key = `key-${randomUUID()}`;
    const body = order();
    const first = await gw.post('/commands/ordering/place-order', body, { 'idempotency-key': key });
    const count = await gw.eventCount();
    const retry = await gw.post('/commands/ordering/place-order', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(await gw.eventCount()).toBe(count);
  });

  it('answers 422 when the key is reused with another request', async () => {
    const key = `key-${randomUUID()}`;
    await gw.post('/commands/ordering/place-order', order(), { 'idempotency-key': key });
    const count = await gw.eventCount();
    const other = await gw.post(
      '/commands/ordering/place-order',
      order({ items: [{ menuItemId: pizzaId, quantity: 5 }] }),
      {
        'idempotency-key': key,
      },
    );
    expect(other).toMatchObject({ status: 422, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    expect(await gw.eventCount()).toBe(count);
  });

  it('lets concurrent retries with one key append exactly once', async () => {
    const key = `key-${randomUUID()}`;
    const body = order({ orderId: randomUUID() });
    const before = await gw.eventCount();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => gw.post('/commands/ordering/place-order', body, { 'idempotency-key': key })),
    );
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(await gw.eventCount()).toBe(before + 1);
  });
});

describe('optimistic concurrency over HTTP', () => {
  it('answers 409 STREAM_VERSION_CONFLICT when If-Match names a stale version', async () => {
    const orderId = randomUUID();
    await gw.post('/commands/ordering/place-order', order({ orderId }));
    const res = await gw.post('/commands/ordering/accept-order', { orderId }, { ...asOwner, 'if-match': '"7"' });
    expect(res).toMatchObject({ status: 409, body: { error: { code: 'STREAM_VERSION_CONFLICT' } } });
  });
});

describe('payment methods', () => {
  it('with Stripe, refuses a raw card number (it would live in the event log) and takes a payment method id', async () => {
    const stripeGw = await startTestGateway('stripemode', {
      paymentProvider: 'stripe',
      stripeApiKey: 'sk_test_unused',
    });
    try {
      const menu = await seedMenu(stripeGw.running.write.ordering);
      const body = (card: string) => ({
        restaurantId: menu.restaurantId,
        items: [{ menuItemId: menu.menuItemIds[0], quantity: 1 }],
        payment: { card },
        deliveryAddress: address,
      });
      const before = await stripeGw.eventCount();
      const raw = await stripeGw.post('/commands/ordering/place-order', body('4242 4242 4242 4242'), {
        'x-actor-id': 'c-pm',
      });
      expect(raw).toMatchObject({ status: 400, body: { error: { code: 'RAW_CARD_NUMBER_REFUSED' } } });
      expect(await stripeGw.eventCount()).toBe(before);
      const method = await stripeGw.post('/commands/ordering/place-order', body('pm_card_visa'), {
        'x-actor-id': 'c-pm',
      });
      expect(method.status).toBe(201);
      const [placed] = await stripeGw.running.write.store.readStream((method.body as { streamId: string }).streamId);
      expect(placed?.eventType).toBe('OrderPlaced');
      const decoded = await stripeGw.running.write.codec.decode(placed!.payload);
      expect(decoded.data).toMatchObject({ paymentMethod: { cardToken: 'pm_card_visa', cardLast4: '' } });
    } finally {
      await stripeGw.close();
    }
  });
});

describe('existence oracles: what is not yours answers like what does not exist', () => {
  const otherOwner = { 'x-actor-id': 'owner-2', 'x-role': 'restaurant' };
  const otherCustomer = { 'x-actor-id': 'customer-2' };
  /** The answer with the id it names replaced, so answers about two different ids can be compared whole. */
  const shape = (res: { status: number; body: unknown }, id: string) => ({
    status: res.status,
    body: JSON.parse(JSON.stringify(res.body).replaceAll(id, '<id>')) as unknown,
  });
  const steps: [string, Record<string, string>][] = [
    ['accept-order', {}],
    ['mark-order-preparing', {}],
    ['mark-order-ready', {}],
    ['cancel-order', { reason: 'not mine' }],
  ];

  it.each(steps)(
    'a restaurant sending %s for another restaurant’s order gets 404 ORDER_NOT_FOUND, exactly as for a missing one',
    async (step, extra) => {
      const orderId = randomUUID();
      expect((await gw.post('/commands/ordering/place-order', order({ orderId }))).status).toBe(201);
      const missingId = randomUUID();
      const before = await gw.eventCount();
      const theirs = await gw.post(`/commands/ordering/${step}`, { orderId, ...extra }, otherOwner);
      const missing = await gw.post(`/commands/ordering/${step}`, { orderId: missingId, ...extra }, otherOwner);
      expect(theirs).toMatchObject({ status: 404, body: { error: { code: 'ORDER_NOT_FOUND', details: { orderId } } } });
      expect(shape(theirs, orderId)).toEqual(shape(missing, missingId));
      expect(await gw.eventCount()).toBe(before);
    },
  );

  it.each(['"0"', '"1"', '"2"'])(
    'with If-Match %s, another party’s order still answers exactly like a missing one (no version conflict, no version)',
    async (ifMatch) => {
      const orderId = randomUUID();
      expect((await gw.post('/commands/ordering/place-order', order({ orderId }))).status).toBe(201);
      const missingId = randomUUID();
      for (const [step, extra, who] of [
        ['accept-order', {}, otherOwner],
        ['cancel-order', { reason: 'not mine' }, otherOwner],
        ['cancel-order', { reason: 'not mine' }, otherCustomer],
      ] as const) {
        const headers = { ...who, 'if-match': ifMatch };
        const theirs = await gw.post(`/commands/ordering/${step}`, { orderId, ...extra }, headers);
        const missing = await gw.post(`/commands/ordering/${step}`, { orderId: missingId, ...extra }, headers);
        expect(theirs, `${step} as ${who['x-actor-id']}`).toMatchObject({
          status: 404,
          body: { error: { code: 'ORDER_NOT_FOUND' } },
        });
        expect(shape(theirs, orderId)).toEqual(shape(missing, missingId));
      }
    },
  );

  it('place-order with another customer’s order id: 409 ORDER_ID_TAKEN, naming neither owner nor version; with one’s own: ORDER_EXISTS', async () => {
    const orderId = randomUUID();
    expect((await gw.post('/commands/ordering/place-order', order({ orderId }))).status).toBe(201);
    const before = await gw.eventCount();
    const theirs = await gw.post('/commands/ordering/place-order', order({ orderId }), otherCustomer);
    expect(theirs).toEqual({
      status: 409,
      body: {
        error: {
          code: 'ORDER_ID_TAKEN',
          message: `order id ${orderId} cannot be used; choose another`,
          details: { orderId },
        },
      },
    });
    // A pinned version must not turn it into a version conflict that tells the order's version.
    for (const ifMatch of ['"0"', '"1"', '"5"']) {
      const pinned = await gw.post('/commands/ordering/place-order', order({ orderId }), {
        ...otherCustomer,
        'if-match': ifMatch,
      });
      expect(pinned, ifMatch).toEqual(theirs);
    }
    const own = await gw.post('/commands/ordering/place-order', order({ orderId }));
    expect(own).toMatchObject({ status: 409, body: { error: { code: 'ORDER_EXISTS', details: { orderId } } } });
    expect(await gw.eventCount()).toBe(before);
  });

  it('another restaurant’s removed menu item answers 404 MENU_ITEM_NOT_FOUND like a missing one; a listed one stays 403', async () => {
    const added = await gw.post(
      '/commands/ordering/add-menu-item',
      { restaurantId, name: 'Seasonal', description: 'gone soon', priceMinor: 800, currency: 'EUR' },
      asOwner,
    );
    const menuItemId = (added.body as { streamId: string }).streamId.replace(/^menu-item-/, '');
    const listed = await gw.post(
      '/commands/ordering/change-menu-item-price',
      { menuItemId, priceMinor: 900 },
      otherOwner,
    );
    expect(listed).toMatchObject({ status: 403, body: { error: { code: 'NOT_RESTAURANT_OWNER' } } });
    expect((await gw.post('/commands/ordering/remove-menu-item', { menuItemId }, asOwner)).status).toBe(200);
    const missingId = randomUUID();
    for (const [command, extra] of [
      ['change-menu-item-price', { priceMinor: 900 }],
      ['set-menu-item-availability', { available: true }],
      ['remove-menu-item', {}],
    ] as const) {
      for (const ifMatch of [undefined, '"0"', '"2"']) {
        const headers = ifMatch ? { ...otherOwner, 'if-match': ifMatch } : otherOwner;
        const theirs = await gw.post(`/commands/ordering/${command}`, { menuItemId, ...extra }, headers);
        const missing = await gw.post(`/commands/ordering/${command}`, { menuItemId: missingId, ...extra }, headers);
        expect(theirs, `${command} ${ifMatch}`).toMatchObject({
          status: 404,
          body: { error: { code: 'MENU_ITEM_NOT_FOUND' } },
        });
        expect(shape(theirs, menuItemId)).toEqual(shape(missing, missingId));
      }
    }
    // Its owner is told the same: a removed item is gone for everyone.
    const own = await gw.post('/commands/ordering/change-menu-item-price', { menuItemId, priceMinor: 900 }, asOwner);
    expect(own).toMatchObject({ status: 404, body: { error: { code: 'MENU_ITEM_NOT_FOUND' } } });
  });
});
