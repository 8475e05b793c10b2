import { createHash } from 'node:crypto';
import type { ApplicationEvent } from '../../schemas/marketplace/events.js';
import { type ApplicationStatus, FINAL_APPLICATION_STATUSES } from '../../schemas/marketplace/vocabulary.js';
import { type DecideContext, type Decider, DomainError, type Existing, type NoStream, noStream } from '../decider.js';
import { type Job, jobNotFound } from './job.js';
import { assertAmount } from './rules.js';

// An application: one per worker per job. Its id is derived from the pair (applicationIdFor), so a second
// application by the same worker to the same job lands on the same stream and is refused (409
// APPLICATION_EXISTS), also after a withdrawal, and also when two arrive at once (one append wins the stream).

export type { ApplicationEvent };

export const MAX_COVER_LETTER = 5000;

/** The application id of a worker's application to a job: 32 hex characters of SHA-256 over the pair. */
export const applicationIdFor = (jobId: string, workerId: string): string =>
  createHash('sha256').update(`${jobId}\u0000${workerId}`).digest('hex').slice(0, 32);

export type ApplicationCommand =
  | {
      type: 'SubmitApplication';
      data: { jobId: string; workerId: string; coverLetter: string; proposedAmountMinor: number; currency: string };
    }
  | { type: 'WithdrawApplication'; data: { applicationId: string } }
  | { type: 'ShortlistApplication'; data: { applicationId: string } }
  | { type: 'RejectApplication'; data: { applicationId: string; reason: string } }
  | { type: 'AcceptApplication'; data: { applicationId: string; contractId: string } }
  | { type: 'MarkApplicationNotSelected'; data: { applicationId: string; contractId: string } };

export type Application =
  | NoStream
  | {
      readonly status: ApplicationStatus;
      readonly applicationId: string;
      readonly jobId: string;
      readonly hirerId: string;
      readonly workerId: string;
      readonly proposedAmountMinor: number;
      readonly currency: string;
      readonly contractId: string | null;
    };

/** What SubmitApplication checks: the job applied to, as of now (loaded by the handler). */
export interface ApplicationContext extends DecideContext {
  readonly job?: Job;
}

export const applicationNotFound = (applicationId: string) =>
  new DomainError('not_found', 'APPLICATION_NOT_FOUND', `application ${applicationId} does not exist`, {
    applicationId,
  });

const mustExist = (state: Application, applicationId: string): Existing<Application> => {
  if (state.status === 'none') throw applicationNotFound(applicationId);
  return state;
};

const isFinal = (status: ApplicationStatus): boolean => FINAL_APPLICATION_STATUSES.includes(status);

/** The refusal of a step an application's status does not allow (final, or not yet shortlisted…). */
export const applicationDecided = (application: Existing<Application>, wanted: string) =>
  new DomainError(
    'conflict',
    'APPLICATION_DECIDED',
    `application ${application.applicationId} is ${application.status}; cannot ${wanted}`,
    { applicationId: application.applicationId, status: application.status },
  );

/**
 * One step of an application: from `from` to the event's status; a repeat of the step taken is a no-op; a step
 * from a final status (or any other) is refused.
 */
function step(
  state: Application,
  applicationId: string,
  from: readonly ApplicationStatus[],
  to: ApplicationStatus,
  event: (a: Existing<Application>) => ApplicationEvent,
  wanted: string,
): ApplicationEvent[] {
  const application = mustExist(state, applicationId);
  if (application.status === to) return [];
  if (!from.includes(application.status)) throw applicationDecided(application, wanted);
  return [event(application)];
}

const OPEN: readonly ApplicationStatus[] = ['SUBMITTED', 'SHORTLISTED'];

export function decideApplication(
  command: ApplicationCommand,
  state: Application,
  context: ApplicationContext,
): ApplicationEvent[] {
  const at = context.now.toISOString();
  const parties = (a: Existing<Application>) => ({
    applicationId: a.applicationId,
    jobId: a.jobId,
    hirerId: a.hirerId,
    workerId: a.workerId,
  });
  switch (command.type) {
    case 'SubmitApplication': {
      const { jobId, workerId, coverLetter, proposedAmountMinor, currency } = command.data;
      const applicationId = applicationIdFor(jobId, workerId);
      if (state.status !== 'none') {
        throw new DomainError('conflict', 'APPLICATION_EXISTS', `you have already applied to job ${jobId}`, {
          jobId,
          applicationId,
        });
      }
      const job = context.job;
      if (!job) throw new Error('SubmitApplication needs the job it applies to');
      if (job.status === 'none') throw jobNotFound(jobId);
      if (job.status !== 'OPEN') {
        throw new DomainError('conflict', 'JOB_NOT_OPEN', `job ${jobId} is ${job.status}; it takes no applications`, {
          jobId,
          status: job.status,
        });
      }
      if (job.hirerId === workerId) {
        throw new DomainError('forbidden', 'OWN_JOB', 'you cannot apply to your own job', { jobId });
      }
      assertAmount(proposedAmountMinor, 'proposedAmountMinor');
      if (currency !== job.details.budget.currency) {
        throw new DomainError(
          'unprocessable',
          'CURRENCY_MISMATCH',
          `job ${jobId} is budgeted in ${job.details.budget.currency}`,
          { jobId, currency: job.details.budget.currency },
        );
      }
      if (coverLetter.length > MAX_COVER_LETTER) {
        throw new DomainError('invalid', 'COVER_LETTER_TOO_LONG', `at most ${MAX_COVER_LETTER} characters`);
      }
      return [
        {
          type: 'ApplicationSubmitted',
          data: {
            applicationId,
            jobId,
            hirerId: job.hirerId,
            workerId,
            coverLetter,
            proposedAmountMinor,
            currency,
            submittedAt: at,
          },
        },
      ];
    }
    case 'WithdrawApplication':
      return step(
        state,
        command.data.applicationId,
        OPEN,
        'WITHDRAWN',
        (a) => ({ type: 'ApplicationWithdrawn', data: { ...parties(a), withdrawnAt: at } }),
        'be withdrawn',
      );
    case 'ShortlistApplication':
      return step(
        state,
        command.data.applicationId,
        ['SUBMITTED'],
        'SHORTLISTED',
        (a) => ({ type: 'ApplicationShortlisted', data: { ...parties(a), shortlistedAt: at } }),
        'be shortlisted',
      );
    case 'RejectApplication':
      return step(
        state,
        command.data.applicationId,
        OPEN,
        'REJECTED',
        (a) => ({ type: 'ApplicationRejected', data: { ...parties(a), reason: command.data.reason, rejectedAt: at } }),
        'be rejected',
      );
    case 'AcceptApplication':
      return step(
        state,
        command.data.applicationId,
        OPEN,
        'ACCEPTED',
        (a) => ({
          type: 'ApplicationAccepted',
          data: { ...parties(a), contractId: command.data.contractId, acceptedAt: at },
        }),
        'be accepted',
      );
    case 'MarkApplicationNotSelected': {
      const application = mustExist(state, command.data.applicationId);
      // Told to every other applicant: one already decided (withdrawn, rejected) keeps its own ending.
      if (isFinal(application.status)) return [];
      return [
        {
          type: 'ApplicationNotSelected',
          data: { ...parties(application), contractId: command.data.contractId, notSelectedAt: at },
        },
      ];
    }
  }
}

export function evolveApplication(state: Application, event: ApplicationEvent): Application {
  if (event.type === 'ApplicationSubmitted') {
    const { applicationId, jobId, hirerId, workerId, proposedAmountMinor, currency } = event.data;
    return {
      status: 'SUBMITTED',
      applicationId,
      jobId,
      hirerId,
      workerId,
      proposedAmountMinor,
      currency,
      contractId: null,
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'ApplicationWithdrawn':
      return { ...state, status: 'WITHDRAWN' };
    case 'ApplicationShortlisted':
      return { ...state, status: 'SHORTLISTED' };
    case 'ApplicationRejected':
      return { ...state, status: 'REJECTED' };
    case 'ApplicationAccepted':
      return { ...state, status: 'ACCEPTED', contractId: event.data.contractId };
    case 'ApplicationNotSelected':
      return { ...state, status: 'NOT_SELECTED' };
  }
}

export const applicationDecider: Decider<ApplicationCommand, ApplicationEvent, Application, ApplicationContext> = {
  decide: decideApplication,
  evolve: evolveApplication,
  initialState: noStream,
};
