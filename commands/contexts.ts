import type { HandlersOf } from './context.js';
import { identity } from './identity/index.js';
import { marketplace } from './marketplace/index.js';
import { ordering } from './ordering/index.js';

/** Every bounded context's write side: add one line for a new context. */
export const writeContexts = [identity, ordering, marketplace] as const;

/** Each context's command handlers by name, as the gateway, sagas and demo data use them. */
export type CommandHandlers = HandlersOf<typeof writeContexts>;
