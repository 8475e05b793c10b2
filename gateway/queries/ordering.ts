import type { FastifyInstance } from 'fastify';
import { ORDER_STATUSES } from '../../commands/ordering/order.js';
import type { OrderQueries } from '../../queries/ordering/orders.js';
import type { PositionWaiter } from '../../queries/read-your-writes.js';
import { requireActor } from '../actor.js';
import { HttpError } from '../errors.js';

// GET /queries/ordering/...: read-only routes over the read models, on the query side's own pool.

export interface OrderingQueryDeps {
  readonly orders: OrderQueries;
  readonly waiter: PositionWaiter;
  /** The orders projection as the waiter needs it (name, active version, topics). */
  readonly ordersProjection: () => Promise<{ name: string; version: number; topics: readonly string[] }>;
}

const id = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const after = { type: 'integer', minimum: 1 } as const;

export function orderingQueriesPlugin(deps: OrderingQueryDeps) {
  const waitIfAsked = async (position: number | undefined) => {
    if (position !== undefined) await deps.waiter.waitFor(position, await deps.ordersProjection());
  };

  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', async (request) => {
      requireActor(request);
    });

    app.get<{ Params: { orderId: string }; Querystring: { after?: number } }>(
      '/ordering/orders/:orderId',
      {
        schema: {
          params: { type: 'object', required: ['orderId'], properties: { orderId: id } },
          querystring: { type: 'object', additionalProperties: false, properties: { after } },
        },
      },
      async (request) => {
        await waitIfAsked(request.query.after);
        const order = await deps.orders.byId(request.params.orderId);
        if (!order) throw new HttpError(404, 'ORDER_NOT_FOUND', `order ${request.params.orderId} does not exist`);
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
        await waitIfAsked(request.query.after);
        return deps.orders.list(request.query);
      },
    );

    app.get<{ Params: { restaurantId: string }; Querystring: { day?: string; after?: number } }>(
      '/ordering/restaurants/:restaurantId/dashboard',
      {
        schema: {
          params: { type: 'object', required: ['restaurantId'], properties: { restaurantId: id } },
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { day: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }, after },
          },
        },
      },
      async (request) => {
        await waitIfAsked(request.query.after);
        const day = request.query.day ?? new Date().toISOString().slice(0, 10);
        return deps.orders.dailyFigures(request.params.restaurantId, day);
      },
    );
  };
}
