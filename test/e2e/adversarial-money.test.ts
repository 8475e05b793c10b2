import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/main.js';
import {
  type PaymentSimulator,
  type SimulatorCall,
  startPaymentSimulator,
} from '../../ops/simulators/payments/server.js';
import { startSagas } from '../../sagas/main.js';
import { uniqueSuffix } from '../support/env.js';
import { baseUrlOf } from '../support/gateway.js';
import {
  activeContractBetween,
  atOnce,
  bothAtOnce,
  codeOf,
  contractBetween,
  deliverWebhook,
  getAs,
  payoutEvent,
  postRaw,
  type RawAnswer,
  streamVersions,
  walletEvents,
} from '../support/marketplace/adversary.js';
import { marketplaceHttp, milestoneStates, type Parties } from '../support/marketplace/http.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// Issue 16's money, attacked from outside as its users and adversaries would: requests fired at the same instant,
// hostile bodies on every money route, someone else's contract, milestone or wallet, forged and replayed webhooks,
// the read side probed for other people's money, and two saga processes competing for every step throughout.
// Each refusal must be a 4xx with a machine-readable code that appended nothing (stream versions compared) and
// reached no provider (the simulator's calls compared). Each bug these attacks found is fixed; its test stays.
//
// Every contract is the fixtures' 50,000 + 70,000 + 80,000 = 200,000 EUR cents; the platform keeps 10%.

const CARD = '4242424242424242';
const MILESTONES = ['m1', 'm2', 'm3'] as const;
const AMOUNTS: Record<string, number> = { m1: 50_000, m2: 70_000, m3: 80_000 };
const TOTAL = 200_000;
/** How long after the first request of a race its second one leaves: spread over the escrow process's reaction. */
const DISPUTE_DELAYS_MS = [0, 40, 80, 120, 160, 220, 300, 400, 550];

type Sagas = Awaited<ReturnType<typeof startSagas>>;

let sys: TestSystem;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sagas: Sagas[] = [];
let sim: PaymentSimulator;
let base: string;

const sagaConfig = () => ({
  ...sys.config,
  paymentSimulatorUrl: sim.url,
  sagaRetryBaseMs: 50,
  marketplaceFeeBps: 1000,
});

beforeAll(async () => {
  sys = await startTestSystem('advmoney');
  // The attacks are on money, not on request rates: this file polls the read side fast and runs many parties
  // from one address, so the per-address limit (its own attack surface, tested elsewhere) is lifted here.
  gateway = await startGateway({ ...sys.config, rateLimitIpMax: 1_000_000, rateLimitMax: 1_000_000 });
  base = baseUrlOf(gateway.app);
  sim = await startPaymentSimulator({
    port: 0,
    webhookUrl: `${base}/webhooks/payments`,
    connectWebhookUrl: `${base}/webhooks/marketplace`,
    webhookSecret: sys.config.stripeWebhookSecret,
    payoutDelayMs: 100,
    webhookRetryDelaysMs: [200, 500],
  });
  // Two saga processes from the start (as two deployments' replicas would be): every step below is also raced
  // by the two for its claim, and every Kafka partition may move between them.
  sagas = await Promise.all([startSagas(sagaConfig()), startSagas(sagaConfig())]);
}, 120_000);
afterAll(async () => {
  for (const s of sagas) await s.stop();
  await gateway?.stop();
  await sim?.close();
  await sys?.close();
});

const http = () => marketplaceHttp(base, gateway.tokens);
const admin = () => http().token('admin-1', 'admin');
const escrowPath = (p: Parties) => `contracts/${p.contractId}/escrow`;
const secret = () => sys.config.stripeWebhookSecret;

/** Saga steps of `sagaId` (a contract for the escrow process, a worker for payouts) not performed yet. */
async function pendingSteps(sagaId: string): Promise<number> {
  const row = await sys.write
    .db('saga_commands')
    .where({ saga_id: sagaId, status: 'pending' })
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

/** Waits until the view at `path` says `ok` and the process behind it has nothing left to do, then reads it. */
async function settled(
  path: string,
  as: string,
  sagaId: string,
  ok: (body: Record<string, unknown>) => boolean,
  what: string,
): Promise<Record<string, unknown>> {
  await http().eventually(path, as, ok, what);
  await waitUntil(async () => (await pendingSteps(sagaId)) === 0, 30_000, `${sagaId}'s steps done`);
  return http().eventually(path, as, ok, what);
}

const metadataOf = (call: SimulatorCall): Record<string, unknown> =>
  ((call.params as { metadata?: unknown }).metadata as Record<string, unknown> | undefined) ?? {};

const callsFor = (operation: string, contractId: string) =>
  sim.calls().filter((c) => c.operation === operation && metadataOf(c).contractId === contractId);

/** Refunds of the contract's charge (a refund names the charge, not the contract). */
const refundsFor = (contractId: string) => {
  const intents = new Set(callsFor('payment_intents.create', contractId).map((c) => c.paymentIntent ?? c.objectId));
  return sim.calls().filter((c) => c.operation === 'refunds.create' && intents.has(c.paymentIntent ?? ''));
};

const payoutsTo = (accountRef: string) =>
  sim.calls().filter((c) => c.operation === 'payouts.create' && c.account === accountRef);

interface Wallet extends Parties {
  readonly accountRef: string;
}

/** An active contract whose first milestone was released: the worker's wallet holds 45,000. */
async function workerWithWallet(): Promise<Wallet> {
  const p = await http().activeContract();
  await http().deliverAndApprove(p, 'm1');
  const w = await http().eventually('wallet', p.worker, (x) => x.availableMinor === 45_000, 'the wallet credited');
  return { ...p, accountRef: w.accountRef as string };
}

interface PayoutItem {
  readonly kind: string;
  readonly payoutId?: string;
  readonly status?: string;
  readonly payoutRef?: string | null;
  readonly amountMinor?: number;
}
const payoutIn = (wallet: Record<string, unknown>, payoutId: string): PayoutItem | undefined =>
  (wallet.history as PayoutItem[]).find((h) => h.kind === 'payout' && h.payoutId === payoutId);

/** Requests a payout and waits for the provider's payout.paid to be recorded; its provider reference. */
async function paidOut(w: Wallet, amountMinor: number, payoutId: string): Promise<string> {
  const asked = await http().post('request-payout', { amountMinor, payoutId }, w.worker);
  expect(asked.status).toBe(201);
  const wallet = await http().eventually(
    'wallet',
    w.worker,
    (x) => payoutIn(x, payoutId)?.status === 'PAID' && x.payoutInFlight === null,
    `payout ${payoutId} paid`,
  );
  return payoutIn(wallet, payoutId)?.payoutRef as string;
}

const trialBalance = async () => (await http().get('ledger/trial-balance', admin())).body;

/** A refusal as the tests compare it: status and code. */
const refusal = (answer: RawAnswer) => ({ status: answer.status, code: codeOf(answer) });

interface HostileCase {
  readonly name: string;
  readonly command: string;
  /** A value is sent as JSON; a string is sent as the raw body (for -0, 1e400, NUL escapes, non-objects). */
  readonly body: unknown;
  readonly raw?: boolean;
  readonly as: string;
  readonly status: number;
  readonly code: string;
}

/** Sends every case and checks each answer, that no stream changed and that no provider was called. */
async function expectRefusedWithoutEffect(cases: readonly HostileCase[], streams: readonly string[]): Promise<void> {
  const before = await streamVersions(sys.write.db, streams);
  const calls = sim.calls().length;
  const seen = [];
  for (const c of cases) {
    const raw = c.raw ? (c.body as string) : JSON.stringify(c.body);
    const answer = await postRaw(base, c.command, raw, c.as);
    seen.push({ name: c.name, ...refusal(answer) });
  }
  expect(seen).toEqual(cases.map((c) => ({ name: c.name, status: c.status, code: c.code })));
  expect(await streamVersions(sys.write.db, streams)).toEqual(before);
  expect(sim.calls().length).toBe(calls);
}

describe('concurrency: the same money asked for twice at the same instant', () => {
  it('charges the card once when fund-contract arrives four times at once; the other three get 409', async () => {
    const p = await http().contractInFunding();
    await http().eventually(escrowPath(p), p.hirer, () => true, 'the escrow opened');
    const answers = await atOnce(4, () =>
      http().post('fund-contract', { contractId: p.contractId, paymentMethod: CARD }, p.hirer),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const refused of answers.filter((a) => a.status !== 200)) {
      expect(refused.status).toBe(409);
      expect(['FUNDING_IN_PROGRESS', 'ESCROW_FUNDED']).toContain(codeOf(refused));
    }
    await http().eventually(`contracts/${p.contractId}`, p.hirer, (c) => c.status === 'ACTIVE', 'the contract ACTIVE');
    const escrow = await settled(escrowPath(p), p.hirer, p.contractId, (e) => e.status === 'FUNDED', 'funded');
    expect(escrow.totals).toMatchObject({ heldMinor: TOTAL });
    expect(callsFor('payment_intents.create', p.contractId)).toHaveLength(1);
  });

  it('pays the whole balance out once when request-payout for all of it arrives four times at once', async () => {
    const w = await workerWithWallet();
    const suffix = uniqueSuffix();
    const answers = await atOnce(4, (i) =>
      http().post('request-payout', { amountMinor: 45_000, payoutId: `race-${i}-${suffix}` }, w.worker),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    for (const refused of answers.filter((a) => a.status !== 201)) {
      expect(refused.status).toBe(409);
      expect(['PAYOUT_IN_PROGRESS', 'INSUFFICIENT_FUNDS']).toContain(codeOf(refused));
    }
    await sim.webhooksIdle();
    const wallet = await settled('wallet', w.worker, w.workerId, (x) => x.paidOutMinor === 45_000, 'paid out');
    expect(wallet).toMatchObject({ availableMinor: 0, inFlightMinor: 0, paidOutMinor: 45_000, payoutInFlight: null });
    expect(payoutsTo(w.accountRef)).toHaveLength(1);
    expect(await trialBalance()).toMatchObject({ balanced: true, balancesMatchPostings: true });
  });

  it('never both releases and freezes a milestone when approval and dispute race (nine races); the ledger balances', async () => {
    const contracts = await Promise.all([1, 2, 3].map(() => http().activeContract()));
    const outcomes = await Promise.all(
      contracts.map(async (p, c) => {
        const raced: { milestoneId: string; approve: number; dispute: number; disputeCode: string | null }[] = [];
        for (const milestoneId of MILESTONES) {
          const body = { contractId: p.contractId, milestoneId };
          expect((await http().post('submit-milestone', body, p.worker)).status).toBe(200);
          // Either party disputes while the hirer approves. The release is the escrow process's, a moment after
          // the approval: each race sends the dispute a little later, so that it lands before, on and after the
          // release's intent across the nine.
          const k = c * MILESTONES.length + raced.length;
          const disputer = k % 2 === 0 ? p.worker : p.hirer;
          const [approve, dispute] = await bothAtOnce(
            () => http().post('approve-milestone', body, p.hirer),
            async () => {
              await sleep(DISPUTE_DELAYS_MS[k]!);
              return http().post('open-dispute', { ...body, reason: 'not what we agreed' }, disputer);
            },
          );
          raced.push({ milestoneId, approve: approve.status, dispute: dispute.status, disputeCode: codeOf(dispute) });
        }
        const escrow = await settled(
          escrowPath(p),
          p.hirer,
          p.contractId,
          (e) => milestoneStates(e).every((s) => s === 'RELEASED' || s === 'DISPUTED'),
          'each milestone released or frozen',
        );
        return { p, raced, states: milestoneStates(escrow) };
      }),
    );
    for (const { p, raced, states } of outcomes) {
      raced.forEach((r, i) => {
        expect(r.approve).toBe(200);
        const released = callsFor('transfers.create', p.contractId).filter(
          (t) => metadataOf(t).releaseId === `${p.contractId}:${r.milestoneId}`,
        );
        if (r.dispute === 200) {
          // The dispute won: the money is frozen and no transfer was made for it.
          expect({ ...r, state: states[i] }).toMatchObject({ state: 'DISPUTED' });
          expect(released).toHaveLength(0);
        } else {
          expect({ ...r, state: states[i] }).toMatchObject({ dispute: 409, disputeCode: 'MILESTONE_FUNDS_NOT_HELD' });
          expect(states[i]).toBe('RELEASED');
          expect(released).toHaveLength(1);
        }
      });
    }
    // An admin splits every frozen milestone in half: every cent of each contract then left by exactly one door.
    for (const { p, raced, states } of outcomes) {
      for (const [i, r] of raced.entries()) {
        if (states[i] !== 'DISPUTED') continue;
        const half = AMOUNTS[r.milestoneId]! / 2;
        const body = {
          contractId: p.contractId,
          milestoneId: r.milestoneId,
          workerMinor: half,
          hirerRefundMinor: half,
        };
        expect((await http().post('resolve-dispute', body, admin())).status).toBe(200);
      }
      const done = await settled(
        escrowPath(p),
        p.hirer,
        p.contractId,
        (e) => milestoneStates(e).every((s) => s === 'RELEASED' || s === 'SETTLED'),
        'every milestone released or settled',
      );
      const t = done.totals as Record<string, number>;
      expect(t.heldMinor).toBe(0);
      expect(t.releasedMinor! + t.feesMinor! + t.refundedMinor!).toBe(TOTAL);
    }
    expect(await trialBalance()).toMatchObject({ balanced: true, balancesMatchPostings: true });
  }, 90_000);

  it('releases or refunds each milestone exactly once when the second cancellation races an approval (three races)', async () => {
    const contracts = await Promise.all([1, 2, 3].map(() => http().activeContract()));
    const outcomes = await Promise.all(
      contracts.map(async (p) => {
        const m1 = { contractId: p.contractId, milestoneId: 'm1' };
        expect((await http().post('submit-milestone', m1, p.worker)).status).toBe(200);
        // Work was delivered: the hirer's cancellation waits for the worker's, which races the hirer's approval.
        const asked = await http().post('cancel-contract', { contractId: p.contractId, reason: 'moving' }, p.hirer);
        expect(asked.status).toBe(200);
        const [cancel, approve] = await bothAtOnce(
          () => http().post('cancel-contract', { contractId: p.contractId, reason: 'agreed' }, p.worker),
          () => http().post('approve-milestone', m1, p.hirer),
        );
        const escrow = await settled(
          escrowPath(p),
          p.hirer,
          p.contractId,
          (e) => milestoneStates(e).every((s) => s === 'RELEASED' || s === 'REFUNDED'),
          'every milestone released or refunded',
        );
        return { p, cancel, approve, escrow };
      }),
    );
    for (const { p, cancel, approve, escrow } of outcomes) {
      expect(cancel.status).toBe(200);
      const states = milestoneStates(escrow);
      if (approve.status === 200) {
        expect(states).toEqual(['RELEASED', 'REFUNDED', 'REFUNDED']);
      } else {
        expect(refusal(approve)).toEqual({ status: 409, code: 'CONTRACT_NOT_ACTIVE' });
        expect(states).toEqual(['REFUNDED', 'REFUNDED', 'REFUNDED']);
      }
      const t = escrow.totals as Record<string, number>;
      expect(t.releasedMinor! + t.feesMinor! + t.refundedMinor!).toBe(TOTAL);
      expect(t.heldMinor).toBe(0);
      expect(callsFor('transfers.create', p.contractId)).toHaveLength(approve.status === 200 ? 1 : 0);
      expect(refundsFor(p.contractId)).toHaveLength(1);
    }
    expect(await trialBalance()).toMatchObject({ balanced: true, balancesMatchPostings: true });
  }, 90_000);

  it('freezes or refunds each milestone, never both, when a cancellation races a dispute (three races)', async () => {
    const contracts = await Promise.all([1, 2, 3].map(() => http().activeContract()));
    const outcomes = await Promise.all(
      contracts.map(async (p, c) => {
        // Nothing delivered yet: the hirer's cancellation takes effect at once; the worker's dispute on m2 races
        // the refund the escrow process starts after it (sent a little later in each race).
        const [cancel, dispute] = await bothAtOnce(
          () => http().post('cancel-contract', { contractId: p.contractId, reason: 'found someone else' }, p.hirer),
          async () => {
            await sleep(DISPUTE_DELAYS_MS[c * 3]!);
            return http().post(
              'open-dispute',
              { contractId: p.contractId, milestoneId: 'm2', reason: 'I started' },
              p.worker,
            );
          },
        );
        const escrow = await settled(
          escrowPath(p),
          p.hirer,
          p.contractId,
          (e) => milestoneStates(e).every((s) => s === 'REFUNDED' || s === 'DISPUTED'),
          'every milestone refunded or frozen',
        );
        return { p, cancel, dispute, states: milestoneStates(escrow) };
      }),
    );
    for (const { p, cancel, dispute, states } of outcomes) {
      expect(cancel.status).toBe(200);
      if (dispute.status === 200) {
        expect(states).toEqual(['REFUNDED', 'DISPUTED', 'REFUNDED']);
        const split = { contractId: p.contractId, milestoneId: 'm2', workerMinor: 35_000, hirerRefundMinor: 35_000 };
        expect((await http().post('resolve-dispute', split, admin())).status).toBe(200);
      } else {
        expect(refusal(dispute)).toEqual({ status: 409, code: 'MILESTONE_FUNDS_NOT_HELD' });
        expect(states).toEqual(['REFUNDED', 'REFUNDED', 'REFUNDED']);
      }
      const done = await settled(
        escrowPath(p),
        p.hirer,
        p.contractId,
        (e) => milestoneStates(e).every((s) => s === 'REFUNDED' || s === 'SETTLED'),
        'every milestone refunded or settled',
      );
      const t = done.totals as Record<string, number>;
      expect(t.heldMinor).toBe(0);
      expect(t.releasedMinor! + t.feesMinor! + t.refundedMinor!).toBe(TOTAL);
      expect(refundsFor(p.contractId)).toHaveLength(dispute.status === 200 ? 2 : 1);
      expect(callsFor('transfers.create', p.contractId)).toHaveLength(dispute.status === 200 ? 1 : 0);
    }
    expect(await trialBalance()).toMatchObject({ balanced: true, balancesMatchPostings: true });
  }, 90_000);

  it("opens one connected account and one wallet when a worker's first two releases happen at the same instant", async () => {
    const suffix = uniqueSuffix();
    const workerId = `worker-${suffix}`;
    const worker = http().token(workerId, 'worker');
    const contracts = await Promise.all(
      ['a', 'b'].map((h) =>
        activeContractBetween(
          http(),
          { hirer: http().token(`hirer-${h}-${suffix}`, 'hirer'), worker, workerId },
          'EUR',
        ),
      ),
    );
    for (const p of contracts) {
      expect(
        (await http().post('submit-milestone', { contractId: p.contractId, milestoneId: 'm1' }, worker)).status,
      ).toBe(200);
    }
    await atOnce(2, (i) =>
      http().post(
        'approve-milestone',
        { contractId: contracts[i]!.contractId, milestoneId: 'm1' },
        contracts[i]!.hirer,
      ),
    );
    const wallet = await settled('wallet', worker, workerId, (w) => w.availableMinor === 90_000, 'both credited');
    const accounts = sim
      .calls()
      .filter((c) => c.operation === 'accounts.create' && metadataOf(c).workerId === workerId);
    expect(accounts).toHaveLength(1);
    expect(wallet.accountRef).toBe(accounts[0]?.objectId);
    const transfers = contracts.flatMap((p) => callsFor('transfers.create', p.contractId));
    expect(transfers.map((t) => t.account ?? (t.params as { destination?: string }).destination)).toEqual([
      wallet.accountRef,
      wallet.accountRef,
    ]);
  });

  it('settles one split when two admins resolve the same dispute at the same instant with different splits', async () => {
    const p = await http().activeContract();
    const m2 = { contractId: p.contractId, milestoneId: 'm2' };
    expect((await http().post('open-dispute', { ...m2, reason: 'leaks' }, p.hirer)).status).toBe(200);
    const splits = [
      { workerMinor: 70_000, hirerRefundMinor: 0 },
      { workerMinor: 0, hirerRefundMinor: 70_000 },
    ];
    const answers = await atOnce(2, (i) =>
      http().post('resolve-dispute', { ...m2, ...splits[i] }, http().token(`admin-${i}`, 'admin')),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(codeOf(answers.find((a) => a.status === 409)!)).toBe('DISPUTE_RESOLVED');
    const won = splits[answers.findIndex((a) => a.status === 200)]!;
    const escrow = await settled(
      escrowPath(p),
      p.hirer,
      p.contractId,
      (e) => milestoneStates(e)[1] === 'SETTLED',
      'the dispute settled',
    );
    expect(escrow.totals).toMatchObject({
      releasedMinor: won.workerMinor * 0.9,
      refundedMinor: won.hirerRefundMinor,
      heldMinor: 130_000,
    });
    expect(callsFor('transfers.create', p.contractId)).toHaveLength(won.workerMinor > 0 ? 1 : 0);
    expect(refundsFor(p.contractId)).toHaveLength(won.hirerRefundMinor > 0 ? 1 : 0);
  });
});

describe("hostile input and someone else's money", () => {
  // P: m1 released (its worker's wallet holds 45,000), m2 disputed by the hirer, m3 held. Q: the same with m1
  // released, nothing disputed. A stranger hirer and a stranger worker with no contract (and no wallet).
  let P: Wallet;
  let Q: Wallet;
  let strangerHirer: string;
  let strangerWorker: string;
  const streams = () => [P.contractId, Q.contractId, P.workerId, Q.workerId];

  beforeAll(async () => {
    [P, Q] = await Promise.all([workerWithWallet(), workerWithWallet()]);
    const disputed = await http().post(
      'open-dispute',
      { contractId: P.contractId, milestoneId: 'm2', reason: 'tiles cracked' },
      P.hirer,
    );
    expect(disputed.status).toBe(200);
    await settled(escrowPath(P), P.hirer, P.contractId, (e) => milestoneStates(e)[1] === 'DISPUTED', 'm2 frozen');
    for (const x of [P, Q]) {
      await settled(escrowPath(x), x.hirer, x.contractId, (e) => milestoneStates(e)[0] === 'RELEASED', 'released');
    }
    strangerHirer = http().token(`hirer-${uniqueSuffix()}`, 'hirer');
    strangerWorker = http().token(`worker-${uniqueSuffix()}`, 'worker');
  }, 60_000);

  it('refuses hostile fund-contract requests with a 4xx and a code, appending nothing and calling no provider', async () => {
    const c = P.contractId;
    const fund = (name: string, body: unknown, as: string, status: number, code: string, raw = false) => ({
      name,
      command: 'fund-contract',
      body,
      raw,
      as,
      status,
      code,
    });
    await expectRefusedWithoutEffect(
      [
        fund('contract id a number', { contractId: 123, paymentMethod: CARD }, P.hirer, 400, 'VALIDATION_FAILED'),
        fund('payment method null', { contractId: c, paymentMethod: null }, P.hirer, 400, 'VALIDATION_FAILED'),
        fund('extra amount', { contractId: c, paymentMethod: CARD, amountMinor: 1 }, P.hirer, 400, 'VALIDATION_FAILED'),
        fund(
          'NUL in the id',
          '{"contractId":"a\\u0000b","paymentMethod":"4242424242424242"}',
          P.hirer,
          400,
          'INVALID_TEXT',
          true,
        ),
        fund('escape in the method', { contractId: c, paymentMethod: 'pm_\u001b[2J' }, P.hirer, 400, 'INVALID_TEXT'),
        fund('id too long', { contractId: 'x'.repeat(65), paymentMethod: CARD }, P.hirer, 400, 'VALIDATION_FAILED'),
        fund('path in the id', { contractId: '../escrow-x', paymentMethod: CARD }, P.hirer, 400, 'VALIDATION_FAILED'),
        fund('body an array', '[]', P.hirer, 400, 'VALIDATION_FAILED', true),
        fund('body null', 'null', P.hirer, 400, 'VALIDATION_FAILED', true),
        fund(
          'unknown contract',
          { contractId: `nope-${uniqueSuffix()}`, paymentMethod: CARD },
          P.hirer,
          404,
          'CONTRACT_NOT_FOUND',
        ),
        fund(
          "another hirer's contract",
          { contractId: c, paymentMethod: CARD },
          strangerHirer,
          404,
          'CONTRACT_NOT_FOUND',
        ),
        fund(
          "the other party's contract",
          { contractId: Q.contractId, paymentMethod: CARD },
          P.hirer,
          404,
          'CONTRACT_NOT_FOUND',
        ),
        fund('the worker funding', { contractId: c, paymentMethod: CARD }, P.worker, 403, 'FORBIDDEN'),
        fund('an admin funding', { contractId: c, paymentMethod: CARD }, admin(), 403, 'FORBIDDEN'),
        fund('funded already', { contractId: c, paymentMethod: CARD }, P.hirer, 409, 'ESCROW_FUNDED'),
      ],
      streams(),
    );
  });

  it('refuses hostile open-dispute and add-dispute-evidence requests, appending nothing', async () => {
    const c = P.contractId;
    const dispute = (
      name: string,
      body: unknown,
      as: string,
      status: number,
      code: string,
      command = 'open-dispute',
    ) => ({
      name,
      command,
      body,
      as,
      status,
      code,
    });
    await expectRefusedWithoutEffect(
      [
        dispute(
          'unknown milestone',
          { contractId: c, milestoneId: 'm9', reason: 'x' },
          P.hirer,
          404,
          'MILESTONE_NOT_FOUND',
        ),
        dispute(
          'a stranger',
          { contractId: c, milestoneId: 'm3', reason: 'x' },
          strangerWorker,
          404,
          'CONTRACT_NOT_FOUND',
        ),
        dispute(
          "P's hirer on Q",
          { contractId: Q.contractId, milestoneId: 'm3', reason: 'x' },
          P.hirer,
          404,
          'CONTRACT_NOT_FOUND',
        ),
        dispute('an admin', { contractId: c, milestoneId: 'm3', reason: 'x' }, admin(), 403, 'FORBIDDEN'),
        dispute(
          'bell in the reason',
          { contractId: c, milestoneId: 'm3', reason: 'ring\u0007' },
          P.hirer,
          400,
          'INVALID_TEXT',
        ),
        dispute('empty reason', { contractId: c, milestoneId: 'm3', reason: '' }, P.hirer, 400, 'VALIDATION_FAILED'),
        dispute(
          'reason too long',
          { contractId: c, milestoneId: 'm3', reason: 'y'.repeat(2001) },
          P.hirer,
          400,
          'VALIDATION_FAILED',
        ),
        dispute('reason a number', { contractId: c, milestoneId: 'm3', reason: 42 }, P.hirer, 400, 'VALIDATION_FAILED'),
        dispute(
          'released money',
          { contractId: c, milestoneId: 'm1', reason: 'x' },
          P.worker,
          409,
          'MILESTONE_FUNDS_NOT_HELD',
        ),
        dispute(
          'evidence by a stranger',
          { contractId: c, milestoneId: 'm2', note: 'mine' },
          strangerHirer,
          404,
          'CONTRACT_NOT_FOUND',
          'add-dispute-evidence',
        ),
        dispute(
          'evidence with no dispute',
          { contractId: c, milestoneId: 'm3', note: 'x' },
          P.worker,
          409,
          'NO_OPEN_DISPUTE',
          'add-dispute-evidence',
        ),
        dispute(
          'evidence with ESC',
          { contractId: c, milestoneId: 'm2', note: '\u001b]0;pwned\u0007' },
          P.worker,
          400,
          'INVALID_TEXT',
          'add-dispute-evidence',
        ),
        dispute(
          'evidence too long',
          { contractId: c, milestoneId: 'm2', note: 'z'.repeat(5001) },
          P.worker,
          400,
          'VALIDATION_FAILED',
          'add-dispute-evidence',
        ),
      ],
      streams(),
    );
  });

  it('refuses hostile resolve-dispute requests: parties, huge or fractional numbers, splits not adding up', async () => {
    const m2 = { contractId: P.contractId, milestoneId: 'm2' };
    const resolve = (name: string, body: unknown, as: string, status: number, code: string, raw = false) => ({
      name,
      command: 'resolve-dispute',
      body,
      raw,
      as,
      status,
      code,
    });
    const rawSplit = (worker: string, hirer: string) =>
      `{"contractId":"${P.contractId}","milestoneId":"m2","workerMinor":${worker},"hirerRefundMinor":${hirer}}`;
    await expectRefusedWithoutEffect(
      [
        resolve('the worker', { ...m2, workerMinor: 70_000, hirerRefundMinor: 0 }, P.worker, 403, 'FORBIDDEN'),
        resolve('the hirer', { ...m2, workerMinor: 0, hirerRefundMinor: 70_000 }, P.hirer, 403, 'FORBIDDEN'),
        resolve('2^53', { ...m2, workerMinor: 2 ** 53, hirerRefundMinor: 0 }, admin(), 400, 'VALIDATION_FAILED'),
        resolve('1e308', { ...m2, workerMinor: 1e308, hirerRefundMinor: 0 }, admin(), 400, 'VALIDATION_FAILED'),
        resolve('1e400 (Infinity)', rawSplit('1e400', '0'), admin(), 400, 'VALIDATION_FAILED', true),
        resolve('negative', { ...m2, workerMinor: 70_001, hirerRefundMinor: -1 }, admin(), 400, 'VALIDATION_FAILED'),
        resolve(
          'fraction',
          { ...m2, workerMinor: 34_999.5, hirerRefundMinor: 35_000.5 },
          admin(),
          400,
          'VALIDATION_FAILED',
        ),
        resolve('a string', { ...m2, workerMinor: '70000', hirerRefundMinor: 0 }, admin(), 400, 'VALIDATION_FAILED'),
        resolve('null', { ...m2, workerMinor: null, hirerRefundMinor: 70_000 }, admin(), 400, 'VALIDATION_FAILED'),
        resolve(
          'a fee chosen',
          { ...m2, workerMinor: 70_000, hirerRefundMinor: 0, feeMinor: 0 },
          admin(),
          400,
          'VALIDATION_FAILED',
        ),
        resolve(
          'short by one',
          { ...m2, workerMinor: 35_000, hirerRefundMinor: 34_999 },
          admin(),
          400,
          'SPLIT_MISMATCH',
        ),
        resolve(
          'over by one',
          { ...m2, workerMinor: 35_000, hirerRefundMinor: 35_001 },
          admin(),
          400,
          'SPLIT_MISMATCH',
        ),
        resolve(
          'both at the maximum',
          { ...m2, workerMinor: 1e9, hirerRefundMinor: 1e9 },
          admin(),
          400,
          'SPLIT_MISMATCH',
        ),
        resolve(
          'unknown contract',
          { ...m2, contractId: `nope-${uniqueSuffix()}`, workerMinor: 1, hirerRefundMinor: 0 },
          admin(),
          404,
          'CONTRACT_NOT_FOUND',
        ),
        resolve(
          'unknown milestone',
          { ...m2, milestoneId: 'm9', workerMinor: 1, hirerRefundMinor: 0 },
          admin(),
          404,
          'MILESTONE_NOT_FOUND',
        ),
        resolve(
          'not disputed',
          { ...m2, milestoneId: 'm3', workerMinor: 80_000, hirerRefundMinor: 0 },
          admin(),
          409,
          'NO_OPEN_DISPUTE',
        ),
        resolve(
          'released milestone',
          { ...m2, milestoneId: 'm1', workerMinor: 50_000, hirerRefundMinor: 0 },
          admin(),
          409,
          'NO_OPEN_DISPUTE',
        ),
      ],
      streams(),
    );
  });

  it("refuses hostile request-payout requests: other roles, huge numbers, -0, another worker's wallet named", async () => {
    const payout = (name: string, body: unknown, as: string, status: number, code: string, raw = false) => ({
      name,
      command: 'request-payout',
      body,
      raw,
      as,
      status,
      code,
    });
    await expectRefusedWithoutEffect(
      [
        payout('a hirer', { amountMinor: 10_000 }, P.hirer, 403, 'FORBIDDEN'),
        payout('an admin', { amountMinor: 10_000 }, admin(), 403, 'FORBIDDEN'),
        payout('2^53', { amountMinor: 2 ** 53 }, P.worker, 400, 'VALIDATION_FAILED'),
        payout('2^53 - 1', { amountMinor: Number.MAX_SAFE_INTEGER }, P.worker, 400, 'VALIDATION_FAILED'),
        payout('1e308', { amountMinor: 1e308 }, P.worker, 400, 'VALIDATION_FAILED'),
        payout('1e400 (Infinity)', '{"amountMinor":1e400}', P.worker, 400, 'VALIDATION_FAILED', true),
        payout('-0', '{"amountMinor":-0}', P.worker, 400, 'VALIDATION_FAILED', true),
        payout('zero', { amountMinor: 0 }, P.worker, 400, 'VALIDATION_FAILED'),
        payout('negative', { amountMinor: -45_000 }, P.worker, 400, 'VALIDATION_FAILED'),
        payout('fraction', { amountMinor: 10_000.01 }, P.worker, 400, 'VALIDATION_FAILED'),
        payout('a string', { amountMinor: '10000' }, P.worker, 400, 'VALIDATION_FAILED'),
        payout('an array', { amountMinor: [10_000] }, P.worker, 400, 'VALIDATION_FAILED'),
        payout(
          "another worker's wallet",
          { amountMinor: 10_000, workerId: Q.workerId },
          P.worker,
          400,
          'VALIDATION_FAILED',
        ),
        payout('payout id a path', { amountMinor: 10_000, payoutId: '../x' }, P.worker, 400, 'VALIDATION_FAILED'),
        payout(
          'NUL in the payout id',
          '{"amountMinor":10000,"payoutId":"p\\u0000"}',
          P.worker,
          400,
          'INVALID_TEXT',
          true,
        ),
        payout('below the minimum', { amountMinor: 999 }, P.worker, 400, 'PAYOUT_TOO_SMALL'),
        payout('one more than available', { amountMinor: 45_001 }, P.worker, 409, 'INSUFFICIENT_FUNDS'),
        payout('no wallet', { amountMinor: 10_000 }, strangerWorker, 404, 'WALLET_NOT_FOUND'),
      ],
      streams(),
    );
  });

  it('tells a hirer or a worker of another contract that its escrow does not exist (404, as for a missing one)', async () => {
    const other = escrowPath(Q);
    for (const as of [P.hirer, P.worker, strangerHirer, strangerWorker]) {
      expect(refusal(await http().get(other, as))).toEqual({ status: 404, code: 'CONTRACT_NOT_FOUND' });
    }
    expect(refusal(await http().get(`contracts/nope-${uniqueSuffix()}/escrow`, P.hirer))).toEqual({
      status: 404,
      code: 'CONTRACT_NOT_FOUND',
    });
    expect((await http().get(other, Q.hirer)).status).toBe(200);
    expect((await http().get(other, admin())).status).toBe(200);
    const bad = await getAs(base, '/queries/marketplace/contracts/a%00b/escrow', P.hirer);
    expect(bad.status).toBe(400);
    expect(codeOf(bad)).toMatch(/^[A-Z_]+$/);
  });

  it("keeps each wallet to its worker: hirers and admins 403, another worker's named 400, anonymous 401", async () => {
    expect(refusal(await http().get('wallet', P.hirer))).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(refusal(await http().get('wallet', admin()))).toEqual({ status: 403, code: 'FORBIDDEN' });
    for (const query of [`workerId=${Q.workerId}`, `worker=${Q.workerId}`, `accountId=${Q.workerId}`]) {
      expect(refusal(await http().get(`wallet?${query}`, P.worker))).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
    expect(refusal(await getAs(base, '/queries/marketplace/wallet', null))).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    const own = await http().get('wallet', P.worker);
    expect(own.body).toMatchObject({ workerId: P.workerId, availableMinor: 45_000 });
    for (const after of [String(Number.MAX_SAFE_INTEGER), '9007199254740993', '1e30', '-1', '0']) {
      expect({ after, ...refusal(await http().get(`wallet?after=${after}`, P.worker)) }).toMatchObject({
        after,
        status: 400,
      });
    }
  });

  it('keeps the ledger, the balances and the trial balance to admins (403 FORBIDDEN for parties)', async () => {
    const paths = [
      'ledger',
      `ledger?account=wallet:${Q.workerId}`,
      `ledger?contractId=${Q.contractId}`,
      'ledger/balances',
      `ledger/balances?prefix=wallet:${Q.workerId}`,
      'ledger/trial-balance',
    ];
    for (const path of paths) {
      for (const as of [P.hirer, P.worker]) {
        expect({ path, ...refusal(await http().get(path, as)) }).toEqual({ path, status: 403, code: 'FORBIDDEN' });
      }
      expect((await http().get(path, admin())).status).toBe(200);
    }
    expect(refusal(await http().get('ledger?account=wallet:x%00', admin())).status).toBe(400);
    expect(refusal(await http().get('ledger?limit=1000000', admin()))).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  });

  it('keeps a payout id reused by another worker apart: each wallet pays its own amount to its own account', async () => {
    const shared = `shared-${uniqueSuffix()}`;
    const [refP, refQ] = await Promise.all([paidOut(P, 10_000, shared), paidOut(Q, 20_000, shared)]);
    expect(refP).not.toBe(refQ);
    expect(payoutsTo(P.accountRef).map((c) => metadataOf(c).payoutId)).toEqual([shared]);
    expect(payoutsTo(Q.accountRef).map((c) => metadataOf(c).payoutId)).toEqual([shared]);
    const [wp, wq] = await Promise.all([http().get('wallet', P.worker), http().get('wallet', Q.worker)]);
    expect(wp.body).toMatchObject({ availableMinor: 35_000, paidOutMinor: 10_000 });
    expect(wq.body).toMatchObject({ availableMinor: 25_000, paidOutMinor: 20_000 });
  });

  // A payout id is the worker's idempotency key: the same request again is answered as before (201, nothing new),
  // another amount under a known id is another request (this attack found it answered 201 for a payout never made).
  it('refuses a payout id reused with another amount instead of answering 201 for a payout never made', async () => {
    const paid = (await http().get('wallet', P.worker)).body.history as PayoutItem[];
    const reused = paid.find((h) => h.kind === 'payout' && h.status === 'PAID')?.payoutId;
    expect(reused).toBeDefined();
    const before = await streamVersions(sys.write.db, [P.workerId]);
    const calls = sim.calls().length;
    const again = await http().post('request-payout', { amountMinor: 30_000, payoutId: reused }, P.worker);
    expect(await streamVersions(sys.write.db, [P.workerId])).toEqual(before);
    expect(sim.calls().length).toBe(calls);
    expect(refusal(again)).toEqual({ status: 409, code: 'PAYOUT_ID_REUSED' });
  });

  it('answers an Idempotency-Key reused for another payout amount with IDEMPOTENCY_KEY_REUSED, paying once', async () => {
    const key = `payout-key-${uniqueSuffix()}`;
    const send = (amountMinor: number, as: string) =>
      fetch(`${base}/commands/marketplace/request-payout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${as}`, 'idempotency-key': key },
        body: JSON.stringify({ amountMinor }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
    const first = await send(10_000, Q.worker);
    expect(first.status).toBe(201);
    const same = await send(10_000, Q.worker);
    expect(same).toEqual(first);
    const other = await send(12_000, Q.worker);
    expect(other.status).toBeGreaterThanOrEqual(400);
    expect(other.status).toBeLessThan(500);
    expect(codeOf(other)).toBe('IDEMPOTENCY_KEY_REUSED');
    // The same key from another worker is that worker's own request (keys are scoped by caller).
    expect((await send(10_000, P.worker)).status).toBe(201);
    await sim.webhooksIdle();
    const wq = await settled('wallet', Q.worker, Q.workerId, (x) => x.paidOutMinor === 30_000, 'paid once');
    expect(wq).toMatchObject({ availableMinor: 15_000, payoutInFlight: null });
    expect(payoutsTo(Q.accountRef)).toHaveLength(2);
  });

  it('reads a split of -0 to the worker as nothing: the hirer gets the held 70,000 back, the ledger balances', async () => {
    const answer = await postRaw(
      base,
      'resolve-dispute',
      `{"contractId":"${P.contractId}","milestoneId":"m2","workerMinor":-0,"hirerRefundMinor":70000}`,
      admin(),
    );
    expect(answer.status).toBe(200);
    const escrow = await settled(
      escrowPath(P),
      P.hirer,
      P.contractId,
      (e) => milestoneStates(e)[1] === 'SETTLED',
      'the dispute settled',
    );
    expect(escrow.totals).toMatchObject({ releasedMinor: 45_000, feesMinor: 5_000, refundedMinor: 70_000 });
    expect(callsFor('transfers.create', P.contractId)).toHaveLength(1);
    expect(await trialBalance()).toMatchObject({ balanced: true, balancesMatchPostings: true });
  });
});

describe('webhooks: forged, misdirected, replayed and late payout notices', () => {
  // W1 paid out twice (10,000 then 11,000), W2 once (20,000); W3 has 45,000 and no payout yet.
  let W1: Wallet;
  let W2: Wallet;
  let W3: Wallet;
  let x1: { id: string; ref: string };
  let x2: { id: string; ref: string };
  let y: { id: string; ref: string };

  beforeAll(async () => {
    [W1, W2, W3] = await Promise.all([workerWithWallet(), workerWithWallet(), workerWithWallet()]);
    const s = uniqueSuffix();
    x1 = { id: `x1-${s}`, ref: '' };
    x2 = { id: `x2-${s}`, ref: '' };
    y = { id: `y-${s}`, ref: '' };
    [x1.ref, y.ref] = await Promise.all([paidOut(W1, 10_000, x1.id), paidOut(W2, 20_000, y.id)]);
    x2.ref = await paidOut(W1, 11_000, x2.id);
    await sim.webhooksIdle();
  }, 60_000);

  const failedX1 = () =>
    payoutEvent({
      type: 'payout.failed',
      account: W1.accountRef,
      payoutRef: x1.ref,
      amountMinor: 10_000,
      workerId: W1.workerId,
      payoutId: x1.id,
    });

  it('refuses a forged signature, a tampered body, a missing or malformed header and a stale timestamp (400)', async () => {
    const before = await streamVersions(sys.write.db, [W1.workerId]);
    const now = Math.floor(Date.now() / 1000);
    const attempts: [string, Parameters<typeof deliverWebhook>[2]][] = [
      ['wrong secret', { secret: `whsec_${uniqueSuffix()}` }],
      ['tampered amount', { secret: secret(), tamper: (b) => b.replace('"amount":10000', '"amount":99999') }],
      ['tampered worker', { secret: secret(), tamper: (b) => b.replace(W1.workerId, W2.workerId) }],
      ['no header', { secret: secret(), signature: null }],
      ['empty header', { secret: secret(), signature: '' }],
      ['garbage header', { secret: secret(), signature: 't=abc,v1=zz' }],
      ['only a v0 scheme', { secret: secret(), signature: `t=${now},v0=${'0'.repeat(64)}` }],
      ['an hour old', { secret: secret(), timestampSeconds: now - 3600 }],
      ['six minutes old', { secret: secret(), timestampSeconds: now - 360 }],
    ];
    for (const [name, options] of attempts) {
      const answer = await deliverWebhook(base, failedX1(), options);
      expect({ name, ...refusal(answer) }).toEqual({ name, status: 400, code: 'INVALID_WEBHOOK_SIGNATURE' });
    }
    expect(await streamVersions(sys.write.db, [W1.workerId])).toEqual(before);
    expect((await http().get('wallet', W1.worker)).body).toMatchObject({ availableMinor: 24_000 });
  });

  it('acknowledges a signed notice about an unknown payout or worker and records nothing', async () => {
    const before = await streamVersions(sys.write.db, [W1.workerId]);
    const unknownPayout = payoutEvent({
      type: 'payout.failed',
      account: W1.accountRef,
      payoutRef: 'po_unknown',
      amountMinor: 10_000,
      workerId: W1.workerId,
      payoutId: `nope-${uniqueSuffix()}`,
    });
    const unknownWorker = payoutEvent({
      type: 'payout.failed',
      account: W1.accountRef,
      payoutRef: x1.ref,
      amountMinor: 10_000,
      workerId: `ghost-${uniqueSuffix()}`,
      payoutId: x1.id,
    });
    for (const event of [unknownPayout, unknownWorker]) {
      const answer = await deliverWebhook(base, event, { secret: secret() });
      expect(answer.status).toBe(200);
      expect(answer.body.received).toBe(true);
    }
    expect(await streamVersions(sys.write.db, [W1.workerId])).toEqual(before);
  });

  it('answers a signed notice with a control character in its text 200, never a 500 the provider retries for days', async () => {
    const event = failedX1();
    const object = (event.data as { object: Record<string, unknown> }).object;
    object.failure_code = 'account\u0000closed';
    object.failure_message = 'closed\u001b[2J';
    const answer = await deliverWebhook(base, event, { secret: secret() });
    expect(answer.status).toBe(200);
    expect(answer.body.received).toBe(true);
    // Recorded (the bank returned it) or refused as text the log cannot hold: never half of it, never twice.
    const wallet = (await http().get('wallet', W1.worker)).body;
    expect([24_000, 34_000]).toContain(wallet.availableMinor);
  });

  // The webhook's metadata names the worker and the payout; only the event's connected account and payout object
  // say where it happened. A correctly signed payout.paid from another connected account must not mark this
  // worker's payout PAID (this attack found it did: the payout process then never sent it, and the wallet said the
  // bank had money the provider never moved).
  it("ignores a signed payout.paid from another connected account naming this worker's payout in flight", async () => {
    const payoutId = `w3-${uniqueSuffix()}`;
    const asked = await http().post('request-payout', { amountMinor: 30_000, payoutId }, W3.worker);
    expect(asked.status).toBe(201);
    const forged = payoutEvent({
      type: 'payout.paid',
      account: W2.accountRef,
      payoutRef: 'po_not_this_workers',
      amountMinor: 30_000,
      workerId: W3.workerId,
      payoutId,
    });
    expect((await deliverWebhook(base, forged, { secret: secret() })).status).toBe(200);
    await http().eventually('wallet', W3.worker, (w) => payoutIn(w, payoutId)?.status === 'PAID', 'the payout paid');
    await sim.webhooksIdle();
    await waitUntil(async () => (await pendingSteps(W3.workerId)) === 0, 30_000, 'the payout process idle');
    // The provider made the payout, and the wallet recorded it paid with the provider's payout, not the forged one.
    const made = payoutsTo(W3.accountRef);
    expect(made).toHaveLength(1);
    const paid = (await walletEvents(sys.write, W3.workerId)).filter(
      (e) => e.type === 'PayoutPaid' && e.data.payoutId === payoutId,
    );
    expect(paid.map((e) => e.data.payoutRef)).toEqual([made[0]?.objectId]);
  });

  // A payout.failed naming a paid payout is the bank returning it only when it is about that payout object: a
  // notice about another payout on the same account (same metadata) must not give the amount back to be paid out
  // twice (this attack found it did).
  it('ignores a signed payout.failed for a paid payout that carries another payout object', async () => {
    const before = await streamVersions(sys.write.db, [W1.workerId]);
    const other = payoutEvent({
      type: 'payout.failed',
      account: W1.accountRef,
      payoutRef: 'po_some_other_payout',
      amountMinor: 11_000,
      workerId: W1.workerId,
      payoutId: x2.id,
    });
    expect((await deliverWebhook(base, other, { secret: secret() })).status).toBe(200);
    expect(await streamVersions(sys.write.db, [W1.workerId])).toEqual(before);
  });

  it('records a payout.paid delivered twice (by the provider, and by hand) once', async () => {
    const event = sim.events().find((e) => e.type === 'payout.paid' && e.data.object.id === y.ref);
    expect(event).toBeDefined();
    const before = await streamVersions(sys.write.db, [W2.workerId]);
    expect(sim.resendEvent(event!.id)).toBe(true);
    await sim.webhooksIdle();
    for (let i = 0; i < 2; i++) {
      expect((await deliverWebhook(base, event, { secret: secret() })).status).toBe(200);
    }
    expect(await streamVersions(sys.write.db, [W2.workerId])).toEqual(before);
    expect((await http().get('wallet', W2.worker)).body).toMatchObject({
      availableMinor: 25_000,
      paidOutMinor: 20_000,
    });
  });

  it('gives a payout back once when the bank returns it after payout.paid, however often and late that is told', async () => {
    const before = await streamVersions(sys.write.db, [W2.workerId]);
    const stream = Object.keys(before)[0]!;
    const ours = {
      account: W2.accountRef,
      payoutRef: y.ref,
      amountMinor: 20_000,
      workerId: W2.workerId,
      payoutId: y.id,
    };
    const returned = payoutEvent({ ...ours, type: 'payout.failed' });
    const againReturned = payoutEvent({ ...ours, type: 'payout.failed' });
    const paidLate = payoutEvent({ ...ours, type: 'payout.paid' });
    for (const event of [returned, returned, againReturned, paidLate, againReturned]) {
      expect((await deliverWebhook(base, event, { secret: secret() })).status).toBe(200);
    }
    expect((await streamVersions(sys.write.db, [W2.workerId]))[stream]).toBe(before[stream]! + 1);
    const wallet = await http().eventually(
      'wallet',
      W2.worker,
      (w) => payoutIn(w, y.id)?.status === 'FAILED',
      'the payout returned',
    );
    expect(wallet).toMatchObject({ availableMinor: 45_000, paidOutMinor: 0, inFlightMinor: 0 });
    expect(await trialBalance()).toMatchObject({ balanced: true, balancesMatchPostings: true });
  });
});

describe('funding a contract that has already ended', () => {
  // The escrow alone does not know its contract was cancelled while FUNDING: fund-contract must ask the contract,
  // or the card is charged only to be refunded (this attack found it was: a charge, a refund, the fee lost).
  it('refuses fund-contract on a contract cancelled before it was funded, and charges nothing', async () => {
    const p = await http().contractInFunding();
    await http().eventually(escrowPath(p), p.hirer, () => true, 'the escrow opened');
    const cancelled = await http().post(
      'cancel-contract',
      { contractId: p.contractId, reason: 'changed my mind' },
      p.hirer,
    );
    expect(cancelled.status).toBe(200);
    await http().eventually(`contracts/${p.contractId}`, p.hirer, (c) => c.status === 'CANCELLED', 'cancelled');
    await waitUntil(async () => (await pendingSteps(p.contractId)) === 0, 30_000, 'the escrow process idle');
    await expectRefusedWithoutEffect(
      [
        {
          name: 'fund a cancelled contract',
          command: 'fund-contract',
          body: { contractId: p.contractId, paymentMethod: CARD },
          as: p.hirer,
          status: 409,
          code: 'CONTRACT_NOT_FUNDING',
        },
      ],
      [p.contractId],
    );
    expect(callsFor('payment_intents.create', p.contractId)).toHaveLength(0);
  });
});

describe('a worker paid in two currencies', () => {
  // A worker's wallet holds one currency, that of their first release (CreditWallet refuses any other). This attack
  // found a USD release after an EUR one transferred to the worker's account, showed RELEASED and was then refused
  // by the wallet: money at the worker's account that their wallet never showed. Now funding such a contract is
  // refused, and a release into a wallet of another currency fails before the transfer.
  const newWorker = () => {
    const suffix = uniqueSuffix();
    const workerId = `worker-${suffix}`;
    return { suffix, workerId, worker: http().token(workerId, 'worker') };
  };
  const hirer = (suffix: string, name: string) => http().token(`hirer-${name}-${suffix}`, 'hirer');

  /** Transfers made for the contract and wallet credits from it: equal, or money left the escrow unseen. */
  const transferredAndCredited = async (contractId: string, workerId: string) => ({
    transferred: callsFor('transfers.create', contractId).length,
    credited: (await walletEvents(sys.write, workerId)).filter(
      (e) => e.type === 'WalletCredited' && e.data.contractId === contractId,
    ).length,
  });

  const releaseStepDone = (contractId: string) =>
    waitUntil(
      async () => {
        const step = await sys.write.db('saga_commands').where({ saga_id: contractId, step: 'release:m1' }).first();
        return step !== undefined && step.status !== 'pending';
      },
      30_000,
      `the release of ${contractId}'s m1 performed or refused`,
    );

  it("refuses to fund a contract in another currency than the worker's wallet, before any charge", async () => {
    const { suffix, workerId, worker } = newWorker();
    const eur = await activeContractBetween(http(), { hirer: hirer(suffix, 'eur'), worker, workerId }, 'EUR');
    await http().deliverAndApprove(eur, 'm1');
    await http().eventually('wallet', worker, (w) => w.availableMinor === 45_000, 'the EUR release credited');
    const usd = await contractBetween(http(), { hirer: hirer(suffix, 'usd'), worker, workerId }, 'USD');
    await expectRefusedWithoutEffect(
      [
        {
          name: 'fund in USD for an EUR wallet',
          command: 'fund-contract',
          body: { contractId: usd.contractId, paymentMethod: CARD },
          as: usd.hirer,
          status: 409,
          code: 'WALLET_CURRENCY_MISMATCH',
        },
      ],
      [usd.contractId, workerId],
    );
  });

  it('transfers nothing it cannot credit when a release meets a wallet opened meanwhile in another currency', async () => {
    const { suffix, workerId, worker } = newWorker();
    // Both funded while the worker has no wallet yet (nothing to refuse then); EUR released first opens it in EUR.
    const [eur, usd] = await Promise.all(
      (['EUR', 'USD'] as const).map((currency) =>
        activeContractBetween(http(), { hirer: hirer(suffix, currency), worker, workerId }, currency),
      ),
    );
    await http().deliverAndApprove(eur!, 'm1');
    await http().eventually('wallet', worker, (w) => w.availableMinor === 45_000, 'the EUR release credited');
    await http().deliverAndApprove(usd!, 'm1');
    await releaseStepDone(usd!.contractId);
    expect(await transferredAndCredited(usd!.contractId, workerId)).toEqual({ transferred: 0, credited: 0 });
    const escrow = await http().eventually(escrowPath(usd!), usd!.hirer, () => true, 'the USD escrow');
    expect(milestoneStates(escrow)[0]).toBe('HELD');
  });

  // Was a bug (two currencies, first releases at once): the release step checked the wallet's currency before the
  // wallet existed, so a worker's first EUR and first USD releases could both pass, both transfer, and one credit
  // be refused: money at the worker's account that their wallet never showed. The step now opens the wallet first
  // (one append on its stream decides the currency) and checks it before any money moves. A race: six workers run
  // it at once, and the test fails as soon as one of them loses money that way.
  it("credits every transfer when a worker's first EUR and USD releases happen at the same instant (six workers)", async () => {
    const workers = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(async () => {
        const { suffix, workerId, worker } = newWorker();
        const contracts = await Promise.all(
          (['EUR', 'USD'] as const).map((currency) =>
            activeContractBetween(http(), { hirer: hirer(suffix, currency), worker, workerId }, currency),
          ),
        );
        for (const p of contracts) {
          const body = { contractId: p.contractId, milestoneId: 'm1' };
          expect((await http().post('submit-milestone', body, worker)).status).toBe(200);
        }
        return { workerId, contracts };
      }),
    );
    const approvals = workers.flatMap((w) => w.contracts);
    await atOnce(approvals.length, (i) =>
      http().post(
        'approve-milestone',
        { contractId: approvals[i]!.contractId, milestoneId: 'm1' },
        approvals[i]!.hirer,
      ),
    );
    for (const p of approvals) await releaseStepDone(p.contractId);
    const seen = await Promise.all(
      approvals.map(async (p) => ({
        contractId: p.contractId,
        ...(await transferredAndCredited(p.contractId, p.workerId)),
      })),
    );
    expect(seen.filter((s) => s.credited !== s.transferred)).toEqual([]);
  }, 90_000);
});

describe('saga processes coming and going while money moves', () => {
  it('transfers each approved milestone exactly once while a third saga process joins and another leaves', async () => {
    const contracts = await Promise.all([1, 2].map(() => http().activeContract()));
    for (const p of contracts) {
      for (const m of MILESTONES) {
        expect(
          (await http().post('submit-milestone', { contractId: p.contractId, milestoneId: m }, p.worker)).status,
        ).toBe(200);
      }
    }
    // Approve everything at once while the partitions move: a third process joins, the second leaves.
    const joining = startSagas(sagaConfig());
    await atOnce(6, (i) => {
      const p = contracts[i % 2]!;
      return http().post(
        'approve-milestone',
        { contractId: p.contractId, milestoneId: MILESTONES[Math.floor(i / 2)] },
        p.hirer,
      );
    });
    const leaving = sagas[1]!;
    sagas = [sagas[0]!, await joining];
    await leaving.stop();
    for (const p of contracts) {
      const escrow = await settled(
        escrowPath(p),
        p.worker,
        p.contractId,
        (e) => milestoneStates(e).every((s) => s === 'RELEASED'),
        'every milestone released',
      );
      expect(escrow.totals).toMatchObject({ releasedMinor: 180_000, feesMinor: 20_000, heldMinor: 0 });
      await http().eventually('wallet', p.worker, (w) => w.availableMinor === 180_000, 'credited once each');
    }
  }, 90_000);

  // An audit of everything the tests above did (run alone, it has nothing to look at and says so).
  it('made at most one transfer per release or settlement in this whole file, with two or three processes racing', () => {
    const transfers = sim.calls().filter((c) => c.operation === 'transfers.create' && c.status === 200);
    const perRelease = new Map<string, number>();
    for (const t of transfers) {
      const releaseId = String(metadataOf(t).releaseId);
      perRelease.set(releaseId, (perRelease.get(releaseId) ?? 0) + 1);
    }
    expect(transfers.length).toBeGreaterThan(20);
    expect([...perRelease].filter(([, n]) => n > 1)).toEqual([]);
    const charges = sim.calls().filter((c) => c.operation === 'payment_intents.create' && c.status === 200);
    const perContract = new Map<string, number>();
    for (const c of charges) {
      const contractId = String(metadataOf(c).contractId);
      perContract.set(contractId, (perContract.get(contractId) ?? 0) + 1);
    }
    expect([...perContract].filter(([, n]) => n > 1)).toEqual([]);
  });
});
