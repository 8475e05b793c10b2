import { randomBytes } from 'node:crypto';
import { Client as SearchClient } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import knexFactory, { type Knex } from 'knex';
import { createRelayProducer } from '../../commands/relay/producer.js';
// Imported for its side effect as well: it makes BIGINT positions arrive as numbers, as everywhere else.
import '../../runtime/postgres.js';
import { EventStore } from '../../commands/store/event-store.js';
import type { Config } from '../../runtime/config.js';
import { EventCodec } from '../../schemas/codec.js';
import { createRegistryClient, type SchemaRegistryClient } from '../../schemas/registry.js';
import { addressOf, serviceFailure, withTimeout } from './errors.js';

/** How long a connection may take before the service is reported unreachable. */
const CONNECT_TIMEOUT_MS = 3000;
const REGISTRY_TIMEOUT_MS = 5000;

/** One version of a subject in the registry. */
export interface RegisteredVersion {
  readonly subject: string;
  readonly id: number;
  readonly version: number;
  readonly schema: string;
}

/** The registry client of the write side, plus the read-only calls the CLI needs that it does not expose. */
export interface CliRegistry {
  readonly client: SchemaRegistryClient;
  readonly address: string;
  /** The latest version of a subject, or null when the subject is not registered. */
  latest(subject: string): Promise<RegisteredVersion | null>;
}

/**
 * The connections one CLI invocation uses, opened on first use and all closed by `close()`. Each open is
 * probed with a short timeout, so an unreachable service becomes one ServiceError naming it within seconds.
 */
export class Services {
  private storeDbPromise: Promise<Knex> | null = null;
  private readDbPromise: Promise<Knex> | null = null;
  private adminPromise: Promise<Admin> | null = null;
  private producerPromise: Promise<Producer> | null = null;
  private kafkaClient: Kafka | null = null;
  private codecInstance: EventCodec | null = null;
  private registryInstance: CliRegistry | null = null;
  private searchPromise: Promise<SearchClient> | null = null;
  private redisPromise: Promise<Redis> | null = null;
  private readonly consumers = new Set<Consumer>();
  private readonly pools: Knex[] = [];

  constructor(readonly config: Config) {}

  /** The event store's database (DATABASE_URL). */
  storeDb(): Promise<Knex> {
    this.storeDbPromise ??= this.openDb(this.config.databaseUrl, 'PostgreSQL');
    return this.storeDbPromise;
  }

  /** The read models' database (READ_DATABASE_URL, which defaults to DATABASE_URL: then it is the same pool). */
  readDb(): Promise<Knex> {
    if (this.config.readDatabaseUrl === this.config.databaseUrl) return this.storeDb();
    this.readDbPromise ??= this.openDb(this.config.readDatabaseUrl, 'PostgreSQL (read database)');
    return this.readDbPromise;
  }

  async store(): Promise<EventStore> {
    return new EventStore(await this.storeDb(), {
      topicPrefix: this.config.topicPrefix,
      outboxShards: this.config.outboxShards,
    });
  }

  /** Decodes with the writer schemas kept in the store's `schemas` table (the registry only as a fallback). */
  async codec(): Promise<EventCodec> {
    const db = await this.storeDb();
    this.codecInstance ??= new EventCodec(this.registry().client, db, this.config.topicPrefix);
    return this.codecInstance;
  }

  registry(): CliRegistry {
    this.registryInstance ??= createCliRegistry(this.config.registryUrl);
    return this.registryInstance;
  }

  /** The search engine (SEARCH_URL), probed with a cluster health call. */
  search(): Promise<SearchClient> {
    this.searchPromise ??= (async () => {
      const client = new SearchClient({ node: this.config.searchUrl, requestTimeout: 15_000, maxRetries: 1 });
      try {
        await withTimeout(
          client.cluster.health({ timeout: '2s' }),
          CONNECT_TIMEOUT_MS + 1500,
          'connecting to Elasticsearch',
        );
      } catch (error) {
        await client.close().catch(() => undefined);
        throw serviceFailure('Elasticsearch', addressOf(this.config.searchUrl, 9200), error);
      }
      return client;
    })();
    return this.searchPromise;
  }

  /** Redis (REDIS_URL), probed with PING; no reconnecting: an outage is reported, not waited out. */
  redis(): Promise<Redis> {
    this.redisPromise ??= (async () => {
      const client = new Redis(this.config.redisUrl, {
        lazyConnect: true,
        connectTimeout: CONNECT_TIMEOUT_MS,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      // Failures are reported by the command that needed Redis; ioredis would also print them as unhandled.
      client.on('error', () => undefined);
      try {
        await withTimeout(
          client.connect().then(() => client.ping()),
          CONNECT_TIMEOUT_MS + 1500,
          'connecting to Redis',
        );
      } catch (error) {
        client.disconnect();
        throw serviceFailure('Redis', addressOf(this.config.redisUrl, 6379), error);
      }
      return client;
    })();
    return this.redisPromise;
  }

  kafka(): Kafka {
    // kafkajs prints a partitioner notice on the first producer; the CLI's stderr is for the user.
    process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
    this.kafkaClient ??= new Kafka({
      clientId: 'ledger-cli',
      brokers: [...this.config.kafkaBrokers],
      connectionTimeout: CONNECT_TIMEOUT_MS,
      requestTimeout: 15_000,
      // Few, short retries: an unreachable broker must be reported in seconds, not after a minute of backoff.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.NOTHING,
    });
    return this.kafkaClient;
  }

  get kafkaAddress(): string {
    return this.config.kafkaBrokers.join(',');
  }

  admin(): Promise<Admin> {
    this.adminPromise ??= this.connectKafka(this.kafka().admin());
    return this.adminPromise;
  }

  /** The relay's own producer (`createRelayProducer`): replays and DLQ re-publishes keep its guarantees. */
  producer(): Promise<Producer> {
    this.producerPromise ??= this.connectKafka(createRelayProducer(this.kafka()));
    return this.producerPromise;
  }

  /** A consumer in a throw-away group that commits nothing; disconnected by close() if still connected. */
  async consumer(purpose: string): Promise<{ consumer: Consumer; groupId: string }> {
    await this.admin(); // reports an unreachable broker before a consumer starts retrying on its own
    const groupId = `${this.config.topicPrefix}ledger-cli.${purpose}.${randomBytes(4).toString('hex')}`;
    const consumer = this.kafka().consumer({
      groupId,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
    });
    this.consumers.add(consumer);
    await this.connectKafka(consumer);
    return { consumer, groupId };
  }

  async releaseConsumer(consumer: Consumer, groupId: string): Promise<void> {
    this.consumers.delete(consumer);
    await consumer.disconnect().catch(() => undefined);
    // The group committed nothing; deleting it keeps `kafka-consumer-groups --list` readable.
    const admin = await this.admin();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }

  /** Closes everything opened, ignoring errors: the command's own outcome is what gets reported. */
  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => undefined)));
    const producer = await this.producerPromise?.catch(() => null);
    await producer?.disconnect().catch(() => undefined);
    const admin = await this.adminPromise?.catch(() => null);
    await admin?.disconnect().catch(() => undefined);
    const search = await this.searchPromise?.catch(() => null);
    await search?.close().catch(() => undefined);
    const redis = await this.redisPromise?.catch(() => null);
    await redis?.quit().catch(() => redis.disconnect());
    await Promise.all(this.pools.map((db) => db.destroy().catch(() => undefined)));
  }

  private async openDb(url: string, service: string): Promise<Knex> {
    const db = knexFactory({
      client: 'pg',
      connection: {
        connectionString: url,
        application_name: 'ledger-cli',
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      },
      pool: { min: 0, max: 4 },
      acquireConnectionTimeout: CONNECT_TIMEOUT_MS + 1000,
      // knex prints connection failures itself; the CLI reports them once, in its own words.
      log: { warn: () => undefined, error: () => undefined, debug: () => undefined, deprecate: () => undefined },
    });
    this.pools.push(db);
    try {
      await withTimeout(db.raw('SELECT 1'), CONNECT_TIMEOUT_MS + 1500, `connecting to ${service}`);
    } catch (error) {
      throw serviceFailure(service, addressOf(url, 5432), error);
    }
    return db;
  }

  private async connectKafka<T extends { connect(): Promise<void> }>(client: T): Promise<T> {
    try {
      await withTimeout(client.connect(), CONNECT_TIMEOUT_MS * 3, 'connecting to Kafka');
    } catch (error) {
      throw serviceFailure('Kafka', this.kafkaAddress, error);
    }
    return client;
  }
}

export function createCliRegistry(baseUrl: string): CliRegistry {
  const base = baseUrl.replace(/\/$/, '');
  const address = addressOf(base, new URL(base).protocol === 'https:' ? 443 : 80);
  const get = async (path: string): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, {
        headers: { accept: 'application/vnd.schemaregistry.v1+json' },
        signal: AbortSignal.timeout(REGISTRY_TIMEOUT_MS),
      });
    } catch (error) {
      throw serviceFailure('the schema registry', address, error);
    }
  };
  return {
    client: createRegistryClient(base),
    address,
    async latest(subject) {
      const response = await get(`/subjects/${encodeURIComponent(subject)}/versions/latest`);
      if (response.status === 404) return null;
      if (!response.ok) {
        throw serviceFailure('the schema registry', address, new Error(`answered ${response.status} for ${subject}`));
      }
      const body = (await response.json()) as { id: number; version: number; schema: string };
      return { subject, id: body.id, version: body.version, schema: body.schema };
    },
  };
}
