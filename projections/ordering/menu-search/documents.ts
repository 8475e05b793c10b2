import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import type { MenuItemEvent, RestaurantEvent } from '../../../schemas/ordering/events.js';

// Pure: the search document of one menu item and how it, and the restaurant facts it embeds, evolve event by
// event. No I/O; `changes.ts` folds whole batches with these.

/** The search document of one menu item (also the `doc` column of the staging table). */
export interface MenuItemDoc {
  readonly menuItemId: string;
  readonly restaurantId: string;
  /** Null until the restaurant's own events have been seen (they travel on another topic). */
  readonly restaurantName: string | null;
  readonly cuisine: string | null;
  readonly name: string;
  readonly description: string;
  readonly priceMinor: number;
  readonly currency: string;
  readonly available: boolean;
  /** Removed items stay as tombstones so their version keeps stale writes out; queries filter them. */
  readonly removed: boolean;
  readonly restaurantOpen: boolean;
  readonly updatedAt: string;
}

/** What the items' documents embed of their restaurant; a placeholder (registered=false) until it is known. */
export interface RestaurantFacts {
  readonly restaurantId: string;
  readonly name: string | null;
  readonly cuisine: string | null;
  readonly open: boolean;
  readonly registered: boolean;
}

/** The events of the model's topics (`ordering.restaurant`, `ordering.menu-item`), as the contract types them. */
export type MenuSearchEvent = RestaurantEvent | MenuItemEvent;

// Records rather than lists, so the compiler holds each to exactly the event types of its topic.
const RESTAURANT_EVENT_TYPES: { readonly [T in RestaurantEvent['type']]: true } = {
  RestaurantRegistered: true,
  RestaurantOpened: true,
  RestaurantClosed: true,
  RestaurantDetailsUpdated: true,
};
const MENU_ITEM_EVENT_TYPES: { readonly [T in MenuItemEvent['type']]: true } = {
  MenuItemAdded: true,
  MenuItemPriceChanged: true,
  MenuItemAvailabilityChanged: true,
  MenuItemRemoved: true,
};

export const RESTAURANT_EVENTS: ReadonlySet<string> = new Set(Object.keys(RESTAURANT_EVENT_TYPES));
export const MENU_ITEM_EVENTS: ReadonlySet<string> = new Set(Object.keys(MENU_ITEM_EVENT_TYPES));

export const isRestaurantEvent = (event: ProjectedEvent<MenuSearchEvent>): event is ProjectedEvent<RestaurantEvent> =>
  RESTAURANT_EVENTS.has(event.eventType);
export const isMenuItemEvent = (event: ProjectedEvent<MenuSearchEvent>): event is ProjectedEvent<MenuItemEvent> =>
  MENU_ITEM_EVENTS.has(event.eventType);

export const unknownRestaurant = (restaurantId: string): RestaurantFacts => ({
  restaurantId,
  name: null,
  cuisine: null,
  open: false,
  registered: false,
});

/** The restaurant after `event`; the other events (its items') leave it as it is. */
export function evolveRestaurantFacts(facts: RestaurantFacts, event: ProjectedEvent<MenuSearchEvent>): RestaurantFacts {
  switch (event.eventType) {
    case 'RestaurantRegistered':
      // A registered restaurant starts closed (commands/ordering/restaurant.ts).
      return { ...facts, name: event.data.name, cuisine: event.data.cuisine, open: false, registered: true };
    case 'RestaurantOpened':
      return { ...facts, open: true };
    case 'RestaurantClosed':
      return { ...facts, open: false };
    case 'RestaurantDetailsUpdated':
      return { ...facts, name: event.data.name, cuisine: event.data.cuisine };
    default:
      return facts;
  }
}

/** Whether the items of the restaurant must be rewritten (the address, say, is not in the documents). */
export const restaurantPartChanged = (a: RestaurantFacts, b: RestaurantFacts): boolean =>
  a.name !== b.name || a.cuisine !== b.cuisine || a.open !== b.open;

/** The item's own facts, from its events; the restaurant part is filled in by `withRestaurant`. */
export type ItemFacts = Omit<MenuItemDoc, 'restaurantName' | 'cuisine' | 'restaurantOpen' | 'updatedAt'>;

/**
 * The item after `event`; an item event before MenuItemAdded (impossible in a valid stream) leaves nothing, and
 * the other events (its restaurant's) leave it as it is.
 */
export function evolveItemFacts(item: ItemFacts | null, event: ProjectedEvent<MenuSearchEvent>): ItemFacts | null {
  if (event.eventType === 'MenuItemAdded') {
    const d = event.data;
    return {
      menuItemId: d.menuItemId,
      restaurantId: d.restaurantId,
      name: d.name,
      description: d.description,
      priceMinor: d.priceMinor,
      currency: d.currency,
      available: true,
      removed: false,
    };
  }
  if (!item) return null;
  switch (event.eventType) {
    case 'MenuItemPriceChanged':
      return { ...item, priceMinor: event.data.priceMinor, currency: event.data.currency };
    case 'MenuItemAvailabilityChanged':
      return { ...item, available: event.data.available };
    case 'MenuItemRemoved':
      return { ...item, available: false, removed: true };
    default:
      return item;
  }
}

export const withRestaurant = (item: ItemFacts, restaurant: RestaurantFacts, updatedAt: string): MenuItemDoc => ({
  menuItemId: item.menuItemId,
  restaurantId: item.restaurantId,
  restaurantName: restaurant.name,
  cuisine: restaurant.cuisine,
  name: item.name,
  description: item.description,
  priceMinor: item.priceMinor,
  currency: item.currency,
  available: item.available,
  removed: item.removed,
  restaurantOpen: restaurant.open,
  updatedAt,
});

/** The item's own part of a staged document (the inverse of `withRestaurant`). */
export const itemFactsOf = (doc: MenuItemDoc): ItemFacts => ({
  menuItemId: doc.menuItemId,
  restaurantId: doc.restaurantId,
  name: doc.name,
  description: doc.description,
  priceMinor: doc.priceMinor,
  currency: doc.currency,
  available: doc.available,
  removed: doc.removed,
});

/** Same content, ignoring `updatedAt`: a document whose content did not change is neither bumped nor rewritten. */
export function sameContent(a: MenuItemDoc, b: MenuItemDoc): boolean {
  return (
    a.menuItemId === b.menuItemId &&
    a.restaurantId === b.restaurantId &&
    a.restaurantName === b.restaurantName &&
    a.cuisine === b.cuisine &&
    a.name === b.name &&
    a.description === b.description &&
    a.priceMinor === b.priceMinor &&
    a.currency === b.currency &&
    a.available === b.available &&
    a.removed === b.removed &&
    a.restaurantOpen === b.restaurantOpen
  );
}
