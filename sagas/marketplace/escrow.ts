import type { EscrowMilestoneStatus } from '../../commands/marketplace/escrow.js';
import type { ContractEvent, EscrowEvent } from '../../schemas/marketplace/events.js';
import type { ContractStatus } from '../../schemas/marketplace/vocabulary.js';
import type { Reaction, SagaCommand, SagaDefinition } from '../runtime/types.js';

// The escrow process: one per contract (its saga id is the contract id), over the contract's and the escrow's
// events, which interleave freely (two topics). Rather than "on event X do Y", each reaction folds the event into
// what the process knows and then issues whatever that knowledge calls for and was not issued yet (`wanted`):
// so an approval seen before the funding, or a cancellation seen after a late charge, still leads to the one right
// step. Every step is a command with the idempotency key saga + step, performed once:
//
//   contract created          → open the escrow (amount, fee, funding deadline)
//   funding requested         → charge the hirer's payment method, captured at once (escrow.charge)
//   escrow funded             → start the contract; if the contract already ended, refund it all
//   milestone approved        → release it to the worker (escrow.release): transfer, wallet credited
//   dispute resolved          → settle the split (escrow.settle): transfer the worker's part, refund the hirer's
//   contract cancelled/ended  → refund every milestone still held and not approved (escrow.refund)
//   funding deadline          → a contract still unfunded ends NOT_STARTED
//   submitted, then 14 days   → auto-approved, unless the hirer approved, asked for changes or a dispute froze it

export const ESCROW_SAGA = 'marketplace-escrow';
export const FUNDING_DEADLINE = 'funding';
const AUTO_APPROVE = 'auto-approve:';

export type EscrowSagaEvent = ContractEvent | EscrowEvent;

export const ESCROW_COMMANDS = {
  open: 'escrow.open',
  charge: 'escrow.charge',
  start: 'escrow.start-contract',
  endUnfunded: 'escrow.end-unfunded',
  release: 'escrow.release',
  settle: 'escrow.settle',
  refund: 'escrow.refund',
  autoApprove: 'escrow.auto-approve',
} as const;

export interface EscrowSagaOptions {
  /** The platform's fee on each release, in basis points (fixed per contract when its escrow opens). */
  readonly feeBps: number;
  /** How long the hirer has to fund a new contract. */
  readonly fundingWindowMs: number;
  /** How long a submitted milestone waits for the hirer before it is approved automatically. */
  readonly autoApproveAfterMs: number;
}

interface MilestoneView {
  readonly milestoneId: string;
  readonly title: string;
  readonly amountMinor: number;
  /** The contract's side: SUBMITTED, APPROVED, … (PENDING before any event). */
  readonly work: string;
  /** How many times it was submitted: each submission has its own auto-approval. */
  readonly submissions: number;
  /** The escrow's side. */
  readonly money: EscrowMilestoneStatus;
}

export interface EscrowSagaState {
  readonly contractId: string;
  readonly hirerId: string;
  readonly workerId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly createdAt: string | null;
  readonly contract: ContractStatus | 'UNKNOWN';
  readonly escrow: 'NONE' | 'OPEN' | 'FUNDING' | 'FUNDED';
  readonly fundingAttempt: number;
  readonly paymentMethod: string | null;
  readonly milestones: readonly MilestoneView[];
  /** Steps issued (each once). */
  readonly issued: readonly string[];
  readonly refunds: number;
}

const cmd = (step: string, kind: string, payload: Record<string, unknown>): SagaCommand => ({ step, kind, payload });

const ENDED: readonly string[] = ['CANCELLED', 'NOT_STARTED'];

const withMilestone = (s: EscrowSagaState, id: string, change: Partial<MilestoneView>): EscrowSagaState => ({
  ...s,
  milestones: s.milestones.map((m) => (m.milestoneId === id ? { ...m, ...change } : m)),
});

const withMoney = (s: EscrowSagaState, ids: readonly string[], money: EscrowMilestoneStatus): EscrowSagaState => ({
  ...s,
  milestones: s.milestones.map((m) => (ids.includes(m.milestoneId) ? { ...m, money } : m)),
});

/** What the process knows after the event (no effects). */
function fold(s: EscrowSagaState, event: EscrowSagaEvent): EscrowSagaState {
  switch (event.type) {
    case 'ContractCreated': {
      const d = event.data;
      return {
        ...s,
        hirerId: d.hirerId,
        workerId: d.workerId,
        amountMinor: d.amountMinor,
        currency: d.currency,
        createdAt: d.createdAt,
        contract: s.contract === 'UNKNOWN' ? 'FUNDING' : s.contract,
        // The escrow's events may have come first: keep what they said about the money.
        milestones: d.milestones.map((m) => {
          const seen = s.milestones.find((x) => x.milestoneId === m.milestoneId);
          return {
            milestoneId: m.milestoneId,
            title: m.title,
            amountMinor: m.amountMinor,
            work: seen?.work ?? 'PENDING',
            submissions: seen?.submissions ?? 0,
            money: seen?.money ?? (s.escrow === 'FUNDED' ? 'HELD' : 'AWAITING_FUNDS'),
          };
        }),
      };
    }
    case 'ContractStarted':
      return { ...s, contract: ENDED.includes(s.contract) ? s.contract : 'ACTIVE' };
    case 'ContractCompleted':
      return { ...s, contract: 'COMPLETED' };
    case 'ContractCancelled':
      return { ...s, contract: 'CANCELLED' };
    case 'ContractNotStarted':
      return { ...s, contract: 'NOT_STARTED' };
    case 'MilestoneSubmitted': {
      const m = s.milestones.find((x) => x.milestoneId === event.data.milestoneId);
      return withMilestone(s, event.data.milestoneId, { work: 'SUBMITTED', submissions: (m?.submissions ?? 0) + 1 });
    }
    case 'MilestoneApproved':
      return withMilestone(s, event.data.milestoneId, { work: 'APPROVED' });
    case 'MilestoneChangesRequested':
      return withMilestone(s, event.data.milestoneId, { work: 'CHANGES_REQUESTED' });
    case 'EscrowOpened':
      return { ...s, escrow: s.escrow === 'NONE' ? 'OPEN' : s.escrow };
    case 'EscrowFundingRequested':
      return {
        ...s,
        escrow: s.escrow === 'FUNDED' ? s.escrow : 'FUNDING',
        fundingAttempt: Math.max(s.fundingAttempt, event.data.attempt),
        paymentMethod: event.data.paymentMethod,
      };
    case 'EscrowFundingDeclined':
      return { ...s, escrow: s.escrow === 'FUNDED' ? s.escrow : 'OPEN' };
    case 'EscrowFunded':
      return {
        ...s,
        escrow: 'FUNDED',
        milestones: s.milestones.map((m) => (m.money === 'AWAITING_FUNDS' ? { ...m, money: 'HELD' } : m)),
      };
    case 'MilestoneReleasing':
      return withMoney(s, [event.data.milestoneId], 'RELEASING');
    case 'MilestoneReleased':
      return withMoney(s, [event.data.milestoneId], 'RELEASED');
    case 'DisputeOpened':
      return withMoney(s, [event.data.milestoneId], 'DISPUTED');
    case 'DisputeResolved':
      return withMoney(s, [event.data.milestoneId], 'SETTLING');
    case 'DisputeSettled':
      return withMoney(s, [event.data.milestoneId], 'SETTLED');
    case 'EscrowRefunding':
      return withMoney(s, event.data.milestoneIds, 'REFUNDING');
    case 'EscrowRefunded':
      return withMoney(s, event.data.milestoneIds, 'REFUNDED');
    case 'ContractCancellationRequested':
    case 'ContractReviewed':
    case 'ReviewHidden':
    case 'DisputeEvidenceAdded':
      return s;
  }
}

/** The steps the process's knowledge calls for that were not issued yet. */
function wanted(s: EscrowSagaState, options: EscrowSagaOptions): SagaCommand[] {
  if (s.createdAt === null) return []; // the contract's own facts (parties, amount) are not known yet
  const out: SagaCommand[] = [];
  const { contractId } = s;
  if (s.escrow === 'NONE') {
    out.push(
      cmd('open', ESCROW_COMMANDS.open, {
        contractId,
        hirerId: s.hirerId,
        workerId: s.workerId,
        amountMinor: s.amountMinor,
        currency: s.currency,
        feeBps: options.feeBps,
        milestones: s.milestones.map(({ milestoneId, amountMinor }) => ({ milestoneId, amountMinor })),
        fundBy: fundByOf(s, options).toISOString(),
      }),
    );
  }
  if (s.escrow === 'FUNDING' && s.paymentMethod !== null) {
    out.push(
      cmd(`charge:${s.fundingAttempt}`, ESCROW_COMMANDS.charge, {
        contractId,
        hirerId: s.hirerId,
        amountMinor: s.amountMinor,
        currency: s.currency,
        paymentMethod: s.paymentMethod,
        attempt: s.fundingAttempt,
      }),
    );
  }
  if (s.escrow === 'FUNDED' && s.contract === 'FUNDING') out.push(cmd('start', ESCROW_COMMANDS.start, { contractId }));
  for (const m of s.milestones) {
    if (m.work === 'APPROVED' && m.money === 'HELD') {
      out.push(
        cmd(`release:${m.milestoneId}`, ESCROW_COMMANDS.release, {
          contractId,
          milestoneId: m.milestoneId,
          releaseId: `${contractId}:${m.milestoneId}`,
          workerId: s.workerId,
        }),
      );
    }
    if (m.money === 'SETTLING') {
      out.push(cmd(`settle:${m.milestoneId}`, ESCROW_COMMANDS.settle, { contractId, milestoneId: m.milestoneId }));
    }
  }
  if (ENDED.includes(s.contract)) {
    const refundable = s.milestones
      .filter((m) => m.money === 'HELD' && m.work !== 'APPROVED')
      .map((m) => m.milestoneId);
    if (refundable.length > 0) {
      const n = s.refunds + 1;
      out.push(
        cmd(`refund:${n}`, ESCROW_COMMANDS.refund, {
          contractId,
          refundId: `${contractId}:refund:${n}`,
          milestoneIds: refundable,
          reason: s.contract === 'CANCELLED' ? 'contract cancelled' : 'contract not started',
        }),
      );
    }
  }
  return out.filter((c) => !s.issued.includes(c.step));
}

const fundByOf = (s: EscrowSagaState, options: EscrowSagaOptions): Date =>
  new Date(Date.parse(s.createdAt ?? new Date(0).toISOString()) + options.fundingWindowMs);

/**
 * Records the steps issued. A refund step is numbered (a later one may follow a late charge) and its milestones are
 * taken as REFUNDING at once, so the next event does not ask for them again; the escrow's own events correct that
 * if a dispute froze one first.
 */
function issue(s: EscrowSagaState, commands: readonly SagaCommand[]): EscrowSagaState {
  if (commands.length === 0) return s;
  let next: EscrowSagaState = { ...s, issued: [...s.issued, ...commands.map((c) => c.step)] };
  for (const c of commands) {
    if (c.kind !== ESCROW_COMMANDS.refund) continue;
    next = withMoney({ ...next, refunds: next.refunds + 1 }, c.payload.milestoneIds as string[], 'REFUNDING');
  }
  return next;
}

export function escrowSaga(options: EscrowSagaOptions): SagaDefinition<EscrowSagaState, EscrowSagaEvent> {
  const react = (s: EscrowSagaState, event: EscrowSagaEvent, now: Date): Reaction<EscrowSagaState> => {
    const known = fold(s, event);
    const commands = wanted(known, options);
    const state = issue(known, commands);
    const schedule = [];
    const cancel = [];
    if (event.type === 'ContractCreated' && known.escrow !== 'FUNDED') {
      schedule.push({ name: FUNDING_DEADLINE, dueAt: fundByOf(known, options) });
    }
    if (event.type === 'EscrowFunded') cancel.push(FUNDING_DEADLINE);
    if (event.type === 'MilestoneSubmitted') {
      const m = known.milestones.find((x) => x.milestoneId === event.data.milestoneId);
      const at = Date.parse(event.data.submittedAt);
      schedule.push({
        name: `${AUTO_APPROVE}${event.data.milestoneId}:${m?.submissions ?? 1}`,
        dueAt: new Date((Number.isNaN(at) ? now.getTime() : at) + options.autoApproveAfterMs),
      });
    }
    const note = commands.length > 0 ? `${event.type} → ${commands.map((c) => c.step).join(', ')}` : undefined;
    return {
      state,
      ...(commands.length > 0 ? { commands } : {}),
      ...(schedule.length > 0 ? { schedule } : {}),
      ...(cancel.length > 0 ? { cancel } : {}),
      ...(note ? { note } : {}),
    };
  };

  return {
    name: ESCROW_SAGA,
    topics: ['marketplace.contract', 'marketplace.escrow'],
    correlationId: (event) => event.data.contractId,
    // Either topic may be seen first for a new contract.
    starts: (event) => event.eventType === 'ContractCreated' || event.eventType === 'EscrowOpened',
    initialState: (contractId) => ({
      contractId,
      hirerId: '',
      workerId: '',
      amountMinor: 0,
      currency: '',
      createdAt: null,
      contract: 'UNKNOWN',
      escrow: 'NONE',
      fundingAttempt: 0,
      paymentMethod: null,
      milestones: [],
      issued: [],
      refunds: 0,
    }),
    react: (s, event, now) => react(s, { type: event.eventType, data: event.data } as EscrowSagaEvent, now),

    onDeadline(s, deadline) {
      if (deadline === FUNDING_DEADLINE) {
        if (s.escrow === 'FUNDED' || s.contract !== 'FUNDING') return null;
        const step = 'not-started';
        if (s.issued.includes(step)) return null;
        return {
          state: { ...s, issued: [...s.issued, step] },
          commands: [
            cmd(step, ESCROW_COMMANDS.endUnfunded, { contractId: s.contractId, reason: 'not funded in time' }),
          ],
          note: 'funding deadline passed: the contract does not start',
        };
      }
      if (deadline.startsWith(AUTO_APPROVE)) {
        const [milestoneId, submission] = deadline.slice(AUTO_APPROVE.length).split(':');
        const m = s.milestones.find((x) => x.milestoneId === milestoneId);
        // Only the submission this deadline was set for, still waiting, its money neither frozen nor gone.
        if (m?.work !== 'SUBMITTED' || String(m.submissions) !== submission || m.money !== 'HELD') return null;
        if (s.contract !== 'ACTIVE') return null;
        const step = `auto-approve:${milestoneId}:${submission}`;
        if (s.issued.includes(step)) return null;
        return {
          state: { ...s, issued: [...s.issued, step] },
          commands: [cmd(step, ESCROW_COMMANDS.autoApprove, { contractId: s.contractId, milestoneId })],
          note: `milestone ${milestoneId} approved automatically: the hirer did not answer in time`,
        };
      }
      return null;
    },

    onCommandFailed(s, failure) {
      // The escrow refused a step (funds frozen by a dispute meanwhile, a charge the provider will never take):
      // the money stays where the escrow says it is, so nothing is compensated; the timeline says why.
      return {
        state: s,
        note: `${failure.step} failed after ${failure.attempts} attempt(s): ${failure.error}`,
        retryable: true,
      };
    },

    status(s) {
      if (
        ENDED.includes(s.contract) &&
        !s.milestones.some((m) => ['HELD', 'DISPUTED', 'SETTLING', 'RELEASING', 'REFUNDING'].includes(m.money))
      ) {
        return 'CLOSED';
      }
      return s.escrow === 'FUNDED' ? (s.contract === 'COMPLETED' ? 'COMPLETED' : 'HELD') : s.escrow;
    },
  };
}
