import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { CommandHandlers } from '../commands/contexts.js';
import type { ContextQueries } from '../queries/contexts.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import type { LiveHub } from './live/hub.js';
import type { SocketTopic } from './live/socket.js';
import type { TokenService } from './tokens.js';

/** What the gateway hands every context's routes. */
export interface GatewayEnv {
  readonly config: Config;
  readonly logger: Logger;
  /** Each context's command handlers by name (the write side). */
  readonly commands: CommandHandlers;
  /** Each context's query functions by name (the read side, its own pools). */
  readonly queries: ContextQueries;
  readonly tokens: TokenService;
  readonly redis: Redis;
  /** The Redis live-channel reader that SSE and WebSocket subscriptions share. */
  readonly hub: LiveHub;
}

export type RoutePlugin = (app: FastifyInstance) => Promise<void>;

/**
 * What a bounded context contributes to the HTTP API (`gateway/<context>/index.ts`). Each part is mounted where
 * its checks are: a context only declares routes, never the auth, rate-limit or error handling around them.
 */
export interface GatewayContext {
  readonly name: string;
  /** Under /commands (`/<context>/<command>`): rate-limited, authenticated, each route's `roles` checked. */
  readonly commands?: (env: GatewayEnv) => RoutePlugin;
  /** Under /queries (`/<context>/...`): the same checks as commands, on the query side's dependencies. */
  readonly queries?: (env: GatewayEnv) => RoutePlugin;
  /** At the root, rate-limited, authenticating by their own means (sign-in, signed webhooks). */
  readonly open?: (env: GatewayEnv) => RoutePlugin;
  /** At the root, long-lived live streams (SSE, WebSocket) that authenticate and authorise each subscription. */
  readonly live?: (env: GatewayEnv) => RoutePlugin;
  /** What a client may follow on the gateway's one WebSocket, /ws (an order, a context's channel). */
  readonly socket?: (env: GatewayEnv) => SocketTopic;
}
