import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorChain } from '../runtime/error-chain.js';
import { type ErrorKind, KindedError } from '../runtime/errors.js';

/** The one error body every route answers with. */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Refusal kinds → HTTP status, the one table: a context adds codes, never rows here. */
export const statusOfKind: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  timeout: 504,
};

export const body = (code: string, message: string, details: Record<string, unknown> = {}): ErrorBody => ({
  error: { code, message, details },
});

export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof KindedError) {
    reply.status(statusOfKind[error.kind]).send(body(error.code, error.message, error.details));
    return;
  }
  if (error instanceof HttpError) {
    reply.status(error.statusCode).send(body(error.code, error.message, error.details));
    return;
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    reply.status(400).send(
      body('VALIDATION_FAILED', `request ${fastifyError.validationContext ?? 'body'} is invalid: ${error.message}`, {
        errors: fastifyError.validation.map((v) => ({ path: v.instancePath, message: v.message, params: v.params })),
      }),
    );
    return;
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      reply.status(413).send(body('BODY_TOO_LARGE', 'request body is too large'));
      return;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      reply.status(415).send(body('UNSUPPORTED_MEDIA_TYPE', 'send application/json'));
      return;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      reply.status(400).send(body('INVALID_JSON', 'the JSON body is empty'));
      return;
  }
  if (error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    reply.status(400).send(body('INVALID_JSON', `the body is not valid JSON: ${error.message}`));
    return;
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    reply.status(fastifyError.statusCode).send(body(fastifyError.code ?? 'BAD_REQUEST', error.message));
    return;
  }
  request.log.error({ err: error }, 'unhandled error');
  if (isDependencyFailure(error)) {
    reply.status(503).send(body('DEPENDENCY_UNAVAILABLE', 'a service this request needs is unavailable; retry later'));
    return;
  }
  reply.status(500).send(body('INTERNAL', 'internal error; the request id is in the x-request-id header'));
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
]);
const OUTAGE_CODES = new Set(['SCHEMA_REGISTRY_UNAVAILABLE', '57P01', '57P03', '53300']);
const OUTAGE_MESSAGES =
  /ECONNREFUSED|ETIMEDOUT|Connection terminated|Connection is closed|max retries per request|Timeout acquiring a connection|KafkaJS|unreachable/i;

/**
 * Whether an error means a service this request needs is down or overloaded (503, retry later) rather than a
 * bug (500): network failures, ioredis giving up on a request, an exhausted or restarting PostgreSQL, the
 * registry unreachable. Looks through what the error wraps, since clients wrap the socket error.
 */
export function isDependencyFailure(error: unknown): boolean {
  return errorChain(error).some(
    ({ code, message, name }) =>
      (typeof code === 'string' && (NETWORK_CODES.has(code) || OUTAGE_CODES.has(code))) ||
      name === 'MaxRetriesPerRequestError' ||
      name === 'ConnectionError' ||
      (typeof message === 'string' && OUTAGE_MESSAGES.test(message)),
  );
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  reply.status(404).send(body('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url}`));
}
