import type { LiveHub } from '../../live/hub.js';
import type { AccessLookups, OrderParties } from '../access.js';

/** What the live endpoints (SSE and WebSocket) need; re-exported by plugin.ts. */
export interface LiveDeps extends AccessLookups {
  readonly hub: LiveHub;
  readonly keyPrefix: string;
  readonly orderParties: (orderId: string) => Promise<OrderParties | null>;
  /**
   * Read-your-writes before the access check: waits until the orders read model has passed a command's
   * position, so a client can follow the order it has just placed (else it would not be found yet).
   */
  readonly caughtUpWith?: (position: number) => Promise<void>;
  readonly heartbeatMs?: number;
}
