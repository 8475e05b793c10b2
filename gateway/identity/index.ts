import type { GatewayContext } from '../context.js';
import { LoginThrottle } from './login-throttle.js';
import { notificationCommandsPlugin, notificationQueriesPlugin } from './notifications.js';
import { identityPlugin } from './routes.js';

export const identity: GatewayContext = {
  name: 'identity',
  // Sign-up, login, refresh and logout need no token: rate-limited, under /auth.
  open: (env) => async (app) => {
    const loginThrottle = new LoginThrottle(env.redis, { keyPrefix: env.config.topicPrefix });
    await app.register(identityPlugin(env.commands.identity, env.tokens, loginThrottle), { prefix: '/auth' });
  },
  commands: (env) => notificationCommandsPlugin(env.commands.identity),
  queries: (env) => notificationQueriesPlugin(env.queries.identity),
};
