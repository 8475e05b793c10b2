import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evolveMenuItem, initialMenuItem } from '../../../commands/ordering/menu-item.js';
import { evolveOrder, initialOrder, ORDER_STATUSES } from '../../../commands/ordering/order.js';
import { evolvePayment, initialPayment } from '../../../commands/ordering/payment.js';
import { evolveRestaurant, initialRestaurant } from '../../../commands/ordering/restaurant.js';
import { anyMenuItemEvent, anyOrderEvent, anyPaymentEvent, anyRestaurantEvent, deepFreeze } from './arbitraries.js';
import { fold } from './fixtures.js';

// evolve is total: any sequence of well-formed events, in any order (even one no decider would produce),
// folds without throwing into a state of the aggregate's own statuses, and without mutating what it is given.

const events = <T>(event: fc.Arbitrary<T>) => fc.array(event, { maxLength: 30 }).map((list) => deepFreeze(list));

describe('evolve is total', () => {
  it('for orders', () => {
    fc.assert(
      fc.property(events(anyOrderEvent), (stream) => {
        const state = fold(initialOrder, evolveOrder, stream);
        expect(['NONE', ...ORDER_STATUSES]).toContain(state.status);
      }),
    );
  });

  it('for payments', () => {
    fc.assert(
      fc.property(events(anyPaymentEvent), (stream) => {
        const state = fold(initialPayment, evolvePayment, stream);
        expect(['NONE', 'AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'REFUNDED']).toContain(state.status);
      }),
    );
  });

  it('for menu items', () => {
    fc.assert(
      fc.property(events(anyMenuItemEvent), (stream) => {
        const state = fold(initialMenuItem, evolveMenuItem, stream);
        expect(['unknown', 'listed', 'removed']).toContain(state.status);
      }),
    );
  });

  it('for restaurants', () => {
    fc.assert(
      fc.property(events(anyRestaurantEvent), (stream) => {
        const state = fold(initialRestaurant, evolveRestaurant, stream);
        expect(['unknown', 'open', 'closed']).toContain(state.status);
      }),
    );
  });

  it('keeps an order unknown until its OrderPlaced, whatever came before', () => {
    fc.assert(
      fc.property(events(anyOrderEvent.filter((e) => e.type !== 'OrderPlaced')), (stream) => {
        expect(fold(initialOrder, evolveOrder, stream)).toEqual({ status: 'NONE' });
      }),
    );
  });
});
