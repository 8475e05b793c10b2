// The saga process: `tsx sagas/main.ts`. Runs the order/payment saga: its Kafka consumer, the command
// dispatcher and the deadline scheduler. Run several: they share partitions, commands and deadlines safely.
import { Gauge, type Registry } from 'prom-client';
import { openWriteSide } from '../commands/write-side.js';
import { type Config, loadConfig } from '../ops/runtime/config.js';
import { createKafka } from '../ops/runtime/kafka.js';
import { createLogger } from '../ops/runtime/log.js';
import { isEntryPoint, runUntilSignal } from '../ops/runtime/process.js';
import { ProjectionRunner } from '../projections/runtime/runner.js';
import { isTransient, orderPaymentHandlers } from './ordering/command-handlers.js';
import { orderPaymentSaga } from './ordering/order-payment.js';
import { DEFAULT_BREAKER_POLICY, withCircuitBreaker } from './payments/circuit-breaker.js';
import type { PaymentProvider } from './payments/port.js';
import { createStripeProvider, stripeEndpointOf } from './payments/stripe.js';
import { sagaAsProjection } from './runtime/as-projection.js';
import { SagaCommandDispatcher } from './runtime/dispatcher.js';
import { DeadlineScheduler } from './runtime/scheduler.js';
import { ensureSagaTables } from './runtime/tables.js';

/** The Stripe adapter, aimed at Stripe itself or at the local Stripe-compatible simulator. */
export function paymentProviderFor(config: Config): PaymentProvider {
  if (config.paymentProvider === 'stripe') return createStripeProvider({ apiKey: config.stripeApiKey });
  return createStripeProvider({ apiKey: config.stripeApiKey, ...stripeEndpointOf(config.paymentSimulatorUrl) });
}

export async function startSagas(
  config = loadConfig(),
  options: { metrics?: Registry; provider?: PaymentProvider } = {},
) {
  const logger = createLogger('sagas', config.logLevel);
  // Dispatcher claims hold a connection while their handler appends on another: room for both, and the reactor.
  const write = await openWriteSide(config, { poolMax: 14 });
  await ensureSagaTables(write.db);
  const breakerState = new Gauge({
    name: 'payment_circuit_state',
    help: 'Payment provider circuit breaker of this process: 0 closed, 1 half-open, 2 open',
    registers: options.metrics ? [options.metrics] : [],
  });
  breakerState.set(0);
  const provider = withCircuitBreaker(options.provider ?? paymentProviderFor(config), {
    policy: {
      ...DEFAULT_BREAKER_POLICY,
      failuresToOpen: config.paymentCircuitFailures,
      openMs: config.paymentCircuitOpenMs,
    },
    onChange: (mode, previous) => {
      breakerState.set({ closed: 0, 'half-open': 1, open: 2 }[mode]);
      const log = mode === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
      log({ from: previous, to: mode }, `payment provider circuit ${mode}`);
    },
  });
  const saga = orderPaymentSaga({
    acceptanceTimeoutMs: config.sagaAcceptanceTimeoutMs,
    paymentTimeoutMs: config.sagaPaymentTimeoutMs,
  });
  const dispatcher = new SagaCommandDispatcher(
    write.db,
    orderPaymentHandlers(write.ordering, provider),
    isTransient,
    logger,
    {
      backoffBaseMs: config.sagaRetryBaseMs,
      metrics: options.metrics,
    },
  ).register(saga);
  const scheduler = new DeadlineScheduler(write.db, logger).register(saga);
  const kafka = createKafka(config.kafkaBrokers, 'ledgerline-sagas', logger);
  const producer = kafka.producer();
  await producer.connect();
  const runner = new ProjectionRunner(kafka, producer, write.codec, sagaAsProjection(write.db, saga), logger, {
    topicPrefix: config.topicPrefix,
    groupId: `${config.topicPrefix}saga.${saga.name}`,
    metrics: options.metrics,
  });
  await runner.start();
  if (options.metrics) {
    // Counted at scrape time from the saga table, so every process reports the same, current figures.
    new Gauge({
      name: 'sagas_by_status',
      help: 'Sagas by type and status',
      labelNames: ['saga', 'status'],
      registers: [options.metrics],
      async collect() {
        const rows: { saga_type: string; status: string; n: number }[] = await write
          .db('saga_instances')
          .select('saga_type', 'status')
          .count({ n: '*' })
          .groupBy('saga_type', 'status');
        this.reset();
        for (const r of rows) this.set({ saga: r.saga_type, status: r.status }, Number(r.n));
      },
    });
  }
  dispatcher.start();
  scheduler.start();
  logger.info({ saga: saga.name }, 'sagas started');
  return {
    write,
    dispatcher,
    scheduler,
    async stop() {
      await runner.stop();
      await dispatcher.stop();
      await scheduler.stop();
      await producer.disconnect();
      await write.close();
      logger.info('sagas stopped');
    },
  };
}

if (isEntryPoint(import.meta.url)) await runUntilSignal((metrics) => startSagas(loadConfig(), { metrics }));
