import { describe, expect, it } from 'vitest';
import type { NotificationRow } from '../../../projections/identity/notifications.js';
import { toNotificationView } from '../../../queries/identity/notifications.js';

// The query's response shape: ordering's fields stay as they were, a subject is added to every item.

const row = (over: Partial<NotificationRow>): NotificationRow => ({
  notification_id: 'n-1',
  event_id: 'e-1',
  account_id: 'acc-1',
  subject_kind: 'order',
  subject_id: 'o-1',
  order_id: 'o-1',
  channel: 'push',
  kind: 'ORDER_READY',
  title: 'Order ready',
  body: 'Your order is ready for pickup.',
  status: 'pending',
  created_at: new Date('2026-06-01T12:00:00.000Z'),
  ...over,
});

describe('a notification as the query answers it', () => {
  it('keeps an order notification’s fields and names the order as its subject', () => {
    expect(toNotificationView(row({}))).toEqual({
      notificationId: 'n-1',
      accountId: 'acc-1',
      subject: { kind: 'order', id: 'o-1' },
      orderId: 'o-1',
      channel: 'push',
      kind: 'ORDER_READY',
      title: 'Order ready',
      body: 'Your order is ready for pickup.',
      status: 'pending',
      createdAt: '2026-06-01T12:00:00.000Z',
    });
  });

  it('gives a marketplace notification its subject and no order', () => {
    const view = toNotificationView(
      row({ subject_kind: 'application', subject_id: 'a-1', order_id: null, kind: 'APPLICATION_RECEIVED' }),
    );
    expect(view).toMatchObject({
      subject: { kind: 'application', id: 'a-1' },
      orderId: null,
      kind: 'APPLICATION_RECEIVED',
    });
  });

  it('reads a row written before subjects existed (a table upgraded in place) as its order’s', () => {
    expect(toNotificationView(row({ subject_id: null }))).toMatchObject({
      subject: { kind: 'order', id: 'o-1' },
      orderId: 'o-1',
    });
  });
});
