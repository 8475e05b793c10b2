import type { Knex } from 'knex';
import { connect } from '../../runtime/postgres.js';
import { ensureSagaTables } from '../../sagas/runtime/tables.js';
import { createTestDatabase } from './env.js';

/** A fresh database with the saga runtime's tables, for one test file; `close` destroys the pool and drops it. */
export interface SagaDatabase {
  readonly db: Knex;
  readonly url: string;
  close(): Promise<void>;
}

export async function openSagaDatabase(label: string, poolMax = 12): Promise<SagaDatabase> {
  const created = await createTestDatabase(label);
  const db = connect(created.url, { max: poolMax });
  await ensureSagaTables(db);
  return {
    db,
    url: created.url,
    async close() {
      await db.destroy();
      await created.drop();
    },
  };
}
