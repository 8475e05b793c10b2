import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWriteSide } from '../../commands/write-side.js';
import { ordersReadModel, ordersTables } from '../../projections/ordering/orders.js';
import { applyInTransaction, type PostgresReadModel, postgresProjection } from '../../projections/runtime/postgres.js';
import { ensureRuntimeTables } from '../../projections/runtime/tables.js';
import { isPoison, StreamGapError } from '../../runtime/consumer/failures.js';
import { ProjectionRunner } from '../../runtime/consumer/runner.js';
import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import { createKafka, ensureTopics } from '../../runtime/kafka.js';
import { createLogger } from '../../runtime/log.js';
import { connect } from '../../runtime/postgres.js';
import { createTestDatabase, testConfig, uniqueSuffix } from '../support/env.js';
import { waitUntil } from '../support/system.js';

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => {
  const database = await createTestDatabase('projfail');
  drop = database.drop;
  db = connect(database.url, { max: 6 });
  await ensureRuntimeTables(db);
  await db.raw('CREATE TABLE applied (event_id text PRIMARY KEY, stream_id text, version int)');
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

/** A read model that records what it applies, and fails the way it is told to. */
function recordingModel(failures: { outageUntil: number }): PostgresReadModel {
  return {
    name: `test.recording.${uniqueSuffix()}`,
    version: 1,
    topics: ['test.recording'],
    createTables: async () => undefined,
    dropTables: async () => undefined,
    async apply(trx, events) {
      if (Date.now() < failures.outageUntil) {
        throw Object.assign(new Error('connect ECONNRESET 127.0.0.1:5432'), { code: 'ECONNRESET' });
      }
      await trx('applied').insert(
        events.map((e) => ({ event_id: e.eventId, stream_id: e.streamId, version: e.streamVersion })),
      );
    },
  };
}

const event = (streamId: string, streamVersion: number): ProjectedEvent => ({
  eventId: randomUUID(),
  eventType: 'Probe',
  streamId,
  streamVersion,
  globalPosition: streamVersion,
  recordedAt: new Date().toISOString(),
  correlationId: 'c',
  data: {},
});

describe('what a projection dead-letters', () => {
  it('classifies message failures as poison and infrastructure failures as retryable', () => {
    expect(isPoison(new StreamGapError('s', 2, 3))).toBe(true);
    expect(isPoison(Object.assign(new Error('x'), { code: 'UNDECODABLE_EVENT' }))).toBe(true);
    expect(isPoison(Object.assign(new Error('bad date'), { code: '22007' }))).toBe(true);
    expect(isPoison(new TypeError('cannot read properties of undefined'))).toBe(true);
    expect(isPoison(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isPoison(Object.assign(new Error('deadlock detected'), { code: '40P01' }))).toBe(false);
    expect(isPoison(new Error('Knex: Timeout acquiring a connection'))).toBe(false);
    expect(isPoison(Object.assign(new Error('bulk'), { failures: [{ status: 429 }] }))).toBe(false);
    expect(isPoison(Object.assign(new Error('bulk'), { failures: [{ status: 400 }] }))).toBe(true);
  });

  it('refuses an event whose stream version skips one: the stream waits for the missing event', async () => {
    const model = recordingModel({ outageUntil: 0 });
    const key = `${model.name}@1`;
    await applyInTransaction(db, key, model, [event('gap-1', 1)], null);
    await expect(applyInTransaction(db, key, model, [event('gap-1', 3)], null)).rejects.toBeInstanceOf(StreamGapError);
    // The missing event arrives (from the DLQ, in order): the stream moves on again.
    await applyInTransaction(db, key, model, [event('gap-1', 2), event('gap-1', 3)], null);
    expect((await db('applied').where('stream_id', 'gap-1').orderBy('version')).map((r) => r.version)).toEqual([
      1, 2, 3,
    ]);
  });

  it('waits out an outage of its database instead of dead-lettering healthy events', async () => {
    const config = testConfig('postgres://postgres@127.0.0.1:5432/postgres');
    const logger = createLogger('projfail', 'silent');
    const kafka = createKafka(config.kafkaBrokers, 'projfail', logger);
    const topic = `${config.topicPrefix}test.recording`;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [topic], 1);
    await admin.disconnect();
    // Real events, encoded by the real codec, so the runner decodes them as it would in production.
    const database = await createTestDatabase('projfailstore');
    const write = await openWriteSide({ ...config, databaseUrl: database.url });
    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 6 }, (_, i) => {
      const encoded = write.codec.encode('RestaurantOpened', { restaurantId: 'r', openedAt: new Date().toISOString() });
      return {
        key: `outage-${i}`,
        value: encoded.payload,
        headers: {
          'event-id': randomUUID(),
          'stream-id': `outage-${i}`,
          'stream-version': '1',
          'global-position': String(i + 1),
        },
      };
    });
    await producer.send({ topic, messages });
    const failures = { outageUntil: Date.now() + 3000 };
    const projection = postgresProjection(db, recordingModel(failures));
    const runner = new ProjectionRunner(kafka, producer, write.codec, projection, logger, {
      topicPrefix: config.topicPrefix,
      retryDelayMs: 100,
    });
    await runner.start();
    try {
      await waitUntil(
        async () => Number((await db('applied').whereLike('stream_id', 'outage-%').count({ n: '*' }).first())?.n) === 6,
        30_000,
        'all six events after the outage',
      );
      // Nothing was dead-lettered: the dead-letter topic was never even created.
      const check = kafka.admin();
      await check.connect();
      const topics = await check.listTopics();
      await check.disconnect();
      expect(topics.filter((t) => t.startsWith(`${topic}.dlq.`))).toEqual([]);
    } finally {
      await runner.stop();
      await producer.disconnect();
      await write.close();
      await database.drop();
    }
  });

  it('counts redelivered events it skips as duplicates, per consumer, in projection_duplicates_skipped_total', async () => {
    const config = testConfig('postgres://postgres@127.0.0.1:5432/postgres');
    const logger = createLogger('projfail', 'silent');
    const kafka = createKafka(config.kafkaBrokers, 'projfail-dup', logger);
    const topic = `${config.topicPrefix}test.recording`;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [topic], 1);
    await admin.disconnect();
    const database = await createTestDatabase('projfaildup');
    const write = await openWriteSide({ ...config, databaseUrl: database.url });
    const producer = kafka.producer();
    await producer.connect();
    const message = (stream: string, eventId: string) => ({
      key: stream,
      value: write.codec.encode('RestaurantOpened', { restaurantId: 'r', openedAt: new Date().toISOString() }).payload,
      headers: { 'event-id': eventId, 'stream-id': stream, 'stream-version': '1', 'global-position': '1' },
    });
    // The same events delivered twice (a producer retry, a replay): the second copies are skipped and counted.
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const streams = ids.map((_, i) => `dup-${uniqueSuffix()}-${i}`);
    const model = recordingModel({ outageUntil: 0 });
    await producer.send({ topic, messages: streams.map((s, i) => message(s, ids[i]!)) });
    await producer.send({ topic, messages: streams.map((s, i) => message(s, ids[i]!)) });
    const metrics = new Registry();
    const runner = new ProjectionRunner(kafka, producer, write.codec, postgresProjection(db, model), logger, {
      topicPrefix: config.topicPrefix,
      metrics,
    });
    const label = `${model.name}.v1`;
    const counted = async (name: string) =>
      (await metrics.getSingleMetric(name)!.get()).values.find((v) => v.labels.projection === label)?.value ?? 0;
    await runner.start();
    try {
      await waitUntil(
        async () => (await counted('projection_events_applied_total')) === 6,
        30_000,
        'both copies of the three events',
      );
      expect(await counted('projection_duplicates_skipped_total')).toBe(3);
      expect(await counted('projection_events_without_state_total')).toBe(0);
      expect(Number((await db('applied').whereIn('stream_id', streams).count({ n: '*' }).first())?.n)).toBe(3);
    } finally {
      await runner.stop();
      await producer.disconnect();
      await write.close();
      await database.drop();
    }
  });

  it('applies 5,000 new orders in one batch, past PostgreSQL’s 65,535 bind-parameter limit', async () => {
    const model = ordersReadModel(77);
    await model.createTables(db);
    const placed = Array.from({ length: 5000 }, (_, i) => ({
      ...event(`order-big-${i}`, 1),
      eventType: 'OrderPlaced',
      data: {
        orderId: `big-${i}`,
        customerId: 'c',
        restaurantId: 'r',
        items: [{ menuItemId: 'm', name: 'Dish', quantity: 1, unitPriceMinor: 500 }],
        totalMinor: 500,
        currency: 'EUR',
        placedAt: new Date().toISOString(),
      },
    }));
    expect(await applyInTransaction(db, 'ordering.orders@77', model, placed, null)).toBe(5000);
    expect(Number((await db(ordersTables(77).orders).count({ n: '*' }).first())?.n)).toBe(5000);
    await model.dropTables(db);
  });
});
