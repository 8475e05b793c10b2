import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type avro from 'avsc';
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../commands/decider.js';
import {
  decideMenuItem,
  evolveMenuItem,
  initialMenuItem,
  type MenuItem,
  type MenuItemCommand,
} from '../../../commands/ordering/menu-item.js';
import {
  decideOrder,
  evolveOrder,
  initialOrder,
  type Order,
  type OrderCommand,
} from '../../../commands/ordering/order.js';
import {
  decidePayment,
  evolvePayment,
  initialPayment,
  type Payment,
  type PaymentCommand,
} from '../../../commands/ordering/payment.js';
import {
  decideRestaurant,
  evolveRestaurant,
  initialRestaurant,
  type Restaurant,
  type RestaurantCommand,
} from '../../../commands/ordering/restaurant.js';
import { eventSchema, eventSchemas, schemaPath, subjectOf, topicsOf } from '../../../schemas/catalog.js';
import { orderingTopics } from '../../../schemas/ordering/topics.js';
import { HAPPY_PATH, ORDER_ID, PAYMENT_ID, runCommands } from '../ordering/arbitraries.js';
import { address, menuItemAdded, menuOf, NOW, openRestaurant, RESTAURANT_ID } from '../ordering/fixtures.js';

const listedEventTypes = Object.values(orderingTopics).flat();
const schemaDir = dirname(schemaPath('ordering', 'OrderPlaced'));
const avscFiles = readdirSync(schemaDir).filter((file) => file.endsWith('.avsc'));

describe('the event schema catalog', () => {
  it('loads one schema per event type listed in schemas/ordering/topics.ts', () => {
    const ordering = [...eventSchemas().values()].filter((s) => s.context === 'ordering').map((s) => s.eventType);
    expect(ordering.sort()).toEqual([...listedEventTypes].sort());
    expect(listedEventTypes.length).toBeGreaterThan(0);
  });

  it('lists every .avsc file of schemas/ordering under a topic (no orphan schema)', () => {
    expect(avscFiles.map((file) => file.replace(/\.avsc$/, '')).sort()).toEqual([...listedEventTypes].sort());
  });

  it.each(avscFiles)('parses %s as a record named after its file in namespace ledgerline.ordering', (file) => {
    const eventType = file.replace(/\.avsc$/, '');
    const raw = JSON.parse(readFileSync(`${schemaDir}/${file}`, 'utf8')) as avro.schema.RecordType;
    const schema = eventSchema(eventType);

    expect(raw.type).toBe('record');
    expect(raw.name).toBe(eventType);
    expect(raw.namespace).toBe('ledgerline.ordering');
    expect(schema.fullName).toBe(`ledgerline.ordering.${eventType}`);
    expect(schema.type.name).toBe(`ledgerline.ordering.${eventType}`);
    expect(schema.context).toBe('ordering');
  });

  it.each(Object.entries(orderingTopics))('puts the events of %s on that topic', (topic, eventTypes) => {
    expect(topic.startsWith('ordering.')).toBe(true);
    for (const eventType of eventTypes) expect(eventSchema(eventType).topic).toBe(topic);
  });

  it('names every topic of the ordering context with the ordering. prefix', () => {
    const topics = topicsOf('ordering');

    expect(topics).toHaveLength(4);
    for (const topic of topics) expect(topic).toMatch(/^ordering\.[a-z-]+$/);
  });

  it('refuses an unknown event type with an error that says how to add it', () => {
    expect(() => eventSchema('OrderTeleported')).toThrow(/OrderTeleported\.avsc/);
  });

  it('names a subject after its topic and the record full name', () => {
    expect(subjectOf('ordering.order', 'ledgerline.ordering.OrderPlaced')).toBe(
      'ordering.order-ledgerline.ordering.OrderPlaced',
    );
  });
});

/** Events of every type, decided (not hand-written) by running each decider through its lifecycle. */
function decidedEvents(): DomainEvent[] {
  const restaurant = runCommands(
    (command: RestaurantCommand, state: Restaurant) => decideRestaurant(command, state, { now: NOW }),
    evolveRestaurant,
    initialRestaurant(),
    [
      {
        type: 'RegisterRestaurant',
        data: { restaurantId: RESTAURANT_ID, ownerId: 'owner-1', name: 'Chez Lina', cuisine: 'lyonnaise', address },
      },
      { type: 'OpenRestaurant', data: { restaurantId: RESTAURANT_ID } },
      {
        type: 'UpdateRestaurantDetails',
        data: {
          restaurantId: RESTAURANT_ID,
          name: 'Chez Lina',
          cuisine: 'bouchon',
          address: { ...address, line2: 'B' },
        },
      },
      { type: 'CloseRestaurant', data: { restaurantId: RESTAURANT_ID } },
    ],
  );
  const menuItem = runCommands(
    (command: MenuItemCommand, state: MenuItem) =>
      decideMenuItem(command, state, { now: NOW, restaurant: openRestaurant() }),
    evolveMenuItem,
    initialMenuItem(),
    [
      {
        type: 'AddMenuItem',
        data: {
          menuItemId: 'm-soup',
          restaurantId: RESTAURANT_ID,
          name: "Soupe à l'oignon",
          description: 'gratinée',
          priceMinor: 850,
          currency: 'EUR',
        },
      },
      { type: 'ChangeMenuItemPrice', data: { menuItemId: 'm-soup', priceMinor: 990 } },
      { type: 'SetMenuItemAvailability', data: { menuItemId: 'm-soup', available: false } },
      { type: 'RemoveMenuItem', data: { menuItemId: 'm-soup' } },
    ],
  );
  const menu = menuOf(openRestaurant(), { 'm-soup': [menuItemAdded('m-soup')] });
  const placeOrder: OrderCommand = {
    type: 'PlaceOrder',
    data: {
      orderId: ORDER_ID,
      restaurantId: RESTAURANT_ID,
      customerId: 'c-1',
      items: [{ menuItemId: 'm-soup', quantity: 2 }],
      deliveryAddress: address,
      paymentMethod: { cardLast4: '4242', cardToken: 'tok_visa' },
    },
  };
  const decideOrderNow = (command: OrderCommand, state: Order) => decideOrder(command, state, { now: NOW, menu });
  const delivered = runCommands(decideOrderNow, evolveOrder, initialOrder(), [placeOrder, ...HAPPY_PATH]);
  const rejected = runCommands(decideOrderNow, evolveOrder, initialOrder(), [
    placeOrder,
    { type: 'RejectOrder', data: { orderId: ORDER_ID, reason: 'card declined' } },
  ]);
  const cancelled = runCommands(decideOrderNow, evolveOrder, initialOrder(), [
    placeOrder,
    { type: 'CancelOrder', data: { orderId: ORDER_ID, reason: 'too slow', cancelledBy: 'c-1' } },
  ]);
  const authorize: PaymentCommand = {
    type: 'RecordPaymentAuthorized',
    data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, providerRef: 'pi_1', amountMinor: 1700, currency: 'EUR' },
  };
  const decidePaymentNow = (command: PaymentCommand, state: Payment) => decidePayment(command, state, { now: NOW });
  const refunded = runCommands(decidePaymentNow, evolvePayment, initialPayment(), [
    authorize,
    { type: 'RecordPaymentCaptured', data: { paymentId: PAYMENT_ID } },
    { type: 'RecordPaymentRefunded', data: { paymentId: PAYMENT_ID, reason: 'order cancelled' } },
  ]);
  const voided = runCommands(decidePaymentNow, evolvePayment, initialPayment(), [
    authorize,
    { type: 'RecordPaymentVoided', data: { paymentId: PAYMENT_ID, reason: 'order cancelled' } },
  ]);
  const declined = runCommands(decidePaymentNow, evolvePayment, initialPayment(), [
    {
      type: 'RecordPaymentDeclined',
      data: {
        paymentId: PAYMENT_ID,
        orderId: ORDER_ID,
        reason: 'insufficient funds',
        amountMinor: 1700,
        currency: 'EUR',
      },
    },
  ]);
  return [restaurant, menuItem, delivered, rejected, cancelled, refunded, voided, declined].flatMap((run) => [
    ...run.events,
  ]);
}

describe('the events the deciders produce', () => {
  const events = decidedEvents();

  it('cover every event type of the catalog', () => {
    expect([...new Set(events.map((event) => event.type))].sort()).toEqual([...listedEventTypes].sort());
  });

  // One case per event type: the first event of that type the runs produced.
  const firstOfEachType = new Map<string, DomainEvent>();
  for (const event of events) if (!firstOfEachType.has(event.type)) firstOfEachType.set(event.type, event);

  it.each([...firstOfEachType])(
    'encode as %s under its Avro schema, with no field the schema lacks',
    (_type, event) => {
      const problems: string[] = [];
      const valid = eventSchema(event.type).type.isValid(event.data, {
        noUndeclaredFields: true,
        errorHook: (path) => problems.push(path.join('.')),
      });

      expect(problems).toEqual([]);
      expect(valid).toBe(true);
    },
  );
});
