import type { MenuItemEvent } from '../../schemas/ordering/events.js';
import { type DecideContext, type Decider, DomainError, type NoStream, noStream } from '../decider.js';
import type { Restaurant } from './restaurant.js';

// The events are the contract's (generated from schemas/ordering/*.avsc); the commands and the state are ours.
export type { MenuItemEvent };

export const MAX_PRICE_MINOR = 1_000_000; // 10,000.00 in any currency: a menu item above that is a typo

export type MenuItemCommand =
  | {
      type: 'AddMenuItem';
      data: {
        menuItemId: string;
        restaurantId: string;
        name: string;
        description: string;
        priceMinor: number;
        currency: string;
      };
    }
  | { type: 'ChangeMenuItemPrice'; data: { menuItemId: string; priceMinor: number } }
  | { type: 'SetMenuItemAvailability'; data: { menuItemId: string; available: boolean } }
  | { type: 'RemoveMenuItem'; data: { menuItemId: string } };

interface MenuItemFacts {
  readonly menuItemId: string;
  readonly restaurantId: string;
  readonly name: string;
  readonly priceMinor: number;
  readonly currency: string;
  readonly available: boolean;
}

export type ListedMenuItem = MenuItemFacts & { readonly status: 'listed' };
export type MenuItem = NoStream | ListedMenuItem | (MenuItemFacts & { readonly status: 'removed' });

export const initialMenuItem: () => MenuItem = noStream;

/** What a menu-item decision gets from outside: the owning restaurant, loaded by the handler for AddMenuItem. */
export interface MenuItemContext extends DecideContext {
  readonly restaurant?: Restaurant;
}

const checkPrice = (priceMinor: number): void => {
  if (!Number.isInteger(priceMinor) || priceMinor < 0 || priceMinor > MAX_PRICE_MINOR) {
    throw new DomainError(
      'invalid',
      'INVALID_PRICE',
      `price must be an integer number of minor units in 0..${MAX_PRICE_MINOR}`,
      {
        priceMinor,
      },
    );
  }
};

const mustBeListed = (state: MenuItem, menuItemId: string): ListedMenuItem => {
  if (state.status !== 'listed') {
    throw new DomainError('not_found', 'MENU_ITEM_NOT_FOUND', `menu item ${menuItemId} does not exist`, { menuItemId });
  }
  return state;
};

export function decideMenuItem(command: MenuItemCommand, state: MenuItem, context: MenuItemContext): MenuItemEvent[] {
  const at = context.now.toISOString();
  switch (command.type) {
    case 'AddMenuItem': {
      if (state.status !== 'none') {
        throw new DomainError('conflict', 'MENU_ITEM_EXISTS', `menu item ${command.data.menuItemId} already exists`);
      }
      if (!context.restaurant || context.restaurant.status === 'none') {
        throw new DomainError(
          'not_found',
          'RESTAURANT_NOT_FOUND',
          `restaurant ${command.data.restaurantId} does not exist`,
          {
            restaurantId: command.data.restaurantId,
          },
        );
      }
      checkPrice(command.data.priceMinor);
      return [{ type: 'MenuItemAdded', data: { ...command.data, addedAt: at } }];
    }
    case 'ChangeMenuItemPrice': {
      const item = mustBeListed(state, command.data.menuItemId);
      checkPrice(command.data.priceMinor);
      if (item.priceMinor === command.data.priceMinor) return [];
      return [
        {
          type: 'MenuItemPriceChanged',
          data: {
            menuItemId: item.menuItemId,
            restaurantId: item.restaurantId,
            priceMinor: command.data.priceMinor,
            previousPriceMinor: item.priceMinor,
            currency: item.currency,
            changedAt: at,
          },
        },
      ];
    }
    case 'SetMenuItemAvailability': {
      const item = mustBeListed(state, command.data.menuItemId);
      if (item.available === command.data.available) return [];
      return [
        {
          type: 'MenuItemAvailabilityChanged',
          data: {
            menuItemId: item.menuItemId,
            restaurantId: item.restaurantId,
            available: command.data.available,
            changedAt: at,
          },
        },
      ];
    }
    case 'RemoveMenuItem': {
      const item = mustBeListed(state, command.data.menuItemId);
      return [
        {
          type: 'MenuItemRemoved',
          data: { menuItemId: item.menuItemId, restaurantId: item.restaurantId, removedAt: at },
        },
      ];
    }
  }
}

export function evolveMenuItem(state: MenuItem, event: MenuItemEvent): MenuItem {
  if (event.type === 'MenuItemAdded') {
    const { menuItemId, restaurantId, name, priceMinor, currency } = event.data;
    return { status: 'listed', menuItemId, restaurantId, name, priceMinor, currency, available: true };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'MenuItemPriceChanged':
      return { ...state, priceMinor: event.data.priceMinor };
    case 'MenuItemAvailabilityChanged':
      return { ...state, available: event.data.available };
    case 'MenuItemRemoved':
      return { ...state, status: 'removed', available: false };
  }
}

export const menuItemDecider: Decider<MenuItemCommand, MenuItemEvent, MenuItem, MenuItemContext> = {
  decide: decideMenuItem,
  evolve: evolveMenuItem,
  initialState: initialMenuItem,
};
