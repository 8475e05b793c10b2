import type { WriteContext } from '../context.js';
import { IdentityCommands } from './handlers.js';
import * as credentials from './migrations/20261125_0003_identity_credentials.js';

export const identity = {
  name: 'identity',
  // Named as when it was the event store's third migration, so databases that ran it do not run it again.
  migrations: { '20261125_0003_identity_credentials': credentials },
  handlers: ({ executor, db }) => new IdentityCommands(executor, db),
} as const satisfies WriteContext<'identity', IdentityCommands>;
