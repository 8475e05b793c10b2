import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandResult, loadTarget } from '../../commands/executor.js';
import { menuItems, orders, restaurants } from '../../commands/ordering/aggregates.js';
import type { PlaceOrderInput } from '../../commands/ordering/handlers.js';
import { openWriteSide, type WriteSide } from '../../commands/write-side.js';
import { createTestDatabase, testConfig } from '../support/env.js';
import { address, ctx, seedMenu } from '../support/ordering.js';

let write: WriteSide;
let drop: () => Promise<void>;
beforeAll(async () => {
  const database = await createTestDatabase('executor');
  drop = database.drop;
  write = await openWriteSide(testConfig(database.url));
});
afterAll(async () => {
  await write?.close();
  await drop?.();
});

describe('command executor', () => {
  it('loads a stream longer than one page and decides on its true state', async () => {
    const restaurantId = randomUUID();
    await write.ordering.registerRestaurant({ restaurantId, name: 'Long', cuisine: 'x', address }, ctx('owner'));
    // 2,400 open/close events, appended in batches (as if over years of service).
    let version = 1;
    for (let batch = 0; batch < 24; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => {
        const open = (batch * 100 + i) % 2 === 0;
        const type = open ? 'RestaurantOpened' : 'RestaurantClosed';
        const data = open
          ? { restaurantId, openedAt: new Date().toISOString() }
          : { restaurantId, closedAt: new Date().toISOString() };
        return { eventId: randomUUID(), eventType: type, ...write.codec.encode(type, data) };
      });
      const result = await write.store.append({
        streamId: restaurants.streamId(restaurantId),
        streamType: restaurants.streamType,
        expectedVersion: version,
        events,
        metadata: { correlationId: 'c', causationId: null, actor: 'test' },
      });
      version = result.version;
    }
    const loaded = await write.executor.load(restaurants, restaurantId);
    expect(loaded.version).toBe(2401);
    expect(loaded.state.status).toBe('closed'); // the last of 2,400 alternating events is a close
    // Deciding on the true state: opening a closed restaurant appends the 2,402nd event.
    const opened = await write.ordering.openRestaurant({ restaurantId }, ctx('owner'));
    expect(opened.version).toBe(2402);
  });

  // The window: a retry looks up its key (nothing yet), then the first request commits, then the retry loads the
  // stream with the first request's events in it. The client must get the first request's response, whatever
  // the retry's own load and decision would say. The hook holds that window open deterministically.
  function commitBeforeNextLoad(first: () => Promise<CommandResult>): Promise<CommandResult> {
    const load = write.executor.load.bind(write.executor);
    return new Promise((resolve, reject) => {
      write.executor.load = (async (...args: Parameters<typeof load>) => {
        write.executor.load = load;
        await first().then(resolve, reject);
        return load(...args);
      }) as typeof load;
    });
  }

  it('answers a retry that would now be refused (already registered) with the stored response', async () => {
    const restaurantId = randomUUID();
    const context = { ...ctx('owner'), idempotencyKey: `key-${randomUUID()}`, request: { restaurantId } };
    const register = () =>
      write.ordering.registerRestaurant({ restaurantId, name: 'Race', cuisine: 'x', address }, context);
    const first = commitBeforeNextLoad(register);
    const retry = await register();
    expect(retry).toEqual(await first);
    expect(await write.store.streamVersion(restaurants.streamId(restaurantId))).toBe(1);
  });

  it('answers a retry whose If-Match is now stale with the stored response, not 409', async () => {
    const restaurantId = randomUUID();
    await write.ordering.registerRestaurant({ restaurantId, name: 'Race', cuisine: 'x', address }, ctx('owner'));
    const context = {
      ...ctx('owner'),
      idempotencyKey: `key-${randomUUID()}`,
      request: { restaurantId },
      expectedVersion: 1,
    };
    const first = commitBeforeNextLoad(() => write.ordering.openRestaurant({ restaurantId }, context));
    const retry = await write.ordering.openRestaurant({ restaurantId }, context);
    expect(retry).toEqual(await first);
    expect(retry.version).toBe(2);
    expect(await write.store.streamVersion(restaurants.streamId(restaurantId))).toBe(2);
  });
});

describe('the lean command path', () => {
  const orderInput = (menu: { restaurantId: string; menuItemIds: string[] }, orderId?: string): PlaceOrderInput => ({
    ...(orderId ? { orderId } : {}),
    restaurantId: menu.restaurantId,
    items: menu.menuItemIds.map((menuItemId) => ({ menuItemId, quantity: 1 })),
    payment: { card: '4242424242424242' },
    deliveryAddress: address,
  });

  /** The statements `work` sends to PostgreSQL (every client.query, so BEGIN and COMMIT would count too). */
  async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
    const sent: string[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text: string };
      sent.push((typeof first === 'string' ? first : first.text).trim().split(/\s+/).slice(0, 3).join(' '));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      await work();
    } finally {
      pg.Client.prototype.query = query;
    }
    return sent;
  }

  it('loads aggregates of several types in one query, each folded to its own state', async () => {
    const menu = await seedMenu(write.ordering, 2);
    const missing = randomUUID();
    let loaded: Awaited<ReturnType<typeof load>> | undefined;
    const load = () =>
      write.executor.loadMany([
        loadTarget(restaurants, menu.restaurantId),
        loadTarget(menuItems, menu.menuItemIds[0]!),
        loadTarget(orders, missing),
        loadTarget(menuItems, menu.menuItemIds[1]!),
      ]);
    const sent = await statementsOf(async () => {
      loaded = await load();
    });
    expect(sent).toHaveLength(1);
    const [restaurant, first, order, second] = loaded!;
    expect(restaurant).toEqual(await write.executor.load(restaurants, menu.restaurantId));
    expect(restaurant.state).toMatchObject({ status: 'open' });
    expect(first.state).toMatchObject({ menuItemId: menu.menuItemIds[0], priceMinor: 500 });
    expect(second.state).toMatchObject({ menuItemId: menu.menuItemIds[1], priceMinor: 600 });
    expect(order).toEqual({ state: { status: 'none' }, version: 0, position: 0 });
  });

  it('place-order sends two statements: one read of restaurant and items, one append (with or without a key)', async () => {
    const menu = await seedMenu(write.ordering, 3);
    for (const idempotencyKey of [undefined, `key-${randomUUID()}`]) {
      const context = { ...ctx('customer-lean'), idempotencyKey, request: { n: 1 } };
      const sent = await statementsOf(() => write.ordering.placeOrder(orderInput(menu), context));
      expect(sent).toEqual(['SELECT global_position, stream_id,', 'WITH barrier AS']);
    }
  });

  it('answers a keyed retry of place-order without an order id with the first response, appending nothing', async () => {
    const menu = await seedMenu(write.ordering, 1);
    const context = { ...ctx('customer-retry'), idempotencyKey: `key-${randomUUID()}`, request: { n: 2 } };
    const first = await write.ordering.placeOrder(orderInput(menu), context);
    const count = async () => Number((await write.db('events').count({ n: '*' }))[0]!.n);
    const before = await count();
    // The retry makes a new order id (the server chooses it): its append fails on the key, and nothing is written.
    expect(await write.ordering.placeOrder(orderInput(menu), context)).toEqual(first);
    expect(await count()).toBe(before);
  });

  it('answers place-order on an existing order id as before: ORDER_EXISTS to its customer, ORDER_ID_TAKEN to others', async () => {
    const menu = await seedMenu(write.ordering, 1);
    const orderId = randomUUID();
    await write.ordering.placeOrder(orderInput(menu, orderId), { ...ctx('customer-a'), role: 'customer' });
    await expect(
      write.ordering.placeOrder(orderInput(menu, orderId), { ...ctx('customer-a'), role: 'customer' }),
    ).rejects.toMatchObject({ code: 'ORDER_EXISTS' });
    await expect(
      write.ordering.placeOrder(orderInput(menu, orderId), { ...ctx('customer-b'), role: 'customer' }),
    ).rejects.toMatchObject({ code: 'ORDER_ID_TAKEN' });
    // Also when the empty state would be refused for another reason first (the restaurant closed since).
    await write.ordering.closeRestaurant({ restaurantId: menu.restaurantId }, ctx('owner'));
    await expect(
      write.ordering.placeOrder(orderInput(menu, orderId), { ...ctx('customer-b'), role: 'customer' }),
    ).rejects.toMatchObject({ code: 'ORDER_ID_TAKEN' });
    expect(await write.store.streamVersion(orders.streamId(orderId))).toBe(1);
  });
});
