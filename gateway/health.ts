import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { HealthReport } from '../runtime/health.js';

export interface HealthDeps {
  readonly check: () => Promise<HealthReport>;
  /** Where the gateway records its HTTP metrics; served on METRICS_PORT, never on the API port (issue 12). */
  readonly metrics: Registry;
}

/** /health reports every dependency (200 when all are up, 503 otherwise); /ready is the load balancer's probe. */
export function healthPlugin(deps: HealthDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const report = async () => {
      const dependencies = await deps.check();
      const up = Object.values(dependencies).every((d) => d.status === 'up');
      return { up, body: { status: up ? 'up' : 'degraded', dependencies } };
    };
    app.get('/health', async (_request, reply) => {
      const { up, body } = await report();
      return reply.status(up ? 200 : 503).send(body);
    });
    app.get('/ready', async (_request, reply) => {
      const { up, body } = await report();
      return reply.status(up ? 200 : 503).send({ ready: up, dependencies: body.dependencies });
    });
  };
}
