import { describe, it } from 'vitest';
import { contractDecider } from '../../../commands/marketplace/contract.js';
import { given } from '../../support/decider.js';
import { at, CONTRACT_ID, contractCreated, HIRER, NOW, WORKER } from './fixtures.js';

const ctx = { now: NOW };
const submit = (milestoneId: string, by = WORKER) => ({
  type: 'SubmitMilestone' as const,
  data: { contractId: CONTRACT_ID, milestoneId, note: 'done', by },
});
const approve = (milestoneId: string, by = HIRER) => ({
  type: 'ApproveMilestone' as const,
  data: { contractId: CONTRACT_ID, milestoneId, by },
});
const cancel = (by: string, asAdmin = false) => ({
  type: 'CancelContract' as const,
  data: { contractId: CONTRACT_ID, reason: 'no longer needed', by, asAdmin },
});
const review = (by: string, rating = 5, text = 'great') => ({
  type: 'ReviewContract' as const,
  data: { contractId: CONTRACT_ID, by, rating, text },
});

const start = { type: 'StartContract' as const, data: { contractId: CONTRACT_ID } };
const endUnfunded = { type: 'EndUnfundedContract' as const, data: { contractId: CONTRACT_ID, reason: 'not funded' } };

/** Made, waiting for its escrow to be funded. */
const funding = () => given(contractDecider, [contractCreated]);
/** Started as the escrow process starts it once the money is held. */
const active = () =>
  funding()
    .when(start, ctx)
    .thenDecidesMatching([{ type: 'ContractStarted' }]);
const notStarted = () =>
  funding()
    .when(endUnfunded, ctx)
    .thenDecidesMatching([{ type: 'ContractNotStarted' }]);
const completed = () =>
  ['m1', 'm2', 'm3'].reduce(
    (g, m) =>
      g
        .when(submit(m), ctx)
        .thenDecidesMatching([{ type: 'MilestoneSubmitted' }])
        .when(approve(m), ctx)
        .thenDecidesMatching(
          m === 'm3' ? [{ type: 'MilestoneApproved' }, { type: 'ContractCompleted' }] : [{ type: 'MilestoneApproved' }],
        ),
    active(),
  );

describe('Contract decider', () => {
  it('is made FUNDING and starts ACTIVE once, with the parties and the amount', () => {
    funding().thenStateMatches({ status: 'FUNDING', milestones: [{ status: 'PENDING' }, {}, {}] });
    funding()
      .when(start, ctx)
      .thenDecides([
        {
          type: 'ContractStarted',
          data: {
            contractId: CONTRACT_ID,
            hirerId: HIRER,
            workerId: WORKER,
            amountMinor: 200_000,
            currency: 'EUR',
            startedAt: NOW.toISOString(),
          },
        },
      ])
      .thenStateMatches({ status: 'ACTIVE' })
      .when(start, ctx)
      .thenNothing();
    given(contractDecider).when(start, ctx).thenRefuses('not_found', 'CONTRACT_NOT_FOUND');
  });

  it('refuses work on a contract still FUNDING', () => {
    funding()
      .when(submit('m1'), ctx)
      .thenRefuses('conflict', 'CONTRACT_NOT_ACTIVE')
      .withDetails({ contractId: CONTRACT_ID, status: 'FUNDING' });
  });

  it('ends NOT_STARTED only from FUNDING, and never starts after that', () => {
    const ended = notStarted()
      .thenStateMatches({ status: 'NOT_STARTED' })
      .when(endUnfunded, ctx)
      .thenNothing()
      .when(start, ctx)
      .thenNothing();
    ended.when(submit('m1'), ctx).thenRefuses('conflict', 'CONTRACT_NOT_ACTIVE');
    active().when(endUnfunded, ctx).thenNothing();
    completed().when(endUnfunded, ctx).thenNothing();
    funding()
      .when(cancel(HIRER), ctx)
      .thenDecidesMatching([{ type: 'ContractCancelled' }])
      .when(endUnfunded, ctx)
      .thenNothing();
  });

  it('is cancelled at once by either party while FUNDING; a contract NOT_STARTED is not cancellable', () => {
    for (const by of [HIRER, WORKER]) {
      funding()
        .when(cancel(by), ctx)
        .thenDecidesMatching([
          { type: 'ContractCancelled', data: { cancelledBy: by, approvedMinor: 0, unapprovedMinor: 200_000 } },
        ])
        .thenStateMatches({ status: 'CANCELLED' });
    }
    notStarted()
      .when(cancel(HIRER), ctx)
      .thenRefuses('conflict', 'CONTRACT_NOT_CANCELLABLE')
      .withDetails({ contractId: CONTRACT_ID, status: 'NOT_STARTED' });
    notStarted().when(cancel('admin-1', true), ctx).thenRefuses('conflict', 'CONTRACT_NOT_CANCELLABLE');
  });

  it('is approved automatically by the escrow process without the hirer, only once submitted and ACTIVE', () => {
    const autoApprove = (milestoneId: string) => ({
      type: 'ApproveMilestone' as const,
      data: { contractId: CONTRACT_ID, milestoneId, by: 'saga:marketplace-escrow', auto: true },
    });
    active()
      .when(submit('m1'), ctx)
      .thenDecidesMatching([{ type: 'MilestoneSubmitted' }])
      .when(autoApprove('m1'), ctx)
      .thenDecidesMatching([{ type: 'MilestoneApproved', data: { milestoneId: 'm1', amountMinor: 50_000 } }])
      .when(autoApprove('m1'), ctx)
      .thenNothing();
    active().when(autoApprove('m1'), ctx).thenRefuses('conflict', 'MILESTONE_NOT_SUBMITTED');
    funding().when(autoApprove('m1'), ctx).thenRefuses('conflict', 'CONTRACT_NOT_ACTIVE');
    // Without `auto` the same caller is no hirer.
    active()
      .when(submit('m1'), ctx)
      .thenDecidesMatching([{ type: 'MilestoneSubmitted' }])
      .when(approve('m1', 'saga:marketplace-escrow'), ctx)
      .thenRefuses('forbidden', 'ONLY_HIRER');
  });

  it('completes when the last milestone is approved', () => {
    completed().thenStateMatches({ status: 'COMPLETED', completedAt: NOW.toISOString() });
  });

  it('lets only the worker submit and only the hirer approve or ask for changes', () => {
    active().when(submit('m1', HIRER), ctx).thenRefuses('forbidden', 'ONLY_WORKER');
    const submitted = active()
      .when(submit('m1'), ctx)
      .thenDecidesMatching([{ type: 'MilestoneSubmitted' }]);
    submitted.when(approve('m1', WORKER), ctx).thenRefuses('forbidden', 'ONLY_HIRER');
    submitted
      .when(
        {
          type: 'RequestMilestoneChanges',
          data: { contractId: CONTRACT_ID, milestoneId: 'm1', reason: 'grout', by: HIRER },
        },
        ctx,
      )
      .thenDecidesMatching([{ type: 'MilestoneChangesRequested', data: { reason: 'grout' } }])
      .thenStateMatches({
        milestones: [{ milestoneId: 'm1', status: 'CHANGES_REQUESTED' }, { status: 'PENDING' }, { status: 'PENDING' }],
      })
      .when(submit('m1'), ctx)
      .thenDecidesMatching([{ type: 'MilestoneSubmitted' }]);
  });

  it('refuses approving a milestone that was not submitted, and an unknown one', () => {
    active().when(approve('m1'), ctx).thenRefuses('conflict', 'MILESTONE_NOT_SUBMITTED');
    active().when(submit('m9'), ctx).thenRefuses('not_found', 'MILESTONE_NOT_FOUND');
  });

  it('is cancelled at once by either party before any work was submitted', () => {
    active()
      .when(cancel(WORKER), ctx)
      .thenDecidesMatching([{ type: 'ContractCancelled', data: { approvedMinor: 0, unapprovedMinor: 200_000 } }]);
  });

  it('after work was submitted, is cancelled only when the other party agrees', () => {
    const asked = active()
      .when(submit('m1'), ctx)
      .thenDecidesMatching([{ type: 'MilestoneSubmitted' }])
      .when(approve('m1'), ctx)
      .thenDecidesMatching([{ type: 'MilestoneApproved' }])
      .when(cancel(HIRER), ctx)
      .thenDecidesMatching([{ type: 'ContractCancellationRequested', data: { requestedBy: HIRER } }]);
    asked.when(cancel(HIRER), ctx).thenNothing();
    asked
      .when(cancel(WORKER), ctx)
      .thenDecidesMatching([{ type: 'ContractCancelled', data: { approvedMinor: 50_000, unapprovedMinor: 150_000 } }])
      .when(submit('m2'), ctx)
      .thenRefuses('conflict', 'CONTRACT_NOT_ACTIVE');
  });

  it('is cancelled at once by an admin; a stranger is told it does not exist', () => {
    const delivered = active()
      .when(submit('m1'), ctx)
      .thenDecidesMatching([{ type: 'MilestoneSubmitted' }]);
    delivered.when(cancel('admin-1', true), ctx).thenDecidesMatching([{ type: 'ContractCancelled' }]);
    delivered.when(cancel('someone'), ctx).thenRefuses('not_found', 'CONTRACT_NOT_FOUND');
  });

  it('takes one review per side after completion, within 14 days', () => {
    active().when(review(HIRER), ctx).thenRefuses('conflict', 'CONTRACT_NOT_COMPLETED');
    const done = completed();
    const reviewed = done
      .when(review(HIRER, 4), ctx)
      .thenDecidesMatching([
        { type: 'ContractReviewed', data: { reviewerSide: 'HIRER', revieweeId: WORKER, rating: 4 } },
      ]);
    reviewed.when(review(HIRER), ctx).thenRefuses('conflict', 'REVIEW_EXISTS');
    reviewed.when(review(WORKER), ctx).thenDecidesMatching([{ type: 'ContractReviewed', data: { revieweeId: HIRER } }]);
    done.when(review('stranger'), ctx).thenRefuses('not_found', 'CONTRACT_NOT_FOUND');
    done.when(review(WORKER), at('2026-06-15T12:00:00.000Z')).thenDecidesMatching([{ type: 'ContractReviewed' }]);
    done.when(review(WORKER), at('2026-06-15T12:00:00.001Z')).thenRefuses('conflict', 'REVIEW_WINDOW_CLOSED');
    done.when(review(WORKER, 6), ctx).thenRefuses('invalid', 'INVALID_RATING');
    done.when(review(WORKER, 5, 'x'.repeat(2001)), ctx).thenRefuses('invalid', 'REVIEW_TOO_LONG');
  });

  it('hides a review once, keeping the event', () => {
    const hidden = completed()
      .when(review(HIRER), ctx)
      .thenDecidesMatching([{ type: 'ContractReviewed' }])
      .when(
        { type: 'HideReview', data: { contractId: CONTRACT_ID, side: 'HIRER', by: 'admin-1', reason: 'abuse' } },
        ctx,
      )
      .thenDecidesMatching([{ type: 'ReviewHidden', data: { revieweeId: WORKER } }]);
    hidden
      .when(
        { type: 'HideReview', data: { contractId: CONTRACT_ID, side: 'HIRER', by: 'admin-1', reason: 'abuse' } },
        ctx,
      )
      .thenNothing();
    completed()
      .when({ type: 'HideReview', data: { contractId: CONTRACT_ID, side: 'WORKER', by: 'admin-1', reason: 'x' } }, ctx)
      .thenRefuses('not_found', 'REVIEW_NOT_FOUND');
  });
});
