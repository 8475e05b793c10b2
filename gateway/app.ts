import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import type { Role } from '../runtime/roles.js';
import { requireRoles } from './auth.js';
import type { GatewayEnv } from './context.js';
import { gatewayContexts } from './contexts.js';
import { body, errorHandler, frameworkErrorHandler, notFoundHandler } from './errors.js';
import { type HealthDeps, healthPlugin } from './health.js';
import { liveSocketPlugin } from './live/socket-plugin.js';
import { httpMetrics } from './metrics.js';
import { type RateLimitOptions, rateLimiter } from './rate-limit.js';
import { OneLineRequestLog } from './request-log.js';
import { tracedChildLogger, tracing } from './trace.js';
import { refuseInvalidText, validatorCompiler } from './validation.js';

export interface GatewayDeps extends GatewayEnv {
  readonly rateLimit: RateLimitOptions;
  readonly health: HealthDeps;
  readonly bodyLimitBytes?: number;
  readonly corsOrigins?: readonly string[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is a plausible id, else a new UUID. */
export const requestIdOf = (header: string | string[] | undefined): string =>
  typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();

/** A route as registered: what the route-wide tests (worst-case patterns, fuzzing) walk. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly schema?: FastifySchema;
  readonly roles?: readonly Role[];
}

const catalogues = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route of a gateway built by buildGateway, every context's, with its schema and roles. */
export const registeredRoutes = (app: FastifyInstance): readonly RegisteredRoute[] => catalogues.get(app) ?? [];

/** The HTTP gateway: commands and queries are separate plugins with separate dependencies. */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
    // The caller's x-request-id becomes the correlation id stored with every event of the request: taken only
    // when it looks like an id, never an arbitrary 16 KB header kept forever.
    requestIdHeader: false,
    genReqId: (raw) => requestIdOf(raw.headers['x-request-id']),
    childLoggerFactory: tracedChildLogger,
    // One line per request, at its end (Fastify's default is two, the first with the whole request serialised).
    logController: new OneLineRequestLog(),
    // A URL that does not decode (`/orders/%`) answers in our error shape, with the request id.
    frameworkErrors: frameworkErrorHandler,
  });
  const routes: RegisteredRoute[] = [];
  catalogues.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, schema: route.schema, roles: route.config?.roles });
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  // Every route of every context, with a schema or without: no lone surrogate, no control character, anywhere.
  app.addHook('preValidation', refuseInvalidText);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('principal', null);
  tracing(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  httpMetrics(app, deps.health.metrics);
  await app.register(helmet, { contentSecurityPolicy: false }); // the /docs UI needs inline scripts
  await app.register(cors, { origin: deps.corsOrigins ? [...deps.corsOrigins] : false });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Ledgerline', version: '0.1.0', description: 'Commands, queries and live status of Ledgerline' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(healthPlugin(deps.health));

  const limiter = rateLimiter(deps.redis, deps.tokens, deps.rateLimit);
  const limit = limiter.hook;
  app.addHook('onClose', () => limiter.close());
  const authorize = requireRoles(deps.tokens);
  await app.register(
    async (commands) => {
      commands.addHook('onRequest', limit);
      commands.addHook('onRequest', authorize);
      for (const context of gatewayContexts) if (context.commands) await commands.register(context.commands(deps));
      commands.post('/:context/:command', async (request, reply) => {
        const { context, command } = request.params as { context: string; command: string };
        return reply.status(404).send(body('UNKNOWN_COMMAND', `there is no command ${context}/${command}`));
      });
    },
    { prefix: '/commands' },
  );
  await app.register(
    async (queries) => {
      queries.addHook('onRequest', limit);
      queries.addHook('onRequest', authorize);
      for (const context of gatewayContexts) if (context.queries) await queries.register(context.queries(deps));
    },
    { prefix: '/queries' },
  );
  await app.register(async (open) => {
    open.addHook('onRequest', limit);
    for (const context of gatewayContexts) if (context.open) await open.register(context.open(deps));
  });
  for (const context of gatewayContexts) if (context.live) await app.register(context.live(deps));
  const topics = gatewayContexts.flatMap((context) => (context.socket ? [context.socket(deps)] : []));
  await app.register(liveSocketPlugin({ hub: deps.hub, topics }, deps.tokens));
  return app;
}
