import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { OrderingCommands } from '../commands/ordering/handlers.js';
import type { Logger } from '../ops/runtime/log.js';
import { orderingCommandsPlugin } from './commands/ordering.js';
import { body, errorHandler, notFoundHandler } from './errors.js';
import { type HealthDeps, healthPlugin } from './health.js';
import { type OrderingQueryDeps, orderingQueriesPlugin } from './queries/ordering.js';
import { validatorCompiler } from './validation.js';

export interface GatewayDeps {
  readonly logger: Logger;
  readonly ordering: OrderingCommands;
  readonly health: HealthDeps;
  readonly queries: OrderingQueryDeps;
  readonly bodyLimitBytes?: number;
}

/** The HTTP gateway: commands and queries are separate plugins with separate dependencies. */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  await app.register(healthPlugin(deps.health));
  await app.register(
    async (commands) => {
      await commands.register(orderingCommandsPlugin(deps.ordering));
      commands.post('/:context/:command', async (request, reply) => {
        const { context, command } = request.params as { context: string; command: string };
        return reply.status(404).send(body('UNKNOWN_COMMAND', `there is no command ${context}/${command}`));
      });
    },
    { prefix: '/commands' },
  );
  await app.register(orderingQueriesPlugin(deps.queries), { prefix: '/queries' });
  return app;
}
