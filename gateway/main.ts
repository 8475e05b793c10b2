// The gateway process: `tsx gateway/main.ts`.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { openWriteSide } from '../commands/write-side.js';
import { loadConfig } from '../ops/runtime/config.js';
import { createHealthProbe } from '../ops/runtime/health.js';
import { createLogger } from '../ops/runtime/log.js';
import { openReadSide } from '../queries/read-side.js';
import { buildGateway } from './app.js';

export async function startGateway(config = loadConfig(), metrics = new Registry()) {
  const logger = createLogger('gateway', config.logLevel);
  const write = await openWriteSide(config);
  const probe = createHealthProbe(config, write.db);
  const read = await openReadSide(config);
  const app = await buildGateway({
    logger,
    ordering: write.ordering,
    health: { check: probe.check, metrics },
    queries: read.ordering,
  });
  await app.listen({ host: config.httpHost, port: config.httpPort });
  return {
    app,
    write,
    async stop() {
      await app.close();
      await probe.close();
      await read.close();
      await write.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const running = await startGateway(loadConfig(), metrics);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
