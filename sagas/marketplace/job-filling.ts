import type { ApplicationEvent, JobEvent, Milestone } from '../../schemas/marketplace/events.js';
import type { Reaction, SagaCommand, SagaDefinition } from '../runtime/types.js';

// The accept-application process: one per job (its saga id is the job id). Aggregates are one stream each, so
// accepting an application, which changes the job, the application, a new contract and every other application,
// is decided on the job's stream (JobFilled: a job is filled once) and carried out from there, each step a
// command with an idempotency key of its own (saga + step), performed once and retried until done:
//
//   JobFilled            → accept the application (ApplicationAccepted)
//   ApplicationAccepted  → make the contract (ContractCreated) and tell every other applicant (ApplicationNotSelected)
//   ApplicationSubmitted → after the acceptance, an application that slipped in (applied just before the job was
//                          filled, seen after) is told too
//   accepting failed     → the application was withdrawn meanwhile: reopen the job (JobReopened), no contract
//
// The saga runtime keeps the state with each event applied once (by event id), its commands in a table claimed
// under advisory locks, so the process survives restarts and redelivery without doing a step twice. Events of the
// two topics interleave freely: the state records what it has seen, whatever the order.

export const JOB_FILLING_SAGA = 'marketplace-job-filling';

export type JobFillingEvent = JobEvent | ApplicationEvent;

export interface Acceptance {
  readonly applicationId: string;
  readonly workerId: string;
  readonly contractId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly milestones: readonly Milestone[];
}

export interface JobFillingState {
  readonly jobId: string;
  readonly hirerId: string;
  readonly title: string;
  /** Every application seen for the job, in the order seen. */
  readonly applications: readonly string[];
  /** The acceptance under way (JobFilled seen, not reopened). */
  readonly acceptance: Acceptance | null;
  /** Whether the application has been recorded accepted: the contract and the other applicants follow. */
  readonly accepted: boolean;
  /** The acceptance the process had to undo (application withdrawn meanwhile), for the timeline and listings. */
  readonly reopenedFor: readonly string[];
}

export const SAGA_COMMANDS = {
  accept: 'marketplace.accept-application',
  createContract: 'marketplace.create-contract',
  notSelected: 'marketplace.mark-not-selected',
  reopen: 'marketplace.reopen-job',
} as const;

const cmd = (step: string, kind: string, payload: Record<string, unknown>): SagaCommand => ({ step, kind, payload });

const acceptCommand = (a: Acceptance) =>
  cmd(`accept:${a.applicationId}`, SAGA_COMMANDS.accept, { applicationId: a.applicationId, contractId: a.contractId });

const notSelectedCommand = (applicationId: string, a: Acceptance) =>
  cmd(`not-selected:${applicationId}`, SAGA_COMMANDS.notSelected, { applicationId, contractId: a.contractId });

const contractCommand = (s: JobFillingState, a: Acceptance) =>
  cmd(`contract:${a.contractId}`, SAGA_COMMANDS.createContract, {
    contractId: a.contractId,
    jobId: s.jobId,
    applicationId: a.applicationId,
    hirerId: s.hirerId,
    workerId: a.workerId,
    title: s.title,
    amountMinor: a.amountMinor,
    currency: a.currency,
    milestones: a.milestones,
  });

const others = (s: JobFillingState, a: Acceptance): string[] => s.applications.filter((id) => id !== a.applicationId);

export function jobFillingSaga(): SagaDefinition<JobFillingState, JobFillingEvent> {
  return {
    name: JOB_FILLING_SAGA,
    topics: ['marketplace.job', 'marketplace.application'],
    correlationId: (event) => event.data.jobId,
    // An application may be seen before its job's events (two topics): it starts the record as well.
    starts: (event) => ['JobPosted', 'ApplicationSubmitted', 'JobFilled'].includes(event.eventType),
    initialState: (jobId) => ({
      jobId,
      hirerId: '',
      title: '',
      applications: [],
      acceptance: null,
      accepted: false,
      reopenedFor: [],
    }),

    react(s, event): Reaction<JobFillingState> | null {
      switch (event.eventType) {
        case 'JobPosted':
        case 'JobUpdated': {
          const hirerId = event.eventType === 'JobPosted' ? event.data.hirerId : s.hirerId;
          return { state: { ...s, hirerId, title: event.data.title } };
        }
        case 'ApplicationSubmitted': {
          const { applicationId } = event.data;
          if (s.applications.includes(applicationId)) return null;
          const next = {
            ...s,
            hirerId: s.hirerId || event.data.hirerId,
            applications: [...s.applications, applicationId],
          };
          const a = next.acceptance;
          if (a && next.accepted && applicationId !== a.applicationId) {
            return {
              state: next,
              commands: [notSelectedCommand(applicationId, a)],
              note: 'late applicant: not selected',
            };
          }
          return { state: next };
        }
        case 'JobFilled': {
          const d = event.data;
          if (s.acceptance?.applicationId === d.applicationId) return null;
          const acceptance: Acceptance = {
            applicationId: d.applicationId,
            workerId: d.workerId,
            contractId: d.contractId,
            amountMinor: d.amountMinor,
            currency: d.currency,
            milestones: d.milestones,
          };
          const next = { ...s, hirerId: d.hirerId, acceptance, accepted: false };
          return {
            state: next,
            commands: [acceptCommand(acceptance)],
            note: `job filled by application ${d.applicationId}: accepting it`,
          };
        }
        case 'ApplicationAccepted': {
          const a = s.acceptance;
          if (!a || a.applicationId !== event.data.applicationId || s.accepted) return null;
          const next = { ...s, accepted: true };
          return {
            state: next,
            commands: [contractCommand(next, a), ...others(next, a).map((id) => notSelectedCommand(id, a))],
            note: `application accepted: making contract ${a.contractId}, telling ${others(next, a).length} others`,
          };
        }
        case 'JobReopened':
          return s.acceptance?.applicationId === event.data.applicationId
            ? { state: { ...s, acceptance: null, accepted: false }, note: 'job reopened' }
            : null;
        default:
          return null;
      }
    },

    onDeadline: () => null,

    onCommandFailed(s, failure): Reaction<JobFillingState> | null {
      const a = s.acceptance;
      if (failure.kind === SAGA_COMMANDS.accept && a && failure.step === `accept:${a.applicationId}`) {
        // Refused for good (withdrawn between the hirer's accept and this step): the job takes applications again.
        return {
          state: { ...s, reopenedFor: [...s.reopenedFor, a.applicationId] },
          commands: [
            cmd(`reopen:${a.applicationId}`, SAGA_COMMANDS.reopen, {
              jobId: s.jobId,
              applicationId: a.applicationId,
              reason: `the application could not be accepted: ${failure.error}`,
            }),
          ],
          note: `accepting ${a.applicationId} failed (${failure.error}): reopening the job`,
        };
      }
      return { state: s, note: `${failure.step} failed: needs attention`, retryable: true };
    },

    status(s) {
      if (s.acceptance === null) return s.reopenedFor.length > 0 ? 'REOPENED' : 'OPEN';
      return s.accepted ? 'CONTRACTED' : 'ACCEPTING';
    },
  };
}
