import type { GatewayContext } from '../context.js';
import { orderingCommandsPlugin } from './commands.js';
import { livePlugin } from './live/plugin.js';
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
  live: (env) => {
    const read = env.queries.ordering;
    return livePlugin(
      {
        hub: env.hub,
        keyPrefix: env.config.topicPrefix,
        orderParties: read.orderParties,
        restaurantOwner: read.restaurantOwner,
        // Longer than a query's wait: a live stream is long-lived anyway, and this only delays its start.
        caughtUpWith: async (position) =>
          read.waiter.waitFor(position, await read.ordersProjection(), { timeoutMs: 15_000 }),
      },
      env.tokens,
    );
  },
};
