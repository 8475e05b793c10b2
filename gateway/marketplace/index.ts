import type { GatewayContext } from '../context.js';
import { marketplaceCommandsPlugin } from './commands.js';
import { marketplaceLivePlugin } from './live.js';
import { marketplaceQueriesPlugin } from './queries.js';
import { marketplaceSocketTopic } from './socket-topic.js';

export const marketplace: GatewayContext = {
  name: 'marketplace',
  commands: (env) => marketplaceCommandsPlugin(env.commands.marketplace),
  queries: (env) => marketplaceQueriesPlugin(env.queries.marketplace),
  live: (env) => marketplaceLivePlugin({ hub: env.hub, keyPrefix: env.config.topicPrefix }, env.tokens),
  socket: (env) => marketplaceSocketTopic(env.config.topicPrefix),
};
