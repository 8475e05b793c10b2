import { Client as SearchClient } from '@elastic/elasticsearch';
import { ensureRuntimeTables } from '../projections/runtime/tables.js';
import type { Config } from '../runtime/config.js';
import { connect, ensureDatabase } from '../runtime/postgres.js';
import type { ReadEnv } from './context.js';
import { type ContextQueries, queryContexts } from './contexts.js';
import { PositionWaiter } from './read-your-writes.js';

const RESERVED: ReadonlySet<string> = new Set(['readDb', 'close']);

export type ReadSide = ContextQueries & { readonly readDb: ReadEnv['readDb']; close(): Promise<void> };

/**
 * The query side's connections: its own pool on the read database, and a small one on the event store used
 * only to resolve `?after=<position>` (which stream and version that position is) and to read saga state.
 * Each context's queries are under its name: `read.ordering.orders`.
 */
export async function openReadSide(config: Config): Promise<ReadSide> {
  await ensureDatabase(config.readDatabaseUrl);
  const readDb = connect(config.readDatabaseUrl, { max: 10, applicationName: 'ledgerline-queries' });
  const storeDb = connect(config.databaseUrl, { max: 2, applicationName: 'ledgerline-queries-positions' });
  const search = new SearchClient({ node: config.searchUrl, requestTimeout: 5000 });
  const close = async () => {
    await search.close();
    await readDb.destroy();
    await storeDb.destroy();
  };
  try {
    await ensureRuntimeTables(readDb);
    const env: ReadEnv = { config, readDb, storeDb, search, waiter: new PositionWaiter(storeDb, readDb) };
    const queries: Record<string, unknown> = {};
    for (const context of queryContexts) {
      if (RESERVED.has(context.name)) throw new Error(`a context may not be named ${context.name}`);
      queries[context.name] = await context.open(env);
    }
    return { ...(queries as ContextQueries), readDb, close };
  } catch (error) {
    await close();
    throw error;
  }
}
