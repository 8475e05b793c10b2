import type { GatewayContext } from '../context.js';
import { marketplaceCommandsPlugin } from './commands.js';

export const marketplace: GatewayContext = {
  name: 'marketplace',
  commands: (env) => marketplaceCommandsPlugin(env.commands.marketplace),
};
