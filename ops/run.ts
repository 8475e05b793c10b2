// Runs every role of the system in one process for the quick start: gateway, outbox relay, projector, sagas and
// the local simulators of outside services the configuration points at (the payment provider unless
// PAYMENT_PROVIDER=stripe). In production each role runs as its own process:
// gateway/main.ts, commands/relay/main.ts, projections/main.ts, sagas/main.ts.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startRelay } from '../commands/relay/main.js';
import { startGateway } from '../gateway/main.js';
import { startProjector } from '../projections/main.js';
import { ConfigError, loadConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/log.js';
import { startSagas } from '../sagas/main.js';
import { loadDemoData } from './demo/contexts.js';
import { localSimulators } from './simulators/index.js';

const logger = createLogger('ledgerline');
try {
  const config = loadConfig();
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const base = `http://${config.httpHost}:${config.httpPort}`;
  const simulators: Record<string, { url: string; close(): Promise<void> }> = {};
  for (const simulator of localSimulators) {
    const started = await simulator.start(config, base);
    if (started) simulators[simulator.name] = started;
  }
  const gateway = await startGateway(config, metrics);
  const relay = await startRelay(config, metrics);
  const projector = await startProjector(config, metrics);
  const sagas = await startSagas(config, { metrics });
  const demo = process.argv.includes('--no-demo') ? null : await loadDemoData(gateway.write);
  logger.info(
    {
      url: base,
      docs: `${base}/docs`,
      demo,
      simulators: Object.fromEntries(Object.entries(simulators).map(([n, s]) => [n, s.url])),
    },
    `Ledgerline is running: curl ${base}/health`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      Promise.all([
        gateway.stop(),
        relay.stop(),
        projector.stop(),
        sagas.stop(),
        ...Object.values(simulators).map((s) => s.close()),
      ]).then(
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
