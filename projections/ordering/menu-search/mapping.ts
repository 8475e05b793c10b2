// The Elasticsearch side of the menu-items search read model: how its indexes and read alias are named, and
// the settings and mappings every version's index is created with.

// Elasticsearch index names must be lower case; the topic prefix may not be.
export const menuSearchAlias = (prefix: string): string => `${prefix.toLowerCase()}menu-items`;
export const menuSearchIndex = (prefix: string, version: number): string => `${menuSearchAlias(prefix)}-v${version}`;

export const MENU_ITEMS_INDEX_SETTINGS = {
  number_of_shards: 1,
  number_of_replicas: 0,
  // An explicit interval turns off "search idle" skipping of refreshes, so a change is searchable within ~1 s
  // even on an index nobody has searched lately.
  refresh_interval: '1s',
  analysis: {
    // Cuisine filters ignore case ("italian" finds "Italian"); the stored value keeps its case.
    normalizer: { lowercase_keyword: { type: 'custom' as const, filter: ['lowercase'] } },
  },
};

export const MENU_ITEMS_MAPPINGS = {
  // A field this code does not know about is a bug: refuse it instead of guessing a type.
  dynamic: 'strict' as const,
  properties: {
    menuItemId: { type: 'keyword' as const },
    restaurantId: { type: 'keyword' as const },
    restaurantName: {
      type: 'text' as const,
      analyzer: 'standard',
      fields: { keyword: { type: 'keyword' as const, ignore_above: 256 } },
    },
    cuisine: { type: 'keyword' as const, normalizer: 'lowercase_keyword' },
    name: {
      type: 'text' as const,
      analyzer: 'standard',
      fields: { keyword: { type: 'keyword' as const, ignore_above: 256 } },
    },
    description: { type: 'text' as const, analyzer: 'standard' },
    priceMinor: { type: 'long' as const },
    currency: { type: 'keyword' as const },
    available: { type: 'boolean' as const },
    removed: { type: 'boolean' as const },
    restaurantOpen: { type: 'boolean' as const },
    updatedAt: { type: 'date' as const },
  },
};
