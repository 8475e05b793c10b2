import type { Client } from '@elastic/elasticsearch';
import { asContract } from '../../../runtime/consumer/types.js';
import type { PostgresReadModel } from '../../runtime/postgres.js';
import { ensureMenuSearchAlias } from './alias.js';
import type { MenuSearchEvent } from './documents.js';
import { bulkWrite, ensureIndex } from './indexing.js';
import { menuSearchAlias, menuSearchIndex } from './mapping.js';
import { createStagingTables, dropStagingTables, menuSearchTables, stageEvents } from './staging.js';

// The menu-items search read model. Elasticsearch holds one document per menu item; PostgreSQL holds a staging
// copy of every document and of the restaurant facts they embed. The staging copy exists because a restaurant
// opening, closing or renaming must rewrite all its items, and this Elasticsearch build has no update_by_query
// or scripts: the projection computes every new document itself and writes it whole.
//
// Consistency: the staging rows, the stream versions seen and the checkpoint commit in one PostgreSQL
// transaction (projections/runtime/postgres.ts), and the Elasticsearch bulk write happens inside it, before the
// commit. Elasticsearch failing rolls the batch back (it is retried); PostgreSQL failing after Elasticsearch
// leaves documents that the redelivery rewrites. Each document carries `doc_version` as its external version,
// bumped by one per change under a row lock, so a stale write (lower version) never replaces a newer one.

export const MENU_SEARCH_PROJECTION = 'ordering.menu-search';

/**
 * The menu-items search read model as a PostgreSQL read model: the runtime's transaction covers the staging
 * rows, and `apply` writes the changed documents to Elasticsearch before it commits.
 */
export function menuSearchReadModel(search: Client, version: number, prefix: string): PostgresReadModel {
  const t = menuSearchTables(version);
  const index = menuSearchIndex(prefix, version);
  const alias = menuSearchAlias(prefix);
  return {
    name: MENU_SEARCH_PROJECTION,
    version,
    topics: ['ordering.restaurant', 'ordering.menu-item'],
    async createTables(db) {
      await db.transaction(async (trx) => {
        // Serialises start-ups sharing this database: tables, index and the first alias are created once.
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`${t.items}:${alias}`]);
        await createStagingTables(trx, t);
        await ensureIndex(search, index);
        await ensureMenuSearchAlias(search, prefix, version);
      });
    },
    async dropTables(db) {
      await dropStagingTables(db, t);
      // Deleting the index also removes the alias if it still pointed here: drop only after a switch.
      await search.indices.delete({ index }, { ignore: [404] });
    },
    async apply(trx, events) {
      const writes = await stageEvents(trx, t, asContract<MenuSearchEvent>(events));
      await bulkWrite(search, index, writes);
    },
  };
}
