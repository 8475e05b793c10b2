import { aggregateOf } from '../executor.js';
import { menuItemDecider } from './menu-item.js';
import { orderDecider } from './order.js';
import { paymentDecider } from './payment.js';
import { restaurantDecider } from './restaurant.js';

// Where each Ordering aggregate's stream is: the decider folds it, the executor loads and appends to it.

export const restaurants = aggregateOf(restaurantDecider, {
  streamType: 'ordering.restaurant',
  streamId: (id) => `restaurant-${id}`,
});

export const menuItems = aggregateOf(menuItemDecider, {
  streamType: 'ordering.menu-item',
  streamId: (id) => `menu-item-${id}`,
});

export const orders = aggregateOf(orderDecider, {
  streamType: 'ordering.order',
  streamId: (id) => `order-${id}`,
});

export const payments = aggregateOf(paymentDecider, {
  streamType: 'ordering.payment',
  streamId: (id) => `payment-${id}`,
});
