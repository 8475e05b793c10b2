import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainError } from '../../../commands/decider.js';
import type { CommandContext } from '../../../commands/executor.js';
import { requireRoles } from '../../../gateway/auth.js';
import { errorHandler } from '../../../gateway/errors.js';
import {
  type NotificationPreferenceCommands,
  type NotificationQueryDeps,
  notificationCommandsPlugin,
  notificationQueriesPlugin,
} from '../../../gateway/identity/notifications.js';
import { TokenService } from '../../../gateway/tokens.js';
import { validatorCompiler } from '../../../gateway/validation.js';
import type { NotificationFilter } from '../../../queries/identity/notifications.js';
import type { Role } from '../../../runtime/roles.js';

// The routes as the gateway mounts them (same validator, error handler and role check), over fake sides:
// what is checked here is the HTTP contract, not the read model (see test/integration/notifications.test.ts).

// Access tokens are JWTs whose session is checked in Redis on every request: here no session is ever revoked.
const sessions = { exists: async () => 0 } as unknown as Redis;
const tokens = new TokenService(sessions, {
  secret: 'test-secret',
  accessTtlSeconds: 60,
  refreshTtlSeconds: 60,
});
const auth = (accountId: string, role: Role) => ({
  authorization: `Bearer ${tokens.accessToken({ accountId, role })}`,
});

interface Calls {
  commands: { input: { accountId: string; email: boolean; push: boolean }; ctx: CommandContext }[];
  lists: { accountId: string; filter: NotificationFilter }[];
  preferences: string[];
  waits: number[];
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function build(): Promise<{ app: FastifyInstance; calls: Calls }> {
  const calls: Calls = { commands: [], lists: [], preferences: [], waits: [] };
  const commands: NotificationPreferenceCommands = {
    async setNotificationPreferences(input, ctx) {
      calls.commands.push({ input, ctx });
      if (input.accountId === 'ghost')
        throw new DomainError('not_found', 'ACCOUNT_NOT_FOUND', 'account ghost does not exist');
      return { streamId: `account-${input.accountId}`, version: 2, position: 42 };
    },
  };
  const deps: NotificationQueryDeps = {
    notifications: {
      async list(accountId, filter = {}) {
        calls.lists.push({ accountId, filter });
        return { items: [], nextCursor: null };
      },
      async preferences(accountId) {
        calls.preferences.push(accountId);
        return { accountId, email: true, push: false, version: 2, updatedAt: '2025-03-14T10:00:00.000Z' };
      },
    },
    waiter: {
      async waitFor(position) {
        calls.waits.push(position);
      },
    },
    notificationsProjection: async () => ({ name: 'ordering.notifications', version: 1, topics: [] }),
  };
  const fastify = Fastify();
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setErrorHandler(errorHandler);
  fastify.decorateRequest('principal', null);
  await fastify.register(
    async (scope) => {
      scope.addHook('onRequest', requireRoles(tokens));
      await scope.register(notificationCommandsPlugin(commands));
    },
    { prefix: '/commands' },
  );
  await fastify.register(
    async (scope) => {
      scope.addHook('onRequest', requireRoles(tokens));
      await scope.register(notificationQueriesPlugin(deps));
    },
    { prefix: '/queries' },
  );
  app = fastify;
  return { app: fastify, calls };
}

describe('POST /commands/identity/set-notification-preferences', () => {
  it.each<Role>(['customer', 'restaurant', 'courier', 'hirer', 'worker', 'admin'])(
    'sets the %s caller’s own preferences',
    async (role) => {
      const { app, calls } = await build();
      const response = await app.inject({
        method: 'POST',
        url: '/commands/identity/set-notification-preferences',
        headers: { ...auth('acc-1', role), 'idempotency-key': 'prefs-1' },
        payload: { email: false, push: true },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ streamId: 'account-acc-1', version: 2, position: 42 });
      expect(response.headers.etag).toBe('"2"');
      expect(calls.commands[0]?.input).toEqual({ accountId: 'acc-1', email: false, push: true });
      expect(calls.commands[0]?.ctx).toMatchObject({ actor: 'acc-1', role, idempotencyKey: 'prefs-1' });
    },
  );

  it.each([
    ['a missing channel', { email: false }],
    ['a string for a boolean', { email: 'false', push: true }],
    ['someone else’s account', { email: false, push: true, accountId: 'acc-2' }],
  ])('refuses %s with 400', async (_what, payload) => {
    const { app, calls } = await build();
    const response = await app.inject({
      method: 'POST',
      url: '/commands/identity/set-notification-preferences',
      headers: auth('acc-1', 'customer'),
      payload,
    });
    expect(response.statusCode).toBe(400);
    expect(calls.commands).toEqual([]);
  });

  it('answers 401 without a token', async () => {
    const { app } = await build();
    const response = await app.inject({
      method: 'POST',
      url: '/commands/identity/set-notification-preferences',
      payload: { email: true, push: true },
    });
    expect(response.statusCode).toBe(401);
  });

  it('reports an account that does not exist with its code', async () => {
    const { app } = await build();
    const response = await app.inject({
      method: 'POST',
      url: '/commands/identity/set-notification-preferences',
      headers: auth('ghost', 'customer'),
      payload: { email: true, push: false },
    });
    expect(response.json()).toMatchObject({ error: { code: 'ACCOUNT_NOT_FOUND' } });
  });
});

describe('GET /queries/identity/notifications', () => {
  it('lists the caller’s own notifications with the filter, waiting for ?after first', async () => {
    const { app, calls } = await build();
    const response = await app.inject({
      url: '/queries/identity/notifications?channel=push&limit=5&cursor=abc&after=42',
      headers: auth('acc-1', 'courier'),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: [], nextCursor: null });
    expect(calls.waits).toEqual([42]);
    expect(calls.lists).toEqual([{ accountId: 'acc-1', filter: { channel: 'push', limit: 5, cursor: 'abc' } }]);
  });

  it.each(['channel=sms', 'limit=0', 'limit=101', 'accountId=acc-2'])('refuses %s with 400', async (qs) => {
    const { app, calls } = await build();
    const response = await app.inject({
      url: `/queries/identity/notifications?${qs}`,
      headers: auth('acc-1', 'customer'),
    });
    expect(response.statusCode).toBe(400);
    expect(calls.lists).toEqual([]);
  });
});

describe('GET /queries/identity/notification-preferences', () => {
  it('answers the caller’s own preferences', async () => {
    const { app, calls } = await build();
    const response = await app.inject({
      url: '/queries/identity/notification-preferences',
      headers: auth('acc-1', 'restaurant'),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      accountId: 'acc-1',
      email: true,
      push: false,
      version: 2,
      updatedAt: '2025-03-14T10:00:00.000Z',
    });
    expect(calls.preferences).toEqual(['acc-1']);
  });
});
