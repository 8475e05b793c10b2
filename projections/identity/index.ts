import { type ProjectionContext, postgresBacked } from '../context.js';
import { NOTIFICATIONS_PROJECTION, NOTIFICATIONS_VERSION, notificationsReadModel } from './notifications.js';

export const identity: ProjectionContext = {
  name: 'identity',
  projections: [
    // Still named `ordering.notifications`, as when it lived in the ordering folders: the name is its consumer
    // groups' and its version row's, which a rename would orphan.
    postgresBacked(
      NOTIFICATIONS_PROJECTION,
      'notification records per customer, by their preferences (PostgreSQL)',
      NOTIFICATIONS_VERSION,
      notificationsReadModel,
    ),
  ],
};
