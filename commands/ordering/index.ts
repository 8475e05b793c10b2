import type { WriteContext } from '../context.js';
import { OrderingCommands } from './handlers.js';

export const ordering = {
  name: 'ordering',
  handlers: ({ executor }) => new OrderingCommands(executor),
} as const satisfies WriteContext<'ordering', OrderingCommands>;
