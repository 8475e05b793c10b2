import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../commands/decider.js';
import type { CommandExecutor } from '../../../commands/executor.js';
import { type ContractCommand, contractDecider } from '../../../commands/marketplace/contract.js';
import { type EscrowCommand, escrowDecider } from '../../../commands/marketplace/escrow.js';
import type { MarketplaceMoneyCommands } from '../../../commands/marketplace/money-handlers.js';
import { type WalletCommand, walletDecider } from '../../../commands/marketplace/wallet.js';
import { escrowSaga } from '../../../sagas/marketplace/escrow.js';
import { escrowHandlers } from '../../../sagas/marketplace/escrow-handlers.js';
import { payoutSaga } from '../../../sagas/marketplace/payouts.js';
import type { ConnectProvider } from '../../../sagas/payments/connect-port.js';
import { PermanentProviderError, TransientProviderError } from '../../../sagas/payments/port.js';
import type { CommandHandler } from '../../../sagas/runtime/dispatcher.js';
import type { SagaDefinition } from '../../../sagas/runtime/types.js';

// The money property, over the real deciders, the real escrow and payout processes and their real step
// handlers, with the event store, the saga runtime and the provider played in memory: whatever random sequence of
// fundings (some declined), submissions, approvals, disputes with random splits, cancellations, payouts, provider
// webhooks, deadlines, transient provider failures (before or after the provider acted) and retried steps,
//  - no provider call ever moves more money than the contract's captured charge has left (the fake provider
//    records an attempt as a violation, where Stripe would refuse it),
//  - an idempotency key is performed once and always means the same request,
//  - no wallet goes below zero and a wallet's money is always credited = available + in flight + paid out,
//  - and once everything is delivered and performed, every cent captured is accounted for: released to the worker,
//    kept as fees, refunded, or still held (disputed or approved-but-unreleased never left behind silently).

const FEE_BPS = 1000;
const HIRER = 'hirer-1';
const WORKER = 'worker-1';
const CONTRACT = 'c-1';
const MILESTONES = [
  { milestoneId: 'm1', title: 'one', amountMinor: 30_000, dueDate: '2030-01-01' },
  { milestoneId: 'm2', title: 'two', amountMinor: 45_001, dueDate: '2030-01-01' },
  { milestoneId: 'm3', title: 'three', amountMinor: 24_999, dueDate: '2030-01-01' },
];
const AMOUNT = 100_000;

type Kind = 'contract' | 'escrow' | 'wallet';
interface Stored {
  readonly kind: Kind;
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/** The provider, with Stripe's rules as checks: a breach is recorded as a violation (and refused). */
class FakeProvider implements ConnectProvider {
  violations: string[] = [];
  fail: 'none' | 'before' | 'after' = 'none';
  readonly byKey = new Map<string, { request: string; result: unknown }>();
  readonly charges = new Map<string, { amount: number; refunded: number; transferred: number }>();
  readonly accounts = new Map<string, { received: number; paidOut: number }>();
  transferredNet = 0;
  refunded = 0;
  captured = 0;

  private async once<T>(key: string, request: unknown, act: () => T): Promise<T> {
    const text = JSON.stringify(request);
    const seen = this.byKey.get(key);
    if (seen) {
      if (seen.request !== text) this.violations.push(`key ${key} reused for another request`);
      return seen.result as T;
    }
    if (this.fail === 'before') throw new TransientProviderError('network down before the provider acted');
    const result = act();
    this.byKey.set(key, { request: text, result });
    if (this.fail === 'after') throw new TransientProviderError('timed out after the provider acted');
    return result;
  }

  private left(chargeRef: string) {
    const c = this.charges.get(chargeRef);
    if (!c) throw new PermanentProviderError(`no charge ${chargeRef}`);
    return c;
  }

  openConnectedAccount(request: { workerId: string }, key: string) {
    return this.once(key, request, () => {
      const accountRef = `acct_${request.workerId}`;
      this.accounts.set(accountRef, { received: 0, paidOut: 0 });
      return { accountRef };
    });
  }

  charge(request: Parameters<ConnectProvider['charge']>[0], key: string) {
    return this.once(key, request, () => {
      if (request.cardToken === 'card-declined') {
        return { outcome: 'declined' as const, reason: 'card_declined', chargeRef: null, paymentIntentRef: null };
      }
      const chargeRef = `ch_${this.charges.size + 1}`;
      this.charges.set(chargeRef, { amount: request.amountMinor, refunded: 0, transferred: 0 });
      this.captured += request.amountMinor;
      return { outcome: 'captured' as const, chargeRef, paymentIntentRef: `pi_${this.charges.size}` };
    });
  }

  transfer(request: Parameters<ConnectProvider['transfer']>[0], key: string) {
    return this.once(key, request, () => {
      const c = this.left(request.sourceChargeRef);
      if (c.refunded + c.transferred + request.amountMinor > c.amount) {
        this.violations.push(`transfer ${request.amountMinor} beyond what ${request.sourceChargeRef} has left`);
        throw new PermanentProviderError('balance_insufficient');
      }
      c.transferred += request.amountMinor;
      this.transferredNet += request.amountMinor;
      const account = this.accounts.get(request.destinationAccountRef);
      if (!account) throw new PermanentProviderError('no such destination');
      account.received += request.amountMinor;
      return { transferRef: `tr_${this.byKey.size}` };
    });
  }

  reverseTransfer(): Promise<{ reversalRef: string }> {
    throw new Error('not used by the escrow');
  }

  refundCharge(chargeRef: string, amountMinor: number, key: string) {
    return this.once(key, { chargeRef, amountMinor }, () => {
      const c = this.left(chargeRef);
      if (c.refunded + c.transferred + amountMinor > c.amount) {
        this.violations.push(`refund ${amountMinor} beyond what ${chargeRef} has left`);
        throw new PermanentProviderError('amount_too_large');
      }
      c.refunded += amountMinor;
      this.refunded += amountMinor;
      return { refundRef: `re_${this.byKey.size}` };
    });
  }

  payout(request: Parameters<ConnectProvider['payout']>[0], key: string) {
    return this.once(key, request, () => {
      const account = this.accounts.get(request.accountRef);
      if (!account || account.received - account.paidOut < request.amountMinor) {
        throw new PermanentProviderError('balance_insufficient');
      }
      account.paidOut += request.amountMinor;
      return { payoutRef: `po_${this.byKey.size}` };
    });
  }
}

interface PendingCommand {
  readonly saga: string;
  readonly sagaId: string;
  readonly step: string;
  readonly kind: string;
  readonly payload: Readonly<Record<string, unknown>>;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
}

const deciders = { contract: contractDecider, escrow: escrowDecider, wallet: walletDecider } as const;

/** The event store, the executor's idempotency keys and the saga runtime, in memory. */
class World {
  now = new Date('2030-01-01T00:00:00Z');
  readonly log: Stored[] = [];
  readonly keys = new Set<string>();
  readonly provider = new FakeProvider();
  readonly sagas: SagaDefinition<unknown>[];
  readonly sagaStates = new Map<string, unknown>();
  readonly commands: PendingCommand[] = [];
  readonly deadlines: { saga: string; sagaId: string; name: string; dueAt: number }[] = [];
  delivered = 0;
  readonly handlers: Record<string, CommandHandler>;

  constructor() {
    this.sagas = [
      escrowSaga({ feeBps: FEE_BPS, fundingWindowMs: 3 * 86_400_000, autoApproveAfterMs: 14 * 86_400_000 }),
      payoutSaga(),
    ] as unknown as SagaDefinition<unknown>[];
    const money = {
      recordEscrow: (c: EscrowCommand, ctx: { idempotencyKey?: string }) =>
        this.exec('escrow', c.data.contractId, c, ctx.idempotencyKey),
      recordWallet: (c: WalletCommand, ctx: { idempotencyKey?: string }) =>
        this.exec('wallet', c.data.workerId, c, ctx.idempotencyKey),
      recordContract: (c: ContractCommand, ctx: { idempotencyKey?: string }) =>
        this.exec('contract', c.data.contractId, c, ctx.idempotencyKey),
    } as unknown as MarketplaceMoneyCommands;
    const executor = {
      load: async (aggregate: { streamType: string }, id: string) => ({
        state: this.state(aggregate.streamType.replace('marketplace.', '') as Kind, id),
        version: 0,
      }),
    } as unknown as CommandExecutor;
    this.handlers = escrowHandlers({ money, executor, provider: this.provider });
  }

  state(kind: Kind, id: string): unknown {
    const decider = deciders[kind] as { evolve: (s: unknown, e: unknown) => unknown; initialState: () => unknown };
    return this.log
      .filter((e) => e.kind === kind && e.id === id)
      .reduce((s, e) => decider.evolve(s, { type: e.type, data: e.data }), decider.initialState());
  }

  /** Decide and append, once per idempotency key (as the executor does). */
  async exec(kind: Kind, id: string, command: unknown, key?: string): Promise<{ position: number }> {
    if (key && this.keys.has(key)) return { position: 0 };
    const decider = deciders[kind] as unknown as {
      decide: (c: unknown, s: unknown, ctx: { now: Date }) => { type: string; data: Record<string, unknown> }[];
    };
    const events = decider.decide(command, this.state(kind, id), { now: this.now });
    for (const e of events) this.log.push({ kind, id, type: e.type, data: e.data });
    if (key) this.keys.add(key);
    return { position: this.log.length };
  }

  /** A client's command: a refusal is an answer, not a failure of the test. */
  async client(kind: Kind, id: string, command: unknown): Promise<void> {
    try {
      await this.exec(kind, id, command);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
    }
  }

  deliver(n: number): void {
    for (let i = 0; i < n && this.delivered < this.log.length; i++) {
      const e = this.log[this.delivered++]!;
      const event = { eventType: e.type, data: e.data, streamId: `${e.kind}-${e.id}` };
      for (const saga of this.sagas) {
        if (!saga.topics.includes(`marketplace.${e.kind}`)) continue;
        const projected = event as unknown as Parameters<typeof saga.react>[1];
        const sagaId = saga.correlationId(projected);
        if (sagaId === null) continue;
        const key = `${saga.name}/${sagaId}`;
        if (!this.sagaStates.has(key) && !saga.starts(projected)) continue;
        const state = this.sagaStates.get(key) ?? saga.initialState(sagaId);
        this.apply(saga, sagaId, state, saga.react(state, projected, this.now));
      }
    }
  }

  private apply(
    saga: SagaDefinition<unknown>,
    sagaId: string,
    state: unknown,
    reaction: ReturnType<SagaDefinition<unknown>['react']>,
  ): void {
    const key = `${saga.name}/${sagaId}`;
    if (!reaction) {
      this.sagaStates.set(key, state);
      return;
    }
    this.sagaStates.set(key, reaction.state);
    for (const c of reaction.commands ?? []) {
      if (this.commands.some((x) => x.saga === saga.name && x.sagaId === sagaId && x.step === c.step)) continue;
      this.commands.push({ saga: saga.name, sagaId, ...c, status: 'pending', attempts: 0 });
    }
    for (const name of reaction.cancel ?? []) {
      const i = this.deadlines.findIndex((d) => d.saga === saga.name && d.sagaId === sagaId && d.name === name);
      if (i >= 0) this.deadlines.splice(i, 1);
    }
    for (const d of reaction.schedule ?? []) {
      this.deadlines.push({ saga: saga.name, sagaId, name: d.name, dueAt: d.dueAt.getTime() });
    }
  }

  /** Performs one pending command: the `pick`th (the runtime performs up to 16 at once, finishing in any order). */
  async dispatch(fail: FakeProvider['fail'], pick = 0): Promise<void> {
    const pending = this.commands.filter((x) => x.status === 'pending');
    const c = pending[pick % Math.max(pending.length, 1)];
    if (!c) return;
    c.attempts++;
    this.provider.fail = fail;
    try {
      await this.handlers[c.kind]!({
        sagaType: c.saga,
        sagaId: c.sagaId,
        step: c.step,
        payload: c.payload,
        idempotencyKey: `${c.saga}:${c.sagaId}:${c.step}`,
        cause: null,
      });
      c.status = 'done';
    } catch (error) {
      const transient = error instanceof TransientProviderError;
      if (transient && c.attempts < 8) return; // retried later, same key
      c.status = 'failed';
      const saga = this.sagas.find((s) => s.name === c.saga)!;
      const key = `${c.saga}/${c.sagaId}`;
      const state = this.sagaStates.get(key);
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      const failure = { step: c.step, kind: c.kind, error: `${name}: ${message}`, attempts: c.attempts };
      this.apply(saga, c.sagaId, state, saga.onCommandFailed(state, failure, this.now));
    } finally {
      this.provider.fail = 'none';
    }
  }

  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
    const due = this.deadlines.filter((d) => d.dueAt <= this.now.getTime());
    for (const d of due) {
      // The runtime puts a deadline off while one of the saga's commands is being performed.
      if (this.commands.some((c) => c.saga === d.saga && c.sagaId === d.sagaId && c.status === 'pending')) continue;
      this.deadlines.splice(this.deadlines.indexOf(d), 1);
      const saga = this.sagas.find((s) => s.name === d.saga)!;
      const key = `${d.saga}/${d.sagaId}`;
      const state = this.sagaStates.get(key);
      const record = Object.fromEntries(
        this.commands.filter((c) => c.saga === d.saga && c.sagaId === d.sagaId).map((c) => [c.step, c.status]),
      );
      this.apply(saga, d.sagaId, state, saga.onDeadline(state, d.name, this.now, record));
    }
  }

  async settle(): Promise<void> {
    for (let round = 0; round < 200; round++) {
      this.deliver(this.log.length);
      const pending = this.commands.filter((c) => c.status === 'pending');
      if (pending.length === 0 && this.delivered === this.log.length) return;
      for (const _ of pending) await this.dispatch('none');
    }
    throw new Error('the processes did not settle');
  }

  /** What the wallet's events say, summed. */
  walletTotals() {
    let credited = 0;
    let paid = 0;
    let requested = 0;
    let failed = 0;
    for (const e of this.log.filter((x) => x.kind === 'wallet')) {
      const amount = Number(e.data.amountMinor ?? 0);
      if (e.type === 'WalletCredited') credited += amount;
      if (e.type === 'PayoutRequested') requested += amount;
      if (e.type === 'PayoutPaid') paid += amount;
      if (e.type === 'PayoutFailed') failed += amount;
    }
    return { credited, paid, inFlightOrPaid: requested - failed };
  }
}

const milestoneId = fc.constantFrom('m1', 'm2', 'm3');
// Weighted towards progress (a run that cancels at its first step tests little); rare steps still come up.
const w = (weight: number, arbitrary: fc.Arbitrary<unknown>) => ({ weight, arbitrary });
const action = fc.oneof(
  w(3, fc.record({ t: fc.constant('fund' as const), ok: fc.integer({ min: 0, max: 3 }).map((n) => n > 0) })),
  w(4, fc.record({ t: fc.constant('submit' as const), m: milestoneId })),
  w(4, fc.record({ t: fc.constant('approve' as const), m: milestoneId })),
  w(1, fc.record({ t: fc.constant('changes' as const), m: milestoneId })),
  w(2, fc.record({ t: fc.constant('dispute' as const), m: milestoneId, byHirer: fc.boolean() })),
  w(
    2,
    fc.record({
      t: fc.constant('resolve' as const),
      m: milestoneId,
      workerShare: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  ),
  w(3, fc.record({ t: fc.constant('cancel' as const), byHirer: fc.boolean() })),
  w(2, fc.record({ t: fc.constant('payout' as const), amount: fc.integer({ min: 500, max: 40_000 }) })),
  w(2, fc.record({ t: fc.constant('webhook' as const), paid: fc.boolean() })),
  w(
    8,
    fc.record({
      t: fc.constant('dispatch' as const),
      fail: fc.constantFrom('none', 'none', 'before', 'after'),
      pick: fc.nat({ max: 7 }),
    }),
  ),
  w(8, fc.record({ t: fc.constant('deliver' as const), n: fc.integer({ min: 1, max: 6 }) })),
  w(
    1,
    fc.record({ t: fc.constant('advance' as const), days: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant(15)) }),
  ),
) as fc.Arbitrary<Action>;

type Action =
  | { t: 'fund'; ok: boolean }
  | { t: 'submit' | 'approve' | 'changes'; m: string }
  | { t: 'dispute'; m: string; byHirer: boolean }
  | { t: 'resolve'; m: string; workerShare: number }
  | { t: 'cancel'; byHirer: boolean }
  | { t: 'payout'; amount: number }
  | { t: 'webhook'; paid: boolean }
  | { t: 'dispatch'; fail: FakeProvider['fail']; pick: number }
  | { t: 'deliver'; n: number }
  | { t: 'advance'; days: number };

async function perform(w: World, a: Action): Promise<void> {
  const contract = (c: ContractCommand) => w.client('contract', CONTRACT, c);
  const escrow = (c: EscrowCommand) => w.client('escrow', CONTRACT, c);
  switch (a.t) {
    case 'fund':
      return escrow({
        type: 'RequestFunding',
        data: { contractId: CONTRACT, paymentMethod: a.ok ? 'pm_card_ok' : 'card-declined', by: HIRER },
      });
    case 'submit':
      return contract({
        type: 'SubmitMilestone',
        data: { contractId: CONTRACT, milestoneId: a.m, note: '', by: WORKER },
      });
    case 'approve':
      return contract({ type: 'ApproveMilestone', data: { contractId: CONTRACT, milestoneId: a.m, by: HIRER } });
    case 'changes':
      return contract({
        type: 'RequestMilestoneChanges',
        data: { contractId: CONTRACT, milestoneId: a.m, reason: 'more', by: HIRER },
      });
    case 'dispute':
      return escrow({
        type: 'OpenDispute',
        data: { contractId: CONTRACT, milestoneId: a.m, by: a.byHirer ? HIRER : WORKER, reason: 'quality' },
      });
    case 'resolve': {
      const held = MILESTONES.find((m) => m.milestoneId === a.m)!.amountMinor;
      const workerMinor = Math.round(held * a.workerShare);
      return escrow({
        type: 'ResolveDispute',
        data: {
          contractId: CONTRACT,
          milestoneId: a.m,
          by: 'admin-1',
          workerMinor,
          hirerRefundMinor: held - workerMinor,
          note: '',
        },
      });
    }
    case 'cancel':
      return contract({
        type: 'CancelContract',
        data: { contractId: CONTRACT, reason: 'changed plans', by: a.byHirer ? HIRER : WORKER },
      });
    case 'payout':
      return w.client('wallet', WORKER, {
        type: 'RequestPayout',
        data: { workerId: WORKER, payoutId: `p-${w.log.length}`, amountMinor: a.amount },
      });
    case 'webhook': {
      const wallet = w.state('wallet', WORKER) as {
        status: string;
        payout?: { payoutId: string; status: string; payoutRef: string | null } | null;
      };
      const p = wallet.status === 'none' ? null : wallet.payout;
      if (p?.status !== 'SENT') return;
      // The provider's notice, from the worker's connected account, about the payout it made.
      const notice = { accountRef: `acct_${WORKER}`, payoutRef: p.payoutRef ?? '' };
      return w.client(
        'wallet',
        WORKER,
        a.paid
          ? { type: 'RecordPayoutPaid', data: { workerId: WORKER, payoutId: p.payoutId, notice } }
          : {
              type: 'RecordPayoutFailed',
              data: { workerId: WORKER, payoutId: p.payoutId, reason: 'account_closed', notice },
            },
      );
    }
    case 'dispatch':
      return w.dispatch(a.fail, a.pick);
    case 'deliver':
      return w.deliver(a.n);
    case 'advance':
      return w.advance(a.days * 86_400_000);
  }
}

function checkAlways(w: World): void {
  expect(w.provider.violations).toEqual([]);
  // A dispute freezes its milestone: nothing starts to release or refund it afterwards.
  const frozen = new Set<string>();
  for (const e of w.log) {
    if (e.type === 'DisputeOpened') frozen.add(String(e.data.milestoneId));
    const taken =
      e.type === 'MilestoneReleasing'
        ? [String(e.data.milestoneId)]
        : e.type === 'EscrowRefunding'
          ? (e.data.milestoneIds as string[])
          : [];
    for (const m of taken) expect(frozen.has(m), `${e.type} of disputed milestone ${m}`).toBe(false);
  }
  const wallet = w.state('wallet', WORKER) as { status: string; availableMinor?: number };
  if (wallet.status !== 'none') expect(wallet.availableMinor).toBeGreaterThanOrEqual(0);
  const totals = w.walletTotals();
  // What left the escrow for the worker is in their wallet (credits match the provider's net transfers, once each).
  expect(totals.credited).toBeLessThanOrEqual(w.provider.transferredNet);
  expect(totals.inFlightOrPaid).toBeLessThanOrEqual(totals.credited);
}

const STATS = new Map<string, number>();

describe('escrow money under random sequences, crashes and provider failures', () => {
  it('never moves more than was captured, performs each key once, keeps wallets and the escrow whole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4 }),
        fc.array(action, { minLength: 5, maxLength: 120 }),
        async (prelude, actions) => {
          const w = new World();
          await createContract(w);
          // Most runs start from a funded, running contract (else most would end before any work was done).
          if (prelude > 0) {
            await w.settle();
            await perform(w, { t: 'fund', ok: true });
            await w.settle();
          }
          for (const a of actions) {
            await perform(w, a);
            checkAlways(w);
          }
          await w.settle();
          // Pay out whatever is available, and hear back from the bank.
          const wallet = w.state('wallet', WORKER) as { status: string; availableMinor?: number };
          if (wallet.status !== 'none') {
            await perform(w, { t: 'payout', amount: wallet.availableMinor ?? 0 });
            await w.settle();
            await perform(w, { t: 'webhook', paid: prelude % 2 === 0 });
            await w.settle();
          }
          checkAlways(w);
          if (process.env.ESCROW_STATS) for (const e of w.log) STATS.set(e.type, (STATS.get(e.type) ?? 0) + 1);
          // Every cent captured is released (net + fee), refunded, or still held in the escrow.
          const escrow = w.state('escrow', CONTRACT) as {
            status: string;
            milestones?: { milestoneId: string; status: string; amountMinor: number }[];
          };
          if (escrow.status === 'none' || !escrow.milestones) return;
          const fees = w.log
            .filter((e) => e.type === 'MilestoneReleased' || e.type === 'DisputeSettled')
            .reduce((t, e) => t + Number(e.data.feeMinor), 0);
          const held = escrow.milestones
            .filter((m) => ['HELD', 'DISPUTED', 'RELEASING', 'SETTLING', 'REFUNDING'].includes(m.status))
            .reduce((t, m) => t + m.amountMinor, 0);
          expect(w.provider.transferredNet + fees + w.provider.refunded + held).toBe(w.provider.captured);
          // Approved work stays earned: an approved milestone no dispute froze ends released, whatever else happened.
          const approved = new Set(
            w.log.filter((e) => e.type === 'MilestoneApproved').map((e) => String(e.data.milestoneId)),
          );
          const disputed = new Set(
            w.log.filter((e) => e.type === 'DisputeOpened').map((e) => String(e.data.milestoneId)),
          );
          const funded = w.log.some((e) => e.type === 'EscrowFunded');
          for (const m of escrow.milestones) {
            if (funded && approved.has(m.milestoneId) && !disputed.has(m.milestoneId))
              expect(m.status).toBe('RELEASED');
          }
          // Only money a dispute froze (or an approval of a frozen one) may stay held once all is done.
          for (const m of escrow.milestones) expect(['RELEASING', 'SETTLING', 'REFUNDING']).not.toContain(m.status);
          expect(w.provider.captured).toBeLessThanOrEqual(AMOUNT);
        },
      ),
      { numRuns: 500 },
    );
    if (process.env.ESCROW_STATS) console.log(Object.fromEntries(STATS));
  }, 120_000);

  it('a contract cancelled while an approved milestone waits for its release: released, the rest refunded', async () => {
    const w = await fundedWorld();
    for (const a of [
      { t: 'submit', m: 'm1' },
      { t: 'approve', m: 'm1' },
      { t: 'cancel', byHirer: true },
      { t: 'cancel', byHirer: false },
    ] as const) {
      await perform(w, a);
    }
    w.deliver(w.log.length);
    // The refund is performed before the release.
    const refund = w.commands.filter((c) => c.status === 'pending').findIndex((c) => c.step.startsWith('refund'));
    expect(refund).toBeGreaterThanOrEqual(0);
    await w.dispatch('none', refund);
    await w.settle();
    const escrow = w.state('escrow', CONTRACT) as { milestones: { milestoneId: string; status: string }[] };
    expect(escrow.milestones.map((m) => m.status)).toEqual(['RELEASED', 'REFUNDED', 'REFUNDED']);
    expect(w.provider.refunded).toBe(70_000);
    expect(w.provider.transferredNet).toBe(27_000);
    checkAlways(w);
  });
});

async function fundedWorld(): Promise<World> {
  const w = new World();
  await createContract(w);
  await w.settle();
  await perform(w, { t: 'fund', ok: true });
  await w.settle();
  return w;
}

function createContract(w: World) {
  return w.exec('contract', CONTRACT, {
    type: 'CreateContract',
    data: {
      contractId: CONTRACT,
      jobId: 'job-1',
      applicationId: CONTRACT,
      hirerId: HIRER,
      workerId: WORKER,
      title: 'Paint the fence',
      amountMinor: AMOUNT,
      currency: 'EUR',
      milestones: MILESTONES,
    },
  });
}
