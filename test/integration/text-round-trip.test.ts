import { randomUUID } from 'node:crypto';
import { Client as SearchClient } from '@elastic/elasticsearch';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../commands/executor.js';
import { orderingCommandRoutes } from '../../gateway/ordering/commands.js';
import { validatorCompiler } from '../../gateway/validation.js';
import { notificationFor } from '../../projections/identity/notification-messages.js';
import { NOTIFICATIONS_PROJECTION, notificationsTables } from '../../projections/identity/notifications.js';
import { MENU_SEARCH_PROJECTION, menuSearchAlias, menuSearchTables } from '../../projections/ordering/menu-search.js';
import { ORDER_STATUS_VERSION, orderStatus } from '../../projections/ordering/order-status-redis.js';
import { ORDERS_PROJECTION } from '../../projections/ordering/orders.js';
import { RESTAURANTS_PROJECTION, restaurantsTable } from '../../projections/ordering/restaurants.js';
import { findInvalidText, problemIn } from '../../runtime/text.js';
import { consumeUntil, testKafka } from '../support/kafka.js';
import { projectionCaughtUpWith, startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// Issue 12: any text the command schemas accept round-trips through the event log and every read model, exactly.
// Projections must not diverge on (or dead-letter) text the write side accepted: the edge and the codec refuse
// lone surrogates and control characters other than tab, LF and CR, and everything else must come back as sent.

const RUNS = 30;

let sys: TestSystem;
let redis: Redis;
let search: SearchClient;
let kafka: Admin;

beforeAll(async () => {
  sys = await startTestSystem('textroundtrip');
  redis = new Redis(sys.config.redisUrl);
  search = new SearchClient({ node: sys.config.searchUrl });
  kafka = testKafka().admin();
  await kafka.connect();
});

afterAll(async () => {
  await kafka?.disconnect();
  await search?.close();
  redis?.disconnect();
  await sys?.close();
});

// ---- what the edge accepts: the routes' own schemas, compiled by the gateway's validator, and its text rules ----

const route = (name: string) => {
  const found = orderingCommandRoutes.find((r) => r.name === name);
  if (!found) throw new Error(`no route ${name}`);
  return validatorCompiler({ schema: found.schema, httpPart: 'body' });
};
const validators = {
  register: route('register-restaurant'),
  update: route('update-restaurant-details'),
  addItem: route('add-menu-item'),
  placeOrder: route('place-order'),
  cancel: route('cancel-order'),
};

/** Whether the gateway takes the body: its route schema and its text rules (refuseInvalidText). */
function expectAccepted(validate: (typeof validators)[keyof typeof validators], body: unknown): void {
  const valid = validate(body);
  expect({ body, errors: validate.errors ?? null, valid }).toMatchObject({ valid: true });
  expect(findInvalidText(body, 'client')).toBeNull();
}

// ---- text the rules accept: full Unicode, and the characters most likely to be mangled on the way ----

const TRICKY = [
  '\t',
  '\n',
  '\r',
  '\r\n',
  '\u2028',
  '\u2029',
  ' ',
  '   ',
  '\u00a0',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u202e',
  '\u2066',
  '\u2069',
  '\ufeff',
  '\ufffd',
  '\ufffe',
  '\uffff',
  '\ufdd0',
  'e\u0301',
  '\u0301\u0301',
  'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349',
  'مطعم الشام',
  '\u0627\u0644\u0639\u0631\u0628\u064a\u0629 123',
  'שלום',
  '東京ラーメン',
  '한국어',
  'ไทย',
  'हिन्दी',
  '👨\u200d👩\u200d👧\u200d👦',
  '🇵🇹',
  '🏳️\u200d🌈',
  '👍🏽',
  '😀',
  '𝕳𝖊𝖑𝖑𝖔',
  '\u{10ffff}',
  '\u{e0041}',
  '\u{1f600}',
  '\u{20000}',
  '"',
  "'",
  '\\',
  '\\u0000',
  '\\x00',
  '%00',
  '%s',
  '<b>',
  '&amp;',
  '$' + '{x}',
  '{{x}}',
  "' OR 1=1 --",
  'NULL',
  '*',
  '?',
  '~',
  '/',
  'İ',
  'ß',
  'ﬁ',
  'ǅ',
  '\u212a',
  '\u2126',
];

/** Drops every code point the client text rules refuse (lone surrogates, control characters but tab, LF, CR). */
const acceptable = (s: string): string => [...s].filter((ch) => problemIn(ch, 'client') === null).join('');
const codePoints = (s: string): number => [...s].length;
/** The first `n` code points (JSON schema `maxLength` counts code points, as Ajv does). */
const firstCodePoints = (s: string, n: number): string => [...s].slice(0, n).join('');

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map(acceptable) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).map(acceptable) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 10 }).map(acceptable) },
);

/** Text of `minLength`..`maxLength` code points the rules accept; one in four is within 3 of `maxLength`. */
function textOf(maxLength: number, minLength = 1): fc.Arbitrary<string> {
  const short = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));
  const long = fc
    .tuple(
      fc.array(piece, { minLength: 1, maxLength: 6 }),
      fc.integer({ min: Math.max(minLength, maxLength - 3), max: maxLength }),
    )
    .map(([parts, n]) => {
      const unit = parts.join('') || 'x';
      return unit.repeat(Math.ceil(n / codePoints(unit)) + 1);
    });
  return fc
    .oneof({ weight: 3, arbitrary: short }, { weight: 1, arbitrary: long })
    .map((s) => firstCodePoints(s, maxLength))
    .filter((s) => codePoints(s) >= minLength);
}

const addressArb = fc.record({
  line1: textOf(200),
  line2: fc.option(textOf(200, 0), { nil: null }),
  city: textOf(100),
  postalCode: textOf(20),
  country: fc.constantFrom('PT', 'DE', 'JP', 'EG'),
});
const detailsArb = fc.record({ name: textOf(200), cuisine: textOf(60), address: addressArb });
const caseArb = fc.record({
  registered: detailsArb,
  updated: detailsArb,
  item: fc.record({ name: textOf(200), description: textOf(2000, 0) }),
  deliveryAddress: addressArb,
  reason: textOf(500),
});

// ---- waiting for the read models, and failing fast on a dead letter ----

/** The dead-letter topics of this system's prefix (`<prefix><topic>.dlq.<consumer>`). */
async function deadLetterTopics(): Promise<string[]> {
  return (await kafka.listTopics()).filter((t) => t.startsWith(sys.config.topicPrefix) && t.includes('.dlq.'));
}

async function failOnDeadLetters(): Promise<void> {
  const topics = await deadLetterTopics();
  if (topics.length === 0) return;
  const letters = await consumeUntil(topics, (m) => m.length > 0, 5000);
  const reasons = letters.map((m) => `${m.topic}: ${m.headers['dlq-reason']} (event ${m.headers['event-id']})`);
  throw new Error(`dead letters were produced:\n${reasons.join('\n') || topics.join('\n')}`);
}

/** Every PostgreSQL read model caught up with every stream of its topics, checking the dead-letter topics meanwhile. */
async function caughtUp(): Promise<void> {
  const db = sys.write.db;
  const waits = Promise.all([
    projectionCaughtUpWith(db, RESTAURANTS_PROJECTION, 1, 'ordering.restaurant', 30_000),
    projectionCaughtUpWith(db, MENU_SEARCH_PROJECTION, 1, 'ordering.restaurant', 30_000),
    projectionCaughtUpWith(db, MENU_SEARCH_PROJECTION, 1, 'ordering.menu-item', 30_000),
    projectionCaughtUpWith(db, ORDERS_PROJECTION, 1, 'ordering.order', 30_000),
    projectionCaughtUpWith(db, NOTIFICATIONS_PROJECTION, 1, 'ordering.order', 30_000),
  ]);
  let done = false;
  const watch = (async () => {
    while (!done) {
      await failOnDeadLetters();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  // Settled by the race; once the read models have caught up, the watch just ends after its current pause.
  watch.catch(() => undefined);
  try {
    await Promise.race([waits, watch]);
  } finally {
    done = true;
  }
}

const decoded = async (streamId: string) =>
  Promise.all(
    (await sys.write.store.readStream(streamId)).map(async (e) => ({
      type: e.eventType,
      data: (await sys.write.codec.decode(e.payload)).data,
    })),
  );

describe('text the command schemas accept', () => {
  it('round-trips exactly through the event log and every read model, with no dead letter', async () => {
    const owner = `owner-${randomUUID()}`;
    const ctx = (actor: string): CommandContext => ({ actor, correlationId: randomUUID() });
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const restaurantId = randomUUID();
        const menuItemId = randomUUID();
        const orderId = randomUUID();
        const customer = `customer-${randomUUID()}`;
        const ordering = sys.write.ordering;

        // The bodies the gateway would pass to the handlers: each accepted by its route.
        const register = { restaurantId, ...c.registered };
        const update = { restaurantId, ...c.updated };
        const addItem = { restaurantId, menuItemId, ...c.item, priceMinor: 950, currency: 'EUR' };
        const place = {
          orderId,
          restaurantId,
          items: [{ menuItemId, quantity: 2 }],
          payment: { card: '4242424242424242' },
          deliveryAddress: c.deliveryAddress,
        };
        const cancel = { orderId, reason: c.reason };
        expectAccepted(validators.register, register);
        expectAccepted(validators.update, update);
        expectAccepted(validators.addItem, addItem);
        expectAccepted(validators.placeOrder, place);
        expectAccepted(validators.cancel, cancel);

        await ordering.registerRestaurant(register, ctx(owner));
        await ordering.openRestaurant({ restaurantId }, ctx(owner));
        await ordering.addMenuItem(addItem, ctx(owner));
        await ordering.updateRestaurantDetails(update, ctx(owner));
        await ordering.placeOrder(place, ctx(customer));
        // Cancelled by the restaurant, so the customer's notification quotes the reason.
        const cancelled = await ordering.cancelOrder(cancel, ctx(owner));

        // The event log: what was written decodes to exactly what was sent.
        const restaurantEvents = await decoded(`restaurant-${restaurantId}`);
        expect(restaurantEvents[0]).toEqual({
          type: 'RestaurantRegistered',
          data: expect.objectContaining({
            name: c.registered.name,
            cuisine: c.registered.cuisine,
            address: c.registered.address,
          }),
        });
        const sameDetails =
          JSON.stringify([c.registered.name, c.registered.cuisine, c.registered.address]) ===
          JSON.stringify([c.updated.name, c.updated.cuisine, c.updated.address]);
        if (!sameDetails) {
          expect(restaurantEvents.at(-1)).toEqual({
            type: 'RestaurantDetailsUpdated',
            data: expect.objectContaining({
              name: c.updated.name,
              cuisine: c.updated.cuisine,
              address: c.updated.address,
            }),
          });
        }
        expect((await decoded(`menu-item-${menuItemId}`))[0]?.data).toMatchObject(c.item);
        const orderEvents = await decoded(`order-${orderId}`);
        expect(orderEvents.find((e) => e.type === 'OrderPlaced')?.data).toMatchObject({
          deliveryAddress: c.deliveryAddress,
          items: [{ menuItemId, name: c.item.name, quantity: 2 }],
        });
        const cancelledEvent = orderEvents.find((e) => e.type === 'OrderCancelled');
        expect(cancelledEvent?.data).toMatchObject({ reason: c.reason });

        await caughtUp();
        const readDb = sys.read.readDb;

        // Restaurants (PostgreSQL).
        expect(await readDb(restaurantsTable(1)).where('restaurant_id', restaurantId).first('name', 'cuisine')).toEqual(
          {
            name: c.updated.name,
            cuisine: c.updated.cuisine,
          },
        );

        // Orders (PostgreSQL): the line keeps the item's name, the cancellation its reason.
        const order = await sys.read.ordering.orders.byId(orderId);
        expect(order).toMatchObject({
          status: 'CANCELLED',
          reason: c.reason,
          items: [{ menuItemId, name: c.item.name, quantity: 2 }],
        });

        // Notifications (PostgreSQL): the text the customer is sent is made from the reason as stored.
        const notified = await readDb(notificationsTables(1).notifications)
          .where({ order_id: orderId, kind: 'ORDER_CANCELLED' })
          .select('body');
        const expected = notificationFor(
          { eventType: 'OrderCancelled', data: cancelledEvent!.data } as unknown as Parameters<
            typeof notificationFor
          >[0],
          customer,
        );
        expect(notified.length).toBeGreaterThan(0);
        for (const row of notified) expect(row.body).toBe(expected?.body);

        // Menu search: the staged rows (PostgreSQL) and the indexed document (Elasticsearch).
        const t = menuSearchTables(1);
        const facts = { restaurantName: c.updated.name, cuisine: c.updated.cuisine, ...c.item };
        const staged = await readDb(t.items).where('menu_item_id', menuItemId).first('doc');
        expect(staged?.doc).toMatchObject(facts);
        expect(await readDb(t.restaurants).where('restaurant_id', restaurantId).first('name', 'cuisine')).toEqual({
          name: c.updated.name,
          cuisine: c.updated.cuisine,
        });
        const indexed = await search.get<Record<string, unknown>>({
          index: menuSearchAlias(sys.config.topicPrefix),
          id: menuItemId,
        });
        expect(indexed._source).toMatchObject({ menuItemId, ...facts });

        // Order status (Redis): it keeps no text, but it must have applied the same events (no dead letter).
        const status = await waitUntil(
          async () => {
            const s = await orderStatus(redis, sys.config.topicPrefix, ORDER_STATUS_VERSION, orderId);
            return s && s.version === cancelled.version ? s : false;
          },
          15_000,
          'the Redis order status to catch up',
        );
        expect(status).toMatchObject({ status: 'CANCELLED', customerId: customer, restaurantId });

        await failOnDeadLetters();
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: 150_000, markInterruptAsFailure: true },
    );
    expect(await deadLetterTopics()).toEqual([]);
  }, 180_000);
});
