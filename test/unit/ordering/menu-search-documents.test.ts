import { describe, expect, it } from 'vitest';
import {
  foldRestaurantEvents,
  laterOf,
  planDocWrites,
  type RestaurantChanges,
  type StagedItem,
} from '../../../projections/ordering/menu-search/changes.js';
import {
  evolveItemFacts,
  evolveRestaurantFacts,
  type ItemFacts,
  itemFactsOf,
  type MenuItemDoc,
  type MenuSearchEvent,
  type RestaurantFacts,
  restaurantPartChanged,
  sameContent,
  unknownRestaurant,
  withRestaurant,
} from '../../../projections/ordering/menu-search/documents.js';
import type { EventEnvelope } from '../../../runtime/consumer/types.js';
import type { Address, OrderingEventMap } from '../../../schemas/ordering/events.js';

const T0 = '2025-03-14T10:00:00.000Z';
const T1 = '2025-03-14T11:00:00.000Z';
const T2 = '2025-03-14T12:00:00.000Z';
const T3 = '2025-03-14T13:00:00.000Z';

type EventType = MenuSearchEvent['type'];
type Data = { [K in EventType]: OrderingEventMap[K] };
/** The model's events of the types K, as the contract types them. */
type EventOf<K extends EventType> = { [T in K]: EventEnvelope & { readonly eventType: T; readonly data: Data[T] } }[K];

let seq = 0;
const event = <K extends EventType>(eventType: K, streamId: string, data: Data[K], recordedAt = T1): EventOf<K> => {
  seq += 1;
  return {
    eventId: `e-${seq}`,
    eventType,
    streamId,
    streamVersion: seq,
    globalPosition: seq,
    recordedAt,
    correlationId: 'c-1',
    data,
  };
};

const LYON: Address = { line1: '1 place Bellecour', line2: null, city: 'Lyon', postalCode: '69002', country: 'FR' };
const registered = (restaurantId = 'r-1', at = T1) =>
  event(
    'RestaurantRegistered',
    restaurantId,
    { restaurantId, ownerId: 'owner-1', name: 'Chez Lina', cuisine: 'Lyonnaise', address: LYON, registeredAt: at },
    at,
  );
const opened = (restaurantId = 'r-1', at = T1) =>
  event('RestaurantOpened', restaurantId, { restaurantId, openedAt: at }, at);
const closed = (restaurantId = 'r-1', at = T1) =>
  event('RestaurantClosed', restaurantId, { restaurantId, closedAt: at }, at);
const renamed = (name: string, cuisine: string, at = T1, restaurantId = 'r-1') =>
  event('RestaurantDetailsUpdated', restaurantId, { restaurantId, name, cuisine, address: LYON, updatedAt: at }, at);
const added = (menuItemId = 'm-1', restaurantId = 'r-1', at = T1) =>
  event(
    'MenuItemAdded',
    menuItemId,
    {
      menuItemId,
      restaurantId,
      name: 'Quenelle',
      description: 'pike, sauce Nantua',
      priceMinor: 1450,
      currency: 'EUR',
      addedAt: at,
    },
    at,
  );
const priceChanged = (priceMinor: number, at = T1, menuItemId = 'm-1') =>
  event(
    'MenuItemPriceChanged',
    menuItemId,
    { menuItemId, restaurantId: 'r-1', priceMinor, previousPriceMinor: 1450, currency: 'EUR', changedAt: at },
    at,
  );
const availability = (available: boolean, at = T1, menuItemId = 'm-1') =>
  event('MenuItemAvailabilityChanged', menuItemId, { menuItemId, restaurantId: 'r-1', available, changedAt: at }, at);
const removedItem = (at = T1, menuItemId = 'm-1') =>
  event('MenuItemRemoved', menuItemId, { menuItemId, restaurantId: 'r-1', removedAt: at }, at);

const openRestaurant: RestaurantFacts = {
  restaurantId: 'r-1',
  name: 'Chez Lina',
  cuisine: 'Lyonnaise',
  open: true,
  registered: true,
};
const closedRestaurant: RestaurantFacts = { ...openRestaurant, open: false };

const quenelle: ItemFacts = {
  menuItemId: 'm-1',
  restaurantId: 'r-1',
  name: 'Quenelle',
  description: 'pike, sauce Nantua',
  priceMinor: 1450,
  currency: 'EUR',
  available: true,
  removed: false,
};

const staged = (
  item: Partial<ItemFacts> = {},
  restaurant: RestaurantFacts = openRestaurant,
  docVersion = 3,
  updatedAt = T0,
): StagedItem => {
  const doc = withRestaurant({ ...quenelle, ...item }, restaurant, updatedAt);
  return { menuItemId: doc.menuItemId, restaurantId: doc.restaurantId, doc, docVersion };
};

const noRestaurantChanges = (...restaurants: RestaurantFacts[]): RestaurantChanges => ({
  restaurants: new Map(restaurants.map((r) => [r.restaurantId, r])),
  toStage: [],
  rewriteAt: new Map(),
});

const restaurantsById = (...restaurants: RestaurantFacts[]) => new Map(restaurants.map((r) => [r.restaurantId, r]));

describe('evolveRestaurantFacts', () => {
  it('a registered restaurant has its name and cuisine and starts closed', () => {
    expect(evolveRestaurantFacts(unknownRestaurant('r-1'), registered())).toEqual(closedRestaurant);
  });

  it('opens, closes and takes new details; other events leave it alone', () => {
    const open = evolveRestaurantFacts(closedRestaurant, opened());
    expect(open).toEqual(openRestaurant);
    expect(evolveRestaurantFacts(open, closed())).toEqual(closedRestaurant);
    expect(evolveRestaurantFacts(open, renamed('Lina', 'French'))).toEqual({
      ...openRestaurant,
      name: 'Lina',
      cuisine: 'French',
    });
    expect(evolveRestaurantFacts(open, added())).toBe(open);
  });

  it('only name, cuisine and opening count as a change to the embedded part', () => {
    expect(restaurantPartChanged(openRestaurant, { ...openRestaurant, registered: false })).toBe(false);
    expect(restaurantPartChanged(openRestaurant, closedRestaurant)).toBe(true);
    expect(restaurantPartChanged(openRestaurant, { ...openRestaurant, name: 'Lina' })).toBe(true);
    expect(restaurantPartChanged(openRestaurant, { ...openRestaurant, cuisine: 'French' })).toBe(true);
  });
});

describe('evolveItemFacts', () => {
  it('an added item is available and not removed', () => {
    expect(evolveItemFacts(null, added())).toEqual(quenelle);
  });

  it('changes price and currency, availability, and removes (as an unavailable tombstone)', () => {
    expect(evolveItemFacts(quenelle, priceChanged(1600))).toEqual({ ...quenelle, priceMinor: 1600 });
    expect(evolveItemFacts(quenelle, availability(false))).toEqual({ ...quenelle, available: false });
    expect(evolveItemFacts(quenelle, removedItem())).toEqual({ ...quenelle, available: false, removed: true });
  });

  it('an item event before MenuItemAdded leaves nothing; another event leaves the item as it is', () => {
    expect(evolveItemFacts(null, priceChanged(1600))).toBeNull();
    expect(evolveItemFacts(quenelle, opened())).toBe(quenelle);
  });

  it('withRestaurant and itemFactsOf are inverse on the item part', () => {
    const doc = withRestaurant(quenelle, openRestaurant, T1);
    expect(doc).toMatchObject({
      restaurantName: 'Chez Lina',
      cuisine: 'Lyonnaise',
      restaurantOpen: true,
      updatedAt: T1,
    });
    expect(itemFactsOf(doc)).toEqual(quenelle);
  });
});

describe('sameContent', () => {
  it('ignores updatedAt and nothing else', () => {
    const doc: MenuItemDoc = withRestaurant(quenelle, openRestaurant, T0);
    expect(sameContent(doc, { ...doc, updatedAt: T3 })).toBe(true);
    expect(sameContent(doc, { ...doc, priceMinor: 1 })).toBe(false);
    expect(sameContent(doc, { ...doc, restaurantOpen: false })).toBe(false);
    expect(sameContent(doc, { ...doc, removed: true })).toBe(false);
  });
});

describe('laterOf', () => {
  it('keeps the later timestamp whatever the order', () => {
    expect(laterOf(T1, T2)).toBe(T2);
    expect(laterOf(T2, T1)).toBe(T2);
    expect(laterOf(T1, T1)).toBe(T1);
  });
});

describe('foldRestaurantEvents', () => {
  it('a restaurant registering over its placeholder is staged and its items rewritten', () => {
    const changes = foldRestaurantEvents(restaurantsById(unknownRestaurant('r-1')), [registered('r-1', T2)]);
    expect(changes.restaurants.get('r-1')).toEqual(closedRestaurant);
    expect(changes.toStage).toEqual([closedRestaurant]);
    expect([...changes.rewriteAt]).toEqual([['r-1', T2]]);
  });

  it('opened then closed within one batch: nothing to stage or rewrite', () => {
    const changes = foldRestaurantEvents(restaurantsById(closedRestaurant), [opened('r-1', T1), closed('r-1', T2)]);
    expect(changes.restaurants.get('r-1')).toEqual(closedRestaurant);
    expect(changes.toStage).toEqual([]);
    expect(changes.rewriteAt.size).toBe(0);
  });

  it('rewrites at the latest change, even when events are recorded out of order', () => {
    const changes = foldRestaurantEvents(restaurantsById(closedRestaurant), [
      renamed('Lina', 'French', T3),
      opened('r-1', T2),
    ]);
    expect(changes.restaurants.get('r-1')).toEqual({ ...openRestaurant, name: 'Lina', cuisine: 'French' });
    expect([...changes.rewriteAt]).toEqual([['r-1', T3]]);
  });

  it('details updated to the same name and cuisine (an address change) rewrite nothing', () => {
    const changes = foldRestaurantEvents(restaurantsById(openRestaurant), [renamed('Chez Lina', 'Lyonnaise')]);
    expect(changes.toStage).toEqual([]);
    expect(changes.rewriteAt.size).toBe(0);
  });

  it('ignores item events and leaves restaurants without events as they were', () => {
    const other = { ...openRestaurant, restaurantId: 'r-2' };
    const changes = foldRestaurantEvents(restaurantsById(openRestaurant, other), [added(), closed('r-2')]);
    expect(changes.restaurants.get('r-1')).toBe(openRestaurant);
    expect(changes.toStage).toEqual([{ ...other, open: false }]);
    expect([...changes.rewriteAt.keys()]).toEqual(['r-2']);
  });
});

describe('planDocWrites', () => {
  it('a new item is written at version 1 with its restaurant part', () => {
    const writes = planDocWrites([], [added('m-1', 'r-1', T2)], noRestaurantChanges(openRestaurant));
    expect(writes).toEqual([{ doc: withRestaurant(quenelle, openRestaurant, T2), version: 1 }]);
  });

  it('an item seen before its restaurant has a null restaurant part, closed', () => {
    const [write] = planDocWrites([], [added()], noRestaurantChanges(unknownRestaurant('r-1')));
    expect(write?.doc).toMatchObject({ restaurantName: null, cuisine: null, restaurantOpen: false });
    expect(planDocWrites([], [added()], noRestaurantChanges())[0]?.doc.restaurantName).toBeNull();
  });

  it('takes the restaurant part from the batch’s end, whichever topic came first', () => {
    const batch = [added('m-1', 'r-1', T1), registered('r-1', T2), opened('r-1', T3)];
    const changes = foldRestaurantEvents(restaurantsById(unknownRestaurant('r-1')), batch);
    const writes = planDocWrites([], batch, changes);
    expect(writes).toEqual([{ doc: withRestaurant(quenelle, openRestaurant, T1), version: 1 }]);
  });

  it('a price change bumps the staged version by one and moves updatedAt forward', () => {
    const writes = planDocWrites(
      [staged({}, openRestaurant, 3, T0)],
      [priceChanged(1600, T2)],
      noRestaurantChanges(openRestaurant),
    );
    expect(writes).toEqual([
      { doc: withRestaurant({ ...quenelle, priceMinor: 1600 }, openRestaurant, T2), version: 4 },
    ]);
  });

  it('several changes to one item in a batch make one write, one version later, at the latest time', () => {
    const writes = planDocWrites(
      [staged({}, openRestaurant, 7, T0)],
      [priceChanged(1600, T2), availability(false, T1), priceChanged(1700, T1)],
      noRestaurantChanges(openRestaurant),
    );
    expect(writes).toEqual([
      { doc: withRestaurant({ ...quenelle, priceMinor: 1700, available: false }, openRestaurant, T2), version: 8 },
    ]);
  });

  it('an event recorded before the staged document does not move updatedAt back', () => {
    const [write] = planDocWrites(
      [staged({}, openRestaurant, 2, T3)],
      [availability(false, T1)],
      noRestaurantChanges(openRestaurant),
    );
    expect(write).toMatchObject({ doc: { available: false, updatedAt: T3 }, version: 3 });
  });

  it('a change that leaves the content as it was (a redelivery, say) writes nothing', () => {
    const writes = planDocWrites(
      [staged({ priceMinor: 1600 }, openRestaurant, 4, T0)],
      [priceChanged(1600, T2), availability(true, T2)],
      noRestaurantChanges(openRestaurant),
    );
    expect(writes).toEqual([]);
  });

  it('removing an item writes an unavailable tombstone', () => {
    const [write] = planDocWrites([staged()], [removedItem(T2)], noRestaurantChanges(openRestaurant));
    expect(write).toMatchObject({ doc: { removed: true, available: false, updatedAt: T2 }, version: 4 });
  });

  it('an item event for an item never added writes nothing', () => {
    expect(planDocWrites([], [priceChanged(1600), removedItem()], noRestaurantChanges(openRestaurant))).toEqual([]);
  });

  it('a restaurant closing rewrites all its staged items at the time it closed, and no one else’s', () => {
    const items = [
      staged({ menuItemId: 'm-1' }, openRestaurant, 3, T0),
      staged({ menuItemId: 'm-2', available: false }, openRestaurant, 5, T0),
      staged({ menuItemId: 'm-3', restaurantId: 'r-2' }, { ...openRestaurant, restaurantId: 'r-2' }, 1, T0),
    ];
    const changes = foldRestaurantEvents(restaurantsById(openRestaurant, { ...openRestaurant, restaurantId: 'r-2' }), [
      closed('r-1', T2),
    ]);
    const writes = planDocWrites(items, [closed('r-1', T2)], changes);
    expect(writes).toEqual([
      { doc: withRestaurant({ ...quenelle, menuItemId: 'm-1' }, closedRestaurant, T2), version: 4 },
      { doc: withRestaurant({ ...quenelle, menuItemId: 'm-2', available: false }, closedRestaurant, T2), version: 6 },
    ]);
  });

  it('a rename rewrites items with the new name; an item event in the same batch is folded in too', () => {
    const batch = [renamed('Lina', 'French', T2), priceChanged(1600, T3)];
    const changes = foldRestaurantEvents(restaurantsById(openRestaurant), batch);
    const writes = planDocWrites([staged()], batch, changes);
    expect(writes).toEqual([
      {
        doc: withRestaurant(
          { ...quenelle, priceMinor: 1600 },
          { ...openRestaurant, name: 'Lina', cuisine: 'French' },
          T3,
        ),
        version: 4,
      },
    ]);
  });

  it('open then closed within a batch rewrites nothing', () => {
    const batch = [opened('r-1', T1), closed('r-1', T2)];
    const changes = foldRestaurantEvents(restaurantsById(closedRestaurant), batch);
    expect(planDocWrites([staged({}, closedRestaurant)], batch, changes)).toEqual([]);
  });
});
