import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fold } from '../../../commands/decider.js';
import { menuItemDecider } from '../../../commands/ordering/menu-item.js';
import { ORDER_STATUSES, orderDecider } from '../../../commands/ordering/order.js';
import { paymentDecider } from '../../../commands/ordering/payment.js';
import { restaurantDecider } from '../../../commands/ordering/restaurant.js';
import { anyMenuItemEvent, anyOrderEvent, anyPaymentEvent, anyRestaurantEvent, deepFreeze } from './arbitraries.js';

// evolve is total: any sequence of well-formed events, in any order (even one no decider would produce),
// folds without throwing into a state of the aggregate's own statuses, and without mutating what it is given.

const events = <T>(event: fc.Arbitrary<T>) => fc.array(event, { maxLength: 30 }).map((list) => deepFreeze(list));

describe('evolve is total', () => {
  it('for orders', () => {
    fc.assert(
      fc.property(events(anyOrderEvent), (stream) => {
        const state = fold(orderDecider, stream);
        expect(['none', ...ORDER_STATUSES]).toContain(state.status);
      }),
    );
  });

  it('for payments', () => {
    fc.assert(
      fc.property(events(anyPaymentEvent), (stream) => {
        const state = fold(paymentDecider, stream);
        expect(['none', 'AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'REFUNDED']).toContain(state.status);
      }),
    );
  });

  it('for menu items', () => {
    fc.assert(
      fc.property(events(anyMenuItemEvent), (stream) => {
        const state = fold(menuItemDecider, stream);
        expect(['none', 'listed', 'removed']).toContain(state.status);
      }),
    );
  });

  it('for restaurants', () => {
    fc.assert(
      fc.property(events(anyRestaurantEvent), (stream) => {
        const state = fold(restaurantDecider, stream);
        expect(['none', 'open', 'closed']).toContain(state.status);
      }),
    );
  });

  it('keeps an order unknown until its OrderPlaced, whatever came before', () => {
    fc.assert(
      fc.property(events(anyOrderEvent.filter((e) => e.type !== 'OrderPlaced')), (stream) => {
        expect(fold(orderDecider, stream)).toEqual({ status: 'none' });
      }),
    );
  });
});
