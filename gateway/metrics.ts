import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Latency per route and commands per type and result, on the process's Prometheus registry. */
export function httpMetrics(app: FastifyInstance, registry: Registry): void {
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const commands = new Counter({
    name: 'commands_total',
    help: 'Commands by type and result (ok, or the HTTP status of the refusal)',
    labelNames: ['command', 'result'],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    latency.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (route.startsWith('/commands/')) {
      const command = route.slice('/commands/'.length);
      commands.inc({ command, result: reply.statusCode < 400 ? 'ok' : String(reply.statusCode) });
    }
  });
}
