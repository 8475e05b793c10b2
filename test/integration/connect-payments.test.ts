import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type PaymentSimulator,
  startPaymentSimulator,
  TEST_CARDS,
  TEST_PAYOUTS,
} from '../../ops/simulators/payments/index.js';
import type { ChargeRequest, ConnectProvider, VerifiedConnectWebhook } from '../../sagas/payments/connect-port.js';
import { verifyConnectWebhook } from '../../sagas/payments/connect-webhooks.js';
import { PermanentProviderError, TransientProviderError, WebhookSignatureError } from '../../sagas/payments/port.js';
import { stripeEndpointOf } from '../../sagas/payments/stripe-client.js';
import { createStripeConnectProvider } from '../../sagas/payments/stripe-connect.js';

// The Connect adapter (the real SDK) against the local simulator on an ephemeral port: the marketplace's escrow
// path (account, charge, transfer, refund, payout), the refusals that keep money from leaving twice, and the
// simulator's signed Connect webhooks checked by verifyConnectWebhook. Nothing here needs the stack.

const API_KEY = 'sk_test_ledgerline_connect_integration';
const ORDERING_SECRET = 'whsec_ledgerline_connect_ordering';
const CONNECT_SECRET = 'whsec_ledgerline_connect_marketplace';
const PAYOUT_DELAY_MS = 100;

interface Delivery {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A webhook endpoint that records each delivery and acknowledges it. */
async function startReceiver() {
  const received: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

let ordering: Receiver;
let marketplace: Receiver;
let simulator: PaymentSimulator;
let stripe: Stripe;
let provider: ConnectProvider;

beforeAll(async () => {
  ordering = await startReceiver();
  marketplace = await startReceiver();
  simulator = await startPaymentSimulator({
    port: 0,
    webhookUrl: ordering.url,
    webhookSecret: ORDERING_SECRET,
    connectWebhookUrl: marketplace.url,
    connectWebhookSecret: CONNECT_SECRET,
    payoutDelayMs: PAYOUT_DELAY_MS,
    webhookRetryDelaysMs: [50, 50, 50],
  });
  stripe = new Stripe(API_KEY, { ...stripeEndpointOf(simulator.url), maxNetworkRetries: 0 });
  provider = createStripeConnectProvider({ apiKey: API_KEY, ...stripeEndpointOf(simulator.url), timeoutMs: 5000 });
});

afterAll(async () => {
  await simulator?.close();
  await ordering?.close();
  await marketplace?.close();
});

beforeEach(async () => {
  // Every payout settled and every delivery made: what the receivers get from here on is this test's.
  await simulator.webhooksIdle();
  simulator.resetCalls();
  ordering.received.length = 0;
  marketplace.received.length = 0;
});

const key = (label: string): string => `${label}-${randomUUID()}`;

const contract = (amountMinor = 10_000, cardToken: string = TEST_CARDS.approves): ChargeRequest => ({
  contractId: `ctr-${randomUUID()}`,
  hirerId: `hirer-${randomUUID()}`,
  amountMinor,
  currency: 'EUR',
  cardToken,
});

async function account(workerId = `worker-${randomUUID()}`): Promise<string> {
  return (await provider.openConnectedAccount({ workerId, country: 'DE' }, key('account'))).accountRef;
}

async function captured(request: ChargeRequest): Promise<string> {
  const result = await provider.charge(request, key('charge'));
  if (result.outcome !== 'captured') throw new Error(`expected a capture, got ${JSON.stringify(result)}`);
  return result.chargeRef;
}

/** A funded contract and a worker's account, ready for transfers. */
async function funded(amountMinor = 10_000) {
  const request = contract(amountMinor);
  return { request, chargeRef: await captured(request), accountRef: await account() };
}

const transferOf = (
  escrow: Awaited<ReturnType<typeof funded>>,
  amountMinor: number,
  releaseId = `rel-${randomUUID()}`,
) => ({
  contractId: escrow.request.contractId,
  releaseId,
  destinationAccountRef: escrow.accountRef,
  amountMinor,
  currency: 'EUR',
  sourceChargeRef: escrow.chargeRef,
});

const payoutOf = (accountRef: string, amountMinor: number) => ({
  payoutId: `pout-${randomUUID()}`,
  workerId: `worker-${randomUUID()}`,
  accountRef,
  amountMinor,
  currency: 'EUR',
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

const available = async (accountRef: string): Promise<number> => {
  const balance = await stripe.balance.retrieve({}, { stripeAccount: accountRef });
  return balance.available.find((entry) => entry.currency === 'eur')?.amount ?? 0;
};

const transfersIn = async (contractId: string) =>
  (await stripe.transfers.list({ transfer_group: contractId, limit: 100 })).data;

/** What the marketplace's endpoint received, verified with its secret. */
const connectNotices = (): (VerifiedConnectWebhook & { type: string })[] =>
  marketplace.received.map((delivery) => ({
    ...verifyConnectWebhook(delivery.body, delivery.headers['stripe-signature'] as string | undefined, CONNECT_SECRET),
    type: JSON.parse(delivery.body.toString('utf8')).type as string,
  }));

describe('the escrow path through the Connect adapter', () => {
  it('account → charge captured → transfer → partial refund → payout, each as Stripe Connect has it', async () => {
    const workerId = `worker-${randomUUID()}`;
    const accountRef = await account(workerId);
    expect(accountRef).toMatch(/^acct_/);
    expect(await stripe.accounts.retrieve(accountRef)).toMatchObject({
      type: 'express',
      country: 'DE',
      default_currency: 'eur',
      capabilities: { transfers: 'active' },
      settings: { payouts: { schedule: { interval: 'manual' } } },
      metadata: { workerId },
    });

    const request = contract(10_000);
    const charged = await provider.charge(request, key('charge'));
    expect(charged).toEqual({
      outcome: 'captured',
      chargeRef: expect.stringMatching(/^ch_/),
      paymentIntentRef: expect.stringMatching(/^pi_/),
    });
    const { chargeRef, paymentIntentRef } = charged as Extract<typeof charged, { outcome: 'captured' }>;
    expect(await stripe.paymentIntents.retrieve(paymentIntentRef)).toMatchObject({
      status: 'succeeded',
      capture_method: 'automatic',
      amount_received: 10_000,
      currency: 'eur',
      transfer_group: request.contractId,
      latest_charge: chargeRef,
      metadata: { contractId: request.contractId, hirerId: request.hirerId },
    });

    const releaseId = `rel-${randomUUID()}`;
    const { transferRef } = await provider.transfer(
      {
        contractId: request.contractId,
        releaseId,
        destinationAccountRef: accountRef,
        amountMinor: 4000,
        currency: 'EUR',
        sourceChargeRef: chargeRef,
      },
      key('transfer'),
    );
    expect(transferRef).toMatch(/^tr_/);
    expect(await stripe.transfers.retrieve(transferRef)).toMatchObject({
      amount: 4000,
      currency: 'eur',
      destination: accountRef,
      source_transaction: chargeRef,
      transfer_group: request.contractId,
      metadata: { contractId: request.contractId, releaseId },
    });
    expect(await available(accountRef)).toBe(4000);

    // The contract is cancelled: the hirer gets back what was not released.
    const { refundRef } = await provider.refundCharge(chargeRef, 6000, key('refund'));
    expect(refundRef).toMatch(/^re_/);
    expect((await stripe.charges.retrieve(chargeRef)).amount_refunded).toBe(6000);

    const payout = payoutOf(accountRef, 2500);
    const { payoutRef } = await provider.payout({ ...payout, workerId }, key('payout'));
    expect(payoutRef).toMatch(/^po_/);
    expect(await stripe.payouts.retrieve(payoutRef, {}, { stripeAccount: accountRef })).toMatchObject({
      status: 'pending',
      amount: 2500,
      metadata: { payoutId: payout.payoutId, workerId },
    });
    expect(await available(accountRef)).toBe(1500);

    await simulator.webhooksIdle();
    expect((await stripe.payouts.retrieve(payoutRef, {}, { stripeAccount: accountRef })).status).toBe('paid');
    const notices = connectNotices();
    // Deliveries come in no guaranteed order (Stripe promises none either): sorted by type to compare.
    const recorded = notices
      .filter((notice) => notice.notification.kind !== 'ignored')
      .sort((a, b) => a.type.localeCompare(b.type));
    expect(recorded).toEqual([
      {
        eventId: expect.stringMatching(/^evt_/),
        account: null,
        type: 'charge.refunded',
        notification: {
          kind: 'charge-refunded',
          contractId: request.contractId,
          chargeRef,
          amountRefundedMinor: 6000,
        },
      },
      {
        eventId: expect.stringMatching(/^evt_/),
        account: accountRef,
        type: 'payout.paid',
        notification: { kind: 'payout-paid', payoutId: payout.payoutId, workerId, payoutRef, amountMinor: 2500 },
      },
    ]);
    // Everything else the marketplace's endpoint got is acknowledged and ignored; ordering's got none of it.
    expect(notices.map((notice) => notice.type)).toEqual(
      expect.arrayContaining(['payment_intent.succeeded', 'transfer.created', 'payout.created']),
    );
    expect(ordering.received.some((delivery) => delivery.body.toString('utf8').includes(request.contractId))).toBe(
      false,
    );
  });

  it('a payout of an amount ending in 13 minor units fails (account_closed): payout.failed, the money back', async () => {
    const escrow = await funded();
    await provider.transfer(transferOf(escrow, 5000), key('transfer'));
    const payout = payoutOf(escrow.accountRef, 1000 + TEST_PAYOUTS.failingMinorUnits);
    const { payoutRef } = await provider.payout(payout, key('payout'));
    expect(await available(escrow.accountRef)).toBe(5000 - 1013);

    await simulator.webhooksIdle();
    expect(connectNotices().find((notice) => notice.type === 'payout.failed')).toEqual({
      eventId: expect.stringMatching(/^evt_/),
      account: escrow.accountRef,
      type: 'payout.failed',
      notification: {
        kind: 'payout-failed',
        payoutId: payout.payoutId,
        workerId: payout.workerId,
        payoutRef,
        amountMinor: 1013,
        reason: 'account_closed',
      },
    });
    expect(await available(escrow.accountRef)).toBe(5000);
  });

  it('a declined card is the declined outcome, not an error; nothing can be transferred from it', async () => {
    const result = await provider.charge(contract(10_000, TEST_CARDS.declines), key('charge'));
    expect(result).toEqual({
      outcome: 'declined',
      reason: 'generic_decline',
      chargeRef: expect.stringMatching(/^ch_/),
      paymentIntentRef: expect.stringMatching(/^pi_/),
    });
    const escrow = { request: contract(), chargeRef: result.chargeRef ?? '', accountRef: await account() };
    const error = await rejection(provider.transfer(transferOf(escrow, 100), key('transfer')));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toMatch(/no captured funds/);
  });

  it('a provider failure on the charge is a TransientProviderError', async () => {
    const error = await rejection(provider.charge(contract(10_000, TEST_CARDS.providerError), key('charge')));
    expect(error).toBeInstanceOf(TransientProviderError);
  });
});

describe('refusals that keep escrow money from leaving twice', () => {
  it('refuses a transfer beyond what the charge has left: captured, less refunds and earlier transfers', async () => {
    const escrow = await funded(10_000);
    await provider.transfer(transferOf(escrow, 6000), key('transfer'));
    const over = await rejection(provider.transfer(transferOf(escrow, 4001), key('transfer')));
    expect(over).toBeInstanceOf(PermanentProviderError);
    expect(over.message).toMatch(/balance_insufficient/);

    await provider.refundCharge(escrow.chargeRef, 3000, key('refund'));
    expect(await rejection(provider.transfer(transferOf(escrow, 1001), key('transfer')))).toBeInstanceOf(
      PermanentProviderError,
    );
    await provider.transfer(transferOf(escrow, 1000), key('transfer'));
    expect((await transfersIn(escrow.request.contractId)).map((transfer) => transfer.amount)).toEqual([1000, 6000]);
  });

  it('a reversal gives the charge back what it takes back from the account, and no more than was sent', async () => {
    const escrow = await funded(10_000);
    const { transferRef } = await provider.transfer(transferOf(escrow, 10_000), key('transfer'));
    const { reversalRef } = await provider.reverseTransfer(transferRef, 2500, key('reverse'));
    expect(reversalRef).toMatch(/^trr_/);
    expect(await stripe.transfers.retrieve(transferRef)).toMatchObject({ amount_reversed: 2500, reversed: false });
    expect(await available(escrow.accountRef)).toBe(7500);

    const tooMuch = await rejection(provider.reverseTransfer(transferRef, 7501, key('reverse')));
    expect(tooMuch).toBeInstanceOf(PermanentProviderError);
    expect(tooMuch.message).toMatch(/amount_too_large/);
    // What was reversed can be transferred again (to the same worker or another).
    await provider.transfer(transferOf(escrow, 2500), key('transfer'));
  });

  it('refuses to refund more than was captured less what was refunded', async () => {
    const escrow = await funded(10_000);
    await provider.refundCharge(escrow.chargeRef, 7000, key('refund'));
    const error = await rejection(provider.refundCharge(escrow.chargeRef, 3001, key('refund')));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toMatch(/amount_too_large/);
    await provider.refundCharge(escrow.chargeRef, 3000, key('refund'));
    expect((await stripe.charges.retrieve(escrow.chargeRef)).refunded).toBe(true);
  });

  it('refuses a payout beyond the connected account’s balance, and one from an account that does not exist', async () => {
    const escrow = await funded(10_000);
    await provider.transfer(transferOf(escrow, 3000), key('transfer'));
    const over = await rejection(provider.payout(payoutOf(escrow.accountRef, 3001), key('payout')));
    expect(over).toBeInstanceOf(PermanentProviderError);
    expect(over.message).toMatch(/balance_insufficient/);
    expect(await available(escrow.accountRef)).toBe(3000);

    const nowhere = await rejection(provider.payout(payoutOf('acct_does_not_exist', 100), key('payout')));
    expect(nowhere).toBeInstanceOf(PermanentProviderError);
    expect(nowhere.message).toMatch(/account_invalid/);
  });

  it('refuses a transfer to an unknown account or from an unknown charge (nothing moves)', async () => {
    const escrow = await funded();
    const toNobody = await rejection(
      provider.transfer({ ...transferOf(escrow, 100), destinationAccountRef: 'acct_nobody' }, key('transfer')),
    );
    expect(toNobody).toBeInstanceOf(PermanentProviderError);
    expect(toNobody.message).toMatch(/No such destination/);
    const fromNothing = await rejection(
      provider.transfer({ ...transferOf(escrow, 100), sourceChargeRef: 'ch_nothing' }, key('transfer')),
    );
    expect(fromNothing).toBeInstanceOf(PermanentProviderError);
    expect(await transfersIn(escrow.request.contractId)).toEqual([]);
  });
});

describe('idempotency keys', () => {
  it('the same transfer key twice: one transfer, the same answer, listed once', async () => {
    const escrow = await funded();
    const request = transferOf(escrow, 2000);
    const transferKey = key('transfer');
    const first = await provider.transfer(request, transferKey);
    const second = await provider.transfer(request, transferKey);
    expect(second).toEqual(first);
    expect((await transfersIn(escrow.request.contractId)).map((transfer) => transfer.id)).toEqual([first.transferRef]);
    expect(await available(escrow.accountRef)).toBe(2000);

    const changed = await rejection(provider.transfer({ ...request, amountMinor: 2001 }, transferKey));
    expect(changed).toBeInstanceOf(PermanentProviderError);
    expect((changed as PermanentProviderError).cause).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('the same account key twice opens one account', async () => {
    const request = { workerId: `worker-${randomUUID()}`, country: 'DE' };
    const accountKey = key('account');
    const first = await provider.openConnectedAccount(request, accountKey);
    expect(await provider.openConnectedAccount(request, accountKey)).toEqual(first);
    expect(simulator.calls().filter((call) => call.operation === 'accounts.create')).toHaveLength(1);
  });

  it('the same charge key twice charges once', async () => {
    const request = contract();
    const chargeKey = key('charge');
    const first = await provider.charge(request, chargeKey);
    expect(await provider.charge(request, chargeKey)).toEqual(first);
    expect(simulator.calls().filter((call) => call.operation === 'payment_intents.create')).toHaveLength(1);
  });

  it('the same payout key twice pays out once; the key is scoped to the connected account, as Stripe scopes it', async () => {
    const escrow = await funded(10_000);
    await provider.transfer(transferOf(escrow, 5000), key('transfer'));
    const other = await funded(10_000);
    await provider.transfer(transferOf(other, 5000), key('transfer'));

    const payoutKey = key('payout');
    const request = payoutOf(escrow.accountRef, 1000);
    const first = await provider.payout(request, payoutKey);
    expect(await provider.payout(request, payoutKey)).toEqual(first);
    expect(await available(escrow.accountRef)).toBe(4000);

    const elsewhere = await provider.payout({ ...request, accountRef: other.accountRef }, payoutKey);
    expect(elsewhere.payoutRef).not.toBe(first.payoutRef);
    expect(await available(other.accountRef)).toBe(4000);
  });
});

describe('transient failures', () => {
  it('an injected 503 or 429 is a TransientProviderError; the retry with the same key moves the money once', async () => {
    const escrow = await funded();
    const request = transferOf(escrow, 1500);
    const transferKey = key('transfer');
    simulator.injectFailures({ count: 1, operation: 'transfers.create', status: 503 });
    expect(await rejection(provider.transfer(request, transferKey))).toBeInstanceOf(TransientProviderError);
    simulator.injectFailures({ count: 1, operation: 'transfers.create', status: 429 });
    expect(await rejection(provider.transfer(request, transferKey))).toBeInstanceOf(TransientProviderError);

    const { transferRef } = await provider.transfer(request, transferKey);
    expect((await transfersIn(escrow.request.contractId)).map((transfer) => transfer.id)).toEqual([transferRef]);
    expect(
      simulator
        .requests()
        .filter((entry) => entry.operation === 'transfers.create')
        .map((entry) => entry.status),
    ).toEqual([503, 429, 200]);
  });

  it('injects only into the named operation, and for as many requests as told', async () => {
    const escrow = await funded();
    simulator.injectFailures({ count: 2, operation: 'payouts.create' });
    await provider.transfer(transferOf(escrow, 1000), key('transfer'));
    const payoutKey = key('payout');
    const request = payoutOf(escrow.accountRef, 500);
    expect(await rejection(provider.payout(request, payoutKey))).toBeInstanceOf(TransientProviderError);
    expect(await rejection(provider.payout(request, payoutKey))).toBeInstanceOf(TransientProviderError);
    expect((await provider.payout(request, payoutKey)).payoutRef).toMatch(/^po_/);
  });

  it('a simulator that cannot be reached is a TransientProviderError', async () => {
    const closed = await startPaymentSimulator();
    const endpoint = stripeEndpointOf(closed.url);
    await closed.close();
    const unreachable = createStripeConnectProvider({ apiKey: API_KEY, ...endpoint, timeoutMs: 1000 });
    const error = await rejection(unreachable.openConnectedAccount({ workerId: 'w', country: 'DE' }, key('account')));
    expect(error).toBeInstanceOf(TransientProviderError);
  });
});

describe('Connect wire format and webhooks', () => {
  it('lists a contract’s transfers newest first, page by page', async () => {
    const escrow = await funded(10_000);
    const refs: string[] = [];
    for (const amount of [100, 200, 300]) {
      refs.push((await provider.transfer(transferOf(escrow, amount), key('transfer'))).transferRef);
    }
    const firstPage = await stripe.transfers.list({ transfer_group: escrow.request.contractId, limit: 2 });
    expect(firstPage.has_more).toBe(true);
    expect(firstPage.data.map((transfer) => transfer.id)).toEqual([refs[2], refs[1]]);
    const all = await stripe.transfers
      .list({ transfer_group: escrow.request.contractId, limit: 2 })
      .autoPagingToArray({ limit: 10 });
    expect(all.map((transfer) => transfer.id)).toEqual([...refs].reverse());
    expect((await stripe.transfers.list({ destination: escrow.accountRef })).data).toHaveLength(3);
  });

  it('refuses the Stripe-Account header where the simulator keeps objects on the platform only', async () => {
    const accountRef = await account();
    const error = await rejection(stripe.transfers.list({ transfer_group: 'anything' }, { stripeAccount: accountRef }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.message).toMatch(/Stripe-Account/);
  });

  it('signs the Connect endpoint’s events with its own secret: ordering’s secret does not verify them', async () => {
    const escrow = await funded();
    await provider.refundCharge(escrow.chargeRef, 100, key('refund'));
    await simulator.webhooksIdle();
    const delivery = marketplace.received.find((candidate) =>
      candidate.body.toString('utf8').includes(escrow.request.contractId),
    );
    if (delivery === undefined) throw new Error('no Connect webhook received');
    const header = delivery.headers['stripe-signature'] as string;
    expect(() => verifyConnectWebhook(delivery.body, header, ORDERING_SECRET)).toThrow(WebhookSignatureError);
    const tampered = Buffer.from(delivery.body.toString('utf8').replace(escrow.request.contractId, 'ctr-other'));
    expect(() => verifyConnectWebhook(tampered, header, CONNECT_SECRET)).toThrow(WebhookSignatureError);
    expect(simulator.webhookDeliveries().every((entry) => entry.status === 'delivered')).toBe(true);
  });

  it('without a Connect webhook URL, the marketplace’s events go to the one endpoint there is', async () => {
    const single = await startReceiver();
    const alone = await startPaymentSimulator({ webhookUrl: single.url, webhookSecret: CONNECT_SECRET });
    try {
      const connect = createStripeConnectProvider({ apiKey: API_KEY, ...stripeEndpointOf(alone.url) });
      const request = contract();
      const result = await connect.charge(request, key('charge'));
      const chargeRef = result.outcome === 'captured' ? result.chargeRef : '';
      await connect.refundCharge(chargeRef, 500, key('refund'));
      await alone.webhooksIdle();
      const kinds = single.received.map(
        (delivery) =>
          verifyConnectWebhook(delivery.body, delivery.headers['stripe-signature'] as string, CONNECT_SECRET)
            .notification.kind,
      );
      expect(kinds.sort()).toEqual(['charge-refunded', 'ignored']);
      expect(alone.webhookDeliveries().map((entry) => entry.endpoint)).toEqual(['payments', 'payments']);
    } finally {
      await alone.close();
      await single.close();
    }
  });
});
