// Runs every role of the system in one process for the quick start: gateway (commands, health) and the
// outbox relay. In production each runs as its own process (gateway/main.ts, commands/relay/main.ts).
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startRelay } from '../commands/relay/main.js';
import { startGateway } from '../gateway/main.js';
import { loadDemoData } from './demo-data.js';
import { ConfigError, loadConfig } from './runtime/config.js';
import { createLogger } from './runtime/log.js';

const logger = createLogger('ledgerline');
try {
  const config = loadConfig();
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const gateway = await startGateway(config, metrics);
  const relay = await startRelay(config, metrics);
  const demo = process.argv.includes('--no-demo') ? null : await loadDemoData(gateway.write.ordering);
  logger.info(
    { url: `http://${config.httpHost}:${config.httpPort}`, demo },
    `Ledgerline is running: curl http://${config.httpHost}:${config.httpPort}/health`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      Promise.all([gateway.stop(), relay.stop()]).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
} catch (error) {
  if (error instanceof ConfigError) {
    logger.fatal(error.message);
  } else {
    logger.fatal({ err: error }, 'could not start Ledgerline');
  }
  process.exit(1);
}
