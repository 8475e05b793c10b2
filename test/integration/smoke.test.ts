import { Client as SearchClient } from '@elastic/elasticsearch';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { createHealthProbe } from '../../runtime/health.js';
import { connect } from '../../runtime/postgres.js';
import { uniqueSuffix } from '../support/env.js';
import { consumeUntil, testKafka } from '../support/kafka.js';
import { requireServices } from '../support/services.js';

// Real round trips through every service of the stack: nothing here is mocked.
const config = loadConfig();
const suffix = uniqueSuffix();

beforeAll(() => requireServices('postgres', 'redis', 'kafka', 'schemaRegistry', 'search'));

const probeSchema = {
  type: 'record',
  name: `Probe${suffix}`,
  namespace: 'ledgerline.smoke',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amountMinor', type: 'long' },
  ],
};

describe('schema registry', () => {
  it('registers an Avro schema and returns the same id for the same schema', async () => {
    const registry = new SchemaRegistry({ host: config.registryUrl });
    const subject = `smoke-${suffix}-value`;
    const first = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(probeSchema) }, { subject });
    const again = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(probeSchema) }, { subject });
    expect(first.id).toBeGreaterThan(0);
    expect(again.id).toBe(first.id);
    expect(await registry.getLatestSchemaId(subject)).toBe(first.id);
  });
});

describe('kafka', () => {
  it('carries an Avro message in the Confluent wire format from producer to consumer group', async () => {
    const registry = new SchemaRegistry({ host: config.registryUrl });
    const topic = `smoke.${suffix}`;
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(probeSchema) },
      { subject: `${topic}-ledgerline.smoke.Probe${suffix}` },
    );
    const value = await registry.encode(id, { id: 'p-1', amountMinor: 1250 });
    expect(value[0]).toBe(0); // magic byte
    expect(value.readUInt32BE(1)).toBe(id);

    const kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'p-1', value }] });
    await producer.disconnect();

    const received = await consumeUntil([topic], (m) => m.length >= 1, 20_000);
    expect(received).toHaveLength(1);
    expect(received[0]!.key).toBe('p-1');
    expect(await registry.decode(received[0]!.value)).toEqual({ id: 'p-1', amountMinor: 1250 });
  });
});

describe('postgres', () => {
  it('commits a transaction and rolls another back', async () => {
    const client = new pg.Client({ connectionString: config.databaseUrl.replace(/\/[^/]*$/, '/postgres') });
    await client.connect();
    const table = `smoke_${suffix}`;
    try {
      await client.query(`CREATE TEMP TABLE ${table} (v int)`);
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${table} VALUES (1)`);
      await client.query('COMMIT');
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${table} VALUES (2)`);
      await client.query('ROLLBACK');
      const { rows } = await client.query(`SELECT v FROM ${table}`);
      expect(rows).toEqual([{ v: 1 }]);
    } finally {
      await client.end();
    }
  });
});

describe('redis', () => {
  it('sets and gets a key, and delivers a pub/sub message', async () => {
    const redis = new Redis(config.redisUrl);
    const subscriber = new Redis(config.redisUrl);
    try {
      await redis.set(`smoke:${suffix}`, 'v', 'EX', 60);
      expect(await redis.get(`smoke:${suffix}`)).toBe('v');
      const channel = `smoke:live:${suffix}`;
      const received = new Promise<string>((resolve) => subscriber.on('message', (_c, message) => resolve(message)));
      await subscriber.subscribe(channel);
      await redis.publish(channel, 'hello');
      expect(await received).toBe('hello');
    } finally {
      redis.disconnect();
      subscriber.disconnect();
    }
  });
});

describe('search', () => {
  const index = `smoke-${suffix}`;
  const search = new SearchClient({ node: config.searchUrl });
  afterAll(async () => {
    await search.indices.delete({ index }, { ignore: [404] });
    await search.close();
  });

  it('indexes a document and finds it by full-text search', async () => {
    await search.indices.create({ index, settings: { number_of_replicas: 0 } });
    await search.index({
      index,
      id: '1',
      document: { name: 'Margherita pizza', description: 'tomato, mozzarella, basil' },
    });
    await search.index({ index, id: '2', document: { name: 'Pad thai', description: 'rice noodles, peanuts' } });
    await search.indices.refresh({ index });
    const result = await search.search<{ name: string }>({ index, query: { match: { description: 'mozzarella' } } });
    expect(result.hits.hits.map((h) => h._source?.name)).toEqual(['Margherita pizza']);
  });
});

describe('a service that is down', () => {
  it('is reported down quickly, by name, for every dependency', async () => {
    // Loopback ports nothing listens on: each client must give up within the probe's bound.
    const dead = loadConfig(
      {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
        REDIS_URL: 'redis://127.0.0.1:2',
        KAFKA_BROKERS: '127.0.0.1:3',
        SCHEMA_REGISTRY_URL: 'http://127.0.0.1:4/apis/ccompat/v7',
        SEARCH_URL: 'http://127.0.0.1:5',
      },
      { secrets: 'unused' },
    );
    const db = connect(dead.databaseUrl, { max: 1 });
    const probe = createHealthProbe(dead, db);
    const started = Date.now();
    try {
      const report = await probe.check();
      expect(Date.now() - started).toBeLessThan(5000);
      for (const [name, status] of Object.entries(report)) {
        expect(status.status, name).toBe('down');
        expect(status.error, name).toBeTruthy();
      }
    } finally {
      await probe.close();
      await db.destroy();
    }
  });
});
