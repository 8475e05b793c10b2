// The outbox relay as its own process: `tsx commands/relay/main.ts` (METRICS_PORT serves /metrics). Run several;
// they split the shards.
import { Registry } from 'prom-client';
import { loadConfig } from '../../runtime/config.js';
import { createKafka, ensureTopics } from '../../runtime/kafka.js';
import { createLogger } from '../../runtime/log.js';
import { connect, ensureDatabase } from '../../runtime/postgres.js';
import { isEntryPoint, runUntilSignal } from '../../runtime/process.js';
import { topicsOf } from '../../schemas/catalog.js';
import { migrateWriteSide } from '../migrate.js';
import { IdempotencyKeyPruner } from '../store/retention.js';
import { OutboxRelay } from './outbox-relay.js';
import { createRelayProducer } from './producer.js';

export async function startRelay(config = loadConfig(), metrics = new Registry()) {
  const logger = createLogger('outbox-relay', config.logLevel);
  await ensureDatabase(config.databaseUrl);
  const db = connect(config.databaseUrl, { max: 6, applicationName: 'ledgerline-relay' });
  await migrateWriteSide(db);
  const kafka = createKafka(config.kafkaBrokers, 'ledgerline-relay', logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    topicsOf().map((t) => config.topicPrefix + t),
  );
  await admin.disconnect();
  const producer = createRelayProducer(kafka);
  await producer.connect();
  const relay = new OutboxRelay(db, producer, logger, { metrics });
  relay.start();
  const pruner =
    config.idempotencyKeyTtlHours > 0
      ? new IdempotencyKeyPruner(db, logger, { ttlMs: config.idempotencyKeyTtlHours * 3_600_000, metrics })
      : null;
  pruner?.start();
  const lagTimer = setInterval(() => {
    relay.measureLag().catch((err: unknown) => logger.warn({ err }, 'could not measure outbox lag'));
  }, 1000);
  logger.info({ topicPrefix: config.topicPrefix }, 'outbox relay started');
  return {
    relay,
    async stop() {
      clearInterval(lagTimer);
      await pruner?.stop();
      await relay.stop();
      await producer.disconnect();
      await db.destroy();
      logger.info('outbox relay stopped');
    },
  };
}

if (isEntryPoint(import.meta.url))
  await runUntilSignal((metrics) => startRelay(loadConfig(process.env, { secrets: 'unused' }), metrics));
