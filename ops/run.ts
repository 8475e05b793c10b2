// Runs every role of the system in one process for the quick start: gateway, outbox relay, projector, sagas and
// (unless PAYMENT_PROVIDER=stripe) the local payment simulator. In production each role runs as its own process:
// gateway/main.ts, commands/relay/main.ts, projections/main.ts, sagas/main.ts.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startRelay } from '../commands/relay/main.js';
import { startGateway } from '../gateway/main.js';
import { startProjector } from '../projections/main.js';
import { startSagas } from '../sagas/main.js';
import { startPaymentSimulator } from '../sagas/payments/simulator/server.js';
import { loadDemoData } from './demo-data.js';
import { ConfigError, loadConfig } from './runtime/config.js';
import { createLogger } from './runtime/log.js';

const logger = createLogger('ledgerline');
try {
  const config = loadConfig();
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const base = `http://${config.httpHost}:${config.httpPort}`;
  const simulator =
    config.paymentProvider === 'simulator'
      ? await startPaymentSimulator({
          port: Number(new URL(config.paymentSimulatorUrl).port),
          webhookUrl: `${base}/webhooks/payments`,
          webhookSecret: config.stripeWebhookSecret,
        })
      : null;
  const gateway = await startGateway(config, metrics);
  const relay = await startRelay(config, metrics);
  const projector = await startProjector(config, metrics);
  const sagas = await startSagas(config, { metrics });
  const demo = process.argv.includes('--no-demo') ? null : await loadDemoData(gateway.write.ordering);
  logger.info(
    { url: base, docs: `${base}/docs`, demo, paymentSimulator: simulator?.url ?? null },
    `Ledgerline is running: curl ${base}/health`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      Promise.all([gateway.stop(), relay.stop(), projector.stop(), sagas.stop(), simulator?.close()]).then(
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
