import type { ProjectionEnv } from '../../projections/context.js';
import type { Services } from './services.js';

/** A projection factory's environment for one CLI invocation: its connections, opened on first use. */
export const projectionEnv = (services: Services): ProjectionEnv => ({
  config: services.config,
  search: () => services.search(),
  redis: () => Promise.reject(new Error('the CLI rebuilds PostgreSQL read models only; it opens no Redis')),
});
