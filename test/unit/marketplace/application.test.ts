import { describe, expect, it } from 'vitest';
import type { Existing } from '../../../commands/decider.js';
import { applicationDecider, applicationIdFor } from '../../../commands/marketplace/application.js';
import type { Job } from '../../../commands/marketplace/job.js';
import { given } from '../../support/decider.js';
import { HIRER, JOB_ID, NOW, postedJob, WORKER } from './fixtures.js';

const submit = (workerId = WORKER, overrides: Record<string, unknown> = {}) => ({
  type: 'SubmitApplication' as const,
  data: { jobId: JOB_ID, workerId, coverLetter: 'I can', proposedAmountMinor: 200_000, currency: 'EUR', ...overrides },
});
const ctx = { now: NOW, job: postedJob() };
const ID = applicationIdFor(JOB_ID, WORKER);

describe('Application decider', () => {
  it('derives one id per worker and job', () => {
    expect(applicationIdFor(JOB_ID, WORKER)).toBe(ID);
    expect(applicationIdFor(JOB_ID, 'worker-2')).not.toBe(ID);
    expect(applicationIdFor(`${JOB_ID}x`, WORKER)).not.toBe(ID);
  });

  it('submits an application to an open job, carrying the hirer', () => {
    given(applicationDecider)
      .when(submit(), ctx)
      .thenDecidesMatching([{ type: 'ApplicationSubmitted', data: { applicationId: ID, hirerId: HIRER } }]);
  });

  it('refuses a second application by the same worker, even after withdrawing', () => {
    const submitted = given(applicationDecider)
      .when(submit(), ctx)
      .thenDecidesMatching([{ type: 'ApplicationSubmitted' }]);
    submitted.when(submit(), ctx).thenRefuses('conflict', 'APPLICATION_EXISTS');
    submitted
      .when({ type: 'WithdrawApplication', data: { applicationId: ID } }, ctx)
      .thenDecidesMatching([{ type: 'ApplicationWithdrawn' }])
      .when(submit(), ctx)
      .thenRefuses('conflict', 'APPLICATION_EXISTS');
  });

  it('refuses an application to a missing, closed or own job, or in another currency', () => {
    given(applicationDecider)
      .when(submit(), { now: NOW, job: { status: 'none' } })
      .thenRefuses('not_found', 'JOB_NOT_FOUND');
    const closed: Job = { ...(postedJob() as Existing<Job>), status: 'CLOSED' };
    given(applicationDecider).when(submit(), { now: NOW, job: closed }).thenRefuses('conflict', 'JOB_NOT_OPEN');
    given(applicationDecider).when(submit(HIRER), ctx).thenRefuses('forbidden', 'OWN_JOB');
    given(applicationDecider)
      .when(submit(WORKER, { currency: 'USD' }), ctx)
      .thenRefuses('unprocessable', 'CURRENCY_MISMATCH');
    given(applicationDecider)
      .when(submit(WORKER, { proposedAmountMinor: 0 }), ctx)
      .thenRefuses('invalid', 'AMOUNT_OUT_OF_RANGE');
  });

  it('shortlists, then accepts; an accepted application is decided for good', () => {
    const accepted = given(applicationDecider)
      .when(submit(), ctx)
      .thenDecidesMatching([{ type: 'ApplicationSubmitted' }])
      .when({ type: 'ShortlistApplication', data: { applicationId: ID } }, ctx)
      .thenDecidesMatching([{ type: 'ApplicationShortlisted' }])
      .when({ type: 'AcceptApplication', data: { applicationId: ID, contractId: ID } }, ctx)
      .thenDecidesMatching([{ type: 'ApplicationAccepted', data: { contractId: ID } }]);
    accepted.when({ type: 'AcceptApplication', data: { applicationId: ID, contractId: ID } }, ctx).thenNothing();
    accepted
      .when({ type: 'WithdrawApplication', data: { applicationId: ID } }, ctx)
      .thenRefuses('conflict', 'APPLICATION_DECIDED');
    accepted
      .when({ type: 'MarkApplicationNotSelected', data: { applicationId: ID, contractId: 'c' } }, ctx)
      .thenNothing();
  });

  it('tells an open application it was not selected; a withdrawn one keeps its ending', () => {
    const submitted = given(applicationDecider)
      .when(submit(), ctx)
      .thenDecidesMatching([{ type: 'ApplicationSubmitted' }]);
    submitted
      .when({ type: 'MarkApplicationNotSelected', data: { applicationId: ID, contractId: 'c' } }, ctx)
      .thenDecidesMatching([{ type: 'ApplicationNotSelected' }]);
    submitted
      .when({ type: 'WithdrawApplication', data: { applicationId: ID } }, ctx)
      .thenDecidesMatching([{ type: 'ApplicationWithdrawn' }])
      .when({ type: 'MarkApplicationNotSelected', data: { applicationId: ID, contractId: 'c' } }, ctx)
      .thenNothing()
      .when({ type: 'AcceptApplication', data: { applicationId: ID, contractId: ID } }, ctx)
      .thenRefuses('conflict', 'APPLICATION_DECIDED');
  });
});
