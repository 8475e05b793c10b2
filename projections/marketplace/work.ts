import type { Knex } from 'knex';
import { asContract, type ProjectedEvent } from '../../runtime/consumer/types.js';
import { createOnce } from '../../runtime/postgres.js';
import type { ApplicationEvent, ContractEvent, JobEvent } from '../../schemas/marketplace/events.js';
import type { PostgresReadModel } from '../runtime/postgres.js';
import { timelineEntryOf } from './timeline.js';

// The marketplace's work read model (PostgreSQL): jobs, applications, contracts with their milestones and
// timeline. The dashboards and the contract detail read it (queries/marketplace/work.ts). Every event carries the
// parties it concerns, so each is applied on its own row without reading any other read model.

export const WORK_PROJECTION = 'marketplace.work';
export const WORK_VERSION = 1;

export const workTables = (version: number) => ({
  jobs: `marketplace_jobs_v${version}`,
  applications: `marketplace_applications_v${version}`,
  contracts: `marketplace_contracts_v${version}`,
  milestones: `marketplace_milestones_v${version}`,
  timeline: `marketplace_contract_timeline_v${version}`,
});

export type WorkTables = ReturnType<typeof workTables>;

type WorkEvent = JobEvent | ApplicationEvent | ContractEvent;

export function workReadModel(version: number): PostgresReadModel {
  const t = workTables(version);
  return {
    name: WORK_PROJECTION,
    version,
    topics: ['marketplace.job', 'marketplace.application', 'marketplace.contract'],
    async createTables(db) {
      await createOnce(
        db,
        t.jobs,
        `
          CREATE TABLE IF NOT EXISTS ${t.jobs} (
            job_id text PRIMARY KEY,
            hirer_id text NOT NULL,
            title text NOT NULL,
            status text NOT NULL,
            skills text[] NOT NULL,
            budget jsonb NOT NULL,
            deadline date NOT NULL,
            remote boolean NOT NULL,
            location jsonb,
            contract_id text,
            posted_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            version integer NOT NULL
          );
          CREATE INDEX IF NOT EXISTS ${t.jobs}_hirer ON ${t.jobs} (hirer_id, posted_at DESC);
          CREATE TABLE IF NOT EXISTS ${t.applications} (
            application_id text PRIMARY KEY,
            job_id text NOT NULL,
            hirer_id text NOT NULL,
            worker_id text NOT NULL,
            status text NOT NULL,
            cover_letter text NOT NULL,
            proposed_amount_minor bigint NOT NULL,
            currency text NOT NULL,
            contract_id text,
            reason text,
            submitted_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            version integer NOT NULL
          );
          CREATE INDEX IF NOT EXISTS ${t.applications}_job ON ${t.applications} (job_id, submitted_at);
          CREATE INDEX IF NOT EXISTS ${t.applications}_worker ON ${t.applications} (worker_id, submitted_at DESC);
          CREATE TABLE IF NOT EXISTS ${t.contracts} (
            contract_id text PRIMARY KEY,
            job_id text NOT NULL,
            application_id text NOT NULL,
            hirer_id text NOT NULL,
            worker_id text NOT NULL,
            title text NOT NULL,
            status text NOT NULL,
            amount_minor bigint NOT NULL,
            approved_minor bigint NOT NULL DEFAULT 0,
            currency text NOT NULL,
            cancellation_requested_by text,
            created_at timestamptz NOT NULL,
            completed_at timestamptz,
            cancelled_at timestamptz,
            updated_at timestamptz NOT NULL,
            version integer NOT NULL
          );
          CREATE INDEX IF NOT EXISTS ${t.contracts}_hirer ON ${t.contracts} (hirer_id, status);
          CREATE INDEX IF NOT EXISTS ${t.contracts}_worker ON ${t.contracts} (worker_id, status);
          CREATE TABLE IF NOT EXISTS ${t.milestones} (
            contract_id text NOT NULL,
            milestone_id text NOT NULL,
            position integer NOT NULL,
            title text NOT NULL,
            amount_minor bigint NOT NULL,
            due_date date NOT NULL,
            status text NOT NULL,
            submitted_at timestamptz,
            approved_at timestamptz,
            PRIMARY KEY (contract_id, milestone_id)
          );
          CREATE TABLE IF NOT EXISTS ${t.timeline} (
            contract_id text NOT NULL,
            stream_version integer NOT NULL,
            event_type text NOT NULL,
            milestone_id text,
            actor_id text,
            detail text NOT NULL,
            at timestamptz NOT NULL,
            PRIMARY KEY (contract_id, stream_version)
          );
        `,
      );
    },
    async dropTables(db) {
      await db.raw(`DROP TABLE IF EXISTS ${t.jobs}, ${t.applications}, ${t.contracts}, ${t.milestones}, ${t.timeline}`);
    },
    async apply(trx, events) {
      for (const event of asContract<WorkEvent>(events)) await applyEvent(trx, t, event);
    },
  };
}

async function applyEvent(trx: Knex.Transaction, t: WorkTables, event: ProjectedEvent<WorkEvent>): Promise<void> {
  const stamp = { version: event.streamVersion, updated_at: event.recordedAt };
  switch (event.eventType) {
    case 'JobPosted':
    case 'JobUpdated': {
      const d = event.data;
      const details = {
        title: d.title,
        skills: d.skills,
        budget: JSON.stringify(d.budget),
        deadline: d.deadline,
        remote: d.remote,
        location: d.location ? JSON.stringify(d.location) : null,
        ...stamp,
      };
      if (event.eventType === 'JobPosted') {
        await trx(t.jobs)
          .insert({
            job_id: d.jobId,
            hirer_id: event.data.hirerId,
            status: 'OPEN',
            posted_at: event.data.postedAt,
            ...details,
          })
          .onConflict('job_id')
          .merge();
      } else {
        await trx(t.jobs).where('job_id', d.jobId).update(details);
      }
      return;
    }
    case 'JobClosed':
      await trx(t.jobs)
        .where('job_id', event.data.jobId)
        .update({ status: 'CLOSED', ...stamp });
      return;
    case 'JobCancelled':
      await trx(t.jobs)
        .where('job_id', event.data.jobId)
        .update({ status: 'CANCELLED', ...stamp });
      return;
    case 'JobFilled':
      await trx(t.jobs)
        .where('job_id', event.data.jobId)
        .update({ status: 'FILLED', contract_id: event.data.contractId, ...stamp });
      return;
    case 'JobReopened':
      await trx(t.jobs)
        .where('job_id', event.data.jobId)
        .update({ status: 'OPEN', contract_id: null, ...stamp });
      return;
    case 'ApplicationSubmitted': {
      const d = event.data;
      await trx(t.applications)
        .insert({
          application_id: d.applicationId,
          job_id: d.jobId,
          hirer_id: d.hirerId,
          worker_id: d.workerId,
          status: 'SUBMITTED',
          cover_letter: d.coverLetter,
          proposed_amount_minor: d.proposedAmountMinor,
          currency: d.currency,
          submitted_at: d.submittedAt,
          ...stamp,
        })
        .onConflict('application_id')
        .merge();
      return;
    }
    case 'ApplicationWithdrawn':
    case 'ApplicationShortlisted':
    case 'ApplicationRejected':
    case 'ApplicationAccepted':
    case 'ApplicationNotSelected': {
      const status = APPLICATION_STATUS_OF[event.eventType];
      const extra =
        event.eventType === 'ApplicationRejected'
          ? { reason: event.data.reason }
          : event.eventType === 'ApplicationAccepted' || event.eventType === 'ApplicationNotSelected'
            ? { contract_id: event.data.contractId }
            : {};
      await trx(t.applications)
        .where('application_id', event.data.applicationId)
        .update({ status, ...extra, ...stamp });
      return;
    }
    default:
      await applyContractEvent(trx, t, event, stamp);
  }
}

const APPLICATION_STATUS_OF = {
  ApplicationWithdrawn: 'WITHDRAWN',
  ApplicationShortlisted: 'SHORTLISTED',
  ApplicationRejected: 'REJECTED',
  ApplicationAccepted: 'ACCEPTED',
  ApplicationNotSelected: 'NOT_SELECTED',
} as const;

async function applyContractEvent(
  trx: Knex.Transaction,
  t: WorkTables,
  event: ProjectedEvent<WorkEvent>,
  stamp: { version: number; updated_at: string },
): Promise<void> {
  const entry = timelineEntryOf(event);
  if (entry) {
    await trx(t.timeline)
      .insert({ ...entry, stream_version: event.streamVersion, at: event.recordedAt })
      .onConflict(['contract_id', 'stream_version'])
      .ignore();
  }
  switch (event.eventType) {
    case 'ContractCreated': {
      const d = event.data;
      await trx(t.contracts)
        .insert({
          contract_id: d.contractId,
          job_id: d.jobId,
          application_id: d.applicationId,
          hirer_id: d.hirerId,
          worker_id: d.workerId,
          title: d.title,
          status: 'FUNDING',
          amount_minor: d.amountMinor,
          currency: d.currency,
          created_at: d.createdAt,
          ...stamp,
        })
        .onConflict('contract_id')
        .merge();
      await trx(t.milestones)
        .insert(
          d.milestones.map((m, position) => ({
            contract_id: d.contractId,
            milestone_id: m.milestoneId,
            position,
            title: m.title,
            amount_minor: m.amountMinor,
            due_date: m.dueDate,
            status: 'PENDING',
          })),
        )
        .onConflict(['contract_id', 'milestone_id'])
        .merge();
      return;
    }
    case 'MilestoneSubmitted':
    case 'MilestoneChangesRequested':
    case 'MilestoneApproved': {
      const { contractId, milestoneId } = event.data;
      const change =
        event.eventType === 'MilestoneSubmitted'
          ? { status: 'SUBMITTED', submitted_at: event.recordedAt }
          : event.eventType === 'MilestoneApproved'
            ? { status: 'APPROVED', approved_at: event.recordedAt }
            : { status: 'CHANGES_REQUESTED' };
      await trx(t.milestones).where({ contract_id: contractId, milestone_id: milestoneId }).update(change);
      const contract = trx(t.contracts).where('contract_id', contractId);
      await (event.eventType === 'MilestoneApproved'
        ? contract.update({ approved_minor: trx.raw('approved_minor + ?', [event.data.amountMinor]), ...stamp })
        : contract.update(stamp));
      return;
    }
    case 'ContractCompleted':
      await trx(t.contracts)
        .where('contract_id', event.data.contractId)
        .update({
          status: 'COMPLETED',
          completed_at: event.data.completedAt,
          cancellation_requested_by: null,
          ...stamp,
        });
      return;
    case 'ContractCancellationRequested':
      await trx(t.contracts)
        .where('contract_id', event.data.contractId)
        .update({ cancellation_requested_by: event.data.requestedBy, ...stamp });
      return;
    case 'ContractCancelled':
      await trx(t.contracts)
        .where('contract_id', event.data.contractId)
        .update({
          status: 'CANCELLED',
          cancelled_at: event.data.cancelledAt,
          cancellation_requested_by: null,
          ...stamp,
        });
      return;
    case 'ContractStarted':
      await trx(t.contracts)
        .where('contract_id', event.data.contractId)
        .update({ status: 'ACTIVE', ...stamp });
      return;
    case 'ContractNotStarted':
      await trx(t.contracts)
        .where('contract_id', event.data.contractId)
        .update({ status: 'NOT_STARTED', cancellation_requested_by: null, ...stamp });
      return;
    case 'ContractReviewed':
    case 'ReviewHidden':
      await trx(t.contracts).where('contract_id', event.data.contractId).update(stamp);
      return;
  }
}
