import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import {
  evolveItemFacts,
  evolveRestaurantFacts,
  type ItemFacts,
  isMenuItemEvent,
  isRestaurantEvent,
  itemFactsOf,
  type MenuItemDoc,
  type MenuSearchEvent,
  type RestaurantFacts,
  restaurantPartChanged,
  sameContent,
  unknownRestaurant,
  withRestaurant,
} from './documents.js';

// Pure: folds one batch of events into the staged state read for it, and says what to write back. The
// restaurants are folded first; the items then take their restaurant part from the restaurants' final state,
// so the result does not depend on how the two topics interleaved. No I/O: `staging.ts` reads and writes.

/** A document to index, with its external version (one more than the staged one, or 1 for a new item). */
export interface DocWrite {
  readonly doc: MenuItemDoc;
  readonly version: number;
}

/** An item as staged before the batch (a row of the items staging table). */
export interface StagedItem {
  readonly menuItemId: string;
  readonly restaurantId: string;
  readonly doc: MenuItemDoc;
  readonly docVersion: number;
}

/** The restaurants after a batch's restaurant events, compared with the staged state before it. */
export interface RestaurantChanges {
  /** Every restaurant staged before the batch or named by one of its restaurant events, after the batch. */
  readonly restaurants: ReadonlyMap<string, RestaurantFacts>;
  /** The restaurants whose staged row must be written: embedded fields or registration changed, or new. */
  readonly toStage: readonly RestaurantFacts[];
  /**
   * The restaurants whose embedded fields differ at the batch's end from its start, each with the latest
   * time they changed: all their (not removed) items must be rewritten. Open then closed within one batch
   * changes nothing.
   */
  readonly rewriteAt: ReadonlyMap<string, string>;
}

/** The later of two ISO timestamps (the first if they are equal or the second does not parse). */
export const laterOf = (a: string, b: string): string => (Date.parse(b) > Date.parse(a) ? b : a);

/** Folds the batch's restaurant events (others are ignored) into the restaurants staged before it. */
export function foldRestaurantEvents(
  before: ReadonlyMap<string, RestaurantFacts>,
  events: readonly ProjectedEvent<MenuSearchEvent>[],
): RestaurantChanges {
  const restaurants = new Map(before);
  const changedAt = new Map<string, string>();
  for (const event of events) {
    if (!isRestaurantEvent(event)) continue;
    const id = event.data.restaurantId;
    const was = restaurants.get(id) ?? unknownRestaurant(id);
    const now = evolveRestaurantFacts(was, event);
    restaurants.set(id, now);
    if (restaurantPartChanged(was, now)) {
      changedAt.set(id, laterOf(changedAt.get(id) ?? event.recordedAt, event.recordedAt));
    }
  }
  const toStage = [...restaurants.values()].filter((r) => {
    const was = before.get(r.restaurantId);
    return !was || restaurantPartChanged(was, r) || was.registered !== r.registered;
  });
  const rewriteAt = new Map(
    [...changedAt].filter(([id]) =>
      restaurantPartChanged(before.get(id) ?? unknownRestaurant(id), restaurants.get(id)!),
    ),
  );
  return { restaurants, toStage, rewriteAt };
}

/**
 * The documents to write after the batch's item events (others are ignored) and its restaurant changes.
 * `staged` must hold every staged item the events name and every not-removed item of the restaurants in
 * `changes.rewriteAt`. A document whose content did not change is left out; one that did gets the next version
 * and, as `updatedAt`, the later of its staged `updatedAt` and the latest event that touched it.
 */
export function planDocWrites(
  staged: readonly StagedItem[],
  events: readonly ProjectedEvent<MenuSearchEvent>[],
  changes: RestaurantChanges,
): DocWrite[] {
  const stagedById = new Map(staged.map((s) => [s.menuItemId, s]));
  const items = new Map<string, ItemFacts | null>(staged.map((s) => [s.menuItemId, itemFactsOf(s.doc)]));
  const touchedAt = new Map<string, string>();
  for (const event of events) {
    if (!isMenuItemEvent(event)) continue;
    const id = event.data.menuItemId;
    items.set(id, evolveItemFacts(items.get(id) ?? null, event));
    touchedAt.set(id, laterOf(touchedAt.get(id) ?? event.recordedAt, event.recordedAt));
  }
  for (const s of staged) {
    const changedAt = changes.rewriteAt.get(s.restaurantId);
    if (changedAt) touchedAt.set(s.menuItemId, laterOf(touchedAt.get(s.menuItemId) ?? changedAt, changedAt));
  }

  const writes: DocWrite[] = [];
  for (const [id, at] of touchedAt) {
    const item = items.get(id);
    if (!item) continue;
    const restaurant = changes.restaurants.get(item.restaurantId) ?? unknownRestaurant(item.restaurantId);
    const before = stagedById.get(id);
    const draft = withRestaurant(item, restaurant, before ? laterOf(before.doc.updatedAt, at) : at);
    if (before && sameContent(before.doc, draft)) continue;
    writes.push({ doc: draft, version: before ? before.docVersion + 1 : 1 });
  }
  return writes;
}
