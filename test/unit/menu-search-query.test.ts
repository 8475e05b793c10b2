import type { estypes } from '@elastic/elasticsearch';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { MenuItemDoc } from '../../projections/ordering/menu-search.js';
import {
  buildMenuSearchRequest,
  InvalidMenuSearchError,
  type MenuSearchParams,
  type MenuSearchQuerystring,
  menuSearchQuerystringSchema,
  parseMenuSearchQuerystring,
  toMenuSearchResult,
} from '../../queries/ordering/menu-search.js';

const ALIAS = 'menu-items';

const filtersOf = (params: MenuSearchParams): estypes.QueryDslQueryContainer[] => {
  const filter = buildMenuSearchRequest(ALIAS, params).query?.bool?.filter;
  if (!Array.isArray(filter)) throw new Error('expected a filter array');
  return filter;
};

describe('buildMenuSearchRequest', () => {
  it('with no parameters lists every item not removed, by name, first page of 20', () => {
    expect(buildMenuSearchRequest(ALIAS, {})).toEqual({
      index: ALIAS,
      query: { bool: { filter: [{ term: { removed: false } }] } },
      sort: [{ 'name.keyword': { order: 'asc' } }, { menuItemId: { order: 'asc' } }],
      from: 0,
      size: 20,
      track_total_hits: true,
    });
  });

  it('searches name (boosted) and description with typo tolerance, ranked by score then name', () => {
    const request = buildMenuSearchRequest(ALIAS, { q: '  margerita  ' });
    expect(request.query?.bool?.must).toEqual([
      {
        multi_match: { query: 'margerita', fields: ['name^3', 'description'], fuzziness: 'AUTO', prefix_length: 1 },
      },
    ]);
    expect(request.sort).toEqual(['_score', { 'name.keyword': { order: 'asc' } }, { menuItemId: { order: 'asc' } }]);
  });

  it('treats a blank q as no text query', () => {
    expect(buildMenuSearchRequest(ALIAS, { q: '   ' }).query?.bool?.must).toBeUndefined();
  });

  it('filters by cuisine (term) and maximum price (inclusive range)', () => {
    expect(filtersOf({ cuisine: 'Italian', maxPriceMinor: 1200 })).toEqual([
      { term: { removed: false } },
      { term: { cuisine: 'Italian' } },
      { range: { priceMinor: { lte: 1200 } } },
    ]);
  });

  it('keeps a zero maximum price (free items) instead of dropping the filter', () => {
    expect(filtersOf({ maxPriceMinor: 0 })).toContainEqual({ range: { priceMinor: { lte: 0 } } });
  });

  it('available=true means available, restaurant open and not removed', () => {
    expect(filtersOf({ available: true })).toEqual([
      { term: { removed: false } },
      { term: { available: true } },
      { term: { restaurantOpen: true } },
    ]);
  });

  it('available=false means not orderable now: unavailable or restaurant closed', () => {
    expect(filtersOf({ available: false })).toEqual([
      { term: { removed: false } },
      {
        bool: {
          should: [{ term: { available: false } }, { term: { restaurantOpen: false } }],
          minimum_should_match: 1,
        },
      },
    ]);
  });

  it('pages with limit and offset', () => {
    const request = buildMenuSearchRequest(ALIAS, { limit: 5, offset: 10 });
    expect([request.from, request.size]).toEqual([10, 5]);
  });

  it.each([
    { limit: 0 },
    { limit: 101 },
    { limit: 2.5 },
    { offset: -1 },
    { offset: 9_990, limit: 20 },
    { maxPriceMinor: -1 },
    { maxPriceMinor: 1.5 },
    { q: 'x'.repeat(201) },
  ] satisfies MenuSearchParams[])('refuses out-of-range parameters %j', (params) => {
    expect(() => buildMenuSearchRequest(ALIAS, params)).toThrow(InvalidMenuSearchError);
  });
});

describe('toMenuSearchResult', () => {
  const doc: MenuItemDoc = {
    menuItemId: 'm1',
    restaurantId: 'r1',
    restaurantName: 'Forno',
    cuisine: 'Italian',
    name: 'Margherita',
    description: 'tomato',
    priceMinor: 900,
    currency: 'EUR',
    available: true,
    removed: false,
    restaurantOpen: true,
    updatedAt: '2025-01-01T00:00:00.000Z',
  };

  it('returns the documents with their score and the exact total', () => {
    const response = {
      took: 1,
      timed_out: false,
      _shards: { total: 1, successful: 1, failed: 0 },
      hits: {
        total: { value: 1, relation: 'eq' as const },
        hits: [{ _index: 'i', _id: 'm1', _score: 1.5, _source: doc }],
      },
    } satisfies estypes.SearchResponse<MenuItemDoc>;
    expect(toMenuSearchResult(response)).toEqual({ items: [{ ...doc, score: 1.5 }], total: 1 });
  });

  it('has a null score when sorted by name only', () => {
    const response = {
      took: 1,
      timed_out: false,
      _shards: { total: 1, successful: 1, failed: 0 },
      hits: { total: 1, hits: [{ _index: 'i', _id: 'm1', _score: null, _source: doc }] },
    } satisfies estypes.SearchResponse<MenuItemDoc>;
    expect(toMenuSearchResult(response).items[0]?.score).toBeNull();
  });
});

describe('the querystring schema under the gateway validator (no type coercion)', () => {
  const app = async () => {
    const fastify = Fastify({
      ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, useDefaults: false } },
    });
    fastify.get<{ Querystring: MenuSearchQuerystring }>(
      '/search',
      { schema: { querystring: menuSearchQuerystringSchema } },
      async (request) => parseMenuSearchQuerystring(request.query),
    );
    return fastify;
  };

  it('accepts every parameter as text and parses it into typed params', async () => {
    const fastify = await app();
    const response = await fastify.inject({
      url: '/search?q=pizza&cuisine=Italian&maxPriceMinor=1500&available=true&limit=10&offset=20',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      q: 'pizza',
      cuisine: 'Italian',
      maxPriceMinor: 1500,
      available: true,
      limit: 10,
      offset: 20,
    });
    await fastify.close();
  });

  it.each([
    'limit=0',
    'limit=101',
    'limit=ten',
    'offset=-1',
    'offset=10001',
    'maxPriceMinor=1.5',
    'available=yes',
    'sort=name',
    'q=',
  ])('refuses %s', async (qs) => {
    const fastify = await app();
    expect((await fastify.inject({ url: `/search?${qs}` })).statusCode).toBe(400);
    await fastify.close();
  });
});
