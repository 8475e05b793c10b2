import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { WebhookSignatureError } from '../../../sagas/payments/port.js';
import { verifyPaymentWebhook } from '../../../sagas/payments/webhooks.js';

const SECRET = 'whsec_unit_test_secret';
const METADATA = { paymentId: 'pay-1', orderId: 'ord-1' };
const now = (): number => Math.floor(Date.now() / 1000);

const intent = (overrides: Record<string, unknown> = {}) => ({
  id: 'pi_123',
  object: 'payment_intent',
  amount: 2550,
  amount_capturable: 2550,
  currency: 'eur',
  status: 'requires_capture',
  metadata: METADATA,
  last_payment_error: null,
  ...overrides,
});

const charge = (overrides: Record<string, unknown> = {}) => ({
  id: 'ch_123',
  object: 'charge',
  amount: 2550,
  amount_captured: 2550,
  amount_refunded: 2550,
  captured: true,
  refunded: true,
  currency: 'eur',
  payment_intent: 'pi_123',
  metadata: METADATA,
  ...overrides,
});

const event = (type: string, object: Record<string, unknown>, id = 'evt_1') =>
  JSON.stringify({ id, object: 'event', type, created: now(), livemode: false, data: { object } });

const sign = (payload: string, options: { secret?: string; timestamp?: number } = {}): string =>
  Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? SECRET,
    timestamp: options.timestamp ?? now(),
  });

const verify = (payload: string) => verifyPaymentWebhook(Buffer.from(payload), sign(payload), SECRET);

describe('verifyPaymentWebhook: mapping Stripe events to payment notifications', () => {
  it.each(['null', '42', '"text"', 'true'])(
    'acknowledges a correctly signed body %s that is not an event: ignored',
    (body) => {
      expect(verifyPaymentWebhook(body, sign(body), SECRET).notification).toEqual({ kind: 'ignored', type: 'unknown' });
    },
  );

  it('amount_capturable_updated is an authorization, with the amount and the currency upper-cased', () => {
    expect(verify(event('payment_intent.amount_capturable_updated', intent()))).toEqual({
      eventId: 'evt_1',
      notification: {
        kind: 'authorized',
        providerRef: 'pi_123',
        paymentId: 'pay-1',
        orderId: 'ord-1',
        amountMinor: 2550,
        currency: 'EUR',
      },
    });
  });

  it('payment_failed is a decline, with the decline code as reason', () => {
    const failed = intent({
      status: 'requires_payment_method',
      last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' },
    });
    expect(verify(event('payment_intent.payment_failed', failed)).notification).toEqual({
      kind: 'declined',
      providerRef: 'pi_123',
      paymentId: 'pay-1',
      orderId: 'ord-1',
      amountMinor: 2550,
      currency: 'EUR',
      reason: 'generic_decline',
    });
  });

  it('falls back to the error code, then to payment_failed, when there is no decline code', () => {
    const byCode = intent({ last_payment_error: { type: 'card_error', code: 'expired_card' } });
    expect(verify(event('payment_intent.payment_failed', byCode)).notification).toMatchObject({
      reason: 'expired_card',
    });
    expect(verify(event('payment_intent.payment_failed', intent())).notification).toMatchObject({
      reason: 'payment_failed',
    });
  });

  it('succeeded is a capture, canceled a void', () => {
    const ids = { providerRef: 'pi_123', paymentId: 'pay-1', orderId: 'ord-1' };
    expect(verify(event('payment_intent.succeeded', intent({ status: 'succeeded' }))).notification).toEqual({
      kind: 'captured',
      ...ids,
    });
    expect(verify(event('payment_intent.canceled', intent({ status: 'canceled' }))).notification).toEqual({
      kind: 'voided',
      ...ids,
    });
  });

  it('charge.refunded of a captured charge is a refund of its intent', () => {
    expect(verify(event('charge.refunded', charge())).notification).toEqual({
      kind: 'refunded',
      providerRef: 'pi_123',
      paymentId: 'pay-1',
      orderId: 'ord-1',
    });
  });

  it('takes the ids from an expanded intent when the charge carries no metadata', () => {
    const expanded = charge({ metadata: {}, payment_intent: intent({ status: 'succeeded' }) });
    expect(verify(event('charge.refunded', expanded)).notification).toMatchObject({
      kind: 'refunded',
      providerRef: 'pi_123',
      paymentId: 'pay-1',
    });
  });

  it('ignores the refund Stripe reports when an uncaptured authorization is released (that is the void)', () => {
    const released = charge({ captured: false, amount_captured: 0 });
    expect(verify(event('charge.refunded', released)).notification).toEqual({
      kind: 'ignored',
      type: 'charge.refunded',
    });
  });

  it('ignores event types it does not record, and events about payments that are not ours', () => {
    expect(verify(event('payment_intent.created', intent())).notification).toEqual({
      kind: 'ignored',
      type: 'payment_intent.created',
    });
    expect(verify(event('customer.created', { id: 'cus_1', object: 'customer' })).notification).toEqual({
      kind: 'ignored',
      type: 'customer.created',
    });
    expect(verify(event('payment_intent.succeeded', intent({ metadata: {} }))).notification.kind).toBe('ignored');
    expect(verify(event('charge.refunded', charge({ payment_intent: null }))).notification.kind).toBe('ignored');
  });

  it('returns the provider event id, the key that makes a redelivery harmless', () => {
    expect(verify(event('payment_intent.succeeded', intent(), 'evt_42')).eventId).toBe('evt_42');
  });

  it('accepts the body as a string as well as a Buffer', () => {
    const payload = event('payment_intent.succeeded', intent());
    expect(verifyPaymentWebhook(payload, sign(payload), SECRET).notification.kind).toBe('captured');
  });
});

describe('verifyPaymentWebhook: signature refusals', () => {
  const payload = event('payment_intent.amount_capturable_updated', intent());

  const refusal = (run: () => unknown): WebhookSignatureError => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(WebhookSignatureError);
      expect((error as WebhookSignatureError).code).toBe('INVALID_WEBHOOK_SIGNATURE');
      return error as WebhookSignatureError;
    }
    throw new Error('expected a WebhookSignatureError');
  };

  it('refuses a tampered body', () => {
    const header = sign(payload);
    const tampered = payload.replace('"amount":2550', '"amount":1');
    expect(tampered).not.toBe(payload);
    refusal(() => verifyPaymentWebhook(Buffer.from(tampered), header, SECRET));
  });

  it('refuses a body re-serialised after parsing (the signature covers the exact bytes)', () => {
    const reserialised = JSON.stringify(JSON.parse(payload), null, 2);
    refusal(() => verifyPaymentWebhook(reserialised, sign(payload), SECRET));
  });

  it('refuses a signature made with another secret', () => {
    refusal(() => verifyPaymentWebhook(payload, sign(payload, { secret: 'whsec_someone_else' }), SECRET));
  });

  it('refuses a timestamp outside the tolerance, and accepts it within a wider one', () => {
    const header = sign(payload, { timestamp: now() - 301 });
    expect(refusal(() => verifyPaymentWebhook(payload, header, SECRET)).message).toMatch(/tolerance/i);
    refusal(() => verifyPaymentWebhook(payload, sign(payload, { timestamp: now() - 61 }), SECRET, 60));
    expect(verifyPaymentWebhook(payload, header, SECRET, 600).notification.kind).toBe('authorized');
  });

  it('refuses an unsigned request and a header without a v1 signature', () => {
    expect(refusal(() => verifyPaymentWebhook(payload, undefined, SECRET)).message).toMatch(/missing/i);
    refusal(() => verifyPaymentWebhook(payload, '', SECRET));
    refusal(() => verifyPaymentWebhook(payload, `t=${now()}`, SECRET));
    refusal(() => verifyPaymentWebhook(payload, 'garbage', SECRET));
  });

  it('keeps the SDK error as the cause', () => {
    const error = refusal(() => verifyPaymentWebhook(payload, sign(payload, { secret: 'whsec_other' }), SECRET));
    expect(error.cause).toBeInstanceOf(Stripe.errors.StripeSignatureVerificationError);
  });

  // Issue 12: the simulator's default secret was in the source, so anyone could sign a "payment authorized".
  it('never verifies with a secret the source once published as a default, however well signed the notice is', () => {
    const published = 'whsec_ledgerline_simulator';
    const error = refusal(() => verifyPaymentWebhook(payload, sign(payload, { secret: published }), published));
    expect(error.message).toMatch(/published/);
  });

  it('never verifies with an empty secret (an HMAC with an empty key is anyone’s)', () => {
    refusal(() => verifyPaymentWebhook(payload, sign(payload, { secret: '' }), ''));
  });
});
