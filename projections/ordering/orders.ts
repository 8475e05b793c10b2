import type { Knex } from 'knex';
import { asContract, type ProjectedEvent } from '../../runtime/consumer/types.js';
import { createOnce } from '../../runtime/postgres.js';
import type { OrderEvent } from '../../schemas/ordering/events.js';
import type { PostgresReadModel } from '../runtime/postgres.js';
import { type DailyDelta, dailyDeltas, evolveOrderView, mergeDeltas, type OrderView } from './order-view.js';

export const ORDERS_PROJECTION = 'ordering.orders';
/** The version a fresh deployment starts with; a rebuild makes the next one and switches to it. */
export const ORDERS_VERSION = 1;

/** Table names of one version of the orders read model. */
export const ordersTables = (version: number) => ({
  orders: `ordering_orders_v${version}`,
  daily: `ordering_restaurant_daily_v${version}`,
});

/** A row as node-postgres returns it: `bigint` columns come back as text, `timestamptz` ones as dates. */
interface OrderRow {
  order_id: string;
  customer_id: string;
  restaurant_id: string;
  status: string;
  items: OrderView['items'];
  total_minor: number | string;
  currency: string;
  accepted: boolean;
  payment_id: string | null;
  reason: string | null;
  placed_at: Date | string;
  updated_at: Date | string;
  version: number;
  position: number | string;
}

const iso = (v: Date | string): string => (v instanceof Date ? v.toISOString() : v);

export const toView = (r: OrderRow): OrderView => ({
  orderId: r.order_id,
  customerId: r.customer_id,
  restaurantId: r.restaurant_id,
  status: r.status,
  items: r.items,
  totalMinor: Number(r.total_minor),
  currency: r.currency,
  accepted: r.accepted,
  paymentId: r.payment_id,
  reason: r.reason,
  placedAt: iso(r.placed_at),
  updatedAt: iso(r.updated_at),
  version: r.version,
  position: Number(r.position),
});

/** A row as the upsert's json_to_recordset reads it (the lines stay nested: they become the jsonb column). */
const toRow = (v: OrderView) => ({
  order_id: v.orderId,
  customer_id: v.customerId,
  restaurant_id: v.restaurantId,
  status: v.status,
  items: v.items,
  total_minor: v.totalMinor,
  currency: v.currency,
  accepted: v.accepted,
  payment_id: v.paymentId,
  reason: v.reason,
  placed_at: v.placedAt,
  updated_at: v.updatedAt,
  version: v.version,
  position: v.position,
});

/**
 * Orders by customer and by restaurant, and each restaurant's daily figures (orders by status, totals).
 * A batch loads the rows it touches once, folds the events in memory and writes each row once, which is what
 * makes a rebuild fast. An order's row is rewritten with each of its events but its indexed columns (ids, placed
 * at) never change: with room left in each page (fillfactor 70) the rewrite is a heap-only update that touches
 * none of the four indexes.
 */
export function ordersReadModel(version: number): PostgresReadModel {
  const t = ordersTables(version);
  return {
    name: ORDERS_PROJECTION,
    version,
    topics: ['ordering.order'],
    async createTables(db) {
      await createOnce(
        db,
        t.orders,
        `
          CREATE TABLE IF NOT EXISTS ${t.orders} (
            order_id text PRIMARY KEY,
            customer_id text NOT NULL,
            restaurant_id text NOT NULL,
            status text NOT NULL,
            items jsonb NOT NULL,
            total_minor bigint NOT NULL,
            currency text NOT NULL,
            accepted boolean NOT NULL,
            payment_id text,
            reason text,
            placed_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            version integer NOT NULL,
            position bigint NOT NULL
          ) WITH (fillfactor = 70);
          CREATE INDEX IF NOT EXISTS ${t.orders}_customer ON ${t.orders} (customer_id, placed_at DESC, order_id DESC);
          CREATE INDEX IF NOT EXISTS ${t.orders}_restaurant ON ${t.orders} (restaurant_id, placed_at DESC, order_id DESC);
          CREATE INDEX IF NOT EXISTS ${t.orders}_placed ON ${t.orders} (placed_at DESC, order_id DESC);
          CREATE TABLE IF NOT EXISTS ${t.daily} (
            restaurant_id text NOT NULL,
            day date NOT NULL,
            status text NOT NULL,
            orders integer NOT NULL,
            total_minor bigint NOT NULL,
            PRIMARY KEY (restaurant_id, day, status)
          );
        `,
      );
    },
    async dropTables(db) {
      await db.raw(`DROP TABLE IF EXISTS ${t.orders}, ${t.daily}`);
    },
    async apply(trx, events) {
      await applyOrderEvents(trx, t, asContract<OrderEvent>(events));
    },
  };
}

async function applyOrderEvents(
  trx: Knex.Transaction,
  t: ReturnType<typeof ordersTables>,
  events: readonly ProjectedEvent<OrderEvent>[],
): Promise<void> {
  // The events are fresh (the runtime dropped what was applied before), so an order whose first event here is its
  // stream's first has no row yet: only orders continued from earlier batches are read (fewer than half of a
  // rebuild batch's), by one array parameter rather than one per id.
  const firstVersion = new Map<string, number>();
  for (const e of events) if (!firstVersion.has(e.data.orderId)) firstVersion.set(e.data.orderId, e.streamVersion);
  const ids = [...firstVersion.keys()];
  const continued = ids.filter((id) => firstVersion.get(id)! > 1);
  const existing: OrderRow[] =
    continued.length === 0
      ? []
      : (await trx.raw(`SELECT * FROM ${t.orders} WHERE order_id = ANY(?::text[])`, [continued])).rows;
  const before = new Map<string, OrderView>(existing.map((r) => [r.order_id, toView(r)]));
  const current = new Map<string, OrderView | null>(before);
  for (const event of events) {
    const id = event.data.orderId;
    current.set(id, evolveOrderView(current.get(id) ?? null, event));
  }
  const changed = [...current.values()].filter((v): v is OrderView => v !== null);
  if (changed.length > 0) {
    // The rows as one JSON document: JSON.stringify is native code, where one array parameter per column is
    // escaped element by element in JavaScript (most of Node's time in a rebuild batch), and a single parameter
    // never meets PostgreSQL's 65,535-parameter limit.
    await trx.raw(
      `INSERT INTO ${t.orders} AS o (order_id, customer_id, restaurant_id, status, items, total_minor, currency, accepted,
         payment_id, reason, placed_at, updated_at, version, position)
       SELECT * FROM json_to_recordset(?::json) AS x(order_id text, customer_id text, restaurant_id text, status text,
         items jsonb, total_minor bigint, currency text, accepted boolean, payment_id text, reason text,
         placed_at timestamptz, updated_at timestamptz, version int, position bigint)
       ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, items = EXCLUDED.items,
         total_minor = EXCLUDED.total_minor, currency = EXCLUDED.currency, accepted = EXCLUDED.accepted,
         payment_id = EXCLUDED.payment_id, reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at,
         version = EXCLUDED.version, position = EXCLUDED.position`,
      [JSON.stringify(changed.map(toRow))],
    );
  }
  const deltas: DailyDelta[] = mergeDeltas(
    ids.flatMap((id) => dailyDeltas(before.get(id) ?? null, current.get(id) ?? null)),
  );
  if (deltas.length > 0) {
    await trx.raw(
      `INSERT INTO ${t.daily} AS d (restaurant_id, day, status, orders, total_minor)
       SELECT * FROM unnest(?::text[], ?::date[], ?::text[], ?::int[], ?::bigint[])
       ON CONFLICT (restaurant_id, day, status)
       DO UPDATE SET orders = d.orders + EXCLUDED.orders, total_minor = d.total_minor + EXCLUDED.total_minor`,
      [
        deltas.map((d) => d.restaurantId),
        deltas.map((d) => d.day),
        deltas.map((d) => d.status),
        deltas.map((d) => d.orders),
        deltas.map((d) => d.totalMinor),
      ],
    );
  }
}
