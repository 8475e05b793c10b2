import type { GatewayContext, GatewayEnv } from '../context.js';
import { orderingCommandsPlugin } from './commands.js';
import { type LiveDeps, livePlugin } from './live/plugin.js';
import { orderSocketTopic } from './live/socket-topic.js';
import { orderingQueriesPlugin } from './queries.js';
import { webhooksPlugin } from './webhooks.js';

export const ordering: GatewayContext = {
  name: 'ordering',
  // With Stripe, place-order refuses raw card numbers (see OrderingCommandPolicy).
  commands: (env) =>
    orderingCommandsPlugin(env.commands.ordering, { rawCardNumbers: env.config.paymentProvider === 'simulator' }),
  queries: (env) => orderingQueriesPlugin(env.queries.ordering),
  // The payment provider's webhooks, signed with its secret.
  open: (env) => webhooksPlugin({ ordering: env.commands.ordering, secret: env.config.stripeWebhookSecret }),
  live: (env) => livePlugin(liveDeps(env), env.tokens),
  socket: (env) => orderSocketTopic(liveDeps(env)),
};

function liveDeps(env: GatewayEnv): LiveDeps {
  const read = env.queries.ordering;
  return {
    hub: env.hub,
    keyPrefix: env.config.topicPrefix,
    orderParties: read.orderParties,
    restaurantOwner: read.restaurantOwner,
    // Longer than a query's wait: a live stream is long-lived anyway, and this only delays its start.
    caughtUpWith: async (position) =>
      read.waiter.waitFor(position, await read.ordersProjection(), { timeoutMs: 15_000 }),
  };
}
