// The projector process: `tsx projections/main.ts`. Runs every projection of the system, each as its own
// consumer group; run several processes to share the partitions.
import { Client as SearchClient } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { connect, ensureDatabase } from '../commands/store/database.js';
import { migrateEventStore } from '../commands/store/migrate.js';
import { loadConfig } from '../ops/runtime/config.js';
import { createKafka } from '../ops/runtime/kafka.js';
import { createLogger } from '../ops/runtime/log.js';
import { EventCodec } from '../schemas/codec.js';
import { createRegistryClient } from '../schemas/registry.js';
import { MENU_SEARCH_PROJECTION, menuSearchReadModel } from './ordering/menu-search.js';
import { NOTIFICATIONS_PROJECTION, NOTIFICATIONS_VERSION, notificationsReadModel } from './ordering/notifications.js';
import {
  ORDER_STATUS_PROJECTION,
  ORDER_STATUS_VERSION,
  orderStatusRedisProjection,
} from './ordering/order-status-redis.js';
import { ORDERS_PROJECTION, ORDERS_VERSION, ordersReadModel } from './ordering/orders.js';
import { RESTAURANTS_PROJECTION, RESTAURANTS_VERSION, restaurantsReadModel } from './ordering/restaurants.js';
import { postgresProjection } from './runtime/postgres.js';
import { ProjectionRunner } from './runtime/runner.js';
import { ensureRuntimeTables } from './runtime/tables.js';
import type { Projection } from './runtime/types.js';
import { activeVersion } from './runtime/versions.js';

export async function startProjector(config = loadConfig(), metrics = new Registry()) {
  const logger = createLogger('projector', config.logLevel);
  await ensureDatabase(config.databaseUrl);
  await ensureDatabase(config.readDatabaseUrl);
  // Writer schemas are read from the event store's copy (and the registry as a fallback).
  const storeDb = connect(config.databaseUrl, { max: 2, applicationName: 'ledgerline-projector-schemas' });
  await migrateEventStore(storeDb);
  const readDb = connect(config.readDatabaseUrl, { max: 8, applicationName: 'ledgerline-projector' });
  await ensureRuntimeTables(readDb);
  const codec = new EventCodec(createRegistryClient(config.registryUrl), storeDb, config.topicPrefix);
  const kafka = createKafka(config.kafkaBrokers, 'ledgerline-projector', logger);
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();

  const search = new SearchClient({ node: config.searchUrl, requestTimeout: 10_000 });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const projections: Projection[] = [
    postgresProjection(readDb, ordersReadModel(await activeVersion(readDb, ORDERS_PROJECTION, ORDERS_VERSION))),
    postgresProjection(
      readDb,
      restaurantsReadModel(await activeVersion(readDb, RESTAURANTS_PROJECTION, RESTAURANTS_VERSION)),
    ),
    postgresProjection(
      readDb,
      menuSearchReadModel(search, await activeVersion(readDb, MENU_SEARCH_PROJECTION, 1), config.topicPrefix),
    ),
    postgresProjection(
      readDb,
      notificationsReadModel(await activeVersion(readDb, NOTIFICATIONS_PROJECTION, NOTIFICATIONS_VERSION)),
    ),
    orderStatusRedisProjection(redis, {
      keyPrefix: config.topicPrefix,
      version: await activeVersion(readDb, ORDER_STATUS_PROJECTION, ORDER_STATUS_VERSION),
    }),
  ];
  const runners = projections.map(
    (p) => new ProjectionRunner(kafka, producer, codec, p, logger, { topicPrefix: config.topicPrefix, metrics }),
  );
  for (const runner of runners) await runner.start();
  return {
    readDb,
    runners,
    async stop() {
      for (const runner of runners) await runner.stop();
      await producer.disconnect();
      await search.close();
      redis.disconnect();
      await readDb.destroy();
      await storeDb.destroy();
      logger.info('projector stopped');
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const running = await startProjector();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
