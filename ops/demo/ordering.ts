import type { CommandContext } from '../../commands/executor.js';
import type { DemoData } from './context.js';

// Demo data for the quick start: fixed ids and idempotency keys, so a second run appends nothing.
const owner = (key: string): CommandContext => ({
  actor: 'demo-owner',
  correlationId: `demo-${key}`,
  idempotencyKey: `demo-${key}`,
});
const address = { line1: 'Rua Augusta 1', line2: null, city: 'Lisbon', postalCode: '1100-048', country: 'PT' };

const restaurants = [
  {
    restaurantId: 'demo-forno',
    name: 'Forno da Baixa',
    cuisine: 'italian',
    menu: [
      ['demo-margherita', 'Pizza Margherita', 'Tomato, mozzarella, basil', 950],
      ['demo-diavola', 'Pizza Diavola', 'Tomato, mozzarella, spicy salami', 1150],
      ['demo-tiramisu', 'Tiramisu', 'Mascarpone, coffee, cocoa', 550],
    ],
  },
  {
    restaurantId: 'demo-bangkok',
    name: 'Bangkok Street',
    cuisine: 'thai',
    menu: [
      ['demo-padthai', 'Pad Thai', 'Rice noodles, tamarind, peanuts, lime', 1100],
      ['demo-greencurry', 'Green Curry', 'Coconut milk, chicken, thai basil', 1250],
    ],
  },
] as const;

async function load({ ordering }: Parameters<DemoData['load']>[0]): Promise<Record<string, number>> {
  let menuItems = 0;
  for (const r of restaurants) {
    await ordering.registerRestaurant(
      { restaurantId: r.restaurantId, name: r.name, cuisine: r.cuisine, address },
      owner(`register-${r.restaurantId}`),
    );
    await ordering.openRestaurant({ restaurantId: r.restaurantId }, owner(`open-${r.restaurantId}`));
    for (const [menuItemId, name, description, priceMinor] of r.menu) {
      await ordering.addMenuItem(
        { restaurantId: r.restaurantId, menuItemId, name, description, priceMinor, currency: 'EUR' },
        owner(`add-${menuItemId}`),
      );
      menuItems++;
    }
  }
  return { restaurants: restaurants.length, menuItems };
}

export const ordering: DemoData = { name: 'ordering', load };
