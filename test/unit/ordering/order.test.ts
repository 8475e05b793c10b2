import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../commands/decider.js';
import type { MenuItemEvent } from '../../../commands/ordering/menu-item.js';
import {
  decideOrder,
  evolveOrder,
  initialOrder,
  MAX_LINES,
  type MenuSnapshot,
  type Order,
  type OrderCommand,
  type OrderEvent,
  type OrderStatus,
} from '../../../commands/ordering/order.js';
import {
  AT,
  address,
  EARLIER,
  fold,
  menuItemAdded,
  menuOf,
  NOW,
  OTHER_RESTAURANT_ID,
  openRestaurant,
  RESTAURANT_ID,
  refusal,
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

const given = (events: readonly OrderEvent[]): Order => fold(initialOrder, evolveOrder, events);
const when = (command: OrderCommand, events: readonly OrderEvent[], menu?: MenuSnapshot): OrderEvent[] =>
  decideOrder(command, given(events), menu ? { now: NOW, menu } : { now: NOW });
const placeWith = (menu: MenuSnapshot, items: { menuItemId: string; quantity: number }[]): OrderEvent[] =>
  decideOrder(placeOrder(items), initialOrder(), { now: NOW, menu });

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
    const events = placeWith(standardMenu(), [
      { menuItemId: 'm-soup', quantity: 2 },
      { menuItemId: 'm-quenelle', quantity: 3 },
    ]);

    expect(events).toEqual([
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

    const [event] = placeWith(menu, [{ menuItemId: 'm-soup', quantity: 4 }]);

    expect(event?.type === 'OrderPlaced' && event.data.items[0]?.unitPriceMinor).toBe(990);
    expect(event?.type === 'OrderPlaced' && event.data.totalMinor).toBe(3960);
  });

  it('takes the order currency from the menu items', () => {
    const menu = menuOf(openRestaurant(), { 'm-tea': [menuItemAdded('m-tea', { priceMinor: 300, currency: 'GBP' })] });

    const [event] = placeWith(menu, [{ menuItemId: 'm-tea', quantity: 1 }]);

    expect(event?.type === 'OrderPlaced' && event.data.currency).toBe('GBP');
  });

  it('evolves a placed order into a PENDING, unaccepted, unpaid order carrying its total', () => {
    const events = placeWith(standardMenu(), [{ menuItemId: 'm-quenelle', quantity: 2 }]);

    expect(given(events)).toEqual({
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
    const [event] = placeWith(standardMenu(), [
      { menuItemId: 'm-soup', quantity: 1 },
      { menuItemId: 'm-quenelle', quantity: 50 },
    ]);

    expect(event?.type === 'OrderPlaced' && event.data.totalMinor).toBe(850 + 50 * 1650);
  });

  it.each([0, 51, 1.5, -1, Number.NaN])('refuses quantity %s with INVALID_QUANTITY', (quantity) => {
    const error = refusal(() => placeWith(standardMenu(), [{ menuItemId: 'm-soup', quantity }]));

    expect(error.code).toBe('INVALID_QUANTITY');
  });

  it('names the offending line of a refused order by its index', () => {
    const error = refusal(() =>
      placeWith(standardMenu(), [
        { menuItemId: 'm-soup', quantity: 1 },
        { menuItemId: 'm-quenelle', quantity: 51 },
      ]),
    );

    expect(error.code).toBe('INVALID_QUANTITY');
    expect(error.details).toMatchObject({ index: 1, menuItemId: 'm-quenelle', quantity: 51 });
  });

  it('refuses an order without items with ORDER_EMPTY', () => {
    expect(refusal(() => placeWith(standardMenu(), [])).code).toBe('ORDER_EMPTY');
  });

  it(`accepts ${MAX_LINES} lines and refuses ${MAX_LINES + 1} with ORDER_TOO_LARGE`, () => {
    const lines = (n: number) => Array.from({ length: n }, () => ({ menuItemId: 'm-soup', quantity: 1 }));

    expect(placeWith(standardMenu(), lines(MAX_LINES))).toHaveLength(1);
    expect(refusal(() => placeWith(standardMenu(), lines(MAX_LINES + 1))).code).toBe('ORDER_TOO_LARGE');
  });

  it('refuses an item missing from the menu snapshot with MENU_ITEM_NOT_FOUND', () => {
    const error = refusal(() => placeWith(standardMenu(), [{ menuItemId: 'm-ghost', quantity: 1 }]));

    expect(error.code).toBe('MENU_ITEM_NOT_FOUND');
    expect(error.details).toMatchObject({ menuItemId: 'm-ghost', index: 0 });
  });

  it('refuses an item whose stream is empty (never added) with MENU_ITEM_NOT_FOUND', () => {
    const menu = menuOf(openRestaurant(), { 'm-ghost': [] });

    expect(refusal(() => placeWith(menu, [{ menuItemId: 'm-ghost', quantity: 1 }])).code).toBe('MENU_ITEM_NOT_FOUND');
  });

  it('refuses a removed item with MENU_ITEM_NOT_FOUND', () => {
    const menu = menuOf(openRestaurant(), {
      'm-soup': [
        soup(),
        { type: 'MenuItemRemoved', data: { menuItemId: 'm-soup', restaurantId: RESTAURANT_ID, removedAt: EARLIER } },
      ],
    });

    expect(refusal(() => placeWith(menu, [{ menuItemId: 'm-soup', quantity: 1 }])).code).toBe('MENU_ITEM_NOT_FOUND');
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

    expect(refusal(() => placeWith(menu, [{ menuItemId: 'm-soup', quantity: 1 }])).code).toBe('MENU_ITEM_UNAVAILABLE');
  });

  it('refuses an item of another restaurant with MENU_ITEM_WRONG_RESTAURANT', () => {
    const menu = menuOf(openRestaurant(), {
      'm-soup': [soup()],
      'm-sushi': [menuItemAdded('m-sushi', { restaurantId: OTHER_RESTAURANT_ID })],
    });

    const error = refusal(() =>
      placeWith(menu, [
        { menuItemId: 'm-soup', quantity: 1 },
        { menuItemId: 'm-sushi', quantity: 1 },
      ]),
    );

    expect(error.code).toBe('MENU_ITEM_WRONG_RESTAURANT');
    expect(error.details).toMatchObject({ index: 1, menuItemId: 'm-sushi' });
  });

  it('refuses items priced in different currencies with MIXED_CURRENCIES', () => {
    const menu = menuOf(openRestaurant(), {
      'm-soup': [soup()],
      'm-tea': [menuItemAdded('m-tea', { currency: 'GBP' })],
    });

    const error = refusal(() =>
      placeWith(menu, [
        { menuItemId: 'm-soup', quantity: 1 },
        { menuItemId: 'm-tea', quantity: 1 },
      ]),
    );

    expect(error.code).toBe('MIXED_CURRENCIES');
  });

  it('refuses an order at a registered but closed restaurant with RESTAURANT_CLOSED', () => {
    const menu = menuOf(restaurantFrom([restaurantRegistered()]), { 'm-soup': [soup()] });

    expect(refusal(() => placeWith(menu, [{ menuItemId: 'm-soup', quantity: 1 }])).code).toBe('RESTAURANT_CLOSED');
  });

  it('refuses an order at a restaurant that opened and then closed with RESTAURANT_CLOSED', () => {
    const restaurant = restaurantFrom([restaurantRegistered(), restaurantOpened(), restaurantClosed()]);
    const menu = menuOf(restaurant, { 'm-soup': [soup()] });

    expect(refusal(() => placeWith(menu, [{ menuItemId: 'm-soup', quantity: 1 }])).code).toBe('RESTAURANT_CLOSED');
  });

  it('refuses an order at an unknown restaurant with RESTAURANT_NOT_FOUND', () => {
    const menu = menuOf(restaurantFrom([]), { 'm-soup': [soup()] });

    const error = refusal(() => placeWith(menu, [{ menuItemId: 'm-soup', quantity: 1 }]));

    expect(error.code).toBe('RESTAURANT_NOT_FOUND');
    expect(error.details).toEqual({ restaurantId: RESTAURANT_ID });
  });

  it('refuses to place an order id that already exists with ORDER_EXISTS', () => {
    const error = refusal(() => when(placeOrder([{ menuItemId: 'm-soup', quantity: 1 }]), [placed], standardMenu()));

    expect(error.code).toBe('ORDER_EXISTS');
  });

  it('fails loudly (not as a domain refusal) when the handler forgot the menu snapshot', () => {
    const act = () => when(placeOrder([{ menuItemId: 'm-soup', quantity: 1 }]), []);

    expect(act).toThrow('menu snapshot');
    expect(act).not.toThrow(DomainError);
  });
});

describe('Order decider — lifecycle', () => {
  it('walks PENDING → CONFIRMED → accepted → PREPARING → READY → PICKED_UP → DELIVERED, one event per step', () => {
    const steps: [OrderCommand, OrderEvent, Order['status']][] = [
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
    const stream: OrderEvent[] = [...placeWith(standardMenu(), [{ menuItemId: 'm-soup', quantity: 2 }])];
    expect(given(stream).status).toBe('PENDING');

    for (const [command, expected, status] of steps) {
      const events = when(command, stream);
      expect(events).toEqual([expected]);
      stream.push(...events);
      expect(given(stream).status).toBe(status);
    }
    expect(given(stream)).toMatchObject({ status: 'DELIVERED', accepted: true, paymentId: 'p-1', totalMinor: 1700 });
  });

  it('records the payment id on confirmation', () => {
    expect(given([placed, confirmed])).toMatchObject({ status: 'CONFIRMED', paymentId: 'p-1' });
  });

  it('lets the restaurant accept a PENDING order before the payment is confirmed', () => {
    expect(when(accept, [placed])).toEqual([{ type: 'OrderAccepted', data: { orderId: ORDER_ID, acceptedAt: AT } }]);
    expect(given([placed, accepted])).toMatchObject({ status: 'PENDING', accepted: true });
  });

  it('starts preparation of an order accepted before confirmation once it is confirmed', () => {
    expect(when(markPreparing, [placed, accepted, confirmed])).toEqual([
      { type: 'OrderPreparationStarted', data: { orderId: ORDER_ID, startedAt: AT } },
    ]);
  });

  it('refuses to prepare a confirmed order the restaurant has not accepted with ORDER_NOT_ACCEPTED', () => {
    const error = refusal(() => when(markPreparing, [placed, confirmed]));

    expect(error.code).toBe('ORDER_NOT_ACCEPTED');
  });

  it('refuses to prepare an accepted order whose payment is not confirmed with ORDER_INVALID_TRANSITION', () => {
    const error = refusal(() => when(markPreparing, [placed, accepted]));

    expect(error.code).toBe('ORDER_INVALID_TRANSITION');
    expect(error.details).toMatchObject({ status: 'PENDING', requested: 'PREPARING' });
  });

  it('records a pick-up without a courier as courierId null', () => {
    const command: OrderCommand = { type: 'MarkOrderPickedUp', data: { orderId: ORDER_ID } };

    expect(when(command, history.READY)).toEqual([
      { type: 'OrderPickedUp', data: { orderId: ORDER_ID, courierId: null, pickedUpAt: AT } },
    ]);
  });

  it.each<[OrderStatus]>([['PENDING'], ['CONFIRMED']])('rejects a %s order with OrderRejected', (status) => {
    expect(when(reject, history[status])).toEqual([
      { type: 'OrderRejected', data: { orderId: ORDER_ID, reason: 'card declined', rejectedAt: AT } },
    ]);
    expect(given([...history[status], rejected]).status).toBe('REJECTED');
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
    expect(refusal(() => when(command, history[status])).code).toBe('ORDER_INVALID_TRANSITION');
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
    expect(when(command, events)).toEqual([]);
  });
});

describe('Order decider — cancellation', () => {
  it.each<[OrderStatus]>([['PENDING'], ['CONFIRMED'], ['PREPARING'], ['READY']])(
    'cancels a %s order, recording who, why and the status it left',
    (status) => {
      expect(when(cancel, history[status])).toEqual([
        {
          type: 'OrderCancelled',
          data: { orderId: ORDER_ID, reason: 'too slow', cancelledBy: 'c-1', previousStatus: status, cancelledAt: AT },
        },
      ]);
    },
  );

  it('evolves a cancellation into CANCELLED', () => {
    const events = [...history.READY];
    events.push(...when(cancel, events));

    expect(given(events).status).toBe('CANCELLED');
  });

  it.each<[OrderStatus]>([['PICKED_UP'], ['DELIVERED'], ['REJECTED']])(
    'refuses to cancel a %s order with ORDER_NOT_CANCELLABLE',
    (status) => {
      const error = refusal(() => when(cancel, history[status]));

      expect(error.code).toBe('ORDER_NOT_CANCELLABLE');
      expect(error.details).toMatchObject({ orderId: ORDER_ID, status });
    },
  );

  it('appends nothing when cancelling an already cancelled order', () => {
    expect(when(cancel, history.CANCELLED)).toEqual([]);
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
    const error = refusal(() => when(command, []));

    expect(error.code).toBe('ORDER_NOT_FOUND');
    expect(error.details).toEqual({ orderId: ORDER_ID });
  });
});

describe('Order evolve', () => {
  it.each(Object.entries(history))('folds the history of a %s order into that status', (status, events) => {
    expect(given(events).status).toBe(status);
  });

  it('ignores lifecycle events that arrive before OrderPlaced', () => {
    expect(given([confirmed, accepted, preparing, cancelled])).toEqual({ status: 'NONE' });
  });

  it('marks an order accepted when preparation starts, even without a separate OrderAccepted', () => {
    expect(given([placed, confirmed, preparing])).toMatchObject({ status: 'PREPARING', accepted: true });
  });
});
