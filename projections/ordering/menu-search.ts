// The menu-items search read model (Elasticsearch documents, staged in PostgreSQL). Its parts live in
// ./menu-search/: read-model.ts wires them; mapping.ts names and shapes the index; documents.ts and changes.ts
// are the pure update logic; staging.ts the PostgreSQL tables; indexing.ts the index writes; alias.ts the alias.
// This module is the public surface: import from here.

export { menuSearchAliasTargets, switchMenuSearchAlias } from './menu-search/alias.js';
export type { DocWrite } from './menu-search/changes.js';
export type { ItemFacts, MenuItemDoc, MenuSearchEvent, RestaurantFacts } from './menu-search/documents.js';
export {
  evolveItemFacts,
  evolveRestaurantFacts,
  isMenuItemEvent,
  isRestaurantEvent,
  MENU_ITEM_EVENTS,
  RESTAURANT_EVENTS,
  restaurantPartChanged,
  sameContent,
  unknownRestaurant,
  withRestaurant,
} from './menu-search/documents.js';
export { bulkWrite, SearchIndexingError } from './menu-search/indexing.js';
export {
  MENU_ITEMS_INDEX_SETTINGS,
  MENU_ITEMS_MAPPINGS,
  menuSearchAlias,
  menuSearchIndex,
} from './menu-search/mapping.js';
export { MENU_SEARCH_PROJECTION, menuSearchReadModel } from './menu-search/read-model.js';
export { menuSearchTables } from './menu-search/staging.js';
