import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProfileQueries } from '../../queries/marketplace/profiles.js';
import type { MarketplaceSearch } from '../../queries/marketplace/search.js';
import type { WorkQueries } from '../../queries/marketplace/work.js';
import type { PositionWaiter } from '../../queries/read-your-writes.js';
import { ROLES, type Role } from '../../runtime/roles.js';
import { principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import { position as after, id } from '../schema-parts.js';
import { canSeeApplication, canSeeContract, canSeeJob, canSeeJobApplications } from './access.js';
import {
  jobSearchQuerystring,
  parseJobSearch,
  parseWorkerSearch,
  type SearchQuerystring,
  workerSearchQuerystring,
} from './search-params.js';

// GET /queries/marketplace/...: the dashboards, a job, its applications, an application, a contract with its
// milestone timeline, a profile with its reputation. `?after=<position>` waits for the caller's own write.

type ProjectionRef = () => Promise<{ name: string; version: number; topics: readonly string[] }>;

export interface MarketplaceQueryDeps {
  readonly search: MarketplaceSearch;
  readonly work: WorkQueries;
  readonly profiles: ProfileQueries;
  readonly waiter: PositionWaiter;
  readonly workProjection: ProjectionRef;
  readonly profilesProjection: ProjectionRef;
}

/** Jobs and profiles are public to anyone signed in (search lists them). */
const EVERYONE: readonly Role[] = ROLES;
const byId = (name: string) => ({ type: 'object', required: [name], properties: { [name]: id } }) as const;
const afterOnly = { type: 'object', additionalProperties: false, properties: { after } } as const;

const notFound = (code: string, what: string, value: string) =>
  new HttpError(404, code, `${what} ${value} does not exist`, {});

export function marketplaceQueriesPlugin(deps: MarketplaceQueryDeps) {
  const waitIfAsked = async (request: FastifyRequest, projection: ProjectionRef) => {
    const position = (request.query as { after?: number }).after;
    if (position !== undefined) await deps.waiter.waitFor(position, await projection());
  };

  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: SearchQuerystring }>(
      '/marketplace/search/jobs',
      { config: { roles: EVERYONE }, schema: { querystring: jobSearchQuerystring } },
      async (request) => deps.search.jobs(parseJobSearch(request.query)),
    );

    app.get<{ Querystring: SearchQuerystring }>(
      '/marketplace/search/workers',
      { config: { roles: EVERYONE }, schema: { querystring: workerSearchQuerystring } },
      async (request) => deps.search.workers(parseWorkerSearch(request.query)),
    );

    app.get(
      '/marketplace/dashboard/hirer',
      { config: { roles: ['hirer'] }, schema: { querystring: afterOnly } },
      async (request) => {
        await waitIfAsked(request, deps.workProjection);
        return deps.work.hirerDashboard(principalOf(request).accountId);
      },
    );

    app.get(
      '/marketplace/dashboard/worker',
      { config: { roles: ['worker'] }, schema: { querystring: afterOnly } },
      async (request) => {
        await waitIfAsked(request, deps.workProjection);
        return deps.work.workerDashboard(principalOf(request).accountId);
      },
    );

    app.get<{ Params: { jobId: string } }>(
      '/marketplace/jobs/:jobId',
      { config: { roles: EVERYONE }, schema: { params: byId('jobId'), querystring: afterOnly } },
      async (request) => {
        await waitIfAsked(request, deps.workProjection);
        const principal = principalOf(request);
        const job = await deps.work.job(request.params.jobId);
        if (!job || !canSeeJob(principal, job)) throw notFound('JOB_NOT_FOUND', 'job', request.params.jobId);
        // Application counts are the hirer's business only.
        return canSeeJobApplications(principal, job)
          ? { ...job, applications: await deps.work.applicationCounts(job.jobId) }
          : job;
      },
    );

    app.get<{ Params: { jobId: string } }>(
      '/marketplace/jobs/:jobId/applications',
      { config: { roles: ['hirer', 'admin'] }, schema: { params: byId('jobId'), querystring: afterOnly } },
      async (request) => {
        await waitIfAsked(request, deps.workProjection);
        const job = await deps.work.job(request.params.jobId);
        if (!job || !canSeeJobApplications(principalOf(request), job)) {
          throw notFound('JOB_NOT_FOUND', 'job', request.params.jobId);
        }
        return { jobId: job.jobId, items: await deps.work.jobApplications(job.jobId) };
      },
    );

    app.get<{ Params: { applicationId: string } }>(
      '/marketplace/applications/:applicationId',
      {
        config: { roles: ['hirer', 'worker', 'admin'] },
        schema: { params: byId('applicationId'), querystring: afterOnly },
      },
      async (request) => {
        await waitIfAsked(request, deps.workProjection);
        const application = await deps.work.application(request.params.applicationId);
        if (!application || !canSeeApplication(principalOf(request), application)) {
          throw notFound('APPLICATION_NOT_FOUND', 'application', request.params.applicationId);
        }
        return application;
      },
    );

    app.get<{ Params: { contractId: string } }>(
      '/marketplace/contracts/:contractId',
      {
        config: { roles: ['hirer', 'worker', 'admin'] },
        schema: { params: byId('contractId'), querystring: afterOnly },
      },
      async (request) => {
        await waitIfAsked(request, deps.workProjection);
        const contract = await deps.work.contract(request.params.contractId);
        if (!contract || !canSeeContract(principalOf(request), contract)) {
          throw notFound('CONTRACT_NOT_FOUND', 'contract', request.params.contractId);
        }
        return contract;
      },
    );

    app.get<{ Params: { accountId: string } }>(
      '/marketplace/profiles/:accountId',
      {
        config: { roles: EVERYONE },
        schema: {
          params: byId('accountId'),
          querystring: afterOnly,
        },
      },
      async (request) => {
        await waitIfAsked(request, deps.profilesProjection);
        const profile = await deps.profiles.profile(request.params.accountId);
        if (!profile) throw notFound('PROFILE_NOT_FOUND', 'profile', request.params.accountId);
        return profile;
      },
    );
  };
}
