import type { Knex } from 'knex';
import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import { type DocWrite, foldRestaurantEvents, planDocWrites, type StagedItem } from './changes.js';
import {
  isMenuItemEvent,
  isRestaurantEvent,
  type MenuItemDoc,
  type MenuSearchEvent,
  type RestaurantFacts,
} from './documents.js';

// The PostgreSQL staging copy of the menu-items search documents and of the restaurant facts they embed:
// its tables, and folding a batch into them under row locks (the runtime's transaction commits it).

/** Staging table names of one version. */
export const menuSearchTables = (version: number) => ({
  items: `search_menu_items_v${version}`,
  restaurants: `search_restaurants_v${version}`,
});

export type MenuSearchTables = ReturnType<typeof menuSearchTables>;

interface RestaurantRow {
  restaurant_id: string;
  name: string | null;
  cuisine: string | null;
  open: boolean;
  registered: boolean;
}

interface ItemRow {
  menu_item_id: string;
  restaurant_id: string;
  doc: MenuItemDoc;
  doc_version: number | string;
}

export async function createStagingTables(db: Knex, t: MenuSearchTables): Promise<void> {
  await db.raw(`
    CREATE TABLE IF NOT EXISTS ${t.restaurants} (
      restaurant_id text PRIMARY KEY,
      name text,
      cuisine text,
      open boolean NOT NULL DEFAULT false,
      registered boolean NOT NULL DEFAULT false,
      updated_at timestamptz
    );
    CREATE TABLE IF NOT EXISTS ${t.items} (
      menu_item_id text PRIMARY KEY,
      restaurant_id text NOT NULL,
      doc jsonb NOT NULL,
      doc_version bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${t.items}_restaurant ON ${t.items} (restaurant_id);
  `);
}

export async function dropStagingTables(db: Knex, t: MenuSearchTables): Promise<void> {
  await db.raw(`DROP TABLE IF EXISTS ${t.items}, ${t.restaurants}`);
}

/**
 * Folds a batch into the staging tables and returns the documents to write. Locks restaurants before items,
 * each in key order, so two batches (one from each topic) never deadlock, and an item batch cannot slip an
 * item past a restaurant batch that is rewriting that restaurant's items.
 */
export async function stageEvents(
  trx: Knex.Transaction,
  t: MenuSearchTables,
  events: readonly ProjectedEvent<MenuSearchEvent>[],
): Promise<DocWrite[]> {
  const relevant = events.filter((e) => isRestaurantEvent(e) || isMenuItemEvent(e));
  if (relevant.length === 0) return [];
  const restaurantIds = [...new Set(relevant.map((e) => e.data.restaurantId))].sort();
  const hasRestaurantEvents = relevant.some(isRestaurantEvent);

  const restaurantsBefore = await lockRestaurants(trx, t, restaurantIds, hasRestaurantEvents);
  const changes = foldRestaurantEvents(restaurantsBefore, relevant);
  await upsertRestaurants(trx, t, changes.toStage);

  const itemIds = [...new Set(relevant.filter(isMenuItemEvent).map((e) => e.data.menuItemId))].sort();
  const rewriteRestaurants = [...changes.rewriteAt.keys()];
  if (itemIds.length === 0 && rewriteRestaurants.length === 0) return [];
  const staged = await lockItems(trx, t, itemIds, rewriteRestaurants);
  const writes = planDocWrites(staged, relevant, changes);
  await upsertItems(trx, t, writes);
  return writes;
}

/**
 * Reads and locks the restaurants, in id order, creating placeholders first so that there is always a row to
 * lock: an item seen before its restaurant registers is then serialised with the restaurant's first batch,
 * which will fill in its restaurant fields. Item batches only read restaurants (shared lock, so they run side
 * by side); restaurant batches change them (`forUpdate`).
 */
async function lockRestaurants(
  trx: Knex.Transaction,
  t: MenuSearchTables,
  restaurantIds: string[],
  forUpdate: boolean,
): Promise<Map<string, RestaurantFacts>> {
  await trx.raw(
    `INSERT INTO ${t.restaurants} (restaurant_id) SELECT unnest(?::text[]) ON CONFLICT (restaurant_id) DO NOTHING`,
    [restaurantIds],
  );
  const { rows } = (await trx.raw(
    `SELECT restaurant_id, name, cuisine, open, registered FROM ${t.restaurants}
     WHERE restaurant_id = ANY(?) ORDER BY restaurant_id ${forUpdate ? 'FOR UPDATE' : 'FOR SHARE'}`,
    [restaurantIds],
  )) as { rows: RestaurantRow[] };
  return new Map<string, RestaurantFacts>(
    rows.map((r) => [
      r.restaurant_id,
      { restaurantId: r.restaurant_id, name: r.name, cuisine: r.cuisine, open: r.open, registered: r.registered },
    ]),
  );
}

async function upsertRestaurants(
  trx: Knex.Transaction,
  t: MenuSearchTables,
  restaurants: readonly RestaurantFacts[],
): Promise<void> {
  if (restaurants.length === 0) return;
  await trx(t.restaurants)
    .insert(
      restaurants.map((r) => ({
        restaurant_id: r.restaurantId,
        name: r.name,
        cuisine: r.cuisine,
        open: r.open,
        registered: r.registered,
        updated_at: trx.fn.now(),
      })),
    )
    .onConflict('restaurant_id')
    .merge();
}

/** Reads and locks, in id order, the named items and every not-removed item of the restaurants to rewrite. */
async function lockItems(
  trx: Knex.Transaction,
  t: MenuSearchTables,
  itemIds: string[],
  rewriteRestaurants: string[],
): Promise<StagedItem[]> {
  const { rows } = (await trx.raw(
    `SELECT menu_item_id, restaurant_id, doc, doc_version FROM ${t.items}
     WHERE menu_item_id = ANY(?::text[])
        OR (restaurant_id = ANY(?::text[]) AND (doc->>'removed')::boolean IS NOT TRUE)
     ORDER BY menu_item_id FOR UPDATE`,
    [itemIds, rewriteRestaurants],
  )) as { rows: ItemRow[] };
  return rows.map((r) => ({
    menuItemId: r.menu_item_id,
    restaurantId: r.restaurant_id,
    doc: r.doc,
    docVersion: Number(r.doc_version),
  }));
}

async function upsertItems(trx: Knex.Transaction, t: MenuSearchTables, writes: readonly DocWrite[]): Promise<void> {
  if (writes.length === 0) return;
  await trx.raw(
    `INSERT INTO ${t.items} AS i (menu_item_id, restaurant_id, doc, doc_version)
       SELECT * FROM unnest(?::text[], ?::text[], ?::jsonb[], ?::bigint[])
       ON CONFLICT (menu_item_id)
       DO UPDATE SET restaurant_id = EXCLUDED.restaurant_id, doc = EXCLUDED.doc, doc_version = EXCLUDED.doc_version`,
    [
      writes.map((w) => w.doc.menuItemId),
      writes.map((w) => w.doc.restaurantId),
      writes.map((w) => JSON.stringify(w.doc)),
      writes.map((w) => w.version),
    ],
  );
}
