import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * /metrics for a worker process without an HTTP API of its own (relay, projector, sagas): set METRICS_PORT and
 * point Prometheus at it. In the all-in-one quick start the gateway's /metrics serves every role's metrics.
 */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}
