import { errors as search } from '@elastic/elasticsearch';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import kafkajs from 'kafkajs';
import knex from 'knex';
import pg from 'pg';
import { type ErrorLink, errorChain } from '../runtime/error-chain.js';
import { type ErrorKind, KindedError } from '../runtime/errors.js';
import { traceOf } from './trace.js';

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
  // Fastify's own refusals of the request; another library's status (a search engine's 400) is not the client's.
  const ownStatus = fastifyError.statusCode;
  if (fastifyError.code?.startsWith('FST_') && ownStatus && ownStatus >= 400 && ownStatus < 500) {
    reply.status(ownStatus).send(body(fastifyError.code, error.message));
    return;
  }
  if (isDataException(error)) {
    // A value the database cannot take got past validation: the request is wrong, but the gateway should have said
    // so itself. Logged to close the gap; the SQLSTATE and the driver's message stay out of the answer.
    request.log.warn({ err: error }, 'database refused a value of the request (SQLSTATE class 22)');
    reply.status(400).send(body('INVALID_INPUT', 'a value of the request is outside what the service can take'));
    return;
  }
  request.log.error({ err: error }, 'unhandled error');
  if (isDependencyFailure(error)) {
    reply.status(503).send(body('DEPENDENCY_UNAVAILABLE', 'a service this request needs is unavailable; retry later'));
    return;
  }
  reply.status(500).send(body('INTERNAL', 'internal error; the request id is in the x-request-id header'));
}

/**
 * Fastify's `frameworkErrors`: the refusals made before routing (a URL that does not decode, a path parameter
 * past `maxParamLength`). Without it Fastify answers in its own shape and without our headers; no hook runs
 * for such a request, so the request and trace ids are set here.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  reply.header('x-trace-id', traceOf(request.raw));
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      reply.status(400).send(body('INVALID_URL', 'the URL does not decode (a stray % or an invalid UTF-8 sequence)'));
      return;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      reply.status(414).send(body('URL_TOO_LONG', 'a path parameter of the URL is too long'));
      return;
    default:
      request.log.error({ err: error }, 'framework error');
      reply.status(500).send(body('INTERNAL', 'internal error; the request id is in the x-request-id header'));
  }
}

/** An SQLSTATE: five digits or upper-case letters (Node's own codes are longer or start with E, never a digit). */
const SQLSTATE = /^[0-9][0-9A-Z]{4}$/;
const sqlstateOf = (link: ErrorLink): string | null =>
  typeof link.code === 'string' && SQLSTATE.test(link.code) ? link.code : null;

/**
 * Whether the database refused a value as data (SQLSTATE class 22: a date out of range, text with NUL, a number
 * too big for its column), which is the request's fault, never an outage nor a bug of the query itself.
 */
export function isDataException(error: unknown): boolean {
  return errorChain(error).some((link) => sqlstateOf(link)?.startsWith('22') === true);
}

/** Socket-level failures, as Node reports them (`code` of a system error). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** Our own clients' outage codes. */
const OUTAGE_CODES = new Set(['SCHEMA_REGISTRY_UNAVAILABLE']);
/**
 * PostgreSQL's outage SQLSTATEs: class 08 (connection exception), 53 (insufficient resources: too many connections,
 * out of memory, disk full), 57P01-57P05 (administrator or crash shutdown, cannot connect now, database dropped,
 * idle session timeout) and 58 (system error: I/O).
 */
const OUTAGE_SQLSTATE = /^(08|53|57P0|58)/;

/** Error classes that mean a dependency is unreachable, overloaded or restarting, whatever their message. */
const OUTAGE_CLASSES: readonly (abstract new (...args: never[]) => Error)[] = [
  // knex: no pool connection within acquireConnectionTimeout (the database is down or every connection is busy).
  knex.KnexTimeoutError,
  // kafkajs: the broker cannot be reached, hung up, timed out, or retries ran out.
  kafkajs.KafkaJSConnectionError,
  kafkajs.KafkaJSRequestTimeoutError,
  kafkajs.KafkaJSNumberOfRetriesExceeded,
  // The search engine's client: no connection, a timeout, every node dead.
  search.ConnectionError,
  search.TimeoutError,
  search.NoLivingConnectionsError,
];
/** The same by name, for a second copy of a package (where instanceof fails) and classes a package does not export. */
const OUTAGE_CLASS_NAMES = new Set([
  ...OUTAGE_CLASSES.map((c) => c.name),
  // ioredis: a command failed on every reconnection attempt it was allowed (not exported by the package root).
  'MaxRetriesPerRequestError',
  // kafkajs classes its type declarations do not name.
  'KafkaJSConnectionClosedError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
]);
/**
 * Last resort, for clients that report an outage with nothing but a message, matched only on plain `Error`s:
 * node-postgres (8.x) reports a lost connection as `Connection terminated unexpectedly` (or `... due to connection
 * timeout`) and every later query on that client as `Client has encountered a connection error and is not
 * queryable` / `Client was closed and is not queryable`, all without a code (and knex's transaction replaces the
 * error that had the SQLSTATE with the failed ROLLBACK's, prefixed `ROLLBACK - `); ioredis rejects commands on a
 * closed connection with `Connection is closed.` and, offline queue disabled, `Stream isn't writeable ...`.
 */
const CODELESS_OUTAGE_MESSAGES =
  /Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Connection is closed\.|Stream isn't writeable and enableOfflineQueue options is false/;

function isOutageLink(link: ErrorLink): boolean {
  const code = typeof link.code === 'string' ? link.code : '';
  if (NETWORK_CODES.has(code) || OUTAGE_CODES.has(code)) return true;
  const sqlstate = sqlstateOf(link);
  if (sqlstate && (link instanceof pg.DatabaseError || 'severity' in link) && OUTAGE_SQLSTATE.test(sqlstate))
    return true;
  if (OUTAGE_CLASSES.some((c) => link instanceof c)) return true;
  if (typeof link.name === 'string' && OUTAGE_CLASS_NAMES.has(link.name)) return true;
  return (
    Object.getPrototypeOf(link) === Error.prototype &&
    typeof link.message === 'string' &&
    CODELESS_OUTAGE_MESSAGES.test(link.message)
  );
}

/**
 * Whether an error means a service this request needs is down or overloaded (503, retry later) rather than a
 * bug (500), by the error's class and code: socket failures, PostgreSQL's connection, shutdown and resource
 * SQLSTATEs, knex's pool timeout, ioredis giving up on a command, kafkajs's connection errors, the search engine's
 * and the registry's. Messages decide only for the clients that give nothing else (CODELESS_OUTAGE_MESSAGES).
 * Looks through what the error wraps, since clients wrap the socket error.
 */
export function isDependencyFailure(error: unknown): boolean {
  return errorChain(error).some(isOutageLink);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  reply.status(404).send(body('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url}`));
}
