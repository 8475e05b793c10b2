import { Client as SearchClient } from '@elastic/elasticsearch';
import { connect, ensureDatabase } from '../commands/store/database.js';
import type { Config } from '../ops/runtime/config.js';
import { menuSearchAlias } from '../projections/ordering/menu-search.js';
import {
  NOTIFICATIONS_PROJECTION,
  NOTIFICATIONS_VERSION,
  notificationsReadModel,
} from '../projections/ordering/notifications.js';
import { ORDERS_PROJECTION, ORDERS_VERSION, ordersReadModel } from '../projections/ordering/orders.js';
import {
  RESTAURANTS_PROJECTION,
  RESTAURANTS_VERSION,
  restaurantsReadModel,
  restaurantsTable,
} from '../projections/ordering/restaurants.js';
import { ensureRuntimeTables } from '../projections/runtime/tables.js';
import { cachedActiveVersion } from '../projections/runtime/versions.js';
import { type MenuSearchParams, type MenuSearchResult, searchMenu } from './ordering/menu-search.js';
import { NotificationQueries } from './ordering/notifications.js';
import { OrderQueries } from './ordering/orders.js';
import { sagaView } from './ordering/sagas.js';
import { PositionWaiter } from './read-your-writes.js';

/**
 * The query side's connections: its own pool on the read database, and a small one on the event store used
 * only to resolve `?after=<position>` (which stream and version that position is).
 */
export async function openReadSide(config: Config) {
  await ensureDatabase(config.readDatabaseUrl);
  const readDb = connect(config.readDatabaseUrl, { max: 10, applicationName: 'ledgerline-queries' });
  const storeDb = connect(config.databaseUrl, { max: 2, applicationName: 'ledgerline-queries-positions' });
  await ensureRuntimeTables(readDb);
  const ordersVersion = cachedActiveVersion(readDb, ORDERS_PROJECTION, ORDERS_VERSION);
  // The tables exist before the projector first runs, so queries answer "not found" instead of failing.
  await ordersReadModel(await ordersVersion()).createTables(readDb);
  const restaurantsVersion = cachedActiveVersion(readDb, RESTAURANTS_PROJECTION, RESTAURANTS_VERSION);
  await restaurantsReadModel(await restaurantsVersion()).createTables(readDb);
  const orders = new OrderQueries(readDb, ordersVersion);
  const notificationsVersion = cachedActiveVersion(readDb, NOTIFICATIONS_PROJECTION, NOTIFICATIONS_VERSION);
  await notificationsReadModel(await notificationsVersion()).createTables(readDb);
  const waiter = new PositionWaiter(storeDb, readDb);
  const search = new SearchClient({ node: config.searchUrl, requestTimeout: 5000 });
  const alias = menuSearchAlias(config.topicPrefix);
  const menuSearch = async (params: MenuSearchParams): Promise<MenuSearchResult> => {
    try {
      return await searchMenu(search, alias, params);
    } catch (error) {
      // Before the projector's first run there is no index yet: nothing to find, not a failure.
      const type = (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
      if (type === 'index_not_found_exception') return { items: [], total: 0 };
      throw error;
    }
  };
  return {
    readDb,
    ordering: {
      orders,
      /** Who may see an order: from the orders read model (the live status hash may not exist yet). */
      orderParties: async (orderId: string) => {
        const view = await orders.byId(orderId);
        return view ? { customerId: view.customerId, restaurantId: view.restaurantId } : null;
      },
      restaurantOwner: async (restaurantId: string): Promise<string | null> => {
        const row = await readDb(restaurantsTable(await restaurantsVersion()))
          .where('restaurant_id', restaurantId)
          .first('owner_id');
        return row ? (row.owner_id as string) : null;
      },
      waiter,
      ordersProjection: async () => ordersReadModel(await ordersVersion()),
      menuSearch,
      /** Saga state lives beside the event store (sagas are write-side processes). */
      orderSaga: (orderId: string) => sagaView(storeDb, 'order-payment', orderId),
    },
    notifications: {
      notifications: new NotificationQueries(readDb, notificationsVersion),
      waiter,
      notificationsProjection: async () => notificationsReadModel(await notificationsVersion()),
    },
    async close() {
      await search.close();
      await readDb.destroy();
      await storeDb.destroy();
    },
  };
}
