import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { EscrowEvent, WalletEvent } from '../../../schemas/marketplace/events.js';
import type { MilestoneMoneyState } from '../../../schemas/marketplace/vocabulary.js';

// A stand-in for the money write side (being built in commands/ and sagas/): it turns random choices into a log of
// escrow and wallet events that the write side could have appended, following the rules the read model relies on
// (a milestone is released, disputed or refunded only while held; a payout at a time, never more than the wallet
// holds; a credit per release or settlement). Each choice is a few numbers, so fast-check shrinks a failing log
// to a short one. Shared by the unit property test and the integration test that checks the tables.

export type MoneyEvent = EscrowEvent | WalletEvent;

export interface LoggedEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly event: MoneyEvent;
}

type Held = MilestoneMoneyState;

interface SimMilestone {
  readonly id: string;
  readonly amount: number;
  state: Held;
  releaseId?: string;
  refundId?: string;
  split?: { workerMinor: number; hirerRefundMinor: number; feeMinor: number };
}

interface SimContract {
  readonly id: string;
  readonly hirerId: string;
  readonly workerId: string;
  readonly currency: string;
  readonly feeBps: number;
  funded: boolean;
  attempts: number;
  readonly milestones: SimMilestone[];
}

interface SimPayout {
  readonly id: string;
  readonly amount: number;
  status: 'REQUESTED' | 'SENT' | 'PAID' | 'FAILED';
}

interface SimWallet {
  opened: boolean;
  available: number;
  payouts: SimPayout[];
}

/** One random choice: which action (mod the number of actions) and two numbers it reads its targets from. */
export interface Choice {
  readonly action: number;
  readonly a: number;
  readonly b: number;
}

export const choiceArb: fc.Arbitrary<Choice> = fc.record({
  action: fc.nat({ max: 1000 }),
  a: fc.nat({ max: 1_000_000 }),
  b: fc.nat({ max: 1_000_000 }),
});

const WORKER_CURRENCIES = ['EUR', 'EUR', 'USD'] as const;
const AT = '2026-06-01T12:00:00.000Z';

export class MoneyWorld {
  /** Every event appended, in log order. */
  readonly log: LoggedEvent[] = [];
  /** What a consumer received: the log with redeliveries of earlier events mixed in. */
  readonly delivered: LoggedEvent[] = [];
  private readonly versions = new Map<string, number>();
  private readonly contracts: SimContract[] = [];
  private readonly wallets = new Map<string, SimWallet>();
  /** Credits owed to wallets: a release or a settlement the wallet has not been credited for yet. */
  private readonly owed: {
    workerId: string;
    contract: SimContract;
    milestoneId: string;
    sourceId: string;
    amount: number;
  }[] = [];
  private ids = 0;
  /** The parties, named after the label so that worlds can share a database. */
  private readonly workers: readonly { readonly id: string; readonly currency: string }[];
  private readonly hirers: readonly string[];

  constructor(private readonly label = 'x') {
    this.workers = WORKER_CURRENCIES.map((currency, i) => ({ id: `${label}-w${i}`, currency }));
    this.hirers = [`${label}-h0`, `${label}-h1`];
  }

  /** Plays the choices. */
  static play(choices: readonly Choice[], label?: string): MoneyWorld {
    const world = new MoneyWorld(label);
    for (const choice of choices) world.step(choice);
    return world;
  }

  /** What the write side holds as available in each wallet (the read model's wallet balance must equal it). */
  availableOf(workerId: string): number {
    return this.wallets.get(workerId)?.available ?? 0;
  }

  get workerIds(): readonly string[] {
    return this.workers.map((w) => w.id);
  }

  step({ action, a, b }: Choice): void {
    const actions = [
      () => this.open(a, b),
      () => this.requestFunding(a),
      () => this.decline(a),
      () => this.fund(a),
      () => this.fund(a),
      () => this.releasing(a),
      () => this.released(a, b),
      () => this.released(a, b),
      () => this.disputeOpened(a),
      () => this.evidence(a),
      () => this.resolve(a, b),
      () => this.settle(a),
      () => this.refunding(a, b),
      () => this.refunded(a),
      () => this.credit(a),
      () => this.credit(a),
      () => this.payoutRequested(a, b),
      () => this.payoutSent(a),
      () => this.payoutPaid(a),
      () => this.payoutFailed(a, b),
      () => this.redeliver(a),
    ];
    // The chosen action, or the next one that fits the current state: every choice appends (or redelivers) something.
    const before = this.delivered.length;
    for (let k = 0; k < actions.length && this.delivered.length === before; k++)
      actions[(action + k) % actions.length]!();
  }

  private id(kind: string): string {
    return `${this.label}-${kind}${++this.ids}`;
  }

  private append(streamId: string, event: MoneyEvent): void {
    const streamVersion = (this.versions.get(streamId) ?? 0) + 1;
    this.versions.set(streamId, streamVersion);
    const logged = { eventId: randomUUID(), streamId, streamVersion, event };
    this.log.push(logged);
    this.delivered.push(logged);
  }

  private escrow(c: SimContract, event: EscrowEvent): void {
    this.append(`escrow-${c.id}`, event);
  }

  private wallet(workerId: string, event: WalletEvent): void {
    this.append(`wallet-${workerId}`, event);
  }

  private pick<T>(items: readonly T[], n: number): T | undefined {
    return items.length === 0 ? undefined : items[n % items.length];
  }

  private milestonesIn(state: Held): { c: SimContract; m: SimMilestone }[] {
    return this.contracts.flatMap((c) => c.milestones.filter((m) => m.state === state).map((m) => ({ c, m })));
  }

  private open(a: number, b: number): void {
    if (this.contracts.length >= 6) return;
    const worker = this.workers[a % this.workers.length]!;
    const count = 1 + (b % 4);
    const milestones = Array.from({ length: count }, (_, i) => ({
      id: `m${i + 1}`,
      amount: 1 + ((a * (i + 7) + b * (i + 3)) % 250_000),
      state: 'AWAITING_FUNDS' as Held,
    }));
    const c: SimContract = {
      id: this.id('c'),
      hirerId: this.hirers[b % this.hirers.length]!,
      workerId: worker.id,
      currency: worker.currency,
      feeBps: [0, 500, 1000, 1250, 2000][(a + b) % 5]!,
      funded: false,
      attempts: 0,
      milestones,
    };
    this.contracts.push(c);
    this.escrow(c, {
      type: 'EscrowOpened',
      data: {
        contractId: c.id,
        hirerId: c.hirerId,
        workerId: c.workerId,
        amountMinor: milestones.reduce((s, m) => s + m.amount, 0),
        currency: c.currency,
        feeBps: c.feeBps,
        milestones: milestones.map((m) => ({ milestoneId: m.id, amountMinor: m.amount })),
        fundBy: AT,
        openedAt: AT,
      },
    });
  }

  private unfunded(a: number): SimContract | undefined {
    return this.pick(
      this.contracts.filter((c) => !c.funded),
      a,
    );
  }

  private requestFunding(a: number): void {
    const c = this.unfunded(a);
    if (!c) return;
    c.attempts++;
    this.escrow(c, {
      type: 'EscrowFundingRequested',
      data: {
        contractId: c.id,
        attempt: c.attempts,
        paymentMethod: 'pm_card_visa',
        requestedBy: c.hirerId,
        requestedAt: AT,
      },
    });
  }

  private decline(a: number): void {
    const c = this.pick(
      this.contracts.filter((x) => !x.funded && x.attempts > 0),
      a,
    );
    if (!c) return;
    this.escrow(c, {
      type: 'EscrowFundingDeclined',
      data: { contractId: c.id, attempt: c.attempts, reason: 'card_declined', declinedAt: AT },
    });
  }

  private fund(a: number): void {
    const c = this.unfunded(a);
    if (!c) return;
    c.funded = true;
    for (const m of c.milestones) m.state = 'HELD';
    this.escrow(c, {
      type: 'EscrowFunded',
      data: {
        contractId: c.id,
        attempt: Math.max(1, c.attempts),
        chargeRef: `pi_${c.id}`,
        amountMinor: c.milestones.reduce((s, m) => s + m.amount, 0),
        currency: c.currency,
        fundedAt: AT,
      },
    });
  }

  private feeOf(c: SimContract, amount: number): number {
    return Math.floor((amount * c.feeBps) / 10_000);
  }

  private releasing(a: number): void {
    const target = this.pick(this.milestonesIn('HELD'), a);
    if (!target) return;
    const { c, m } = target;
    m.state = 'RELEASING';
    m.releaseId = this.id('rel');
    const fee = this.feeOf(c, m.amount);
    this.escrow(c, {
      type: 'MilestoneReleasing',
      data: {
        contractId: c.id,
        milestoneId: m.id,
        releaseId: m.releaseId,
        grossMinor: m.amount,
        feeMinor: fee,
        netMinor: m.amount - fee,
        startedAt: AT,
      },
    });
  }

  /** Releases a releasing milestone, or (every other time) a held one straight away: the intent is optional. */
  private released(a: number, b: number): void {
    const target = this.pick(this.milestonesIn(b % 2 === 0 ? 'RELEASING' : 'HELD'), a);
    if (!target) return;
    const { c, m } = target;
    m.state = 'RELEASED';
    m.releaseId ??= this.id('rel');
    const fee = this.feeOf(c, m.amount);
    this.escrow(c, {
      type: 'MilestoneReleased',
      data: {
        contractId: c.id,
        milestoneId: m.id,
        releaseId: m.releaseId,
        workerId: c.workerId,
        grossMinor: m.amount,
        feeMinor: fee,
        netMinor: m.amount - fee,
        currency: c.currency,
        transferRef: `tr_${m.releaseId}`,
        releasedAt: AT,
      },
    });
    this.owed.push({
      workerId: c.workerId,
      contract: c,
      milestoneId: m.id,
      sourceId: m.releaseId,
      amount: m.amount - fee,
    });
  }

  private disputeOpened(a: number): void {
    const target = this.pick(this.milestonesIn('HELD'), a);
    if (!target) return;
    const { c, m } = target;
    m.state = 'DISPUTED';
    this.escrow(c, {
      type: 'DisputeOpened',
      data: {
        contractId: c.id,
        milestoneId: m.id,
        openedBy: c.hirerId,
        reason: 'not done',
        heldMinor: m.amount,
        openedAt: AT,
      },
    });
  }

  private evidence(a: number): void {
    const target = this.pick(this.milestonesIn('DISPUTED'), a);
    if (!target) return;
    this.escrow(target.c, {
      type: 'DisputeEvidenceAdded',
      data: {
        contractId: target.c.id,
        milestoneId: target.m.id,
        addedBy: target.c.workerId,
        note: `photo ${a}`,
        addedAt: AT,
      },
    });
  }

  /** An admin's split: the worker's share in whole percent (0 to 100), the fee on the worker's part. */
  private resolve(a: number, b: number): void {
    const target = this.pick(this.milestonesIn('DISPUTED'), a);
    if (!target) return;
    const { c, m } = target;
    const workerMinor = Math.floor((m.amount * (b % 101)) / 100);
    m.split = { workerMinor, hirerRefundMinor: m.amount - workerMinor, feeMinor: this.feeOf(c, workerMinor) };
    m.state = 'SETTLING';
    this.escrow(c, {
      type: 'DisputeResolved',
      data: { contractId: c.id, milestoneId: m.id, resolvedBy: 'admin', ...m.split, note: 'split', resolvedAt: AT },
    });
  }

  private settle(a: number): void {
    const target = this.pick(this.milestonesIn('SETTLING'), a);
    if (!target) return;
    const { c, m } = target;
    const { workerMinor, hirerRefundMinor, feeMinor } = m.split!;
    m.state = 'SETTLED';
    this.escrow(c, {
      type: 'DisputeSettled',
      data: {
        contractId: c.id,
        milestoneId: m.id,
        workerId: c.workerId,
        workerNetMinor: workerMinor - feeMinor,
        feeMinor,
        hirerRefundMinor,
        currency: c.currency,
        transferRef: workerMinor - feeMinor > 0 ? `tr_dispute_${m.id}` : null,
        refundRef: hirerRefundMinor > 0 ? `re_dispute_${m.id}` : null,
        settledAt: AT,
      },
    });
    this.owed.push({
      workerId: c.workerId,
      contract: c,
      milestoneId: m.id,
      // As the write side names it; milestone ids are the client's, so two contracts' may be equal (m1).
      sourceId: `dispute:${m.id}`,
      amount: workerMinor - feeMinor,
    });
  }

  /** Refunds some of a contract's held milestones (a cancellation): the bits of `b` choose which. */
  private refunding(a: number, b: number): void {
    const c = this.pick(
      this.contracts.filter((x) => x.milestones.some((m) => m.state === 'HELD')),
      a,
    );
    if (!c) return;
    const held = c.milestones.filter((m) => m.state === 'HELD');
    const chosen = held.filter((_, i) => (b >> i) & 1);
    const ms = chosen.length > 0 ? chosen : held;
    const refundId = this.id('ref');
    for (const m of ms) {
      m.state = 'REFUNDING';
      m.refundId = refundId;
    }
    this.escrow(c, {
      type: 'EscrowRefunding',
      data: {
        contractId: c.id,
        refundId,
        milestoneIds: ms.map((m) => m.id),
        amountMinor: ms.reduce((s, m) => s + m.amount, 0),
        reason: 'cancelled',
        startedAt: AT,
      },
    });
  }

  private refunded(a: number): void {
    const target = this.pick(this.milestonesIn('REFUNDING'), a);
    if (!target) return;
    const { c } = target;
    const refundId = target.m.refundId!;
    const ms = c.milestones.filter((m) => m.state === 'REFUNDING' && m.refundId === refundId);
    for (const m of ms) m.state = 'REFUNDED';
    this.escrow(c, {
      type: 'EscrowRefunded',
      data: {
        contractId: c.id,
        refundId,
        hirerId: c.hirerId,
        milestoneIds: ms.map((m) => m.id),
        amountMinor: ms.reduce((s, m) => s + m.amount, 0),
        currency: c.currency,
        refundRef: `re_${refundId}`,
        refundedAt: AT,
      },
    });
  }

  private walletOf(workerId: string): SimWallet {
    let w = this.wallets.get(workerId);
    if (!w) {
      w = { opened: false, available: 0, payouts: [] };
      this.wallets.set(workerId, w);
    }
    if (!w.opened) {
      w.opened = true;
      const currency = this.workers.find((x) => x.id === workerId)!.currency;
      this.wallet(workerId, {
        type: 'WalletOpened',
        data: { workerId, accountRef: `acct_${workerId}`, currency, openedAt: AT },
      });
    }
    return w;
  }

  private credit(a: number): void {
    if (this.owed.length === 0) return;
    const [owed] = this.owed.splice(a % this.owed.length, 1);
    const { workerId, contract, milestoneId, sourceId, amount } = owed!;
    const w = this.walletOf(workerId);
    w.available += amount;
    this.wallet(workerId, {
      type: 'WalletCredited',
      data: {
        workerId,
        contractId: contract.id,
        milestoneId,
        sourceId,
        amountMinor: amount,
        currency: contract.currency,
        creditedAt: AT,
      },
    });
  }

  private inFlight(workerId: string): SimPayout | undefined {
    return this.wallets.get(workerId)?.payouts.find((p) => p.status === 'REQUESTED' || p.status === 'SENT');
  }

  private payoutRequested(a: number, b: number): void {
    const workerId = this.pick(
      this.workers.map((w) => w.id).filter((id) => (this.wallets.get(id)?.available ?? 0) > 0 && !this.inFlight(id)),
      a,
    );
    if (!workerId) return;
    const w = this.wallets.get(workerId)!;
    const amount = 1 + (b % w.available);
    w.available -= amount;
    const payout: SimPayout = { id: this.id('po'), amount, status: 'REQUESTED' };
    w.payouts.push(payout);
    this.wallet(workerId, {
      type: 'PayoutRequested',
      data: {
        workerId,
        payoutId: payout.id,
        amountMinor: amount,
        currency: this.workers.find((x) => x.id === workerId)!.currency,
        requestedAt: AT,
      },
    });
  }

  private payouts(status: readonly SimPayout['status'][]): { workerId: string; p: SimPayout }[] {
    return [...this.wallets].flatMap(([workerId, w]) =>
      w.payouts.filter((p) => status.includes(p.status)).map((p) => ({ workerId, p })),
    );
  }

  private payoutSent(a: number): void {
    const target = this.pick(this.payouts(['REQUESTED']), a);
    if (!target) return;
    target.p.status = 'SENT';
    this.wallet(target.workerId, {
      type: 'PayoutSent',
      data: {
        workerId: target.workerId,
        payoutId: target.p.id,
        payoutRef: `po_${target.p.id}`,
        amountMinor: target.p.amount,
        sentAt: AT,
      },
    });
  }

  private payoutPaid(a: number): void {
    const target = this.pick(this.payouts(['REQUESTED', 'SENT']), a);
    if (!target) return;
    target.p.status = 'PAID';
    this.wallet(target.workerId, {
      type: 'PayoutPaid',
      data: {
        workerId: target.workerId,
        payoutId: target.p.id,
        payoutRef: `po_${target.p.id}`,
        amountMinor: target.p.amount,
        paidAt: AT,
      },
    });
  }

  /** Fails a payout under way, or (one time in four) one already paid: the bank returned it. */
  private payoutFailed(a: number, b: number): void {
    const target = this.pick(this.payouts(b % 4 === 0 ? ['PAID'] : ['REQUESTED', 'SENT']), a);
    if (!target) return;
    target.p.status = 'FAILED';
    this.wallets.get(target.workerId)!.available += target.p.amount;
    this.wallet(target.workerId, {
      type: 'PayoutFailed',
      data: {
        workerId: target.workerId,
        payoutId: target.p.id,
        amountMinor: target.p.amount,
        reason: 'account_closed',
        failedAt: AT,
      },
    });
  }

  /** Delivers an earlier event again, as Kafka may after a rebalance or a crash before the commit. */
  private redeliver(a: number): void {
    const again = this.pick(this.log, a);
    if (again) this.delivered.push(again);
  }
}

/**
 * The log in another order a consumer of several partitions may see: each stream's events in their order, the
 * streams interleaved as `picks` say.
 */
export function interleave(log: readonly LoggedEvent[], picks: readonly number[]): LoggedEvent[] {
  const queues = new Map<string, LoggedEvent[]>();
  for (const e of log) {
    const q = queues.get(e.streamId) ?? [];
    q.push(e);
    queues.set(e.streamId, q);
  }
  const out: LoggedEvent[] = [];
  let i = 0;
  while (queues.size > 0) {
    const keys = [...queues.keys()];
    const key = keys[(picks.length ? picks[i++ % picks.length]! : 0) % keys.length]!;
    const q = queues.get(key)!;
    out.push(q.shift()!);
    if (q.length === 0) queues.delete(key);
  }
  return out;
}
