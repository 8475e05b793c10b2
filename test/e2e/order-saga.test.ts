import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/main.js';
import { type PaymentSimulator, startPaymentSimulator } from '../../ops/simulators/payments/server.js';
import type { SagaView } from '../../queries/ordering/sagas.js';
import type { Config } from '../../runtime/config.js';
import { ProjectionRunner } from '../../runtime/consumer/runner.js';
import { createKafka } from '../../runtime/kafka.js';
import { createLogger } from '../../runtime/log.js';
import { startSagas } from '../../sagas/main.js';
import { orderPaymentSaga } from '../../sagas/ordering/order-payment.js';
import { sagaAsProjection } from '../../sagas/runtime/as-projection.js';
import { uniqueSuffix } from '../support/env.js';
import { baseUrlOf } from '../support/gateway.js';
import { consumeUntil } from '../support/kafka.js';
import { placeOrderBody, seedMenu } from '../support/ordering.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let sys: TestSystem;
let sim: PaymentSimulator;
let config: Config;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sagas: Awaited<ReturnType<typeof startSagas>> | null;
let base: string;
let menu: { restaurantId: string; menuItemIds: string[] };
const address = { line1: '1 Main St', city: 'Lisbon', postalCode: '1000-001', country: 'PT' };
// Long enough for two trips through relay, Kafka and saga on a loaded CI machine (authorized → confirmed → the
// test accepts → the saga sees it), short enough for the timeout tests to wait it out.
const ACCEPTANCE_MS = 8000;
/** The provider-errors test opens the payment circuit; the test after it sees the next order wait for it. */
const CIRCUIT_OPEN_MS = 15_000; // generous: the next order must reach the dispatcher while it is still open

beforeAll(async () => {
  sys = await startTestSystem('saga');
  gateway = await startGateway(sys.config);
  base = baseUrlOf(gateway.app);
  sim = await startPaymentSimulator({
    port: 0,
    webhookUrl: `${base}/webhooks/payments`,
    webhookSecret: sys.config.stripeWebhookSecret,
    slowCardDelayMs: 2000,
  });
  config = {
    ...sys.config,
    paymentSimulatorUrl: sim.url,
    sagaAcceptanceTimeoutMs: ACCEPTANCE_MS,
    sagaRetryBaseMs: 50,
    paymentCircuitOpenMs: CIRCUIT_OPEN_MS,
  };
  sagas = await startSagas(config);
  menu = await seedMenu(sys.write.ordering);
});
afterAll(async () => {
  await sagas?.stop();
  await gateway?.stop();
  await sim?.close();
  await sys?.close();
});

const token = (accountId: string, role: 'customer' | 'restaurant' | 'courier' | 'admin') =>
  gateway.tokens.accessToken({ accountId, role });
const post = async (path: string, body: unknown, bearer: string) => {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const placeOrder = async (card: string) => {
  const res = await post(
    '/commands/ordering/place-order',
    {
      restaurantId: menu.restaurantId,
      items: [{ menuItemId: menu.menuItemIds[0], quantity: 2 }],
      payment: { card },
      deliveryAddress: address,
    },
    token('customer-saga', 'customer'),
  );
  expect(res.status).toBe(201);
  return String(res.body.streamId).replace(/^order-/, '');
};
const saga = (orderId: string) => sys.read.ordering.orderSaga(orderId);
const waitSaga = (orderId: string, predicate: (s: SagaView) => boolean, what: string, timeoutMs = 20_000) =>
  waitUntil(
    async () => {
      const s = await saga(orderId);
      return s && predicate(s) ? s : undefined;
    },
    timeoutMs,
    what,
  );
const stateOf = (s: SagaView) => s.state as { order: string; payment: string; providerRef: string | null };
const callsFor = (providerRef: string | null, operation: string) =>
  sim.calls().filter((c) => c.paymentIntent === providerRef && c.operation === operation);

async function deliver(orderId: string) {
  const owner = token('owner', 'restaurant');
  for (const step of ['accept-order', 'mark-order-preparing', 'mark-order-ready']) {
    expect((await post(`/commands/ordering/${step}`, { orderId }, owner)).status, step).toBe(200);
  }
  for (const step of ['mark-order-picked-up', 'mark-order-delivered']) {
    expect((await post(`/commands/ordering/${step}`, { orderId }, token('courier-1', 'courier'))).status, step).toBe(
      200,
    );
  }
}

describe('order/payment saga end to end', () => {
  it('happy path: authorized, confirmed, delivered, captured exactly once', async () => {
    const orderId = await placeOrder('4242424242424242');
    await waitSaga(orderId, (s) => stateOf(s).order === 'CONFIRMED', 'the order to be confirmed');
    await deliver(orderId);
    const done = await waitSaga(orderId, (s) => s.status === 'COMPLETED', 'the saga to complete');
    expect(callsFor(stateOf(done).providerRef, 'payment_intents.capture')).toHaveLength(1);
    expect(callsFor(stateOf(done).providerRef, 'payment_intents.create')).toHaveLength(1);
  });

  it('carries the client’s correlation and trace ids through the saga’s commands, each caused by the event before', async () => {
    const traceId = randomBytes(16).toString('hex');
    const requestId = randomUUID();
    const res = await fetch(`${base}/commands/ordering/place-order`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token('customer-trace', 'customer')}`,
        'x-request-id': requestId,
        traceparent: `00-${traceId}-${'ab'.repeat(8)}-01`,
      },
      body: JSON.stringify(placeOrderBody(menu)),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-trace-id')).toBe(traceId);
    const orderId = String(((await res.json()) as { streamId: string }).streamId).replace(/^order-/, '');
    const confirmedSaga = await waitSaga(orderId, (s) => stateOf(s).order === 'CONFIRMED', 'the order to be confirmed');
    const orderEvents = await sys.write.store.readStream(`order-${orderId}`);
    const paymentId = (confirmedSaga.state as { paymentId: string }).paymentId;
    const paymentEvents = await sys.write.store.readStream(`payment-${paymentId}`);
    const placed = orderEvents.find((e) => e.eventType === 'OrderPlaced')!;
    const authorized = paymentEvents.find((e) => e.eventType === 'PaymentAuthorized')!;
    const confirmed = orderEvents.find((e) => e.eventType === 'OrderConfirmed')!;
    expect(placed.metadata).toMatchObject({ correlationId: requestId, traceId });
    // The saga's authorize step carries the flow on, caused by OrderPlaced. The authorization itself is recorded by
    // whichever comes first, that step or the provider's webhook (its own event as the cause): both are legitimate,
    // the later one appends nothing.
    const authorize = await sys.write.db('saga_commands').where({ saga_id: orderId, step: 'authorize' }).first('cause');
    expect(authorize?.cause).toEqual({ correlationId: requestId, causationId: placed.eventId, traceId });
    if (authorized.metadata.actor !== 'provider:payments') {
      expect(authorized.metadata).toMatchObject({ correlationId: requestId, causationId: placed.eventId, traceId });
    }
    expect(confirmed.metadata).toMatchObject({ correlationId: requestId, causationId: authorized.eventId, traceId });
    // And on Kafka, beside the contract's headers.
    const topic = `${config.topicPrefix}ordering.order`;
    const messages = await consumeUntil([topic], (m) => m.some((x) => x.headers['event-id'] === confirmed.eventId));
    expect(messages.find((x) => x.headers['event-id'] === confirmed.eventId)?.headers).toMatchObject({
      'correlation-id': requestId,
      'causation-id': authorized.eventId,
      'trace-id': traceId,
    });
  });

  it('a declined card rejects the order and captures nothing', async () => {
    const orderId = await placeOrder('4000000000000002');
    const done = await waitSaga(orderId, (s) => s.status === 'REJECTED', 'the order to be rejected');
    expect(stateOf(done)).toMatchObject({ order: 'REJECTED', payment: 'DECLINED' });
    expect(
      sim
        .calls()
        .filter((c) => c.operation === 'payment_intents.capture' && c.paymentIntent === stateOf(done).providerRef),
    ).toHaveLength(0);
  });

  it('a restaurant that does not accept in time: the order is cancelled and the authorization voided', async () => {
    const orderId = await placeOrder('4242424242424242');
    const done = await waitSaga(
      orderId,
      (s) => s.status === 'CANCELLED',
      'the acceptance deadline',
      ACCEPTANCE_MS + 20_000,
    );
    expect(stateOf(done)).toMatchObject({ order: 'CANCELLED', payment: 'VOIDED' });
    expect(callsFor(stateOf(done).providerRef, 'payment_intents.cancel')).toHaveLength(1);
    expect(done.deadlines.find((d) => d.name === 'restaurant-acceptance')?.status).toBe('fired');
  });

  it('a cancellation after capture is refunded', async () => {
    const orderId = await placeOrder('4242424242424242');
    await waitSaga(orderId, (s) => stateOf(s).order === 'CONFIRMED', 'the order to be confirmed');
    await deliver(orderId);
    await waitSaga(orderId, (s) => s.status === 'COMPLETED', 'the capture');
    expect(
      (await post('/commands/ordering/cancel-order', { orderId, reason: 'cold food' }, token('admin-1', 'admin')))
        .status,
    ).toBe(200);
    const done = await waitSaga(orderId, (s) => s.status === 'REFUNDED', 'the refund');
    expect(callsFor(stateOf(done).providerRef, 'refunds.create')).toHaveLength(1);
  });

  it('provider errors are retried with exponential backoff, then the saga compensates and the failure is visible', async () => {
    const orderId = await placeOrder('4000000000009995');
    const done = await waitSaga(orderId, (s) => s.status === 'REJECTED', 'the rejection after retries');
    const authorize = done.commands.find((c) => c.step === 'authorize')!;
    expect(authorize).toMatchObject({ status: 'failed', attempts: 5 });
    expect(authorize.lastError).toMatch(/Transient/);
    const retries = done.timeline
      .filter((t) => t.kind === 'command-retry')
      .map((t) => (t.detail as { delayMs: number }).delayMs);
    expect(retries).toEqual([50, 100, 200, 400]);
    expect(done.timeline.some((t) => t.kind === 'command-failed')).toBe(true);
  });

  it('after those errors the circuit is open: the next authorization waits without using attempts, then succeeds', async () => {
    const orderId = await placeOrder('4242424242424242');
    const deferred = await waitSaga(
      orderId,
      (s) => s.commands.some((c) => c.step === 'authorize' && /circuit open/.test(c.lastError ?? '')),
      'the authorization to be deferred by the open circuit',
    );
    expect(deferred.commands.find((c) => c.step === 'authorize')).toMatchObject({ status: 'pending', attempts: 0 });
    const confirmed = await waitSaga(
      orderId,
      (s) => stateOf(s).order === 'CONFIRMED',
      'the authorization once the circuit lets a trial through',
      CIRCUIT_OPEN_MS + 20_000,
    );
    expect(confirmed.commands.find((c) => c.step === 'authorize')).toMatchObject({ status: 'done', attempts: 1 });
    expect(callsFor(stateOf(confirmed).providerRef, 'payment_intents.create')).toHaveLength(1);
  });

  it('delivering every event again (a second consumer group) performs no provider call twice', async () => {
    const orderId = await placeOrder('4242424242424242');
    await waitSaga(orderId, (s) => stateOf(s).order === 'CONFIRMED', 'the order to be confirmed');
    await deliver(orderId);
    await waitSaga(orderId, (s) => s.status === 'COMPLETED', 'the saga to complete');
    const callsBefore = sim.calls().length;
    const commandsBefore = Number((await sys.write.db('saga_commands').count({ n: '*' }).first())?.n);
    const logger = createLogger('saga-replay', 'silent');
    const kafka = createKafka(config.kafkaBrokers, 'saga-replay', logger);
    const producer = kafka.producer();
    await producer.connect();
    const definition = orderPaymentSaga({ acceptanceTimeoutMs: ACCEPTANCE_MS, paymentTimeoutMs: 120_000 });
    const group = `${config.topicPrefix}saga-replay-${uniqueSuffix()}`;
    const replay = new ProjectionRunner(
      kafka,
      producer,
      sys.write.codec,
      sagaAsProjection(sys.write.db, definition),
      logger,
      {
        topicPrefix: config.topicPrefix,
        groupId: group,
      },
    );
    await replay.start();
    const admin = kafka.admin();
    await admin.connect();
    await waitUntil(
      async () => {
        for (const topic of definition.topics.map((t) => config.topicPrefix + t)) {
          const ends = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          const behind = committed!.partitions.some((p) => {
            const high = Number(ends.find((e) => e.partition === p.partition)!.high);
            return high > 0 && Number(p.offset) < high;
          });
          if (behind) return false;
        }
        return true;
      },
      30_000,
      'the replay to reach the end of the topics',
    );
    await replay.stop();
    await admin.disconnect();
    await producer.disconnect();
    await new Promise((r) => setTimeout(r, 500)); // let the dispatcher run anything the replay might have queued
    expect(sim.calls().length).toBe(callsBefore);
    expect(Number((await sys.write.db('saga_commands').count({ n: '*' }).first())?.n)).toBe(commandsBefore);
  });
});

describe('saga process killed with SIGKILL', () => {
  const startChild = (): ChildProcess =>
    spawn(process.execPath, ['--import', 'tsx', 'sagas/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: sys.url,
        TOPIC_PREFIX: config.topicPrefix,
        PAYMENT_SIMULATOR_URL: sim.url,
        SAGA_ACCEPTANCE_TIMEOUT_MS: String(ACCEPTANCE_MS),
        SAGA_RETRY_BASE_MS: '50',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  const kill = async (child: ChildProcess, signal: NodeJS.Signals) => {
    child.kill(signal);
    await new Promise((r) => child.once('exit', r));
  };

  it('completes the flow after a restart, and fires a deadline that fell due while it was down exactly once', async () => {
    await sagas?.stop();
    sagas = null;
    let child = startChild();
    try {
      // The slow card keeps the authorization in flight while the process is killed.
      const creates = () => sim.requests().filter((r) => r.path === '/v1/payment_intents').length;
      const before = creates();
      const orderId = await placeOrder('4000000000000077');
      await waitUntil(async () => creates() > before, 20_000, 'the authorization to start');
      await kill(child, 'SIGKILL');
      child = startChild();
      await waitSaga(orderId, (s) => stateOf(s).order === 'CONFIRMED', 'confirmation after the restart', 40_000);
      await kill(child, 'SIGKILL');
      // Down while the acceptance deadline falls due.
      await new Promise((r) => setTimeout(r, ACCEPTANCE_MS + 500));
      child = startChild();
      const done = await waitSaga(
        orderId,
        (s) => s.status === 'CANCELLED',
        'the overdue deadline after the restart',
        40_000,
      );
      expect(stateOf(done).payment).toBe('VOIDED');
      expect(done.timeline.filter((t) => t.kind === 'deadline')).toHaveLength(1);
      expect(callsFor(stateOf(done).providerRef, 'payment_intents.create')).toHaveLength(1);
      expect(callsFor(stateOf(done).providerRef, 'payment_intents.cancel')).toHaveLength(1);
    } finally {
      await kill(child, 'SIGTERM');
    }
  }, 180_000);
});

describe('POST /webhooks/payments', () => {
  const secret = () => sys.config.stripeWebhookSecret;
  const sign = (payload: string, timestamp: number, key = secret()) =>
    `t=${timestamp},v1=${createHmac('sha256', key).update(`${timestamp}.${payload}`).digest('hex')}`;
  const event = (paymentId: string) =>
    JSON.stringify({
      id: `evt_${uniqueSuffix()}`,
      object: 'event',
      type: 'payment_intent.amount_capturable_updated',
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: `pi_${uniqueSuffix()}`,
          object: 'payment_intent',
          amount: 1000,
          amount_capturable: 1000,
          currency: 'eur',
          status: 'requires_capture',
          metadata: { paymentId, orderId: paymentId },
        },
      },
    });
  const send = (payload: string, signature?: string) =>
    fetch(`${base}/webhooks/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) },
      body: payload,
    });
  const paymentEvents = async (paymentId: string) => (await sys.write.store.readStream(`payment-${paymentId}`)).length;

  it('records a correctly signed notice once, however often it is delivered', async () => {
    const paymentId = `wh-${uniqueSuffix()}`;
    const payload = event(paymentId);
    const now = Math.floor(Date.now() / 1000);
    expect((await send(payload, sign(payload, now))).status).toBe(200);
    expect((await send(payload, sign(payload, now))).status).toBe(200);
    expect(await paymentEvents(paymentId)).toBe(1);
  });

  it.each([
    ['unsigned', (p: string) => send(p)],
    ['tampered', (p: string) => send(p.replace('1000', '9000'), sign(p, Math.floor(Date.now() / 1000)))],
    ['signed with another secret', (p: string) => send(p, sign(p, Math.floor(Date.now() / 1000), 'whsec_not_ours'))],
    ['replayed outside the tolerance', (p: string) => send(p, sign(p, Math.floor(Date.now() / 1000) - 3600))],
  ])('answers 400 to a notice that is %s and records nothing', async (_name, deliver) => {
    const paymentId = `wh-${uniqueSuffix()}`;
    const res = await deliver(event(paymentId));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_WEBHOOK_SIGNATURE');
    expect(await paymentEvents(paymentId)).toBe(0);
  });
});
