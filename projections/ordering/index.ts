import { type PostgresProjectionEntry, type ProjectionContext, postgresBacked } from '../context.js';
import {
  MENU_SEARCH_PROJECTION,
  menuSearchAliasTargets,
  menuSearchIndex,
  menuSearchReadModel,
  switchMenuSearchAlias,
} from './menu-search.js';
import {
  ORDER_STATUS_PROJECTION,
  ORDER_STATUS_VERSION,
  orderCount,
  orderStatusRedisProjection,
  orderStatusRedisRebuild,
} from './order-status-redis.js';
import { ORDERS_PROJECTION, ORDERS_VERSION, ordersReadModel } from './orders.js';
import { RESTAURANTS_PROJECTION, RESTAURANTS_VERSION, restaurantsReadModel } from './restaurants.js';

const menuSearch: PostgresProjectionEntry = {
  kind: 'postgres',
  name: MENU_SEARCH_PROJECTION,
  description: 'menu items for search (staged in PostgreSQL, indexed in Elasticsearch behind a read alias)',
  initialVersion: 1,
  topics: ['ordering.restaurant', 'ordering.menu-item'],
  model: async (version, env) => menuSearchReadModel(await env.search(), version, env.config.topicPrefix),
  // Queries read the alias, not projection_versions: point it at the new index in one atomic call.
  activated: async (version, env) => switchMenuSearchAlias(await env.search(), env.config.topicPrefix, version),
  readsFrom: async (version, env) => {
    const index = menuSearchIndex(env.config.topicPrefix, version);
    const targets = await menuSearchAliasTargets(await env.search(), env.config.topicPrefix);
    return targets.includes(index) ? `the search alias points at ${index}` : null;
  },
};

export const ordering: ProjectionContext = {
  name: 'ordering',
  projections: [
    postgresBacked(
      ORDERS_PROJECTION,
      'orders by customer and restaurant, and daily restaurant figures (PostgreSQL)',
      ORDERS_VERSION,
      ordersReadModel,
    ),
    postgresBacked(
      RESTAURANTS_PROJECTION,
      'restaurants with owner, status and details (PostgreSQL)',
      RESTAURANTS_VERSION,
      restaurantsReadModel,
    ),
    menuSearch,
    {
      kind: 'custom',
      name: ORDER_STATUS_PROJECTION,
      description: 'live order status and its change stream for SSE and WebSocket (Redis)',
      initialVersion: ORDER_STATUS_VERSION,
      topics: ['ordering.order'],
      make: async (version, env) =>
        orderStatusRedisProjection(await env.redis(), { keyPrefix: env.config.topicPrefix, version }),
      // Rebuilt from the event store like the PostgreSQL read models (after Redis lost its data, say): the new
      // version's hashes and counters beside the old ones; the live streams, shared by the versions, only get what
      // they lack and nothing is published again.
      rebuild: {
        target: async (version, env) =>
          orderStatusRedisRebuild(await env.redis(), { keyPrefix: env.config.topicPrefix, version }),
        appliedStreams: async (version, env) => orderCount(await env.redis(), env.config.topicPrefix, version),
      },
    },
  ],
};
