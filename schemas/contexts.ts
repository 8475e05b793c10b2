import type { SchemaContext } from './context.js';
import { identity } from './identity/index.js';
import { marketplace } from './marketplace/index.js';
import { ordering } from './ordering/index.js';

/** Every bounded context's schemas: add one line for a new context. */
export const schemaContexts: readonly SchemaContext[] = [identity, ordering, marketplace];
