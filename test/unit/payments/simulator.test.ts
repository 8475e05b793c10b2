import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { resolveTestCard, TEST_CARDS } from '../../../ops/simulators/payments/cards.js';
import { SimulatorError } from '../../../ops/simulators/payments/errors.js';
import { canonical, FormError, parseForm } from '../../../ops/simulators/payments/form.js';
import { IdempotencyStore } from '../../../ops/simulators/payments/idempotency.js';
import { signStripePayload } from '../../../ops/simulators/payments/webhook-sender.js';

describe('simulator form parsing', () => {
  it('reads the bracketed keys the SDK writes into nested objects and arrays', () => {
    const body =
      'amount=1250&currency=eur&metadata[paymentId]=pay-1&metadata[orderId]=ord%201' +
      '&allowed_payment_method_types[0]=card&expand[]=latest_charge&expand[]=customer';
    expect(parseForm(body)).toEqual({
      amount: '1250',
      currency: 'eur',
      metadata: { paymentId: 'pay-1', orderId: 'ord 1' },
      allowed_payment_method_types: ['card'],
      expand: ['latest_charge', 'customer'],
    });
  });

  it('accepts percent-encoded brackets as well', () => {
    expect(parseForm('metadata%5BpaymentId%5D=p')).toEqual({ metadata: { paymentId: 'p' } });
  });

  it('gives the same canonical text to the same parameters in any order', () => {
    const a = parseForm('amount=1&metadata[a]=1&metadata[b]=2');
    const b = parseForm('metadata[b]=2&amount=1&metadata[a]=1');
    expect(canonical(a)).toBe(canonical(b));
    expect(canonical(a)).not.toBe(canonical(parseForm('amount=2&metadata[a]=1&metadata[b]=2')));
  });

  it('refuses keys that would reach the object prototype, and malformed keys', () => {
    expect(() => parseForm('__proto__[polluted]=1')).toThrow(FormError);
    expect(() => parseForm('metadata[constructor]=1')).toThrow(FormError);
    expect(() => parseForm('a]b=1')).toThrow(FormError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('simulator test cards', () => {
  it('maps each card of the contract to its behaviour', () => {
    expect(resolveTestCard(TEST_CARDS.approves)?.behaviour).toBe('approve');
    expect(resolveTestCard(TEST_CARDS.declines)?.behaviour).toBe('decline');
    expect(resolveTestCard(TEST_CARDS.providerError)?.behaviour).toBe('provider_error');
    expect(resolveTestCard(TEST_CARDS.approvesSlowly)?.behaviour).toBe('approve_slowly');
  });

  it('accepts the pm_card_ prefix, spaces and dashes, and Stripe aliases', () => {
    expect(resolveTestCard('pm_card_4242424242424242')).toEqual({ number: TEST_CARDS.approves, behaviour: 'approve' });
    expect(resolveTestCard('4000 0000 0000 0002')?.behaviour).toBe('decline');
    expect(resolveTestCard('4000-0000-0000-9995')?.behaviour).toBe('provider_error');
    expect(resolveTestCard('pm_card_visa')?.behaviour).toBe('approve');
    expect(resolveTestCard('pm_card_chargeDeclined')?.behaviour).toBe('decline');
  });

  it('knows no other card', () => {
    expect(resolveTestCard('5555555555554444')).toBeNull();
    expect(resolveTestCard('pm_1234')).toBeNull();
  });
});

describe('simulator idempotency store', () => {
  const refusal = (run: () => unknown): SimulatorError => {
    try {
      run();
    } catch (error) {
      if (error instanceof SimulatorError) return error;
      throw error;
    }
    throw new Error('expected a refusal');
  };

  it('runs a new key, then replays the stored answer', () => {
    const store = new IdempotencyStore();
    expect(store.admit('k', '/v1/refunds', 'p')).toEqual({ kind: 'run' });
    store.finish('k', { status: 200, body: { id: 're_1' } });
    expect(store.admit('k', '/v1/refunds', 'p')).toEqual({
      kind: 'replay',
      answer: { status: 200, body: { id: 're_1' } },
    });
  });

  it('answers 409 while the first request with the key is still running', () => {
    const store = new IdempotencyStore();
    store.admit('k', '/v1/refunds', 'p');
    const error = refusal(() => store.admit('k', '/v1/refunds', 'p'));
    expect(error.status).toBe(409);
    expect(error.body.code).toBe('idempotency_key_in_use');
  });

  it('refuses the key on another endpoint or with other parameters (400 idempotency_error)', () => {
    const store = new IdempotencyStore();
    store.admit('k', '/v1/refunds', 'p');
    store.finish('k', { status: 200, body: {} });
    for (const error of [
      refusal(() => store.admit('k', '/v1/payment_intents', 'p')),
      refusal(() => store.admit('k', '/v1/refunds', 'other')),
    ]) {
      expect(error.status).toBe(400);
      expect(error.body.type).toBe('idempotency_error');
    }
  });

  it('forgets a key whose answer is not to be kept, so it can be retried', () => {
    const store = new IdempotencyStore();
    store.admit('k', '/v1/refunds', 'p');
    store.finish('k', null);
    expect(store.admit('k', '/v1/refunds', 'other')).toEqual({ kind: 'run' });
  });
});

describe('simulator webhook signature', () => {
  it('is the Stripe scheme: the SDK verifies it, and refuses it under another secret', () => {
    const payload = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type: 'payment_intent.created',
      data: { object: {} },
    });
    const header = signStripePayload(payload, 'whsec_a', Math.floor(Date.now() / 1000));
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(Stripe.webhooks.constructEvent(payload, header, 'whsec_a').id).toBe('evt_1');
    expect(() => Stripe.webhooks.constructEvent(payload, header, 'whsec_b')).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
  });
});
