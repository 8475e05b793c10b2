import type { ProjectedEvent } from '../../runtime/consumer/types.js';

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

const statusAfter: Record<string, string | undefined> = {
  OrderConfirmed: 'CONFIRMED',
  OrderRejected: 'REJECTED',
  OrderPreparationStarted: 'PREPARING',
  OrderReadyForPickup: 'READY',
  OrderPickedUp: 'PICKED_UP',
  OrderDelivered: 'DELIVERED',
  OrderCancelled: 'CANCELLED',
};

/** The row after `event`; an order event before OrderPlaced (impossible in a valid stream) leaves no row. */
export function evolveOrderView(view: OrderView | null, event: ProjectedEvent): OrderView | null {
  const d = event.data;
  const stamp = { updatedAt: event.recordedAt, version: event.streamVersion, position: event.globalPosition };
  if (event.eventType === 'OrderPlaced') {
    return {
      orderId: String(d.orderId),
      customerId: String(d.customerId),
      restaurantId: String(d.restaurantId),
      status: 'PENDING',
      items: d.items as OrderLineView[],
      totalMinor: Number(d.totalMinor),
      currency: String(d.currency),
      accepted: false,
      paymentId: null,
      reason: null,
      placedAt: String(d.placedAt),
      ...stamp,
    };
  }
  if (!view) return null;
  switch (event.eventType) {
    case 'OrderAccepted':
      return { ...view, accepted: true, ...stamp };
    case 'OrderConfirmed':
      return { ...view, status: 'CONFIRMED', paymentId: String(d.paymentId), ...stamp };
    case 'OrderRejected':
    case 'OrderCancelled':
      return { ...view, status: statusAfter[event.eventType]!, reason: String(d.reason), ...stamp };
    default: {
      const status = statusAfter[event.eventType];
      return status ? { ...view, status, ...stamp } : { ...view, ...stamp };
    }
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
