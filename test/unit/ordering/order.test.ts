import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../commands/decider.js';
import type { MenuItemEvent } from '../../../commands/ordering/menu-item.js';
import {
  MAX_LINES,
  type MenuSnapshot,
  type OrderCommand,
  type OrderEvent,
  type OrderStatus,
  orderDecider,
} from '../../../commands/ordering/order.js';
import { given } from '../../support/decider.js';
import {
  AT,
  address,
  EARLIER,
  menuItemAdded,
  menuOf,
  NOW,
  OTHER_RESTAURANT_ID,
  openRestaurant,
  RESTAURANT_ID,
  restaurantClosed,
  restaurantFrom,
  restaurantOpened,
  restaurantRegistered,
} from './fixtures.js';

const ORDER_ID = 'o-1';

const soup = (): MenuItemEvent => menuItemAdded('m-soup', { name: "Soupe à l'oignon", priceMinor: 850 });
const quenelle = (): MenuItemEvent => menuItemAdded('m-quenelle', { name: 'Quenelle de brochet', priceMinor: 1650 });

const standardMenu = (): MenuSnapshot => menuOf(openRestaurant(), { 'm-soup': [soup()], 'm-quenelle': [quenelle()] });

const paymentMethod = { cardLast4: '4242', cardToken: 'tok_visa' };

const placeOrder = (
  items: { menuItemId: string; quantity: number }[],
  restaurantId = RESTAURANT_ID,
): Extract<OrderCommand, { type: 'PlaceOrder' }> => ({
  type: 'PlaceOrder',
  data: { orderId: ORDER_ID, restaurantId, customerId: 'c-1', items, deliveryAddress: address, paymentMethod },
});

/** A new order's PlaceOrder for `items`, decided against `menu`. */
const placing = (menu: MenuSnapshot, items: { menuItemId: string; quantity: number }[]) =>
  given(orderDecider).when(placeOrder(items), { now: NOW, menu });

// Past events, as the decider would have produced them earlier.
const placed: OrderEvent = {
  type: 'OrderPlaced',
  data: {
    orderId: ORDER_ID,
    restaurantId: RESTAURANT_ID,
    customerId: 'c-1',
    items: [{ menuItemId: 'm-soup', name: "Soupe à l'oignon", quantity: 2, unitPriceMinor: 850 }],
    totalMinor: 1700,
    currency: 'EUR',
    deliveryAddress: address,
    paymentMethod,
    placedAt: EARLIER,
  },
};
const confirmed: OrderEvent = {
  type: 'OrderConfirmed',
  data: { orderId: ORDER_ID, paymentId: 'p-1', confirmedAt: EARLIER },
};
const accepted: OrderEvent = { type: 'OrderAccepted', data: { orderId: ORDER_ID, acceptedAt: EARLIER } };
const preparing: OrderEvent = { type: 'OrderPreparationStarted', data: { orderId: ORDER_ID, startedAt: EARLIER } };
const ready: OrderEvent = { type: 'OrderReadyForPickup', data: { orderId: ORDER_ID, readyAt: EARLIER } };
const pickedUp: OrderEvent = {
  type: 'OrderPickedUp',
  data: { orderId: ORDER_ID, courierId: 'courier-7', pickedUpAt: EARLIER },
};
const delivered: OrderEvent = { type: 'OrderDelivered', data: { orderId: ORDER_ID, deliveredAt: EARLIER } };
const rejected: OrderEvent = {
  type: 'OrderRejected',
  data: { orderId: ORDER_ID, reason: 'card declined', rejectedAt: EARLIER },
};
const cancelled: OrderEvent = {
  type: 'OrderCancelled',
  data: {
    orderId: ORDER_ID,
    reason: 'changed my mind',
    cancelledBy: 'c-1',
    previousStatus: 'PENDING',
    cancelledAt: EARLIER,
  },
};

/** The shortest history that leaves the order in each status. */
const history: Record<OrderStatus, readonly OrderEvent[]> = {
  PENDING: [placed],
  CONFIRMED: [placed, confirmed],
  PREPARING: [placed, confirmed, accepted, preparing],
  READY: [placed, confirmed, accepted, preparing, ready],
  PICKED_UP: [placed, confirmed, accepted, preparing, ready, pickedUp],
  DELIVERED: [placed, confirmed, accepted, preparing, ready, pickedUp, delivered],
  REJECTED: [placed, rejected],
  CANCELLED: [placed, cancelled],
};

const confirm: OrderCommand = { type: 'ConfirmOrder', data: { orderId: ORDER_ID, paymentId: 'p-1' } };
const reject: OrderCommand = { type: 'RejectOrder', data: { orderId: ORDER_ID, reason: 'card declined' } };
const accept: OrderCommand = { type: 'AcceptOrder', data: { orderId: ORDER_ID } };
const markPreparing: OrderCommand = { type: 'MarkOrderPreparing', data: { orderId: ORDER_ID } };
const markReady: OrderCommand = { type: 'MarkOrderReady', data: { orderId: ORDER_ID } };
const markPickedUp: OrderCommand = { type: 'MarkOrderPickedUp', data: { orderId: ORDER_ID, courierId: 'courier-7' } };
const markDelivered: OrderCommand = { type: 'MarkOrderDelivered', data: { orderId: ORDER_ID } };
const cancel: OrderCommand = {
  type: 'CancelOrder',
  data: { orderId: ORDER_ID, reason: 'too slow', cancelledBy: 'c-1' },
};

describe('Order decider — PlaceOrder', () => {
  it('places the order with names and unit prices copied from the menu and the total of price × quantity', () => {
    placing(standardMenu(), [
      { menuItemId: 'm-soup', quantity: 2 },
      { menuItemId: 'm-quenelle', quantity: 3 },
    ]).thenDecides([
      {
        type: 'OrderPlaced',
        data: {
          orderId: ORDER_ID,
          restaurantId: RESTAURANT_ID,
          customerId: 'c-1',
          items: [
            { menuItemId: 'm-soup', name: "Soupe à l'oignon", quantity: 2, unitPriceMinor: 850 },
            { menuItemId: 'm-quenelle', name: 'Quenelle de brochet', quantity: 3, unitPriceMinor: 1650 },
          ],
          totalMinor: 2 * 850 + 3 * 1650,
          currency: 'EUR',
          deliveryAddress: address,
          paymentMethod,
          placedAt: AT,
        },
      },
    ]);
  });

  it('prices the order with the current price after a price change, not the price at listing', () => {
    const menu = menuOf(openRestaurant(), {
      'm-soup': [
        soup(),
        {
          type: 'MenuItemPriceChanged',
          data: {
            menuItemId: 'm-soup',
            restaurantId: RESTAURANT_ID,
            priceMinor: 990,
            previousPriceMinor: 850,
            currency: 'EUR',
            changedAt: EARLIER,
          },
        },
      ],
    });

    placing(menu, [{ menuItemId: 'm-soup', quantity: 4 }]).thenDecidesMatching([
      { type: 'OrderPlaced', data: { items: [{ unitPriceMinor: 990 }], totalMinor: 3960 } },
    ]);
  });

  it('takes the order currency from the menu items', () => {
    const menu = menuOf(openRestaurant(), { 'm-tea': [menuItemAdded('m-tea', { priceMinor: 300, currency: 'GBP' })] });

    placing(menu, [{ menuItemId: 'm-tea', quantity: 1 }]).thenDecidesMatching([
      { type: 'OrderPlaced', data: { currency: 'GBP' } },
    ]);
  });

  it('evolves a placed order into a PENDING, unaccepted, unpaid order carrying its total', () => {
    placing(standardMenu(), [{ menuItemId: 'm-quenelle', quantity: 2 }])
      .thenDecidesMatching([{ type: 'OrderPlaced' }])
      .thenState({
        status: 'PENDING',
        orderId: ORDER_ID,
        restaurantId: RESTAURANT_ID,
        customerId: 'c-1',
        totalMinor: 3300,
        currency: 'EUR',
        accepted: false,
        paymentId: null,
      });
  });

  it('accepts the quantity bounds 1 and 50', () => {
    placing(standardMenu(), [
      { menuItemId: 'm-soup', quantity: 1 },
      { menuItemId: 'm-quenelle', quantity: 50 },
    ]).thenDecidesMatching([{ type: 'OrderPlaced', data: { totalMinor: 850 + 50 * 1650 } }]);
  });

  it.each([0, 51, 1.5, -1, Number.NaN])('refuses quantity %s with INVALID_QUANTITY', (quantity) => {
    placing(standardMenu(), [{ menuItemId: 'm-soup', quantity }]).thenRefuses('invalid', 'INVALID_QUANTITY');
  });

  it('names the offending line of a refused order by its index', () => {
    placing(standardMenu(), [
      { menuItemId: 'm-soup', quantity: 1 },
      { menuItemId: 'm-quenelle', quantity: 51 },
    ])
      .thenRefuses('invalid', 'INVALID_QUANTITY')
      .withDetailsMatching({ index: 1, menuItemId: 'm-quenelle', quantity: 51 });
  });

  it('refuses an order without items with ORDER_EMPTY', () => {
    placing(standardMenu(), []).thenRefuses('invalid', 'ORDER_EMPTY');
  });

  it(`accepts ${MAX_LINES} lines and refuses ${MAX_LINES + 1} with ORDER_TOO_LARGE`, () => {
    const lines = (n: number) => Array.from({ length: n }, () => ({ menuItemId: 'm-soup', quantity: 1 }));

    placing(standardMenu(), lines(MAX_LINES)).thenDecidesMatching([{ type: 'OrderPlaced' }]);
    placing(standardMenu(), lines(MAX_LINES + 1)).thenRefuses('invalid', 'ORDER_TOO_LARGE');
  });

  it('refuses an item missing from the menu snapshot with MENU_ITEM_NOT_FOUND', () => {
    placing(standardMenu(), [{ menuItemId: 'm-ghost', quantity: 1 }])
      .thenRefuses('not_found', 'MENU_ITEM_NOT_FOUND')
      .withDetailsMatching({ menuItemId: 'm-ghost', index: 0 });
  });

  it('refuses an item whose stream is empty (never added) with MENU_ITEM_NOT_FOUND', () => {
    const menu = menuOf(openRestaurant(), { 'm-ghost': [] });

    placing(menu, [{ menuItemId: 'm-ghost', quantity: 1 }]).thenRefuses('not_found', 'MENU_ITEM_NOT_FOUND');
  });

  it('refuses a removed item with MENU_ITEM_NOT_FOUND', () => {
    const menu = menuOf(openRestaurant(), {
      'm-soup': [
        soup(),
        { type: 'MenuItemRemoved', data: { menuItemId: 'm-soup', restaurantId: RESTAURANT_ID, removedAt: EARLIER } },
      ],
    });

    placing(menu, [{ menuItemId: 'm-soup', quantity: 1 }]).thenRefuses('not_found', 'MENU_ITEM_NOT_FOUND');
  });

  it('refuses an unavailable item with MENU_ITEM_UNAVAILABLE', () => {
    const menu = menuOf(openRestaurant(), {
      'm-soup': [
        soup(),
        {
          type: 'MenuItemAvailabilityChanged',
          data: { menuItemId: 'm-soup', restaurantId: RESTAURANT_ID, available: false, changedAt: EARLIER },
        },
      ],
    });

    placing(menu, [{ menuItemId: 'm-soup', quantity: 1 }]).thenRefuses('conflict', 'MENU_ITEM_UNAVAILABLE');
  });

  it('refuses an item of another restaurant with MENU_ITEM_WRONG_RESTAURANT', () => {
    const menu = menuOf(openRestaurant(), {
      'm-soup': [soup()],
      'm-sushi': [menuItemAdded('m-sushi', { restaurantId: OTHER_RESTAURANT_ID })],
    });

    placing(menu, [
      { menuItemId: 'm-soup', quantity: 1 },
      { menuItemId: 'm-sushi', quantity: 1 },
    ])
      .thenRefuses('invalid', 'MENU_ITEM_WRONG_RESTAURANT')
      .withDetailsMatching({ index: 1, menuItemId: 'm-sushi' });
  });

  it('refuses items priced in different currencies with MIXED_CURRENCIES', () => {
    const menu = menuOf(openRestaurant(), {
      'm-soup': [soup()],
      'm-tea': [menuItemAdded('m-tea', { currency: 'GBP' })],
    });

    placing(menu, [
      { menuItemId: 'm-soup', quantity: 1 },
      { menuItemId: 'm-tea', quantity: 1 },
    ]).thenRefuses('invalid', 'MIXED_CURRENCIES');
  });

  it('refuses an order at a registered but closed restaurant with RESTAURANT_CLOSED', () => {
    const menu = menuOf(restaurantFrom([restaurantRegistered()]), { 'm-soup': [soup()] });

    placing(menu, [{ menuItemId: 'm-soup', quantity: 1 }]).thenRefuses('conflict', 'RESTAURANT_CLOSED');
  });

  it('refuses an order at a restaurant that opened and then closed with RESTAURANT_CLOSED', () => {
    const restaurant = restaurantFrom([restaurantRegistered(), restaurantOpened(), restaurantClosed()]);
    const menu = menuOf(restaurant, { 'm-soup': [soup()] });

    placing(menu, [{ menuItemId: 'm-soup', quantity: 1 }]).thenRefuses('conflict', 'RESTAURANT_CLOSED');
  });

  it('refuses an order at an unknown restaurant with RESTAURANT_NOT_FOUND', () => {
    const menu = menuOf(restaurantFrom([]), { 'm-soup': [soup()] });

    placing(menu, [{ menuItemId: 'm-soup', quantity: 1 }])
      .thenRefuses('not_found', 'RESTAURANT_NOT_FOUND')
      .withDetails({ restaurantId: RESTAURANT_ID });
  });

  it('refuses to place an order id that already exists with ORDER_EXISTS', () => {
    given(orderDecider, [placed])
      .when(placeOrder([{ menuItemId: 'm-soup', quantity: 1 }]), { now: NOW, menu: standardMenu() })
      .thenRefuses('conflict', 'ORDER_EXISTS');
  });

  it('fails loudly (not as a domain refusal) when the handler forgot the menu snapshot', () => {
    const act = () =>
      orderDecider.decide(placeOrder([{ menuItemId: 'm-soup', quantity: 1 }]), orderDecider.initialState(), {
        now: NOW,
      });

    expect(act).toThrow('menu snapshot');
    expect(act).not.toThrow(DomainError);
  });
});

describe('Order decider — lifecycle', () => {
  it('walks PENDING → CONFIRMED → accepted → PREPARING → READY → PICKED_UP → DELIVERED, one event per step', () => {
    const steps: [OrderCommand, OrderEvent, OrderStatus][] = [
      [
        confirm,
        { type: 'OrderConfirmed', data: { orderId: ORDER_ID, paymentId: 'p-1', confirmedAt: AT } },
        'CONFIRMED',
      ],
      [accept, { type: 'OrderAccepted', data: { orderId: ORDER_ID, acceptedAt: AT } }, 'CONFIRMED'],
      [markPreparing, { type: 'OrderPreparationStarted', data: { orderId: ORDER_ID, startedAt: AT } }, 'PREPARING'],
      [markReady, { type: 'OrderReadyForPickup', data: { orderId: ORDER_ID, readyAt: AT } }, 'READY'],
      [
        markPickedUp,
        { type: 'OrderPickedUp', data: { orderId: ORDER_ID, courierId: 'courier-7', pickedUpAt: AT } },
        'PICKED_UP',
      ],
      [markDelivered, { type: 'OrderDelivered', data: { orderId: ORDER_ID, deliveredAt: AT } }, 'DELIVERED'],
    ];
    let order = placing(standardMenu(), [{ menuItemId: 'm-soup', quantity: 2 }])
      .thenDecidesMatching([{ type: 'OrderPlaced' }])
      .thenStateMatches({ status: 'PENDING' });

    for (const [command, expected, status] of steps) {
      order = order.when(command, { now: NOW }).thenDecides([expected]).thenStateMatches({ status });
    }
    order.thenStateMatches({ status: 'DELIVERED', accepted: true, paymentId: 'p-1', totalMinor: 1700 });
  });

  it('records the payment id on confirmation', () => {
    given(orderDecider, [placed, confirmed]).thenStateMatches({ status: 'CONFIRMED', paymentId: 'p-1' });
  });

  it('lets the restaurant accept a PENDING order before the payment is confirmed', () => {
    given(orderDecider, [placed])
      .when(accept, { now: NOW })
      .thenDecides([{ type: 'OrderAccepted', data: { orderId: ORDER_ID, acceptedAt: AT } }])
      .thenStateMatches({ status: 'PENDING', accepted: true });
  });

  it('starts preparation of an order accepted before confirmation once it is confirmed', () => {
    given(orderDecider, [placed, accepted, confirmed])
      .when(markPreparing, { now: NOW })
      .thenDecides([{ type: 'OrderPreparationStarted', data: { orderId: ORDER_ID, startedAt: AT } }]);
  });

  it('refuses to prepare a confirmed order the restaurant has not accepted with ORDER_NOT_ACCEPTED', () => {
    given(orderDecider, [placed, confirmed])
      .when(markPreparing, { now: NOW })
      .thenRefuses('conflict', 'ORDER_NOT_ACCEPTED');
  });

  it('refuses to prepare an accepted order whose payment is not confirmed with ORDER_INVALID_TRANSITION', () => {
    given(orderDecider, [placed, accepted])
      .when(markPreparing, { now: NOW })
      .thenRefuses('conflict', 'ORDER_INVALID_TRANSITION')
      .withDetailsMatching({ status: 'PENDING', requested: 'PREPARING' });
  });

  it('records a pick-up without a courier as courierId null', () => {
    const command: OrderCommand = { type: 'MarkOrderPickedUp', data: { orderId: ORDER_ID } };

    given(orderDecider, history.READY)
      .when(command, { now: NOW })
      .thenDecides([{ type: 'OrderPickedUp', data: { orderId: ORDER_ID, courierId: null, pickedUpAt: AT } }]);
  });

  it.each<[OrderStatus]>([['PENDING'], ['CONFIRMED']])('rejects a %s order with OrderRejected', (status) => {
    given(orderDecider, history[status])
      .when(reject, { now: NOW })
      .thenDecides([{ type: 'OrderRejected', data: { orderId: ORDER_ID, reason: 'card declined', rejectedAt: AT } }])
      .thenStateMatches({ status: 'REJECTED' });
  });

  it.each<[string, OrderStatus, OrderCommand]>([
    ['confirming', 'PREPARING', confirm],
    ['confirming', 'CANCELLED', confirm],
    ['confirming', 'REJECTED', confirm],
    ['rejecting', 'PREPARING', reject],
    ['rejecting', 'DELIVERED', reject],
    ['rejecting', 'CANCELLED', reject],
    ['preparing', 'PENDING', markPreparing],
    ['preparing', 'READY', markPreparing],
    ['preparing', 'CANCELLED', markPreparing],
    ['marking ready', 'PENDING', markReady],
    ['marking ready', 'CONFIRMED', markReady],
    ['marking ready', 'PICKED_UP', markReady],
    ['picking up', 'CONFIRMED', markPickedUp],
    ['picking up', 'PREPARING', markPickedUp],
    ['picking up', 'CANCELLED', markPickedUp],
    ['delivering', 'PENDING', markDelivered],
    ['delivering', 'READY', markDelivered],
    ['delivering', 'REJECTED', markDelivered],
    ['accepting', 'CANCELLED', accept],
    ['accepting', 'REJECTED', accept],
  ])('refuses %s a %s order with ORDER_INVALID_TRANSITION', (_verb, status, command) => {
    given(orderDecider, history[status])
      .when(command, { now: NOW })
      .thenRefuses('conflict', 'ORDER_INVALID_TRANSITION');
  });

  it.each<[string, OrderCommand, readonly OrderEvent[]]>([
    ['confirming a CONFIRMED order', confirm, history.CONFIRMED],
    [
      'confirming a CONFIRMED order with another payment id',
      { ...confirm, data: { orderId: ORDER_ID, paymentId: 'p-2' } },
      history.CONFIRMED,
    ],
    ['accepting an accepted order', accept, [placed, confirmed, accepted]],
    ['accepting an order already in preparation', accept, history.PREPARING],
    ['accepting a delivered order', accept, history.DELIVERED],
    ['preparing a PREPARING order', markPreparing, history.PREPARING],
    ['marking a READY order ready', markReady, history.READY],
    ['picking up a PICKED_UP order', markPickedUp, history.PICKED_UP],
    ['delivering a DELIVERED order', markDelivered, history.DELIVERED],
    ['rejecting a REJECTED order', reject, history.REJECTED],
  ])('appends nothing when %s again', (_case, command, events) => {
    given(orderDecider, events).when(command, { now: NOW }).thenNothing();
  });
});

describe('Order decider — cancellation', () => {
  it.each<[OrderStatus]>([['PENDING'], ['CONFIRMED'], ['PREPARING'], ['READY']])(
    'cancels a %s order, recording who, why and the status it left',
    (status) => {
      given(orderDecider, history[status])
        .when(cancel, { now: NOW })
        .thenDecides([
          {
            type: 'OrderCancelled',
            data: {
              orderId: ORDER_ID,
              reason: 'too slow',
              cancelledBy: 'c-1',
              previousStatus: status,
              cancelledAt: AT,
            },
          },
        ]);
    },
  );

  it('evolves a cancellation into CANCELLED', () => {
    given(orderDecider, history.READY)
      .when(cancel, { now: NOW })
      .thenDecidesMatching([{ type: 'OrderCancelled' }])
      .thenStateMatches({ status: 'CANCELLED' });
  });

  it.each<[OrderStatus]>([['PICKED_UP'], ['DELIVERED'], ['REJECTED']])(
    'refuses to cancel a %s order with ORDER_NOT_CANCELLABLE',
    (status) => {
      given(orderDecider, history[status])
        .when(cancel, { now: NOW })
        .thenRefuses('conflict', 'ORDER_NOT_CANCELLABLE')
        .withDetailsMatching({ orderId: ORDER_ID, status });
    },
  );

  it('appends nothing when cancelling an already cancelled order', () => {
    given(orderDecider, history.CANCELLED).when(cancel, { now: NOW }).thenNothing();
  });
});

describe('Order decider — missing order', () => {
  it.each<[OrderCommand]>([
    [confirm],
    [reject],
    [accept],
    [markPreparing],
    [markReady],
    [markPickedUp],
    [markDelivered],
    [cancel],
  ])('refuses $type on an order that does not exist with ORDER_NOT_FOUND', (command) => {
    given(orderDecider)
      .when(command, { now: NOW })
      .thenRefuses('not_found', 'ORDER_NOT_FOUND')
      .withDetails({ orderId: ORDER_ID });
  });
});

describe('Order evolve', () => {
  it.each(Object.entries(history))('folds the history of a %s order into that status', (status, events) => {
    given(orderDecider, events).thenStateMatches({ status: status as OrderStatus });
  });

  it('ignores lifecycle events that arrive before OrderPlaced', () => {
    given(orderDecider, [confirmed, accepted, preparing, cancelled]).thenState({ status: 'none' });
  });

  it('marks an order accepted when preparation starts, even without a separate OrderAccepted', () => {
    given(orderDecider, [placed, confirmed, preparing]).thenStateMatches({ status: 'PREPARING', accepted: true });
  });
});
