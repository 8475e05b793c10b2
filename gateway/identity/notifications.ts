import type { FastifyInstance } from 'fastify';
import type { CommandContext, CommandResult } from '../../commands/executor.js';
import { NOTIFICATION_CHANNELS, type NotificationChannel } from '../../projections/identity/notification-messages.js';
import type { NotificationQueries } from '../../queries/identity/notifications.js';
import type { PositionWaiter } from '../../queries/read-your-writes.js';
import { ROLES } from '../../runtime/roles.js';
import { principalOf } from '../auth.js';
import { commandContext } from '../command-context.js';
import { position as after } from '../schema-parts.js';

// Notification preferences and the caller's notifications. Two plugins, because commands and queries never
// share a route or a pool: register the first under /commands and the second under /queries.

/** The write side this needs: IdentityCommands once it has the preferences handler. */
export interface NotificationPreferenceCommands {
  setNotificationPreferences(
    input: { accountId: string; email: boolean; push: boolean },
    ctx: CommandContext,
  ): Promise<CommandResult>;
}

export interface NotificationQueryDeps {
  readonly notifications: Pick<NotificationQueries, 'list' | 'preferences'>;
  readonly waiter: Pick<PositionWaiter, 'waitFor'>;
  /** The notifications projection as the waiter needs it (name, active version, topics). */
  readonly notificationsProjection: () => Promise<{ name: string; version: number; topics: readonly string[] }>;
}

const result = {
  type: 'object',
  properties: { streamId: { type: 'string' }, version: { type: 'integer' }, position: { type: 'integer' } },
} as const;

/** POST /commands/identity/set-notification-preferences: every account sets its own, whatever its role. */
export function notificationCommandsPlugin(commands: NotificationPreferenceCommands) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: { email: boolean; push: boolean } }>(
      '/identity/set-notification-preferences',
      {
        config: { roles: ROLES },
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['email', 'push'],
            properties: { email: { type: 'boolean' }, push: { type: 'boolean' } },
          },
          response: { 200: result },
        },
      },
      async (request, reply) => {
        // The account is the caller's own, never one named in the body: nobody sets another's preferences.
        const { accountId } = principalOf(request);
        const { email, push } = request.body;
        const out = await commands.setNotificationPreferences(
          { accountId, email, push },
          commandContext(request, 'identity/set-notification-preferences'),
        );
        reply.header('etag', `"${out.version}"`);
        return reply.status(200).send(out);
      },
    );
  };
}

/** GET /queries/identity/notifications and /queries/identity/notification-preferences: the caller's own. */
export function notificationQueriesPlugin(deps: NotificationQueryDeps) {
  const waitIfAsked = async (position: number | undefined) => {
    if (position !== undefined) await deps.waiter.waitFor(position, await deps.notificationsProjection());
  };

  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { cursor?: string; limit?: number; channel?: NotificationChannel; after?: number } }>(
      '/identity/notifications',
      {
        config: { roles: ROLES },
        schema: {
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              cursor: { type: 'string', maxLength: 500 },
              limit: { type: 'integer', minimum: 1, maximum: 100 },
              channel: { type: 'string', enum: [...NOTIFICATION_CHANNELS] },
              after,
            },
          },
        },
      },
      async (request) => {
        const { after: position, ...filter } = request.query;
        await waitIfAsked(position);
        return deps.notifications.list(principalOf(request).accountId, filter);
      },
    );

    app.get<{ Querystring: { after?: number } }>(
      '/identity/notification-preferences',
      {
        config: { roles: ROLES },
        schema: { querystring: { type: 'object', additionalProperties: false, properties: { after } } },
      },
      async (request) => {
        await waitIfAsked(request.query.after);
        return deps.notifications.preferences(principalOf(request).accountId);
      },
    );
  };
}
