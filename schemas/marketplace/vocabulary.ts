// Words of the marketplace contract that both sides of the CQRS split read: deciders decide with them, read
// models store and filter by them, clients see them.

export const JOB_STATUSES = ['OPEN', 'CLOSED', 'FILLED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const APPLICATION_STATUSES = [
  'SUBMITTED',
  'SHORTLISTED',
  'ACCEPTED',
  'REJECTED',
  'WITHDRAWN',
  'NOT_SELECTED',
] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];
/** An application in one of these is decided: nothing moves it again. */
export const FINAL_APPLICATION_STATUSES: readonly ApplicationStatus[] = [
  'ACCEPTED',
  'REJECTED',
  'WITHDRAWN',
  'NOT_SELECTED',
];

/** FUNDING until the escrow holds the contract amount; NOT_STARTED if it never did (final, as COMPLETED and CANCELLED). */
export const CONTRACT_STATUSES = ['FUNDING', 'ACTIVE', 'COMPLETED', 'CANCELLED', 'NOT_STARTED'] as const;
export type ContractStatus = (typeof CONTRACT_STATUSES)[number];

/**
 * Where a milestone's money is: waiting for the contract to be funded, held in escrow, on its way out by one of
 * three doors (release to the worker, refund to the hirer, an admin's split after a dispute), or gone through it.
 */
export const MILESTONE_MONEY_STATES = [
  'AWAITING_FUNDS',
  'HELD',
  'RELEASING',
  'RELEASED',
  'DISPUTED',
  'SETTLING',
  'SETTLED',
  'REFUNDING',
  'REFUNDED',
] as const;
export type MilestoneMoneyState = (typeof MILESTONE_MONEY_STATES)[number];

export const MILESTONE_STATUSES = ['PENDING', 'SUBMITTED', 'CHANGES_REQUESTED', 'APPROVED'] as const;
export type MilestoneStatus = (typeof MILESTONE_STATUSES)[number];

export const AVAILABILITIES = ['AVAILABLE', 'PART_TIME', 'UNAVAILABLE'] as const;
export const BUDGET_KINDS = ['FIXED', 'HOURLY'] as const;

/** Reviews are accepted for this long after the contract completed. */
export const REVIEW_WINDOW_DAYS = 14;
export const MIN_RATING = 1;
export const MAX_RATING = 5;
export const MAX_REVIEW_TEXT = 2000;

/**
 * The Bayesian prior of reputation: every account starts as if it had `PRIOR_WEIGHT` reviews averaging
 * `PRIOR_MEAN` stars, so one 5-star review does not outrank fifty 4.8s. score = (C·m + Σ ratings) / (C + n).
 */
export const REPUTATION_PRIOR_MEAN = 3.5;
export const REPUTATION_PRIOR_WEIGHT = 5;

export const bayesianScore = (ratingSum: number, count: number): number =>
  (REPUTATION_PRIOR_WEIGHT * REPUTATION_PRIOR_MEAN + ratingSum) / (REPUTATION_PRIOR_WEIGHT + count);

/** A skill as stored and searched: lower case, trimmed, inner spaces as one hyphen (`Node JS` → `node-js`). */
export const SKILL_PATTERN = /^[a-z0-9][a-z0-9+#.-]{0,39}$/;
export const MAX_SKILLS = 30;

export function normaliseSkill(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, '-');
}

/** The skills normalised, duplicates dropped, in first-seen order. */
export const normaliseSkills = (raw: readonly string[]): string[] => [...new Set(raw.map(normaliseSkill))];
