import type { Aggregate } from '../executor.js';
import { evolveMenuItem, initialMenuItem, type MenuItem, type MenuItemEvent } from './menu-item.js';
import { evolveOrder, initialOrder, type Order, type OrderEvent } from './order.js';
import { evolvePayment, initialPayment, type Payment, type PaymentEvent } from './payment.js';
import { evolveRestaurant, initialRestaurant, type Restaurant, type RestaurantEvent } from './restaurant.js';

export const restaurants: Aggregate<Restaurant, RestaurantEvent> = {
  streamType: 'ordering.restaurant',
  streamId: (id) => `restaurant-${id}`,
  initialState: initialRestaurant,
  evolve: evolveRestaurant,
};

export const menuItems: Aggregate<MenuItem, MenuItemEvent> = {
  streamType: 'ordering.menu-item',
  streamId: (id) => `menu-item-${id}`,
  initialState: initialMenuItem,
  evolve: evolveMenuItem,
};

export const orders: Aggregate<Order, OrderEvent> = {
  streamType: 'ordering.order',
  streamId: (id) => `order-${id}`,
  initialState: initialOrder,
  evolve: evolveOrder,
};

export const payments: Aggregate<Payment, PaymentEvent> = {
  streamType: 'ordering.payment',
  streamId: (id) => `payment-${id}`,
  initialState: initialPayment,
  evolve: evolvePayment,
};
