// The Elasticsearch side of marketplace search: index and alias names, settings and mappings.

export type SearchKind = 'jobs' | 'workers';

// Index names must be lower case; the topic prefix may not be.
export const searchAlias = (prefix: string, kind: SearchKind): string => `${prefix.toLowerCase()}marketplace-${kind}`;
export const searchIndex = (prefix: string, kind: SearchKind, version: number): string =>
  `${searchAlias(prefix, kind)}-v${version}`;

export const INDEX_SETTINGS = {
  number_of_shards: 1,
  number_of_replicas: 0,
  // An explicit interval turns off "search idle" skipping of refreshes: a change is searchable within ~1 s.
  refresh_interval: '1s',
};

const text = { type: 'text' as const, analyzer: 'standard' };
const keyword = { type: 'keyword' as const };

export const MAPPINGS: Record<SearchKind, object> = {
  jobs: {
    dynamic: 'strict',
    properties: {
      jobId: keyword,
      hirerId: keyword,
      title: { ...text, fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
      description: text,
      skills: keyword,
      budgetKind: keyword,
      budgetMinMinor: { type: 'long' },
      budgetMaxMinor: { type: 'long' },
      currency: keyword,
      remote: { type: 'boolean' },
      city: keyword,
      country: keyword,
      point: { type: 'geo_point' },
      status: keyword,
      postedAt: { type: 'date' },
      updatedAt: { type: 'date' },
    },
  },
  workers: {
    dynamic: 'strict',
    properties: {
      workerId: keyword,
      headline: { ...text, fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
      bio: text,
      skills: keyword,
      hourlyRateMinor: { type: 'long' },
      currency: keyword,
      city: keyword,
      country: keyword,
      point: { type: 'geo_point' },
      availability: keyword,
      rating: { type: 'double' },
      reviewCount: { type: 'integer' },
      updatedAt: { type: 'date' },
    },
  },
};
