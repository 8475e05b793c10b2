import type { SagaContext } from './context.js';
import { ordering } from './ordering/index.js';

/** Every bounded context's sagas: add one line for a new context. */
export const sagaContexts: readonly SagaContext[] = [ordering];
