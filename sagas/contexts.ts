import type { SagaContext } from './context.js';
import { marketplace } from './marketplace/index.js';
import { ordering } from './ordering/index.js';

/** Every bounded context's sagas: add one line for a new context. */
export const sagaContexts: readonly SagaContext[] = [ordering, marketplace];
