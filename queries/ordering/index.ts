import { menuSearchAlias } from '../../projections/ordering/menu-search.js';
import { ORDERS_PROJECTION, ORDERS_VERSION, ordersReadModel } from '../../projections/ordering/orders.js';
import {
  RESTAURANTS_PROJECTION,
  RESTAURANTS_VERSION,
  restaurantsReadModel,
  restaurantsTable,
} from '../../projections/ordering/restaurants.js';
import { cachedActiveVersion } from '../../projections/runtime/versions.js';
import type { QueryContext, ReadEnv } from '../context.js';
import { type MenuSearchParams, type MenuSearchResult, searchMenu } from './menu-search.js';
import { OrderQueries } from './orders.js';
import { sagaView } from './sagas.js';

async function open({ config, readDb, storeDb, search, waiter }: ReadEnv) {
  const ordersVersion = cachedActiveVersion(readDb, ORDERS_PROJECTION, ORDERS_VERSION);
  // The tables exist before the projector first runs, so queries answer "not found" instead of failing.
  await ordersReadModel(await ordersVersion()).createTables(readDb);
  const restaurantsVersion = cachedActiveVersion(readDb, RESTAURANTS_PROJECTION, RESTAURANTS_VERSION);
  await restaurantsReadModel(await restaurantsVersion()).createTables(readDb);
  const orders = new OrderQueries(readDb, ordersVersion);
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
  };
}

export const ordering = { name: 'ordering', open } as const satisfies QueryContext<'ordering'>;
