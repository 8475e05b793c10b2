import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError } from './config.js';
import { serveMetrics } from './metrics-server.js';

/** Whether the module at `url` is the script node was started with (not imported by another one). */
export const isEntryPoint = (url: string): boolean => url === `file://${process.argv[1]}`;

/**
 * Starts a role of the system with its own Prometheus registry (served on METRICS_PORT when set) and stops it
 * gracefully on SIGINT or SIGTERM (exit 0, or 1 if stopping fails).
 */
export async function runUntilSignal(start: (metrics: Registry) => Promise<{ stop(): Promise<void> }>): Promise<void> {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const running = await start(metrics);
  const raw = process.env.METRICS_PORT;
  const port = raw === undefined || raw === '' ? null : Number(raw);
  if (port !== null && !(Number.isInteger(port) && port > 0 && port <= 65535)) {
    throw new ConfigError([`METRICS_PORT must be an integer in 1..65535 (got ${raw})`]);
  }
  const server = port === null ? null : await serveMetrics(metrics, port);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      server?.close();
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
