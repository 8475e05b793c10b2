import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectionRunner } from '../../runtime/consumer/runner.js';
import { createKafka } from '../../runtime/kafka.js';
import { createLogger } from '../../runtime/log.js';
import { orderPaymentSaga } from '../../sagas/ordering/order-payment.js';
import { sagaAsProjection } from '../../sagas/runtime/as-projection.js';
import { ensureSagaTables } from '../../sagas/runtime/tables.js';
import type { SagaDefinition } from '../../sagas/runtime/types.js';
import { placeOrder, seedMenu } from '../support/ordering.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// Issue 14: the saga's Kafka consumer applies batches of several partitions side by side, each in one transaction.
// Real Kafka and PostgreSQL: orders placed through the write side, published by the relay, consumed by the order
// saga whose reaction fails once mid-batch (the process dying there, as far as the batch is concerned).

const ORDERS = 40;
let sys: TestSystem;
const logger = createLogger('saga-consumer-test', 'silent');
const saga = orderPaymentSaga({ acceptanceTimeoutMs: 600_000, paymentTimeoutMs: 600_000 });
const definition = saga as unknown as SagaDefinition<unknown>;
let kafka: ReturnType<typeof createKafka>;
let producer: ReturnType<ReturnType<typeof createKafka>['producer']>;
const runners: ProjectionRunner[] = [];

beforeAll(async () => {
  sys = await startTestSystem('sagaconsumer', { projector: false });
  await ensureSagaTables(sys.write.db);
  kafka = createKafka(sys.config.kafkaBrokers, 'saga-consumer-test', logger);
  producer = kafka.producer();
  await producer.connect();
  const menu = await seedMenu(sys.write.ordering, 1);
  for (let i = 0; i < ORDERS; i++) await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds, `c${i}`);
  // Published before the saga starts: a backlog, so batches hold several events.
  await waitUntil(async () => Number((await sys.write.db('outbox').count({ n: '*' }).first())?.n) === 0, 30_000);
});
afterAll(async () => {
  for (const runner of runners) await runner.stop();
  await producer?.disconnect();
  await sys?.close();
});

async function consume(definition: SagaDefinition<unknown>, group: string, metrics: Registry) {
  const runner = new ProjectionRunner(
    kafka,
    producer,
    sys.write.codec,
    sagaAsProjection(sys.write.db, definition),
    logger,
    {
      topicPrefix: sys.config.topicPrefix,
      groupId: `${sys.config.topicPrefix}saga.${group}`,
      metrics,
      retryDelayMs: 50,
      partitionsConsumedConcurrently: 4,
    },
  );
  runners.push(runner);
  await runner.start();
}

const db = () => sys.write.db;
const count = async (table: string, where: Record<string, unknown> = {}) =>
  Number((await db()(table).where(where).count({ n: '*' }).first())?.n);
const duplicates = async (metrics: Registry) =>
  (await metrics.getSingleMetric('projection_duplicates_skipped_total')!.get()).values.reduce((n, v) => n + v.value, 0);

describe('the saga consumer', () => {
  it('a reaction failing mid-batch commits nothing of the batch; the retried batch reacts to each event once', async () => {
    let calls = 0;
    const crashing: SagaDefinition<unknown> = {
      ...definition,
      react: (state, event, now) => {
        if (++calls === 7) throw new Error('the saga process died here');
        return definition.react(state, event, now);
      },
    };
    const metrics = new Registry();
    await consume(crashing, 'crashing', metrics);
    await waitUntil(async () => (await count('saga_instances')) === ORDERS, 60_000, 'every order to start its saga');
    expect(calls).toBeGreaterThan(ORDERS); // the failed batch was applied again
    expect(await count('saga_processed_events')).toBe(ORDERS);
    expect(await count('saga_timeline', { kind: 'event' })).toBe(ORDERS);
    expect(await count('saga_commands', { step: 'authorize' })).toBe(ORDERS);
    expect(await db()('saga_instances').distinct('version').pluck('version')).toEqual([1]);
    // Nothing of the failed attempt had committed: its events were fresh when retried, none skipped as applied.
    expect(await duplicates(metrics)).toBe(0);

    // Everything delivered again (a second consumer group from the beginning): each event a duplicate, nothing new.
    const replay = new Registry();
    await consume(definition, 'replay', replay);
    await waitUntil(async () => (await duplicates(replay)) === ORDERS, 60_000, 'the replay to skip every event');
    expect(await count('saga_timeline', { kind: 'event' })).toBe(ORDERS);
    expect(await count('saga_commands')).toBe(ORDERS);
    expect(await db()('saga_instances').distinct('version').pluck('version')).toEqual([1]);
  });
});
