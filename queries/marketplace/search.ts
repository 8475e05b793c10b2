import type { Client, estypes } from '@elastic/elasticsearch';
import type { JobDoc, WorkerDoc } from '../../projections/marketplace/search/documents.js';
import { searchAlias } from '../../projections/marketplace/search/mapping.js';

// Job and worker search over the marketplace search aliases. The requests are built by pure functions, so what a
// filter means is unit-tested without a search engine. Parameters arrive validated by the routes' schemas.

export interface NearParams {
  readonly lat: number;
  readonly lon: number;
  /** Radius in kilometres (default 50). */
  readonly radiusKm?: number;
}

export interface JobSearchParams {
  readonly q?: string;
  /** Every one of these skills (normalised names). */
  readonly skills?: readonly string[];
  /** Budgets overlapping this range (minor units). */
  readonly budgetMinMinor?: number;
  readonly budgetMaxMinor?: number;
  readonly currency?: string;
  /** true: remote jobs only; false: on-site only. */
  readonly remote?: boolean;
  readonly near?: NearParams;
  /** `best` (relevance, the default with `q`) or `newest` (the default without). */
  readonly sort?: 'best' | 'newest';
  readonly limit?: number;
  readonly offset?: number;
}

export interface WorkerSearchParams {
  readonly q?: string;
  readonly skills?: readonly string[];
  readonly rateMinMinor?: number;
  readonly rateMaxMinor?: number;
  readonly currency?: string;
  /** Minimum Bayesian rating (1..5). */
  readonly minRating?: number;
  readonly near?: NearParams;
  readonly limit?: number;
  readonly offset?: number;
}

export interface SearchResult<Doc> {
  readonly items: (Doc & { score: number | null; distanceKm: number | null })[];
  readonly total: number;
}

const DEFAULT_RADIUS_KM = 50;
type Query = estypes.QueryDslQueryContainer;

const skillFilters = (skills: readonly string[] | undefined): Query[] =>
  (skills ?? []).map((skill) => ({ term: { skills: skill } }));

const nearFilter = (near: NearParams | undefined): Query[] =>
  near
    ? [
        {
          geo_distance: {
            distance: `${near.radiusKm ?? DEFAULT_RADIUS_KM}km`,
            point: { lat: near.lat, lon: near.lon },
          },
        },
      ]
    : [];

/** Sorting by distance when a point is given makes each hit carry its distance (in km) as a sort value. */
const distanceSort = (near: NearParams | undefined): estypes.SortCombinations[] =>
  near ? [{ _geo_distance: { point: { lat: near.lat, lon: near.lon }, order: 'asc', unit: 'km' } }] : [];

const page = (p: { limit?: number; offset?: number }) => ({ from: p.offset ?? 0, size: p.limit ?? 20 });

export function buildJobSearchRequest(alias: string, p: JobSearchParams): estypes.SearchRequest {
  const text = p.q?.trim() ?? '';
  const filter: Query[] = [{ term: { status: 'OPEN' } }, ...skillFilters(p.skills), ...nearFilter(p.near)];
  // A budget overlaps the asked range when it starts at or below its top and ends at or above its bottom.
  if (p.budgetMaxMinor !== undefined) filter.push({ range: { budgetMinMinor: { lte: p.budgetMaxMinor } } });
  if (p.budgetMinMinor !== undefined) filter.push({ range: { budgetMaxMinor: { gte: p.budgetMinMinor } } });
  if (p.currency) filter.push({ term: { currency: p.currency } });
  if (p.remote !== undefined) filter.push({ term: { remote: p.remote } });
  const must: Query[] = text
    ? [
        {
          multi_match: {
            query: text,
            fields: ['title^3', 'description', 'skills^2'],
            fuzziness: 'AUTO',
            prefix_length: 1,
          },
        },
      ]
    : [];
  const byRelevance = jobsByRelevance(p);
  return {
    index: alias,
    query: { bool: must.length ? { filter, must } : { filter } },
    sort: [
      ...(byRelevance ? ['_score' as const] : []),
      ...distanceSort(p.near),
      { postedAt: { order: 'desc' } },
      { jobId: { order: 'asc' } },
    ],
    ...page(p),
    track_total_hits: true,
  };
}

export function buildWorkerSearchRequest(alias: string, p: WorkerSearchParams): estypes.SearchRequest {
  const text = p.q?.trim() ?? '';
  const filter: Query[] = [...skillFilters(p.skills), ...nearFilter(p.near)];
  if (p.rateMinMinor !== undefined || p.rateMaxMinor !== undefined) {
    filter.push({ range: { hourlyRateMinor: { gte: p.rateMinMinor, lte: p.rateMaxMinor } } });
  }
  if (p.currency) filter.push({ term: { currency: p.currency } });
  if (p.minRating !== undefined) filter.push({ range: { rating: { gte: p.minRating } } });
  const must: Query[] = text
    ? [{ multi_match: { query: text, fields: ['headline^3', 'bio', 'skills^2'], fuzziness: 'AUTO', prefix_length: 1 } }]
    : [];
  return {
    index: alias,
    query: { bool: must.length ? { filter, must } : { filter } },
    sort: [
      ...(text ? ['_score' as const] : []),
      ...distanceSort(p.near),
      { rating: { order: 'desc' } },
      { workerId: { order: 'asc' } },
    ],
    ...page(p),
    track_total_hits: true,
  };
}

/** Where the distance is among a hit's sort values: after the score when sorted by relevance first. */
const distanceAt = (near: NearParams | undefined, byRelevance: boolean): number | null =>
  near ? (byRelevance ? 1 : 0) : null;
const jobsByRelevance = (p: JobSearchParams): boolean => Boolean(p.q?.trim()) && (p.sort ?? 'best') === 'best';

function resultOf<Doc>(response: estypes.SearchResponse<Doc>, distanceIndex: number | null): SearchResult<Doc> {
  const total = response.hits.total;
  const items = response.hits.hits.flatMap((hit) => {
    if (!hit._source) return [];
    const distance = distanceIndex === null ? undefined : hit.sort?.[distanceIndex];
    return [
      {
        ...hit._source,
        score: typeof hit._score === 'number' ? hit._score : null,
        distanceKm: typeof distance === 'number' ? Math.round(distance * 10) / 10 : null,
      },
    ];
  });
  return { items, total: typeof total === 'number' ? total : (total?.value ?? 0) };
}

/** Before the projector's first run there is no index yet: nothing to find, not a failure. */
async function orEmpty<Doc>(run: () => Promise<SearchResult<Doc>>): Promise<SearchResult<Doc>> {
  try {
    return await run();
  } catch (error) {
    const type = (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
    if (type === 'index_not_found_exception') return { items: [], total: 0 };
    throw error;
  }
}

export function marketplaceSearch(search: Client, prefix: string) {
  const jobs = searchAlias(prefix, 'jobs');
  const workers = searchAlias(prefix, 'workers');
  return {
    jobs: (p: JobSearchParams) =>
      orEmpty(async () =>
        resultOf(await search.search<JobDoc>(buildJobSearchRequest(jobs, p)), distanceAt(p.near, jobsByRelevance(p))),
      ),
    workers: (p: WorkerSearchParams) =>
      orEmpty(async () =>
        resultOf(
          await search.search<WorkerDoc>(buildWorkerSearchRequest(workers, p)),
          distanceAt(p.near, Boolean(p.q?.trim())),
        ),
      ),
  };
}

export type MarketplaceSearch = ReturnType<typeof marketplaceSearch>;
