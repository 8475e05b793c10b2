import { describe, expect, it } from 'vitest';
import { parseJobSearch, parseWorkerSearch } from '../../../gateway/marketplace/search-params.js';
import { evolveJobDoc, ratingChange, type SearchEvent } from '../../../projections/marketplace/search/documents.js';
import { buildJobSearchRequest, buildWorkerSearchRequest } from '../../../queries/marketplace/search.js';
import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import { JOB_ID, jobDetails } from './fixtures.js';

const sortOf = (request: ReturnType<typeof buildJobSearchRequest>) => request.sort as unknown[];
const filters = (request: ReturnType<typeof buildJobSearchRequest>) =>
  (request.query as { bool: { filter: unknown[] } }).bool.filter;

describe('job search requests', () => {
  it('finds only open jobs, with every skill, whose budget overlaps the range, near the point', () => {
    const request = buildJobSearchRequest('jobs', {
      skills: ['tiling', 'plumbing'],
      budgetMinMinor: 1000,
      budgetMaxMinor: 5000,
      near: { lat: 38.7, lon: -9.1, radiusKm: 10 },
    });
    expect(filters(request)).toEqual([
      { term: { status: 'OPEN' } },
      { term: { skills: 'tiling' } },
      { term: { skills: 'plumbing' } },
      { geo_distance: { distance: '10km', point: { lat: 38.7, lon: -9.1 } } },
      { range: { budgetMinMinor: { lte: 5000 } } },
      { range: { budgetMaxMinor: { gte: 1000 } } },
    ]);
    expect(request.sort).toEqual([
      { _geo_distance: { point: { lat: 38.7, lon: -9.1 }, order: 'asc', unit: 'km' } },
      { postedAt: { order: 'desc' } },
      { jobId: { order: 'asc' } },
    ]);
  });

  it('sorts by best match with text, newest when asked', () => {
    expect(sortOf(buildJobSearchRequest('jobs', { q: 'tiles' }))[0]).toBe('_score');
    expect(sortOf(buildJobSearchRequest('jobs', { q: 'tiles', sort: 'newest' }))[0]).toEqual({
      postedAt: { order: 'desc' },
    });
  });
});

describe('worker search requests', () => {
  it('filters on the rate range, the minimum rating and the currency', () => {
    const request = buildWorkerSearchRequest('workers', {
      rateMinMinor: 2000,
      rateMaxMinor: 4000,
      minRating: 4,
      currency: 'EUR',
    });
    expect(filters(request)).toEqual([
      { range: { hourlyRateMinor: { gte: 2000, lte: 4000 } } },
      { term: { currency: 'EUR' } },
      { range: { rating: { gte: 4 } } },
    ]);
  });
});

describe('search querystrings', () => {
  it('normalises skills and reads a point', () => {
    expect(parseJobSearch({ skills: 'Node JS,tiling', lat: '38.7', lon: '-9.1', radiusKm: '5' })).toMatchObject({
      skills: ['node-js', 'tiling'],
      near: { lat: 38.7, lon: -9.1, radiusKm: 5 },
    });
  });

  it.each([
    [{ lat: '38.7' }, 'lat and lon go together'],
    [{ lat: '91', lon: '0' }, 'lat must be'],
    [{ radiusKm: '5' }, 'radiusKm needs lat and lon'],
    [{ budgetMin: '9', budgetMax: '2' }, 'minimum exceeds'],
    [{ offset: '9999', limit: '20' }, '10,000'],
  ])('refuses %j with INVALID_SEARCH_PARAMS', (query, message) => {
    expect(() => parseJobSearch(query)).toThrow(
      expect.objectContaining({ code: 'INVALID_SEARCH_PARAMS', message: expect.stringContaining(message) }),
    );
  });

  it('refuses a minimum rating above five', () => {
    expect(() => parseWorkerSearch({ minRating: '5.5' })).toThrow(
      expect.objectContaining({ code: 'INVALID_SEARCH_PARAMS' }),
    );
  });
});

describe('search documents', () => {
  const ev = (eventType: string, data: object) =>
    ({ eventType, data, recordedAt: '2026-06-01T12:00:00.000Z' }) as unknown as ProjectedEvent<SearchEvent>;

  it('keeps a job with its status, so a filled job stops being found but keeps its version', () => {
    const posted = evolveJobDoc(null, ev('JobPosted', { jobId: JOB_ID, hirerId: 'h', ...jobDetails(), postedAt: 'p' }));
    expect(posted).toMatchObject({ status: 'OPEN', point: { lat: 38.72, lon: -9.14 }, budgetMaxMinor: 300_000 });
    expect(evolveJobDoc(posted, ev('JobFilled', { jobId: JOB_ID }))).toMatchObject({ status: 'FILLED' });
    expect(evolveJobDoc(null, ev('JobClosed', { jobId: JOB_ID }))).toBeNull();
  });

  it('counts only hirers’ reviews toward a worker’s search rating', () => {
    const review = (reviewerSide: string) =>
      ratingChange(ev('ContractReviewed', { contractId: 'c', revieweeId: 'w', reviewerSide, rating: 4 }));
    expect(review('HIRER')).toEqual({ workerId: 'w', contractId: 'c', rating: 4 });
    expect(review('WORKER')).toBeNull();
  });
});
