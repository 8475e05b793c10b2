import type { Knex } from 'knex';
import type { OrderView } from '../../projections/ordering/order-view.js';
import { ordersTables, toView } from '../../projections/ordering/orders.js';
import { isCalendarDate } from '../../runtime/dates.js';
import { KindedError } from '../../runtime/errors.js';
import { decodeCursor, encodeCursor } from '../cursor.js';

export interface OrderFilter {
  readonly customerId?: string;
  readonly restaurantId?: string;
  readonly status?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

export interface OrderPage {
  readonly items: OrderView[];
  readonly nextCursor: string | null;
}

export interface DailyFigures {
  readonly restaurantId: string;
  readonly day: string;
  readonly byStatus: Record<string, { orders: number; totalMinor: number }>;
  readonly orders: number;
  /** Orders that went ahead (confirmed through delivered); rejected and cancelled ones earn nothing. */
  readonly revenueMinor: number;
}

const EARNING = new Set(['CONFIRMED', 'PREPARING', 'READY', 'PICKED_UP', 'DELIVERED']);

/** Read-only queries over the orders read model, on the query side's own pool. */
export class OrderQueries {
  constructor(
    private readonly db: Knex,
    private readonly version: () => Promise<number>,
  ) {}

  async byId(orderId: string): Promise<OrderView | null> {
    const t = ordersTables(await this.version());
    const row = await this.db(t.orders).where('order_id', orderId).first();
    return row ? toView(row) : null;
  }

  async list(filter: OrderFilter): Promise<OrderPage> {
    const t = ordersTables(await this.version());
    const limit = Math.min(Math.max(filter.limit ?? 20, 1), 100);
    const query = this.db(t.orders);
    if (filter.customerId) query.where('customer_id', filter.customerId);
    if (filter.restaurantId) query.where('restaurant_id', filter.restaurantId);
    if (filter.status) query.where('status', filter.status);
    if (filter.cursor) {
      const [placedAt, orderId] = decodeCursor(filter.cursor);
      query.whereRaw('(placed_at, order_id) < (?::timestamptz, ?)', [placedAt, orderId]);
    }
    const rows = await query
      .orderBy([
        { column: 'placed_at', order: 'desc' },
        { column: 'order_id', order: 'desc' },
      ])
      .limit(limit + 1);
    const items = rows.slice(0, limit).map(toView);
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor(items.at(-1)!.placedAt, items.at(-1)!.orderId) : null,
    };
  }

  async dailyFigures(restaurantId: string, day: string): Promise<DailyFigures> {
    // The gateway's `format: 'date'` already refuses these; PostgreSQL would fail on them (a 22008, not a 400).
    if (!isCalendarDate(day)) {
      throw new KindedError(
        'invalid',
        'INVALID_INPUT',
        `day must be a calendar date YYYY-MM-DD, not ${JSON.stringify(day)}`,
      );
    }
    const t = ordersTables(await this.version());
    const rows: { status: string; orders: number; total_minor: number }[] = await this.db(t.daily)
      .where({ restaurant_id: restaurantId, day })
      .select('status', 'orders', 'total_minor');
    const byStatus: DailyFigures['byStatus'] = {};
    let orders = 0;
    let revenueMinor = 0;
    for (const r of rows) {
      if (r.orders === 0) continue;
      byStatus[r.status] = { orders: r.orders, totalMinor: Number(r.total_minor) };
      orders += r.orders;
      if (EARNING.has(r.status)) revenueMinor += Number(r.total_minor);
    }
    return { restaurantId, day, byStatus, orders, revenueMinor };
  }
}
