import type { Principal } from '../tokens.js';

/** The parties of an order: whoever may see it. */
export interface OrderParties {
  readonly customerId: string;
  readonly restaurantId: string;
}

export interface AccessLookups {
  readonly restaurantOwner: (restaurantId: string) => Promise<string | null>;
}

/**
 * Who may see an order: its customer, the owner of its restaurant, couriers (they deliver any order) and
 * admins. Everyone else is told it does not exist (404), not that it is forbidden.
 */
export async function canSeeOrder(lookups: AccessLookups, principal: Principal, order: OrderParties): Promise<boolean> {
  switch (principal.role) {
    case 'admin':
    case 'courier':
      return true;
    case 'customer':
      return order.customerId === principal.accountId;
    case 'restaurant':
      return (await lookups.restaurantOwner(order.restaurantId)) === principal.accountId;
    default:
      return false;
  }
}

export async function ownsRestaurant(
  lookups: AccessLookups,
  principal: Principal,
  restaurantId: string,
): Promise<boolean> {
  return principal.role === 'admin' || (await lookups.restaurantOwner(restaurantId)) === principal.accountId;
}
