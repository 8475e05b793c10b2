import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fold } from '../../../commands/decider.js';
import { menuItemDecider } from '../../../commands/ordering/menu-item.js';
import { orderDecider } from '../../../commands/ordering/order.js';
import { paymentDecider } from '../../../commands/ordering/payment.js';
import { restaurantDecider } from '../../../commands/ordering/restaurant.js';
import {
  menuItemCommand,
  orderCommand,
  orderCommandsAlongHappyPath,
  paymentCommand,
  placeOrderCommand,
  restaurantCommand,
  runCommands,
  throughAvro,
} from './arbitraries.js';
import { menuItemAdded, menuOf, NOW, openRestaurant } from './fixtures.js';

// Replay equals live: the state the executor rebuilds from the stream (every decided event, encoded with its
// Avro schema and decoded again, folded from the initial state) equals the state tracked while deciding.
// runCommands freezes every state and event, so an evolve or decide that mutated its input would throw here.

const menu = menuOf(openRestaurant(), {
  'm-soup': [menuItemAdded('m-soup', { priceMinor: 850 })],
  'm-quenelle': [menuItemAdded('m-quenelle', { priceMinor: 1650 })],
});

const sequenceOf = <T>(command: fc.Arbitrary<T>) => fc.array(command, { minLength: 1, maxLength: 40 });

/** A PlaceOrder (valid or not), then lifecycle commands and the odd second PlaceOrder along the happy path. */
const orderCommands = fc
  .tuple(placeOrderCommand, orderCommandsAlongHappyPath(orderCommand))
  .map(([place, rest]) => [place, ...rest]);

describe('replaying the decided events rebuilds the state tracked live', () => {
  it('for orders', () => {
    fc.assert(
      fc.property(orderCommands, (commands) => {
        const run = runCommands(
          (command, state) => orderDecider.decide(command, state, { now: NOW, menu }),
          orderDecider.evolve,
          orderDecider.initialState(),
          commands,
        );
        expect(fold(orderDecider, run.events)).toEqual(run.state);
        expect(fold(orderDecider, run.events.map(throughAvro))).toEqual(run.state);
      }),
      { numRuns: 300 },
    );
  });

  it('for payments', () => {
    fc.assert(
      fc.property(sequenceOf(paymentCommand), (commands) => {
        const run = runCommands(
          (command, state) => paymentDecider.decide(command, state, { now: NOW }),
          paymentDecider.evolve,
          paymentDecider.initialState(),
          commands,
        );
        expect(fold(paymentDecider, run.events)).toEqual(run.state);
        expect(fold(paymentDecider, run.events.map(throughAvro))).toEqual(run.state);
      }),
      { numRuns: 300 },
    );
  });

  it('for menu items', () => {
    fc.assert(
      fc.property(sequenceOf(menuItemCommand), (commands) => {
        const run = runCommands(
          (command, state) => menuItemDecider.decide(command, state, { now: NOW, restaurant: openRestaurant() }),
          menuItemDecider.evolve,
          menuItemDecider.initialState(),
          commands,
        );
        expect(fold(menuItemDecider, run.events)).toEqual(run.state);
        expect(fold(menuItemDecider, run.events.map(throughAvro))).toEqual(run.state);
      }),
      { numRuns: 300 },
    );
  });

  it('for restaurants', () => {
    fc.assert(
      fc.property(sequenceOf(restaurantCommand), (commands) => {
        const run = runCommands(
          (command, state) => restaurantDecider.decide(command, state, { now: NOW }),
          restaurantDecider.evolve,
          restaurantDecider.initialState(),
          commands,
        );
        expect(fold(restaurantDecider, run.events)).toEqual(run.state);
        expect(fold(restaurantDecider, run.events.map(throughAvro))).toEqual(run.state);
      }),
      { numRuns: 300 },
    );
  });

  it('replays a run that produced events at all (the property is not vacuous)', () => {
    const lengths = fc
      .sample(orderCommands, { numRuns: 200, seed: 42 })
      .map(
        (commands) =>
          runCommands(
            (command, state) => orderDecider.decide(command, state, { now: NOW, menu }),
            orderDecider.evolve,
            orderDecider.initialState(),
            commands,
          ).events.length,
      );

    expect(Math.max(...lengths)).toBeGreaterThanOrEqual(7);
  });
});
