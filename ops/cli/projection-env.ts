import type { ProjectionEnv } from '../../projections/context.js';
import type { Services } from './services.js';

/** A projection factory's environment for one CLI invocation: its connections, opened on first use. */
export const projectionEnv = (services: Services): ProjectionEnv => ({
  config: services.config,
  readDb: () => services.readDb(),
  search: () => services.search(),
  redis: () => services.redis(),
});
