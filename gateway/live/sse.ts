import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessClaims } from '../tokens.js';
import type { LiveEntry, LiveHub } from './hub.js';
import { LIVE_END_MESSAGES, type LiveSessionWatch } from './session-watch.js';

/**
 * SSE: each entry is an event whose id is the stream entry id, so the browser's Last-Event-ID resumes it. The
 * stream ends when the caller's token expires or its session is revoked, with a last event `end` whose data
 * says why ({ code: TOKEN_EXPIRED | SESSION_REVOKED | DEPENDENCY_UNAVAILABLE, message }).
 */
/** What an SSE stream needs: the hub its subscription shares, and how often to send a heartbeat. */
export interface SseDeps {
  readonly hub: LiveHub;
  readonly heartbeatMs?: number;
}

export async function streamSse(
  deps: SseDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  session: { readonly watch: LiveSessionWatch; readonly claims: AccessClaims },
): Promise<void> {
  const lastEventId = request.headers['last-event-id'];
  const after = typeof lastEventId === 'string' && /^\d+-\d+$/.test(lastEventId) ? lastEventId : undefined;
  const raw = reply.raw;
  const format = (entry: LiveEntry) => `id: ${entry.id}\nevent: status\ndata: ${JSON.stringify(entry.data)}\n\n`;
  // Subscribed before the 200 goes out: if Redis is down the client gets a 503 it can act on, not a silent
  // stream of heartbeats. What arrives meanwhile (the current status first) waits for the headers.
  const early: LiveEntry[] = [];
  let streaming = false;
  const unsubscribe = await deps.hub.subscribe(
    key,
    (entry) => (streaming ? raw.write(format(entry)) : early.push(entry)),
    after ?? 'latest',
  );
  if (request.socket.destroyed) {
    unsubscribe(); // the client left while we subscribed
    reply.hijack(); // nothing to answer
    return;
  }
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  raw.write(`retry: 2000\n\n${early.map(format).join('')}`);
  streaming = true;
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), deps.heartbeatMs ?? 15_000);
  let open = true;
  const stop = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    unsubscribe();
    stopWatching();
  };
  const stopWatching = session.watch.watch(session.claims, (code) => {
    stop(); // first, so nothing is written after the end
    raw.end(`event: end\ndata: ${JSON.stringify({ code, message: LIVE_END_MESSAGES[code] })}\n\n`);
  });
  // The response never ends on its own: its 'close' is the connection going away.
  raw.on('close', stop);
}
