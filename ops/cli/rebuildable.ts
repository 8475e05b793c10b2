import {
  MENU_SEARCH_PROJECTION,
  menuSearchAliasTargets,
  menuSearchIndex,
  menuSearchReadModel,
  switchMenuSearchAlias,
} from '../../projections/ordering/menu-search.js';
import {
  NOTIFICATIONS_PROJECTION,
  NOTIFICATIONS_VERSION,
  notificationsReadModel,
} from '../../projections/ordering/notifications.js';
import { ORDERS_PROJECTION, ORDERS_VERSION, ordersReadModel } from '../../projections/ordering/orders.js';
import {
  RESTAURANTS_PROJECTION,
  RESTAURANTS_VERSION,
  restaurantsReadModel,
} from '../../projections/ordering/restaurants.js';
import type { PostgresReadModel } from '../../projections/runtime/postgres.js';
import type { Config } from '../runtime/config.js';
import type { Services } from './services.js';

/** What a projection's factory may use: the configuration and the invocation's connections. */
export interface ProjectionEnv {
  readonly config: Config;
  readonly services: Services;
}

/**
 * A projection the CLI can rebuild and replay into. Its storage is a PostgreSQL read model (possibly with
 * another store beside it, written in the same transaction, as the menu search does with Elasticsearch), so
 * `rebuildPostgresProjection` and `applyInTransaction` give it the versioned, idempotent treatment.
 */
export interface RebuildableProjection {
  /** The projection's stable name, as in projection_versions and the consumer group. */
  readonly name: string;
  readonly description: string;
  /** The version a fresh deployment runs while projection_versions has no row for it. */
  readonly initialVersion: number;
  /** Stream types (topics without the prefix) it consumes. */
  readonly topics: readonly string[];
  /** Its read model at `version`. */
  model(version: number, env: ProjectionEnv): Promise<PostgresReadModel>;
  /** Runs just before reads switch to `version`, for storage the switch row does not cover (a search alias). */
  activated?(version: number, env: ProjectionEnv): Promise<void>;
  /** Why `version` must not be dropped because something still reads it (a search alias), or null. */
  readsFrom?(version: number, env: ProjectionEnv): Promise<string | null>;
}

/** A projection whose storage is a PostgreSQL read model made by `factory(version)` and nothing else. */
const postgresBacked = (
  name: string,
  description: string,
  initialVersion: number,
  factory: (version: number) => PostgresReadModel,
): RebuildableProjection => ({
  name,
  description,
  initialVersion,
  topics: factory(initialVersion).topics,
  model: async (version) => factory(version),
});

const orders = postgresBacked(
  ORDERS_PROJECTION,
  'orders by customer and restaurant, and daily restaurant figures (PostgreSQL)',
  ORDERS_VERSION,
  ordersReadModel,
);
const restaurants = postgresBacked(
  RESTAURANTS_PROJECTION,
  'restaurants with owner, status and details (PostgreSQL)',
  RESTAURANTS_VERSION,
  restaurantsReadModel,
);
const notifications = postgresBacked(
  NOTIFICATIONS_PROJECTION,
  'notification records per customer, by their preferences (PostgreSQL)',
  NOTIFICATIONS_VERSION,
  notificationsReadModel,
);

const menuSearch: RebuildableProjection = {
  name: MENU_SEARCH_PROJECTION,
  description: 'menu items for search (staged in PostgreSQL, indexed in Elasticsearch behind a read alias)',
  initialVersion: 1,
  topics: ['ordering.restaurant', 'ordering.menu-item'],
  model: async (version, env) => menuSearchReadModel(await env.services.search(), version, env.config.topicPrefix),
  // Queries read the alias, not projection_versions: point it at the new index in one atomic call.
  activated: async (version, env) =>
    switchMenuSearchAlias(await env.services.search(), env.config.topicPrefix, version),
  readsFrom: async (version, env) => {
    const index = menuSearchIndex(env.config.topicPrefix, version);
    const targets = await menuSearchAliasTargets(await env.services.search(), env.config.topicPrefix);
    return targets.includes(index) ? `the search alias points at ${index}` : null;
  },
};

/**
 * Every projection the CLI knows; add an entry here when a projection becomes rebuildable. The order status in
 * Redis is not one (it is not a PostgreSQL read model): it is rebuilt by bumping its version, whose new consumer
 * group reads the topic from the start.
 */
export const rebuildableProjections: readonly RebuildableProjection[] = [
  orders,
  restaurants,
  notifications,
  menuSearch,
];

export function findProjection(name: string): RebuildableProjection | undefined {
  return rebuildableProjections.find((p) => p.name === name);
}
