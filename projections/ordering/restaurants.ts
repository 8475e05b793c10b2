import { asContract } from '../../runtime/consumer/types.js';
import { createOnce } from '../../runtime/postgres.js';
import type { RestaurantEvent } from '../../schemas/ordering/events.js';
import type { PostgresReadModel } from '../runtime/postgres.js';

export const RESTAURANTS_PROJECTION = 'ordering.restaurants';
export const RESTAURANTS_VERSION = 1;
export const restaurantsTable = (version: number) => `ordering_restaurants_v${version}`;

/**
 * Restaurants with their owner and open/closed state: the query side asks it who may see a restaurant's orders
 * and dashboard. Every event carries or implies the whole row, so a batch keeps only each restaurant's last state.
 */
export function restaurantsReadModel(version: number): PostgresReadModel {
  const table = restaurantsTable(version);
  return {
    name: RESTAURANTS_PROJECTION,
    version,
    topics: ['ordering.restaurant'],
    async createTables(db) {
      await createOnce(
        db,
        table,
        `
          CREATE TABLE IF NOT EXISTS ${table} (
            restaurant_id text PRIMARY KEY,
            owner_id text NOT NULL,
            name text NOT NULL,
            cuisine text NOT NULL,
            open boolean NOT NULL,
            version integer NOT NULL,
            updated_at timestamptz NOT NULL
          );
          CREATE INDEX IF NOT EXISTS ${table}_owner ON ${table} (owner_id);
        `,
      );
    },
    async dropTables(db) {
      await db.raw(`DROP TABLE IF EXISTS ${table}`);
    },
    async apply(trx, events) {
      for (const event of asContract<RestaurantEvent>(events)) {
        const id = event.data.restaurantId;
        const stamp = { version: event.streamVersion, updated_at: event.recordedAt };
        switch (event.eventType) {
          case 'RestaurantRegistered':
            await trx(table)
              .insert({
                restaurant_id: id,
                owner_id: event.data.ownerId,
                name: event.data.name,
                cuisine: event.data.cuisine,
                open: false,
                ...stamp,
              })
              .onConflict('restaurant_id')
              .merge();
            break;
          case 'RestaurantOpened':
          case 'RestaurantClosed':
            await trx(table)
              .where('restaurant_id', id)
              .update({ open: event.eventType === 'RestaurantOpened', ...stamp });
            break;
          case 'RestaurantDetailsUpdated':
            await trx(table)
              .where('restaurant_id', id)
              .update({ name: event.data.name, cuisine: event.data.cuisine, ...stamp });
            break;
        }
      }
    },
  };
}
