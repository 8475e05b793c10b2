import type { QueriesOf } from './context.js';
import { identity } from './identity/index.js';
import { marketplace } from './marketplace/index.js';
import { ordering } from './ordering/index.js';

/** Every bounded context's queries: add one line for a new context. */
export const queryContexts = [identity, ordering, marketplace] as const;

/** Each context's query functions by name, as the gateway's query routes use them. */
export type ContextQueries = QueriesOf<typeof queryContexts>;
