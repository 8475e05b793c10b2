import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import type { ContractEvent, JobEvent, Location, ProfileEvent } from '../../../schemas/marketplace/events.js';
import { bayesianScore } from '../../../schemas/marketplace/vocabulary.js';

// Pure: the search documents of jobs and workers and how events change them. No I/O: read-model.ts loads the
// staged documents of a batch, folds the batch with these, and writes back what changed.

export interface GeoPoint {
  readonly lat: number;
  readonly lon: number;
}

export interface JobDoc {
  readonly jobId: string;
  readonly hirerId: string;
  readonly title: string;
  readonly description: string;
  readonly skills: readonly string[];
  readonly budgetKind: string;
  readonly budgetMinMinor: number;
  readonly budgetMaxMinor: number;
  readonly currency: string;
  readonly remote: boolean;
  readonly city: string | null;
  readonly country: string | null;
  readonly point: GeoPoint | null;
  /** Only OPEN jobs are found; the others stay as documents so their version keeps stale writes out. */
  readonly status: string;
  readonly postedAt: string;
  readonly updatedAt: string;
}

export interface WorkerDoc {
  readonly workerId: string;
  readonly headline: string;
  readonly bio: string;
  readonly skills: readonly string[];
  readonly hourlyRateMinor: number;
  readonly currency: string;
  readonly city: string;
  readonly country: string;
  readonly point: GeoPoint | null;
  readonly availability: string;
  /** Bayesian reputation of the visible reviews the worker received. */
  readonly rating: number;
  readonly reviewCount: number;
  readonly updatedAt: string;
}

/** A worker's reputation as staged: kept even before a profile exists (a review may come first). */
export interface RatingTotals {
  readonly ratingSum: number;
  readonly count: number;
}

export type SearchEvent = JobEvent | ProfileEvent | ContractEvent;

const pointOf = (location: Location | null): GeoPoint | null =>
  location && location.lat !== null && location.lon !== null ? { lat: location.lat, lon: location.lon } : null;

/** The job after `event` (null before JobPosted). */
export function evolveJobDoc(doc: JobDoc | null, event: ProjectedEvent<SearchEvent>): JobDoc | null {
  const at = event.recordedAt;
  switch (event.eventType) {
    case 'JobPosted':
    case 'JobUpdated': {
      const d = event.data;
      const base =
        event.eventType === 'JobPosted' ? { hirerId: event.data.hirerId, postedAt: event.data.postedAt } : doc;
      if (!base) return null;
      return {
        jobId: d.jobId,
        hirerId: base.hirerId,
        title: d.title,
        description: d.description,
        skills: d.skills,
        budgetKind: d.budget.kind,
        budgetMinMinor: d.budget.minMinor,
        budgetMaxMinor: d.budget.maxMinor,
        currency: d.budget.currency,
        remote: d.remote,
        city: d.location?.city ?? null,
        country: d.location?.country ?? null,
        point: pointOf(d.location),
        status: doc?.status ?? 'OPEN',
        postedAt: base.postedAt,
        updatedAt: at,
      };
    }
    case 'JobClosed':
      return doc && { ...doc, status: 'CLOSED', updatedAt: at };
    case 'JobCancelled':
      return doc && { ...doc, status: 'CANCELLED', updatedAt: at };
    case 'JobFilled':
      return doc && { ...doc, status: 'FILLED', updatedAt: at };
    case 'JobReopened':
      return doc && { ...doc, status: 'OPEN', updatedAt: at };
    default:
      return doc;
  }
}

/** The worker's document after a profile event, with the reputation staged for them. */
export function workerDocOf(event: ProjectedEvent<ProfileEvent>, totals: RatingTotals): WorkerDoc | null {
  if (event.eventType !== 'WorkerProfileUpdated') return null;
  const d = event.data;
  return {
    workerId: d.workerId,
    headline: d.headline,
    bio: d.bio,
    skills: d.skills,
    hourlyRateMinor: d.hourlyRateMinor,
    currency: d.currency,
    city: d.location.city,
    country: d.location.country,
    point: pointOf(d.location),
    availability: d.availability,
    ...ratingFields(totals),
    updatedAt: event.recordedAt,
  };
}

export const ratingFields = (totals: RatingTotals) => ({
  rating: bayesianScore(totals.ratingSum, totals.count),
  reviewCount: totals.count,
});

/**
 * What a contract event changes in a worker's reputation: a review by the hirer adds its rating, hiding it
 * removes it (the rating comes from the staged review). Reviews of hirers are not in worker search.
 */
export function ratingChange(
  event: ProjectedEvent<SearchEvent>,
): { workerId: string; contractId: string; rating?: number; hide?: true } | null {
  if (event.eventType === 'ContractReviewed' && event.data.reviewerSide === 'HIRER') {
    return { workerId: event.data.revieweeId, contractId: event.data.contractId, rating: event.data.rating };
  }
  if (event.eventType === 'ReviewHidden' && event.data.reviewerSide === 'HIRER') {
    return { workerId: event.data.revieweeId, contractId: event.data.contractId, hide: true };
  }
  return null;
}
