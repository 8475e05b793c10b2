// fast-check generators for the Ordering deciders' property tests, and a runner that plays commands the way
// the executor does: decide against the current state, evolve the state with what was decided.
import fc from 'fast-check';
import { DomainError, type DomainEvent } from '../../../commands/decider.js';
import { MAX_PRICE_MINOR, type MenuItemCommand, type MenuItemEvent } from '../../../commands/ordering/menu-item.js';
import type { OrderCommand, OrderEvent } from '../../../commands/ordering/order.js';
import type { PaymentCommand, PaymentEvent } from '../../../commands/ordering/payment.js';
import type { Address, RestaurantCommand, RestaurantEvent } from '../../../commands/ordering/restaurant.js';
import { eventSchema } from '../../../schemas/catalog.js';
import { address, RESTAURANT_ID } from './fixtures.js';

export const ORDER_ID = 'o-1';
export const PAYMENT_ID = 'p-1';
export const MENU_ITEM_ID = 'm-soup';

// ---- commands -------------------------------------------------------------------------------------------

const reason = fc.constantFrom('too slow', 'card declined', 'kitchen closed', '');

/** Every Order command but PlaceOrder, with the data varied where the decider reads it. */
export const orderLifecycleCommand: fc.Arbitrary<OrderCommand> = fc.oneof(
  fc.constantFrom('p-1', 'p-2').map(
    (paymentId): OrderCommand => ({
      type: 'ConfirmOrder',
      data: { orderId: ORDER_ID, paymentId },
    }),
  ),
  reason.map((r): OrderCommand => ({ type: 'RejectOrder', data: { orderId: ORDER_ID, reason: r } })),
  fc.constant<OrderCommand>({ type: 'AcceptOrder', data: { orderId: ORDER_ID } }),
  fc.constant<OrderCommand>({ type: 'MarkOrderPreparing', data: { orderId: ORDER_ID } }),
  fc.constant<OrderCommand>({ type: 'MarkOrderReady', data: { orderId: ORDER_ID } }),
  fc.option(fc.constantFrom('courier-1', 'courier-2'), { nil: undefined }).map(
    (courierId): OrderCommand => ({
      type: 'MarkOrderPickedUp',
      data: courierId === undefined ? { orderId: ORDER_ID } : { orderId: ORDER_ID, courierId },
    }),
  ),
  fc.constant<OrderCommand>({ type: 'MarkOrderDelivered', data: { orderId: ORDER_ID } }),
  fc.tuple(reason, fc.constantFrom('c-1', 'restaurant', 'support')).map(
    ([r, cancelledBy]): OrderCommand => ({
      type: 'CancelOrder',
      data: { orderId: ORDER_ID, reason: r, cancelledBy },
    }),
  ),
);

/** PlaceOrder against the standard menu of order-lifecycle tests (m-soup, m-quenelle); sometimes invalid. */
export const placeOrderCommand: fc.Arbitrary<OrderCommand> = fc
  .array(
    fc.record({
      menuItemId: fc.constantFrom('m-soup', 'm-quenelle', 'm-soup', 'm-ghost'),
      quantity: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom(0, 51, 1.5)),
    }),
    { minLength: 0, maxLength: 4 },
  )
  .map(
    (items): OrderCommand => ({
      type: 'PlaceOrder',
      data: {
        orderId: ORDER_ID,
        restaurantId: RESTAURANT_ID,
        customerId: 'c-1',
        items,
        deliveryAddress: address,
        paymentMethod: { cardLast4: '4242', cardToken: 'tok_visa' },
      },
    }),
  );

export const orderCommand: fc.Arbitrary<OrderCommand> = fc.oneof(
  { arbitrary: placeOrderCommand, weight: 1 },
  { arbitrary: orderLifecycleCommand, weight: 8 },
);

/** The lifecycle's happy path after PlaceOrder, step by step. */
export const HAPPY_PATH: readonly OrderCommand[] = [
  { type: 'ConfirmOrder', data: { orderId: ORDER_ID, paymentId: 'p-1' } },
  { type: 'AcceptOrder', data: { orderId: ORDER_ID } },
  { type: 'MarkOrderPreparing', data: { orderId: ORDER_ID } },
  { type: 'MarkOrderReady', data: { orderId: ORDER_ID } },
  { type: 'MarkOrderPickedUp', data: { orderId: ORDER_ID, courierId: 'courier-1' } },
  { type: 'MarkOrderDelivered', data: { orderId: ORDER_ID } },
];

/**
 * Random commands interleaved with the happy path's next step (a null slot), so that runs regularly reach
 * the end of the lifecycle as well as every refusal on the way. Purely random sequences almost never do.
 */
export const orderCommandsAlongHappyPath = (noise: fc.Arbitrary<OrderCommand>): fc.Arbitrary<OrderCommand[]> =>
  fc.array(fc.option(noise, { nil: null, freq: 2 }), { minLength: 1, maxLength: 40 }).map((slots) => {
    let next = 0;
    return slots.map((command) => command ?? (HAPPY_PATH[next++ % HAPPY_PATH.length] as OrderCommand));
  });

const amount = fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom(0, -5, 2.5));

export const paymentCommand: fc.Arbitrary<PaymentCommand> = fc.oneof(
  fc.tuple(amount, fc.constantFrom('EUR', 'GBP')).map(
    ([amountMinor, currency]): PaymentCommand => ({
      type: 'RecordPaymentAuthorized',
      data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, providerRef: 'pi_1', amountMinor, currency },
    }),
  ),
  amount.map(
    (amountMinor): PaymentCommand => ({
      type: 'RecordPaymentDeclined',
      data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, reason: 'insufficient funds', amountMinor, currency: 'EUR' },
    }),
  ),
  fc.constant<PaymentCommand>({ type: 'RecordPaymentCaptured', data: { paymentId: PAYMENT_ID } }),
  reason.map((r): PaymentCommand => ({ type: 'RecordPaymentVoided', data: { paymentId: PAYMENT_ID, reason: r } })),
  reason.map((r): PaymentCommand => ({ type: 'RecordPaymentRefunded', data: { paymentId: PAYMENT_ID, reason: r } })),
);

const price = fc.oneof(
  fc.integer({ min: 0, max: MAX_PRICE_MINOR }),
  fc.constantFrom(850, 850, -1, MAX_PRICE_MINOR + 1, 8.5),
);

export const menuItemCommand: fc.Arbitrary<MenuItemCommand> = fc.oneof(
  fc.tuple(price, fc.constantFrom('EUR', 'GBP')).map(
    ([priceMinor, currency]): MenuItemCommand => ({
      type: 'AddMenuItem',
      data: {
        menuItemId: MENU_ITEM_ID,
        restaurantId: RESTAURANT_ID,
        name: "Soupe à l'oignon",
        description: 'gratinée',
        priceMinor,
        currency,
      },
    }),
  ),
  price.map(
    (priceMinor): MenuItemCommand => ({ type: 'ChangeMenuItemPrice', data: { menuItemId: MENU_ITEM_ID, priceMinor } }),
  ),
  fc.boolean().map(
    (available): MenuItemCommand => ({
      type: 'SetMenuItemAvailability',
      data: { menuItemId: MENU_ITEM_ID, available },
    }),
  ),
  fc.constant<MenuItemCommand>({ type: 'RemoveMenuItem', data: { menuItemId: MENU_ITEM_ID } }),
);

const addressVariant: fc.Arbitrary<Address> = fc.constantFrom<Address>(
  address,
  { ...address, line2: 'bâtiment B' },
  {
    ...address,
    city: 'Villeurbanne',
    postalCode: '69100',
  },
);

export const restaurantCommand: fc.Arbitrary<RestaurantCommand> = fc.oneof(
  fc.constant<RestaurantCommand>({
    type: 'RegisterRestaurant',
    data: { restaurantId: RESTAURANT_ID, ownerId: 'owner-1', name: 'Chez Lina', cuisine: 'lyonnaise', address },
  }),
  fc.constant<RestaurantCommand>({ type: 'OpenRestaurant', data: { restaurantId: RESTAURANT_ID } }),
  fc.constant<RestaurantCommand>({ type: 'CloseRestaurant', data: { restaurantId: RESTAURANT_ID } }),
  fc
    .tuple(fc.constantFrom('Chez Lina', 'Chez Lina & fils'), fc.constantFrom('lyonnaise', 'bouchon'), addressVariant)
    .map(
      ([name, cuisine, addr]): RestaurantCommand => ({
        type: 'UpdateRestaurantDetails',
        data: { restaurantId: RESTAURANT_ID, name, cuisine, address: addr },
      }),
    ),
);

// ---- events with arbitrary (but well-typed) data, for evolve's totality ------------------------------------

const id = fc.string({ maxLength: 8 });
const text = fc.string({ maxLength: 12 });
const timestamp = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const minor = fc.integer({ min: 0, max: 10_000_000 });
const anyAddress: fc.Arbitrary<Address> = fc.record({
  line1: text,
  line2: fc.option(text, { nil: null }),
  city: text,
  postalCode: text,
  country: fc.constantFrom('FR', 'GB', 'DE'),
});

export const anyOrderEvent: fc.Arbitrary<OrderEvent> = fc.oneof(
  fc
    .record({
      orderId: id,
      restaurantId: id,
      customerId: id,
      items: fc.array(
        fc.record({ menuItemId: id, name: text, quantity: fc.integer({ min: 1, max: 50 }), unitPriceMinor: minor }),
        { maxLength: 3 },
      ),
      totalMinor: minor,
      currency: fc.constantFrom('EUR', 'GBP'),
      deliveryAddress: anyAddress,
      paymentMethod: fc.record({ cardLast4: fc.string({ minLength: 4, maxLength: 4 }), cardToken: text }),
      placedAt: timestamp,
    })
    .map((data): OrderEvent => ({ type: 'OrderPlaced', data })),
  fc
    .record({ orderId: id, paymentId: id, confirmedAt: timestamp })
    .map((data): OrderEvent => ({ type: 'OrderConfirmed', data })),
  fc
    .record({ orderId: id, reason: text, rejectedAt: timestamp })
    .map((data): OrderEvent => ({ type: 'OrderRejected', data })),
  fc.record({ orderId: id, acceptedAt: timestamp }).map((data): OrderEvent => ({ type: 'OrderAccepted', data })),
  fc
    .record({ orderId: id, startedAt: timestamp })
    .map((data): OrderEvent => ({ type: 'OrderPreparationStarted', data })),
  fc.record({ orderId: id, readyAt: timestamp }).map((data): OrderEvent => ({ type: 'OrderReadyForPickup', data })),
  fc
    .record({ orderId: id, courierId: fc.option(id, { nil: null }), pickedUpAt: timestamp })
    .map((data): OrderEvent => ({ type: 'OrderPickedUp', data })),
  fc.record({ orderId: id, deliveredAt: timestamp }).map((data): OrderEvent => ({ type: 'OrderDelivered', data })),
  fc
    .record({ orderId: id, reason: text, cancelledBy: id, previousStatus: text, cancelledAt: timestamp })
    .map((data): OrderEvent => ({ type: 'OrderCancelled', data })),
);

export const anyPaymentEvent: fc.Arbitrary<PaymentEvent> = fc.oneof(
  fc
    .record({
      paymentId: id,
      orderId: id,
      providerRef: id,
      amountMinor: minor,
      currency: text,
      authorizedAt: timestamp,
    })
    .map((data): PaymentEvent => ({ type: 'PaymentAuthorized', data })),
  fc
    .record({ paymentId: id, orderId: id, reason: text, amountMinor: minor, currency: text, declinedAt: timestamp })
    .map((data): PaymentEvent => ({ type: 'PaymentDeclined', data })),
  fc
    .record({ paymentId: id, orderId: id, amountMinor: minor, currency: text, capturedAt: timestamp })
    .map((data): PaymentEvent => ({ type: 'PaymentCaptured', data })),
  fc
    .record({ paymentId: id, orderId: id, reason: text, voidedAt: timestamp })
    .map((data): PaymentEvent => ({ type: 'PaymentVoided', data })),
  fc
    .record({ paymentId: id, orderId: id, reason: text, amountMinor: minor, currency: text, refundedAt: timestamp })
    .map((data): PaymentEvent => ({ type: 'PaymentRefunded', data })),
);

export const anyMenuItemEvent: fc.Arbitrary<MenuItemEvent> = fc.oneof(
  fc
    .record({
      menuItemId: id,
      restaurantId: id,
      name: text,
      description: text,
      priceMinor: minor,
      currency: text,
      addedAt: timestamp,
    })
    .map((data): MenuItemEvent => ({ type: 'MenuItemAdded', data })),
  fc
    .record({
      menuItemId: id,
      restaurantId: id,
      priceMinor: minor,
      previousPriceMinor: minor,
      currency: text,
      changedAt: timestamp,
    })
    .map((data): MenuItemEvent => ({ type: 'MenuItemPriceChanged', data })),
  fc
    .record({ menuItemId: id, restaurantId: id, available: fc.boolean(), changedAt: timestamp })
    .map((data): MenuItemEvent => ({ type: 'MenuItemAvailabilityChanged', data })),
  fc
    .record({ menuItemId: id, restaurantId: id, removedAt: timestamp })
    .map((data): MenuItemEvent => ({ type: 'MenuItemRemoved', data })),
);

export const anyRestaurantEvent: fc.Arbitrary<RestaurantEvent> = fc.oneof(
  fc
    .record({ restaurantId: id, ownerId: id, name: text, cuisine: text, address: anyAddress, registeredAt: timestamp })
    .map((data): RestaurantEvent => ({ type: 'RestaurantRegistered', data })),
  fc
    .record({ restaurantId: id, openedAt: timestamp })
    .map((data): RestaurantEvent => ({ type: 'RestaurantOpened', data })),
  fc
    .record({ restaurantId: id, closedAt: timestamp })
    .map((data): RestaurantEvent => ({ type: 'RestaurantClosed', data })),
  fc
    .record({ restaurantId: id, name: text, cuisine: text, address: anyAddress, updatedAt: timestamp })
    .map((data): RestaurantEvent => ({ type: 'RestaurantDetailsUpdated', data })),
);

// ---- running commands ---------------------------------------------------------------------------------------

export type Step<Command, State, Event> =
  | { readonly command: Command; readonly before: State; readonly events: readonly Event[]; readonly after: State }
  | { readonly command: Command; readonly before: State; readonly refused: string };

export interface Run<Command, State, Event> {
  readonly steps: readonly Step<Command, State, Event>[];
  /** Every event decided during the run, in order: what the store would hold. */
  readonly events: readonly Event[];
  /** The state as it was tracked during the run, event by event. */
  readonly state: State;
}

/** Freezes a value and everything it holds, so a decider or evolve that mutates its input throws. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Decides each command against the current state and evolves the state with what was decided, as the
 * executor does. A DomainError is a refusal (nothing appended); any other error fails the property.
 */
export function runCommands<Command, State, Event>(
  decide: (command: Command, state: State) => Event[],
  evolve: (state: State, event: Event) => State,
  initial: State,
  commands: readonly Command[],
): Run<Command, State, Event> {
  let state = deepFreeze(initial);
  const steps: Step<Command, State, Event>[] = [];
  const events: Event[] = [];
  for (const command of commands) {
    const before = state;
    let decided: Event[];
    try {
      decided = decide(deepFreeze(command), state);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      steps.push({ command, before, refused: error.code });
      continue;
    }
    for (const event of decided) {
      state = deepFreeze(evolve(state, deepFreeze(event)));
      events.push(event);
    }
    steps.push({ command, before, events: decided, after: state });
  }
  return { steps, events, state };
}

/** An event as it comes back from the store: encoded with its Avro schema, then decoded. */
export function throughAvro<E extends DomainEvent>(event: E): E {
  const { type } = eventSchema(event.type);
  return { ...event, data: type.fromBuffer(type.toBuffer(event.data)) };
}
