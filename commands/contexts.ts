import type { HandlersOf } from './context.js';
import { identity } from './identity/index.js';
import { ordering } from './ordering/index.js';

/** Every bounded context's write side: add one line for a new context. */
export const writeContexts = [identity, ordering] as const;

/** Each context's command handlers by name, as the gateway, sagas and demo data use them. */
export type CommandHandlers = HandlersOf<typeof writeContexts>;
