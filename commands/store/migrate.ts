import type { Migrations } from '../../runtime/migrations.js';
import * as eventStore from './migrations/20261125_0001_event_store.js';
import * as byStreamType from './migrations/20261125_0002_events_by_stream_type.js';

/** The event store's own tables: streams, events, outbox, idempotency keys. */
export const eventStoreMigrations: Migrations = {
  '20261125_0001_event_store': eventStore,
  '20261125_0002_events_by_stream_type': byStreamType,
};
