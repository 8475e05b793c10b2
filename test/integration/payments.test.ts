import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PaymentSimulator, startPaymentSimulator, TEST_CARDS } from '../../ops/simulators/payments/index.js';
import {
  type AuthorizeRequest,
  type PaymentNotification,
  PermanentProviderError,
  TransientProviderError,
  WebhookSignatureError,
} from '../../sagas/payments/port.js';
import { createStripeProvider, stripeEndpointOf } from '../../sagas/payments/stripe.js';
import { verifyPaymentWebhook } from '../../sagas/payments/webhooks.js';
import { waitUntil } from '../support/system.js';

// The Stripe adapter (the real SDK) against the local simulator on an ephemeral port, and the simulator's signed
// webhooks checked by the real verification. Nothing here needs the stack.

const API_KEY = 'sk_test_ledgerline_integration';
const SECRET = 'whsec_ledgerline_integration';
const SLOW_MS = 400;

interface Delivery {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A webhook endpoint: records each delivery; can be told to fail the next deliveries or to answer slowly. */
async function startReceiver() {
  const received: Delivery[] = [];
  let failures = 0;
  let delayMs = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      const status = failures > 0 ? 500 : 200;
      if (failures > 0) failures -= 1;
      setTimeout(() => res.writeHead(status).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/payments`,
    received,
    failNext: (count: number) => {
      failures = count;
    },
    answerAfter: (ms: number) => {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

let receiver: Receiver;
let simulator: PaymentSimulator;
let stripe: Stripe;

beforeAll(async () => {
  receiver = await startReceiver();
  simulator = await startPaymentSimulator({
    port: 0,
    webhookUrl: receiver.url,
    webhookSecret: SECRET,
    slowCardDelayMs: SLOW_MS,
    webhookRetryDelaysMs: [50, 50, 50],
  });
  stripe = new Stripe(API_KEY, { ...stripeEndpointOf(simulator.url), maxNetworkRetries: 0 });
});

afterAll(async () => {
  await simulator?.close();
  await receiver?.close();
});

beforeEach(async () => {
  await simulator.webhooksIdle();
  simulator.resetCalls();
  receiver.failNext(0);
  receiver.answerAfter(0);
});

const provider = (timeoutMs = 5000, against: PaymentSimulator = simulator) =>
  createStripeProvider({ apiKey: API_KEY, ...stripeEndpointOf(against.url), timeoutMs });

const key = (label: string): string => `${label}-${randomUUID()}`;

const order = (cardToken: string, amountMinor = 2550): AuthorizeRequest => ({
  paymentId: `pay-${randomUUID()}`,
  orderId: `ord-${randomUUID()}`,
  amountMinor,
  currency: 'EUR',
  cardToken,
});

async function authorized(request = order(TEST_CARDS.approves)): Promise<string> {
  const result = await provider().authorize(request, key('authorize'));
  if (result.outcome !== 'authorized') throw new Error(`expected an authorization, got ${JSON.stringify(result)}`);
  return result.providerRef;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

const callsFor = (paymentIntent: string) => simulator.calls().filter((call) => call.paymentIntent === paymentIntent);

describe('test cards through the Stripe adapter', () => {
  it('4242424242424242 authorizes: a manual-capture intent waiting for capture, with our ids as metadata', async () => {
    const request = order(TEST_CARDS.approves);
    const idempotencyKey = key('authorize');
    const result = await provider().authorize(request, idempotencyKey);
    expect(result).toEqual({ outcome: 'authorized', providerRef: expect.stringMatching(/^pi_/) });
    const providerRef = result.outcome === 'authorized' ? result.providerRef : '';

    const intent = await stripe.paymentIntents.retrieve(providerRef);
    expect(intent).toMatchObject({
      status: 'requires_capture',
      amount: 2550,
      amount_capturable: 2550,
      currency: 'eur',
      capture_method: 'manual',
      metadata: { paymentId: request.paymentId, orderId: request.orderId },
    });
    expect(simulator.calls()).toEqual([
      expect.objectContaining({
        operation: 'payment_intents.create',
        method: 'POST',
        path: '/v1/payment_intents',
        idempotencyKey,
        status: 200,
        paymentIntent: providerRef,
        objectId: providerRef,
        result: 'requires_capture',
        card: TEST_CARDS.approves,
        eventType: 'payment_intent.amount_capturable_updated',
      }),
    ]);
  });

  it('also takes the card as pm_card_<number>', async () => {
    expect((await provider().authorize(order(`pm_card_${TEST_CARDS.approves}`), key('pm'))).outcome).toBe('authorized');
  });

  it('4000000000000002 is declined (402 card_declined): the declined intent is the provider reference', async () => {
    const result = await provider().authorize(order(TEST_CARDS.declines), key('decline'));
    expect(result).toEqual({
      outcome: 'declined',
      reason: 'generic_decline',
      providerRef: expect.stringMatching(/^pi_/),
    });
    const providerRef = result.providerRef ?? '';
    expect((await stripe.paymentIntents.retrieve(providerRef)).status).toBe('requires_payment_method');
    expect(callsFor(providerRef)).toEqual([
      expect.objectContaining({ status: 402, result: 'requires_payment_method' }),
    ]);
  });

  it('4000000000009995 fails with a provider error (500) every time: TransientProviderError, no effect', async () => {
    const request = order(TEST_CARDS.providerError);
    const idempotencyKey = key('provider-error');
    const first = await rejection(provider().authorize(request, idempotencyKey));
    expect(first).toBeInstanceOf(TransientProviderError);
    expect((first as TransientProviderError).cause).toBeInstanceOf(Stripe.errors.StripeAPIError);

    // Like Stripe, the 500 is stored under the key: a retry with it gets the same answer without running again.
    expect(await rejection(provider().authorize(request, idempotencyKey))).toBeInstanceOf(TransientProviderError);
    expect(await rejection(provider().authorize(request, key('other')))).toBeInstanceOf(TransientProviderError);
    expect(simulator.calls()).toEqual([]);
    expect(simulator.requests().map((request) => [request.status, request.replayed])).toEqual([
      [500, false],
      [500, true],
      [500, false],
    ]);
  });

  it('4000000000000077 authorizes after the configured delay', async () => {
    const started = performance.now();
    const result = await provider().authorize(order(TEST_CARDS.approvesSlowly), key('slow'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(SLOW_MS - 5); // timer granularity
    expect(result.outcome).toBe('authorized');
  });

  it('an unknown card is refused for good (404 No such PaymentMethod), with no effect', async () => {
    const error = await rejection(provider().authorize(order('5555555555554444'), key('unknown')));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toMatch(/resource_missing/);
    expect(simulator.calls()).toEqual([]);
  });
});

describe('idempotency keys', () => {
  it('the same key twice: one effect, the same result, the second answer a replay', async () => {
    const request = order(TEST_CARDS.approves);
    const idempotencyKey = key('authorize');
    const first = await provider().authorize(request, idempotencyKey);
    const second = await provider().authorize(request, idempotencyKey);
    expect(second).toEqual(first);
    expect(simulator.calls()).toHaveLength(1);
    expect(simulator.requests().map((entry) => entry.replayed)).toEqual([false, true]);
  });

  it('a declined authorization replays as the same decline', async () => {
    const request = order(TEST_CARDS.declines);
    const idempotencyKey = key('decline');
    const first = await provider().authorize(request, idempotencyKey);
    expect(await provider().authorize(request, idempotencyKey)).toEqual(first);
    expect(simulator.calls()).toHaveLength(1);
  });

  it('the same key with other parameters is refused (400 idempotency_error) and changes nothing', async () => {
    const request = order(TEST_CARDS.approves);
    const idempotencyKey = key('authorize');
    await provider().authorize(request, idempotencyKey);
    const error = await rejection(provider().authorize({ ...request, amountMinor: 9999 }, idempotencyKey));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as PermanentProviderError).cause).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(simulator.calls()).toHaveLength(1);
  });

  it('a timed-out call retried with its key: 409 while the first still runs, then its answer; one effect', async () => {
    // Its own simulator with a long slow card: the retry must land while the first call still runs, however
    // loaded the machine is.
    const slow = await startPaymentSimulator({ port: 0, slowCardDelayMs: 3000 });
    try {
      const request = order(TEST_CARDS.approvesSlowly);
      const idempotencyKey = key('slow');
      const timedOut = await rejection(provider(100, slow).authorize(request, idempotencyKey));
      expect(timedOut).toBeInstanceOf(TransientProviderError);
      expect((timedOut as TransientProviderError).cause).toBeInstanceOf(Stripe.errors.StripeConnectionError);

      const inFlight = await rejection(provider(5000, slow).authorize(request, idempotencyKey));
      expect(inFlight).toBeInstanceOf(TransientProviderError);
      expect(inFlight.message).toMatch(/idempotency_key_in_use/);

      const retried = await waitUntil(
        () =>
          provider(5000, slow)
            .authorize(request, idempotencyKey)
            .catch(() => undefined),
        20_000,
        'the first call to finish',
      );
      expect(retried.outcome).toBe('authorized');
      expect(slow.calls()).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });
});

describe('capture, void and refund', () => {
  it('captures an authorization; capturing again (same key or another) is harmless', async () => {
    const providerRef = await authorized();
    const idempotencyKey = key('capture');
    await provider().capture(providerRef, 2550, idempotencyKey);
    expect(await stripe.paymentIntents.retrieve(providerRef)).toMatchObject({
      status: 'succeeded',
      amount_received: 2550,
      amount_capturable: 0,
    });
    await provider().capture(providerRef, 2550, idempotencyKey);
    await provider().capture(providerRef, 2550, key('capture-again'));
    expect(callsFor(providerRef).map((call) => call.operation)).toEqual([
      'payment_intents.create',
      'payment_intents.capture',
    ]);
  });

  it('captures part of an authorization, and refuses more than it', async () => {
    const partial = await authorized();
    await provider().capture(partial, 2000, key('capture'));
    expect((await stripe.paymentIntents.retrieve(partial)).amount_received).toBe(2000);

    const error = await rejection(provider().capture(await authorized(), 9999, key('capture')));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toMatch(/amount_too_large/);
  });

  it('voids an authorization; voiding again is harmless; capturing it afterwards is refused', async () => {
    const providerRef = await authorized();
    const idempotencyKey = key('void');
    await provider().void(providerRef, idempotencyKey);
    expect((await stripe.paymentIntents.retrieve(providerRef)).status).toBe('canceled');
    await provider().void(providerRef, idempotencyKey);
    await provider().void(providerRef, key('void-again'));

    const error = await rejection(provider().capture(providerRef, 2550, key('capture')));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toMatch(/payment_intent_unexpected_state/);
    expect(callsFor(providerRef).map((call) => call.operation)).toEqual([
      'payment_intents.create',
      'payment_intents.cancel',
    ]);
  });

  it('voids a declined intent too (nothing is held, the intent is closed)', async () => {
    const result = await provider().authorize(order(TEST_CARDS.declines), key('decline'));
    await provider().void(result.providerRef ?? '', key('void'));
    expect((await stripe.paymentIntents.retrieve(result.providerRef ?? '')).status).toBe('canceled');
  });

  it('refunds a capture once; refunding again (same key or another) is harmless', async () => {
    const providerRef = await authorized();
    await provider().capture(providerRef, 2550, key('capture'));
    const idempotencyKey = key('refund');
    await provider().refund(providerRef, 2550, idempotencyKey);
    await provider().refund(providerRef, 2550, idempotencyKey);
    await provider().refund(providerRef, 2550, key('refund-again'));
    expect(callsFor(providerRef).filter((call) => call.operation === 'refunds.create')).toEqual([
      expect.objectContaining({ status: 200, result: 'refunded', objectId: expect.stringMatching(/^re_/) }),
    ]);
  });

  it('refuses to refund an uncaptured authorization, or more than was captured', async () => {
    const uncaptured = await rejection(provider().refund(await authorized(), 2550, key('refund')));
    expect(uncaptured).toBeInstanceOf(PermanentProviderError);
    expect(uncaptured.message).toMatch(/does not have a successful charge to refund/);

    const captured = await authorized();
    await provider().capture(captured, 2550, key('capture'));
    const tooMuch = await rejection(provider().refund(captured, 3000, key('refund')));
    expect(tooMuch).toBeInstanceOf(PermanentProviderError);
    expect(tooMuch.message).toMatch(/amount_too_large/);
  });

  it('refuses to void a captured payment (that needs a refund)', async () => {
    const providerRef = await authorized();
    await provider().capture(providerRef, 2550, key('capture'));
    const error = await rejection(provider().void(providerRef, key('void')));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toMatch(/status of succeeded/);
  });

  it('refuses an unknown intent (404 resource_missing)', async () => {
    const error = await rejection(provider().capture('pi_does_not_exist', 100, key('capture')));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as PermanentProviderError).cause).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('a provider that cannot be reached is a TransientProviderError', async () => {
    const closed = await startPaymentSimulator();
    const endpoint = stripeEndpointOf(closed.url);
    await closed.close();
    const unreachable = createStripeProvider({ apiKey: API_KEY, ...endpoint, timeoutMs: 1000 });
    const error = await rejection(unreachable.authorize(order(TEST_CARDS.approves), key('unreachable')));
    expect(error).toBeInstanceOf(TransientProviderError);
  });
});

describe('wire format', () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${simulator.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/x-www-form-urlencoded',
        ...headers,
      },
      body,
    });

  it('answers a decline with a Stripe card_error body and status 402', async () => {
    const response = await post(
      '/v1/payment_intents',
      `amount=1000&currency=eur&payment_method=${TEST_CARDS.declines}&capture_method=manual&confirm=true`,
    );
    expect(response.status).toBe(402);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
      payment_intent: { object: 'payment_intent', status: 'requires_payment_method' },
    });
  });

  it('refuses a request without an API key (401), an unknown parameter (400) and an unknown URL (404)', async () => {
    const anonymous = await fetch(`${simulator.url}/v1/payment_intents`, { method: 'POST', body: 'amount=1' });
    expect(anonymous.status).toBe(401);

    const unknown = await post('/v1/payment_intents', 'amount=1000&currency=eur&colour=blue');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'parameter_unknown', param: 'colour' },
    });

    const missing = await post('/v1/payment_intents', 'currency=eur');
    expect(await missing.json()).toMatchObject({ error: { code: 'parameter_missing', param: 'amount' } });

    const nowhere = await post('/v1/charges', 'amount=1');
    expect(nowhere.status).toBe(404);
    expect(await nowhere.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('refuses payment_method_types on API versions that no longer take it, as Stripe does', async () => {
    const body = `amount=1000&currency=eur&payment_method=${TEST_CARDS.approves}&payment_method_types[0]=card`;
    const current = await post('/v1/payment_intents', body, { 'stripe-version': '2026-10-28.endive' });
    expect(await current.json()).toMatchObject({ error: { code: 'payment_method_types_no_longer_supported' } });
    const older = await post('/v1/payment_intents', body, { 'stripe-version': '2024-06-20' });
    expect(older.status).toBe(200);
  });

  it('marks replays with Idempotent-Replayed', async () => {
    const body = `amount=1000&currency=eur&payment_method=${TEST_CARDS.approves}&capture_method=manual&confirm=true`;
    const idempotencyKey = key('raw');
    const first = await post('/v1/payment_intents', body, { 'idempotency-key': idempotencyKey });
    const second = await post('/v1/payment_intents', body, { 'idempotency-key': idempotencyKey });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.json()).toEqual(await first.json());
  });

  it('serves the call log as JSON and empties it on DELETE', async () => {
    const providerRef = await authorized();
    const listed = (await (await fetch(`${simulator.url}/_simulator/calls`)).json()) as { paymentIntent: string }[];
    expect(listed.map((call) => call.paymentIntent)).toEqual([providerRef]);
    expect((await fetch(`${simulator.url}/_simulator/calls`, { method: 'DELETE' })).status).toBe(204);
    expect(await (await fetch(`${simulator.url}/_simulator/calls`)).json()).toEqual([]);
    expect(simulator.calls()).toEqual([]);
  });
});

describe('webhooks', () => {
  const deliveredFor = (paymentId: string): { eventId: string; notification: PaymentNotification }[] =>
    receiver.received
      .map((delivery) =>
        verifyPaymentWebhook(delivery.body, delivery.headers['stripe-signature'] as string | undefined, SECRET),
      )
      .filter(({ notification }) => notification.kind !== 'ignored' && notification.paymentId === paymentId);

  it('sends a signed event for every effect, which verifyPaymentWebhook accepts and maps', async () => {
    const captured = order(TEST_CARDS.approves);
    const capturedRef = await authorized(captured);
    await provider().capture(capturedRef, 2550, key('capture'));
    await provider().refund(capturedRef, 2550, key('refund'));
    const voided = order(TEST_CARDS.approves);
    await provider().void(await authorized(voided), key('void'));
    const declined = order(TEST_CARDS.declines);
    await provider().authorize(declined, key('decline'));
    await simulator.webhooksIdle();

    const kinds = (paymentId: string) =>
      deliveredFor(paymentId)
        .map(({ notification }) => notification.kind)
        .sort();
    expect(kinds(captured.paymentId)).toEqual(['authorized', 'captured', 'refunded']);
    expect(kinds(voided.paymentId)).toEqual(['authorized', 'voided']);
    expect(deliveredFor(declined.paymentId).map(({ notification }) => notification)).toEqual([
      {
        kind: 'declined',
        providerRef: expect.stringMatching(/^pi_/),
        paymentId: declined.paymentId,
        orderId: declined.orderId,
        amountMinor: 2550,
        currency: 'EUR',
        reason: 'generic_decline',
      },
    ]);
    expect(deliveredFor(captured.paymentId).find(({ notification }) => notification.kind === 'authorized')).toEqual({
      eventId: expect.stringMatching(/^evt_/),
      notification: {
        kind: 'authorized',
        providerRef: capturedRef,
        paymentId: captured.paymentId,
        orderId: captured.orderId,
        amountMinor: 2550,
        currency: 'EUR',
      },
    });
  });

  it('a tampered copy, or one checked with another secret, is rejected', async () => {
    await authorized();
    await simulator.webhooksIdle();
    const [delivery] = receiver.received.slice(-1);
    if (delivery === undefined) throw new Error('no webhook received');
    const header = delivery.headers['stripe-signature'] as string;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyPaymentWebhook(delivery.body, header, SECRET).notification.kind).toBe('authorized');

    const tampered = Buffer.from(delivery.body.toString('utf8').replace('"amount":2550', '"amount":1'));
    expect(tampered.equals(delivery.body)).toBe(false);
    expect(() => verifyPaymentWebhook(tampered, header, SECRET)).toThrow(WebhookSignatureError);
    expect(() => verifyPaymentWebhook(delivery.body, header, 'whsec_wrong')).toThrow(WebhookSignatureError);
    expect(() => verifyPaymentWebhook(delivery.body, undefined, SECRET)).toThrow(WebhookSignatureError);
  });

  it('retries a delivery the endpoint refused, with the same event id', async () => {
    receiver.failNext(2);
    const before = receiver.received.length;
    await authorized();
    await simulator.webhooksIdle();
    const attempts = receiver.received.slice(before).map((delivery) => JSON.parse(delivery.body.toString()).id);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts).size).toBe(1);
    expect(simulator.webhookDeliveries()).toEqual([
      expect.objectContaining({ eventId: attempts[0], attempts: 3, status: 'delivered' }),
    ]);
  });

  it('gives up after the configured retries', async () => {
    receiver.failNext(10);
    await authorized();
    await simulator.webhooksIdle();
    expect(simulator.webhookDeliveries()).toEqual([
      expect.objectContaining({ attempts: 4, status: 'failed', lastError: 'HTTP 500' }),
    ]);
  });

  it('can send an event again, as Stripe sometimes does', async () => {
    await authorized();
    await simulator.webhooksIdle();
    const [event] = simulator.events().slice(-1);
    const before = receiver.received.length;
    expect(simulator.resendEvent(event?.id ?? '')).toBe(true);
    await simulator.webhooksIdle();
    expect(receiver.received.slice(before).map((delivery) => JSON.parse(delivery.body.toString()).id)).toEqual([
      event?.id,
    ]);
  });

  it('never holds up the API answer, even when the endpoint is slow', async () => {
    receiver.answerAfter(2500);
    await authorized();
    // Answered while the endpoint still sits on the webhook: its delivery has not been acknowledged yet.
    expect(simulator.webhookDeliveries().slice(-1)[0]?.status).not.toBe('delivered');
    await simulator.webhooksIdle();
    expect(simulator.webhookDeliveries().slice(-1)[0]?.status).toBe('delivered');
  });

  it('sends nothing without a webhook URL (events are still recorded)', async () => {
    const quiet = await startPaymentSimulator();
    try {
      const before = receiver.received.length;
      const silent = createStripeProvider({ apiKey: API_KEY, ...stripeEndpointOf(quiet.url) });
      await silent.authorize(order(TEST_CARDS.approves), key('quiet'));
      await quiet.webhooksIdle();
      expect(quiet.events().map((event) => event.type)).toEqual(['payment_intent.amount_capturable_updated']);
      expect(quiet.webhookDeliveries()).toEqual([]);
      expect(receiver.received.length).toBe(before);
    } finally {
      await quiet.close();
    }
  });
});
