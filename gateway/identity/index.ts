import type { GatewayContext } from '../context.js';
import { notificationCommandsPlugin, notificationQueriesPlugin } from './notifications.js';
import { identityPlugin } from './routes.js';

export const identity: GatewayContext = {
  name: 'identity',
  // Sign-up, login, refresh and logout need no token: rate-limited, under /auth.
  open: (env) => async (app) => {
    await app.register(identityPlugin(env.commands.identity, env.tokens), { prefix: '/auth' });
  },
  commands: (env) => notificationCommandsPlugin(env.commands.identity),
  queries: (env) => notificationQueriesPlugin(env.queries.identity),
};
