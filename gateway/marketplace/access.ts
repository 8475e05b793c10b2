import type { Principal } from '../tokens.js';

// Who may see what of the marketplace (README, Marketplace "Access"). Everyone else is told it does not exist
// (404), never that it is forbidden, so ids cannot be probed.

/** A job's applications: its hirer (and admins). */
export const canSeeJobApplications = (p: Principal, job: { hirerId: string }): boolean =>
  p.role === 'admin' || job.hirerId === p.accountId;

/** A job: anyone signed in while it runs; a cancelled job only its hirer and admins. */
export const canSeeJob = (p: Principal, job: { hirerId: string; status: string }): boolean =>
  job.status !== 'CANCELLED' || canSeeJobApplications(p, job);

/** An application: its worker, its job's hirer, admins. */
export const canSeeApplication = (p: Principal, a: { hirerId: string; workerId: string }): boolean =>
  p.role === 'admin' || a.workerId === p.accountId || a.hirerId === p.accountId;

/** A contract: its two parties, admins. */
export const canSeeContract = canSeeApplication;
