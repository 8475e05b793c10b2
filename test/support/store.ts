import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { migrateWriteSide } from '../../commands/migrate.js';
import { type EncodedEvent, EventStore, type EventStoreOptions } from '../../commands/store/event-store.js';
import { connect } from '../../runtime/postgres.js';
import { createTestDatabase } from './env.js';

export interface TestStore {
  readonly db: Knex;
  readonly store: EventStore;
  readonly url: string;
  close(): Promise<void>;
}

/** An event store on its own fresh database. */
export async function openTestStore(label: string, options: EventStoreOptions = {}, poolMax = 30): Promise<TestStore> {
  const database = await createTestDatabase(label);
  const db = connect(database.url, { max: poolMax });
  await migrateWriteSide(db);
  return {
    db,
    store: new EventStore(db, options),
    url: database.url,
    async close() {
      await db.destroy();
      await database.drop();
    },
  };
}

/** Opaque events: the store never decodes payloads, so store-level tests need no schema. */
export const opaqueEvents = (count: number, label = 'Probe'): EncodedEvent[] =>
  Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    eventType: label,
    schemaId: 1,
    payload: Buffer.from(`${label}-${i}`),
  }));

export const metadata = { correlationId: 'test', causationId: null, actor: 'test' };
