import { describe, expect, it } from 'vitest';
import {
  decideMenuItem,
  MAX_PRICE_MINOR,
  type MenuItemCommand,
  type MenuItemEvent,
} from '../../../commands/ordering/menu-item.js';
import type { Restaurant } from '../../../commands/ordering/restaurant.js';
import {
  AT,
  EARLIER,
  menuItemAdded,
  menuItemFrom,
  NOW,
  openRestaurant,
  RESTAURANT_ID,
  refusal,
  restaurantFrom,
  restaurantRegistered,
} from './fixtures.js';

const ITEM_ID = 'm-soup';

const when = (command: MenuItemCommand, events: readonly MenuItemEvent[], restaurant?: Restaurant): MenuItemEvent[] =>
  decideMenuItem(command, menuItemFrom(events), restaurant ? { now: NOW, restaurant } : { now: NOW });

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
    expect(when(add(), [], openRestaurant())).toEqual([
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
    expect(when(add(), [], restaurantFrom([restaurantRegistered()]))).toHaveLength(1);
  });

  it('lists a new item as available at its price', () => {
    expect(menuItemFrom([added()])).toEqual({
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
    expect(refusal(() => when(add(), [], restaurantFrom([]))).code).toBe('RESTAURANT_NOT_FOUND');
  });

  it('refuses an item when the handler loaded no restaurant with RESTAURANT_NOT_FOUND', () => {
    expect(refusal(() => when(add(), [])).code).toBe('RESTAURANT_NOT_FOUND');
  });

  it('refuses to add an item id that already exists with MENU_ITEM_EXISTS', () => {
    expect(refusal(() => when(add(), [added()], openRestaurant())).code).toBe('MENU_ITEM_EXISTS');
  });

  it('refuses to re-add a removed item id with MENU_ITEM_EXISTS', () => {
    expect(refusal(() => when(add(), [added(), removed()], openRestaurant())).code).toBe('MENU_ITEM_EXISTS');
  });

  it.each([0, 1, MAX_PRICE_MINOR])('accepts the price %s', (priceMinor) => {
    expect(when(add(priceMinor), [], openRestaurant())).toHaveLength(1);
  });

  it.each([-1, MAX_PRICE_MINOR + 1, 8.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses the price %s with INVALID_PRICE',
    (priceMinor) => {
      expect(refusal(() => when(add(priceMinor), [], openRestaurant())).code).toBe('INVALID_PRICE');
    },
  );
});

describe('MenuItem decider — changes', () => {
  it('changes the price, recording the previous one and the currency', () => {
    const decided = when(changePrice(990), [added()]);

    expect(decided).toEqual([
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
    ]);
    expect(menuItemFrom([added(), ...decided])).toMatchObject({ priceMinor: 990 });
  });

  it('appends nothing when the price is unchanged', () => {
    expect(when(changePrice(850), [added()])).toEqual([]);
  });

  it.each([-1, MAX_PRICE_MINOR + 1, 9.99])('refuses to change the price to %s with INVALID_PRICE', (priceMinor) => {
    expect(refusal(() => when(changePrice(priceMinor), [added()])).code).toBe('INVALID_PRICE');
  });

  it('makes an item unavailable and available again', () => {
    const offEvents = when(setAvailability(false), [added()]);
    expect(offEvents).toEqual([
      {
        type: 'MenuItemAvailabilityChanged',
        data: { menuItemId: ITEM_ID, restaurantId: RESTAURANT_ID, available: false, changedAt: AT },
      },
    ]);
    const history = [added(), ...offEvents];
    expect(menuItemFrom(history)).toMatchObject({ available: false });

    const onEvents = when(setAvailability(true), history);
    expect(onEvents).toEqual([
      {
        type: 'MenuItemAvailabilityChanged',
        data: { menuItemId: ITEM_ID, restaurantId: RESTAURANT_ID, available: true, changedAt: AT },
      },
    ]);
    expect(menuItemFrom([...history, ...onEvents])).toMatchObject({ available: true });
  });

  it('appends nothing when the availability is unchanged', () => {
    expect(when(setAvailability(true), [added()])).toEqual([]);
    expect(when(setAvailability(false), [added(), madeUnavailable()])).toEqual([]);
  });

  it('removes a listed item and leaves it removed and unavailable', () => {
    const decided = when(remove, [added()]);

    expect(decided).toEqual([
      { type: 'MenuItemRemoved', data: { menuItemId: ITEM_ID, restaurantId: RESTAURANT_ID, removedAt: AT } },
    ]);
    expect(menuItemFrom([added(), ...decided])).toMatchObject({ status: 'removed', available: false });
  });

  it.each<[string, MenuItemCommand]>([
    ['a price change', changePrice(990)],
    ['a same-price change', changePrice(850)],
    ['an availability change', setAvailability(true)],
    ['another removal', remove],
  ])('refuses %s on a removed item with MENU_ITEM_NOT_FOUND', (_case, command) => {
    const error = refusal(() => when(command, [added(), removed()]));

    expect(error.code).toBe('MENU_ITEM_NOT_FOUND');
    expect(error.details).toEqual({ menuItemId: ITEM_ID });
  });

  it.each<[MenuItemCommand]>([[changePrice(990)], [setAvailability(false)], [remove]])(
    'refuses $type on an item never added with MENU_ITEM_NOT_FOUND',
    (command) => {
      expect(refusal(() => when(command, [])).code).toBe('MENU_ITEM_NOT_FOUND');
    },
  );

  it('checks the item exists before checking the price', () => {
    expect(refusal(() => when(changePrice(-1), [])).code).toBe('MENU_ITEM_NOT_FOUND');
  });
});
