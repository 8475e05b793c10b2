import type { FastifyInstance } from 'fastify';
import type { IdentityCommands } from '../../commands/identity/handlers.js';
import { SELF_SERVICE_ROLES } from '../../runtime/roles.js';
import { HttpError } from '../errors.js';
import { email } from '../schema-parts.js';
import type { TokenService } from '../tokens.js';
import { type LoginThrottle, sendLoginThrottled } from './login-throttle.js';

// POST /auth/register, /auth/login, /auth/refresh, /auth/logout.

const credentials = {
  email,
  password: { type: 'string', minLength: 8, maxLength: 200 },
} as const;
const refresh = {
  type: 'object',
  additionalProperties: false,
  required: ['refreshToken'],
  properties: { refreshToken: { type: 'string', minLength: 20, maxLength: 200 } },
} as const;
const pair = {
  type: 'object',
  properties: { accessToken: { type: 'string' }, refreshToken: { type: 'string' }, expiresIn: { type: 'integer' } },
} as const;

export function identityPlugin(identity: IdentityCommands, tokens: TokenService, loginThrottle: LoginThrottle) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: { email: string; password: string; role: (typeof SELF_SERVICE_ROLES)[number] } }>(
      '/register',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['email', 'password', 'role'],
            properties: { ...credentials, role: { type: 'string', enum: [...SELF_SERVICE_ROLES] } },
          },
          response: { 201: { type: 'object', properties: { accountId: { type: 'string' } } } },
        },
      },
      async (request, reply) => {
        const result = await identity.register(request.body, { actor: 'anonymous', correlationId: request.id });
        return reply.status(201).send({ accountId: result.accountId });
      },
    );

    app.post<{ Body: { email: string; password: string } }>(
      '/login',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['email', 'password'],
            properties: credentials,
          },
          response: { 200: pair },
        },
      },
      async (request, reply) => {
        const { email, password } = request.body;
        const attempt = await loginThrottle.guard(email, request.ip, () => identity.verify(email, password));
        if (!attempt.allowed) return sendLoginThrottled(reply, attempt);
        if (!attempt.account) throw new HttpError(401, 'INVALID_CREDENTIALS', 'unknown email or wrong password');
        return tokens.login({ accountId: attempt.account.accountId, role: attempt.account.role });
      },
    );

    app.post<{ Body: { refreshToken: string } }>(
      '/refresh',
      { schema: { body: refresh, response: { 200: pair } } },
      async (request) => tokens.refresh(request.body.refreshToken),
    );

    app.post<{ Body: { refreshToken: string } }>('/logout', { schema: { body: refresh } }, async (request, reply) => {
      await tokens.logout(request.body.refreshToken);
      return reply.status(204).send();
    });
  };
}
