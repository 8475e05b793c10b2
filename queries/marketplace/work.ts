import type { Knex } from 'knex';
import { workTables } from '../../projections/marketplace/work.js';
import type { ApplicationStatus } from '../../schemas/marketplace/vocabulary.js';

// Read-only queries over the marketplace's work read model (projections/marketplace/work.ts). Access is the
// gateway's check (gateway/marketplace/access.ts): these answer for whoever the route already let through.

const iso = (v: Date | string | null): string | null => (v === null ? null : v instanceof Date ? v.toISOString() : v);
const day = (v: Date | string): string => (v instanceof Date ? v.toISOString().slice(0, 10) : v.slice(0, 10));
const LIST_LIMIT = 50;

export interface JobView {
  readonly jobId: string;
  readonly hirerId: string;
  readonly title: string;
  readonly status: string;
  readonly skills: string[];
  readonly budget: unknown;
  readonly deadline: string;
  readonly remote: boolean;
  readonly location: unknown;
  readonly contractId: string | null;
  readonly postedAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

export interface ApplicationView {
  readonly applicationId: string;
  readonly jobId: string;
  readonly hirerId: string;
  readonly workerId: string;
  readonly status: ApplicationStatus;
  readonly coverLetter: string;
  readonly proposedAmountMinor: number;
  readonly currency: string;
  readonly contractId: string | null;
  readonly reason: string | null;
  readonly submittedAt: string;
  readonly updatedAt: string;
}

export interface ContractSummary {
  readonly contractId: string;
  readonly jobId: string;
  readonly hirerId: string;
  readonly workerId: string;
  readonly title: string;
  readonly status: string;
  readonly amountMinor: number;
  readonly approvedMinor: number;
  readonly currency: string;
  readonly cancellationRequestedBy: string | null;
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly cancelledAt: string | null;
}

type Row = Record<string, unknown>;

const jobView = (r: Row): JobView => ({
  jobId: r.job_id as string,
  hirerId: r.hirer_id as string,
  title: r.title as string,
  status: r.status as string,
  skills: r.skills as string[],
  budget: r.budget,
  deadline: day(r.deadline as Date | string),
  remote: r.remote as boolean,
  location: r.location,
  contractId: r.contract_id as string | null,
  postedAt: iso(r.posted_at as Date)!,
  updatedAt: iso(r.updated_at as Date)!,
  version: r.version as number,
});

const applicationView = (r: Row): ApplicationView => ({
  applicationId: r.application_id as string,
  jobId: r.job_id as string,
  hirerId: r.hirer_id as string,
  workerId: r.worker_id as string,
  status: r.status as ApplicationStatus,
  coverLetter: r.cover_letter as string,
  proposedAmountMinor: Number(r.proposed_amount_minor),
  currency: r.currency as string,
  contractId: r.contract_id as string | null,
  reason: r.reason as string | null,
  submittedAt: iso(r.submitted_at as Date)!,
  updatedAt: iso(r.updated_at as Date)!,
});

const contractSummary = (r: Row): ContractSummary => ({
  contractId: r.contract_id as string,
  jobId: r.job_id as string,
  hirerId: r.hirer_id as string,
  workerId: r.worker_id as string,
  title: r.title as string,
  status: r.status as string,
  amountMinor: Number(r.amount_minor),
  approvedMinor: Number(r.approved_minor),
  currency: r.currency as string,
  cancellationRequestedBy: r.cancellation_requested_by as string | null,
  createdAt: iso(r.created_at as Date)!,
  completedAt: iso(r.completed_at as Date | null),
  cancelledAt: iso(r.cancelled_at as Date | null),
});

/** Counts by status, every status present once it has one. */
const countsOf = (rows: { status: string; n: number | string }[]): Record<string, number> =>
  Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));

export class WorkQueries {
  constructor(
    private readonly db: Knex,
    private readonly version: () => Promise<number>,
  ) {}

  private async tables() {
    return workTables(await this.version());
  }

  async job(jobId: string): Promise<JobView | null> {
    const t = await this.tables();
    const row = await this.db(t.jobs).where('job_id', jobId).first();
    return row ? jobView(row) : null;
  }

  async applicationCounts(jobId: string): Promise<Record<string, number>> {
    const t = await this.tables();
    return countsOf(
      await this.db(t.applications).where('job_id', jobId).select('status').count({ n: '*' }).groupBy('status'),
    );
  }

  async jobApplications(jobId: string): Promise<ApplicationView[]> {
    const t = await this.tables();
    const rows = await this.db(t.applications)
      .where('job_id', jobId)
      .orderBy([{ column: 'submitted_at' }, { column: 'application_id' }]);
    return rows.map(applicationView);
  }

  async application(applicationId: string): Promise<ApplicationView | null> {
    const t = await this.tables();
    const row = await this.db(t.applications).where('application_id', applicationId).first();
    return row ? applicationView(row) : null;
  }

  /** A contract with its milestones in order and its timeline, oldest first. */
  async contract(contractId: string) {
    const t = await this.tables();
    const row = await this.db(t.contracts).where('contract_id', contractId).first();
    if (!row) return null;
    const [milestones, timeline] = await Promise.all([
      this.db(t.milestones).where('contract_id', contractId).orderBy('position'),
      this.db(t.timeline).where('contract_id', contractId).orderBy('stream_version'),
    ]);
    return {
      ...contractSummary(row),
      milestones: milestones.map((m: Row) => ({
        milestoneId: m.milestone_id as string,
        title: m.title as string,
        amountMinor: Number(m.amount_minor),
        dueDate: day(m.due_date as Date | string),
        status: m.status as string,
        submittedAt: iso(m.submitted_at as Date | null),
        approvedAt: iso(m.approved_at as Date | null),
      })),
      timeline: timeline.map((e: Row) => ({
        eventType: e.event_type as string,
        milestoneId: e.milestone_id as string | null,
        actorId: e.actor_id as string | null,
        detail: e.detail as string,
        at: iso(e.at as Date)!,
      })),
    };
  }

  /** The hirer's latest jobs with their applications counted by status, active contracts, milestones to review. */
  async hirerDashboard(hirerId: string) {
    const t = await this.tables();
    const jobs = await this.db(t.jobs).where('hirer_id', hirerId).orderBy('posted_at', 'desc').limit(LIST_LIMIT);
    const counts: { job_id: string; status: string; n: number | string }[] = jobs.length
      ? await this.db(t.applications)
          .whereIn(
            'job_id',
            jobs.map((j: Row) => j.job_id as string),
          )
          .select('job_id', 'status')
          .count({ n: '*' })
          .groupBy('job_id', 'status')
      : [];
    const activeContracts = await this.db(t.contracts)
      .where({ hirer_id: hirerId, status: 'ACTIVE' })
      .orderBy('created_at', 'desc')
      .limit(LIST_LIMIT);
    const awaiting = await this.db(`${t.milestones} as m`)
      .join(`${t.contracts} as c`, 'c.contract_id', 'm.contract_id')
      .where({ 'c.hirer_id': hirerId, 'c.status': 'ACTIVE', 'm.status': 'SUBMITTED' })
      .orderBy('m.submitted_at')
      .select('m.contract_id', 'm.milestone_id', 'm.title', 'm.amount_minor', 'm.submitted_at', 'c.currency');
    return {
      hirerId,
      jobs: jobs.map((j: Row) => ({
        ...jobView(j),
        applications: countsOf(counts.filter((c) => c.job_id === j.job_id)),
      })),
      activeContracts: activeContracts.map(contractSummary),
      milestonesAwaitingApproval: awaiting.map((m: Row) => ({
        contractId: m.contract_id as string,
        milestoneId: m.milestone_id as string,
        title: m.title as string,
        amountMinor: Number(m.amount_minor),
        currency: m.currency as string,
        submittedAt: iso(m.submitted_at as Date)!,
      })),
    };
  }

  /**
   * The worker's applications (counted by status, the latest listed), active contracts, and earnings: what
   * approved milestones earned per currency. `pendingMinor` is all of it until the escrow context (issue #16)
   * records releases.
   */
  async workerDashboard(workerId: string) {
    const t = await this.tables();
    const [byStatus, applications, activeContracts, earned] = await Promise.all([
      this.db(t.applications).where('worker_id', workerId).select('status').count({ n: '*' }).groupBy('status'),
      this.db(t.applications).where('worker_id', workerId).orderBy('submitted_at', 'desc').limit(LIST_LIMIT),
      this.db(t.contracts)
        .where({ worker_id: workerId, status: 'ACTIVE' })
        .orderBy('created_at', 'desc')
        .limit(LIST_LIMIT),
      this.db(t.contracts)
        .where('worker_id', workerId)
        .whereIn('status', ['ACTIVE', 'COMPLETED', 'CANCELLED'])
        .select('currency')
        .sum({ approved: 'approved_minor' })
        .groupBy('currency'),
    ]);
    return {
      workerId,
      applicationsByStatus: countsOf(byStatus as { status: string; n: number }[]),
      applications: applications.map(applicationView),
      activeContracts: activeContracts.map(contractSummary),
      earnings: (earned as { currency: string; approved: string | number }[])
        .filter((e) => Number(e.approved) > 0)
        .map((e) => ({ currency: e.currency, approvedMinor: Number(e.approved), pendingMinor: Number(e.approved) })),
    };
  }
}
