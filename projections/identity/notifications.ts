import type { Knex } from 'knex';
import { asContract, type ProjectedEvent } from '../../runtime/consumer/types.js';
import { createOnce } from '../../runtime/postgres.js';
import { DEFAULT_NOTIFICATION_PREFERENCES, type NotificationPreferences } from '../../schemas/identity/vocabulary.js';
import type { OrderEvent } from '../../schemas/ordering/events.js';
import { orderingTopics } from '../../schemas/ordering/topics.js';
import type { NotificationDraft, NotificationRules } from '../context.js';
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

/** The subject kind of an order's notifications, the only kind rows written before subjects existed have. */
export const ORDER_SUBJECT = 'order';

export interface NotificationRow {
  notification_id: string;
  event_id: string;
  account_id: string;
  /** What the notification is about: `order`, or a contributing context's (`application`, `contract`). */
  subject_kind: string;
  /** Null only on rows written before subjects existed (an upgraded table): their order_id is the subject. */
  subject_id: string | null;
  /** The order's id on an order's notification, null on the others. */
  order_id: string | null;
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

const ORDER_EVENT_TYPES: ReadonlySet<string> = new Set(orderingTopics['ordering.order']);

/** The event if it is an order's (`ordering.order`), null if an account's or a contributing context's. */
function orderEventOf(event: NotificationsEvent): ProjectedEvent<OrderEvent> | null {
  return ORDER_EVENT_TYPES.has(event.eventType) ? (event as ProjectedEvent<OrderEvent>) : null;
}

/** Each contributed event type's rules; a type two contexts claim, or an order's, is a wiring error. */
function rulesByEventType(contributed: readonly NotificationRules[]): ReadonlyMap<string, NotificationRules> {
  const byType = new Map<string, NotificationRules>();
  for (const rules of contributed) {
    for (const type of rules.eventTypes) {
      if (byType.has(type) || ORDER_EVENT_TYPES.has(type)) throw new Error(`two notification rules for ${type}`);
      byType.set(type, rules);
    }
  }
  return byType;
}

/**
 * The id of one notification on one channel. An order's event makes one notification: its id is the event's, as
 * before subjects existed. A contributed event may make several, told apart by recipient and kind. Either way the
 * same event gives the same ids, in a rebuild too.
 */
const draftNotificationId = (eventId: string, draft: NotificationDraft, channel: NotificationChannel): string =>
  notificationId(`${eventId}/${draft.recipientId}/${draft.kind}`, channel);

/** Adds a subject to a notifications table made before subjects existed; checks the catalog first. */
const addSubjectColumns = (table: string) => `
  DO $$
  BEGIN
    IF NOT EXISTS (
      SELECT 1 FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = '${table}' AND column_name = 'subject_id'
    ) THEN
      -- A constant default and a nullable column: no rewrite of the rows, which keep their order_id as subject.
      ALTER TABLE ${table}
        ADD COLUMN subject_kind text NOT NULL DEFAULT '${ORDER_SUBJECT}',
        ADD COLUMN subject_id text,
        ALTER COLUMN order_id DROP NOT NULL;
    END IF;
  END $$;
`;

/**
 * Each account's notifications: an outbox of `pending` rows, one per enabled channel, that a real sender would
 * drain (nothing is sent from here). Each row has a subject (kind + id): an order, told about by the rules of
 * notification-messages.ts, or what a contributing context's `NotificationRules` name (the marketplace's
 * applications and contracts), passed in by `projections/contexts.ts`, so this module names no other context.
 * It keeps its own copy of each account's preferences (from `identity.account`) and of each order's customer (from
 * OrderPlaced; later order events do not carry it), so it reads no other read model and rebuilds on its own.
 *
 * Preferences and the notifying events travel on different topics, so a preference change and an event made at
 * nearly the same moment may be applied in either order: the notification follows the preferences this projection
 * has seen when it applies the event.
 */
export function notificationsReadModel(
  version: number,
  contributed: readonly NotificationRules[] = [],
): PostgresReadModel {
  const t = notificationsTables(version);
  const rules = rulesByEventType(contributed);
  return {
    name: NOTIFICATIONS_PROJECTION,
    version,
    topics: [...new Set(['identity.account', 'ordering.order', ...contributed.flatMap((r) => r.topics)])],
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
            subject_kind text NOT NULL DEFAULT '${ORDER_SUBJECT}',
            subject_id text NOT NULL,
            order_id text,
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
          ${addSubjectColumns(t.notifications)}
        `,
      );
    },
    async dropTables(db) {
      await db.raw(`DROP TABLE IF EXISTS ${t.notifications}, ${t.preferences}, ${t.orders}`);
    },
    async apply(trx, events) {
      await applyNotificationEvents(trx, t, rules, events);
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
  rules: ReadonlyMap<string, NotificationRules>,
  batch: readonly ProjectedEvent[],
): Promise<void> {
  // Typed as identity's and ordering's contract; a contributed event is only looked up by its id in `drafts`.
  const events = asContract<NotificationsContract>(batch);
  const orderEvents = events.flatMap((e) => orderEventOf(e) ?? []);
  // A contributed event's drafts name their recipients: made once here, for the preferences to load and below.
  const drafts = new Map<string, readonly NotificationDraft[]>();
  for (const e of batch) {
    const made = rules.get(e.eventType)?.notificationsFor(e) ?? [];
    if (made.length > 0) drafts.set(e.eventId, made);
  }
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
  for (const made of drafts.values()) for (const d of made) accountIds.add(d.recipientId);
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
  const channelsOf = (accountId: string) =>
    enabledChannels(preferences.get(accountId) ?? DEFAULT_NOTIFICATION_PREFERENCES);
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
    // Millisecond precision, as JavaScript reads it back: keyset cursors then compare exactly what is stored.
    const createdAt = new Date(event.recordedAt).toISOString();
    for (const draft of drafts.get(event.eventId) ?? []) {
      for (const channel of channelsOf(draft.recipientId)) {
        notifications.push({
          notification_id: draftNotificationId(event.eventId, draft, channel),
          event_id: event.eventId,
          account_id: draft.recipientId,
          subject_kind: draft.subject.kind,
          subject_id: draft.subject.id,
          order_id: null,
          channel,
          kind: draft.kind,
          title: draft.title,
          body: draft.body,
          status: 'pending',
          created_at: createdAt,
        });
      }
    }
    const orderEvent = orderEventOf(event);
    if (!orderEvent) continue; // AccountRegistered notifies nobody; a contributed event's rows are made above
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
    for (const channel of channelsOf(customerId)) {
      notifications.push({
        notification_id: notificationId(event.eventId, channel),
        event_id: event.eventId,
        account_id: customerId,
        subject_kind: ORDER_SUBJECT,
        subject_id: orderId,
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
