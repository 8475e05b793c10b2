import type { FastifyInstance } from 'fastify';
import {
  type MenuSearchParams,
  type MenuSearchQuerystring,
  type MenuSearchResult,
  menuSearchQuerystringSchema,
  parseMenuSearchQuerystring,
} from '../../queries/ordering/menu-search.js';
import type { OrderQueries } from '../../queries/ordering/orders.js';
import type { SagaView } from '../../queries/ordering/sagas.js';
import type { PositionWaiter } from '../../queries/read-your-writes.js';
import type { Role } from '../../runtime/roles.js';
import { ORDER_STATUSES } from '../../schemas/ordering/vocabulary.js';
import { principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import { position as after, calendarDate, id } from '../schema-parts.js';
import { type AccessLookups, canSeeOrder, ownsRestaurant } from './access.js';

// GET /queries/ordering/...: read-only routes over the read models, on the query side's own pool.

export interface OrderingQueryDeps extends AccessLookups {
  readonly orders: OrderQueries;
  readonly waiter: PositionWaiter;
  /** The orders projection as the waiter needs it (name, active version, topics). */
  readonly ordersProjection: () => Promise<{ name: string; version: number; topics: readonly string[] }>;
  readonly menuSearch: (params: MenuSearchParams) => Promise<MenuSearchResult>;
  readonly orderSaga: (orderId: string) => Promise<SagaView | null>;
}

const ORDER_READERS: readonly Role[] = ['customer', 'restaurant', 'courier', 'admin'];

export function orderingQueriesPlugin(deps: OrderingQueryDeps) {
  const waitIfAsked = async (position: number | undefined) => {
    if (position !== undefined) await deps.waiter.waitFor(position, await deps.ordersProjection());
  };

  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { orderId: string }; Querystring: { after?: number } }>(
      '/ordering/orders/:orderId',
      {
        config: { roles: ORDER_READERS },
        schema: {
          params: { type: 'object', required: ['orderId'], properties: { orderId: id } },
          querystring: { type: 'object', additionalProperties: false, properties: { after } },
        },
      },
      async (request) => {
        await waitIfAsked(request.query.after);
        const order = await deps.orders.byId(request.params.orderId);
        // Someone else's order is reported missing: its existence is not the caller's to learn.
        if (!order || !(await canSeeOrder(deps, principalOf(request), order))) {
          throw new HttpError(404, 'ORDER_NOT_FOUND', `order ${request.params.orderId} does not exist`);
        }
        return order;
      },
    );

    app.get<{
      Querystring: {
        customerId?: string;
        restaurantId?: string;
        status?: string;
        cursor?: string;
        limit?: number;
        after?: number;
      };
    }>(
      '/ordering/orders',
      {
        config: { roles: ORDER_READERS },
        schema: {
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              customerId: { type: 'string', maxLength: 128 },
              restaurantId: id,
              status: { type: 'string', enum: [...ORDER_STATUSES] },
              cursor: { type: 'string', maxLength: 500 },
              limit: { type: 'integer', minimum: 1, maximum: 100 },
              after,
            },
          },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const filter = { ...request.query };
        if (principal.role === 'customer') {
          if (filter.customerId && filter.customerId !== principal.accountId) {
            throw new HttpError(403, 'FORBIDDEN', 'customers list their own orders only');
          }
          filter.customerId = principal.accountId;
        } else if (principal.role === 'restaurant') {
          if (!filter.restaurantId)
            throw new HttpError(400, 'RESTAURANT_ID_REQUIRED', 'restaurants list orders by restaurantId');
          if (!(await ownsRestaurant(deps, principal, filter.restaurantId))) {
            throw new HttpError(403, 'NOT_RESTAURANT_OWNER', 'only the restaurant’s owner may list its orders');
          }
        }
        await waitIfAsked(filter.after);
        return deps.orders.list(filter);
      },
    );

    app.get<{ Params: { restaurantId: string }; Querystring: { day?: string; after?: number } }>(
      '/ordering/restaurants/:restaurantId/dashboard',
      {
        config: { roles: ['restaurant', 'admin'] },
        schema: {
          params: { type: 'object', required: ['restaurantId'], properties: { restaurantId: id } },
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { day: calendarDate, after },
          },
        },
      },
      async (request) => {
        if (!(await ownsRestaurant(deps, principalOf(request), request.params.restaurantId))) {
          throw new HttpError(403, 'NOT_RESTAURANT_OWNER', 'only the restaurant’s owner may see its dashboard');
        }
        await waitIfAsked(request.query.after);
        const day = request.query.day ?? new Date().toISOString().slice(0, 10);
        return deps.orders.dailyFigures(request.params.restaurantId, day);
      },
    );

    app.get<{ Querystring: MenuSearchQuerystring }>(
      '/ordering/menu/search',
      { schema: { querystring: menuSearchQuerystringSchema } },
      async (request) => deps.menuSearch(parseMenuSearchQuerystring(request.query)),
    );

    app.get<{ Params: { orderId: string } }>(
      '/ordering/sagas/:orderId',
      {
        config: { roles: ['admin'] },
        schema: { params: { type: 'object', required: ['orderId'], properties: { orderId: id } } },
      },
      async (request) => {
        const saga = await deps.orderSaga(request.params.orderId);
        if (!saga)
          throw new HttpError(404, 'SAGA_NOT_FOUND', `no order/payment saga for order ${request.params.orderId}`);
        return saga;
      },
    );
  };
}
