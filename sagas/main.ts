// The saga process: `tsx sagas/main.ts`. Runs the order/payment saga: its Kafka consumer, the command
// dispatcher and the deadline scheduler. Run several: they share partitions, commands and deadlines safely.
import { Gauge, type Registry } from 'prom-client';
import { openWriteSide } from '../commands/write-side.js';
import { loadConfig } from '../runtime/config.js';
import { ProjectionRunner } from '../runtime/consumer/runner.js';
import { createKafka } from '../runtime/kafka.js';
import { createLogger } from '../runtime/log.js';
import { isEntryPoint, runUntilSignal } from '../runtime/process.js';
import { sagaContexts } from './contexts.js';
import { sagaAsProjection } from './runtime/as-projection.js';
import { SagaCommandDispatcher } from './runtime/dispatcher.js';
import { DeadlineScheduler } from './runtime/scheduler.js';
import { ensureSagaTables } from './runtime/tables.js';

export async function startSagas(config = loadConfig(), options: { metrics?: Registry } = {}) {
  const logger = createLogger('sagas', config.logLevel);
  // Connections: one per partition batch being applied, one per command being performed (its handler appends;
  // claims and lease renewals are single statements between them), the scheduler's, and a few to spare. Capped:
  // PostgreSQL serves every process of the deployment.
  const poolMax = Math.min(40, config.sagaPartitionsConcurrently + config.sagaDispatchConcurrency + 4);
  const write = await openWriteSide(config, { poolMax });
  await ensureSagaTables(write.db);
  const env = { config, write, logger, metrics: options.metrics };
  const sets = sagaContexts.map((context) => context.setup(env));
  const sagas = sets.flatMap((set) => set.sagas);
  // One dispatcher per context: each claims only its own command kinds and judges its own handlers' failures.
  const dispatcherOf = new Map<string, SagaCommandDispatcher>();
  const dispatchers = sets.map((set) => {
    const dispatcher = new SagaCommandDispatcher(write.db, set.handlers, set.isTransient, logger, {
      backoffBaseMs: config.sagaRetryBaseMs,
      concurrency: config.sagaDispatchConcurrency,
      leaseMs: config.sagaCommandLeaseMs,
      metrics: options.metrics,
    });
    for (const saga of set.sagas) {
      dispatcher.register(saga);
      dispatcherOf.set(saga.name, dispatcher);
    }
    return dispatcher;
  });
  const scheduler = new DeadlineScheduler(write.db, logger);
  for (const saga of sagas) scheduler.register(saga);
  const kafka = createKafka(config.kafkaBrokers, 'ledgerline-sagas', logger);
  const producer = kafka.producer();
  await producer.connect();
  const runners = sagas.map(
    (saga) =>
      // A committed batch's commands are claimed at once by this process's dispatcher (others poll for theirs).
      new ProjectionRunner(
        kafka,
        producer,
        write.codec,
        sagaAsProjection(write.db, saga, undefined, () => dispatcherOf.get(saga.name)?.nudge()),
        logger,
        {
          topicPrefix: config.topicPrefix,
          groupId: `${config.topicPrefix}saga.${saga.name}`,
          metrics: options.metrics,
          partitionsConsumedConcurrently: config.sagaPartitionsConcurrently,
          maxBatchMessages: config.sagaBatchEvents,
        },
      ),
  );
  for (const runner of runners) await runner.start();
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
  for (const dispatcher of dispatchers) dispatcher.start();
  scheduler.start();
  logger.info({ sagas: sagas.map((s) => s.name) }, 'sagas started');
  return {
    write,
    dispatchers,
    scheduler,
    async stop() {
      for (const runner of runners) await runner.stop();
      for (const dispatcher of dispatchers) await dispatcher.stop();
      await scheduler.stop();
      await producer.disconnect();
      await write.close();
      logger.info('sagas stopped');
    },
  };
}

if (isEntryPoint(import.meta.url))
  await runUntilSignal((metrics) => startSagas(loadConfig(process.env, { secrets: 'unused' }), { metrics }));
