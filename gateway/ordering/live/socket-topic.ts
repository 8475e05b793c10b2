import { liveKeys } from '../../../projections/ordering/order-status-redis.js';
import { HttpError } from '../../errors.js';
import type { LiveEntry } from '../../live/hub.js';
import type { Admission, SocketTarget, SocketTopic } from '../../live/socket.js';
import type { AccessClaims } from '../../tokens.js';
import { authorizeOrder } from './caller.js';
import type { LiveDeps } from './deps.js';

// Orders on the WebSocket: {"type":"subscribe","orderId":"…","position":…,"after":"…"} (a message without a
// `channel` is about an order, as it was before the socket carried other contexts' channels).

/** Follows one order's status, for whoever may see the order (as GET /streams/orders/:orderId). */
export function orderSocketTopic(deps: LiveDeps): SocketTopic {
  const keys = liveKeys(deps.keyPrefix);
  return {
    target: (message) => {
      if (message.channel !== undefined) return null;
      const orderId = typeof message.orderId === 'string' ? message.orderId : '';
      return { id: `order:${orderId}`, label: { orderId } };
    },
    admit: async (claims, target, message) => admitToOrder(deps, claims, target, message.position, keys.order),
    status: statusMessage,
  };
}

/**
 * Waits until the read model has passed `position` (if given), then checks the caller may see the order.
 */
async function admitToOrder(
  deps: LiveDeps,
  claims: AccessClaims,
  target: SocketTarget,
  position: unknown,
  orderKey: (orderId: string) => string,
): Promise<Admission> {
  const orderId = target.label.orderId ?? '';
  try {
    if (typeof position === 'number' && Number.isInteger(position) && position > 0) {
      await deps.caughtUpWith?.(position);
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      refusal: {
        type: 'error',
        code: typeof code === 'string' ? code : 'PROJECTION_NOT_CAUGHT_UP',
        orderId,
        message: `position ${String(position)} is not in the read model yet`,
      },
    };
  }
  try {
    await authorizeOrder(deps, claims, orderId);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error; // the read model unreachable: not a "not found"
    return { refusal: { type: 'error', code: 'ORDER_NOT_FOUND', orderId, message: `order ${orderId} does not exist` } };
  }
  return { key: orderKey(orderId) };
}

/**
 * The contract's status event ({ orderId, status, version, position }) at the top level, as SSE sends it;
 * `data` carries the whole entry (customer, restaurant, updatedAt) as well.
 */
const statusMessage = (entry: LiveEntry, target: SocketTarget) => ({
  type: 'status',
  id: entry.id,
  orderId: target.label.orderId,
  status: entry.data.status,
  version: entry.data.version,
  position: entry.data.position,
  data: entry.data,
});
