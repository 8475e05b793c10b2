import { liveStatusKeys } from '../../projections/marketplace/live-status.js';
import type { SocketTopic } from '../live/socket.js';

export const MARKETPLACE_CHANNEL = 'marketplace';

/**
 * {"type":"subscribe","channel":"marketplace"} on /ws: the caller's own applications and contracts as they change,
 * the same entries as GET /streams/marketplace/me, sent as {"type":"status","channel":"marketplace","id",…,"data"}.
 * Each account reads only its own stream, so there is nothing to authorise beyond the session.
 */
export function marketplaceSocketTopic(keyPrefix: string): SocketTopic {
  const keys = liveStatusKeys(keyPrefix);
  return {
    target: (message) =>
      message.channel === MARKETPLACE_CHANNEL
        ? { id: `channel:${MARKETPLACE_CHANNEL}`, label: { channel: MARKETPLACE_CHANNEL } }
        : null,
    admit: async (claims) => ({ key: keys.live(claims.accountId) }),
    status: (entry) => ({ type: 'status', channel: MARKETPLACE_CHANNEL, id: entry.id, data: entry.data }),
  };
}
