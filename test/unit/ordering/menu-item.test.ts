import { describe, it } from 'vitest';
import {
  MAX_PRICE_MINOR,
  type MenuItemCommand,
  type MenuItemEvent,
  menuItemDecider,
} from '../../../commands/ordering/menu-item.js';
import { given } from '../../support/decider.js';
import {
  AT,
  EARLIER,
  menuItemAdded,
  NOW,
  openRestaurant,
  RESTAURANT_ID,
  restaurantFrom,
  restaurantRegistered,
} from './fixtures.js';

const ITEM_ID = 'm-soup';

const add = (priceMinor = 850): MenuItemCommand => ({
  type: 'AddMenuItem',
  data: {
    menuItemId: ITEM_ID,
    restaurantId: RESTAURANT_ID,
    name: "Soupe à l'oignon",
    description: 'gratinée',
    priceMinor,
    currency: 'EUR',
  },
});
const changePrice = (priceMinor: number): MenuItemCommand => ({
  type: 'ChangeMenuItemPrice',
  data: { menuItemId: ITEM_ID, priceMinor },
});
const setAvailability = (available: boolean): MenuItemCommand => ({
  type: 'SetMenuItemAvailability',
  data: { menuItemId: ITEM_ID, available },
});
const remove: MenuItemCommand = { type: 'RemoveMenuItem', data: { menuItemId: ITEM_ID } };

/** What AddMenuItem decides at NOW for `add(priceMinor)`. */
const addedNow = (priceMinor = 850): MenuItemEvent => ({
  type: 'MenuItemAdded',
  data: {
    menuItemId: ITEM_ID,
    restaurantId: RESTAURANT_ID,
    name: "Soupe à l'oignon",
    description: 'gratinée',
    priceMinor,
    currency: 'EUR',
    addedAt: AT,
  },
});
const added = (): MenuItemEvent => menuItemAdded(ITEM_ID, { priceMinor: 850 });
const removed = (): MenuItemEvent => ({
  type: 'MenuItemRemoved',
  data: { menuItemId: ITEM_ID, restaurantId: RESTAURANT_ID, removedAt: EARLIER },
});
const madeUnavailable = (): MenuItemEvent => ({
  type: 'MenuItemAvailabilityChanged',
  data: { menuItemId: ITEM_ID, restaurantId: RESTAURANT_ID, available: false, changedAt: EARLIER },
});

describe('MenuItem decider — AddMenuItem', () => {
  it('adds an item to an existing restaurant, stamped with the given time', () => {
    given(menuItemDecider)
      .when(add(), { now: NOW, restaurant: openRestaurant() })
      .thenDecides([
        {
          type: 'MenuItemAdded',
          data: {
            menuItemId: ITEM_ID,
            restaurantId: RESTAURANT_ID,
            name: "Soupe à l'oignon",
            description: 'gratinée',
            priceMinor: 850,
            currency: 'EUR',
            addedAt: AT,
          },
        },
      ]);
  });

  it('lets a closed restaurant prepare its menu', () => {
    given(menuItemDecider)
      .when(add(), { now: NOW, restaurant: restaurantFrom([restaurantRegistered()]) })
      .thenDecides([addedNow()]);
  });

  it('lists a new item as available at its price', () => {
    given(menuItemDecider, [added()]).thenState({
      status: 'listed',
      menuItemId: ITEM_ID,
      restaurantId: RESTAURANT_ID,
      name: `dish ${ITEM_ID}`,
      priceMinor: 850,
      currency: 'EUR',
      available: true,
    });
  });

  it('refuses an item for an unknown restaurant with RESTAURANT_NOT_FOUND', () => {
    given(menuItemDecider)
      .when(add(), { now: NOW, restaurant: restaurantFrom([]) })
      .thenRefuses('not_found', 'RESTAURANT_NOT_FOUND');
  });

  it('refuses an item when the handler loaded no restaurant with RESTAURANT_NOT_FOUND', () => {
    given(menuItemDecider).when(add(), { now: NOW }).thenRefuses('not_found', 'RESTAURANT_NOT_FOUND');
  });

  it('refuses to add an item id that already exists with MENU_ITEM_EXISTS', () => {
    given(menuItemDecider, [added()])
      .when(add(), { now: NOW, restaurant: openRestaurant() })
      .thenRefuses('conflict', 'MENU_ITEM_EXISTS');
  });

  it('refuses to re-add a removed item id with MENU_ITEM_EXISTS', () => {
    given(menuItemDecider, [added(), removed()])
      .when(add(), { now: NOW, restaurant: openRestaurant() })
      .thenRefuses('conflict', 'MENU_ITEM_EXISTS');
  });

  it.each([0, 1, MAX_PRICE_MINOR])('accepts the price %s', (priceMinor) => {
    given(menuItemDecider)
      .when(add(priceMinor), { now: NOW, restaurant: openRestaurant() })
      .thenDecides([addedNow(priceMinor)]);
  });

  it.each([-1, MAX_PRICE_MINOR + 1, 8.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses the price %s with INVALID_PRICE',
    (priceMinor) => {
      given(menuItemDecider)
        .when(add(priceMinor), { now: NOW, restaurant: openRestaurant() })
        .thenRefuses('invalid', 'INVALID_PRICE');
    },
  );
});

describe('MenuItem decider — changes', () => {
  it('changes the price, recording the previous one and the currency', () => {
    given(menuItemDecider, [added()])
      .when(changePrice(990), { now: NOW })
      .thenDecides([
        {
          type: 'MenuItemPriceChanged',
          data: {
            menuItemId: ITEM_ID,
            restaurantId: RESTAURANT_ID,
            priceMinor: 990,
            previousPriceMinor: 850,
            currency: 'EUR',
            changedAt: AT,
          },
        },
      ])
      .thenStateMatches({ priceMinor: 990 });
  });

  it('appends nothing when the price is unchanged', () => {
    given(menuItemDecider, [added()]).when(changePrice(850), { now: NOW }).thenNothing();
  });

  it.each([-1, MAX_PRICE_MINOR + 1, 9.99])('refuses to change the price to %s with INVALID_PRICE', (priceMinor) => {
    given(menuItemDecider, [added()])
      .when(changePrice(priceMinor), { now: NOW })
      .thenRefuses('invalid', 'INVALID_PRICE');
  });

  it('makes an item unavailable and available again', () => {
    given(menuItemDecider, [added()])
      .when(setAvailability(false), { now: NOW })
      .thenDecides([
        {
          type: 'MenuItemAvailabilityChanged',
          data: { menuItemId: ITEM_ID, restaurantId: RESTAURANT_ID, available: false, changedAt: AT },
        },
      ])
      .thenStateMatches({ available: false })
      .when(setAvailability(true), { now: NOW })
      .thenDecides([
        {
          type: 'MenuItemAvailabilityChanged',
          data: { menuItemId: ITEM_ID, restaurantId: RESTAURANT_ID, available: true, changedAt: AT },
        },
      ])
      .thenStateMatches({ available: true });
  });

  it('appends nothing when the availability is unchanged', () => {
    given(menuItemDecider, [added()]).when(setAvailability(true), { now: NOW }).thenNothing();
    given(menuItemDecider, [added(), madeUnavailable()]).when(setAvailability(false), { now: NOW }).thenNothing();
  });

  it('removes a listed item and leaves it removed and unavailable', () => {
    given(menuItemDecider, [added()])
      .when(remove, { now: NOW })
      .thenDecides([
        { type: 'MenuItemRemoved', data: { menuItemId: ITEM_ID, restaurantId: RESTAURANT_ID, removedAt: AT } },
      ])
      .thenStateMatches({ status: 'removed', available: false });
  });

  it.each<[string, MenuItemCommand]>([
    ['a price change', changePrice(990)],
    ['a same-price change', changePrice(850)],
    ['an availability change', setAvailability(true)],
    ['another removal', remove],
  ])('refuses %s on a removed item with MENU_ITEM_NOT_FOUND', (_case, command) => {
    given(menuItemDecider, [added(), removed()])
      .when(command, { now: NOW })
      .thenRefuses('not_found', 'MENU_ITEM_NOT_FOUND')
      .withDetails({ menuItemId: ITEM_ID });
  });

  it.each<[MenuItemCommand]>([[changePrice(990)], [setAvailability(false)], [remove]])(
    'refuses $type on an item never added with MENU_ITEM_NOT_FOUND',
    (command) => {
      given(menuItemDecider).when(command, { now: NOW }).thenRefuses('not_found', 'MENU_ITEM_NOT_FOUND');
    },
  );

  it('checks the item exists before checking the price', () => {
    given(menuItemDecider).when(changePrice(-1), { now: NOW }).thenRefuses('not_found', 'MENU_ITEM_NOT_FOUND');
  });
});
