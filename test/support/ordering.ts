import { randomUUID } from 'node:crypto';
import type { CommandContext } from '../../commands/executor.js';
import type { OrderingCommands } from '../../commands/ordering/handlers.js';

export const address = { line1: '1 Main St', line2: null, city: 'Lisbon', postalCode: '1000-001', country: 'PT' };
export const ctx = (actor: string): CommandContext => ({ actor, correlationId: randomUUID() });

/** A registered, open restaurant with a few menu items; returns their ids. */
export async function seedMenu(ordering: OrderingCommands, items = 3) {
  const restaurantId = randomUUID();
  await ordering.registerRestaurant({ restaurantId, name: 'Forno', cuisine: 'italian', address }, ctx('owner'));
  await ordering.openRestaurant({ restaurantId }, ctx('owner'));
  const menuItemIds: string[] = [];
  for (let i = 0; i < items; i++) {
    const menuItemId = randomUUID();
    await ordering.addMenuItem(
      { restaurantId, menuItemId, name: `Dish ${i}`, description: 'tasty', priceMinor: 500 + 100 * i, currency: 'EUR' },
      ctx('owner'),
    );
    menuItemIds.push(menuItemId);
  }
  return { restaurantId, menuItemIds };
}

export async function placeOrder(
  ordering: OrderingCommands,
  restaurantId: string,
  menuItemIds: string[],
  customer = 'c1',
) {
  const orderId = randomUUID();
  const result = await ordering.placeOrder(
    {
      orderId,
      restaurantId,
      items: menuItemIds.map((menuItemId, i) => ({ menuItemId, quantity: 1 + i })),
      payment: { card: '4242424242424242' },
      deliveryAddress: address,
    },
    ctx(customer),
  );
  return { orderId, ...result };
}

/** The JSON body of POST /commands/ordering/place-order for one line of the menu's first item. */
export const placeOrderBody = (
  menu: { restaurantId: string; menuItemIds: readonly string[] },
  options: { quantity?: number; card?: string } = {},
) => ({
  restaurantId: menu.restaurantId,
  items: [{ menuItemId: menu.menuItemIds[0], quantity: options.quantity ?? 1 }],
  payment: { card: options.card ?? '4242424242424242' },
  deliveryAddress: { line1: '1 Main St', city: 'Lisbon', postalCode: '1000-001', country: 'PT' },
});
