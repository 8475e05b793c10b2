// Runs every role of the system in one process for the quick start: gateway, outbox relay, projector, sagas and
// the local simulators of outside services the configuration points at (the payment provider unless
// PAYMENT_PROVIDER=stripe). In production each role runs as its own process:
// gateway/main.ts, commands/relay/main.ts, projections/main.ts, sagas/main.ts.
// Secrets the environment does not set are generated once per checkout into .stack/secrets.env (see
// ops/secrets.ts); Prometheus metrics of every role are served on 127.0.0.1:METRICS_PORT (9464), not the API.
import { fileURLToPath } from 'node:url';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startRelay } from '../commands/relay/main.js';
import { startGateway } from '../gateway/main.js';
import { startProjector } from '../projections/main.js';
import { ConfigError, loadConfig, readInt } from '../runtime/config.js';
import { createLogger } from '../runtime/log.js';
import { serveMetrics } from '../runtime/metrics-server.js';
import { startSagas } from '../sagas/main.js';
import { loadDemoData } from './demo/contexts.js';
import { useCheckoutSecrets } from './secrets.js';
import { localSimulators } from './simulators/index.js';

const logger = createLogger('ledgerline');
const secretsFile = fileURLToPath(new URL('../.stack/secrets.env', import.meta.url));
try {
  const secrets = useCheckoutSecrets(process.env, secretsFile);
  if (secrets.fromFile.length > 0) {
    logger.info(
      {
        file: secretsFile,
        generated: secrets.generated,
        reused: secrets.fromFile.filter((n) => !secrets.generated.includes(n)),
      },
      `secrets not set in the environment come from ${secretsFile}`,
    );
  }
  const config = loadConfig();
  const problems: string[] = [];
  const metricsPort = readInt(process.env, problems, 'METRICS_PORT', 9464, 0, 65535);
  if (problems.length > 0) throw new ConfigError(problems);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const metricsServer = await serveMetrics(metrics, metricsPort);
  const metricsAddress = metricsServer.address();
  const metricsUrl = `http://127.0.0.1:${typeof metricsAddress === 'object' ? metricsAddress?.port : metricsPort}/metrics`;
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
      metrics: metricsUrl,
      demo,
      simulators: Object.fromEntries(Object.entries(simulators).map(([n, s]) => [n, s.url])),
    },
    `Ledgerline is running: curl ${base}/health`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      metricsServer.close();
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
