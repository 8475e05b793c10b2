import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** Who is calling. Until the identity issue lands, the caller names itself with the X-Actor-Id header. */
export function requireActor(request: FastifyRequest): string {
  const actor = request.headers['x-actor-id'];
  if (typeof actor !== 'string' || !/^[A-Za-z0-9._@:-]{1,128}$/.test(actor)) {
    throw new HttpError(401, 'UNAUTHENTICATED', 'send X-Actor-Id: <your account id> (JWT auth comes later)');
  }
  return actor;
}
