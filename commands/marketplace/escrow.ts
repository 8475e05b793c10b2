import type { EscrowEvent, EscrowMilestone } from '../../schemas/marketplace/events.js';
import type { MilestoneMoneyState } from '../../schemas/marketplace/vocabulary.js';
import { type DecideContext, type Decider, DomainError, type Existing, type NoStream, noStream } from '../decider.js';

// A contract's escrow: the money side of a contract, one stream per contract (`escrow-<contractId>`). The whole
// contract amount is funded at once (one captured charge: see README, Marketplace money) and then each milestone's
// share leaves the escrow exactly once, by one of three doors: released to the worker (less the platform fee),
// refunded to the hirer, or split by an admin after a dispute. Each door is taken in two steps, an intent recorded
// here first (MilestoneReleasing, EscrowRefunding, DisputeResolved) and the provider's answer after it, so that
// the door is shut to the others before any money moves: no interleaving of approvals, disputes, cancellations,
// retries or crashes can send one milestone's money out twice.

export type { EscrowEvent };

export type EscrowMilestoneStatus = MilestoneMoneyState;

/** OPEN: waiting for the hirer to fund; FUNDING: a charge in flight; FUNDED: the amount is held. */
export type EscrowStatus = 'OPEN' | 'FUNDING' | 'FUNDED';

export interface EscrowMilestoneState extends EscrowMilestone {
  readonly status: EscrowMilestoneStatus;
  /** The release under way or done (its id keys the transfer). */
  readonly releaseId: string | null;
  /** The refund under way or done that took this milestone. */
  readonly refundId: string | null;
  /** An admin's resolution of its dispute, once resolved. */
  readonly split: DisputeSplit | null;
}

export interface DisputeSplit {
  readonly workerMinor: number;
  readonly hirerRefundMinor: number;
  readonly feeMinor: number;
}

export type Escrow =
  | NoStream
  | {
      readonly status: EscrowStatus;
      readonly contractId: string;
      readonly hirerId: string;
      readonly workerId: string;
      readonly amountMinor: number;
      readonly currency: string;
      readonly feeBps: number;
      readonly fundBy: string;
      readonly attempts: number;
      readonly chargeRef: string | null;
      readonly milestones: readonly EscrowMilestoneState[];
    };

export type ExistingEscrow = Existing<Escrow>;

export type EscrowCommand =
  | {
      type: 'OpenEscrow';
      data: {
        contractId: string;
        hirerId: string;
        workerId: string;
        amountMinor: number;
        currency: string;
        feeBps: number;
        milestones: readonly EscrowMilestone[];
        fundBy: string;
      };
    }
  | { type: 'RequestFunding'; data: { contractId: string; paymentMethod: string; by: string } }
  | { type: 'RecordFunded'; data: { contractId: string; attempt: number; chargeRef: string; amountMinor: number } }
  | { type: 'RecordFundingDeclined'; data: { contractId: string; attempt: number; reason: string } }
  | { type: 'StartRelease'; data: { contractId: string; milestoneId: string; releaseId: string } }
  | {
      type: 'RecordReleased';
      data: { contractId: string; milestoneId: string; releaseId: string; transferRef: string };
    }
  | { type: 'OpenDispute'; data: { contractId: string; milestoneId: string; by: string; reason: string } }
  | { type: 'AddDisputeEvidence'; data: { contractId: string; milestoneId: string; by: string; note: string } }
  | {
      type: 'ResolveDispute';
      data: {
        contractId: string;
        milestoneId: string;
        by: string;
        workerMinor: number;
        hirerRefundMinor: number;
        note: string;
      };
    }
  | {
      type: 'RecordDisputeSettled';
      data: { contractId: string; milestoneId: string; transferRef: string | null; refundRef: string | null };
    }
  /** Refunds those of `milestoneIds` whose money is still HELD (an approved one is the worker's: never listed). */
  | {
      type: 'StartRefund';
      data: { contractId: string; refundId: string; milestoneIds: readonly string[]; reason: string };
    }
  | { type: 'RecordRefunded'; data: { contractId: string; refundId: string; refundRef: string } };

/** The platform's fee on an amount the worker receives: rounded down, so the worker is never short a minor unit. */
export const feeOf = (amountMinor: number, feeBps: number): number => Math.floor((amountMinor * feeBps) / 10_000);

export const escrowNotFound = (contractId: string) =>
  new DomainError('not_found', 'CONTRACT_NOT_FOUND', `contract ${contractId} does not exist`, { contractId });

const mustExist = (state: Escrow, contractId: string): ExistingEscrow => {
  if (state.status === 'none') throw escrowNotFound(contractId);
  return state;
};

const milestoneOf = (escrow: ExistingEscrow, milestoneId: string): EscrowMilestoneState => {
  const m = escrow.milestones.find((x) => x.milestoneId === milestoneId);
  if (!m) {
    throw new DomainError('not_found', 'MILESTONE_NOT_FOUND', `contract has no milestone ${milestoneId}`, {
      contractId: escrow.contractId,
      milestoneId,
    });
  }
  return m;
};

const wrongMilestoneState = (escrow: ExistingEscrow, m: EscrowMilestoneState, wanted: string) =>
  new DomainError('conflict', 'MILESTONE_FUNDS_NOT_HELD', `milestone ${m.milestoneId}'s money is ${m.status}`, {
    contractId: escrow.contractId,
    milestoneId: m.milestoneId,
    status: m.status,
    wanted,
  });

const isParty = (escrow: ExistingEscrow, by: string) => by === escrow.hirerId || by === escrow.workerId;

const checkAmount = (value: number, name: string) => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DomainError('invalid', 'INVALID_AMOUNT', `${name} must be a whole number of minor units, 0 or more`, {
      [name]: value,
    });
  }
};

export function decideEscrow(command: EscrowCommand, state: Escrow, { now }: DecideContext): EscrowEvent[] {
  const at = now.toISOString();
  const { contractId } = command.data;
  switch (command.type) {
    case 'OpenEscrow': {
      if (state.status !== 'none') return []; // the process retried
      const d = command.data;
      const total = d.milestones.reduce((t, m) => t + m.amountMinor, 0);
      if (total !== d.amountMinor) {
        throw new DomainError('invalid', 'MILESTONE_SUM_MISMATCH', 'milestones must sum to the contract amount', {
          contractId,
        });
      }
      const milestones = d.milestones.map(({ milestoneId, amountMinor }) => ({ milestoneId, amountMinor }));
      return [{ type: 'EscrowOpened', data: { ...d, milestones, openedAt: at } }];
    }
    case 'RequestFunding': {
      const escrow = mustExist(state, contractId);
      if (command.data.by !== escrow.hirerId) throw escrowNotFound(contractId);
      if (escrow.status === 'FUNDED') {
        throw new DomainError('conflict', 'ESCROW_FUNDED', `contract ${contractId} is funded already`, { contractId });
      }
      if (escrow.status === 'FUNDING') {
        throw new DomainError('conflict', 'FUNDING_IN_PROGRESS', 'a payment for this contract is being taken', {
          contractId,
        });
      }
      if (now.getTime() > Date.parse(escrow.fundBy)) {
        throw new DomainError(
          'conflict',
          'FUNDING_DEADLINE_PASSED',
          `contract ${contractId} had to be funded by ${escrow.fundBy}`,
          {
            contractId,
            fundBy: escrow.fundBy,
          },
        );
      }
      return [
        {
          type: 'EscrowFundingRequested',
          data: {
            contractId,
            attempt: escrow.attempts + 1,
            paymentMethod: command.data.paymentMethod,
            requestedBy: command.data.by,
            requestedAt: at,
          },
        },
      ];
    }
    case 'RecordFunded': {
      const escrow = mustExist(state, contractId);
      if (escrow.status === 'FUNDED') return [];
      if (command.data.amountMinor !== escrow.amountMinor) {
        throw new DomainError('conflict', 'FUNDED_AMOUNT_MISMATCH', 'the captured amount is not the contract amount', {
          contractId,
          captured: command.data.amountMinor,
          amountMinor: escrow.amountMinor,
        });
      }
      const { attempt, chargeRef } = command.data;
      const { amountMinor, currency } = escrow;
      return [{ type: 'EscrowFunded', data: { contractId, attempt, chargeRef, amountMinor, currency, fundedAt: at } }];
    }
    case 'RecordFundingDeclined': {
      const escrow = mustExist(state, contractId);
      if (escrow.status !== 'FUNDING' || command.data.attempt !== escrow.attempts) return [];
      const { attempt, reason } = command.data;
      return [{ type: 'EscrowFundingDeclined', data: { contractId, attempt, reason, declinedAt: at } }];
    }
    case 'StartRelease': {
      const escrow = mustExist(state, contractId);
      const m = milestoneOf(escrow, command.data.milestoneId);
      if ((m.status === 'RELEASING' || m.status === 'RELEASED') && m.releaseId === command.data.releaseId) return [];
      if (m.status !== 'HELD') throw wrongMilestoneState(escrow, m, 'release');
      const feeMinor = feeOf(m.amountMinor, escrow.feeBps);
      return [
        {
          type: 'MilestoneReleasing',
          data: {
            contractId,
            milestoneId: m.milestoneId,
            releaseId: command.data.releaseId,
            grossMinor: m.amountMinor,
            feeMinor,
            netMinor: m.amountMinor - feeMinor,
            startedAt: at,
          },
        },
      ];
    }
    case 'RecordReleased': {
      const escrow = mustExist(state, contractId);
      const m = milestoneOf(escrow, command.data.milestoneId);
      if (m.releaseId !== command.data.releaseId) throw wrongMilestoneState(escrow, m, 'record a release');
      if (m.status === 'RELEASED') return [];
      const feeMinor = feeOf(m.amountMinor, escrow.feeBps);
      return [
        {
          type: 'MilestoneReleased',
          data: {
            contractId,
            milestoneId: m.milestoneId,
            releaseId: command.data.releaseId,
            workerId: escrow.workerId,
            grossMinor: m.amountMinor,
            feeMinor,
            netMinor: m.amountMinor - feeMinor,
            currency: escrow.currency,
            transferRef: command.data.transferRef,
            releasedAt: at,
          },
        },
      ];
    }
    case 'OpenDispute': {
      const escrow = mustExist(state, contractId);
      if (!isParty(escrow, command.data.by)) throw escrowNotFound(contractId);
      const m = milestoneOf(escrow, command.data.milestoneId);
      if (m.status === 'DISPUTED') return [];
      if (m.status !== 'HELD') throw wrongMilestoneState(escrow, m, 'dispute');
      return [
        {
          type: 'DisputeOpened',
          data: {
            contractId,
            milestoneId: m.milestoneId,
            openedBy: command.data.by,
            reason: command.data.reason,
            heldMinor: m.amountMinor,
            openedAt: at,
          },
        },
      ];
    }
    case 'AddDisputeEvidence': {
      const escrow = mustExist(state, contractId);
      const m = milestoneOf(escrow, command.data.milestoneId);
      if (m.status !== 'DISPUTED') {
        throw new DomainError('conflict', 'NO_OPEN_DISPUTE', `milestone ${m.milestoneId} has no open dispute`, {
          contractId,
          milestoneId: m.milestoneId,
        });
      }
      return [
        {
          type: 'DisputeEvidenceAdded',
          data: {
            contractId,
            milestoneId: m.milestoneId,
            addedBy: command.data.by,
            note: command.data.note,
            addedAt: at,
          },
        },
      ];
    }
    case 'ResolveDispute': {
      const escrow = mustExist(state, contractId);
      const m = milestoneOf(escrow, command.data.milestoneId);
      const { workerMinor, hirerRefundMinor } = command.data;
      checkAmount(workerMinor, 'workerMinor');
      checkAmount(hirerRefundMinor, 'hirerRefundMinor');
      if (m.status !== 'DISPUTED') {
        if (m.status === 'SETTLING' || m.status === 'SETTLED') {
          throw new DomainError('conflict', 'DISPUTE_RESOLVED', `milestone ${m.milestoneId}'s dispute is resolved`, {
            contractId,
            milestoneId: m.milestoneId,
          });
        }
        throw new DomainError('conflict', 'NO_OPEN_DISPUTE', `milestone ${m.milestoneId} has no open dispute`, {
          contractId,
          milestoneId: m.milestoneId,
        });
      }
      if (workerMinor + hirerRefundMinor !== m.amountMinor) {
        throw new DomainError('invalid', 'SPLIT_MISMATCH', `the split must add up to the held ${m.amountMinor}`, {
          contractId,
          milestoneId: m.milestoneId,
          heldMinor: m.amountMinor,
          workerMinor,
          hirerRefundMinor,
        });
      }
      return [
        {
          type: 'DisputeResolved',
          data: {
            contractId,
            milestoneId: m.milestoneId,
            resolvedBy: command.data.by,
            workerMinor,
            hirerRefundMinor,
            feeMinor: feeOf(workerMinor, escrow.feeBps),
            note: command.data.note,
            resolvedAt: at,
          },
        },
      ];
    }
    case 'RecordDisputeSettled': {
      const escrow = mustExist(state, contractId);
      const m = milestoneOf(escrow, command.data.milestoneId);
      if (m.status === 'SETTLED') return [];
      if (m.status !== 'SETTLING') throw wrongMilestoneState(escrow, m, 'record a settlement');
      const split = m.split;
      if (!split) throw wrongMilestoneState(escrow, m, 'record a settlement');
      return [
        {
          type: 'DisputeSettled',
          data: {
            contractId,
            milestoneId: m.milestoneId,
            workerId: escrow.workerId,
            workerNetMinor: split.workerMinor - split.feeMinor,
            feeMinor: split.feeMinor,
            hirerRefundMinor: split.hirerRefundMinor,
            currency: escrow.currency,
            transferRef: command.data.transferRef,
            refundRef: command.data.refundRef,
            settledAt: at,
          },
        },
      ];
    }
    case 'StartRefund': {
      const escrow = mustExist(state, contractId);
      if (escrow.milestones.some((m) => m.refundId === command.data.refundId)) return [];
      const wanted = new Set(command.data.milestoneIds);
      const held = escrow.milestones.filter((m) => m.status === 'HELD' && wanted.has(m.milestoneId));
      if (held.length === 0) return [];
      return [
        {
          type: 'EscrowRefunding',
          data: {
            contractId,
            refundId: command.data.refundId,
            milestoneIds: held.map((m) => m.milestoneId),
            amountMinor: held.reduce((t, m) => t + m.amountMinor, 0),
            reason: command.data.reason,
            startedAt: at,
          },
        },
      ];
    }
    case 'RecordRefunded': {
      const escrow = mustExist(state, contractId);
      const taken = escrow.milestones.filter((m) => m.refundId === command.data.refundId);
      if (taken.length === 0) {
        throw new DomainError('conflict', 'REFUND_NOT_STARTED', `no refund ${command.data.refundId} under way`, {
          contractId,
        });
      }
      if (taken.every((m) => m.status === 'REFUNDED')) return [];
      return [
        {
          type: 'EscrowRefunded',
          data: {
            contractId,
            refundId: command.data.refundId,
            hirerId: escrow.hirerId,
            milestoneIds: taken.map((m) => m.milestoneId),
            amountMinor: taken.reduce((t, m) => t + m.amountMinor, 0),
            currency: escrow.currency,
            refundRef: command.data.refundRef,
            refundedAt: at,
          },
        },
      ];
    }
  }
}

const withMilestones = (
  state: ExistingEscrow,
  ids: readonly string[],
  change: Partial<EscrowMilestoneState>,
): ExistingEscrow => ({
  ...state,
  milestones: state.milestones.map((m) => (ids.includes(m.milestoneId) ? { ...m, ...change } : m)),
});

export function evolveEscrow(state: Escrow, event: EscrowEvent): Escrow {
  if (event.type === 'EscrowOpened') {
    const d = event.data;
    return {
      status: 'OPEN',
      contractId: d.contractId,
      hirerId: d.hirerId,
      workerId: d.workerId,
      amountMinor: d.amountMinor,
      currency: d.currency,
      feeBps: d.feeBps,
      fundBy: d.fundBy,
      attempts: 0,
      chargeRef: null,
      milestones: d.milestones.map((m) => ({
        ...m,
        status: 'AWAITING_FUNDS',
        releaseId: null,
        refundId: null,
        split: null,
      })),
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'EscrowFundingRequested':
      return { ...state, status: 'FUNDING', attempts: event.data.attempt };
    case 'EscrowFundingDeclined':
      return { ...state, status: 'OPEN' };
    case 'EscrowFunded':
      return {
        ...state,
        status: 'FUNDED',
        chargeRef: event.data.chargeRef,
        milestones: state.milestones.map((m) => ({ ...m, status: 'HELD' })),
      };
    case 'MilestoneReleasing':
      return withMilestones(state, [event.data.milestoneId], { status: 'RELEASING', releaseId: event.data.releaseId });
    case 'MilestoneReleased':
      return withMilestones(state, [event.data.milestoneId], { status: 'RELEASED' });
    case 'DisputeOpened':
      return withMilestones(state, [event.data.milestoneId], { status: 'DISPUTED' });
    case 'DisputeEvidenceAdded':
      return state;
    case 'DisputeResolved': {
      const { workerMinor, hirerRefundMinor, feeMinor } = event.data;
      return withMilestones(state, [event.data.milestoneId], {
        status: 'SETTLING',
        split: { workerMinor, hirerRefundMinor, feeMinor },
      });
    }
    case 'DisputeSettled':
      return withMilestones(state, [event.data.milestoneId], { status: 'SETTLED' });
    case 'EscrowRefunding':
      return withMilestones(state, event.data.milestoneIds, { status: 'REFUNDING', refundId: event.data.refundId });
    case 'EscrowRefunded':
      return withMilestones(state, event.data.milestoneIds, { status: 'REFUNDED' });
  }
}

export const escrowDecider: Decider<EscrowCommand, EscrowEvent, Escrow, DecideContext> = {
  decide: decideEscrow,
  evolve: evolveEscrow,
  initialState: noStream,
};
