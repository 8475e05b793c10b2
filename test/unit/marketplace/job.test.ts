import { describe, it } from 'vitest';
import { jobDecider } from '../../../commands/marketplace/job.js';
import { given } from '../../support/decider.js';
import { HIRER, JOB_ID, jobDetails, NOW } from './fixtures.js';

const post = (details = jobDetails()) => ({
  type: 'PostJob' as const,
  data: { jobId: JOB_ID, hirerId: HIRER, details },
});
const fill = (applicationId = 'app-1', amounts = [50_000, 150_000]) => ({
  type: 'FillJob' as const,
  data: {
    jobId: JOB_ID,
    applicationId,
    workerId: 'w',
    contractId: applicationId,
    amountMinor: 200_000,
    currency: 'EUR',
    milestones: amounts.map((amountMinor, i) => ({ title: `part ${i}`, amountMinor, dueDate: '2026-06-15' })),
  },
});
const ctx = { now: NOW };
const posted = () =>
  given(jobDecider)
    .when(post(), ctx)
    .thenDecidesMatching([{ type: 'JobPosted' }]);

describe('Job decider', () => {
  it('posts a job with its skills normalised', () => {
    given(jobDecider)
      .when(post(jobDetails({ skills: ['  Node JS', 'node-js', 'Go'] })), ctx)
      .thenDecidesMatching([{ type: 'JobPosted', data: { skills: ['node-js', 'go'], hirerId: HIRER } }]);
  });

  it('refuses a deadline that is not in the future', () => {
    given(jobDecider)
      .when(post(jobDetails({ deadline: '2026-06-01' })), ctx)
      .thenRefuses('invalid', 'DATE_OUT_OF_RANGE');
    given(jobDecider)
      .when(post(jobDetails({ deadline: '2026-02-30' })), ctx)
      .thenRefuses('invalid', 'INVALID_DATE');
  });

  it('refuses a budget whose minimum exceeds its maximum, or out of range', () => {
    const budget = { kind: 'FIXED' as const, minMinor: 5, maxMinor: 4, currency: 'EUR' };
    given(jobDecider)
      .when(post(jobDetails({ budget })), ctx)
      .thenRefuses('invalid', 'BUDGET_RANGE_INVALID');
    given(jobDecider)
      .when(post(jobDetails({ budget: { ...budget, minMinor: 0 } })), ctx)
      .thenRefuses('invalid', 'AMOUNT_OUT_OF_RANGE');
  });

  it('needs a location unless the job is remote', () => {
    given(jobDecider)
      .when(post(jobDetails({ location: null })), ctx)
      .thenRefuses('invalid', 'LOCATION_REQUIRED');
    given(jobDecider)
      .when(post(jobDetails({ location: null, remote: true })), ctx)
      .thenDecidesMatching([{ type: 'JobPosted' }]);
  });

  it('edits an open job; the same details again are a no-op; a closed job is not edited', () => {
    const job = posted();
    const edited = job
      .when({ type: 'UpdateJob', data: { jobId: JOB_ID, details: jobDetails({ title: 'Bathroom' }) } }, ctx)
      .thenDecidesMatching([{ type: 'JobUpdated', data: { title: 'Bathroom' } }]);
    edited
      .when({ type: 'UpdateJob', data: { jobId: JOB_ID, details: jobDetails({ title: 'Bathroom' }) } }, ctx)
      .thenNothing();
    edited
      .when({ type: 'CloseJob', data: { jobId: JOB_ID } }, ctx)
      .thenDecidesMatching([{ type: 'JobClosed' }])
      .when({ type: 'UpdateJob', data: { jobId: JOB_ID, details: jobDetails() } }, ctx)
      .thenRefuses('conflict', 'JOB_NOT_OPEN');
  });

  it('is filled once: the same acceptance again is a no-op, another is JOB_ALREADY_FILLED', () => {
    const filled = posted()
      .when(fill(), ctx)
      .thenDecidesMatching([
        {
          type: 'JobFilled',
          data: {
            milestones: [
              { milestoneId: 'm1', amountMinor: 50_000 },
              { milestoneId: 'm2', amountMinor: 150_000 },
            ],
          },
        },
      ]);
    filled.when(fill(), ctx).thenNothing();
    filled.when(fill('app-2'), ctx).thenRefuses('conflict', 'JOB_ALREADY_FILLED');
    filled
      .when({ type: 'CancelJob', data: { jobId: JOB_ID, reason: 'x' } }, ctx)
      .thenRefuses('conflict', 'JOB_NOT_CANCELLABLE');
  });

  it('refuses milestones that do not sum to the contract amount', () => {
    posted()
      .when(fill('app-1', [50_000, 100_000]), ctx)
      .thenRefuses('unprocessable', 'MILESTONE_SUM_MISMATCH');
  });

  it('may be filled after it stopped taking applications, never after it was cancelled', () => {
    posted()
      .when({ type: 'CloseJob', data: { jobId: JOB_ID } }, ctx)
      .thenDecidesMatching([{ type: 'JobClosed' }])
      .when(fill(), ctx)
      .thenDecidesMatching([{ type: 'JobFilled' }]);
    posted()
      .when({ type: 'CancelJob', data: { jobId: JOB_ID, reason: 'no budget' } }, ctx)
      .thenDecidesMatching([{ type: 'JobCancelled' }])
      .when(fill(), ctx)
      .thenRefuses('conflict', 'JOB_NOT_OPEN');
  });

  it('reopens only for the acceptance that failed', () => {
    const filled = posted()
      .when(fill(), ctx)
      .thenDecidesMatching([{ type: 'JobFilled' }]);
    filled.when({ type: 'ReopenJob', data: { jobId: JOB_ID, applicationId: 'other', reason: 'r' } }, ctx).thenNothing();
    filled
      .when({ type: 'ReopenJob', data: { jobId: JOB_ID, applicationId: 'app-1', reason: 'withdrawn' } }, ctx)
      .thenDecidesMatching([{ type: 'JobReopened' }])
      .thenStateMatches({ status: 'OPEN', filledBy: null });
  });

  it('answers JOB_NOT_FOUND for a job that does not exist', () => {
    given(jobDecider)
      .when({ type: 'CloseJob', data: { jobId: 'nope' } }, ctx)
      .thenRefuses('not_found', 'JOB_NOT_FOUND');
  });
});
