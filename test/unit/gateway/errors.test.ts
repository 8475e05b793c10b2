import { errors as search } from '@elastic/elasticsearch';
import Fastify from 'fastify';
import kafkajs from 'kafkajs';
import knex from 'knex';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { errorHandler, isDataException, isDependencyFailure } from '../../../gateway/errors.js';
import { RegistryUnavailableError } from '../../../schemas/registry.js';

// How the gateway classifies failures: by the error's class and code (real failures of each client are in
// test/integration/dependency-failures.test.ts; these are the cases no local failure produces cheaply).

const databaseError = (code: string, message = 'x') => {
  const error = new pg.DatabaseError(message, 0, 'error');
  error.code = code;
  error.severity = 'FATAL';
  return error;
};
const wrapped = (cause: unknown) => new Error('outer', { cause });

describe('isDependencyFailure', () => {
  it.each([
    ['08006 connection failure', databaseError('08006')],
    ['08001 cannot establish a connection', databaseError('08001')],
    ['57P01 admin shutdown', databaseError('57P01')],
    ['57P02 crash shutdown', databaseError('57P02')],
    ['57P03 cannot connect now (starting up)', databaseError('57P03')],
    ['53300 too many connections', databaseError('53300')],
    ['53100 disk full', databaseError('53100')],
    ['58030 I/O error', databaseError('58030')],
    ['a pool timeout', new knex.KnexTimeoutError('Knex: Timeout acquiring a connection.')],
    ['a kafkajs connection error', new kafkajs.KafkaJSConnectionError('Connection error')],
    [
      'kafkajs retries exhausted',
      new kafkajs.KafkaJSNumberOfRetriesExceeded(new Error('x'), { retryCount: 5, retryTime: 1 }),
    ],
    ['a kafkajs request timeout', new kafkajs.KafkaJSRequestTimeoutError('timed out')],
    ['a search engine connection error', new search.ConnectionError('down')],
    ['a search engine timeout', new search.TimeoutError('slow')],
    ['no living search node', new search.NoLivingConnectionsError('none', {} as never)],
    ['the registry unreachable', new RegistryUnavailableError('unreachable')],
    ['a socket error wrapped twice', wrapped(wrapped(Object.assign(new Error('x'), { code: 'ECONNRESET' })))],
    [
      'one address of a dual-stack connect',
      new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]),
    ],
    [
      'pg after a lost connection (codeless)',
      new Error('ROLLBACK - Client has encountered a connection error and is not queryable'),
    ],
    ['pg losing its connection (codeless)', new Error('Connection terminated unexpectedly')],
    ['ioredis on a closed connection (codeless)', new Error('Connection is closed.')],
  ])('is an outage: %s', (_what, error) => {
    expect(isDependencyFailure(error)).toBe(true);
  });

  it('names ioredis’s MaxRetriesPerRequestError by its class name (the package root does not export it)', () => {
    class MaxRetriesPerRequestError extends Error {
      override name = 'MaxRetriesPerRequestError';
    }
    expect(isDependencyFailure(new MaxRetriesPerRequestError('Reached the max retries per request limit'))).toBe(true);
  });

  it.each([
    ['a data exception', databaseError('22P02')],
    ['a unique violation', databaseError('23505')],
    ['a syntax error in our SQL', databaseError('42601')],
    ['a serialization failure (a conflict, retried elsewhere)', databaseError('40001')],
    ['a TypeError that mentions ECONNREFUSED', new TypeError('ECONNREFUSED is not a function')],
    ['an Error whose text says KafkaJS', new Error('the KafkaJS topic name is invalid')],
    ['a plain bug', new Error('undefined is not an object')],
  ])('is not an outage: %s', (_what, error) => {
    expect(isDependencyFailure(error)).toBe(false);
  });
});

describe('the answers', () => {
  const answer = async (error: unknown) => {
    const app = Fastify();
    app.setErrorHandler(errorHandler);
    app.get('/', async () => {
      throw error;
    });
    const response = await app.inject({ url: '/' });
    return { status: response.statusCode, body: response.json(), text: response.body };
  };

  it('maps any SQLSTATE class 22 to 400 INVALID_INPUT without echoing it', async () => {
    const error = databaseError('22008', 'date/time field value out of range: "2024-02-30"');
    expect(isDataException(error)).toBe(true);
    const { status, body, text } = await answer(wrapped(error));
    expect({ status, code: body.error.code }).toEqual({ status: 400, code: 'INVALID_INPUT' });
    expect(text).not.toMatch(/22008|out of range|2024-02-30/);
  });

  it('maps an outage to 503 and a bug to 500', async () => {
    expect((await answer(databaseError('57P01'))).status).toBe(503);
    expect((await answer(new Error('boom'))).status).toBe(500);
  });

  it('does not pass another library’s 4xx status (and message) through as the client’s', async () => {
    const upstream = Object.assign(new Error('search_phase_execution_exception: [x] internal detail'), {
      statusCode: 400,
      code: 'ResponseError',
    });
    const { status, text } = await answer(upstream);
    expect(status).toBe(500);
    expect(text).not.toContain('internal detail');
  });
});
