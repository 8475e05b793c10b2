import type { ContractEvent, Milestone, ReviewSide } from '../../schemas/marketplace/events.js';
import {
  type ContractStatus,
  MAX_RATING,
  MAX_REVIEW_TEXT,
  MIN_RATING,
  type MilestoneStatus,
  REVIEW_WINDOW_DAYS,
} from '../../schemas/marketplace/vocabulary.js';
import { type DecideContext, type Decider, DomainError, type Existing, type NoStream, noStream } from '../decider.js';
import { assertMilestoneSum } from './job.js';

// A contract: made from an accepted application with its milestones (whose amounts sum to the contract amount,
// fixed at creation, so the sum holds at all times). The worker submits a milestone, the hirer approves it or asks
// for changes; the last approval completes the contract. Cancellation (README, Marketplace): before any milestone
// was submitted either party cancels at once; after that, one party asks and the contract is cancelled when the
// other party asks too (an admin cancels at once). COMPLETED and CANCELLED are final: the status never changes
// again. After completion each side may review the other once, within REVIEW_WINDOW_DAYS.

export type { ContractEvent };

export type ContractCommand =
  | {
      type: 'CreateContract';
      data: {
        contractId: string;
        jobId: string;
        applicationId: string;
        hirerId: string;
        workerId: string;
        title: string;
        amountMinor: number;
        currency: string;
        milestones: readonly Milestone[];
      };
    }
  | { type: 'SubmitMilestone'; data: { contractId: string; milestoneId: string; note: string; by: string } }
  /** `auto`: the escrow process approves a milestone the hirer left SUBMITTED past the review period. */
  | { type: 'ApproveMilestone'; data: { contractId: string; milestoneId: string; by: string; auto?: boolean } }
  /** From the escrow process: the contract's money is held, work may begin. */
  | { type: 'StartContract'; data: { contractId: string } }
  /** From the escrow process: funding failed or its deadline passed. */
  | { type: 'EndUnfundedContract'; data: { contractId: string; reason: string } }
  | { type: 'RequestMilestoneChanges'; data: { contractId: string; milestoneId: string; reason: string; by: string } }
  /** `asAdmin`: an admin ends the contract at once (a dispute settled outside). */
  | { type: 'CancelContract'; data: { contractId: string; reason: string; by: string; asAdmin?: boolean } }
  | { type: 'ReviewContract'; data: { contractId: string; by: string; rating: number; text: string } }
  | { type: 'HideReview'; data: { contractId: string; side: ReviewSide; by: string; reason: string } };

export interface MilestoneState extends Milestone {
  readonly status: MilestoneStatus;
}

export interface ReviewState {
  readonly revieweeId: string;
  readonly rating: number;
  readonly hidden: boolean;
}

export type Contract =
  | NoStream
  | {
      readonly status: ContractStatus;
      readonly contractId: string;
      readonly applicationId: string;
      readonly hirerId: string;
      readonly workerId: string;
      readonly amountMinor: number;
      readonly currency: string;
      readonly milestones: readonly MilestoneState[];
      readonly completedAt: string | null;
      /** Who asked to cancel, while the other party has not agreed. */
      readonly cancellationRequestedBy: string | null;
      readonly reviews: Readonly<Partial<Record<ReviewSide, ReviewState>>>;
    };

export type ExistingContract = Existing<Contract>;

export const contractNotFound = (contractId: string) =>
  new DomainError('not_found', 'CONTRACT_NOT_FOUND', `contract ${contractId} does not exist`, { contractId });

const mustExist = (state: Contract, contractId: string): ExistingContract => {
  if (state.status === 'none') throw contractNotFound(contractId);
  return state;
};

const mustBeActive = (contract: ExistingContract, wanted: string): void => {
  if (contract.status !== 'ACTIVE') {
    throw new DomainError(
      'conflict',
      'CONTRACT_NOT_ACTIVE',
      `contract ${contract.contractId} is ${contract.status}; cannot ${wanted}`,
      { contractId: contract.contractId, status: contract.status },
    );
  }
};

/** Which side `accountId` is on, or null for someone who is not a party. */
export const sideOf = (contract: ExistingContract, accountId: string): ReviewSide | null =>
  accountId === contract.hirerId ? 'HIRER' : accountId === contract.workerId ? 'WORKER' : null;

const onlySide = (contract: ExistingContract, by: string, side: ReviewSide, wanted: string): void => {
  if (sideOf(contract, by) !== side) {
    throw new DomainError('forbidden', `ONLY_${side}`, `only the contract's ${side.toLowerCase()} may ${wanted}`, {
      contractId: contract.contractId,
    });
  }
};

const milestoneOf = (contract: ExistingContract, milestoneId: string): MilestoneState => {
  const milestone = contract.milestones.find((m) => m.milestoneId === milestoneId);
  if (!milestone) {
    throw new DomainError('not_found', 'MILESTONE_NOT_FOUND', `contract has no milestone ${milestoneId}`, {
      contractId: contract.contractId,
      milestoneId,
    });
  }
  return milestone;
};

const notSubmitted = (contract: ExistingContract, m: MilestoneState) =>
  new DomainError('conflict', 'MILESTONE_NOT_SUBMITTED', `milestone ${m.milestoneId} is ${m.status}`, {
    contractId: contract.contractId,
    milestoneId: m.milestoneId,
    status: m.status,
  });

const sum = (milestones: readonly MilestoneState[], status?: MilestoneStatus): number =>
  milestones.filter((m) => status === undefined || m.status === status).reduce((t, m) => t + m.amountMinor, 0);

/** Whether work was handed over: then one party alone can no longer cancel. */
const workDelivered = (contract: ExistingContract): boolean => contract.milestones.some((m) => m.status !== 'PENDING');

const REVIEW_WINDOW_MS = REVIEW_WINDOW_DAYS * 86_400_000;

export function decideContract(command: ContractCommand, state: Contract, { now }: DecideContext): ContractEvent[] {
  const at = now.toISOString();
  const { contractId } = command.data;
  switch (command.type) {
    case 'CreateContract': {
      const data = command.data;
      if (state.status !== 'none') {
        if (state.applicationId === data.applicationId) return []; // the process retried
        throw new DomainError('conflict', 'CONTRACT_EXISTS', `contract ${contractId} already exists`, { contractId });
      }
      // The sum is this aggregate's invariant, so it is checked here too (the due dates were checked when the job
      // was filled: they may have become today since).
      assertMilestoneSum(data.milestones, data.amountMinor);
      const milestones = data.milestones.map(({ milestoneId, title, amountMinor, dueDate }) => ({
        milestoneId,
        title,
        amountMinor,
        dueDate,
      }));
      return [{ type: 'ContractCreated', data: { ...data, milestones, createdAt: at } }];
    }
    case 'SubmitMilestone': {
      const contract = mustExist(state, contractId);
      onlySide(contract, command.data.by, 'WORKER', 'submit a milestone');
      mustBeActive(contract, 'submit a milestone');
      const m = milestoneOf(contract, command.data.milestoneId);
      if (m.status === 'SUBMITTED') return [];
      if (m.status === 'APPROVED') {
        throw new DomainError('conflict', 'MILESTONE_APPROVED', `milestone ${m.milestoneId} is already approved`, {
          contractId,
          milestoneId: m.milestoneId,
        });
      }
      const { hirerId, workerId } = contract;
      return [
        {
          type: 'MilestoneSubmitted',
          data: { contractId, milestoneId: m.milestoneId, hirerId, workerId, note: command.data.note, submittedAt: at },
        },
      ];
    }
    case 'StartContract': {
      const contract = mustExist(state, contractId);
      if (contract.status !== 'FUNDING') return []; // started already, or ended before the money arrived
      const { hirerId, workerId, amountMinor, currency } = contract;
      return [
        { type: 'ContractStarted', data: { contractId, hirerId, workerId, amountMinor, currency, startedAt: at } },
      ];
    }
    case 'EndUnfundedContract': {
      const contract = mustExist(state, contractId);
      if (contract.status !== 'FUNDING') return []; // funded meanwhile, or cancelled: nothing to end
      const { hirerId, workerId } = contract;
      return [
        {
          type: 'ContractNotStarted',
          data: { contractId, hirerId, workerId, reason: command.data.reason, endedAt: at },
        },
      ];
    }
    case 'ApproveMilestone': {
      const contract = mustExist(state, contractId);
      if (!command.data.auto) onlySide(contract, command.data.by, 'HIRER', 'approve a milestone');
      const m = milestoneOf(contract, command.data.milestoneId);
      if (m.status === 'APPROVED') return [];
      mustBeActive(contract, 'approve a milestone');
      if (m.status !== 'SUBMITTED') throw notSubmitted(contract, m);
      const { hirerId, workerId, amountMinor, currency } = contract;
      const approved: ContractEvent = {
        type: 'MilestoneApproved',
        data: {
          contractId,
          milestoneId: m.milestoneId,
          hirerId,
          workerId,
          amountMinor: m.amountMinor,
          currency,
          approvedAt: at,
        },
      };
      const last = contract.milestones.every((x) => x.milestoneId === m.milestoneId || x.status === 'APPROVED');
      return last
        ? [
            approved,
            {
              type: 'ContractCompleted',
              data: { contractId, hirerId, workerId, amountMinor, currency, completedAt: at },
            },
          ]
        : [approved];
    }
    case 'RequestMilestoneChanges': {
      const contract = mustExist(state, contractId);
      onlySide(contract, command.data.by, 'HIRER', 'ask for changes');
      mustBeActive(contract, 'ask for changes');
      const m = milestoneOf(contract, command.data.milestoneId);
      if (m.status !== 'SUBMITTED') throw notSubmitted(contract, m);
      const { hirerId, workerId } = contract;
      return [
        {
          type: 'MilestoneChangesRequested',
          data: {
            contractId,
            milestoneId: m.milestoneId,
            hirerId,
            workerId,
            reason: command.data.reason,
            requestedAt: at,
          },
        },
      ];
    }
    case 'CancelContract': {
      const contract = mustExist(state, contractId);
      const { by, reason, asAdmin } = command.data;
      if (!asAdmin && sideOf(contract, by) === null) throw contractNotFound(contractId);
      if (contract.status === 'CANCELLED') return [];
      if (contract.status === 'COMPLETED' || contract.status === 'NOT_STARTED') {
        throw new DomainError(
          'conflict',
          'CONTRACT_NOT_CANCELLABLE',
          `contract ${contractId} is ${contract.status.toLowerCase().replace('_', ' ')}`,
          { contractId, status: contract.status },
        );
      }
      const { hirerId, workerId, currency } = contract;
      const agreed = contract.cancellationRequestedBy !== null && contract.cancellationRequestedBy !== by;
      if (asAdmin || agreed || !workDelivered(contract)) {
        const approvedMinor = sum(contract.milestones, 'APPROVED');
        return [
          {
            type: 'ContractCancelled',
            data: {
              contractId,
              hirerId,
              workerId,
              cancelledBy: by,
              reason,
              approvedMinor,
              unapprovedMinor: contract.amountMinor - approvedMinor,
              currency,
              cancelledAt: at,
            },
          },
        ];
      }
      if (contract.cancellationRequestedBy === by) return []; // asked already; waiting for the other party
      return [
        {
          type: 'ContractCancellationRequested',
          data: { contractId, hirerId, workerId, requestedBy: by, reason, requestedAt: at },
        },
      ];
    }
    case 'ReviewContract': {
      const contract = mustExist(state, contractId);
      const side = sideOf(contract, command.data.by);
      if (side === null) throw contractNotFound(contractId);
      if (contract.status !== 'COMPLETED' || contract.completedAt === null) {
        throw new DomainError('conflict', 'CONTRACT_NOT_COMPLETED', 'a contract is reviewed once it is completed', {
          contractId,
          status: contract.status,
        });
      }
      if (now.getTime() > Date.parse(contract.completedAt) + REVIEW_WINDOW_MS) {
        throw new DomainError(
          'conflict',
          'REVIEW_WINDOW_CLOSED',
          `reviews are accepted for ${REVIEW_WINDOW_DAYS} days after completion`,
          { contractId, completedAt: contract.completedAt },
        );
      }
      if (contract.reviews[side]) {
        throw new DomainError('conflict', 'REVIEW_EXISTS', 'you have already reviewed this contract', {
          contractId,
        });
      }
      const { rating, text } = command.data;
      if (!Number.isInteger(rating) || rating < MIN_RATING || rating > MAX_RATING) {
        throw new DomainError('invalid', 'INVALID_RATING', `rating must be ${MIN_RATING}..${MAX_RATING} stars`, {
          rating,
        });
      }
      if (text.length > MAX_REVIEW_TEXT) {
        throw new DomainError('invalid', 'REVIEW_TOO_LONG', `a review has at most ${MAX_REVIEW_TEXT} characters`);
      }
      return [
        {
          type: 'ContractReviewed',
          data: {
            contractId,
            reviewerId: command.data.by,
            revieweeId: side === 'HIRER' ? contract.workerId : contract.hirerId,
            reviewerSide: side,
            rating,
            text,
            reviewedAt: at,
          },
        },
      ];
    }
    case 'HideReview': {
      const contract = mustExist(state, contractId);
      const review = contract.reviews[command.data.side];
      if (!review) {
        throw new DomainError('not_found', 'REVIEW_NOT_FOUND', `contract has no review by its ${command.data.side}`, {
          contractId,
        });
      }
      if (review.hidden) return [];
      return [
        {
          type: 'ReviewHidden',
          data: {
            contractId,
            reviewerSide: command.data.side,
            revieweeId: review.revieweeId,
            hiddenBy: command.data.by,
            reason: command.data.reason,
            hiddenAt: at,
          },
        },
      ];
    }
  }
}

const withMilestone = (state: ExistingContract, milestoneId: string, status: MilestoneStatus): ExistingContract => ({
  ...state,
  milestones: state.milestones.map((m) => (m.milestoneId === milestoneId ? { ...m, status } : m)),
});

export function evolveContract(state: Contract, event: ContractEvent): Contract {
  if (event.type === 'ContractCreated') {
    const { contractId, applicationId, hirerId, workerId, amountMinor, currency, milestones } = event.data;
    return {
      status: 'FUNDING',
      contractId,
      applicationId,
      hirerId,
      workerId,
      amountMinor,
      currency,
      milestones: milestones.map((m) => ({ ...m, status: 'PENDING' })),
      completedAt: null,
      cancellationRequestedBy: null,
      reviews: {},
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'MilestoneSubmitted':
      return withMilestone(state, event.data.milestoneId, 'SUBMITTED');
    case 'MilestoneApproved':
      return withMilestone(state, event.data.milestoneId, 'APPROVED');
    case 'MilestoneChangesRequested':
      return withMilestone(state, event.data.milestoneId, 'CHANGES_REQUESTED');
    case 'ContractCompleted':
      return { ...state, status: 'COMPLETED', completedAt: event.data.completedAt, cancellationRequestedBy: null };
    case 'ContractCancellationRequested':
      return { ...state, cancellationRequestedBy: event.data.requestedBy };
    case 'ContractCancelled':
      return { ...state, status: 'CANCELLED', cancellationRequestedBy: null };
    case 'ContractStarted':
      return { ...state, status: 'ACTIVE' };
    case 'ContractNotStarted':
      return { ...state, status: 'NOT_STARTED', cancellationRequestedBy: null };
    case 'ContractReviewed':
      return {
        ...state,
        reviews: {
          ...state.reviews,
          [event.data.reviewerSide]: { revieweeId: event.data.revieweeId, rating: event.data.rating, hidden: false },
        },
      };
    case 'ReviewHidden': {
      const review = state.reviews[event.data.reviewerSide];
      return review
        ? { ...state, reviews: { ...state.reviews, [event.data.reviewerSide]: { ...review, hidden: true } } }
        : state;
    }
  }
}

export const contractDecider: Decider<ContractCommand, ContractEvent, Contract, DecideContext> = {
  decide: decideContract,
  evolve: evolveContract,
  initialState: noStream,
};
