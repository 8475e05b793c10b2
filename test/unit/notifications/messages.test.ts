import { describe, expect, it } from 'vitest';
import {
  enabledChannels,
  formatMoney,
  NOTIFICATION_KINDS,
  type NotificationSourceEvent,
  notificationFor,
  notificationId,
} from '../../../projections/identity/notification-messages.js';
import type { IdentityEventMap } from '../../../schemas/identity/events.js';
import type { OrderingEventMap } from '../../../schemas/ordering/events.js';

const CUSTOMER = 'c-1';
const at = '2025-03-14T12:00:00.000Z';

type SourceType = NotificationSourceEvent['eventType'];
type SourceData = { [K in SourceType]: (OrderingEventMap & IdentityEventMap)[K] };
/** The events of the types K, as the contract types them (a union when K is one). */
type SourceEventOf<K extends SourceType> = {
  [T in K]: { readonly eventType: T; readonly data: SourceData[T] };
}[K];

/** What each event of order o-1 carries (every field of the contract), unless a test says otherwise. */
const SAMPLE: SourceData = {
  OrderPlaced: {
    orderId: 'o-1',
    restaurantId: 'r-1',
    customerId: CUSTOMER,
    items: [{ menuItemId: 'm-1', name: 'Soup', quantity: 1, unitPriceMinor: 1750 }],
    totalMinor: 1750,
    currency: 'EUR',
    deliveryAddress: { line1: '1 Rua Augusta', line2: null, city: 'Lisbon', postalCode: '1100-048', country: 'PT' },
    paymentMethod: { cardLast4: '4242', cardToken: '4242424242424242' },
    placedAt: at,
  },
  OrderConfirmed: { orderId: 'o-1', paymentId: 'p-1', confirmedAt: at },
  OrderRejected: { orderId: 'o-1', reason: 'payment declined', rejectedAt: at },
  OrderAccepted: { orderId: 'o-1', acceptedAt: at },
  OrderPreparationStarted: { orderId: 'o-1', startedAt: at },
  OrderReadyForPickup: { orderId: 'o-1', readyAt: at },
  OrderPickedUp: { orderId: 'o-1', courierId: null, pickedUpAt: at },
  OrderDelivered: { orderId: 'o-1', deliveredAt: at },
  OrderCancelled: {
    orderId: 'o-1',
    reason: 'kitchen closed',
    cancelledBy: 'owner-1',
    previousStatus: 'CONFIRMED',
    cancelledAt: at,
  },
  AccountRegistered: { accountId: CUSTOMER, email: 'c-1@example.com', role: 'customer', registeredAt: at },
  NotificationPreferencesUpdated: { accountId: CUSTOMER, email: true, push: false, updatedAt: at },
};

const ev = <K extends SourceType>(eventType: K, data: Partial<SourceData[K]> = {}): SourceEventOf<K> => ({
  eventType,
  data: { ...SAMPLE[eventType], ...data },
});

describe('notificationFor', () => {
  it.each([
    ['OrderConfirmed', 'ORDER_CONFIRMED', 'Your payment went through and your order has been sent to the restaurant.'],
    ['OrderPreparationStarted', 'ORDER_PREPARING', 'The kitchen has started preparing your order.'],
    ['OrderReadyForPickup', 'ORDER_READY', 'Your order is ready for pickup.'],
    ['OrderPickedUp', 'ORDER_PICKED_UP', 'A courier has picked up your order.'],
    ['OrderDelivered', 'ORDER_DELIVERED', 'Your order has been delivered. Enjoy!'],
  ] as const)('tells the customer about %s as %s', (eventType, kind, body) => {
    expect(notificationFor(ev(eventType), CUSTOMER)).toMatchObject({ kind, body });
  });

  it('confirms a placed order with its total in the order currency', () => {
    const message = notificationFor(
      ev('OrderPlaced', { customerId: CUSTOMER, totalMinor: 1750, currency: 'EUR' }),
      CUSTOMER,
    );
    expect(message).toEqual({
      kind: 'ORDER_PLACED',
      title: 'Order received',
      body: 'We have your order of €17.50 and are confirming the payment.',
    });
  });

  it('gives the reason of a rejection, punctuated once', () => {
    expect(notificationFor(ev('OrderRejected', { reason: 'card declined.' }), CUSTOMER)).toEqual({
      kind: 'ORDER_REJECTED',
      title: 'Order not accepted',
      body: 'We could not go ahead with your order: card declined.',
    });
    expect(notificationFor(ev('OrderRejected', { reason: '  ' }), CUSTOMER)?.body).toBe(
      'We could not go ahead with your order.',
    );
  });

  it('tells a cancellation by the customer apart from one made for them', () => {
    expect(
      notificationFor(ev('OrderCancelled', { reason: 'changed my mind', cancelledBy: CUSTOMER }), CUSTOMER)?.body,
    ).toBe('You cancelled your order.');
    expect(
      notificationFor(ev('OrderCancelled', { reason: 'kitchen closed', cancelledBy: 'owner-1' }), CUSTOMER),
    ).toEqual({ kind: 'ORDER_CANCELLED', title: 'Order cancelled', body: 'Your order was cancelled: kitchen closed.' });
  });

  it('says nothing about an acceptance or an event it does not know', () => {
    expect(notificationFor(ev('OrderAccepted'), CUSTOMER)).toBeNull();
    expect(notificationFor(ev('AccountRegistered'), CUSTOMER)).toBeNull();
  });

  it('has a title and a body for every kind it names', () => {
    const events = [
      ev('OrderPlaced', { totalMinor: 100, currency: 'EUR' }),
      ev('OrderConfirmed'),
      ev('OrderPreparationStarted'),
      ev('OrderReadyForPickup'),
      ev('OrderPickedUp'),
      ev('OrderDelivered'),
      ev('OrderCancelled', { reason: 'x', cancelledBy: 'y' }),
      ev('OrderRejected', { reason: 'x' }),
    ];
    const messages = events.map((e) => notificationFor(e, CUSTOMER)!);
    expect(messages.map((m) => m.kind).sort()).toEqual([...NOTIFICATION_KINDS].sort());
    for (const m of messages) {
      expect(m.title.length).toBeGreaterThan(0);
      expect(m.body).toMatch(/^[A-Z].*[.!]$/);
    }
  });
});

describe('formatMoney', () => {
  it('uses the currency’s own minor units', () => {
    expect(formatMoney(1750, 'EUR')).toBe('€17.50');
    expect(formatMoney(1750, 'JPY')).toBe('JP¥1,750');
    expect(formatMoney(199, 'GBP')).toBe('£1.99');
  });

  it('still says the amount when the currency code is not well formed', () => {
    expect(formatMoney(1750, 'euro')).toBe('1750 euro (minor units)');
  });
});

describe('enabledChannels', () => {
  it('lists the channels switched on, in a fixed order', () => {
    expect(enabledChannels({ email: true, push: true })).toEqual(['email', 'push']);
    expect(enabledChannels({ email: false, push: true })).toEqual(['push']);
    expect(enabledChannels({ email: true, push: false })).toEqual(['email']);
    expect(enabledChannels({ email: false, push: false })).toEqual([]);
  });
});

describe('notificationId', () => {
  const eventId = '0b6f7a52-3c1e-4a8d-9f00-1d2e3c4b5a69';

  it('is the same for the same event and channel, whenever it is computed', () => {
    expect(notificationId(eventId, 'email')).toBe(notificationId(eventId, 'email'));
  });

  it('differs between channels and between events', () => {
    const ids = new Set([
      notificationId(eventId, 'email'),
      notificationId(eventId, 'push'),
      notificationId('another-event', 'email'),
      notificationId('another-event', 'push'),
    ]);
    expect(ids.size).toBe(4);
  });

  it('is a version 5 (name-based) UUID', () => {
    expect(notificationId(eventId, 'push')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
