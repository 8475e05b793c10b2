import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/main.js';
import { type PaymentSimulator, startPaymentSimulator } from '../../ops/simulators/payments/server.js';
import { ProjectionRunner } from '../../runtime/consumer/runner.js';
import { createKafka } from '../../runtime/kafka.js';
import { createLogger } from '../../runtime/log.js';
import { isTransient, orderPaymentHandlers } from '../../sagas/ordering/command-handlers.js';
import { paymentProviderFor } from '../../sagas/ordering/index.js';
import { type OrderPaymentState, orderPaymentSaga, PAYMENT_DEADLINE } from '../../sagas/ordering/order-payment.js';
import { sagaAsProjection } from '../../sagas/runtime/as-projection.js';
import { SagaCommandDispatcher } from '../../sagas/runtime/dispatcher.js';
import { DeadlineScheduler } from '../../sagas/runtime/scheduler.js';
import { ensureSagaTables } from '../../sagas/runtime/tables.js';
import type { SagaDefinition } from '../../sagas/runtime/types.js';
import { baseUrlOf } from '../support/gateway.js';
import { placeOrderBody, seedMenu } from '../support/ordering.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// Issue 13, item 1: a lagging saga rejected orders that were paid. The saga's pieces run as sagas/main.ts wires
// them — command dispatcher, deadline scheduler, Kafka consumer — on the real stack, except that the consumer is
// split by topic so the test can hold the payment topic back while the dispatcher goes on performing commands:
// the saga sees OrderPlaced and authorizes, the provider answers, PaymentAuthorized waits on Kafka past the payment
// deadline. Every paid order must end CONFIRMED.

const PAYMENT_TIMEOUT_MS = 3000;
const SLOW_CARD_MS = 8000; // the slow test card's authorization outlasts the payment timeout by far
const ORDERS = 20;

let sys: TestSystem;
let sim: PaymentSimulator;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let base: string;
let menu: { restaurantId: string; menuItemIds: string[] };
const logger = createLogger('lagging-saga', 'silent');
const saga = orderPaymentSaga({ acceptanceTimeoutMs: 600_000, paymentTimeoutMs: PAYMENT_TIMEOUT_MS });
const definition = saga as unknown as SagaDefinition<unknown>;
let dispatcher: SagaCommandDispatcher;
let scheduler: DeadlineScheduler;
let kafka: ReturnType<typeof createKafka>;
let producer: ReturnType<ReturnType<typeof createKafka>['producer']>;
const runners: ProjectionRunner[] = [];

beforeAll(async () => {
  sys = await startTestSystem('lagsaga', { projector: false });
  gateway = await startGateway(sys.config);
  base = baseUrlOf(gateway.app);
  sim = await startPaymentSimulator({
    port: 0,
    webhookUrl: `${base}/webhooks/payments`,
    webhookSecret: sys.config.stripeWebhookSecret,
    slowCardDelayMs: SLOW_CARD_MS,
  });
  await ensureSagaTables(sys.write.db);
  const provider = paymentProviderFor({ ...sys.config, paymentSimulatorUrl: sim.url });
  dispatcher = new SagaCommandDispatcher(
    sys.write.db,
    orderPaymentHandlers(sys.write.ordering, provider),
    isTransient,
    logger,
    { backoffBaseMs: 50 },
  ).register(definition);
  scheduler = new DeadlineScheduler(sys.write.db, logger).register(definition);
  kafka = createKafka(sys.config.kafkaBrokers, 'lagging-saga', logger);
  producer = kafka.producer();
  await producer.connect();
  menu = await seedMenu(sys.write.ordering);
});
afterAll(async () => {
  for (const runner of runners) await runner.stop();
  await dispatcher?.stop();
  await scheduler?.stop();
  await producer?.disconnect();
  await gateway?.stop();
  await sim?.close();
  await sys?.close();
});

/** The saga's consumer for one of its topics, in a consumer group of its own (from the topic's beginning). */
async function consume(topic: 'ordering.order' | 'ordering.payment'): Promise<void> {
  const runner = new ProjectionRunner(
    kafka,
    producer,
    sys.write.codec,
    sagaAsProjection(sys.write.db, { ...definition, topics: [topic] }),
    logger,
    { topicPrefix: sys.config.topicPrefix, groupId: `${sys.config.topicPrefix}saga.${saga.name}.${topic}` },
  );
  runners.push(runner);
  await runner.start();
  await runner.joined();
}

async function placeOrder(customer: string, card = '4242424242424242'): Promise<string> {
  const res = await fetch(`${base}/commands/ordering/place-order`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${gateway.tokens.accessToken({ accountId: customer, role: 'customer' })}`,
    },
    body: JSON.stringify(placeOrderBody(menu, { card })),
  });
  expect(res.status).toBe(201);
  return String(((await res.json()) as { streamId: string }).streamId).replace(/^order-/, '');
}

const db = () => sys.write.db;
const count = async (query: Knex.QueryBuilder) => Number((await query.count({ n: '*' }).first())?.n);
/** The order's status as its own stream says (the write side's truth, not the saga's view). */
async function orderStatus(orderId: string): Promise<string> {
  const events = (await sys.write.store.readStream(`order-${orderId}`)).map((e) => e.eventType);
  if (events.includes('OrderRejected')) return 'REJECTED';
  if (events.includes('OrderCancelled')) return 'CANCELLED';
  if (events.includes('OrderConfirmed')) return 'CONFIRMED';
  return 'PENDING';
}
const sagaState = async (orderId: string) =>
  (await db()('saga_instances').where({ saga_type: saga.name, saga_id: orderId }).first('state'))
    ?.state as OrderPaymentState;

describe('a saga whose consumer lags behind its dispatcher', () => {
  it('orders authorized while PaymentAuthorized waits on Kafka past the payment deadline all end CONFIRMED', async () => {
    await consume('ordering.order');
    dispatcher.start();
    const orderIds: string[] = [];
    for (let i = 0; i < ORDERS; i++) orderIds.push(await placeOrder(`customer-lag-${i}`));
    const mine = () => db()('saga_commands').whereIn('saga_id', orderIds);

    // The dispatcher authorizes every order: the provider's answers are recorded, their events are on Kafka.
    await waitUntil(
      async () => (await count(mine().where({ step: 'authorize', status: 'done' }))) === ORDERS,
      30_000,
      'every authorization to be performed',
    );
    // The payment topic is still held back when the deadlines fall due and fire (the scheduler is let go only now,
    // so that each one fires in exactly this interleaving: authorize done, its event not yet consumed).
    const deadlines = () => db()('saga_deadlines').whereIn('saga_id', orderIds).where({ name: PAYMENT_DEADLINE });
    await waitUntil(
      async () => (await count(deadlines().where('due_at', '>', new Date()))) === 0,
      PAYMENT_TIMEOUT_MS + 10_000,
      'the payment deadlines to fall due',
    );
    scheduler.start();
    await waitUntil(
      async () => (await count(deadlines().where({ status: 'fired' }))) === ORDERS,
      20_000,
      'every payment deadline to fire',
    );
    await new Promise((r) => setTimeout(r, 500)); // let the dispatcher perform whatever the deadlines asked for
    for (const orderId of orderIds) expect(await sagaState(orderId)).toMatchObject({ payment: 'AUTHORIZING' });

    // The consumer catches up.
    await consume('ordering.payment');
    await waitUntil(
      async () => {
        const statuses = await Promise.all(orderIds.map(orderStatus));
        return statuses.every((s) => s !== 'PENDING') && statuses;
      },
      60_000,
      'every order to be decided',
    );
    const statuses = await Promise.all(orderIds.map(orderStatus));
    expect(statuses.filter((s) => s !== 'CONFIRMED')).toEqual([]);
    await waitUntil(
      async () => (await count(mine().whereNot({ status: 'done' }))) === 0,
      30_000,
      'every saga command to be done',
    );
    expect(await count(mine().where({ step: 'reject-order' }))).toBe(0);
    expect(await count(mine().where({ step: 'void' }))).toBe(0);
    expect(sim.calls().filter((c) => c.operation === 'payment_intents.cancel')).toHaveLength(0);
    // And the saga, having read the whole story, agrees.
    await waitUntil(
      async () => (await Promise.all(orderIds.map(sagaState))).every((s) => s.order === 'CONFIRMED'),
      30_000,
      'the saga to see every order confirmed',
    );
    for (const orderId of orderIds) {
      expect(await sagaState(orderId)).toMatchObject({ order: 'CONFIRMED', payment: 'AUTHORIZED' });
    }
  }, 180_000);

  it('a payment deadline falling due while the authorization is in flight waits for its answer', async () => {
    // The dispatcher claims the authorization at once; the simulator answers after SLOW_CARD_MS, long after the
    // deadline (PAYMENT_TIMEOUT_MS) fell due, and the payment topic is consumed as it comes.
    const orderId = await placeOrder('customer-slow', '4000000000000077');
    await waitUntil(async () => (await orderStatus(orderId)) !== 'PENDING', 60_000, 'the order to be decided');
    expect(await orderStatus(orderId)).toBe('CONFIRMED');
    const timeline = await db()('saga_timeline').where({ saga_id: orderId }).orderBy('id').pluck('kind');
    expect(timeline).toContain('deadline-deferred');
    expect(await count(db()('saga_commands').where({ saga_id: orderId, step: 'reject-order' }))).toBe(0);
  }, 90_000);
});
