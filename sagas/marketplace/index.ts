import type { SagaContext } from '../context.js';
import { isTransient, jobFillingHandlers } from './command-handlers.js';
import { jobFillingSaga } from './job-filling.js';

export const marketplace: SagaContext = {
  name: 'marketplace',
  setup: ({ write }) => ({
    sagas: [jobFillingSaga()],
    handlers: jobFillingHandlers(write.marketplace),
    isTransient,
  }),
};
