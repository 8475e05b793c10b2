import { HttpError } from '../../errors.js';
import type { Principal } from '../../tokens.js';
import { canSeeOrder } from '../access.js';
import type { LiveDeps } from './deps.js';

// Whether the caller of a live endpoint may follow an order (who is calling: gateway/live/caller.ts).

export { liveCaller } from '../../live/caller.js';

export const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws 404 ORDER_NOT_FOUND unless the order exists and the principal may see it (no existence leak). */
export async function authorizeOrder(deps: LiveDeps, principal: Principal, orderId: string): Promise<void> {
  const parties = ORDER_ID.test(orderId) ? await deps.orderParties(orderId) : null;
  if (!parties || !(await canSeeOrder(deps, principal, parties))) {
    throw new HttpError(404, 'ORDER_NOT_FOUND', `order ${orderId} does not exist`);
  }
}
