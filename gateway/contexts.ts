import type { GatewayContext } from './context.js';
import { identity } from './identity/index.js';
import { marketplace } from './marketplace/index.js';
import { ordering } from './ordering/index.js';

/** Every bounded context's routes: add one line for a new context. */
export const gatewayContexts: readonly GatewayContext[] = [identity, ordering, marketplace];
