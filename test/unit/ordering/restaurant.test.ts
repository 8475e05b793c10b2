import { describe, expect, it } from 'vitest';
import {
  type Address,
  decideRestaurant,
  type RestaurantCommand,
  type RestaurantEvent,
} from '../../../commands/ordering/restaurant.js';
import {
  AT,
  address,
  EARLIER,
  NOW,
  RESTAURANT_ID,
  refusal,
  restaurantClosed,
  restaurantFrom,
  restaurantOpened,
  restaurantRegistered,
} from './fixtures.js';

const when = (command: RestaurantCommand, events: readonly RestaurantEvent[]): RestaurantEvent[] =>
  decideRestaurant(command, restaurantFrom(events), NOW);

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
const update = (changes: Partial<{ name: string; cuisine: string; address: Address }>): RestaurantCommand => ({
  type: 'UpdateRestaurantDetails',
  data: { restaurantId: RESTAURANT_ID, name: 'Chez Lina', cuisine: 'lyonnaise', address, ...changes },
});

describe('Restaurant decider', () => {
  it('registers a new restaurant, stamped with the given time', () => {
    expect(when(register, [])).toEqual([
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
    expect(restaurantFrom([restaurantRegistered()])).toEqual({
      status: 'closed',
      restaurantId: RESTAURANT_ID,
      ownerId: 'owner-1',
      name: 'Chez Lina',
      cuisine: 'lyonnaise',
      address,
    });
  });

  it('refuses to register the same restaurant twice with RESTAURANT_EXISTS', () => {
    expect(refusal(() => when(register, [restaurantRegistered()])).code).toBe('RESTAURANT_EXISTS');
  });

  it('opens a closed restaurant', () => {
    const events = [restaurantRegistered()];
    const decided = when(open, events);

    expect(decided).toEqual([{ type: 'RestaurantOpened', data: { restaurantId: RESTAURANT_ID, openedAt: AT } }]);
    expect(restaurantFrom([...events, ...decided]).status).toBe('open');
  });

  it('appends nothing when opening an open restaurant', () => {
    expect(when(open, [restaurantRegistered(), restaurantOpened()])).toEqual([]);
  });

  it('closes an open restaurant', () => {
    const events = [restaurantRegistered(), restaurantOpened()];
    const decided = when(close, events);

    expect(decided).toEqual([{ type: 'RestaurantClosed', data: { restaurantId: RESTAURANT_ID, closedAt: AT } }]);
    expect(restaurantFrom([...events, ...decided]).status).toBe('closed');
  });

  it('appends nothing when closing a closed restaurant', () => {
    expect(when(close, [restaurantRegistered()])).toEqual([]);
    expect(when(close, [restaurantRegistered(), restaurantOpened(), restaurantClosed()])).toEqual([]);
  });

  it.each<[RestaurantCommand]>([[open], [close], [update({ name: 'Other' })]])(
    'refuses $type on an unregistered restaurant with RESTAURANT_NOT_FOUND',
    (command) => {
      const error = refusal(() => when(command, []));

      expect(error.code).toBe('RESTAURANT_NOT_FOUND');
      expect(error.details).toEqual({ restaurantId: RESTAURANT_ID });
    },
  );

  it('updates the details when any of them changed and folds them into the state', () => {
    const events = [restaurantRegistered(), restaurantOpened()];
    const decided = when(update({ name: 'Chez Lina & fils', address: newAddress }), events);

    expect(decided).toEqual([
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
    ]);
    expect(restaurantFrom([...events, ...decided])).toMatchObject({
      status: 'open',
      name: 'Chez Lina & fils',
      address: newAddress,
    });
  });

  it.each<[string, RestaurantCommand]>([
    ['cuisine', update({ cuisine: 'bouchon' })],
    ['address line 2', update({ address: { ...address, line2: 'bâtiment B' } })],
  ])('sees a change of %s alone as a change', (_field, command) => {
    expect(when(command, [restaurantRegistered()])).toHaveLength(1);
  });

  it('appends nothing when the details are unchanged', () => {
    expect(when(update({}), [restaurantRegistered()])).toEqual([]);
  });

  it('ignores open, close and update events for a restaurant that was never registered', () => {
    const detailsUpdated: RestaurantEvent = {
      type: 'RestaurantDetailsUpdated',
      data: { restaurantId: RESTAURANT_ID, name: 'x', cuisine: 'y', address, updatedAt: EARLIER },
    };

    expect(restaurantFrom([restaurantOpened(), restaurantClosed(), detailsUpdated])).toEqual({ status: 'unknown' });
  });
});
