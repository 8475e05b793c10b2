import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NOTIFICATIONS_PROJECTION,
  notificationsReadModel,
  notificationsTables,
} from '../../projections/identity/notifications.js';
import { postgresProjection } from '../../projections/runtime/postgres.js';
import { ensureRuntimeTables, versionKey } from '../../projections/runtime/tables.js';
import { InvalidCursorError } from '../../queries/cursor.js';
import { NotificationQueries } from '../../queries/identity/notifications.js';
import type { BatchSource, ProjectedEvent } from '../../runtime/consumer/types.js';
import { connect } from '../../runtime/postgres.js';
import { createTestDatabase } from '../support/env.js';

// The notifications read model fed hand-built batches through the runtime's PostgreSQL wrapper, on a fresh
// database: no Kafka, so each case states exactly which events arrive in which batches.

let db: Knex;
let drop: () => Promise<void>;
const projection = () => postgresProjection(db, notificationsReadModel(1));
const queries = () => new NotificationQueries(db, async () => 1);
const t = notificationsTables(1);

beforeAll(async () => {
  const database = await createTestDatabase('notifications');
  drop = database.drop;
  db = connect(database.url, { max: 4 });
  await ensureRuntimeTables(db);
  await projection().setup();
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

let position = 0;
const base = Date.parse('2025-03-14T12:00:00.000Z');
/** Each event one second after the previous, unless the test pins its time. */
const event = (
  streamId: string,
  streamVersion: number,
  eventType: string,
  data: Record<string, unknown>,
  recordedAt?: string,
): ProjectedEvent => {
  position++;
  return {
    eventId: randomUUID(),
    eventType,
    streamId,
    streamVersion,
    globalPosition: position,
    recordedAt: recordedAt ?? new Date(base + position * 1000).toISOString(),
    correlationId: randomUUID(),
    data,
  };
};

const registered = (accountId: string) =>
  event(`account-${accountId}`, 1, 'AccountRegistered', {
    accountId,
    email: `${accountId}@example.com`,
    role: 'customer',
    registeredAt: new Date(base).toISOString(),
  });
const preferences = (accountId: string, version: number, email: boolean, push: boolean) =>
  event(`account-${accountId}`, version, 'NotificationPreferencesUpdated', {
    accountId,
    email,
    push,
    updatedAt: new Date(base + version * 1000).toISOString(),
  });
const placed = (orderId: string, customerId: string, recordedAt?: string) =>
  event(
    `order-${orderId}`,
    1,
    'OrderPlaced',
    {
      orderId,
      restaurantId: 'r-1',
      customerId,
      items: [{ menuItemId: 'm-1', name: 'Soup', quantity: 2, unitPriceMinor: 850 }],
      totalMinor: 1700,
      currency: 'EUR',
      placedAt: new Date(base).toISOString(),
    },
    recordedAt,
  );
const step = (orderId: string, version: number, eventType: string, data: Record<string, unknown> = {}) =>
  event(`order-${orderId}`, version, eventType, { orderId, ...data });

const source: BatchSource = { topic: 'ordering.order', partition: 0, lastOffset: '0' };
const apply = (events: readonly ProjectedEvent[]) => projection().applyBatch(events, source);

const rowsOf = (accountId: string) =>
  db(t.notifications)
    .where('account_id', accountId)
    .orderBy(['created_at', 'channel'])
    .select('order_id', 'channel', 'kind', 'body', 'status');
const count = async (): Promise<number> => Number((await db(t.notifications).count({ n: '*' }).first())?.n ?? 0);

describe('notifications projection', () => {
  it('writes one pending row per channel the customer has enabled', async () => {
    const [both, pushOnly] = [`c-${randomUUID()}`, `c-${randomUUID()}`];
    const [o1, o2] = [randomUUID(), randomUUID()];
    await apply([
      registered(both),
      registered(pushOnly),
      preferences(pushOnly, 2, false, true),
      placed(o1, both),
      placed(o2, pushOnly),
      step(o1, 2, 'OrderConfirmed', { paymentId: 'p-1', confirmedAt: 'x' }),
      step(o2, 2, 'OrderConfirmed', { paymentId: 'p-2', confirmedAt: 'x' }),
      step(o2, 3, 'OrderAccepted', { acceptedAt: 'x' }), // tells the customer nothing
      step(o2, 4, 'OrderPreparationStarted', { startedAt: 'x' }),
    ]);
    expect(await rowsOf(both)).toEqual([
      {
        order_id: o1,
        channel: 'email',
        kind: 'ORDER_PLACED',
        body: expect.stringContaining('€17.00'),
        status: 'pending',
      },
      {
        order_id: o1,
        channel: 'push',
        kind: 'ORDER_PLACED',
        body: expect.stringContaining('€17.00'),
        status: 'pending',
      },
      { order_id: o1, channel: 'email', kind: 'ORDER_CONFIRMED', body: expect.any(String), status: 'pending' },
      { order_id: o1, channel: 'push', kind: 'ORDER_CONFIRMED', body: expect.any(String), status: 'pending' },
    ]);
    expect((await rowsOf(pushOnly)).map((r) => [r.channel, r.kind])).toEqual([
      ['push', 'ORDER_PLACED'],
      ['push', 'ORDER_CONFIRMED'],
      ['push', 'ORDER_PREPARING'],
    ]);
    expect(await db(t.preferences).where('account_id', pushOnly).first()).toMatchObject({
      email: false,
      push: true,
      version: 2,
    });
  });

  it('finds the customer of an order placed in an earlier batch and follows later preference changes', async () => {
    const customer = `c-${randomUUID()}`;
    const orderId = randomUUID();
    await apply([registered(customer), placed(orderId, customer)]);
    await apply([preferences(customer, 2, true, false), step(orderId, 2, 'OrderConfirmed', { paymentId: 'p' })]);
    await apply([step(orderId, 3, 'OrderRejected', { reason: 'restaurant closed' })]);
    expect((await rowsOf(customer)).map((r) => [r.channel, r.kind, r.body])).toEqual([
      ['email', 'ORDER_PLACED', 'We have your order of €17.00 and are confirming the payment.'],
      ['push', 'ORDER_PLACED', 'We have your order of €17.00 and are confirming the payment.'],
      ['email', 'ORDER_CONFIRMED', 'Your payment went through and your order has been sent to the restaurant.'],
      ['email', 'ORDER_REJECTED', 'We could not go ahead with your order: restaurant closed.'],
    ]);
  });

  it('creates nothing for a customer who disabled both channels, and resumes when one is enabled again', async () => {
    const customer = `c-${randomUUID()}`;
    const orderId = randomUUID();
    await apply([registered(customer), preferences(customer, 2, false, false)]);
    const before = await count();
    await apply([placed(orderId, customer), step(orderId, 2, 'OrderConfirmed', { paymentId: 'p' })]);
    await apply([step(orderId, 3, 'OrderPreparationStarted'), step(orderId, 4, 'OrderReadyForPickup')]);
    expect(await count()).toBe(before);
    expect(await rowsOf(customer)).toEqual([]);

    await apply([preferences(customer, 3, false, true), step(orderId, 5, 'OrderPickedUp', { courierId: null })]);
    expect((await rowsOf(customer)).map((r) => [r.channel, r.kind, r.body])).toEqual([
      ['push', 'ORDER_PICKED_UP', 'A courier has picked up your order.'],
    ]);
  });

  it('creates no duplicates when a batch is delivered again, even if the runtime forgot it had applied it', async () => {
    const customer = `c-${randomUUID()}`;
    const orderId = randomUUID();
    const batch = [
      registered(customer),
      placed(orderId, customer),
      step(orderId, 2, 'OrderConfirmed', { paymentId: 'p' }),
      step(orderId, 3, 'OrderCancelled', { reason: 'too slow', cancelledBy: customer, previousStatus: 'CONFIRMED' }),
    ];
    await apply(batch);
    const once = await rowsOf(customer);
    expect(once).toHaveLength(6);
    expect(once.at(-1)).toMatchObject({ kind: 'ORDER_CANCELLED', body: 'You cancelled your order.' });
    const total = await count();

    await apply(batch); // the runtime's stream versions skip it
    await apply(batch.slice(1, 3)); // a partial redelivery too
    expect(await count()).toBe(total);

    // Without the runtime's record the events are applied again: the ids derived from event id + channel
    // find the rows already there.
    await db('projection_streams')
      .where('projection', versionKey(NOTIFICATIONS_PROJECTION, 1))
      .whereIn('stream_id', [`order-${orderId}`, `account-${customer}`])
      .delete();
    await apply(batch);
    expect(await count()).toBe(total);
    expect(await rowsOf(customer)).toEqual(once);
  });

  it('builds the same rows whether the events come in one batch or one by one', async () => {
    const customer = `c-${randomUUID()}`;
    const other = `c-${randomUUID()}`;
    const [o1, o2] = [randomUUID(), randomUUID()];
    const events = [
      registered(customer),
      registered(other),
      placed(o1, customer),
      preferences(customer, 2, false, true),
      placed(o2, other),
      step(o1, 2, 'OrderConfirmed', { paymentId: 'p' }),
      preferences(other, 2, true, false),
      step(o2, 2, 'OrderRejected', { reason: 'declined' }),
      preferences(customer, 3, true, true),
      step(o1, 3, 'OrderPreparationStarted'),
    ];
    const v2 = notificationsReadModel(2);
    await v2.createTables(db);
    try {
      for (const e of events) await apply([e]);
      await postgresProjection(db, v2).applyBatch(events, source);
      const snapshot = (table: string) =>
        db(table)
          .whereIn('account_id', [customer, other])
          .orderBy('notification_id')
          .select('notification_id', 'account_id', 'order_id', 'channel', 'kind', 'title', 'body', 'created_at');
      const one = await snapshot(t.notifications);
      // placed ×2 channels, placed ×2, confirmed (push only), rejected (email only), preparing ×2 again
      expect(one).toHaveLength(2 + 2 + 1 + 1 + 2);
      expect(await snapshot(notificationsTables(2).notifications)).toEqual(one);
    } finally {
      await v2.dropTables(db);
    }
  });
});

describe('notification queries', () => {
  it('pages an account’s notifications newest first, without skipping or repeating rows that share a time', async () => {
    const customer = `c-${randomUUID()}`;
    const stranger = `c-${randomUUID()}`;
    const events: ProjectedEvent[] = [registered(customer), registered(stranger), placed(randomUUID(), stranger)];
    // 12 orders placed in 6 distinct instants, two per instant: 24 rows (email + push) with many equal times.
    for (let i = 0; i < 12; i++) {
      events.push(placed(randomUUID(), customer, new Date(base + 3_600_000 + Math.floor(i / 2) * 1000).toISOString()));
    }
    await apply(events);

    const seen: string[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await queries().list(customer, { limit: 5, cursor });
      pages.push(page.items.length);
      seen.push(...page.items.map((n) => n.notificationId));
      for (const n of page.items)
        expect(n).toMatchObject({ accountId: customer, kind: 'ORDER_PLACED', status: 'pending' });
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages).toEqual([5, 5, 5, 5, 4]);
    expect(new Set(seen).size).toBe(24);

    const all = (await queries().list(customer, { limit: 100 })).items;
    expect(all.map((n) => n.notificationId)).toEqual(seen);
    const times = all.map((n) => n.createdAt);
    expect([...times].sort().reverse()).toEqual(times);

    const push = await queries().list(customer, { channel: 'push', limit: 100 });
    expect(push.items).toHaveLength(12);
    expect(push.items.every((n) => n.channel === 'push')).toBe(true);
    expect(push.nextCursor).toBeNull();
    const firstPush = await queries().list(customer, { channel: 'push', limit: 7 });
    const restPush = await queries().list(customer, { channel: 'push', limit: 7, cursor: firstPush.nextCursor! });
    expect([...firstPush.items, ...restPush.items]).toEqual(push.items);
  });

  it('refuses a cursor it did not make', async () => {
    await expect(queries().list('anyone', { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('reads preferences, with the defaults for an account that never chose', async () => {
    const chooser = `c-${randomUUID()}`;
    await apply([registered(chooser), preferences(chooser, 2, false, true)]);
    expect(await queries().preferences(chooser)).toEqual({
      accountId: chooser,
      email: false,
      push: true,
      version: 2,
      updatedAt: new Date(base + 2000).toISOString(),
    });
    expect(await queries().preferences('never-chose')).toEqual({
      accountId: 'never-chose',
      email: true,
      push: true,
      version: 0,
      updatedAt: null,
    });
  });
});
