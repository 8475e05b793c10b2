import { describe, expect, it } from 'vitest';
import {
  enabledChannels,
  formatMoney,
  NOTIFICATION_KINDS,
  notificationFor,
  notificationId,
  type OrderEventLike,
} from '../../../projections/identity/notification-messages.js';

const CUSTOMER = 'c-1';
const ev = (eventType: string, data: Record<string, unknown> = {}): OrderEventLike => ({
  eventType,
  data: { orderId: 'o-1', ...data },
});

describe('notificationFor', () => {
  it.each([
    ['OrderConfirmed', 'ORDER_CONFIRMED', 'Your payment went through and your order has been sent to the restaurant.'],
    ['OrderPreparationStarted', 'ORDER_PREPARING', 'The kitchen has started preparing your order.'],
    ['OrderReadyForPickup', 'ORDER_READY', 'Your order is ready for pickup.'],
    ['OrderPickedUp', 'ORDER_PICKED_UP', 'A courier has picked up your order.'],
    ['OrderDelivered', 'ORDER_DELIVERED', 'Your order has been delivered. Enjoy!'],
  ])('tells the customer about %s as %s', (eventType, kind, body) => {
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
