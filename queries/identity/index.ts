import {
  NOTIFICATIONS_PROJECTION,
  NOTIFICATIONS_VERSION,
  notificationsReadModel,
} from '../../projections/identity/notifications.js';
import { cachedActiveVersion } from '../../projections/runtime/versions.js';
import type { QueryContext, ReadEnv } from '../context.js';
import { NotificationQueries } from './notifications.js';

async function open({ readDb, waiter }: ReadEnv) {
  const version = cachedActiveVersion(readDb, NOTIFICATIONS_PROJECTION, NOTIFICATIONS_VERSION);
  await notificationsReadModel(await version()).createTables(readDb);
  return {
    notifications: new NotificationQueries(readDb, version),
    waiter,
    notificationsProjection: async () => notificationsReadModel(await version()),
  };
}

export const identity = { name: 'identity', open } as const satisfies QueryContext<'identity'>;
