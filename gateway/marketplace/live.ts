import type { FastifyInstance } from 'fastify';
import { liveStatusKeys } from '../../projections/marketplace/live-status.js';
import { liveCaller } from '../live/caller.js';
import type { LiveHub } from '../live/hub.js';
import { LiveSessionWatch } from '../live/session-watch.js';
import { streamSse } from '../live/sse.js';
import type { TokenService } from '../tokens.js';

// GET /streams/marketplace/me: the caller's own applications and contracts as they change (SSE, the same framing
// as the ordering streams: `event: status`, ids to resume from with Last-Event-ID, `event: end` when the token
// expires or the session is revoked). A worker sees their application shortlisted, accepted or not selected; both
// parties see their contract's milestones move. Each account reads only its own stream, so nothing is probed.

export function marketplaceLivePlugin(
  deps: { hub: LiveHub; keyPrefix: string; heartbeatMs?: number },
  tokens: TokenService,
) {
  const keys = liveStatusKeys(deps.keyPrefix);
  return async (app: FastifyInstance): Promise<void> => {
    const watch = new LiveSessionWatch(tokens, app.log);
    app.addHook('onClose', async () => watch.stop());
    // No schema, as /streams/me: the querystring's access_token is checked by liveCaller, and a route with a
    // schema is one the gateway fuzzer sends requests to (an open stream would hold them).
    app.get('/streams/marketplace/me', async (request, reply) => {
      const claims = await liveCaller(tokens, request);
      await streamSse(deps, request, reply, keys.live(claims.accountId), { watch, claims });
    });
  };
}
