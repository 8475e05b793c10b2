import { describe, expect, it } from 'vitest';
import { Balances, PLATFORM } from '../../../ops/simulators/payments/balances.js';
import { payoutFails, TEST_PAYOUTS } from '../../../ops/simulators/payments/connect-ledger.js';
import { IdempotencyStore } from '../../../ops/simulators/payments/idempotency.js';
import { isConnectEvent, type StripeEvent } from '../../../ops/simulators/payments/index.js';

const event = (type: string, object: Record<string, unknown>, account?: string): StripeEvent => ({
  id: 'evt_1',
  object: 'event',
  ...(account === undefined ? {} : { account }),
  api_version: null,
  created: 0,
  data: { object },
  livemode: false,
  pending_webhooks: 0,
  request: { id: null, idempotency_key: null },
  type,
});

describe('simulator payouts', () => {
  it('fail exactly when the amount ends in 13 minor units, with account_closed', () => {
    expect(TEST_PAYOUTS.failureCode).toBe('account_closed');
    expect([13, 113, 1013, 99_913].every(payoutFails)).toBe(true);
    expect([12, 14, 130, 1300, 1031, 2500].some(payoutFails)).toBe(false);
  });
});

describe('simulator balances', () => {
  it('keeps each account and currency apart, and lets the platform go below zero', () => {
    const balances = new Balances();
    balances.credit(PLATFORM, 'eur', 1000);
    balances.debit(PLATFORM, 'eur', 300);
    balances.credit('acct_1', 'eur', 300);
    balances.debit(PLATFORM, 'usd', 50);
    expect(balances.available(PLATFORM, 'eur')).toBe(700);
    expect(balances.available(PLATFORM, 'usd')).toBe(-50);
    expect(balances.available('acct_1', 'eur')).toBe(300);
    expect(balances.available('acct_1', 'usd')).toBe(0);
    expect([...balances.of('acct_2')]).toEqual([]);
  });
});

describe('simulator idempotency keys on connected accounts', () => {
  it('scopes a key to the account it was used on, as Stripe does', () => {
    const store = new IdempotencyStore();
    expect(store.admit('k', '/v1/payouts', 'p', 'acct_1')).toEqual({ kind: 'run' });
    store.finish('k', { status: 200, body: { id: 'po_1' } }, 'acct_1');
    // The same key on another account, or on the platform, is another request.
    expect(store.admit('k', '/v1/payouts', 'other', 'acct_2')).toEqual({ kind: 'run' });
    expect(store.admit('k', '/v1/transfers', 'other')).toEqual({ kind: 'run' });
    expect(store.admit('k', '/v1/payouts', 'p', 'acct_1')).toEqual({
      kind: 'replay',
      answer: { status: 200, body: { id: 'po_1' } },
    });
  });
});

describe('simulator webhook routing', () => {
  it('sends the marketplace’s events to the Connect endpoint and ordering’s to the payments one', () => {
    expect(isConnectEvent(event('payout.paid', { id: 'po_1' }, 'acct_1'))).toBe(true);
    expect(isConnectEvent(event('transfer.created', { id: 'tr_1' }))).toBe(true);
    expect(isConnectEvent(event('charge.refunded', { metadata: { contractId: 'ctr-1' }, transfer_group: null }))).toBe(
      true,
    );
    expect(isConnectEvent(event('payment_intent.succeeded', { metadata: {}, transfer_group: 'ctr-1' }))).toBe(true);
    expect(
      isConnectEvent(
        event('payment_intent.succeeded', { metadata: { paymentId: 'p', orderId: 'o' }, transfer_group: null }),
      ),
    ).toBe(false);
    expect(isConnectEvent(event('charge.refunded', { metadata: { contractId: '' }, transfer_group: null }))).toBe(
      false,
    );
  });
});
