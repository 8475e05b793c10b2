import { type NotificationRules, type ProjectionContext, postgresBacked } from '../context.js';
import { NOTIFICATIONS_PROJECTION, NOTIFICATIONS_VERSION, notificationsReadModel } from './notifications.js';

/**
 * Identity's projections, given what the other contexts tell their users (`projections/contexts.ts` collects
 * their `notifications`): identity stores those notifications without naming the contexts.
 */
export const identity = (contributed: readonly NotificationRules[]): ProjectionContext => ({
  name: 'identity',
  projections: [
    // Still named `ordering.notifications`, as when it lived in the ordering folders: the name is its consumer
    // groups' and its version row's, which a rename would orphan.
    postgresBacked(
      NOTIFICATIONS_PROJECTION,
      'notification records per account (orders, and what other contexts contribute), by their preferences (PostgreSQL)',
      NOTIFICATIONS_VERSION,
      (version) => notificationsReadModel(version, contributed),
    ),
  ],
});
