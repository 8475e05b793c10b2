import type { FastifyInstance } from 'fastify';
import type { CommandContext, CommandResult } from '../../commands/executor.js';
import type {
  AcceptApplicationInput,
  ApplyInput,
  HirerProfileInput,
  MarketplaceCommands,
  PostJobInput,
  UpdateJobInput,
  WorkerProfileInput,
} from '../../commands/marketplace/handlers.js';
import type { Role } from '../../runtime/roles.js';
import type { Location, ReviewSide } from '../../schemas/marketplace/events.js';
import { commandContext } from '../command-context.js';
import { id, paymentMethod, refuseRawCardNumber } from '../schema-parts.js';
import {
  amount,
  coverLetter,
  currency,
  hirerProfile,
  JOB_DETAILS_REQUIRED,
  jobDetails,
  milestones,
  obj,
  optionalText,
  rating,
  reviewText,
  text,
  workerProfile,
} from './schemas.js';

// POST /commands/marketplace/<command>: one route per command, each with its JSON schema and the roles that send
// it. Who may act on which job, application or contract is the handlers' check (404 for anyone else's).

const result = {
  type: 'object',
  properties: { streamId: { type: 'string' }, version: { type: 'integer' }, position: { type: 'integer' } },
} as const;

interface CommandRoute<Input> {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly created?: boolean;
  readonly schema: Record<string, unknown>;
  readonly run: (
    commands: MarketplaceCommands,
    input: Input,
    ctx: CommandContext,
    policy: MarketplaceCommandPolicy,
  ) => Promise<CommandResult>;
}

export interface MarketplaceCommandPolicy {
  /** Whether fund-contract takes the simulator's test card numbers besides payment method ids (never with Stripe). */
  readonly rawCardNumbers: boolean;
}

const route = <Input>(r: CommandRoute<Input>): CommandRoute<unknown> => r as CommandRoute<unknown>;
const HIRER: readonly Role[] = ['hirer'];
const WORKER: readonly Role[] = ['worker'];
const PARTIES: readonly Role[] = ['hirer', 'worker'];
const HIRER_OR_ADMIN: readonly Role[] = ['hirer', 'admin'];
const applicationIdOnly = obj(['applicationId'], { applicationId: id });
const milestone = { contractId: id, milestoneId: id };

export const marketplaceCommandRoutes: readonly CommandRoute<unknown>[] = [
  route<WorkerProfileInput>({
    name: 'set-worker-profile',
    roles: WORKER,
    schema: workerProfile,
    run: (c, input, ctx) =>
      c.setWorkerProfile(
        {
          ...input,
          bio: input.bio ?? '',
          location: { ...input.location, lat: input.location.lat ?? null, lon: input.location.lon ?? null },
          portfolio: (input.portfolio ?? []).map((p) => ({
            ...p,
            url: p.url ?? null,
            description: p.description ?? '',
          })),
          experience: (input.experience ?? []).map((e) => ({
            ...e,
            endDate: e.endDate ?? null,
            description: e.description ?? '',
          })),
        },
        ctx,
      ),
  }),
  route<HirerProfileInput>({
    name: 'set-hirer-profile',
    roles: HIRER,
    schema: hirerProfile,
    run: (c, input, ctx) =>
      c.setHirerProfile(
        { ...input, location: { ...input.location, lat: input.location.lat ?? null, lon: input.location.lon ?? null } },
        ctx,
      ),
  }),
  route<PostJobInput>({
    name: 'post-job',
    roles: HIRER,
    created: true,
    schema: obj(JOB_DETAILS_REQUIRED, { jobId: id, ...jobDetails }),
    run: (c, input, ctx) => c.postJob(withLocation(input), ctx),
  }),
  route<UpdateJobInput>({
    name: 'update-job',
    roles: HIRER,
    schema: obj(['jobId', ...JOB_DETAILS_REQUIRED], { jobId: id, ...jobDetails }),
    run: (c, input, ctx) => c.updateJob(withLocation(input), ctx),
  }),
  route<{ jobId: string }>({
    name: 'close-job',
    roles: HIRER,
    schema: obj(['jobId'], { jobId: id }),
    run: (c, input, ctx) => c.closeJob(input, ctx),
  }),
  route<{ jobId: string; reason: string }>({
    name: 'cancel-job',
    roles: HIRER_OR_ADMIN,
    schema: obj(['jobId', 'reason'], { jobId: id, reason: text(500) }),
    run: (c, input, ctx) => c.cancelJob(input, ctx),
  }),
  route<ApplyInput>({
    name: 'apply',
    roles: WORKER,
    created: true,
    schema: obj(['jobId', 'proposedAmountMinor', 'currency'], {
      jobId: id,
      coverLetter,
      proposedAmountMinor: amount,
      currency,
    }),
    run: (c, input, ctx) => c.apply({ ...input, coverLetter: input.coverLetter ?? '' }, ctx),
  }),
  route<{ applicationId: string }>({
    name: 'withdraw-application',
    roles: WORKER,
    schema: applicationIdOnly,
    run: (c, input, ctx) => c.withdrawApplication(input, ctx),
  }),
  route<{ applicationId: string }>({
    name: 'shortlist-application',
    roles: HIRER,
    schema: applicationIdOnly,
    run: (c, input, ctx) => c.shortlistApplication(input, ctx),
  }),
  route<{ applicationId: string; reason: string }>({
    name: 'reject-application',
    roles: HIRER,
    schema: obj(['applicationId'], { applicationId: id, reason: optionalText(500) }),
    run: (c, input, ctx) => c.rejectApplication({ ...input, reason: input.reason ?? '' }, ctx),
  }),
  route<AcceptApplicationInput>({
    name: 'accept-application',
    roles: HIRER,
    schema: obj(['applicationId', 'milestones'], { applicationId: id, milestones }),
    run: (c, input, ctx) => c.acceptApplication(input, ctx),
  }),
  route<{ contractId: string; milestoneId: string; note: string }>({
    name: 'submit-milestone',
    roles: WORKER,
    schema: obj(['contractId', 'milestoneId'], { ...milestone, note: optionalText(2000) }),
    run: (c, input, ctx) => c.submitMilestone({ ...input, note: input.note ?? '' }, ctx),
  }),
  route<{ contractId: string; milestoneId: string }>({
    name: 'approve-milestone',
    roles: HIRER,
    schema: obj(['contractId', 'milestoneId'], milestone),
    run: (c, input, ctx) => c.approveMilestone(input, ctx),
  }),
  route<{ contractId: string; milestoneId: string; reason: string }>({
    name: 'request-milestone-changes',
    roles: HIRER,
    schema: obj(['contractId', 'milestoneId', 'reason'], { ...milestone, reason: text(2000) }),
    run: (c, input, ctx) => c.requestMilestoneChanges(input, ctx),
  }),
  route<{ contractId: string; reason: string }>({
    name: 'cancel-contract',
    roles: [...PARTIES, 'admin'],
    schema: obj(['contractId', 'reason'], { contractId: id, reason: text(500) }),
    run: (c, input, ctx) => c.cancelContract(input, ctx),
  }),
  route<{ contractId: string; rating: number; text: string }>({
    name: 'review-contract',
    roles: PARTIES,
    created: true,
    schema: obj(['contractId', 'rating'], { contractId: id, rating, text: reviewText }),
    run: (c, input, ctx) => c.reviewContract({ ...input, text: input.text ?? '' }, ctx),
  }),
  route<{ contractId: string; side: ReviewSide; reason: string }>({
    name: 'hide-review',
    roles: ['admin'],
    schema: obj(['contractId', 'side', 'reason'], {
      contractId: id,
      side: { type: 'string', enum: ['HIRER', 'WORKER'] },
      reason: text(500),
    }),
    run: (c, input, ctx) => c.hideReview(input, ctx),
  }),
  route<{ contractId: string; paymentMethod: string }>({
    name: 'fund-contract',
    roles: HIRER,
    schema: obj(['contractId', 'paymentMethod'], { contractId: id, paymentMethod }),
    run: (c, input, ctx, policy) => {
      refuseRawCardNumber(input.paymentMethod, policy.rawCardNumbers);
      return c.money.fundContract(input, ctx);
    },
  }),
  route<{ contractId: string; milestoneId: string; reason: string }>({
    name: 'open-dispute',
    roles: PARTIES,
    schema: obj(['contractId', 'milestoneId', 'reason'], { ...milestone, reason: text(2000) }),
    run: (c, input, ctx) => c.money.openDispute(input, ctx),
  }),
  route<{ contractId: string; milestoneId: string; note: string }>({
    name: 'add-dispute-evidence',
    roles: [...PARTIES, 'admin'],
    schema: obj(['contractId', 'milestoneId', 'note'], { ...milestone, note: text(5000) }),
    run: (c, input, ctx) => c.money.addDisputeEvidence(input, ctx),
  }),
  route<{ contractId: string; milestoneId: string; workerMinor: number; hirerRefundMinor: number; note: string }>({
    name: 'resolve-dispute',
    roles: ['admin'],
    schema: obj(['contractId', 'milestoneId', 'workerMinor', 'hirerRefundMinor'], {
      ...milestone,
      workerMinor: { ...amount, minimum: 0 },
      hirerRefundMinor: { ...amount, minimum: 0 },
      note: optionalText(2000),
    }),
    run: (c, input, ctx) => c.money.resolveDispute({ ...input, note: input.note ?? '' }, ctx),
  }),
  route<{ amountMinor: number; payoutId?: string }>({
    name: 'request-payout',
    roles: WORKER,
    created: true,
    schema: obj(['amountMinor'], { amountMinor: amount, payoutId: id }),
    run: (c, input, ctx) => c.money.requestPayout(input, ctx),
  }),
];

/** A job's location as the events carry it: null when absent, coordinates null when not pinned. */
function withLocation<T extends { location?: Location | null }>(input: T): T & { location: Location | null } {
  const { location } = input;
  return {
    ...input,
    location: location ? { ...location, lat: location.lat ?? null, lon: location.lon ?? null } : null,
  };
}

export function marketplaceCommandsPlugin(commands: MarketplaceCommands, policy: MarketplaceCommandPolicy) {
  return async (app: FastifyInstance): Promise<void> => {
    for (const r of marketplaceCommandRoutes) {
      app.post(
        `/marketplace/${r.name}`,
        { schema: { body: r.schema, response: { 200: result, 201: result } }, config: { roles: r.roles } },
        async (request, reply) => {
          const out = await r.run(commands, request.body, commandContext(request, `marketplace/${r.name}`), policy);
          reply.header('etag', `"${out.version}"`);
          return reply.status(r.created ? 201 : 200).send(out);
        },
      );
    }
  };
}
