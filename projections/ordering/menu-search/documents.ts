import type { ProjectedEvent } from '../../../runtime/consumer/types.js';

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

export const RESTAURANT_EVENTS: ReadonlySet<string> = new Set([
  'RestaurantRegistered',
  'RestaurantOpened',
  'RestaurantClosed',
  'RestaurantDetailsUpdated',
]);
export const MENU_ITEM_EVENTS: ReadonlySet<string> = new Set([
  'MenuItemAdded',
  'MenuItemPriceChanged',
  'MenuItemAvailabilityChanged',
  'MenuItemRemoved',
]);

export const unknownRestaurant = (restaurantId: string): RestaurantFacts => ({
  restaurantId,
  name: null,
  cuisine: null,
  open: false,
  registered: false,
});

export function evolveRestaurantFacts(facts: RestaurantFacts, event: ProjectedEvent): RestaurantFacts {
  const d = event.data;
  switch (event.eventType) {
    case 'RestaurantRegistered':
      // A registered restaurant starts closed (commands/ordering/restaurant.ts).
      return { ...facts, name: String(d.name), cuisine: String(d.cuisine), open: false, registered: true };
    case 'RestaurantOpened':
      return { ...facts, open: true };
    case 'RestaurantClosed':
      return { ...facts, open: false };
    case 'RestaurantDetailsUpdated':
      return { ...facts, name: String(d.name), cuisine: String(d.cuisine) };
    default:
      return facts;
  }
}

/** Whether the items of the restaurant must be rewritten (the address, say, is not in the documents). */
export const restaurantPartChanged = (a: RestaurantFacts, b: RestaurantFacts): boolean =>
  a.name !== b.name || a.cuisine !== b.cuisine || a.open !== b.open;

/** The item's own facts, from its events; the restaurant part is filled in by `withRestaurant`. */
export type ItemFacts = Omit<MenuItemDoc, 'restaurantName' | 'cuisine' | 'restaurantOpen' | 'updatedAt'>;

/** The item after `event`; an item event before MenuItemAdded (impossible in a valid stream) leaves nothing. */
export function evolveItemFacts(item: ItemFacts | null, event: ProjectedEvent): ItemFacts | null {
  const d = event.data;
  if (event.eventType === 'MenuItemAdded') {
    return {
      menuItemId: String(d.menuItemId),
      restaurantId: String(d.restaurantId),
      name: String(d.name),
      description: String(d.description),
      priceMinor: Number(d.priceMinor),
      currency: String(d.currency),
      available: true,
      removed: false,
    };
  }
  if (!item) return null;
  switch (event.eventType) {
    case 'MenuItemPriceChanged':
      return { ...item, priceMinor: Number(d.priceMinor), currency: String(d.currency) };
    case 'MenuItemAvailabilityChanged':
      return { ...item, available: Boolean(d.available) };
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
