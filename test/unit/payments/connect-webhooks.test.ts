import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { toConnectNotification, verifyConnectWebhook } from '../../../sagas/payments/connect-webhooks.js';
import { WebhookSignatureError } from '../../../sagas/payments/port.js';
import { verifyPaymentWebhook } from '../../../sagas/payments/webhooks.js';

const SECRET = 'whsec_unit_test_connect_secret';
const ACCOUNT = 'acct_1Worker';
const now = (): number => Math.floor(Date.now() / 1000);

const payout = (overrides: Record<string, unknown> = {}) => ({
  id: 'po_123',
  object: 'payout',
  amount: 2500,
  currency: 'eur',
  status: 'paid',
  failure_code: null,
  failure_message: null,
  metadata: { payoutId: 'pout-1', workerId: 'worker-1' },
  ...overrides,
});

const charge = (overrides: Record<string, unknown> = {}) => ({
  id: 'ch_123',
  object: 'charge',
  amount: 10_000,
  amount_captured: 10_000,
  amount_refunded: 6000,
  captured: true,
  refunded: false,
  currency: 'eur',
  payment_intent: 'pi_123',
  transfer_group: 'ctr-1',
  metadata: { contractId: 'ctr-1', hirerId: 'hirer-1' },
  ...overrides,
});

interface EventOptions {
  readonly id?: string;
  readonly account?: string;
}

const event = (type: string, object: unknown, options: EventOptions = {}) =>
  JSON.stringify({
    id: options.id ?? 'evt_1',
    object: 'event',
    ...(options.account === undefined ? {} : { account: options.account }),
    type,
    created: now(),
    livemode: false,
    data: { object },
  });

const sign = (payload: string, options: { secret?: string; timestamp?: number } = {}): string =>
  Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? SECRET,
    timestamp: options.timestamp ?? now(),
  });

const verify = (payload: string) => verifyConnectWebhook(Buffer.from(payload), sign(payload), SECRET);
const kindOf = (payload: string) => verify(payload).notification.kind;

describe('verifyConnectWebhook: mapping Connect events to marketplace notifications', () => {
  it('payout.paid on a connected account is a paid payout, with our ids from its metadata', () => {
    expect(verify(event('payout.paid', payout(), { account: ACCOUNT, id: 'evt_paid' }))).toEqual({
      eventId: 'evt_paid',
      account: ACCOUNT,
      notification: {
        kind: 'payout-paid',
        payoutId: 'pout-1',
        workerId: 'worker-1',
        payoutRef: 'po_123',
        amountMinor: 2500,
      },
    });
  });

  it('payout.failed is a failed payout with Stripe’s failure code as the reason', () => {
    const failed = payout({
      status: 'failed',
      failure_code: 'account_closed',
      failure_message: 'The bank account has been closed.',
    });
    expect(verify(event('payout.failed', failed, { account: ACCOUNT })).notification).toEqual({
      kind: 'payout-failed',
      payoutId: 'pout-1',
      workerId: 'worker-1',
      payoutRef: 'po_123',
      amountMinor: 2500,
      reason: 'account_closed',
    });
  });

  it('falls back to the failure message, then to payout_failed, when there is no failure code', () => {
    const byMessage = payout({ status: 'failed', failure_message: 'Bank said no' });
    expect(verify(event('payout.failed', byMessage, { account: ACCOUNT })).notification).toMatchObject({
      reason: 'Bank said no',
    });
    expect(
      verify(event('payout.failed', payout({ status: 'failed' }), { account: ACCOUNT })).notification,
    ).toMatchObject({ reason: 'payout_failed' });
  });

  it('charge.refunded of a captured contract charge is the total refunded so far', () => {
    expect(verify(event('charge.refunded', charge())).notification).toEqual({
      kind: 'charge-refunded',
      contractId: 'ctr-1',
      chargeRef: 'ch_123',
      amountRefundedMinor: 6000,
    });
    expect(verify(event('charge.refunded', charge())).account).toBeNull();
  });

  it('ignores ordering’s charges (no contractId), released authorizations and charges on a connected account', () => {
    const orderCharge = charge({ metadata: { paymentId: 'pay-1', orderId: 'ord-1' }, transfer_group: null });
    expect(verify(event('charge.refunded', orderCharge)).notification).toEqual({
      kind: 'ignored',
      type: 'charge.refunded',
    });
    expect(kindOf(event('charge.refunded', charge({ captured: false, amount_captured: 0 })))).toBe('ignored');
    expect(kindOf(event('charge.refunded', charge(), { account: ACCOUNT }))).toBe('ignored');
  });

  it('ignores a payout that is not a connected account’s, or not one the adapter made', () => {
    // The platform's own payout: no event.account.
    expect(kindOf(event('payout.paid', payout()))).toBe('ignored');
    // Stripe's automatic payouts carry no metadata of ours.
    expect(kindOf(event('payout.paid', payout({ metadata: {} }), { account: ACCOUNT }))).toBe('ignored');
    expect(kindOf(event('payout.paid', payout({ metadata: { payoutId: 'pout-1' } }), { account: ACCOUNT }))).toBe(
      'ignored',
    );
  });

  it('ignores event types it does not record, ordering’s among them', () => {
    for (const type of [
      'payout.created',
      'payout.updated',
      'transfer.created',
      'transfer.reversed',
      'account.updated',
    ]) {
      expect(verify(event(type, payout(), { account: ACCOUNT })).notification).toEqual({ kind: 'ignored', type });
    }
    expect(kindOf(event('payment_intent.succeeded', { id: 'pi_1', object: 'payment_intent', metadata: {} }))).toBe(
      'ignored',
    );
  });

  it('leaves ordering’s verification as it was: a Connect event is nothing to it', () => {
    const payload = event('payout.paid', payout(), { account: ACCOUNT });
    expect(verifyPaymentWebhook(payload, sign(payload), SECRET).notification).toEqual({
      kind: 'ignored',
      type: 'payout.paid',
    });
  });
});

describe('verifyConnectWebhook: hand-made and malformed events are ignored, never thrown', () => {
  const hostile: [string, string][] = [
    ['a JSON null', 'null'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"payout.paid"'],
    ['a JSON number', '42'],
    ['an empty object', '{}'],
    ['an event without data', JSON.stringify({ id: 'evt_x', type: 'payout.paid', account: ACCOUNT })],
    ['data that is a string', JSON.stringify({ id: 'evt_x', type: 'payout.paid', account: ACCOUNT, data: 'x' })],
    ['a null object', event('payout.paid', null, { account: ACCOUNT })],
    ['an array object', event('payout.paid', [payout()], { account: ACCOUNT })],
    ['a type that is not a string', JSON.stringify({ id: 'evt_x', type: 7, data: { object: payout() } })],
    ['an amount as a string', event('payout.paid', payout({ amount: '2500' }), { account: ACCOUNT })],
    ['a negative amount', event('payout.paid', payout({ amount: -1 }), { account: ACCOUNT })],
    ['a fractional amount', event('payout.paid', payout({ amount: 25.5 }), { account: ACCOUNT })],
    ['an amount beyond safe integers', event('payout.paid', payout({ amount: 2 ** 60 }), { account: ACCOUNT })],
    ['no payout id', event('payout.paid', payout({ id: undefined }), { account: ACCOUNT })],
    ['a numeric payout id', event('payout.paid', payout({ id: 12 }), { account: ACCOUNT })],
    ['metadata that is a string', event('payout.paid', payout({ metadata: 'pout-1' }), { account: ACCOUNT })],
    ['metadata that is null', event('payout.paid', payout({ metadata: null }), { account: ACCOUNT })],
    [
      'ids that are not strings',
      event('payout.paid', payout({ metadata: { payoutId: 1, workerId: {} } }), { account: ACCOUNT }),
    ],
    ['empty ids', event('payout.paid', payout({ metadata: { payoutId: '', workerId: '' } }), { account: ACCOUNT })],
    ['another object type', event('payout.paid', charge(), { account: ACCOUNT })],
    [
      'an account that is not a string',
      JSON.stringify({ id: 'evt_x', type: 'payout.paid', account: 1, data: { object: payout() } }),
    ],
    ['a refund count as a string', event('charge.refunded', charge({ amount_refunded: '6000' }))],
    ['captured as a string', event('charge.refunded', charge({ captured: 'true' }))],
    ['a contractId that is an object', event('charge.refunded', charge({ metadata: { contractId: { id: 'ctr-1' } } }))],
    [
      'ids hidden behind __proto__',
      `{"id":"evt_x","type":"payout.paid","account":"${ACCOUNT}","data":{"object":{"id":"po_1","object":"payout","amount":1,"metadata":{"__proto__":{"payoutId":"p","workerId":"w"}}}}}`,
    ],
  ];

  it.each(hostile)('%s', (_label, payload) => {
    const verified = verify(payload);
    expect(verified.notification.kind).toBe('ignored');
    expect(typeof verified.eventId).toBe('string');
    expect(verified.eventId).not.toBe('');
  });

  it('names an event without an id by the digest of its bytes, so the same bytes are the same event', () => {
    const payload = JSON.stringify({ type: 'payout.paid', data: { object: payout() } });
    const first = verify(payload);
    expect(first.eventId).toMatch(/^unidentified:[0-9a-f]{64}$/);
    expect(verify(payload).eventId).toBe(first.eventId);
    expect(verify(`${payload} `).eventId).not.toBe(first.eventId);
  });

  it('reports the type it ignored, or unknown when there is none', () => {
    expect(toConnectNotification({ type: 'payout.paid' })).toEqual({ kind: 'ignored', type: 'payout.paid' });
    expect(toConnectNotification(undefined)).toEqual({ kind: 'ignored', type: 'unknown' });
    expect(toConnectNotification({ type: ['payout.paid'] })).toEqual({ kind: 'ignored', type: 'unknown' });
  });
});

describe('verifyConnectWebhook: the signature checks ordering has', () => {
  const payload = event('payout.paid', payout(), { account: ACCOUNT });

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

  it('refuses a tampered body, and one re-serialised after parsing', () => {
    const header = sign(payload);
    refusal(() => verifyConnectWebhook(payload.replace('"amount":2500', '"amount":250000'), header, SECRET));
    refusal(() => verifyConnectWebhook(JSON.stringify(JSON.parse(payload), null, 2), header, SECRET));
  });

  it('refuses another secret, a stale timestamp, a missing or malformed header', () => {
    refusal(() => verifyConnectWebhook(payload, sign(payload, { secret: 'whsec_someone_else' }), SECRET));
    const stale = sign(payload, { timestamp: now() - 301 });
    expect(refusal(() => verifyConnectWebhook(payload, stale, SECRET)).message).toMatch(/tolerance/i);
    expect(verifyConnectWebhook(payload, stale, SECRET, 600).notification.kind).toBe('payout-paid');
    expect(refusal(() => verifyConnectWebhook(payload, undefined, SECRET)).message).toMatch(/missing/i);
    refusal(() => verifyConnectWebhook(payload, '', SECRET));
    refusal(() => verifyConnectWebhook(payload, 'garbage', SECRET));
  });

  it('refuses a signed body that is not JSON', () => {
    const notJson = 'payout.paid for po_1';
    refusal(() => verifyConnectWebhook(notJson, sign(notJson), SECRET));
  });

  it('never verifies with an empty secret or one the source once published', () => {
    refusal(() => verifyConnectWebhook(payload, sign(payload, { secret: '' }), ''));
    const published = 'whsec_ledgerline_simulator';
    expect(
      refusal(() => verifyConnectWebhook(payload, sign(payload, { secret: published }), published)).message,
    ).toMatch(/published/);
  });

  it('refuses a tolerance that is not positive', () => {
    expect(() => verifyConnectWebhook(payload, sign(payload), SECRET, 0)).toThrow(RangeError);
  });
});
