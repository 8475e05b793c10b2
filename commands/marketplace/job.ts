import type { JobEvent, JobPosted, Milestone } from '../../schemas/marketplace/events.js';
import type { JobStatus } from '../../schemas/marketplace/vocabulary.js';
import { type DecideContext, type Decider, DomainError, type Existing, type NoStream, noStream } from '../decider.js';
import { acceptSkills, assertAmount, assertCoordinates, assertFutureDay, MAX_MILESTONES, sameData } from './rules.js';

// A job: posted by a hirer, edited while OPEN, closed to new applications (CLOSED), withdrawn (CANCELLED, final)
// or FILLED by accepting one application. The job stream is where acceptance is decided: a job is filled once,
// so two concurrent accepts of two applications cannot both win (the second is JOB_ALREADY_FILLED). The
// accept-application process (sagas/marketplace) then accepts the application, makes the contract and tells the
// other applicants; if the application was withdrawn meanwhile, it reopens the job (JobReopened).

export type { JobEvent };

/** What a job says about the work: the fields JobPosted and JobUpdated carry. */
export type JobDetails = Omit<JobPosted, 'jobId' | 'hirerId' | 'postedAt'>;

/** A milestone as the hirer proposes it when accepting; ids are given in order (`m1`, `m2`, …). */
export interface MilestoneTerms {
  readonly title: string;
  readonly amountMinor: number;
  readonly dueDate: string;
}

export type JobCommand =
  | { type: 'PostJob'; data: { jobId: string; hirerId: string; details: JobDetails } }
  | { type: 'UpdateJob'; data: { jobId: string; details: JobDetails } }
  | { type: 'CloseJob'; data: { jobId: string } }
  | { type: 'CancelJob'; data: { jobId: string; reason: string } }
  | {
      type: 'FillJob';
      data: {
        jobId: string;
        applicationId: string;
        workerId: string;
        contractId: string;
        amountMinor: number;
        currency: string;
        milestones: readonly MilestoneTerms[];
      };
    }
  | { type: 'ReopenJob'; data: { jobId: string; applicationId: string; reason: string } };

export type Job =
  | NoStream
  | {
      readonly status: JobStatus;
      readonly jobId: string;
      readonly hirerId: string;
      readonly details: JobDetails;
      /** The accepted application while FILLED. */
      readonly filledBy: string | null;
    };

export const initialJob: () => Job = noStream;

export const jobNotFound = (jobId: string) =>
  new DomainError('not_found', 'JOB_NOT_FOUND', `job ${jobId} does not exist`, { jobId });

const mustExist = (state: Job, jobId: string): Existing<Job> => {
  if (state.status === 'none') throw jobNotFound(jobId);
  return state;
};

const notOpen = (job: Existing<Job>, wanted: string) =>
  new DomainError('conflict', 'JOB_NOT_OPEN', `job ${job.jobId} is ${job.status}; cannot ${wanted}`, {
    jobId: job.jobId,
    status: job.status,
  });

/** The details checked and normalised (skills), or a 400. */
export function acceptJobDetails(details: JobDetails, now: Date): JobDetails {
  const { budget } = details;
  assertAmount(budget.minMinor, 'budget.minMinor');
  assertAmount(budget.maxMinor, 'budget.maxMinor');
  if (budget.minMinor > budget.maxMinor) {
    throw new DomainError('invalid', 'BUDGET_RANGE_INVALID', 'budget.minMinor must not exceed budget.maxMinor', {
      minMinor: budget.minMinor,
      maxMinor: budget.maxMinor,
    });
  }
  assertFutureDay(details.deadline, now, 'deadline', true);
  if (!details.remote && details.location === null) {
    throw new DomainError('invalid', 'LOCATION_REQUIRED', 'a job that is not remote needs a location');
  }
  if (details.location) assertCoordinates(details.location);
  return { ...details, skills: acceptSkills(details.skills) };
}

/**
 * The contract's invariant: 1..MAX_MILESTONES milestones, each a positive amount, summing to the contract amount
 * exactly. Checked when a job is filled and again when its contract is made.
 */
export function assertMilestoneSum(milestones: readonly { amountMinor: number }[], amountMinor: number): void {
  if (milestones.length === 0 || milestones.length > MAX_MILESTONES) {
    throw new DomainError('invalid', 'MILESTONE_COUNT', `a contract has 1..${MAX_MILESTONES} milestones`, {
      count: milestones.length,
    });
  }
  for (const [index, m] of milestones.entries()) assertAmount(m.amountMinor, `milestones[${index}].amountMinor`);
  const sum = milestones.reduce((total, m) => total + m.amountMinor, 0);
  if (sum !== amountMinor) {
    throw new DomainError(
      'unprocessable',
      'MILESTONE_SUM_MISMATCH',
      `the milestones sum to ${sum}; the contract amount is ${amountMinor}`,
      { sum, amountMinor },
    );
  }
}

/** The milestones as the contract will hold them (ids `m1`, `m2`, … in order), due today or later. */
export function acceptMilestones(terms: readonly MilestoneTerms[], amountMinor: number, now: Date): Milestone[] {
  assertMilestoneSum(terms, amountMinor);
  return terms.map((m, index) => {
    assertFutureDay(m.dueDate, now, `milestones[${index}].dueDate`, false);
    return { milestoneId: `m${index + 1}`, title: m.title, amountMinor: m.amountMinor, dueDate: m.dueDate };
  });
}

export function decideJob(command: JobCommand, state: Job, { now }: DecideContext): JobEvent[] {
  const at = now.toISOString();
  const { jobId } = command.data;
  switch (command.type) {
    case 'PostJob': {
      if (state.status !== 'none') {
        throw new DomainError('conflict', 'JOB_EXISTS', `job ${jobId} already exists`, { jobId });
      }
      const details = acceptJobDetails(command.data.details, now);
      return [{ type: 'JobPosted', data: { jobId, hirerId: command.data.hirerId, ...details, postedAt: at } }];
    }
    case 'UpdateJob': {
      const job = mustExist(state, jobId);
      if (job.status !== 'OPEN') throw notOpen(job, 'be edited');
      const details = acceptJobDetails(command.data.details, now);
      if (sameData(job.details, details)) return [];
      return [{ type: 'JobUpdated', data: { jobId, ...details, updatedAt: at } }];
    }
    case 'CloseJob': {
      const job = mustExist(state, jobId);
      if (job.status === 'CLOSED') return [];
      if (job.status !== 'OPEN') throw notOpen(job, 'be closed');
      return [{ type: 'JobClosed', data: { jobId, closedAt: at } }];
    }
    case 'CancelJob': {
      const job = mustExist(state, jobId);
      if (job.status === 'CANCELLED') return [];
      if (job.status === 'FILLED') {
        throw new DomainError('conflict', 'JOB_NOT_CANCELLABLE', `job ${jobId} is filled; cancel its contract`, {
          jobId,
        });
      }
      return [{ type: 'JobCancelled', data: { jobId, reason: command.data.reason, cancelledAt: at } }];
    }
    case 'FillJob': {
      const job = mustExist(state, jobId);
      const { applicationId, workerId, contractId, amountMinor, currency } = command.data;
      if (job.status === 'FILLED') {
        if (job.filledBy === applicationId) return []; // the same acceptance, retried
        throw new DomainError('conflict', 'JOB_ALREADY_FILLED', `job ${jobId} already has a contract`, { jobId });
      }
      if (job.status === 'CANCELLED') throw notOpen(job, 'be filled');
      assertAmount(amountMinor, 'amountMinor');
      const milestones = acceptMilestones(command.data.milestones, amountMinor, now);
      return [
        {
          type: 'JobFilled',
          data: {
            jobId,
            hirerId: job.hirerId,
            applicationId,
            workerId,
            contractId,
            amountMinor,
            currency,
            milestones,
            filledAt: at,
          },
        },
      ];
    }
    case 'ReopenJob': {
      const job = mustExist(state, jobId);
      // Only the acceptance that failed is undone; anything else is a late or repeated request.
      if (job.status !== 'FILLED' || job.filledBy !== command.data.applicationId) return [];
      const { applicationId, reason } = command.data;
      return [{ type: 'JobReopened', data: { jobId, applicationId, reason, reopenedAt: at } }];
    }
  }
}

/** The details of a JobPosted or JobUpdated, without its ids and time. */
const detailsOf = ({ title, description, skills, budget, deadline, remote, location }: JobDetails): JobDetails => ({
  title,
  description,
  skills,
  budget,
  deadline,
  remote,
  location,
});

export function evolveJob(state: Job, event: JobEvent): Job {
  if (event.type === 'JobPosted') {
    const { jobId, hirerId } = event.data;
    return { status: 'OPEN', jobId, hirerId, details: detailsOf(event.data), filledBy: null };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'JobUpdated':
      return { ...state, details: detailsOf(event.data) };
    case 'JobClosed':
      return { ...state, status: 'CLOSED' };
    case 'JobCancelled':
      return { ...state, status: 'CANCELLED' };
    case 'JobFilled':
      return { ...state, status: 'FILLED', filledBy: event.data.applicationId };
    case 'JobReopened':
      return { ...state, status: 'OPEN', filledBy: null };
  }
}

export const jobDecider: Decider<JobCommand, JobEvent, Job, DecideContext> = {
  decide: decideJob,
  evolve: evolveJob,
  initialState: initialJob,
};
