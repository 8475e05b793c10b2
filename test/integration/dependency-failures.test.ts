import { Client as SearchClient } from '@elastic/elasticsearch';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler, isDataException, isDependencyFailure } from '../../gateway/errors.js';
import { startGateway } from '../../gateway/main.js';
import { loadConfig } from '../../runtime/config.js';
import { connect } from '../../runtime/postgres.js';
import { createTestDatabase, testConfig } from '../support/env.js';
import { baseUrlOf, bearer } from '../support/gateway.js';
import { waitUntil } from '../support/system.js';
import { cuttableProxy, viaProxy } from '../support/tcp-proxy.js';

// Real failures of each client the gateway uses, and what the gateway answers for them: an outage is 503
// DEPENDENCY_UNAVAILABLE (retry later), decided by the error's class and code, whatever the driver's message; a
// value the database refuses is 400 INVALID_INPUT, without the SQLSTATE or the driver's words.

const CLOSED = '127.0.0.1:1'; // nothing listens on port 1
const server = new URL(loadConfig().databaseUrl);
server.pathname = '/postgres';
const postgresUrl = server.toString();

let app: FastifyInstance;
let thrown: unknown;
beforeAll(async () => {
  // The gateway's error handler, answering whatever the route throws.
  app = Fastify();
  app.setErrorHandler(errorHandler);
  app.get('/', async () => {
    throw thrown;
  });
  await app.ready();
});
afterAll(() => app?.close());

async function answerTo(error: unknown): Promise<{ status: number; code: string; text: string }> {
  thrown = error;
  const response = await app.inject({ url: '/' });
  return { status: response.statusCode, code: response.json().error.code, text: response.body };
}

async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

async function expectOutage(error: unknown) {
  expect(isDependencyFailure(error)).toBe(true);
  expect(await answerTo(error)).toMatchObject({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
}

describe('PostgreSQL failures are 503 DEPENDENCY_UNAVAILABLE', () => {
  const pools: Knex[] = [];
  const pool = (url: string, max = 2) => {
    const db = connect(url, { max });
    pools.push(db);
    return db;
  };
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(pools.map((db) => db.destroy()));
    await admin?.end();
  });

  it('a pool pointed at a closed port (ECONNREFUSED)', async () => {
    await expectOutage(await failureOf(() => pool(`postgres://postgres@${CLOSED}/postgres`).raw('select 1')));
  });

  it('a pool whose every connection is taken (knex KnexTimeoutError)', async () => {
    const db = connect(postgresUrl, { max: 1 });
    pools.push(db);
    // acquireConnectionTimeout is 10 s in connect(); a 300 ms one keeps the test short.
    (db.client.config as { acquireConnectionTimeout: number }).acquireConnectionTimeout = 300;
    let release = () => {};
    const held = db.transaction(async (trx) => {
      await trx.raw('select 1');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const error = await failureOf(() => db.raw('select 1'));
    release();
    await held;
    expect((error as Error).name).toBe('KnexTimeoutError');
    await expectOutage(error);
  });

  it.each([
    ['while it waits between statements: the next one finds the client "not queryable"', 100, /not queryable/],
    ['and the next statement follows at once', 0, /ROLLBACK/],
  ])(
    'a transaction whose backend is terminated %s (the failed ROLLBACK replaces the first error)',
    async (_when, pauseMs, message) => {
      const db = pool(postgresUrl);
      const error = await failureOf(() =>
        db.transaction(async (trx) => {
          const { pid } = (await trx.raw('select pg_backend_pid() as pid')).rows[0] as { pid: number };
          await admin.query('select pg_terminate_backend($1)', [pid]);
          if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
          await trx.raw('select 1');
        }),
      );
      expect((error as Error).message).toMatch(message);
      await expectOutage(error);
    },
  );

  it('a query whose backend is terminated while it runs (57P01 admin_shutdown)', async () => {
    const db = connect(postgresUrl, { max: 1, applicationName: 'll-dependency-failures-active' });
    pools.push(db);
    const running = failureOf(() => db.raw('select pg_sleep(30)'));
    await waitUntil(async () => {
      const { rowCount } = await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'll-dependency-failures-active' and state = 'active'",
      );
      return (rowCount ?? 0) > 0;
    });
    const error = await running;
    expect((error as { code?: string }).code).toBe('57P01');
    await expectOutage(error);
  });
});

describe('Redis, Kafka and search engine failures are 503 DEPENDENCY_UNAVAILABLE', () => {
  it('ioredis at a closed port (MaxRetriesPerRequestError)', async () => {
    const redis = new Redis(`redis://${CLOSED}`, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    redis.on('error', () => {});
    try {
      const error = await failureOf(() => redis.get('k'));
      expect((error as Error).name).toBe('MaxRetriesPerRequestError');
      await expectOutage(error);
    } finally {
      redis.disconnect();
    }
  });

  it('ioredis after its connection was closed (only a message: "Connection is closed.")', async () => {
    const redis = new Redis(loadConfig().redisUrl, { lazyConnect: true });
    await redis.connect();
    redis.disconnect();
    await expectOutage(await failureOf(() => redis.get('k')));
  });

  it('kafkajs at a closed port (KafkaJSConnectionError, retries exhausted)', async () => {
    const kafka = new Kafka({
      brokers: [CLOSED],
      connectionTimeout: 300,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const error = await failureOf(() => admin.connect());
    await admin.disconnect().catch(() => {});
    await expectOutage(error);
  });

  it('the search engine client at a closed port (ConnectionError)', async () => {
    const search = new SearchClient({ node: `http://${CLOSED}`, maxRetries: 0, requestTimeout: 1000 });
    try {
      await expectOutage(await failureOf(() => search.search({ index: 'x' })));
    } finally {
      await search.close();
    }
  });

  it('is not fooled by a message: a bug that mentions a refused connection is still a 500', async () => {
    const bug = new TypeError('cannot read "ECONNREFUSED" of undefined (KafkaJS, Connection terminated)');
    expect(isDependencyFailure(bug)).toBe(false);
    expect(await answerTo(bug)).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});

describe('the gateway when its connection to PostgreSQL is lost in the middle of a command', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  beforeAll(async () => {
    database = await createTestDatabase('depfail');
    proxy = await cuttableProxy(new URL(database.url));
    // The write side (commands) goes through the proxy; the read side connects directly.
    gateway = await startGateway({ ...testConfig(database.url), databaseUrl: viaProxy(database.url, proxy) });
  });
  afterAll(async () => {
    await gateway?.stop();
    await proxy?.close();
    await database?.drop();
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE, not 500 INTERNAL ("ROLLBACK - ... not queryable")', async () => {
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      // The append writes its events and their outbox rows in one transaction: with the outbox locked, the command
      // waits inside that transaction, after it has claimed the stream's version. Then the network drops.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE');
      const answer = fetch(`${baseUrlOf(gateway.app)}/commands/ordering/register-restaurant`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...bearer(gateway.tokens, { 'x-actor-id': 'owner-cut', 'x-role': 'restaurant' }),
        },
        body: JSON.stringify({
          name: 'Cut',
          cuisine: 'any',
          address: { line1: '1', city: 'c', postalCode: 'p', country: 'PT' },
        }),
      });
      await waitUntil(
        async () => {
          const waiting = await holder.query(
            `select pid from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
          );
          return waiting.rows.length > 0;
        },
        10_000,
        'the command to wait on the outbox lock',
      );
      proxy.cut();
      await holder.query('ROLLBACK');
      const response = await answer;
      expect({ status: response.status, body: await response.json() }).toMatchObject({
        status: 503,
        body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } },
      });
      expect(response.headers.get('x-request-id')).toEqual(expect.any(String));
    } finally {
      await holder.end();
    }
  });
});

describe('a value the database refuses as data (SQLSTATE class 22) that got past validation', () => {
  let db: Knex;
  beforeAll(() => {
    db = connect(postgresUrl, { max: 1 });
  });
  afterAll(() => db?.destroy());

  it.each([
    ['an impossible date', 'select ?::date', '2024-02-30'],
    ['NUL in text', 'select ?::text', 'a\u0000b'],
    ['a number beyond bigint', 'select ?::bigint', '1000000000000000000000000000000'],
    ['a timestamp PostgreSQL does not read', 'select ?::timestamptz', 'May 2020'],
  ])('is 400 INVALID_INPUT for %s, without the SQLSTATE or the driver’s message', async (_what, sql, value) => {
    const error = await failureOf(() => db.raw(sql, [value]));
    const code = (error as { code: string }).code;
    expect(code).toMatch(/^22/);
    expect(isDataException(error)).toBe(true);
    expect(isDependencyFailure(error)).toBe(false);
    const answer = await answerTo(error);
    expect(answer).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
    expect(answer.text).not.toContain(code);
    expect(answer.text).not.toContain((error as Error).message.split(' - ').pop()!);
  });

  it('is still 500 INTERNAL for a query that is wrong itself (a bug, not the client’s input)', async () => {
    const error = await failureOf(() => db.raw('select * from no_such_table'));
    expect(await answerTo(error)).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});
