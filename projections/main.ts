// The projector process: `tsx projections/main.ts`. Runs every projection of the system, each as its own
// consumer group; run several processes to share the partitions.
import { Client as SearchClient } from '@elastic/elasticsearch';
import { Registry } from 'prom-client';
import { connect, ensureDatabase } from '../commands/store/database.js';
import { migrateEventStore } from '../commands/store/migrate.js';
import { loadConfig } from '../ops/runtime/config.js';
import { createKafka } from '../ops/runtime/kafka.js';
import { createLogger } from '../ops/runtime/log.js';
import { isEntryPoint, runUntilSignal } from '../ops/runtime/process.js';
import { createRedis } from '../ops/runtime/redis.js';
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

export async function startProjector(
  config = loadConfig(),
  metrics = new Registry(),
  options: { followMs?: number } = {},
) {
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
  const redis = createRedis(config.redisUrl, logger, 'projector', { maxRetriesPerRequest: 3 });
  /** Each projection by name: its first version and how to make any version of it. */
  const catalog: { name: string; first: number; make: (version: number) => Projection }[] = [
    { name: ORDERS_PROJECTION, first: ORDERS_VERSION, make: (v) => postgresProjection(readDb, ordersReadModel(v)) },
    {
      name: RESTAURANTS_PROJECTION,
      first: RESTAURANTS_VERSION,
      make: (v) => postgresProjection(readDb, restaurantsReadModel(v)),
    },
    {
      name: MENU_SEARCH_PROJECTION,
      first: 1,
      make: (v) => postgresProjection(readDb, menuSearchReadModel(search, v, config.topicPrefix)),
    },
    {
      name: NOTIFICATIONS_PROJECTION,
      first: NOTIFICATIONS_VERSION,
      make: (v) => postgresProjection(readDb, notificationsReadModel(v)),
    },
    {
      name: ORDER_STATUS_PROJECTION,
      first: ORDER_STATUS_VERSION,
      make: (v) => orderStatusRedisProjection(redis, { keyPrefix: config.topicPrefix, version: v }),
    },
  ];
  const runners = new Map<string, { version: number; runner: ProjectionRunner }>();
  const startVersion = async (entry: (typeof catalog)[number], version: number) => {
    const runner = new ProjectionRunner(kafka, producer, codec, entry.make(version), logger, {
      topicPrefix: config.topicPrefix,
      metrics,
    });
    await runner.start();
    runners.set(entry.name, { version, runner });
  };
  for (const entry of catalog) await startVersion(entry, await activeVersion(readDb, entry.name, entry.first));

  // A rebuild switches `projection_versions`; the running projector follows: it stops feeding the old version
  // and starts the new one's consumer group, which the rebuild seeded where the store left off.
  let following = Promise.resolve();
  const follow = setInterval(() => {
    following = following
      .then(async () => {
        for (const entry of catalog) {
          const active = await activeVersion(readDb, entry.name, entry.first);
          const current = runners.get(entry.name);
          if (current && current.version !== active) {
            logger.info(
              { projection: entry.name, from: current.version, to: active },
              'switching to the active version',
            );
            await current.runner.stop();
            // Stopping takes a while; a second rebuild may have switched again and dropped `active` meanwhile.
            // Starting a dropped version would recreate its tables and consume it from the start of the topics.
            await startVersion(entry, await activeVersion(readDb, entry.name, entry.first));
          }
        }
      })
      .catch((err: unknown) => logger.warn({ err }, 'could not follow projection versions'));
  }, options.followMs ?? 5000);
  return {
    readDb,
    runners,
    async stop() {
      clearInterval(follow);
      await following;
      for (const { runner } of runners.values()) await runner.stop();
      await producer.disconnect();
      await search.close();
      redis.disconnect();
      await readDb.destroy();
      await storeDb.destroy();
      logger.info('projector stopped');
    },
  };
}

if (isEntryPoint(import.meta.url)) await runUntilSignal((metrics) => startProjector(loadConfig(), metrics));
