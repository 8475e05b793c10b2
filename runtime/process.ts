import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, readInt } from './config.js';
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
  const problems: string[] = [];
  const port = readInt(process.env, problems, 'METRICS_PORT', 0, 1, 65535); // 0: unset, no metrics server
  if (problems.length > 0) throw new ConfigError(problems);
  const server = port === 0 ? null : await serveMetrics(metrics, port);
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
