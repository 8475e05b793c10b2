import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fold } from '../../../commands/decider.js';
import {
  ORDER_STATUSES,
  type Order,
  type OrderCommand,
  type OrderEvent,
  type OrderStatus,
  orderDecider,
} from '../../../commands/ordering/order.js';
import { ORDER_ID, orderCommandsAlongHappyPath, orderLifecycleCommand, runCommands } from './arbitraries.js';
import { address, menuItemAdded, menuOf, NOW, openRestaurant, RESTAURANT_ID } from './fixtures.js';

const menu = menuOf(openRestaurant(), {
  'm-soup': [menuItemAdded('m-soup', { priceMinor: 850 })],
  'm-quenelle': [menuItemAdded('m-quenelle', { priceMinor: 1650 })],
});

const decide = (command: OrderCommand, state: Order): OrderEvent[] =>
  orderDecider.decide(command, state, { now: NOW, menu });

const placedOrder = (): Order => {
  const placed = decide(
    {
      type: 'PlaceOrder',
      data: {
        orderId: ORDER_ID,
        restaurantId: RESTAURANT_ID,
        customerId: 'c-1',
        items: [{ menuItemId: 'm-soup', quantity: 2 }],
        deliveryAddress: address,
        paymentMethod: { cardLast4: '4242', cardToken: 'tok_visa' },
      },
    },
    orderDecider.initialState(),
  );
  return fold(orderDecider, placed);
};

const TERMINAL: readonly OrderStatus[] = ['CANCELLED', 'DELIVERED', 'REJECTED'];

/** The status changes the lifecycle allows; anything else seen during a run is a bug. */
const ALLOWED = new Set<string>([
  'PENDING→CONFIRMED',
  'PENDING→REJECTED',
  'PENDING→CANCELLED',
  'CONFIRMED→PREPARING',
  'CONFIRMED→REJECTED',
  'CONFIRMED→CANCELLED',
  'PREPARING→READY',
  'PREPARING→CANCELLED',
  'READY→PICKED_UP',
  'READY→CANCELLED',
  'PICKED_UP→DELIVERED',
]);

const commands = orderCommandsAlongHappyPath(orderLifecycleCommand);

describe('Order decider — properties over random command sequences', () => {
  it('only ever moves a placed order along allowed transitions, into statuses of ORDER_STATUSES', () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(commands, (sequence) => {
        const run = runCommands(decide, orderDecider.evolve, placedOrder(), sequence);
        for (const step of run.steps) {
          if ('refused' in step) continue;
          expect(step.events.length).toBeLessThanOrEqual(1);
          expect(ORDER_STATUSES).toContain(step.after.status);
          reached.add(step.after.status);
          if (step.after.status !== step.before.status) {
            expect(ALLOWED).toContain(`${step.before.status}→${step.after.status}`);
          }
        }
      }),
      { numRuns: 500 },
    );
    // The property is only as good as the runs: every status must actually have been visited.
    expect([...reached].sort()).toEqual([...ORDER_STATUSES].sort());
  });

  it('never decides anything once the order is CANCELLED, DELIVERED or REJECTED', () => {
    let terminalSteps = 0;
    fc.assert(
      fc.property(commands, (sequence) => {
        const run = runCommands(decide, orderDecider.evolve, placedOrder(), sequence);
        let endedAs: Order['status'] | null = null;
        for (const step of run.steps) {
          if (endedAs !== null) {
            terminalSteps += 1;
            if (!('refused' in step)) expect(step.events).toEqual([]);
            expect(('refused' in step ? step.before : step.after).status).toBe(endedAs);
          } else if (!('refused' in step) && TERMINAL.includes(step.after.status as OrderStatus)) {
            endedAs = step.after.status;
          }
        }
      }),
      { numRuns: 500 },
    );
    expect(terminalSteps).toBeGreaterThan(0);
  });

  it('starts preparation only for an order that was confirmed and accepted', () => {
    fc.assert(
      fc.property(commands, (sequence) => {
        const run = runCommands(decide, orderDecider.evolve, placedOrder(), sequence);
        for (const step of run.steps) {
          if ('refused' in step || step.after.status !== 'PREPARING' || step.before.status === 'PREPARING') continue;
          expect(step.before).toMatchObject({ status: 'CONFIRMED', accepted: true });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses lifecycle commands on a placed order only with the lifecycle codes, never another error', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(commands, (sequence) => {
        // runCommands rethrows anything that is not a DomainError (a TypeError, say), which fails the property.
        const run = runCommands(decide, orderDecider.evolve, placedOrder(), sequence);
        for (const step of run.steps) {
          if (!('refused' in step)) continue;
          seen.add(step.refused);
          expect(['ORDER_INVALID_TRANSITION', 'ORDER_NOT_ACCEPTED', 'ORDER_NOT_CANCELLABLE']).toContain(step.refused);
        }
      }),
      { numRuns: 300 },
    );
    expect(seen.size).toBe(3);
  });
});
