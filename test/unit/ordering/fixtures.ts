// Shared givens for the Ordering deciders' unit tests: a fixed clock, a fold, and a way to catch a refusal.
import { DomainError } from '../../../commands/decider.js';
import {
  evolveMenuItem,
  initialMenuItem,
  type MenuItem,
  type MenuItemEvent,
} from '../../../commands/ordering/menu-item.js';
import type { MenuSnapshot } from '../../../commands/ordering/order.js';
import {
  type Address,
  evolveRestaurant,
  initialRestaurant,
  type Restaurant,
  type RestaurantEvent,
} from '../../../commands/ordering/restaurant.js';

export const NOW = new Date('2025-03-14T12:30:00.000Z');
export const AT = '2025-03-14T12:30:00.000Z';
export const EARLIER = '2025-03-14T11:00:00.000Z';

/** Folds events, in order, from an initial state: what the executor does when it loads a stream. */
export const fold = <State, Event>(
  initial: () => State,
  evolve: (state: State, event: Event) => State,
  events: readonly Event[],
): State => events.reduce(evolve, initial());

/** Runs `act` and returns the DomainError it throws; fails the test if it returns or throws anything else. */
export function refusal(act: () => unknown): DomainError {
  let result: unknown;
  try {
    result = act();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`expected a DomainError, but the call returned ${JSON.stringify(result)}`);
}

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

export const restaurantFrom = (events: readonly RestaurantEvent[]): Restaurant =>
  fold(initialRestaurant, evolveRestaurant, events);

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

export const menuItemFrom = (events: readonly MenuItemEvent[]): MenuItem =>
  fold(initialMenuItem, evolveMenuItem, events);

/** A menu snapshot whose items are each folded from their own events. */
export const menuOf = (restaurant: Restaurant, items: Record<string, readonly MenuItemEvent[]>): MenuSnapshot => ({
  restaurant,
  items: new Map(Object.entries(items).map(([id, events]) => [id, menuItemFrom(events)])),
});
