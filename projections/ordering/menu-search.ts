import { type Client, errors } from '@elastic/elasticsearch';
import type { Knex } from 'knex';
import type { PostgresReadModel } from '../runtime/postgres.js';
import type { ProjectedEvent } from '../runtime/types.js';

// The menu-items search read model. Elasticsearch holds one document per menu item; PostgreSQL holds a staging
// copy of every document and of the restaurant facts they embed. The staging copy exists because a restaurant
// opening, closing or renaming must rewrite all its items, and this Elasticsearch build has no update_by_query
// or scripts: the projection computes every new document itself and writes it whole.
//
// Consistency: the staging rows, the stream versions seen and the checkpoint commit in one PostgreSQL
// transaction (projections/runtime/postgres.ts), and the Elasticsearch bulk write happens inside it, before the
// commit. Elasticsearch failing rolls the batch back (it is retried); PostgreSQL failing after Elasticsearch
// leaves documents that the redelivery rewrites. Each document carries `doc_version` as its external version,
// bumped by one per change under a row lock, so a stale write (lower version) never replaces a newer one.

export const MENU_SEARCH_PROJECTION = 'ordering.menu-search';

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

/** Staging table names of one version. */
export const menuSearchTables = (version: number) => ({
  items: `search_menu_items_v${version}`,
  restaurants: `search_restaurants_v${version}`,
});

// Elasticsearch index names must be lower case; the topic prefix may not be.
export const menuSearchAlias = (prefix: string): string => `${prefix.toLowerCase()}menu-items`;
export const menuSearchIndex = (prefix: string, version: number): string => `${menuSearchAlias(prefix)}-v${version}`;

const BULK_CHUNK = 500;

export const MENU_ITEMS_INDEX_SETTINGS = {
  number_of_shards: 1,
  number_of_replicas: 0,
  // An explicit interval turns off "search idle" skipping of refreshes, so a change is searchable within ~1 s
  // even on an index nobody has searched lately.
  refresh_interval: '1s',
  analysis: {
    // Cuisine filters ignore case ("italian" finds "Italian"); the stored value keeps its case.
    normalizer: { lowercase_keyword: { type: 'custom' as const, filter: ['lowercase'] } },
  },
};

export const MENU_ITEMS_MAPPINGS = {
  // A field this code does not know about is a bug: refuse it instead of guessing a type.
  dynamic: 'strict' as const,
  properties: {
    menuItemId: { type: 'keyword' as const },
    restaurantId: { type: 'keyword' as const },
    restaurantName: {
      type: 'text' as const,
      analyzer: 'standard',
      fields: { keyword: { type: 'keyword' as const, ignore_above: 256 } },
    },
    cuisine: { type: 'keyword' as const, normalizer: 'lowercase_keyword' },
    name: {
      type: 'text' as const,
      analyzer: 'standard',
      fields: { keyword: { type: 'keyword' as const, ignore_above: 256 } },
    },
    description: { type: 'text' as const, analyzer: 'standard' },
    priceMinor: { type: 'long' as const },
    currency: { type: 'keyword' as const },
    available: { type: 'boolean' as const },
    removed: { type: 'boolean' as const },
    restaurantOpen: { type: 'boolean' as const },
    updatedAt: { type: 'date' as const },
  },
};

/** A bulk write Elasticsearch refused for a reason other than "a newer version is already there". */
export class SearchIndexingError extends Error {
  readonly code = 'SEARCH_INDEXING_FAILED';
  constructor(
    message: string,
    readonly failures: readonly { id: string; status: number; reason: string }[],
  ) {
    super(message);
    this.name = 'SearchIndexingError';
  }
}

// ---- pure part: how restaurant facts and item documents evolve ----

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

const itemFactsOf = (doc: MenuItemDoc): ItemFacts => ({
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

const laterOf = (a: string, b: string): string => (Date.parse(b) > Date.parse(a) ? b : a);

// ---- storage ----

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

export interface DocWrite {
  readonly doc: MenuItemDoc;
  readonly version: number;
}

/**
 * The menu-items search read model as a PostgreSQL read model: the runtime's transaction covers the staging
 * rows, and `apply` writes the changed documents to Elasticsearch before it commits.
 */
export function menuSearchReadModel(search: Client, version: number, prefix: string): PostgresReadModel {
  const t = menuSearchTables(version);
  const index = menuSearchIndex(prefix, version);
  const alias = menuSearchAlias(prefix);
  return {
    name: MENU_SEARCH_PROJECTION,
    version,
    topics: ['ordering.restaurant', 'ordering.menu-item'],
    async createTables(db) {
      await db.transaction(async (trx) => {
        // Serialises start-ups sharing this database: tables, index and the first alias are created once.
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`${t.items}:${alias}`]);
        await trx.raw(`
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
        await ensureIndex(search, index);
        if (!(await search.indices.existsAlias({ name: alias }))) {
          await search.indices.updateAliases({ actions: [{ add: { index, alias } }] });
        }
      });
    },
    async dropTables(db) {
      await db.raw(`DROP TABLE IF EXISTS ${t.items}, ${t.restaurants}`);
      // Deleting the index also removes the alias if it still pointed here: drop only after a switch.
      await search.indices.delete({ index }, { ignore: [404] });
    },
    async apply(trx, events) {
      const writes = await stageEvents(trx, t, events);
      await bulkWrite(search, index, writes);
    },
  };
}

async function ensureIndex(search: Client, index: string): Promise<void> {
  if (await search.indices.exists({ index })) return;
  try {
    await search.indices.create({ index, settings: MENU_ITEMS_INDEX_SETTINGS, mappings: MENU_ITEMS_MAPPINGS });
  } catch (error) {
    // Another process (on another read database) created it between the check and the create.
    const type =
      error instanceof errors.ResponseError ? (error.body as { error?: { type?: string } }).error?.type : null;
    if (type !== 'resource_already_exists_exception') throw error;
  }
}

/**
 * Points the read alias at `version` in one atomic `updateAliases` call (remove from every version, add to
 * this one): readers see the old index or the new one, never none or both. Used at the end of a rebuild.
 */
export async function switchMenuSearchAlias(search: Client, prefix: string, version: number): Promise<void> {
  const alias = menuSearchAlias(prefix);
  const index = menuSearchIndex(prefix, version);
  const response = await search.indices.updateAliases({
    actions: [
      // must_exist false: on the very first switch there is no alias to remove.
      { remove: { index: `${alias}-v*`, alias, must_exist: false } },
      { add: { index, alias } },
    ],
  });
  // ES 9 reports per-action failures in `errors`/`action_results`, which the client's types do not declare yet.
  if ((response as { errors?: boolean }).errors)
    throw new Error(`switching ${alias} to ${index} failed: ${JSON.stringify(response)}`);
}

/** The indexes the read alias points at (one, except by hand). */
export async function menuSearchAliasTargets(search: Client, prefix: string): Promise<string[]> {
  const alias = menuSearchAlias(prefix);
  const found = await search.indices.getAlias({ name: alias }, { ignore: [404] });
  return Object.entries(found)
    .filter(([, v]) => typeof v === 'object' && v !== null && 'aliases' in v)
    .map(([name]) => name);
}

/**
 * Folds a batch into the staging tables and returns the documents to write. Locks restaurants before items,
 * each in key order, so two batches (one from each topic) never deadlock, and an item batch cannot slip an
 * item past a restaurant batch that is rewriting that restaurant's items.
 */
async function stageEvents(
  trx: Knex.Transaction,
  t: ReturnType<typeof menuSearchTables>,
  events: readonly ProjectedEvent[],
): Promise<DocWrite[]> {
  const relevant = events.filter((e) => RESTAURANT_EVENTS.has(e.eventType) || MENU_ITEM_EVENTS.has(e.eventType));
  if (relevant.length === 0) return [];
  const restaurantIds = [...new Set(relevant.map((e) => String(e.data.restaurantId)))].sort();
  const hasRestaurantEvents = relevant.some((e) => RESTAURANT_EVENTS.has(e.eventType));

  // Placeholders, so that there is always a row to lock: an item seen before its restaurant registers is then
  // serialised with the restaurant's first batch, which will fill in its restaurant fields.
  await trx.raw(
    `INSERT INTO ${t.restaurants} (restaurant_id) SELECT unnest(?::text[]) ON CONFLICT (restaurant_id) DO NOTHING`,
    [restaurantIds],
  );
  // Item batches only read restaurants (shared lock, so they run side by side); restaurant batches change them.
  const { rows: lockedRestaurants } = (await trx.raw(
    `SELECT restaurant_id, name, cuisine, open, registered FROM ${t.restaurants}
     WHERE restaurant_id = ANY(?) ORDER BY restaurant_id ${hasRestaurantEvents ? 'FOR UPDATE' : 'FOR SHARE'}`,
    [restaurantIds],
  )) as { rows: RestaurantRow[] };
  const restaurantsBefore = new Map<string, RestaurantFacts>(
    lockedRestaurants.map((r) => [
      r.restaurant_id,
      { restaurantId: r.restaurant_id, name: r.name, cuisine: r.cuisine, open: r.open, registered: r.registered },
    ]),
  );
  const restaurants = new Map(restaurantsBefore);
  const restaurantChangedAt = new Map<string, string>();
  for (const event of relevant) {
    if (!RESTAURANT_EVENTS.has(event.eventType)) continue;
    const id = String(event.data.restaurantId);
    const before = restaurants.get(id) ?? unknownRestaurant(id);
    const after = evolveRestaurantFacts(before, event);
    restaurants.set(id, after);
    if (restaurantPartChanged(before, after)) {
      restaurantChangedAt.set(id, laterOf(restaurantChangedAt.get(id) ?? event.recordedAt, event.recordedAt));
    }
  }
  const changedRestaurants = [...restaurants.values()].filter((r) => {
    const before = restaurantsBefore.get(r.restaurantId);
    return !before || restaurantPartChanged(before, r) || before.registered !== r.registered;
  });
  if (changedRestaurants.length > 0) {
    await trx(t.restaurants)
      .insert(
        changedRestaurants.map((r) => ({
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
  // Restaurants whose embedded fields changed: all their (not removed) items must be rewritten.
  // (Open then closed within one batch changes nothing: compare the batch's end with its start.)
  const rewriteRestaurants = [...restaurantChangedAt.keys()].filter((id) => {
    const before = restaurantsBefore.get(id) ?? unknownRestaurant(id);
    return restaurantPartChanged(before, restaurants.get(id)!);
  });
  const rewrite = new Set(rewriteRestaurants);

  const itemEvents = relevant.filter((e) => MENU_ITEM_EVENTS.has(e.eventType));
  const itemIds = [...new Set(itemEvents.map((e) => String(e.data.menuItemId)))].sort();
  if (itemIds.length === 0 && rewriteRestaurants.length === 0) return [];
  const { rows: lockedItems } = (await trx.raw(
    `SELECT menu_item_id, restaurant_id, doc, doc_version FROM ${t.items}
     WHERE menu_item_id = ANY(?::text[])
        OR (restaurant_id = ANY(?::text[]) AND (doc->>'removed')::boolean IS NOT TRUE)
     ORDER BY menu_item_id FOR UPDATE`,
    [itemIds, rewriteRestaurants],
  )) as { rows: ItemRow[] };
  const rowsBefore = new Map(lockedItems.map((r) => [r.menu_item_id, r]));

  // Fold the items' own events; the restaurant part is applied at the end from the restaurants' final state,
  // so the result does not depend on how the two topics interleaved.
  const items = new Map<string, ItemFacts | null>(lockedItems.map((r) => [r.menu_item_id, itemFactsOf(r.doc)]));
  const touchedAt = new Map<string, string>();
  for (const event of itemEvents) {
    const id = String(event.data.menuItemId);
    items.set(id, evolveItemFacts(items.get(id) ?? null, event));
    touchedAt.set(id, laterOf(touchedAt.get(id) ?? event.recordedAt, event.recordedAt));
  }
  for (const row of lockedItems) {
    const changedAt = restaurantChangedAt.get(row.restaurant_id);
    if (changedAt && rewrite.has(row.restaurant_id)) {
      touchedAt.set(row.menu_item_id, laterOf(touchedAt.get(row.menu_item_id) ?? changedAt, changedAt));
    }
  }

  const writes: DocWrite[] = [];
  for (const [id, at] of touchedAt) {
    const item = items.get(id);
    if (!item) continue;
    const restaurant = restaurants.get(item.restaurantId) ?? unknownRestaurant(item.restaurantId);
    const before = rowsBefore.get(id);
    const draft = withRestaurant(item, restaurant, before ? laterOf(before.doc.updatedAt, at) : at);
    if (before && sameContent(before.doc, draft)) continue;
    writes.push({ doc: draft, version: before ? Number(before.doc_version) + 1 : 1 });
  }
  if (writes.length > 0) {
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
  return writes;
}

/**
 * Writes documents with their external versions. A 409 means Elasticsearch already holds this version or a
 * newer one (a redelivery after PostgreSQL failed, or a retried request): the write is already done. Any
 * other refusal throws, which rolls the runtime's transaction back so the batch is retried.
 */
export async function bulkWrite(search: Client, index: string, writes: readonly DocWrite[]): Promise<void> {
  for (let start = 0; start < writes.length; start += BULK_CHUNK) {
    const chunk = writes.slice(start, start + BULK_CHUNK);
    const response = await search.bulk({
      operations: chunk.flatMap((w) => [
        { index: { _index: index, _id: w.doc.menuItemId, version: w.version, version_type: 'external' as const } },
        w.doc,
      ]),
    });
    if (!response.errors) continue;
    const failures: { id: string; status: number; reason: string }[] = [];
    for (const entry of response.items) {
      for (const item of Object.values(entry)) {
        if (!item?.error || item.status === 409) continue;
        failures.push({
          id: String(item._id),
          status: item.status,
          reason: `${item.error.type}: ${item.error.reason ?? ''}`,
        });
      }
    }
    if (failures.length > 0) {
      throw new SearchIndexingError(
        `${failures.length} of ${chunk.length} documents were refused by ${index}: ${failures
          .slice(0, 3)
          .map((f) => `${f.id} (${f.status} ${f.reason})`)
          .join('; ')}`,
        failures,
      );
    }
  }
}
