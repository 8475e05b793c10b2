import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import type { OrderEvent } from '../../schemas/ordering/events.js';
import type { OrderStatus } from '../../schemas/ordering/vocabulary.js';

// The order read model as pure functions: how one order's row evolves with its events, and how a change of
// status moves the restaurant's daily figures. The PostgreSQL projection (orders.ts) only loads and stores.

export interface OrderLineView {
  readonly menuItemId: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPriceMinor: number;
}

export interface OrderView {
  readonly orderId: string;
  readonly customerId: string;
  readonly restaurantId: string;
  readonly status: string;
  readonly items: readonly OrderLineView[];
  readonly totalMinor: number;
  readonly currency: string;
  readonly accepted: boolean;
  readonly paymentId: string | null;
  readonly reason: string | null;
  readonly placedAt: string;
  readonly updatedAt: string;
  readonly version: number;
  readonly position: number;
}

/** The row after `event`; an order event before OrderPlaced (impossible in a valid stream) leaves no row. */
export function evolveOrderView(view: OrderView | null, event: ProjectedEvent<OrderEvent>): OrderView | null {
  const stamp = { updatedAt: event.recordedAt, version: event.streamVersion, position: event.globalPosition };
  if (event.eventType === 'OrderPlaced') {
    const d = event.data;
    return {
      orderId: d.orderId,
      customerId: d.customerId,
      restaurantId: d.restaurantId,
      status: 'PENDING' satisfies OrderStatus,
      items: d.items,
      totalMinor: d.totalMinor,
      currency: d.currency,
      accepted: false,
      paymentId: null,
      reason: null,
      placedAt: d.placedAt,
      ...stamp,
    };
  }
  if (!view) return null;
  const to = (status: OrderStatus) => ({ ...view, status, ...stamp });
  switch (event.eventType) {
    case 'OrderAccepted':
      return { ...view, accepted: true, ...stamp };
    case 'OrderConfirmed':
      return { ...to('CONFIRMED'), paymentId: event.data.paymentId };
    case 'OrderRejected':
      return { ...to('REJECTED'), reason: event.data.reason };
    case 'OrderCancelled':
      return { ...to('CANCELLED'), reason: event.data.reason };
    case 'OrderPreparationStarted':
      return to('PREPARING');
    case 'OrderReadyForPickup':
      return to('READY');
    case 'OrderPickedUp':
      return to('PICKED_UP');
    case 'OrderDelivered':
      return to('DELIVERED');
    default:
      return { ...view, ...stamp };
  }
}

/** One cell of a restaurant's daily figures: orders placed that day that are now in `status`. */
export interface DailyDelta {
  readonly restaurantId: string;
  readonly day: string;
  readonly status: string;
  readonly orders: number;
  readonly totalMinor: number;
}

const dayOf = (iso: string): string => iso.slice(0, 10);

/** Moving an order from `before` to `after` moves one order and its total between status cells. */
export function dailyDeltas(before: OrderView | null, after: OrderView | null): DailyDelta[] {
  if (before?.status === after?.status) return [];
  const out: DailyDelta[] = [];
  if (before) {
    out.push({
      restaurantId: before.restaurantId,
      day: dayOf(before.placedAt),
      status: before.status,
      orders: -1,
      totalMinor: -before.totalMinor,
    });
  }
  if (after) {
    out.push({
      restaurantId: after.restaurantId,
      day: dayOf(after.placedAt),
      status: after.status,
      orders: 1,
      totalMinor: after.totalMinor,
    });
  }
  return out;
}

/** Sums deltas per cell, dropping cells that net to zero. */
export function mergeDeltas(deltas: readonly DailyDelta[]): DailyDelta[] {
  const cells = new Map<string, DailyDelta>();
  for (const d of deltas) {
    const key = `${d.restaurantId}\u0000${d.day}\u0000${d.status}`;
    const prev = cells.get(key);
    cells.set(key, prev ? { ...d, orders: prev.orders + d.orders, totalMinor: prev.totalMinor + d.totalMinor } : d);
  }
  return [...cells.values()].filter((c) => c.orders !== 0 || c.totalMinor !== 0);
}
