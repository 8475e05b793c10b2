import { describe, it } from 'vitest';
import {
  type Address,
  type RestaurantCommand,
  type RestaurantEvent,
  restaurantDecider,
} from '../../../commands/ordering/restaurant.js';
import { given } from '../../support/decider.js';
import {
  AT,
  address,
  EARLIER,
  NOW,
  RESTAURANT_ID,
  restaurantClosed,
  restaurantOpened,
  restaurantRegistered,
} from './fixtures.js';

const register: RestaurantCommand = {
  type: 'RegisterRestaurant',
  data: { restaurantId: RESTAURANT_ID, ownerId: 'owner-1', name: 'Chez Lina', cuisine: 'lyonnaise', address },
};
const open: RestaurantCommand = { type: 'OpenRestaurant', data: { restaurantId: RESTAURANT_ID } };
const close: RestaurantCommand = { type: 'CloseRestaurant', data: { restaurantId: RESTAURANT_ID } };
const newAddress: Address = {
  line1: '3 Quai Saint-Vincent',
  line2: '2e étage',
  city: 'Lyon',
  postalCode: '69001',
  country: 'FR',
};
type Details = { name: string; cuisine: string; address: Address };
const update = (changes: Partial<Details>): RestaurantCommand => ({
  type: 'UpdateRestaurantDetails',
  data: { restaurantId: RESTAURANT_ID, name: 'Chez Lina', cuisine: 'lyonnaise', address, ...changes },
});
const detailsUpdated = (changes: Partial<Details>): RestaurantEvent => ({
  type: 'RestaurantDetailsUpdated',
  data: { restaurantId: RESTAURANT_ID, name: 'Chez Lina', cuisine: 'lyonnaise', address, ...changes, updatedAt: AT },
});

describe('Restaurant decider', () => {
  it('registers a new restaurant, stamped with the given time', () => {
    given(restaurantDecider)
      .when(register, { now: NOW })
      .thenDecides([
        {
          type: 'RestaurantRegistered',
          data: {
            restaurantId: RESTAURANT_ID,
            ownerId: 'owner-1',
            name: 'Chez Lina',
            cuisine: 'lyonnaise',
            address,
            registeredAt: AT,
          },
        },
      ]);
  });

  it('starts a registered restaurant closed', () => {
    given(restaurantDecider, [restaurantRegistered()]).thenState({
      status: 'closed',
      restaurantId: RESTAURANT_ID,
      ownerId: 'owner-1',
      name: 'Chez Lina',
      cuisine: 'lyonnaise',
      address,
    });
  });

  it('refuses to register the same restaurant twice with RESTAURANT_EXISTS', () => {
    given(restaurantDecider, [restaurantRegistered()])
      .when(register, { now: NOW })
      .thenRefuses('conflict', 'RESTAURANT_EXISTS');
  });

  it('opens a closed restaurant', () => {
    given(restaurantDecider, [restaurantRegistered()])
      .when(open, { now: NOW })
      .thenDecides([{ type: 'RestaurantOpened', data: { restaurantId: RESTAURANT_ID, openedAt: AT } }])
      .thenStateMatches({ status: 'open' });
  });

  it('appends nothing when opening an open restaurant', () => {
    given(restaurantDecider, [restaurantRegistered(), restaurantOpened()]).when(open, { now: NOW }).thenNothing();
  });

  it('closes an open restaurant', () => {
    given(restaurantDecider, [restaurantRegistered(), restaurantOpened()])
      .when(close, { now: NOW })
      .thenDecides([{ type: 'RestaurantClosed', data: { restaurantId: RESTAURANT_ID, closedAt: AT } }])
      .thenStateMatches({ status: 'closed' });
  });

  it('appends nothing when closing a closed restaurant', () => {
    given(restaurantDecider, [restaurantRegistered()]).when(close, { now: NOW }).thenNothing();
    given(restaurantDecider, [restaurantRegistered(), restaurantOpened(), restaurantClosed()])
      .when(close, { now: NOW })
      .thenNothing();
  });

  it.each<[RestaurantCommand]>([[open], [close], [update({ name: 'Other' })]])(
    'refuses $type on an unregistered restaurant with RESTAURANT_NOT_FOUND',
    (command) => {
      given(restaurantDecider)
        .when(command, { now: NOW })
        .thenRefuses('not_found', 'RESTAURANT_NOT_FOUND')
        .withDetails({ restaurantId: RESTAURANT_ID });
    },
  );

  it('updates the details when any of them changed and folds them into the state', () => {
    given(restaurantDecider, [restaurantRegistered(), restaurantOpened()])
      .when(update({ name: 'Chez Lina & fils', address: newAddress }), { now: NOW })
      .thenDecides([
        {
          type: 'RestaurantDetailsUpdated',
          data: {
            restaurantId: RESTAURANT_ID,
            name: 'Chez Lina & fils',
            cuisine: 'lyonnaise',
            address: newAddress,
            updatedAt: AT,
          },
        },
      ])
      .thenStateMatches({ status: 'open', name: 'Chez Lina & fils', address: newAddress });
  });

  it.each<[string, Partial<Details>]>([
    ['cuisine', { cuisine: 'bouchon' }],
    ['address line 2', { address: { ...address, line2: 'bâtiment B' } }],
  ])('sees a change of %s alone as a change', (_field, changes) => {
    given(restaurantDecider, [restaurantRegistered()])
      .when(update(changes), { now: NOW })
      .thenDecides([detailsUpdated(changes)]);
  });

  it('appends nothing when the details are unchanged', () => {
    given(restaurantDecider, [restaurantRegistered()]).when(update({}), { now: NOW }).thenNothing();
  });

  it('ignores open, close and update events for a restaurant that was never registered', () => {
    const updatedBefore: RestaurantEvent = {
      type: 'RestaurantDetailsUpdated',
      data: { restaurantId: RESTAURANT_ID, name: 'x', cuisine: 'y', address, updatedAt: EARLIER },
    };

    given(restaurantDecider, [restaurantOpened(), restaurantClosed(), updatedBefore]).thenState({ status: 'none' });
  });
});
