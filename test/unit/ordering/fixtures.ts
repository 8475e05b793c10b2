// Shared givens for the Ordering deciders' unit tests: a fixed clock and the events most tests start from.
// The given/when/then helper itself is test/support/decider.ts, for every context.
import { fold } from '../../../commands/decider.js';
import { type MenuItem, type MenuItemEvent, menuItemDecider } from '../../../commands/ordering/menu-item.js';
import type { MenuSnapshot } from '../../../commands/ordering/order.js';
import {
  type Address,
  type Restaurant,
  type RestaurantEvent,
  restaurantDecider,
} from '../../../commands/ordering/restaurant.js';

export const NOW = new Date('2025-03-14T12:30:00.000Z');
export const AT = '2025-03-14T12:30:00.000Z';
export const EARLIER = '2025-03-14T11:00:00.000Z';

export const address: Address = {
  line1: '12 Rue des Lilas',
  line2: null,
  city: 'Lyon',
  postalCode: '69003',
  country: 'FR',
};

export const RESTAURANT_ID = 'r-1';
export const OTHER_RESTAURANT_ID = 'r-2';

export const restaurantRegistered = (restaurantId = RESTAURANT_ID): RestaurantEvent => ({
  type: 'RestaurantRegistered',
  data: {
    restaurantId,
    ownerId: 'owner-1',
    name: 'Chez Lina',
    cuisine: 'lyonnaise',
    address,
    registeredAt: EARLIER,
  },
});

export const restaurantOpened = (restaurantId = RESTAURANT_ID): RestaurantEvent => ({
  type: 'RestaurantOpened',
  data: { restaurantId, openedAt: EARLIER },
});

export const restaurantClosed = (restaurantId = RESTAURANT_ID): RestaurantEvent => ({
  type: 'RestaurantClosed',
  data: { restaurantId, closedAt: EARLIER },
});

export const restaurantFrom = (events: readonly RestaurantEvent[]): Restaurant => fold(restaurantDecider, events);

export const openRestaurant = (): Restaurant => restaurantFrom([restaurantRegistered(), restaurantOpened()]);

export const menuItemAdded = (
  menuItemId: string,
  overrides: Partial<{ restaurantId: string; name: string; priceMinor: number; currency: string }> = {},
): MenuItemEvent => ({
  type: 'MenuItemAdded',
  data: {
    menuItemId,
    restaurantId: overrides.restaurantId ?? RESTAURANT_ID,
    name: overrides.name ?? `dish ${menuItemId}`,
    description: 'house speciality',
    priceMinor: overrides.priceMinor ?? 1000,
    currency: overrides.currency ?? 'EUR',
    addedAt: EARLIER,
  },
});

export const menuItemFrom = (events: readonly MenuItemEvent[]): MenuItem => fold(menuItemDecider, events);

/** A menu snapshot whose items are each folded from their own events. */
export const menuOf = (restaurant: Restaurant, items: Record<string, readonly MenuItemEvent[]>): MenuSnapshot => ({
  restaurant,
  items: new Map(Object.entries(items).map(([id, events]) => [id, menuItemFrom(events)])),
});
