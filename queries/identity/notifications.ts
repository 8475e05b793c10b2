import type { Knex } from 'knex';
import type { NotificationChannel, NotificationKind } from '../../projections/identity/notification-messages.js';
import {
  type NotificationRow,
  notificationsTables,
  ORDER_SUBJECT,
  type PreferencesRow,
} from '../../projections/identity/notifications.js';
import { DEFAULT_NOTIFICATION_PREFERENCES } from '../../schemas/identity/vocabulary.js';
import { decodeCursor, encodeCursor } from '../cursor.js';

export interface NotificationView {
  readonly notificationId: string;
  readonly accountId: string;
  /** What it is about: `{ kind: 'order', id: <orderId> }`, or a contributing context's (`application`, `contract`). */
  readonly subject: { readonly kind: string; readonly id: string };
  /** The order's id on an order's notification (as before subjects existed), null on the others. */
  readonly orderId: string | null;
  readonly channel: NotificationChannel;
  /** An order's kinds, or a contributing context's (`APPLICATION_RECEIVED`, …): the read model stores any. */
  readonly kind: NotificationKind | (string & {});
  readonly title: string;
  readonly body: string;
  readonly status: string;
  readonly createdAt: string;
}

export interface NotificationFilter {
  readonly channel?: NotificationChannel;
  readonly cursor?: string;
  readonly limit?: number;
}

export interface NotificationPage {
  readonly items: NotificationView[];
  readonly nextCursor: string | null;
}

export interface PreferencesView {
  readonly accountId: string;
  readonly email: boolean;
  readonly push: boolean;
  /** The account stream's version of the last change; 0 while the account runs on the defaults. */
  readonly version: number;
  readonly updatedAt: string | null;
}

const iso = (v: Date | string): string => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

export const toNotificationView = (r: NotificationRow): NotificationView => ({
  notificationId: r.notification_id,
  accountId: r.account_id,
  // A row written before subjects existed (a table upgraded in place) has only its order id.
  subject: { kind: r.subject_kind, id: r.subject_id ?? r.order_id ?? '' },
  orderId: r.subject_kind === ORDER_SUBJECT ? (r.order_id ?? r.subject_id) : null,
  channel: r.channel,
  kind: r.kind,
  title: r.title,
  body: r.body,
  status: r.status,
  createdAt: iso(r.created_at),
});

/** Read-only queries over the notifications read model, on the query side's own pool. */
export class NotificationQueries {
  constructor(
    private readonly db: Knex,
    private readonly version: () => Promise<number>,
  ) {}

  /** One account's notifications, newest first. */
  async list(accountId: string, filter: NotificationFilter = {}): Promise<NotificationPage> {
    const t = notificationsTables(await this.version());
    const limit = Math.min(Math.max(filter.limit ?? 20, 1), 100);
    const query = this.db(t.notifications).where('account_id', accountId);
    if (filter.channel) query.where('channel', filter.channel);
    if (filter.cursor) {
      const [createdAt, notificationId] = decodeCursor(filter.cursor);
      query.whereRaw('(created_at, notification_id) < (?::timestamptz, ?)', [createdAt, notificationId]);
    }
    const rows: NotificationRow[] = await query
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'notification_id', order: 'desc' },
      ])
      .limit(limit + 1);
    const items = rows.slice(0, limit).map(toNotificationView);
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor(items.at(-1)!.createdAt, items.at(-1)!.notificationId) : null,
    };
  }

  /** The account's preferences; the defaults (every channel on) when it never chose. */
  async preferences(accountId: string): Promise<PreferencesView> {
    const t = notificationsTables(await this.version());
    const row: PreferencesRow | undefined = await this.db(t.preferences).where('account_id', accountId).first();
    return row
      ? { accountId, email: row.email, push: row.push, version: row.version, updatedAt: iso(row.updated_at) }
      : { accountId, ...DEFAULT_NOTIFICATION_PREFERENCES, version: 0, updatedAt: null };
  }
}
