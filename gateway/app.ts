import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { IdentityCommands } from '../commands/identity/handlers.js';
import type { OrderingCommands } from '../commands/ordering/handlers.js';
import type { Logger } from '../ops/runtime/log.js';
import { requireRoles } from './auth.js';
import { orderingCommandsPlugin } from './commands/ordering.js';
import { body, errorHandler, notFoundHandler } from './errors.js';
import { type HealthDeps, healthPlugin } from './health.js';
import { identityPlugin } from './identity/routes.js';
import type { TokenService } from './identity/tokens.js';
import { type LiveDeps, livePlugin } from './live/plugin.js';
import { httpMetrics } from './metrics.js';
import { type NotificationQueryDeps, notificationCommandsPlugin, notificationQueriesPlugin } from './notifications.js';
import { type OrderingQueryDeps, orderingQueriesPlugin } from './queries/ordering.js';
import { type RateLimitOptions, rateLimiter } from './rate-limit.js';
import { tracedChildLogger, tracing } from './trace.js';
import { validatorCompiler } from './validation.js';
import { webhooksPlugin } from './webhooks.js';

export interface GatewayDeps {
  readonly logger: Logger;
  readonly ordering: OrderingCommands;
  readonly identity: IdentityCommands;
  readonly tokens: TokenService;
  readonly redis: Redis;
  readonly rateLimit: RateLimitOptions;
  readonly health: HealthDeps;
  readonly queries: OrderingQueryDeps;
  readonly notifications: NotificationQueryDeps;
  readonly live: LiveDeps;
  /** Signing secret of the payment provider's webhooks. */
  readonly webhookSecret: string;
  /** With Stripe, place-order refuses raw card numbers (see OrderingCommandPolicy). Default: the simulator. */
  readonly paymentProvider?: 'simulator' | 'stripe';
  readonly bodyLimitBytes?: number;
  readonly corsOrigins?: readonly string[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is a plausible id, else a new UUID. */
export const requestIdOf = (header: string | string[] | undefined): string =>
  typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();

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
  });
  app.setValidatorCompiler(validatorCompiler);
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

  const limit = rateLimiter(deps.redis, deps.tokens, deps.rateLimit);
  const authorize = requireRoles(deps.tokens);
  await app.register(
    async (auth) => {
      auth.addHook('onRequest', limit);
      await auth.register(identityPlugin(deps.identity, deps.tokens));
    },
    { prefix: '/auth' },
  );
  await app.register(
    async (commands) => {
      commands.addHook('onRequest', limit);
      commands.addHook('onRequest', authorize);
      await commands.register(
        orderingCommandsPlugin(deps.ordering, {
          rawCardNumbers: (deps.paymentProvider ?? 'simulator') === 'simulator',
        }),
      );
      await commands.register(notificationCommandsPlugin(deps.identity));
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
      await queries.register(orderingQueriesPlugin(deps.queries));
      await queries.register(notificationQueriesPlugin(deps.notifications));
    },
    { prefix: '/queries' },
  );
  await app.register(livePlugin(deps.live, deps.tokens));
  await app.register(async (hooks) => {
    hooks.addHook('onRequest', limit);
    await hooks.register(webhooksPlugin({ ordering: deps.ordering, secret: deps.webhookSecret }));
  });
  return app;
}
