import type { Address, RestaurantEvent } from '../../schemas/ordering/events.js';
import { type DecideContext, type Decider, DomainError, type Existing, type NoStream, noStream } from '../decider.js';

// The events are the contract's (generated from schemas/ordering/*.avsc); the commands and the state are ours.
export type { Address, RestaurantEvent };

export type RestaurantCommand =
  | {
      type: 'RegisterRestaurant';
      data: { restaurantId: string; ownerId: string; name: string; cuisine: string; address: Address };
    }
  | { type: 'OpenRestaurant'; data: { restaurantId: string } }
  | { type: 'CloseRestaurant'; data: { restaurantId: string } }
  | {
      type: 'UpdateRestaurantDetails';
      data: { restaurantId: string; name: string; cuisine: string; address: Address };
    };

export type Restaurant =
  | NoStream
  | {
      readonly status: 'open' | 'closed';
      readonly restaurantId: string;
      readonly ownerId: string;
      readonly name: string;
      readonly cuisine: string;
      readonly address: Readonly<Address>;
    };

export const initialRestaurant: () => Restaurant = noStream;

const mustExist = (state: Restaurant, restaurantId: string): Existing<Restaurant> => {
  if (state.status === 'none') {
    throw new DomainError('not_found', 'RESTAURANT_NOT_FOUND', `restaurant ${restaurantId} does not exist`, {
      restaurantId,
    });
  }
  return state;
};

export function decideRestaurant(
  command: RestaurantCommand,
  state: Restaurant,
  { now }: DecideContext,
): RestaurantEvent[] {
  const at = now.toISOString();
  switch (command.type) {
    case 'RegisterRestaurant':
      if (state.status !== 'none') {
        throw new DomainError(
          'conflict',
          'RESTAURANT_EXISTS',
          `restaurant ${command.data.restaurantId} is already registered`,
        );
      }
      return [{ type: 'RestaurantRegistered', data: { ...command.data, registeredAt: at } }];
    case 'OpenRestaurant':
      // Opening an open restaurant is a no-op, not an error: retries and double clicks are harmless.
      return mustExist(state, command.data.restaurantId).status === 'open'
        ? []
        : [{ type: 'RestaurantOpened', data: { restaurantId: command.data.restaurantId, openedAt: at } }];
    case 'CloseRestaurant':
      return mustExist(state, command.data.restaurantId).status === 'closed'
        ? []
        : [{ type: 'RestaurantClosed', data: { restaurantId: command.data.restaurantId, closedAt: at } }];
    case 'UpdateRestaurantDetails': {
      const current = mustExist(state, command.data.restaurantId);
      const { name, cuisine, address } = command.data;
      const unchanged =
        current.name === name &&
        current.cuisine === cuisine &&
        JSON.stringify(current.address) === JSON.stringify(address);
      return unchanged ? [] : [{ type: 'RestaurantDetailsUpdated', data: { ...command.data, updatedAt: at } }];
    }
  }
}

export function evolveRestaurant(state: Restaurant, event: RestaurantEvent): Restaurant {
  switch (event.type) {
    case 'RestaurantRegistered': {
      const { restaurantId, ownerId, name, cuisine, address } = event.data;
      return { status: 'closed', restaurantId, ownerId, name, cuisine, address };
    }
    case 'RestaurantOpened':
      return state.status === 'none' ? state : { ...state, status: 'open' };
    case 'RestaurantClosed':
      return state.status === 'none' ? state : { ...state, status: 'closed' };
    case 'RestaurantDetailsUpdated':
      return state.status === 'none'
        ? state
        : { ...state, name: event.data.name, cuisine: event.data.cuisine, address: event.data.address };
  }
}

export const restaurantDecider: Decider<RestaurantCommand, RestaurantEvent, Restaurant, DecideContext> = {
  decide: decideRestaurant,
  evolve: evolveRestaurant,
  initialState: initialRestaurant,
};
