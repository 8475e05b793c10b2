import type { Address, OrderEvent, OrderLine, PaymentMethod } from '../../schemas/ordering/events.js';
import { ORDER_STATUSES, type OrderStatus } from '../../schemas/ordering/vocabulary.js';
import { type DecideContext, type Decider, DomainError, type Existing, type NoStream, noStream } from '../decider.js';
import type { ListedMenuItem, MenuItem } from './menu-item.js';
import type { Restaurant } from './restaurant.js';

// The events are the contract's (generated from schemas/ordering/*.avsc); the commands and the state are ours.
export type { OrderEvent, OrderLine, PaymentMethod };
export { ORDER_STATUSES, type OrderStatus };

export const MIN_QUANTITY = 1;
export const MAX_QUANTITY = 50;
export const MAX_LINES = 100;

export type OrderCommand =
  | {
      type: 'PlaceOrder';
      data: {
        orderId: string;
        restaurantId: string;
        customerId: string;
        items: { menuItemId: string; quantity: number }[];
        deliveryAddress: Address;
        paymentMethod: PaymentMethod;
      };
    }
  | { type: 'ConfirmOrder'; data: { orderId: string; paymentId: string } }
  | { type: 'RejectOrder'; data: { orderId: string; reason: string } }
  | { type: 'AcceptOrder'; data: { orderId: string } }
  | { type: 'MarkOrderPreparing'; data: { orderId: string } }
  | { type: 'MarkOrderReady'; data: { orderId: string } }
  | { type: 'MarkOrderPickedUp'; data: { orderId: string; courierId?: string | null } }
  | { type: 'MarkOrderDelivered'; data: { orderId: string } }
  | {
      type: 'CancelOrder';
      /** `afterDelivery`: an admin's refund policy may cancel a delivered order (the saga then refunds it). */
      data: { orderId: string; reason: string; cancelledBy: string; afterDelivery?: boolean };
    };

export type Order =
  | NoStream
  | {
      readonly status: OrderStatus;
      readonly orderId: string;
      readonly restaurantId: string;
      readonly customerId: string;
      readonly totalMinor: number;
      readonly currency: string;
      readonly accepted: boolean;
      readonly paymentId: string | null;
    };

export type ExistingOrder = Existing<Order>;

/** What PlaceOrder checks the items against: the restaurant and each ordered item's current state. */
export interface MenuSnapshot {
  readonly restaurant: Restaurant;
  readonly items: ReadonlyMap<string, MenuItem>;
}

export const initialOrder: () => Order = noStream;

/** What an order decision gets from outside: the menu as of now, loaded by the handler for PlaceOrder. */
export interface OrderContext extends DecideContext {
  readonly menu?: MenuSnapshot;
}

/** Where an order may be cancelled from: before the courier has it. */
export const CANCELLABLE: readonly OrderStatus[] = ['PENDING', 'CONFIRMED', 'PREPARING', 'READY'];

const mustExist = (state: Order, orderId: string): ExistingOrder => {
  if (state.status === 'none')
    throw new DomainError('not_found', 'ORDER_NOT_FOUND', `order ${orderId} does not exist`, { orderId });
  return state;
};

/** A lifecycle step: allowed only from `from`; a repeat of the step already taken is a no-op. */
const step = (
  state: Order,
  orderId: string,
  from: readonly OrderStatus[],
  to: OrderStatus,
  event: OrderEvent,
): OrderEvent[] => {
  const order = mustExist(state, orderId);
  if (order.status === to) return [];
  if (!from.includes(order.status)) {
    throw new DomainError(
      'conflict',
      'ORDER_INVALID_TRANSITION',
      `order ${orderId} is ${order.status}; cannot become ${to}`,
      {
        orderId,
        status: order.status,
        requested: to,
      },
    );
  }
  return [event];
};

function placeOrder(
  command: Extract<OrderCommand, { type: 'PlaceOrder' }>,
  state: Order,
  menu: MenuSnapshot,
  at: string,
): OrderEvent[] {
  const { orderId, restaurantId, items } = command.data;
  if (state.status !== 'none')
    throw new DomainError('conflict', 'ORDER_EXISTS', `order ${orderId} already exists`, { orderId });
  if (menu.restaurant.status === 'none') {
    throw new DomainError('not_found', 'RESTAURANT_NOT_FOUND', `restaurant ${restaurantId} does not exist`, {
      restaurantId,
    });
  }
  if (menu.restaurant.status !== 'open') {
    throw new DomainError('conflict', 'RESTAURANT_CLOSED', `restaurant ${restaurantId} is not taking orders`, {
      restaurantId,
    });
  }
  if (items.length === 0) throw new DomainError('invalid', 'ORDER_EMPTY', 'an order needs at least one item');
  if (items.length > MAX_LINES)
    throw new DomainError('invalid', 'ORDER_TOO_LARGE', `an order has at most ${MAX_LINES} lines`);
  const lines: OrderLine[] = [];
  let currency: string | null = null;
  for (const [index, { menuItemId, quantity }] of items.entries()) {
    if (!Number.isInteger(quantity) || quantity < MIN_QUANTITY || quantity > MAX_QUANTITY) {
      throw new DomainError('invalid', 'INVALID_QUANTITY', `quantity must be ${MIN_QUANTITY}..${MAX_QUANTITY}`, {
        index,
        menuItemId,
        quantity,
      });
    }
    const item = menu.items.get(menuItemId);
    if (item?.status !== 'listed') {
      throw new DomainError('not_found', 'MENU_ITEM_NOT_FOUND', `menu item ${menuItemId} does not exist`, {
        index,
        menuItemId,
      });
    }
    const listed: ListedMenuItem = item;
    if (listed.restaurantId !== restaurantId) {
      throw new DomainError(
        'invalid',
        'MENU_ITEM_WRONG_RESTAURANT',
        `menu item ${menuItemId} is not on this restaurant's menu`,
        {
          index,
          menuItemId,
        },
      );
    }
    if (!listed.available) {
      throw new DomainError('conflict', 'MENU_ITEM_UNAVAILABLE', `menu item ${menuItemId} is not available`, {
        index,
        menuItemId,
      });
    }
    if (currency !== null && currency !== listed.currency) {
      throw new DomainError('invalid', 'MIXED_CURRENCIES', 'all items of an order must share a currency', {
        index,
        menuItemId,
      });
    }
    currency = listed.currency;
    lines.push({ menuItemId, name: listed.name, quantity, unitPriceMinor: listed.priceMinor });
  }
  const totalMinor = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceMinor, 0);
  return [
    {
      type: 'OrderPlaced',
      data: {
        ...command.data,
        items: lines,
        totalMinor,
        currency: currency ?? 'EUR',
        placedAt: at,
      },
    },
  ];
}

export function decideOrder(command: OrderCommand, state: Order, context: OrderContext): OrderEvent[] {
  const at = context.now.toISOString();
  const { orderId } = command.data;
  switch (command.type) {
    case 'PlaceOrder':
      if (!context.menu) throw new Error('PlaceOrder needs the menu snapshot');
      return placeOrder(command, state, context.menu, at);
    case 'ConfirmOrder':
      return step(state, orderId, ['PENDING'], 'CONFIRMED', {
        type: 'OrderConfirmed',
        data: { orderId, paymentId: command.data.paymentId, confirmedAt: at },
      });
    case 'RejectOrder':
      return step(state, orderId, ['PENDING', 'CONFIRMED'], 'REJECTED', {
        type: 'OrderRejected',
        data: { orderId, reason: command.data.reason, rejectedAt: at },
      });
    case 'AcceptOrder': {
      const order = mustExist(state, orderId);
      if (order.accepted) return [];
      if (order.status !== 'PENDING' && order.status !== 'CONFIRMED') {
        throw new DomainError(
          'conflict',
          'ORDER_INVALID_TRANSITION',
          `order ${orderId} is ${order.status}; cannot be accepted`,
          {
            orderId,
            status: order.status,
          },
        );
      }
      return [{ type: 'OrderAccepted', data: { orderId, acceptedAt: at } }];
    }
    case 'MarkOrderPreparing': {
      const order = mustExist(state, orderId);
      if (order.status === 'CONFIRMED' && !order.accepted) {
        throw new DomainError(
          'conflict',
          'ORDER_NOT_ACCEPTED',
          `order ${orderId} must be accepted before preparation`,
          {
            orderId,
          },
        );
      }
      return step(state, orderId, ['CONFIRMED'], 'PREPARING', {
        type: 'OrderPreparationStarted',
        data: { orderId, startedAt: at },
      });
    }
    case 'MarkOrderReady':
      return step(state, orderId, ['PREPARING'], 'READY', {
        type: 'OrderReadyForPickup',
        data: { orderId, readyAt: at },
      });
    case 'MarkOrderPickedUp':
      return step(state, orderId, ['READY'], 'PICKED_UP', {
        type: 'OrderPickedUp',
        data: { orderId, courierId: command.data.courierId ?? null, pickedUpAt: at },
      });
    case 'MarkOrderDelivered':
      return step(state, orderId, ['PICKED_UP'], 'DELIVERED', {
        type: 'OrderDelivered',
        data: { orderId, deliveredAt: at },
      });
    case 'CancelOrder': {
      const order = mustExist(state, orderId);
      if (order.status === 'CANCELLED') return [];
      const refundable = order.status === 'DELIVERED' && command.data.afterDelivery === true;
      if (!CANCELLABLE.includes(order.status) && !refundable) {
        throw new DomainError(
          'conflict',
          'ORDER_NOT_CANCELLABLE',
          `order ${orderId} is ${order.status} and can no longer be cancelled`,
          {
            orderId,
            status: order.status,
          },
        );
      }
      return [
        {
          type: 'OrderCancelled',
          data: {
            orderId,
            reason: command.data.reason,
            cancelledBy: command.data.cancelledBy,
            previousStatus: order.status,
            cancelledAt: at,
          },
        },
      ];
    }
  }
}

export function evolveOrder(state: Order, event: OrderEvent): Order {
  if (event.type === 'OrderPlaced') {
    const { orderId, restaurantId, customerId, totalMinor, currency } = event.data;
    return {
      status: 'PENDING',
      orderId,
      restaurantId,
      customerId,
      totalMinor,
      currency,
      accepted: false,
      paymentId: null,
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'OrderConfirmed':
      return { ...state, status: 'CONFIRMED', paymentId: event.data.paymentId };
    case 'OrderRejected':
      return { ...state, status: 'REJECTED' };
    case 'OrderAccepted':
      return { ...state, accepted: true };
    case 'OrderPreparationStarted':
      return { ...state, status: 'PREPARING', accepted: true };
    case 'OrderReadyForPickup':
      return { ...state, status: 'READY' };
    case 'OrderPickedUp':
      return { ...state, status: 'PICKED_UP' };
    case 'OrderDelivered':
      return { ...state, status: 'DELIVERED' };
    case 'OrderCancelled':
      return { ...state, status: 'CANCELLED' };
  }
}

export const orderDecider: Decider<OrderCommand, OrderEvent, Order, OrderContext> = {
  decide: decideOrder,
  evolve: evolveOrder,
  initialState: initialOrder,
};
