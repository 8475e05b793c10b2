import { randomUUID } from 'node:crypto';
import { Client, errors } from '@elastic/elasticsearch';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bulkWrite,
  type MenuItemDoc,
  menuSearchAlias,
  menuSearchAliasTargets,
  menuSearchIndex,
  menuSearchReadModel,
  menuSearchTables,
  switchMenuSearchAlias,
} from '../../projections/ordering/menu-search.js';
import { postgresProjection } from '../../projections/runtime/postgres.js';
import { ensureRuntimeTables } from '../../projections/runtime/tables.js';
import { type MenuSearchParams, type MenuSearchResult, searchMenu } from '../../queries/ordering/menu-search.js';
import { loadConfig } from '../../runtime/config.js';
import type { BatchSource, ProjectedEvent, Projection } from '../../runtime/consumer/types.js';
import { connect } from '../../runtime/postgres.js';
import { createTestDatabase, uniqueSuffix } from '../support/env.js';
import { requireServices } from '../support/services.js';

// The search read model against the real PostgreSQL and Elasticsearch, fed hand-built events through the
// projection runtime's own transaction (no Kafka: what is under test is the staging + indexing, not delivery).

const config = loadConfig();
// Index names must be lower case; the suffix is already, the explicit call documents it.
const prefix = `t${uniqueSuffix()}.`.toLowerCase();
const alias = menuSearchAlias(prefix);
const index = menuSearchIndex(prefix, 1);
const tables = menuSearchTables(1);
const search = new Client({ node: config.searchUrl });

let database: { url: string; drop: () => Promise<void> };
let db: Knex;
let projection: Projection;
let model: ReturnType<typeof menuSearchReadModel>;

beforeAll(async () => {
  await requireServices('postgres', 'search');
  database = await createTestDatabase('menusearch');
  db = connect(database.url, { max: 5 });
  await ensureRuntimeTables(db);
  model = menuSearchReadModel(search, 1, prefix);
  projection = postgresProjection(db, model);
  await projection.setup();
});

afterAll(async () => {
  await projection?.drop();
  // Anything else a test made under this prefix (the rebuild test's second version, if it failed midway).
  // By name: this cluster refuses wildcard deletes.
  const left = await search.indices.get({ index: `${alias}-v*`, allow_no_indices: true });
  for (const name of Object.keys(left)) await search.indices.delete({ index: name }, { ignore: [404] });
  await search.close();
  await db?.destroy();
  await database?.drop();
});

// ---- events as the runtime hands them over ----

let position = 0;
let offset = 0;
const streamVersions = new Map<string, number>();

function event(streamId: string, eventType: string, data: Record<string, unknown>): ProjectedEvent {
  const streamVersion = (streamVersions.get(streamId) ?? 0) + 1;
  streamVersions.set(streamId, streamVersion);
  return {
    eventId: randomUUID(),
    eventType,
    streamId,
    streamVersion,
    globalPosition: ++position,
    recordedAt: new Date().toISOString(),
    correlationId: 'test',
    data,
  };
}

const address = { line1: 'Rua Augusta 1', line2: null, city: 'Lisbon', postalCode: '1100-048', country: 'PT' };
const now = () => new Date().toISOString();

const restaurant = {
  registered: (id: string, name: string, cuisine: string) =>
    event(`restaurant-${id}`, 'RestaurantRegistered', {
      restaurantId: id,
      ownerId: 'owner-1',
      name,
      cuisine,
      address,
      registeredAt: now(),
    }),
  opened: (id: string) => event(`restaurant-${id}`, 'RestaurantOpened', { restaurantId: id, openedAt: now() }),
  closed: (id: string) => event(`restaurant-${id}`, 'RestaurantClosed', { restaurantId: id, closedAt: now() }),
  detailsUpdated: (id: string, name: string, cuisine: string) =>
    event(`restaurant-${id}`, 'RestaurantDetailsUpdated', {
      restaurantId: id,
      name,
      cuisine,
      address,
      updatedAt: now(),
    }),
};

const menuItem = {
  added: (id: string, restaurantId: string, name: string, description: string, priceMinor: number) =>
    event(`menu-item-${id}`, 'MenuItemAdded', {
      menuItemId: id,
      restaurantId,
      name,
      description,
      priceMinor,
      currency: 'EUR',
      addedAt: now(),
    }),
  priceChanged: (id: string, restaurantId: string, priceMinor: number, previousPriceMinor: number) =>
    event(`menu-item-${id}`, 'MenuItemPriceChanged', {
      menuItemId: id,
      restaurantId,
      priceMinor,
      previousPriceMinor,
      currency: 'EUR',
      changedAt: now(),
    }),
  availability: (id: string, restaurantId: string, available: boolean) =>
    event(`menu-item-${id}`, 'MenuItemAvailabilityChanged', {
      menuItemId: id,
      restaurantId,
      available,
      changedAt: now(),
    }),
  removed: (id: string, restaurantId: string) =>
    event(`menu-item-${id}`, 'MenuItemRemoved', { menuItemId: id, restaurantId, removedAt: now() }),
};

/** Applies a batch as the runner would for one partition of one topic. */
async function apply(events: readonly ProjectedEvent[]): Promise<void> {
  const topic = events.every((e) => e.eventType.startsWith('Restaurant'))
    ? 'ordering.restaurant'
    : 'ordering.menu-item';
  offset += events.length;
  const source: BatchSource = { topic: `${prefix}${topic}`, partition: 0, lastOffset: String(offset) };
  await projection.applyBatch(events, source);
}

// ---- reading back ----

const find = (params: MenuSearchParams): Promise<MenuSearchResult> => searchMenu(search, alias, params);
const ids = (result: MenuSearchResult): string[] => result.items.map((i) => i.menuItemId).sort();
/** Makes everything written so far searchable now (tests other than the freshness one do not wait for it). */
const refresh = () => search.indices.refresh({ index: alias });

async function stagingRow(menuItemId: string): Promise<{ doc: MenuItemDoc; doc_version: number } | undefined> {
  const row = await db(tables.items).where({ menu_item_id: menuItemId }).first('doc', 'doc_version');
  return row ? { doc: row.doc as MenuItemDoc, doc_version: Number(row.doc_version) } : undefined;
}

async function indexed(menuItemId: string): Promise<{ version: number; doc: MenuItemDoc }> {
  const got = await search.get<MenuItemDoc>({ index, id: menuItemId });
  return { version: got._version ?? -1, doc: got._source! };
}

describe('menu search read model', () => {
  it('creates the index with explicit mappings and points the read alias at it', async () => {
    expect(await menuSearchAliasTargets(search, prefix)).toEqual([index]);
    const mapping = await search.indices.getMapping({ index });
    const properties = mapping[index]?.mappings.properties ?? {};
    expect(properties.name).toMatchObject({ type: 'text', fields: { keyword: { type: 'keyword' } } });
    expect(properties.priceMinor).toMatchObject({ type: 'long' });
    expect(properties.cuisine).toMatchObject({ type: 'keyword' });
    expect(properties.updatedAt).toMatchObject({ type: 'date' });
  });

  // Without an explicit refresh: the index's own refresh makes it findable. The 2-second bound at rest is measured
  // by `npm run bench` (projections: menu change → findable in search), not timed here on a busy test machine.
  it('(a) makes a menu change findable by search without an explicit refresh', async () => {
    await apply([restaurant.registered('r-a', 'Forno Rosso', 'Neapolitan'), restaurant.opened('r-a')]);
    const started = performance.now();
    await apply([menuItem.added('a-1', 'r-a', 'Margherita Pizza', 'tomato, mozzarella, basil', 900)]);
    let found: MenuSearchResult = { items: [], total: 0 };
    while (performance.now() - started < 20_000) {
      found = await find({ q: 'margherita', cuisine: 'Neapolitan' });
      if (found.total > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(found.items.map((i) => i.menuItemId)).toEqual(['a-1']);
    expect(found.items[0]).toMatchObject({
      restaurantId: 'r-a',
      restaurantName: 'Forno Rosso',
      cuisine: 'Neapolitan',
      name: 'Margherita Pizza',
      priceMinor: 900,
      currency: 'EUR',
      available: true,
      removed: false,
      restaurantOpen: true,
    });
  });

  it('(b) redelivering the same batch changes nothing', async () => {
    await apply([restaurant.registered('r-b', 'Tasca', 'Portuguese'), restaurant.opened('r-b')]);
    const batch = [
      menuItem.added('b-1', 'r-b', 'Bacalhau à Brás', 'salt cod, eggs, potato straws', 1450),
      menuItem.priceChanged('b-1', 'r-b', 1350, 1450),
    ];
    await apply(batch);
    await refresh();
    const before = {
      row: await stagingRow('b-1'),
      es: await indexed('b-1'),
      hits: await find({ cuisine: 'Portuguese' }),
    };
    expect(before.row?.doc_version).toBe(1); // two events, one document change in the batch

    await apply(batch);
    await refresh();
    expect(await stagingRow('b-1')).toEqual(before.row);
    expect(await indexed('b-1')).toEqual(before.es);
    expect(await find({ cuisine: 'Portuguese' })).toEqual(before.hits);
  });

  it('(b) a batch rolled back after its search write is retried cleanly (the 409 of the rewrite is success)', async () => {
    await apply([restaurant.registered('r-b2', 'Cervejaria', 'Seafood'), restaurant.opened('r-b2')]);
    await apply([menuItem.added('b2-1', 'r-b2', 'Prawns', 'garlic butter prawns', 1800)]);
    const batch = [menuItem.priceChanged('b2-1', 'r-b2', 1600, 1800)];
    // PostgreSQL fails after Elasticsearch took the write: the staging rows roll back, the document stays.
    await expect(
      db.transaction(async (trx) => {
        await model.apply(trx, batch);
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect((await stagingRow('b2-1'))?.doc_version).toBe(1);
    expect(await indexed('b2-1')).toMatchObject({ version: 2, doc: { priceMinor: 1600 } });

    await apply(batch); // the redelivery: same version again, Elasticsearch answers 409, the batch commits
    expect(await stagingRow('b2-1')).toMatchObject({ doc_version: 2, doc: { priceMinor: 1600 } });
    expect(await indexed('b2-1')).toMatchObject({ version: 2, doc: { priceMinor: 1600 } });
  });

  it('(c) a stale write never overwrites a newer one', async () => {
    await apply([restaurant.registered('r-c', 'Casa', 'Galician'), restaurant.opened('r-c')]);
    await apply([menuItem.added('c-1', 'r-c', 'Pulpo', 'octopus, paprika', 1500)]);
    await apply([menuItem.priceChanged('c-1', 'r-c', 1700, 1500)]);
    const current = await indexed('c-1');
    expect(current.version).toBe(2);

    const stale: MenuItemDoc = { ...current.doc, name: 'Stale Pulpo', priceMinor: 1 };
    const error = await search.index({ index, id: 'c-1', version: 1, version_type: 'external', document: stale }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(errors.ResponseError);
    expect((error as errors.ResponseError).statusCode).toBe(409);
    // The projection's own bulk path swallows the 409 (a newer version is there) and keeps the newer content.
    await bulkWrite(search, index, [{ doc: stale, version: 1 }]);

    await refresh();
    expect(await indexed('c-1')).toEqual(current);
    expect((await find({ cuisine: 'Galician' })).items.map((i) => [i.name, i.priceMinor])).toEqual([['Pulpo', 1700]]);
  });

  it('(d) closing the restaurant hides its items from available=true; reopening brings them back', async () => {
    await apply([restaurant.registered('r-d', 'Baan', 'Thai'), restaurant.opened('r-d')]);
    await apply([
      menuItem.added('d-1', 'r-d', 'Pad Thai', 'rice noodles, peanuts', 1100),
      menuItem.added('d-2', 'r-d', 'Green Curry', 'coconut, chicken', 1300),
      menuItem.added('d-3', 'r-d', 'Tom Yum', 'sour soup', 900),
    ]);
    await apply([menuItem.availability('d-3', 'r-d', false)]);
    await refresh();
    expect(ids(await find({ cuisine: 'Thai', available: true }))).toEqual(['d-1', 'd-2']);
    expect(ids(await find({ cuisine: 'Thai', available: false }))).toEqual(['d-3']);

    await apply([restaurant.closed('r-d')]);
    await refresh();
    expect(ids(await find({ cuisine: 'Thai', available: true }))).toEqual([]);
    expect(ids(await find({ cuisine: 'Thai' }))).toEqual(['d-1', 'd-2', 'd-3']);
    expect(ids(await find({ cuisine: 'Thai', available: false }))).toEqual(['d-1', 'd-2', 'd-3']);

    await apply([restaurant.opened('r-d')]);
    await refresh();
    expect(ids(await find({ cuisine: 'Thai', available: true }))).toEqual(['d-1', 'd-2']);
  });

  it('(e) filters by price and cuisine and finds text despite typos', async () => {
    await apply([restaurant.registered('r-e', 'Kaiten', 'Japanese'), restaurant.opened('r-e')]);
    await apply([restaurant.registered('r-e2', 'Trattoria', 'Italian'), restaurant.opened('r-e2')]);
    await apply([
      menuItem.added('e-1', 'r-e', 'Salmon Nigiri', 'two pieces of fresh salmon on rice', 600),
      menuItem.added('e-2', 'r-e', 'Tonkotsu Ramen', 'pork bone broth, noodles, egg', 1400),
      menuItem.added('e-3', 'r-e', 'Chicken Teriyaki', 'grilled chicken, sweet soy glaze', 1100),
      menuItem.added('e-4', 'r-e2', 'Spaghetti Carbonara', 'egg, guanciale, pecorino', 1250),
      menuItem.added('e-5', 'r-e', 'Rice Bowl', 'steamed, plain', 400),
    ]);
    await refresh();

    expect(ids(await find({ cuisine: 'Japanese' }))).toEqual(['e-1', 'e-2', 'e-3', 'e-5']);
    expect(ids(await find({ cuisine: 'japanese' }))).toEqual(['e-1', 'e-2', 'e-3', 'e-5']); // case-insensitive
    expect(ids(await find({ cuisine: 'Japanese', maxPriceMinor: 1100 }))).toEqual(['e-1', 'e-3', 'e-5']);
    expect(ids(await find({ cuisine: 'Japanese', maxPriceMinor: 400 }))).toEqual(['e-5']); // inclusive
    expect(ids(await find({ cuisine: 'Japanese', maxPriceMinor: 399 }))).toEqual([]);

    // Text queries are scoped to these cuisines: the other tests' items share the index.
    const typo = await find({ q: 'tonkotzu ramne' });
    expect(typo.items[0]?.menuItemId).toBe('e-2');
    expect(ids(await find({ q: 'chiken', cuisine: 'Japanese' }))).toEqual(['e-3']);
    // The name weighs more than the description: "rice" names e-5 and is in e-1's description.
    expect((await find({ q: 'rice', cuisine: 'Japanese' })).items.map((i) => i.menuItemId)).toEqual(['e-5', 'e-1']);
    expect(ids(await find({ q: 'egg', cuisine: 'Japanese' }))).toEqual(['e-2']);
    expect(ids(await find({ q: 'egg', cuisine: 'Italian' }))).toEqual(['e-4']);

    const page = await find({ cuisine: 'Japanese', limit: 2, offset: 1 });
    expect(page.total).toBe(4);
    expect(page.items.map((i) => i.name)).toEqual(['Rice Bowl', 'Salmon Nigiri']);
  });

  it('(f) removing an item removes it from results and later restaurant changes leave it alone', async () => {
    await apply([restaurant.registered('r-f', 'Taberna', 'Basque'), restaurant.opened('r-f')]);
    await apply([
      menuItem.added('f-1', 'r-f', 'Pintxo Gilda', 'olive, anchovy, pepper', 300),
      menuItem.added('f-2', 'r-f', 'Txuleta', 'aged beef chop', 4500),
    ]);
    await refresh();
    expect(ids(await find({ cuisine: 'Basque' }))).toEqual(['f-1', 'f-2']);

    await apply([menuItem.removed('f-1', 'r-f')]);
    await refresh();
    expect(ids(await find({ cuisine: 'Basque' }))).toEqual(['f-2']);
    expect(ids(await find({ q: 'gilda' }))).toEqual([]);
    expect(ids(await find({ cuisine: 'Basque', available: false }))).toEqual([]);
    const tombstone = await stagingRow('f-1');
    expect(tombstone?.doc).toMatchObject({ removed: true, available: false });

    await apply([restaurant.detailsUpdated('r-f', 'Taberna Nueva', 'Basque'), restaurant.closed('r-f')]);
    await refresh();
    expect(await stagingRow('f-1')).toEqual(tombstone);
    expect((await find({ cuisine: 'Basque' })).items.map((i) => [i.menuItemId, i.restaurantName])).toEqual([
      ['f-2', 'Taberna Nueva'],
    ]);
  });

  it('fills restaurant fields in when the restaurant events arrive after the item events', async () => {
    await apply([menuItem.added('g-1', 'r-g', 'Pierogi', 'potato and cheese dumplings', 850)]);
    await refresh();
    expect((await indexed('g-1')).doc).toMatchObject({ restaurantName: null, cuisine: null, restaurantOpen: false });
    expect(ids(await find({ q: 'pierogi', available: true }))).toEqual([]);

    await apply([restaurant.registered('r-g', 'Babcia', 'Polish'), restaurant.opened('r-g')]);
    await refresh();
    expect(await indexed('g-1')).toMatchObject({
      version: 2, // registered (name, cuisine) and opened in one batch: one change
      doc: { restaurantName: 'Babcia', cuisine: 'Polish', restaurantOpen: true },
    });
    expect(ids(await find({ q: 'pierogi', cuisine: 'polish', available: true }))).toEqual(['g-1']);

    // A details update that leaves name and cuisine alone (the address, say) rewrites nothing.
    await apply([restaurant.detailsUpdated('r-g', 'Babcia', 'Polish')]);
    expect((await stagingRow('g-1'))?.doc_version).toBe(2);
  });

  it('never loses a change when a restaurant batch and an item batch of that restaurant run at once', async () => {
    await apply([restaurant.registered('r-k', 'Concurrency', 'Georgian'), restaurant.opened('r-k')]);
    await apply([menuItem.added('k-0', 'r-k', 'Khachapuri', 'cheese bread', 700)]);
    for (let i = 1; i <= 8; i++) {
      // Two consumers of two topics: the restaurant flips while an item of it is added or changed.
      await Promise.all([
        apply([i % 2 === 1 ? restaurant.closed('r-k') : restaurant.opened('r-k')]),
        apply([menuItem.added(`k-${i}`, 'r-k', `Khinkali ${i}`, 'dumplings', 800 + i)]),
        apply([menuItem.priceChanged('k-0', 'r-k', 700 + i, 700 + i - 1)]),
      ]);
    }
    const open = (await db(tables.restaurants).where({ restaurant_id: 'r-k' }).first('open')) as { open: boolean };
    expect(open.open).toBe(true);
    for (let i = 0; i <= 8; i++) {
      const row = await stagingRow(`k-${i}`);
      expect(row?.doc).toMatchObject({ restaurantOpen: true, restaurantName: 'Concurrency' });
      // Elasticsearch holds exactly what PostgreSQL committed, at the same version.
      expect(await indexed(`k-${i}`)).toEqual({ version: row?.doc_version, doc: row?.doc });
    }
    expect((await stagingRow('k-0'))?.doc.priceMinor).toBe(708);
  });

  it('switches the read alias atomically between versions for a rebuild', async () => {
    const v2 = menuSearchReadModel(search, 2, prefix);
    await v2.createTables(db);
    // A second version does not take the alias by being created; it is switched once it has caught up.
    expect(await menuSearchAliasTargets(search, prefix)).toEqual([index]);
    await postgresProjection(db, v2).applyBatch(
      [
        restaurant.registered('r-h', 'Rebuilt', 'Fusion'),
        restaurant.opened('r-h'),
        menuItem.added('h-1', 'r-h', 'Only In V2', 'rebuild probe', 100),
      ],
      { topic: `${prefix}ordering.restaurant`, partition: 0, lastOffset: '0' },
    );
    await search.indices.refresh({ index: menuSearchIndex(prefix, 2) });

    await switchMenuSearchAlias(search, prefix, 2);
    expect(await menuSearchAliasTargets(search, prefix)).toEqual([menuSearchIndex(prefix, 2)]);
    expect(ids(await find({ cuisine: 'Fusion' }))).toEqual(['h-1']);

    await switchMenuSearchAlias(search, prefix, 1);
    expect(await menuSearchAliasTargets(search, prefix)).toEqual([index]);
    expect(ids(await find({ cuisine: 'Fusion' }))).toEqual([]);
    await v2.dropTables(db);
    expect(await search.indices.exists({ index: menuSearchIndex(prefix, 2) })).toBe(false);
  });
});
