import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { CommandContext } from '../commands/executor.js';
import { principalOf } from './auth.js';
import { HttpError } from './errors.js';

const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * Who is asking, the correlation id, the idempotency key and any pinned version, from the request.
 */
export function commandContext(request: FastifyRequest, commandName: string): CommandContext {
  const { accountId: actor, role } = principalOf(request);
  const key = request.headers['idempotency-key'];
  if (key !== undefined && (typeof key !== 'string' || !KEY_PATTERN.test(key))) {
    throw new HttpError(
      400,
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1-200 characters of A-Z a-z 0-9 . _ : -',
    );
  }
  const ifMatch = request.headers['if-match'];
  let expectedVersion: number | undefined;
  if (ifMatch !== undefined) {
    expectedVersion = Number(String(ifMatch).replace(/"/g, ''));
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
      throw new HttpError(400, 'INVALID_IF_MATCH', 'If-Match must be the stream version you expect, e.g. "3"');
    }
  }
  return {
    actor,
    correlationId: request.id ?? randomUUID(),
    traceId: request.traceId || undefined,
    idempotencyKey: key,
    request: { command: commandName, body: request.body },
    expectedVersion,
    role,
  };
}
