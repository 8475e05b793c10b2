import type { GatewayContext } from '../context.js';
import { marketplaceCommandsPlugin } from './commands.js';
import { marketplaceLivePlugin } from './live.js';
import { marketplaceMoneyQueriesPlugin } from './money-queries.js';
import { marketplaceQueriesPlugin } from './queries.js';
import { marketplaceSocketTopic } from './socket-topic.js';
import { marketplaceWebhooksPlugin } from './webhooks.js';

export const marketplace: GatewayContext = {
  name: 'marketplace',
  commands: (env) =>
    marketplaceCommandsPlugin(env.commands.marketplace, { rawCardNumbers: env.config.paymentProvider === 'simulator' }),
  // The provider's Connect notices (payouts paid or failed), signed with its secret.
  open: (env) =>
    marketplaceWebhooksPlugin({ money: env.commands.marketplace.money, secret: env.config.stripeWebhookSecret }),
  queries: (env) => async (app) => {
    await app.register(marketplaceQueriesPlugin(env.queries.marketplace));
    await app.register(marketplaceMoneyQueriesPlugin(env.queries.marketplace));
  },
  live: (env) => marketplaceLivePlugin({ hub: env.hub, keyPrefix: env.config.topicPrefix }, env.tokens),
  socket: (env) => marketplaceSocketTopic(env.config.topicPrefix),
};
