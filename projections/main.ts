// The projector process: `tsx projections/main.ts`. Runs every projection of the system, each as its own
// consumer group; run several processes to share the partitions.
import { Client as SearchClient } from '@elastic/elasticsearch';
import { Registry } from 'prom-client';
import { loadConfig } from '../runtime/config.js';
import { ProjectionRunner } from '../runtime/consumer/runner.js';
import type { Projection } from '../runtime/consumer/types.js';
import { createKafka } from '../runtime/kafka.js';
import { createLogger } from '../runtime/log.js';
import { connect, ensureDatabase } from '../runtime/postgres.js';
import { isEntryPoint, runUntilSignal } from '../runtime/process.js';
import { createRedis } from '../runtime/redis.js';
import { EventCodec } from '../schemas/codec.js';
import { createRegistryClient } from '../schemas/registry.js';
import type { ProjectionEntry, ProjectionEnv } from './context.js';
import { allProjections } from './contexts.js';
import { postgresProjection } from './runtime/postgres.js';
import { ensureRuntimeTables } from './runtime/tables.js';
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
  const readDb = connect(config.readDatabaseUrl, { max: 8, applicationName: 'ledgerline-projector' });
  await ensureRuntimeTables(readDb);
  const codec = new EventCodec(createRegistryClient(config.registryUrl), storeDb, config.topicPrefix);
  const kafka = createKafka(config.kafkaBrokers, 'ledgerline-projector', logger);
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();

  const search = new SearchClient({ node: config.searchUrl, requestTimeout: 10_000 });
  const redis = createRedis(config.redisUrl, logger, 'projector', { maxRetriesPerRequest: 3 });
  const env: ProjectionEnv = {
    config,
    readDb: async () => readDb,
    search: async () => search,
    redis: async () => redis,
  };
  const make = async (entry: ProjectionEntry, version: number): Promise<Projection> =>
    entry.kind === 'postgres' ? postgresProjection(readDb, await entry.model(version, env)) : entry.make(version, env);
  const runners = new Map<string, { version: number; runner: ProjectionRunner }>();
  const startVersion = async (entry: ProjectionEntry, version: number) => {
    const runner = new ProjectionRunner(kafka, producer, codec, await make(entry, version), logger, {
      topicPrefix: config.topicPrefix,
      metrics,
    });
    await runner.start();
    runners.set(entry.name, { version, runner });
  };
  for (const entry of allProjections)
    await startVersion(entry, await activeVersion(readDb, entry.name, entry.initialVersion));

  // A rebuild switches `projection_versions`; the running projector follows: it stops feeding the old version
  // and starts the new one's consumer group, which the rebuild seeded where the store left off.
  let following = Promise.resolve();
  const follow = setInterval(() => {
    following = following
      .then(async () => {
        for (const entry of allProjections) {
          const active = await activeVersion(readDb, entry.name, entry.initialVersion);
          const current = runners.get(entry.name);
          if (current && current.version !== active) {
            logger.info(
              { projection: entry.name, from: current.version, to: active },
              'switching to the active version',
            );
            await current.runner.stop();
            // Stopping takes a while; a second rebuild may have switched again and dropped `active` meanwhile.
            // Starting a dropped version would recreate its tables and consume it from the start of the topics.
            await startVersion(entry, await activeVersion(readDb, entry.name, entry.initialVersion));
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

if (isEntryPoint(import.meta.url))
  await runUntilSignal((metrics) => startProjector(loadConfig(process.env, { secrets: 'unused' }), metrics));
