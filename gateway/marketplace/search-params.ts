import type { JobSearchParams, NearParams, WorkerSearchParams } from '../../queries/marketplace/search.js';
import { normaliseSkills } from '../../schemas/marketplace/vocabulary.js';
import { HttpError } from '../errors.js';

// The search routes' querystrings: every value a string with a pattern (the validator does not coerce types),
// parsed here into the search parameters. Patterns are linear-time (gateway/schema-parts.ts).

const int = { type: 'string', pattern: '^(0|[1-9][0-9]{0,9})$' } as const;
const decimal = { type: 'string', pattern: '^-?[0-9]{1,3}([.][0-9]{1,8})?$' } as const;
const common = {
  q: { type: 'string', minLength: 1, maxLength: 200 },
  // Comma-separated skill names, normalised as profiles and jobs store them.
  skills: { type: 'string', maxLength: 500, pattern: '^[^,]+(,[^,]+)*$' },
  currency: { type: 'string', pattern: '^[A-Z]{3}$' },
  lat: decimal,
  lon: decimal,
  radiusKm: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
  limit: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$' },
  offset: { type: 'string', pattern: '^(0|[1-9][0-9]{0,3})$' },
} as const;

export const jobSearchQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...common,
    budgetMin: int,
    budgetMax: int,
    remote: { type: 'string', enum: ['true', 'false'] },
    sort: { type: 'string', enum: ['best', 'newest'] },
  },
} as const;

export const workerSearchQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...common,
    rateMin: int,
    rateMax: int,
    minRating: { type: 'string', pattern: '^[1-5]([.][0-9]{1,2})?$' },
  },
} as const;

export type SearchQuerystring = Partial<Record<string, string>>;

const invalid = (message: string) => new HttpError(400, 'INVALID_SEARCH_PARAMS', message);

function nearOf(q: SearchQuerystring): NearParams | undefined {
  if (q.lat === undefined && q.lon === undefined) {
    if (q.radiusKm !== undefined) throw invalid('radiusKm needs lat and lon');
    return undefined;
  }
  if (q.lat === undefined || q.lon === undefined) throw invalid('lat and lon go together');
  const lat = Number(q.lat);
  const lon = Number(q.lon);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) throw invalid('lat must be -90..90 and lon -180..180');
  return { lat, lon, ...(q.radiusKm !== undefined && { radiusKm: Number(q.radiusKm) }) };
}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

function range(low: string | undefined, high: string | undefined, name: string) {
  const [min, max] = [num(low), num(high)];
  if (min !== undefined && max !== undefined && min > max) throw invalid(`${name}: the minimum exceeds the maximum`);
  return [min, max] as const;
}

function paging(q: SearchQuerystring) {
  const limit = num(q.limit) ?? 20;
  const offset = num(q.offset) ?? 0;
  if (offset + limit > 10_000) throw invalid('offset + limit may not pass 10,000');
  return { limit, offset };
}

const searchBasics = (q: SearchQuerystring) => ({
  ...(q.q !== undefined && { q: q.q }),
  ...(q.skills !== undefined && { skills: normaliseSkills(q.skills.split(',')) }),
  ...(q.currency !== undefined && { currency: q.currency }),
  near: nearOf(q),
  ...paging(q),
});

export function parseJobSearch(q: SearchQuerystring): JobSearchParams {
  const [budgetMinMinor, budgetMaxMinor] = range(q.budgetMin, q.budgetMax, 'budget');
  return {
    ...searchBasics(q),
    budgetMinMinor,
    budgetMaxMinor,
    ...(q.remote !== undefined && { remote: q.remote === 'true' }),
    ...(q.sort !== undefined && { sort: q.sort as 'best' | 'newest' }),
  };
}

export function parseWorkerSearch(q: SearchQuerystring): WorkerSearchParams {
  const [rateMinMinor, rateMaxMinor] = range(q.rateMin, q.rateMax, 'rate');
  const minRating = num(q.minRating);
  if (minRating !== undefined && minRating > 5) throw invalid('minRating is 1..5');
  return { ...searchBasics(q), rateMinMinor, rateMaxMinor, minRating };
}
