import type { WriteContext } from '../context.js';
import { MarketplaceCommands } from './handlers.js';

export const marketplace = {
  name: 'marketplace',
  handlers: ({ executor }) => new MarketplaceCommands(executor),
} as const satisfies WriteContext<'marketplace', MarketplaceCommands>;
