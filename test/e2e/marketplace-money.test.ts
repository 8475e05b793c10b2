import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/main.js';
import { type PaymentSimulator, startPaymentSimulator } from '../../ops/simulators/payments/server.js';
import type { Role } from '../../runtime/roles.js';
import { startSagas } from '../../sagas/main.js';
import { uniqueSuffix } from '../support/env.js';
import { baseUrlOf } from '../support/gateway.js';
import { marketplaceHttp, milestoneStates, type Parties } from '../support/marketplace/http.js';
import { openSse } from '../support/sse.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

// Issue 16's paths through HTTP on the real stack, with the escrow and payout processes and the Stripe-compatible
// simulator: fund → approve all → wallet → payout paid (webhook); a dispute frozen and split 70/30; a cancelled
// contract refunding what was not released; and bad input that changes nothing and reaches no provider.
// The three milestones are 50,000 + 70,000 + 80,000; the platform keeps 10% of what the worker receives.

let sys: TestSystem;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sagas: Awaited<ReturnType<typeof startSagas>>;
let sim: PaymentSimulator;
let base: string;

beforeAll(async () => {
  sys = await startTestSystem('mktmoney');
  gateway = await startGateway(sys.config);
  base = baseUrlOf(gateway.app);
  sim = await startPaymentSimulator({
    port: 0,
    webhookUrl: `${base}/webhooks/payments`,
    connectWebhookUrl: `${base}/webhooks/marketplace`,
    webhookSecret: sys.config.stripeWebhookSecret,
    payoutDelayMs: 100,
  });
  sagas = await startSagas({
    ...sys.config,
    paymentSimulatorUrl: sim.url,
    sagaRetryBaseMs: 50,
    marketplaceFeeBps: 1000,
  });
});
afterAll(async () => {
  await sagas?.stop();
  await gateway?.stop();
  await sim?.close();
  await sys?.close();
});

const http = () => marketplaceHttp(base, gateway.tokens);
const token = (accountId: string, role: Role) => http().token(accountId, role);
const post = (path: string, body: unknown, as: string) => http().post(path, body, as);
const get = (path: string, as: string) => http().get(path, as);
const eventually = (path: string, as: string, ok: (body: Record<string, unknown>) => boolean, what: string) =>
  http().eventually(path, as, ok, what);
const activeContract = () => http().activeContract();
const deliverAndApprove = (p: Parties, milestoneId: string) => http().deliverAndApprove(p, milestoneId);
const milestoneIds = ['m1', 'm2', 'm3'];

const admin = () => token('admin-1', 'admin');

describe('marketplace money through HTTP', () => {
  it('funds the whole contract, releases each approved milestone less the fee, pays the wallet out', async () => {
    const p = await activeContract();
    // The worker follows the contract's money live (the marketplace channel, SSE here; WebSocket alike).
    const live = await openSse(`${base}/streams/marketplace/me`, { authorization: `Bearer ${p.worker}` });
    expect(live.status).toBe(200);
    const escrow = await eventually(
      `contracts/${p.contractId}/escrow`,
      p.hirer,
      (e) => e.status === 'FUNDED',
      'funded',
    );
    expect(escrow).toMatchObject({ amountMinor: 200_000, feeBps: 1000, totals: { heldMinor: 200_000 } });
    for (const m of milestoneIds) await deliverAndApprove(p, m);

    const released = await eventually(
      `contracts/${p.contractId}/escrow`,
      p.worker,
      (e) => milestoneStates(e).every((s) => s === 'RELEASED'),
      'every milestone released',
    );
    expect(released.totals).toMatchObject({
      heldMinor: 0,
      releasedMinor: 180_000,
      feesMinor: 20_000,
      refundedMinor: 0,
    });
    const releasesSeen = (events: readonly { data: unknown }[]) =>
      events.filter((e) => {
        const d = e.data as { kind?: string; change?: string; contractId?: string };
        return d.kind === 'escrow' && d.change === 'MilestoneReleased' && d.contractId === p.contractId;
      });
    try {
      await live.waitFor((events) => releasesSeen(events).length === 3);
      // Released concurrently: in any order, each once.
      const released = releasesSeen(live.events).map((e) => (e.data as { milestoneId: string }).milestoneId);
      expect(released.sort()).toEqual(milestoneIds);
    } finally {
      await live.close(); // an open stream would hold the gateway's shutdown
    }
    const wallet = await eventually('wallet', p.worker, (w) => w.availableMinor === 180_000, 'the wallet credited');
    expect(wallet.pendingMinor).toBe(0);
    // Three transfers in the provider's books, one per milestone, all of this contract's transfer group.
    const transfers = sim.calls().filter((c) => c.operation === 'transfers.create' && c.status === 200);
    expect(
      new Set(transfers.filter((c) => JSON.stringify(c).includes(p.contractId)).map((c) => c.idempotencyKey)).size,
    ).toBe(3);

    const payout = await post('request-payout', { amountMinor: 180_000 }, p.worker);
    expect(payout.status).toBe(201);
    await sim.webhooksIdle();
    const paid = await eventually(
      'wallet',
      p.worker,
      (w) => (w.history as { kind: string; status?: string }[]).some((h) => h.kind === 'payout' && h.status === 'PAID'),
      'the payout paid (webhook)',
    );
    expect(paid).toMatchObject({ availableMinor: 0, paidOutMinor: 180_000, payoutInFlight: null });
    const trial = await get('ledger/trial-balance', admin());
    expect(trial.body).toMatchObject({ balanced: true, balancesMatchPostings: true });
  });

  it('freezes a disputed milestone until an admin splits it 70/30, then pays and refunds the split', async () => {
    const p = await activeContract();
    expect((await post('submit-milestone', { contractId: p.contractId, milestoneId: 'm1' }, p.worker)).status).toBe(
      200,
    );
    const opened = await post(
      'open-dispute',
      { contractId: p.contractId, milestoneId: 'm1', reason: 'tiles cracked' },
      p.hirer,
    );
    expect(opened.status).toBe(200);
    expect(
      (
        await post(
          'add-dispute-evidence',
          { contractId: p.contractId, milestoneId: 'm1', note: 'photos sent' },
          p.worker,
        )
      ).status,
    ).toBe(200);
    // Approving the frozen milestone releases nothing.
    expect((await post('approve-milestone', { contractId: p.contractId, milestoneId: 'm1' }, p.hirer)).status).toBe(
      200,
    );
    const frozen = await eventually(
      `contracts/${p.contractId}/escrow`,
      p.hirer,
      (e) => milestoneStates(e)[0] === 'DISPUTED',
      'frozen',
    );
    expect(frozen.totals).toMatchObject({ releasedMinor: 0 });

    // A split that does not add up is refused, and nothing reaches the provider.
    const before = sim.calls().length;
    const wrong = await post(
      'resolve-dispute',
      { contractId: p.contractId, milestoneId: 'm1', workerMinor: 35_000, hirerRefundMinor: 14_999 },
      admin(),
    );
    expect(wrong).toMatchObject({ status: 400, body: { error: { code: 'SPLIT_MISMATCH' } } });
    // Parties cannot resolve.
    expect(
      (
        await post(
          'resolve-dispute',
          { contractId: p.contractId, milestoneId: 'm1', workerMinor: 50_000, hirerRefundMinor: 0 },
          p.worker,
        )
      ).status,
    ).toBe(403);
    expect(sim.calls().length).toBe(before);

    const resolved = await post(
      'resolve-dispute',
      { contractId: p.contractId, milestoneId: 'm1', workerMinor: 35_000, hirerRefundMinor: 15_000, note: '70/30' },
      admin(),
    );
    expect(resolved.status).toBe(200);
    const settled = await eventually(
      `contracts/${p.contractId}/escrow`,
      p.worker,
      (e) => milestoneStates(e)[0] === 'SETTLED',
      'settled',
    );
    expect(settled.totals).toMatchObject({
      releasedMinor: 31_500,
      feesMinor: 3_500,
      refundedMinor: 15_000,
      heldMinor: 150_000,
    });
    expect((settled.disputes as { evidence: unknown[] }[])[0]?.evidence).toHaveLength(1);
    await eventually('wallet', p.worker, (w) => w.availableMinor === 31_500, 'the worker credited 31,500');
  });

  it('refunds every unreleased milestone when the contract is cancelled, and keeps the approved one paid', async () => {
    const p = await activeContract();
    await deliverAndApprove(p, 'm1');
    expect((await post('cancel-contract', { contractId: p.contractId, reason: 'moving' }, p.hirer)).status).toBe(200);
    expect((await post('cancel-contract', { contractId: p.contractId, reason: 'agreed' }, p.worker)).status).toBe(200);
    const closed = await eventually(
      `contracts/${p.contractId}/escrow`,
      p.hirer,
      (e) => milestoneStates(e).join() === 'RELEASED,REFUNDED,REFUNDED',
      'm1 released, m2 and m3 refunded',
    );
    expect(closed.totals).toMatchObject({
      releasedMinor: 45_000,
      feesMinor: 5_000,
      refundedMinor: 150_000,
      heldMinor: 0,
    });
  });

  it('answers bad input with 4xx and a code, appends nothing and calls no provider', async () => {
    const p = await activeContract();
    const stranger = token(`hirer-${uniqueSuffix()}`, 'hirer');
    const before = sim.calls().length;
    const cases: [string, unknown, string, number, string][] = [
      [
        'fund-contract',
        { contractId: p.contractId, paymentMethod: '4242424242424242' },
        stranger,
        404,
        'CONTRACT_NOT_FOUND',
      ],
      ['fund-contract', { contractId: p.contractId, paymentMethod: 'tok; drop' }, p.hirer, 400, 'VALIDATION_FAILED'],
      ['fund-contract', { contractId: p.contractId, paymentMethod: '4242424242424242' }, p.hirer, 409, 'ESCROW_FUNDED'],
      ['approve-milestone', { contractId: p.contractId, milestoneId: 'm1' }, stranger, 404, 'CONTRACT_NOT_FOUND'],
      [
        'open-dispute',
        { contractId: p.contractId, milestoneId: 'm1', reason: 'x' },
        stranger,
        404,
        'CONTRACT_NOT_FOUND',
      ],
      ['request-payout', { amountMinor: -5 }, p.worker, 400, 'VALIDATION_FAILED'],
      ['request-payout', { amountMinor: 10.5 }, p.worker, 400, 'VALIDATION_FAILED'],
      ['request-payout', { amountMinor: 5_000 }, p.worker, 404, 'WALLET_NOT_FOUND'],
      [
        'resolve-dispute',
        { contractId: p.contractId, milestoneId: 'm1', workerMinor: 25_000, hirerRefundMinor: 25_000 },
        admin(),
        409,
        'NO_OPEN_DISPUTE',
      ],
    ];
    const versions = async () =>
      await sys.write.db('streams').where('stream_id', 'like', `%${p.contractId}%`).select('stream_id', 'version');
    const streamsBefore = await versions();
    for (const [command, body, as, status, code] of cases) {
      const res = await post(command, body, as);
      expect({ command, status: res.status, code: (res.body.error as { code?: string })?.code }).toEqual({
        command,
        status,
        code,
      });
    }
    expect(await versions()).toEqual(streamsBefore);
    expect(sim.calls().length).toBe(before);
    // A payout above what is available, once there is a wallet.
    await deliverAndApprove(p, 'm1');
    await eventually('wallet', p.worker, (w) => w.availableMinor === 45_000, 'the wallet credited');
    const tooMuch = await post('request-payout', { amountMinor: 45_001 }, p.worker);
    expect(tooMuch).toMatchObject({ status: 409, body: { error: { code: 'INSUFFICIENT_FUNDS' } } });
  });
});
