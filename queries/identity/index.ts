import { notificationContributions } from '../../projections/contexts.js';
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
  // With the contributed rules, so `?after=` waits for an application's or a contract's event too.
  const model = async () => notificationsReadModel(await version(), notificationContributions);
  await (await model()).createTables(readDb);
  return {
    notifications: new NotificationQueries(readDb, version),
    waiter,
    notificationsProjection: model,
  };
}

export const identity = { name: 'identity', open } as const satisfies QueryContext<'identity'>;
