import type { Client, estypes } from '@elastic/elasticsearch';
import type { MenuItemDoc } from '../../projections/ordering/menu-search.js';
import { KindedError } from '../../runtime/errors.js';

// Menu search over the search read model's alias (projections/ordering/menu-search.ts). The request is built
// by a pure function, so what a filter means is unit-tested without a search engine.

export interface MenuSearchParams {
  /** Free text over the item's name (weighted) and description, typo-tolerant. */
  readonly q?: string;
  /** Exact cuisine, case-insensitive (the field has a lower-casing normalizer). */
  readonly cuisine?: string;
  readonly maxPriceMinor?: number;
  /** true: can be ordered now (available, restaurant open); false: cannot. Absent: both. */
  readonly available?: boolean;
  readonly limit?: number;
  readonly offset?: number;
}

export interface MenuItemHit extends MenuItemDoc {
  /** Relevance when `q` was given, otherwise null. */
  readonly score: number | null;
}

export interface MenuSearchResult {
  readonly items: MenuItemHit[];
  readonly total: number;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
/** Elasticsearch's default max_result_window: offset + limit may not pass it. */
export const MAX_WINDOW = 10_000;
export const MAX_QUERY_LENGTH = 200;

export class InvalidMenuSearchError extends KindedError {
  constructor(message: string) {
    super('invalid', 'INVALID_SEARCH_PARAMS', message);
  }
}

/**
 * The querystring as it arrives. Every value is a string with a pattern, because the gateway's validator does
 * not coerce types (`coerceTypes: false`): `type: 'integer'` would refuse `?limit=10`.
 * `parseMenuSearchQuerystring` turns a validated querystring into `MenuSearchParams`.
 */
export const menuSearchQuerystringSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', minLength: 1, maxLength: MAX_QUERY_LENGTH },
    cuisine: { type: 'string', minLength: 1, maxLength: 64 },
    maxPriceMinor: { type: 'string', pattern: '^(0|[1-9][0-9]{0,8})$' },
    available: { type: 'string', enum: ['true', 'false'] },
    limit: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$' },
    offset: { type: 'string', pattern: '^(0|[1-9][0-9]{0,3}|10000)$' },
  },
} as const;

export interface MenuSearchQuerystring {
  q?: string;
  cuisine?: string;
  maxPriceMinor?: string;
  available?: 'true' | 'false';
  limit?: string;
  offset?: string;
}

export function parseMenuSearchQuerystring(query: MenuSearchQuerystring): MenuSearchParams {
  return {
    ...(query.q !== undefined && { q: query.q }),
    ...(query.cuisine !== undefined && { cuisine: query.cuisine }),
    ...(query.maxPriceMinor !== undefined && { maxPriceMinor: Number(query.maxPriceMinor) }),
    ...(query.available !== undefined && { available: query.available === 'true' }),
    ...(query.limit !== undefined && { limit: Number(query.limit) }),
    ...(query.offset !== undefined && { offset: Number(query.offset) }),
  };
}

const isInt = (n: number): boolean => Number.isSafeInteger(n);

/** The search request for `params` against `alias`; throws InvalidMenuSearchError for values out of range. */
export function buildMenuSearchRequest(alias: string, params: MenuSearchParams): estypes.SearchRequest {
  const limit = params.limit ?? DEFAULT_LIMIT;
  const offset = params.offset ?? 0;
  if (!isInt(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidMenuSearchError(`limit must be an integer in 1..${MAX_LIMIT}`);
  }
  if (!isInt(offset) || offset < 0 || offset + limit > MAX_WINDOW) {
    throw new InvalidMenuSearchError(`offset must be an integer >= 0 with offset + limit <= ${MAX_WINDOW}`);
  }
  if (params.maxPriceMinor !== undefined && (!isInt(params.maxPriceMinor) || params.maxPriceMinor < 0)) {
    throw new InvalidMenuSearchError('maxPriceMinor must be a non-negative integer');
  }
  const text = params.q?.trim() ?? '';
  if (text.length > MAX_QUERY_LENGTH) throw new InvalidMenuSearchError(`q is longer than ${MAX_QUERY_LENGTH}`);

  // Removed items stay in the index as tombstones (their version keeps stale writes out): never show them.
  const filter: estypes.QueryDslQueryContainer[] = [{ term: { removed: false } }];
  const cuisine = params.cuisine?.trim();
  if (cuisine) filter.push({ term: { cuisine } });
  if (params.maxPriceMinor !== undefined) filter.push({ range: { priceMinor: { lte: params.maxPriceMinor } } });
  if (params.available === true) {
    filter.push({ term: { available: true } }, { term: { restaurantOpen: true } });
  } else if (params.available === false) {
    filter.push({
      bool: { should: [{ term: { available: false } }, { term: { restaurantOpen: false } }], minimum_should_match: 1 },
    });
  }

  const must: estypes.QueryDslQueryContainer[] = text
    ? [
        {
          multi_match: {
            query: text,
            fields: ['name^3', 'description'],
            fuzziness: 'AUTO',
            // The first letter must match: keeps typo tolerance from matching half the menu.
            prefix_length: 1,
          },
        },
      ]
    : [];
  // Ties (and every hit when there is no text) are ordered by name then id, so pages are stable.
  const sort: estypes.SortCombinations[] = [
    ...(text ? ['_score' as const] : []),
    { 'name.keyword': { order: 'asc' as const } },
    { menuItemId: { order: 'asc' as const } },
  ];
  return {
    index: alias,
    query: { bool: must.length > 0 ? { filter, must } : { filter } },
    sort,
    from: offset,
    size: limit,
    // Exact totals: a menu search matches far fewer than the 10,000 where counting stops by default anyway.
    track_total_hits: true,
  };
}

export async function searchMenu(search: Client, alias: string, params: MenuSearchParams): Promise<MenuSearchResult> {
  const response = await search.search<MenuItemDoc>(buildMenuSearchRequest(alias, params));
  return toMenuSearchResult(response);
}

/** The hits of a search response as the API returns them. */
export function toMenuSearchResult(response: estypes.SearchResponse<MenuItemDoc>): MenuSearchResult {
  const total = response.hits.total;
  const items: MenuItemHit[] = [];
  for (const hit of response.hits.hits) {
    if (!hit._source) continue;
    items.push({ ...hit._source, score: typeof hit._score === 'number' ? hit._score : null });
  }
  return { items, total: typeof total === 'number' ? total : (total?.value ?? 0) };
}
