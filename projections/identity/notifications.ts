import type { Knex } from 'knex';
import { asContract, type ProjectedEvent } from '../../runtime/consumer/types.js';
import { createOnce } from '../../runtime/postgres.js';
import { DEFAULT_NOTIFICATION_PREFERENCES, type NotificationPreferences } from '../../schemas/identity/vocabulary.js';
import type { OrderEvent } from '../../schemas/ordering/events.js';
import type { PostgresReadModel } from '../runtime/postgres.js';
import {
  enabledChannels,
  type NotificationChannel,
  type NotificationsContract,
  notificationFor,
  notificationId,
} from './notification-messages.js';

export const NOTIFICATIONS_PROJECTION = 'ordering.notifications';
/** The version a fresh deployment starts with; a rebuild makes the next one and switches to it. */
export const NOTIFICATIONS_VERSION = 1;

/** Table names of one version of the notifications read model. */
export const notificationsTables = (version: number) => ({
  preferences: `notification_preferences_v${version}`,
  notifications: `notifications_v${version}`,
  orders: `notification_orders_v${version}`,
});

export type NotificationsTables = ReturnType<typeof notificationsTables>;

export interface NotificationRow {
  notification_id: string;
  event_id: string;
  account_id: string;
  order_id: string;
  channel: NotificationChannel;
  kind: string;
  title: string;
  body: string;
  status: string;
  created_at: Date | string;
}

export interface PreferencesRow {
  account_id: string;
  email: boolean;
  push: boolean;
  version: number;
  updated_at: Date | string;
}

// Keeps every multi-row insert well under PostgreSQL's 65,535 bind parameters, however large a rebuild batch is.
const CHUNK = 1000;

async function insertChunks<Row extends object>(rows: readonly Row[], write: (chunk: Row[]) => Promise<unknown>) {
  for (let i = 0; i < rows.length; i += CHUNK) await write(rows.slice(i, i + CHUNK));
}

type NotificationsEvent = ProjectedEvent<NotificationsContract>;

/** The event if it is an order's (`ordering.order`), null if an account's (`identity.account`). */
function orderEventOf(event: NotificationsEvent): ProjectedEvent<OrderEvent> | null {
  switch (event.eventType) {
    case 'AccountRegistered':
    case 'NotificationPreferencesUpdated':
      return null;
    default:
      return event;
  }
}

/**
 * The customer's notifications about their orders: an outbox of `pending` rows, one per enabled channel, that a
 * real sender would drain (nothing is sent from here). It keeps its own copy of each account's preferences (from
 * `identity.account`) and of each order's customer (from OrderPlaced; later order events do not carry it), so it
 * reads no other read model and rebuilds on its own.
 *
 * Preferences and orders travel on different topics, so a preference change and an order event made at nearly
 * the same moment may be applied in either order: the notification follows the preferences this projection
 * has seen when it applies the order event.
 */
export function notificationsReadModel(version: number): PostgresReadModel {
  const t = notificationsTables(version);
  return {
    name: NOTIFICATIONS_PROJECTION,
    version,
    topics: ['identity.account', 'ordering.order'],
    async createTables(db) {
      await createOnce(
        db,
        t.notifications,
        `
          CREATE TABLE IF NOT EXISTS ${t.preferences} (
            account_id text PRIMARY KEY,
            email boolean NOT NULL,
            push boolean NOT NULL,
            version integer NOT NULL,
            updated_at timestamptz NOT NULL
          );
          CREATE TABLE IF NOT EXISTS ${t.orders} (
            order_id text PRIMARY KEY,
            customer_id text NOT NULL
          );
          CREATE TABLE IF NOT EXISTS ${t.notifications} (
            notification_id text PRIMARY KEY,
            event_id text NOT NULL,
            account_id text NOT NULL,
            order_id text NOT NULL,
            channel text NOT NULL CHECK (channel IN ('email', 'push')),
            kind text NOT NULL,
            title text NOT NULL,
            body text NOT NULL,
            status text NOT NULL DEFAULT 'pending',
            created_at timestamptz NOT NULL
          );
          CREATE INDEX IF NOT EXISTS ${t.notifications}_account
            ON ${t.notifications} (account_id, created_at DESC, notification_id DESC);
          CREATE INDEX IF NOT EXISTS ${t.notifications}_account_channel
            ON ${t.notifications} (account_id, channel, created_at DESC, notification_id DESC);
          -- What a sender drains, oldest first; sent rows leave the index.
          CREATE INDEX IF NOT EXISTS ${t.notifications}_pending
            ON ${t.notifications} (created_at, notification_id) WHERE status = 'pending';
        `,
      );
    },
    async dropTables(db) {
      await db.raw(`DROP TABLE IF EXISTS ${t.notifications}, ${t.preferences}, ${t.orders}`);
    },
    async apply(trx, events) {
      await applyNotificationEvents(trx, t, asContract<NotificationsContract>(events));
    },
  };
}

/**
 * Loads the customers and preferences the batch needs once, folds the events in position order in memory (a
 * preference change earlier in the batch applies to order events after it), then writes each table once.
 */
async function applyNotificationEvents(
  trx: Knex.Transaction,
  t: NotificationsTables,
  events: readonly NotificationsEvent[],
): Promise<void> {
  const orderEvents = events.flatMap((e) => orderEventOf(e) ?? []);
  const orderIds = [...new Set(orderEvents.map((e) => e.data.orderId))];
  const customers = new Map<string, string>();
  if (orderIds.length > 0) {
    const known: { order_id: string; customer_id: string }[] = await trx(t.orders)
      .whereIn('order_id', orderIds)
      .select('order_id', 'customer_id');
    for (const r of known) customers.set(r.order_id, r.customer_id);
  }
  const placed = new Map<string, string>();
  for (const e of orderEvents) {
    if (e.eventType === 'OrderPlaced') placed.set(e.data.orderId, e.data.customerId);
  }
  const accountIds = new Set<string>([...customers.values(), ...placed.values()]);
  for (const e of events) {
    if (e.eventType === 'NotificationPreferencesUpdated') accountIds.add(e.data.accountId);
  }
  const preferences = new Map<string, NotificationPreferences>();
  if (accountIds.size > 0) {
    const rows: PreferencesRow[] = await trx(t.preferences).whereIn('account_id', [...accountIds]);
    for (const r of rows) preferences.set(r.account_id, { email: r.email, push: r.push });
  }

  const changedPreferences = new Map<string, PreferencesRow>();
  const newOrders: { order_id: string; customer_id: string }[] = [];
  const notifications: NotificationRow[] = [];
  for (const event of events) {
    if (event.eventType === 'NotificationPreferencesUpdated') {
      const { accountId, email, push, updatedAt } = event.data;
      const chosen = { email, push };
      preferences.set(accountId, chosen);
      changedPreferences.set(accountId, {
        account_id: accountId,
        ...chosen,
        version: event.streamVersion,
        updated_at: updatedAt,
      });
      continue;
    }
    const orderEvent = orderEventOf(event);
    if (!orderEvent) continue; // other identity events (AccountRegistered) notify nobody
    const orderId = orderEvent.data.orderId;
    if (orderEvent.eventType === 'OrderPlaced') {
      const customerId = orderEvent.data.customerId;
      if (!customers.has(orderId)) newOrders.push({ order_id: orderId, customer_id: customerId });
      customers.set(orderId, customerId);
    }
    const customerId = customers.get(orderId);
    if (customerId === undefined) continue; // an order event before its OrderPlaced: not in a valid stream
    const message = notificationFor(orderEvent, customerId);
    if (!message) continue;
    // Millisecond precision, as JavaScript reads it back: keyset cursors then compare exactly what is stored.
    const createdAt = new Date(event.recordedAt).toISOString();
    for (const channel of enabledChannels(preferences.get(customerId) ?? DEFAULT_NOTIFICATION_PREFERENCES)) {
      notifications.push({
        notification_id: notificationId(event.eventId, channel),
        event_id: event.eventId,
        account_id: customerId,
        order_id: orderId,
        channel,
        ...message,
        status: 'pending',
        created_at: createdAt,
      });
    }
  }

  await insertChunks([...changedPreferences.values()], (chunk) =>
    trx(t.preferences).insert(chunk).onConflict('account_id').merge(),
  );
  await insertChunks(newOrders, (chunk) => trx(t.orders).insert(chunk).onConflict('order_id').ignore());
  // The id is derived from the event, so an event applied twice (a lost dedupe record, a replay into this
  // version) finds its rows already there and adds nothing; a row a sender has marked sent stays sent.
  await insertChunks(notifications, (chunk) =>
    trx(t.notifications).insert(chunk).onConflict('notification_id').ignore(),
  );
}
