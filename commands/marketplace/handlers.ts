import { randomUUID } from 'node:crypto';
import type { Milestone, ReviewSide } from '../../schemas/marketplace/events.js';
import { executeAuthorised } from '../authorised.js';
import { DomainError } from '../decider.js';
import type { CommandContext, CommandExecutor, CommandResult } from '../executor.js';
import { applications, contracts, jobs, profiles } from './aggregates.js';
import {
  type Application,
  type ApplicationCommand,
  applicationDecided,
  applicationDecider,
  applicationIdFor,
  applicationNotFound,
} from './application.js';
import { type Contract, type ContractCommand, contractDecider, contractNotFound, sideOf } from './contract.js';
import { type Job, type JobCommand, type JobDetails, jobDecider, jobNotFound, type MilestoneTerms } from './job.js';
import { MarketplaceMoneyCommands } from './money-handlers.js';
import { type HirerProfile, profileDecider, type WorkerProfile } from './profile.js';

// The marketplace's command handlers: each loads what its decider needs, checks the caller may see what it acts
// on, decides, appends. Inputs arrive validated against the gateway's JSON schemas.
//
// Access (README, Marketplace): a job is its hirer's, an application its worker's and its job's hirer's, a
// contract its two parties'. To anyone else each answers exactly as a missing one (404 with the decider's own
// not-found body), so ids cannot be probed. Calls without a role come from inside the system (the accept-
// application process, demo data); admins may moderate (hide reviews, cancel jobs and contracts).

export type WorkerProfileInput = Omit<WorkerProfile, 'workerId'>;
export type HirerProfileInput = Omit<HirerProfile, 'hirerId'>;
export type PostJobInput = JobDetails & { jobId?: string };
export type UpdateJobInput = JobDetails & { jobId: string };
export interface ApplyInput {
  jobId: string;
  coverLetter: string;
  proposedAmountMinor: number;
  currency: string;
}
export interface AcceptApplicationInput {
  applicationId: string;
  milestones: MilestoneTerms[];
}

const isInternal = (ctx: CommandContext): boolean => ctx.role === undefined;
const isTrusted = (ctx: CommandContext): boolean => isInternal(ctx) || ctx.role === 'admin';

const ownJob = (ctx: CommandContext) => (job: Job) => {
  if (job.status !== 'none' && !isTrusted(ctx) && job.hirerId !== ctx.actor) throw jobNotFound(job.jobId);
};

/** The application's worker (`worker`) or its job's hirer (`hirer`) may act on it; others are told it is missing. */
const partyToApplication = (ctx: CommandContext, side: 'worker' | 'hirer') => (application: Application) => {
  if (application.status === 'none' || isInternal(ctx)) return;
  const party = side === 'worker' ? application.workerId : application.hirerId;
  if (party !== ctx.actor) throw applicationNotFound(application.applicationId);
};

const partyToContract = (ctx: CommandContext) => (contract: Contract) => {
  if (contract.status === 'none' || isTrusted(ctx)) return;
  if (sideOf(contract, ctx.actor) === null) throw contractNotFound(contract.contractId);
};

export class MarketplaceCommands {
  /** Escrow, disputes, wallets and payouts (money-handlers.ts). */
  readonly money: MarketplaceMoneyCommands;

  constructor(private readonly executor: CommandExecutor) {
    this.money = new MarketplaceMoneyCommands(executor);
  }

  setWorkerProfile(input: WorkerProfileInput, ctx: CommandContext): Promise<CommandResult> {
    const data = { ...input, workerId: ctx.actor };
    return this.executor.execute(
      profiles,
      ctx.actor,
      (state, now) => profileDecider.decide({ type: 'SetWorkerProfile', data }, state, { now }),
      ctx,
    );
  }

  setHirerProfile(input: HirerProfileInput, ctx: CommandContext): Promise<CommandResult> {
    const data = { ...input, hirerId: ctx.actor };
    return this.executor.execute(
      profiles,
      ctx.actor,
      (state, now) => profileDecider.decide({ type: 'SetHirerProfile', data }, state, { now }),
      ctx,
    );
  }

  postJob(input: PostJobInput, ctx: CommandContext): Promise<CommandResult> {
    const { jobId = randomUUID(), ...details } = input;
    return this.executor.execute(
      jobs,
      jobId,
      (state, now) => {
        // Another hirer's job id is taken; which hirer's, or whether it still runs, is not the caller's to learn.
        if (state.status !== 'none' && state.hirerId !== ctx.actor) {
          throw new DomainError('conflict', 'JOB_ID_TAKEN', `job id ${jobId} cannot be used; choose another`, {
            jobId,
          });
        }
        return jobDecider.decide({ type: 'PostJob', data: { jobId, hirerId: ctx.actor, details } }, state, { now });
      },
      ctx,
    );
  }

  /** Edit an open job; `If-Match` pins the version the hirer edited (a concurrent edit is then a 409). */
  updateJob(input: UpdateJobInput, ctx: CommandContext): Promise<CommandResult> {
    const { jobId, ...details } = input;
    return this.onJob({ type: 'UpdateJob', data: { jobId, details } }, ctx);
  }

  closeJob(input: { jobId: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.onJob({ type: 'CloseJob', data: input }, ctx);
  }

  cancelJob(input: { jobId: string; reason: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.onJob({ type: 'CancelJob', data: input }, ctx);
  }

  /** Internal: the accept-application process reopens a job whose accepted application was withdrawn meanwhile. */
  reopenJob(input: { jobId: string; applicationId: string; reason: string }, ctx: CommandContext) {
    return this.onJob({ type: 'ReopenJob', data: input }, ctx);
  }

  private onJob(command: JobCommand, ctx: CommandContext): Promise<CommandResult> {
    const { jobId } = command.data;
    return executeAuthorised(
      this.executor,
      jobs,
      jobId,
      ctx,
      ownJob(ctx),
      () => jobNotFound(jobId),
      (state, now) => jobDecider.decide(command, state, { now }),
    );
  }

  /** A worker applies; the application's id is derived from (job, worker), so a second one is the same stream. */
  apply(input: ApplyInput, ctx: CommandContext): Promise<CommandResult> {
    const applicationId = applicationIdFor(input.jobId, ctx.actor);
    const data = { ...input, workerId: ctx.actor };
    return this.executor.execute(
      applications,
      applicationId,
      async (state, now) => {
        const job = (await this.executor.load(jobs, input.jobId)).state;
        return applicationDecider.decide({ type: 'SubmitApplication', data }, state, { now, job });
      },
      ctx,
    );
  }

  withdrawApplication(input: { applicationId: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.onApplication({ type: 'WithdrawApplication', data: input }, 'worker', ctx);
  }

  shortlistApplication(input: { applicationId: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.onApplication({ type: 'ShortlistApplication', data: input }, 'hirer', ctx);
  }

  rejectApplication(input: { applicationId: string; reason: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.onApplication({ type: 'RejectApplication', data: input }, 'hirer', ctx);
  }

  /** Internal: the accept-application process records the acceptance the job decided. */
  recordAcceptance(input: { applicationId: string; contractId: string }, ctx: CommandContext) {
    return this.onApplication({ type: 'AcceptApplication', data: input }, 'hirer', ctx);
  }

  /** Internal: the accept-application process tells another applicant. */
  markNotSelected(input: { applicationId: string; contractId: string }, ctx: CommandContext) {
    return this.onApplication({ type: 'MarkApplicationNotSelected', data: input }, 'hirer', ctx);
  }

  private onApplication(
    command: ApplicationCommand & { data: { applicationId: string } },
    side: 'worker' | 'hirer',
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const { applicationId } = command.data;
    return executeAuthorised(
      this.executor,
      applications,
      applicationId,
      ctx,
      partyToApplication(ctx, side),
      () => applicationNotFound(applicationId),
      (state, now) => applicationDecider.decide(command, state, { now }),
    );
  }

  /**
   * The hirer accepts an application with the milestones of the contract. Decided on the job's stream (a job is
   * filled once, so two concurrent accepts cannot both win); the accept-application process then accepts the
   * application, makes the contract (its id is the application's) and tells the other applicants.
   */
  async acceptApplication(input: AcceptApplicationInput, ctx: CommandContext): Promise<CommandResult> {
    const { applicationId } = input;
    const application = (await this.executor.load(applications, applicationId)).state;
    if (application.status === 'none') throw applicationNotFound(applicationId);
    partyToApplication(ctx, 'hirer')(application);
    if (application.status !== 'SUBMITTED' && application.status !== 'SHORTLISTED') {
      throw applicationDecided(application, 'be accepted');
    }
    const { jobId, workerId, proposedAmountMinor, currency } = application;
    return this.executor.execute(
      jobs,
      jobId,
      (state, now) =>
        jobDecider.decide(
          {
            type: 'FillJob',
            data: {
              jobId,
              applicationId,
              workerId,
              contractId: applicationId,
              amountMinor: proposedAmountMinor,
              currency,
              milestones: input.milestones,
            },
          },
          state,
          { now },
        ),
      ctx,
    );
  }

  /** Internal: the accept-application process makes the contract of a filled job. */
  createContract(
    data: Extract<ContractCommand, { type: 'CreateContract' }>['data'] & { milestones: readonly Milestone[] },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.executor.execute(
      contracts,
      data.contractId,
      (state, now) => contractDecider.decide({ type: 'CreateContract', data }, state, { now }),
      ctx,
    );
  }

  submitMilestone(input: { contractId: string; milestoneId: string; note: string }, ctx: CommandContext) {
    return this.onContract({ type: 'SubmitMilestone', data: { ...input, by: ctx.actor } }, ctx);
  }

  approveMilestone(input: { contractId: string; milestoneId: string }, ctx: CommandContext) {
    return this.onContract({ type: 'ApproveMilestone', data: { ...input, by: ctx.actor } }, ctx);
  }

  requestMilestoneChanges(input: { contractId: string; milestoneId: string; reason: string }, ctx: CommandContext) {
    return this.onContract({ type: 'RequestMilestoneChanges', data: { ...input, by: ctx.actor } }, ctx);
  }

  cancelContract(input: { contractId: string; reason: string }, ctx: CommandContext) {
    return this.onContract(
      { type: 'CancelContract', data: { ...input, by: ctx.actor, asAdmin: ctx.role === 'admin' } },
      ctx,
    );
  }

  reviewContract(input: { contractId: string; rating: number; text: string }, ctx: CommandContext) {
    return this.onContract({ type: 'ReviewContract', data: { ...input, by: ctx.actor } }, ctx);
  }

  hideReview(input: { contractId: string; side: ReviewSide; reason: string }, ctx: CommandContext) {
    return this.onContract({ type: 'HideReview', data: { ...input, by: ctx.actor } }, ctx);
  }

  private onContract(command: ContractCommand, ctx: CommandContext): Promise<CommandResult> {
    const { contractId } = command.data;
    return executeAuthorised(
      this.executor,
      contracts,
      contractId,
      ctx,
      partyToContract(ctx),
      () => contractNotFound(contractId),
      (state, now) => contractDecider.decide(command, state, { now }),
    );
  }
}
