import type { ProjectedEvent } from '../../runtime/consumer/types.js';

// Realistic event sequences for the projection and rebuild suites, shaped exactly like the Avro schemas in
// schemas/ordering (every field present), so the same objects can be handed to projections as decoded data or
// encoded with the real EventCodec. A fixed seed makes every run project the same history.

/** mulberry32: a tiny deterministic PRNG; Math.random would make two runs project different histories. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deterministic id shaped like the UUIDs commands generate, so index and key sizes are realistic. */
function uuidLike(random: () => number): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () =>
      Math.floor(random() * 16)
        .toString(16)
        .toLowerCase(),
    ).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

/** An event before the envelope's position and time are known. */
interface Draft {
  readonly eventType: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly data: Record<string, unknown>;
}

/** A stream's remaining events, produced one at a time. */
interface Lifecycle {
  readonly streamId: string;
  readonly steps: readonly ((at: string) => Record<string, unknown>)[];
  readonly types: readonly string[];
  next: number;
}

export interface EventMixOptions {
  readonly seed: number;
  /** Global positions start after this (a store that already holds other events). */
  readonly positionBase?: number;
  /** recorded_at of the first event; one millisecond per event after it. */
  readonly startAt?: number;
  readonly correlationId?: string;
}

const ADDRESS = { line1: '1 Rua Augusta', line2: null, city: 'Lisbon', postalCode: '1100-048', country: 'PT' };

/** Envelopes drafts in the order given: global positions, times and event ids as the store would assign them. */
function envelope(drafts: readonly Draft[], options: EventMixOptions, random: () => number): ProjectedEvent[] {
  const base = options.positionBase ?? 0;
  const startAt = options.startAt ?? Date.now();
  return drafts.map((d, i) => ({
    eventId: uuidLike(random),
    eventType: d.eventType,
    streamId: d.streamId,
    streamVersion: d.streamVersion,
    globalPosition: base + i + 1,
    recordedAt: new Date(startAt + i).toISOString(),
    correlationId: options.correlationId ?? 'bench-correlation',
    data: d.data,
  }));
}

export interface OrderMixOptions extends EventMixOptions {
  /** Stop after this many events (the last orders may be left mid-lifecycle, as in a live store). */
  readonly events: number;
  /** Orders in progress at once: how widely one batch's events spread over orders. */
  readonly activeOrders: number;
  readonly restaurants: number;
  readonly customers: number;
}

export interface OrderMix {
  readonly events: ProjectedEvent[];
  /** Distinct orders placed. */
  readonly orders: number;
}

/**
 * Orders going through their lifecycle, interleaved the way a busy store records them: about `activeOrders`
 * orders are in progress at any time, each event advances a random one of them. 85% are delivered (7 events:
 * placed, accepted, confirmed, preparing, ready, picked up, delivered), 8% rejected by payment (2 events), 7%
 * cancelled after acceptance (3 events).
 */
export function orderMix(options: OrderMixOptions): OrderMix {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const restaurants = Array.from({ length: options.restaurants }, () => uuidLike(random));
  const customers = Array.from({ length: options.customers }, () => `customer-${uuidLike(random)}`);
  const menus = new Map(restaurants.map((r) => [r, Array.from({ length: 12 }, () => uuidLike(random))]));
  const newOrder = (): Lifecycle => {
    const orderId = uuidLike(random);
    const restaurantId = pick(restaurants);
    const menu = menus.get(restaurantId)!;
    const items = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => ({
      menuItemId: menu[i * 3]!,
      name: `Dish ${i}`,
      quantity: 1 + Math.floor(random() * 3),
      unitPriceMinor: 500 + Math.floor(random() * 2000),
    }));
    const totalMinor = items.reduce((sum, item) => sum + item.quantity * item.unitPriceMinor, 0);
    const placed = (at: string) => ({
      orderId,
      restaurantId,
      customerId: pick(customers),
      items,
      totalMinor,
      currency: 'EUR',
      deliveryAddress: ADDRESS,
      paymentMethod: { cardLast4: '4242', cardToken: '4242424242424242' },
      placedAt: at,
    });
    const roll = random();
    if (roll < 0.08) {
      return {
        streamId: `order-${orderId}`,
        types: ['OrderPlaced', 'OrderRejected'],
        steps: [placed, (at) => ({ orderId, reason: 'payment declined', rejectedAt: at })],
        next: 0,
      };
    }
    const accepted = (at: string) => ({ orderId, acceptedAt: at });
    if (roll < 0.15) {
      return {
        streamId: `order-${orderId}`,
        types: ['OrderPlaced', 'OrderAccepted', 'OrderCancelled'],
        steps: [
          placed,
          accepted,
          (at) => ({
            orderId,
            reason: 'changed my mind',
            cancelledBy: 'customer',
            previousStatus: 'PENDING',
            cancelledAt: at,
          }),
        ],
        next: 0,
      };
    }
    return {
      streamId: `order-${orderId}`,
      types: [
        'OrderPlaced',
        'OrderAccepted',
        'OrderConfirmed',
        'OrderPreparationStarted',
        'OrderReadyForPickup',
        'OrderPickedUp',
        'OrderDelivered',
      ],
      steps: [
        placed,
        accepted,
        (at) => ({ orderId, paymentId: `pi_${orderId.slice(0, 18)}`, confirmedAt: at }),
        (at) => ({ orderId, startedAt: at }),
        (at) => ({ orderId, readyAt: at }),
        (at) => ({ orderId, courierId: 'courier-1', pickedUpAt: at }),
        (at) => ({ orderId, deliveredAt: at }),
      ],
      next: 0,
    };
  };

  const startAt = options.startAt ?? Date.now();
  const drafts: Draft[] = [];
  const active: Lifecycle[] = [];
  let orders = 0;
  while (drafts.length < options.events) {
    // Keep the window full; otherwise advance a random order in progress.
    let order: Lifecycle;
    if (active.length < options.activeOrders) {
      order = newOrder();
      active.push(order);
      orders++;
    } else {
      const i = Math.floor(random() * active.length);
      order = active[i]!;
    }
    const at = new Date(startAt + drafts.length).toISOString();
    drafts.push({
      eventType: order.types[order.next]!,
      streamId: order.streamId,
      streamVersion: order.next + 1,
      data: order.steps[order.next]!(at),
    });
    order.next++;
    if (order.next === order.steps.length) active.splice(active.indexOf(order), 1);
  }
  return { events: envelope(drafts, { ...options, startAt }, random), orders };
}

export interface MenuMixOptions extends EventMixOptions {
  readonly restaurants: number;
  readonly itemsPerRestaurant: number;
  /** Price and availability changes after every item was added. */
  readonly changes: number;
}

export interface MenuMix {
  /** RestaurantRegistered + RestaurantOpened per restaurant (topic ordering.restaurant). */
  readonly restaurantEvents: ProjectedEvent[];
  /** MenuItemAdded per item, then the changes (topic ordering.menu-item). */
  readonly itemEvents: ProjectedEvent[];
  readonly items: number;
}

/**
 * Restaurants registering and opening, their menus being added, then prices and availability changing on
 * random items: 70% price changes, 30% availability toggles.
 */
export function menuMix(options: MenuMixOptions): MenuMix {
  const random = seededRandom(options.seed);
  const restaurantDrafts: Draft[] = [];
  const itemDrafts: Draft[] = [];
  const items: { id: string; restaurantId: string; version: number; price: number; available: boolean }[] = [];
  const at = new Date(options.startAt ?? Date.now()).toISOString();
  const cuisines = ['italian', 'japanese', 'portuguese', 'indian', 'mexican'];
  for (let r = 0; r < options.restaurants; r++) {
    const restaurantId = uuidLike(random);
    const streamId = `restaurant-${restaurantId}`;
    restaurantDrafts.push(
      {
        eventType: 'RestaurantRegistered',
        streamId,
        streamVersion: 1,
        data: {
          restaurantId,
          ownerId: `owner-${r}`,
          name: `Restaurant ${r}`,
          cuisine: cuisines[r % cuisines.length]!,
          address: ADDRESS,
          registeredAt: at,
        },
      },
      { eventType: 'RestaurantOpened', streamId, streamVersion: 2, data: { restaurantId, openedAt: at } },
    );
    for (let i = 0; i < options.itemsPerRestaurant; i++) {
      const item = { id: uuidLike(random), restaurantId, version: 1, price: 500 + Math.floor(random() * 2000) };
      items.push({ ...item, available: true });
      itemDrafts.push({
        eventType: 'MenuItemAdded',
        streamId: `menu-item-${item.id}`,
        streamVersion: 1,
        data: {
          menuItemId: item.id,
          restaurantId,
          name: `Dish ${i} of restaurant ${r}`,
          description: 'Slow-cooked, seasonal, served with bread from the bakery next door.',
          priceMinor: item.price,
          currency: 'EUR',
          addedAt: at,
        },
      });
    }
  }
  for (let c = 0; c < options.changes; c++) {
    const item = items[Math.floor(random() * items.length)]!;
    item.version++;
    const streamId = `menu-item-${item.id}`;
    if (random() < 0.7) {
      const previous = item.price;
      item.price = 500 + Math.floor(random() * 2000);
      itemDrafts.push({
        eventType: 'MenuItemPriceChanged',
        streamId,
        streamVersion: item.version,
        data: {
          menuItemId: item.id,
          restaurantId: item.restaurantId,
          priceMinor: item.price,
          previousPriceMinor: previous,
          currency: 'EUR',
          changedAt: at,
        },
      });
    } else {
      item.available = !item.available;
      itemDrafts.push({
        eventType: 'MenuItemAvailabilityChanged',
        streamId,
        streamVersion: item.version,
        data: { menuItemId: item.id, restaurantId: item.restaurantId, available: item.available, changedAt: at },
      });
    }
  }
  const all = envelope([...restaurantDrafts, ...itemDrafts], options, random);
  return {
    restaurantEvents: all.slice(0, restaurantDrafts.length),
    itemEvents: all.slice(restaurantDrafts.length),
    items: items.length,
  };
}

/** Consecutive slices of `size`: the batches a projection would be handed. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
