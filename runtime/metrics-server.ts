import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * /metrics of a process on its own port (METRICS_PORT), never on the public API port: every role, the gateway
 * included, and the all-in-one quick start (every role's metrics, port 9464 by default).
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
