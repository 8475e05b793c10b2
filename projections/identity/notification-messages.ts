import { createHash } from 'node:crypto';
import type { EventShape } from '../../runtime/consumer/types.js';
import type { AccountEvent } from '../../schemas/identity/events.js';
import type { NotificationPreferences } from '../../schemas/identity/vocabulary.js';
import type { OrderEvent } from '../../schemas/ordering/events.js';

// What the customer is told about their order, as pure functions: which order events notify, with which words,
// on which channels, under which id. The PostgreSQL projection (notifications.ts) only loads and stores.

export const NOTIFICATION_CHANNELS = ['email', 'push'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

export const NOTIFICATION_KINDS = [
  'ORDER_PLACED',
  'ORDER_CONFIRMED',
  'ORDER_PREPARING',
  'ORDER_READY',
  'ORDER_PICKED_UP',
  'ORDER_DELIVERED',
  'ORDER_CANCELLED',
  'ORDER_REJECTED',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationMessage {
  readonly kind: NotificationKind;
  readonly title: string;
  readonly body: string;
}

/** The events of the notifications read model's topics (`ordering.order`, `identity.account`). */
export type NotificationsContract = OrderEvent | AccountEvent;

type Bodies<E extends EventShape> = E extends EventShape
  ? { readonly eventType: E['type']; readonly data: E['data'] }
  : never;

/** One of them as the texts need it: its type and its data as the contract types them (a `ProjectedEvent` is one). */
export type NotificationSourceEvent = Bodies<NotificationsContract>;

/** `1750, 'EUR'` → `€17.50`; currencies without minor units (JPY) and unknown codes are handled by Intl. */
export function formatMoney(amountMinor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amountMinor / 10 ** digits);
  } catch {
    // Not a well-formed currency code: still say something true rather than drop the notification.
    return `${amountMinor} ${currency} (minor units)`;
  }
}

/** A reason, as a sentence ending: `: the kitchen is closed.` or `.` when none was given. */
const because = (reason: string): string => {
  const r = reason.trim().replace(/[.!?\s]+$/, '');
  return r ? `: ${r}.` : '.';
};

/**
 * The message for one event, or null when the event is not worth telling the customer (an account's events, and
 * OrderAccepted: the restaurant's acceptance changes nothing the customer sees; the order stays CONFIRMED until it
 * is prepared).
 * `customerId` tells a cancellation the customer made apart from one made for them.
 */
export function notificationFor(event: NotificationSourceEvent, customerId: string): NotificationMessage | null {
  switch (event.eventType) {
    case 'OrderPlaced':
      return {
        kind: 'ORDER_PLACED',
        title: 'Order received',
        body: `We have your order of ${formatMoney(event.data.totalMinor, event.data.currency.trim())} and are confirming the payment.`,
      };
    case 'OrderConfirmed':
      return {
        kind: 'ORDER_CONFIRMED',
        title: 'Order confirmed',
        body: 'Your payment went through and your order has been sent to the restaurant.',
      };
    case 'OrderPreparationStarted':
      return {
        kind: 'ORDER_PREPARING',
        title: 'Being prepared',
        body: 'The kitchen has started preparing your order.',
      };
    case 'OrderReadyForPickup':
      return { kind: 'ORDER_READY', title: 'Order ready', body: 'Your order is ready for pickup.' };
    case 'OrderPickedUp':
      return { kind: 'ORDER_PICKED_UP', title: 'On its way', body: 'A courier has picked up your order.' };
    case 'OrderDelivered':
      return { kind: 'ORDER_DELIVERED', title: 'Order delivered', body: 'Your order has been delivered. Enjoy!' };
    case 'OrderCancelled':
      return {
        kind: 'ORDER_CANCELLED',
        title: 'Order cancelled',
        body:
          event.data.cancelledBy.trim() === customerId
            ? 'You cancelled your order.'
            : `Your order was cancelled${because(event.data.reason)}`,
      };
    case 'OrderRejected':
      return {
        kind: 'ORDER_REJECTED',
        title: 'Order not accepted',
        body: `We could not go ahead with your order${because(event.data.reason)}`,
      };
    default:
      return null;
  }
}

/** The channels a customer is notified on, in a fixed order; none when they turned both off. */
export const enabledChannels = (preferences: NotificationPreferences): NotificationChannel[] =>
  NOTIFICATION_CHANNELS.filter((channel) => preferences[channel]);

// A fixed namespace for name-based (version 5) UUIDs of notifications; changing it would change every id.
const NAMESPACE = Buffer.from('6c1f3a52-8e0b-4f7e-9d2c-5b0a1e4c7d39'.replace(/-/g, ''), 'hex');

/**
 * The id of the notification an event makes on a channel: a version 5 UUID of `<eventId>:<channel>`. The same
 * event always gives the same id, so redelivery, a replay or a rebuild cannot make a second notification, and a
 * sender that records the ids it sent recognises them across rebuilds of this read model.
 */
export function notificationId(eventId: string, channel: NotificationChannel): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${eventId}:${channel}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
