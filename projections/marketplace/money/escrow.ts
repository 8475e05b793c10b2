import type { EscrowEvent } from '../../../schemas/marketplace/events.js';
import type { MilestoneMoneyState } from '../../../schemas/marketplace/vocabulary.js';
import { MoneyInvariantError } from './errors.js';

// Pure: one contract's escrow as the money read model shows it, folded from its stream (`escrow-<contractId>`).
// The fold refuses what would make money appear or vanish (a second release, a refund of a milestone that is
// disputed, parts that do not add up to the held amount): the read model stops on such an event rather than show it.

/**
 * OPEN: waiting for the hirer's payment; FUNDING: a charge is being taken; FUNDING_DECLINED: the last one was
 * declined (the hirer may try again); FUNDED: the contract amount is held; CLOSED: funded, and nothing is held any
 * more (every milestone released, refunded or settled).
 */
export type EscrowStatus = 'OPEN' | 'FUNDING' | 'FUNDING_DECLINED' | 'FUNDED' | 'CLOSED';

export type { MilestoneMoneyState };

/** Where the escrow still holds a milestone's money. */
export const HOLDING_STATES: readonly MilestoneMoneyState[] = [
  'HELD',
  'RELEASING',
  'DISPUTED',
  'SETTLING',
  'REFUNDING',
];
/** Where a milestone's money has left the escrow for good. */
export const FINAL_STATES: readonly MilestoneMoneyState[] = ['RELEASED', 'SETTLED', 'REFUNDED'];

export type DisputeStatus = 'OPEN' | 'RESOLVED' | 'SETTLED';

export interface Dispute {
  readonly status: DisputeStatus;
  readonly openedBy: string;
  readonly reason: string;
  readonly heldMinor: number;
  readonly openedAt: string;
  /** The admin's split (DisputeResolved), null while open. */
  readonly resolution: {
    readonly resolvedBy: string;
    readonly workerMinor: number;
    readonly hirerRefundMinor: number;
    readonly feeMinor: number;
    readonly note: string;
    readonly resolvedAt: string;
  } | null;
  readonly settledAt: string | null;
}

export interface MilestoneMoney {
  readonly milestoneId: string;
  readonly position: number;
  readonly amountMinor: number;
  readonly state: MilestoneMoneyState;
  /** The release that took (or is taking) it, with its amounts: gross = fee + net. */
  readonly releaseId: string | null;
  /** The worker's side: the released gross, or the worker's part of a dispute (fee included). */
  readonly grossMinor: number;
  readonly feeMinor: number;
  /** What reached (or is reaching) the worker. */
  readonly netMinor: number;
  /** The refund that took (or is taking) it. */
  readonly refundId: string | null;
  /** What went (or is going) back to the hirer. */
  readonly refundedMinor: number;
  readonly transferRef: string | null;
  readonly refundRef: string | null;
  readonly dispute: Dispute | null;
  readonly updatedAt: string;
}

export interface EscrowState {
  readonly contractId: string;
  readonly hirerId: string;
  readonly workerId: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly feeBps: number;
  readonly status: EscrowStatus;
  readonly fundingAttempts: number;
  readonly lastDeclineReason: string | null;
  readonly chargeRef: string | null;
  readonly fundBy: string;
  readonly openedAt: string;
  readonly fundedAt: string | null;
  readonly closedAt: string | null;
  readonly milestones: readonly MilestoneMoney[];
  /** The last stream version folded in: an event at or below it was applied already. */
  readonly version: number;
  readonly updatedAt: string;
}

/** Where the escrow's money is. funded = held + released + refunded + fees, always. */
export interface EscrowTotals {
  readonly fundedMinor: number;
  /** Still held by the escrow (HELD, RELEASING, DISPUTED, SETTLING, REFUNDING). */
  readonly heldMinor: number;
  /** Net amounts that left for the worker (releases and the worker's part of settled disputes). */
  readonly releasedMinor: number;
  /** Amounts that went back to the hirer (refunds and the hirer's part of settled disputes). */
  readonly refundedMinor: number;
  /** The platform's fees taken from releases and settlements. */
  readonly feesMinor: number;
  /**
   * What may still reach the worker, before fees: held, releasing and disputed milestones whole, and the worker's
   * part of a resolved dispute. Not refunding ones: that money is on its way back to the hirer.
   */
  readonly pendingForWorkerMinor: number;
}

export function escrowTotals(state: EscrowState): EscrowTotals {
  let heldMinor = 0;
  let releasedMinor = 0;
  let refundedMinor = 0;
  let feesMinor = 0;
  let pendingForWorkerMinor = 0;
  for (const m of state.milestones) {
    if (HOLDING_STATES.includes(m.state)) heldMinor += m.amountMinor;
    if (m.state === 'RELEASED' || m.state === 'SETTLED') {
      releasedMinor += m.netMinor;
      feesMinor += m.feeMinor;
    }
    if (m.state === 'REFUNDED' || m.state === 'SETTLED') refundedMinor += m.refundedMinor;
    if (m.state === 'HELD' || m.state === 'RELEASING' || m.state === 'DISPUTED') pendingForWorkerMinor += m.amountMinor;
    if (m.state === 'SETTLING') pendingForWorkerMinor += m.dispute?.resolution?.workerMinor ?? 0;
  }
  const fundedMinor = state.status === 'FUNDED' || state.status === 'CLOSED' ? state.amountMinor : 0;
  return { fundedMinor, heldMinor, releasedMinor, refundedMinor, feesMinor, pendingForWorkerMinor };
}

interface Stamp {
  readonly streamVersion: number;
  readonly recordedAt: string;
}

/**
 * The escrow after `event`. `state` is null only before the stream's first event (EscrowOpened). Throws a
 * MoneyInvariantError for an event that would move money the escrow does not hold.
 */
export function evolveEscrow(state: EscrowState | null, event: EscrowEvent, stamp: Stamp): EscrowState {
  if (event.type === 'EscrowOpened') {
    if (state) throw refused('MONEY_STATE_INVALID', `escrow ${state.contractId} is opened already`, state);
    const d = event.data;
    nonNegative(d.amountMinor, 'amountMinor', d.contractId);
    const sum = d.milestones.reduce((s, m) => s + positive(m.amountMinor, 'milestone amountMinor', d.contractId), 0);
    if (sum !== d.amountMinor)
      throw new MoneyInvariantError(
        'MONEY_AMOUNT_INVALID',
        `escrow ${d.contractId}: milestones sum to ${sum}, not the amount ${d.amountMinor}`,
        { contractId: d.contractId },
      );
    return {
      contractId: d.contractId,
      hirerId: d.hirerId,
      workerId: d.workerId,
      currency: d.currency,
      amountMinor: d.amountMinor,
      feeBps: d.feeBps,
      status: 'OPEN',
      fundingAttempts: 0,
      lastDeclineReason: null,
      chargeRef: null,
      fundBy: d.fundBy,
      openedAt: d.openedAt,
      fundedAt: null,
      closedAt: null,
      milestones: d.milestones.map((m, position) => ({
        milestoneId: m.milestoneId,
        position,
        amountMinor: m.amountMinor,
        state: 'AWAITING_FUNDS',
        releaseId: null,
        grossMinor: 0,
        feeMinor: 0,
        netMinor: 0,
        refundId: null,
        refundedMinor: 0,
        transferRef: null,
        refundRef: null,
        dispute: null,
        updatedAt: stamp.recordedAt,
      })),
      version: stamp.streamVersion,
      updatedAt: stamp.recordedAt,
    };
  }
  if (!state)
    throw new MoneyInvariantError('MONEY_UNKNOWN_REFERENCE', `${event.type} for an escrow never opened`, {
      contractId: event.data.contractId,
    });
  const next = closeIfEmpty(apply(state, event, stamp.recordedAt), stamp.recordedAt);
  return { ...next, version: stamp.streamVersion, updatedAt: stamp.recordedAt };
}

function apply(s: EscrowState, event: Exclude<EscrowEvent, { type: 'EscrowOpened' }>, at: string): EscrowState {
  const unfunded = s.status === 'OPEN' || s.status === 'FUNDING' || s.status === 'FUNDING_DECLINED';
  switch (event.type) {
    case 'EscrowFundingRequested':
      return {
        ...s,
        status: unfunded ? 'FUNDING' : s.status,
        fundingAttempts: Math.max(s.fundingAttempts, event.data.attempt),
      };
    case 'EscrowFundingDeclined':
      return unfunded ? { ...s, status: 'FUNDING_DECLINED', lastDeclineReason: event.data.reason } : s;
    case 'EscrowFunded': {
      const d = event.data;
      if (!unfunded) throw refused('MONEY_STATE_INVALID', `escrow ${s.contractId} is funded already`, s);
      sameCurrency(s, d.currency);
      if (d.amountMinor !== s.amountMinor)
        throw refused(
          'MONEY_AMOUNT_INVALID',
          `escrow ${s.contractId} funded ${d.amountMinor}, not ${s.amountMinor}`,
          s,
        );
      return {
        ...s,
        status: 'FUNDED',
        fundingAttempts: Math.max(s.fundingAttempts, d.attempt),
        chargeRef: d.chargeRef,
        fundedAt: d.fundedAt,
        milestones: s.milestones.map((m) => ({ ...m, state: 'HELD', updatedAt: at })),
      };
    }
    case 'MilestoneReleasing': {
      const d = event.data;
      return change(s, d.milestoneId, at, ['HELD'], (m) => {
        releaseAmounts(s, m, d.grossMinor, d.feeMinor, d.netMinor);
        return {
          state: 'RELEASING',
          releaseId: d.releaseId,
          grossMinor: d.grossMinor,
          feeMinor: d.feeMinor,
          netMinor: d.netMinor,
        };
      });
    }
    case 'MilestoneReleased': {
      const d = event.data;
      sameCurrency(s, d.currency);
      // The intent (MilestoneReleasing) is the write side's own bookkeeping; a release straight from HELD moves the
      // same money, so it is accepted. A releasing milestone is released by its own release only.
      return change(s, d.milestoneId, at, ['HELD', 'RELEASING'], (m) => {
        if (m.state === 'RELEASING' && m.releaseId !== d.releaseId)
          throw refused('MONEY_STATE_INVALID', `milestone ${m.milestoneId} is being released by ${m.releaseId}`, s);
        releaseAmounts(s, m, d.grossMinor, d.feeMinor, d.netMinor);
        return {
          state: 'RELEASED',
          releaseId: d.releaseId,
          grossMinor: d.grossMinor,
          feeMinor: d.feeMinor,
          netMinor: d.netMinor,
          transferRef: d.transferRef,
        };
      });
    }
    case 'DisputeOpened': {
      const d = event.data;
      return change(s, d.milestoneId, at, ['HELD'], (m) => {
        if (d.heldMinor !== m.amountMinor)
          throw refused('MONEY_AMOUNT_INVALID', `dispute holds ${d.heldMinor}, the milestone ${m.amountMinor}`, s);
        return {
          state: 'DISPUTED',
          dispute: {
            status: 'OPEN',
            openedBy: d.openedBy,
            reason: d.reason,
            heldMinor: d.heldMinor,
            openedAt: d.openedAt,
            resolution: null,
            settledAt: null,
          },
        };
      });
    }
    case 'DisputeEvidenceAdded':
      // The note itself is kept beside the escrow (the read model's evidence table); it moves no money.
      return change(s, event.data.milestoneId, at, ['DISPUTED', 'SETTLING', 'SETTLED'], () => ({}));
    case 'DisputeResolved': {
      const d = event.data;
      return change(s, d.milestoneId, at, ['DISPUTED'], (m) => {
        parts(s, m, [d.workerMinor, d.hirerRefundMinor], 'workerMinor + hirerRefundMinor');
        if (nonNegative(d.feeMinor, 'feeMinor', s.contractId) > d.workerMinor)
          throw refused('MONEY_AMOUNT_INVALID', `the fee ${d.feeMinor} exceeds the worker's part ${d.workerMinor}`, s);
        const { workerMinor, hirerRefundMinor, feeMinor, note, resolvedBy, resolvedAt } = d;
        return {
          state: 'SETTLING',
          dispute: {
            ...m.dispute!,
            status: 'RESOLVED',
            resolution: { resolvedBy, workerMinor, hirerRefundMinor, feeMinor, note, resolvedAt },
          },
        };
      });
    }
    case 'DisputeSettled': {
      const d = event.data;
      sameCurrency(s, d.currency);
      return change(s, d.milestoneId, at, ['SETTLING'], (m) => {
        parts(s, m, [d.workerNetMinor, d.feeMinor, d.hirerRefundMinor], 'workerNetMinor + feeMinor + hirerRefundMinor');
        const r = m.dispute?.resolution;
        if (r && (r.workerMinor !== d.workerNetMinor + d.feeMinor || r.hirerRefundMinor !== d.hirerRefundMinor))
          throw refused('MONEY_AMOUNT_INVALID', `milestone ${m.milestoneId} settled otherwise than resolved`, s);
        return {
          state: 'SETTLED',
          grossMinor: d.workerNetMinor + d.feeMinor,
          feeMinor: d.feeMinor,
          netMinor: d.workerNetMinor,
          refundedMinor: d.hirerRefundMinor,
          transferRef: d.transferRef,
          refundRef: d.refundRef,
          dispute: { ...m.dispute!, status: 'SETTLED', settledAt: d.settledAt },
        };
      });
    }
    case 'EscrowRefunding': {
      const d = event.data;
      return refund(s, d.milestoneIds, d.amountMinor, at, ['HELD'], () => ({
        state: 'REFUNDING',
        refundId: d.refundId,
      }));
    }
    case 'EscrowRefunded': {
      const d = event.data;
      sameCurrency(s, d.currency);
      return refund(s, d.milestoneIds, d.amountMinor, at, ['HELD', 'REFUNDING'], (m) => {
        if (m.state === 'REFUNDING' && m.refundId !== d.refundId)
          throw refused('MONEY_STATE_INVALID', `milestone ${m.milestoneId} is being refunded by ${m.refundId}`, s);
        return { state: 'REFUNDED', refundId: d.refundId, refundedMinor: m.amountMinor, refundRef: d.refundRef };
      });
    }
  }
}

/** A funded escrow that holds nothing any more is closed. */
function closeIfEmpty(s: EscrowState, at: string): EscrowState {
  if (s.status !== 'FUNDED') return s;
  return s.milestones.every((m) => FINAL_STATES.includes(m.state)) ? { ...s, status: 'CLOSED', closedAt: at } : s;
}

/** The escrow with one milestone changed, refused unless the milestone is in one of `from`. */
function change(
  s: EscrowState,
  milestoneId: string,
  at: string,
  from: readonly MilestoneMoneyState[],
  patch: (m: MilestoneMoney) => Partial<MilestoneMoney>,
): EscrowState {
  const m = s.milestones.find((x) => x.milestoneId === milestoneId);
  if (!m)
    throw new MoneyInvariantError('MONEY_UNKNOWN_REFERENCE', `escrow ${s.contractId} has no milestone ${milestoneId}`, {
      contractId: s.contractId,
      milestoneId,
    });
  if (!from.includes(m.state))
    throw new MoneyInvariantError(
      'MONEY_STATE_INVALID',
      `milestone ${milestoneId} of escrow ${s.contractId} is ${m.state}, not ${from.join(' or ')}`,
      { contractId: s.contractId, milestoneId, state: m.state },
    );
  const changed: MilestoneMoney = { ...m, ...patch(m), updatedAt: at };
  return { ...s, milestones: s.milestones.map((x) => (x.milestoneId === milestoneId ? changed : x)) };
}

/** Several milestones refunded together: each named once, and the amount is theirs exactly. */
function refund(
  s: EscrowState,
  milestoneIds: readonly string[],
  amountMinor: number,
  at: string,
  from: readonly MilestoneMoneyState[],
  patch: (m: MilestoneMoney) => Partial<MilestoneMoney>,
): EscrowState {
  if (new Set(milestoneIds).size !== milestoneIds.length || milestoneIds.length === 0)
    throw refused('MONEY_STATE_INVALID', `a refund names milestones ${milestoneIds.join(', ') || 'none'}`, s);
  let next = s;
  for (const id of milestoneIds) next = change(next, id, at, from, patch);
  const sum = s.milestones.filter((m) => milestoneIds.includes(m.milestoneId)).reduce((t, m) => t + m.amountMinor, 0);
  if (sum !== amountMinor)
    throw refused('MONEY_AMOUNT_INVALID', `a refund of ${amountMinor} for milestones holding ${sum}`, s);
  return next;
}

/** A release moves the whole milestone: gross = its amount = fee + net, none negative. */
function releaseAmounts(s: EscrowState, m: MilestoneMoney, gross: number, fee: number, net: number): void {
  if (gross !== m.amountMinor)
    throw refused('MONEY_AMOUNT_INVALID', `milestone ${m.milestoneId} holds ${m.amountMinor}, released ${gross}`, s);
  parts(s, m, [fee, net], 'feeMinor + netMinor');
}

/** Non-negative safe integers adding up to the milestone's amount exactly. */
function parts(s: EscrowState, m: MilestoneMoney, amounts: readonly number[], what: string): void {
  const sum = amounts.reduce((t, a) => t + nonNegative(a, what, s.contractId), 0);
  if (sum !== m.amountMinor)
    throw refused('MONEY_AMOUNT_INVALID', `milestone ${m.milestoneId}: ${what} = ${sum}, not ${m.amountMinor}`, s);
}

function sameCurrency(s: EscrowState, currency: string): void {
  if (currency !== s.currency)
    throw new MoneyInvariantError(
      'MONEY_CURRENCY_MISMATCH',
      `escrow ${s.contractId} is in ${s.currency}, the event in ${currency}`,
      { contractId: s.contractId },
    );
}

function nonNegative(amount: number, what: string, contractId: string): number {
  if (!Number.isSafeInteger(amount) || amount < 0)
    throw new MoneyInvariantError('MONEY_AMOUNT_INVALID', `escrow ${contractId}: ${what} is ${amount}`, { contractId });
  return amount;
}

function positive(amount: number, what: string, contractId: string): number {
  if (nonNegative(amount, what, contractId) === 0)
    throw new MoneyInvariantError('MONEY_AMOUNT_INVALID', `escrow ${contractId}: ${what} is 0`, { contractId });
  return amount;
}

const refused = (code: 'MONEY_STATE_INVALID' | 'MONEY_AMOUNT_INVALID', message: string, s: EscrowState) =>
  new MoneyInvariantError(code, message, { contractId: s.contractId });
