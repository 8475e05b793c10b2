import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, loadConfig } from '../../runtime/config.js';

/** Runs loadConfig and returns the ConfigError it throws; fails the test if it succeeds or throws another error. */
function configError(env: Record<string, string>): ConfigError {
  let config: Config | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError, got ${JSON.stringify(config)}`);
}

describe('loadConfig', () => {
  it('uses defaults that work on a developer machine when no variable is set', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/ledgerline',
      readDatabaseUrl: 'postgres://postgres@127.0.0.1:5432/ledgerline',
      redisUrl: 'redis://127.0.0.1:6379',
      kafkaBrokers: ['127.0.0.1:9092'],
      registryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
      searchUrl: 'http://127.0.0.1:9200',
      topicPrefix: '',
      httpHost: '127.0.0.1',
      httpPort: 3000,
      logLevel: 'info',
      outboxShards: 16,
      idempotencyKeyTtlHours: 168,
      jwtSecret: 'ledgerline-development-secret-change-me-in-production',
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 2_592_000,
      rateLimitMax: 600,
      rateLimitIpMax: 1200,
      rateLimitWindowMs: 60_000,
      paymentProvider: 'simulator',
      paymentSimulatorUrl: 'http://127.0.0.1:12111',
      stripeApiKey: 'sk_test_ledgerline_simulator',
      stripeWebhookSecret: 'whsec_ledgerline_simulator',
      sagaAcceptanceTimeoutMs: 300_000,
      sagaPaymentTimeoutMs: 120_000,
      sagaRetryBaseMs: 1000,
      paymentCircuitFailures: 5,
      paymentCircuitOpenMs: 60_000,
    } satisfies Config);
  });

  it('reads every variable it is given', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://app:secret@db.internal:5433/ledger',
      READ_DATABASE_URL: 'postgres://reader@replica.internal:5432/ledger',
      REDIS_URL: 'redis://cache.internal:6380',
      KAFKA_BROKERS: 'k1.internal:9092, k2.internal:9093',
      SCHEMA_REGISTRY_URL: 'https://registry.internal/apis/ccompat/v7',
      SEARCH_URL: 'https://search.internal:9243',
      TOPIC_PREFIX: 'test-42.',
      HOST: '0.0.0.0',
      PORT: '8080',
      LOG_LEVEL: 'debug',
      OUTBOX_SHARDS: '4',
      IDEMPOTENCY_KEY_TTL_HOURS: '0',
      JWT_SECRET: 'a-secret-of-at-least-thirty-two-characters',
      ACCESS_TOKEN_TTL_SECONDS: '60',
      REFRESH_TOKEN_TTL_SECONDS: '3600',
      RATE_LIMIT_MAX: '10',
      RATE_LIMIT_IP_MAX: '20',
      RATE_LIMIT_WINDOW_MS: '1000',
    });

    expect(config).toEqual({
      databaseUrl: 'postgresql://app:secret@db.internal:5433/ledger',
      readDatabaseUrl: 'postgres://reader@replica.internal:5432/ledger',
      redisUrl: 'redis://cache.internal:6380',
      kafkaBrokers: ['k1.internal:9092', 'k2.internal:9093'],
      registryUrl: 'https://registry.internal/apis/ccompat/v7',
      searchUrl: 'https://search.internal:9243',
      topicPrefix: 'test-42.',
      httpHost: '0.0.0.0',
      httpPort: 8080,
      logLevel: 'debug',
      outboxShards: 4,
      idempotencyKeyTtlHours: 0,
      jwtSecret: 'a-secret-of-at-least-thirty-two-characters',
      accessTokenTtlSeconds: 60,
      refreshTokenTtlSeconds: 3600,
      rateLimitMax: 10,
      rateLimitIpMax: 20,
      rateLimitWindowMs: 1000,
      paymentProvider: 'simulator',
      paymentSimulatorUrl: 'http://127.0.0.1:12111',
      stripeApiKey: 'sk_test_ledgerline_simulator',
      stripeWebhookSecret: 'whsec_ledgerline_simulator',
      sagaAcceptanceTimeoutMs: 300_000,
      sagaPaymentTimeoutMs: 120_000,
      sagaRetryBaseMs: 1000,
      paymentCircuitFailures: 5,
      paymentCircuitOpenMs: 60_000,
    } satisfies Config);
  });

  it('reads from the read database what DATABASE_URL names when READ_DATABASE_URL is unset', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db.internal/ledger' }).readDatabaseUrl).toBe(
      'postgres://db.internal/ledger',
    );
  });

  it('treats an empty PORT as unset', () => {
    expect(loadConfig({ PORT: '' }).httpPort).toBe(3000);
  });

  it('accepts the PORT bounds 0 and 65535', () => {
    expect(loadConfig({ PORT: '0' }).httpPort).toBe(0);
    expect(loadConfig({ PORT: '65535' }).httpPort).toBe(65535);
  });

  it('lists a bad PORT, DATABASE_URL, KAFKA_BROKERS and LOG_LEVEL together in one ConfigError', () => {
    const error = configError({
      PORT: 'eighty',
      DATABASE_URL: 'not a url',
      // Set, so that the bad DATABASE_URL is not reported a second time through its default (see below).
      READ_DATABASE_URL: 'postgres://127.0.0.1/ledgerline',
      KAFKA_BROKERS: 'localhost',
      LOG_LEVEL: 'verbose',
    });

    expect(error.problems).toHaveLength(4);
    for (const name of ['PORT', 'DATABASE_URL', 'KAFKA_BROKERS', 'LOG_LEVEL']) {
      expect(error.problems.filter((problem) => problem.startsWith(`${name} `))).toHaveLength(1);
      expect(error.message).toContain(name);
    }
    expect(error.message).toMatch(/^invalid configuration:\n {2}- /);
    expect(error.message).toContain('eighty');
    expect(error.message).toContain('verbose');
  });

  // Regression: READ_DATABASE_URL defaults to DATABASE_URL and must not be blamed for its problems.
  it('reports a bad DATABASE_URL once, not again under an unset READ_DATABASE_URL', () => {
    const error = configError({
      PORT: 'eighty',
      DATABASE_URL: 'not a url',
      KAFKA_BROKERS: 'localhost',
      LOG_LEVEL: 'verbose',
    });

    expect(error.problems).toHaveLength(4);
    expect(error.message).not.toContain('READ_DATABASE_URL');
  });

  it.each([
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['OUTBOX_SHARDS', '0'],
    ['OUTBOX_SHARDS', '1025'],
    ['READ_DATABASE_URL', 'http://127.0.0.1/ledgerline'],
    ['REDIS_URL', 'not a url'],
    ['REDIS_URL', 'rediss://cache.internal:6380'],
    ['SCHEMA_REGISTRY_URL', 'ftp://registry.internal'],
    ['SEARCH_URL', ''],
    ['KAFKA_BROKERS', ''],
    ['KAFKA_BROKERS', '127.0.0.1:9092,'],
    ['KAFKA_BROKERS', 'k1:9092,k2'],
    ['TOPIC_PREFIX', 'test/42'],
    ['LOG_LEVEL', 'INFO'],
  ])('refuses %s=%j, naming the variable', (name, value) => {
    const error = configError({ [name]: value });

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(new RegExp(`^${name} `));
  });

  it('refuses a DATABASE_URL that is not PostgreSQL, naming the variable and the value', () => {
    const error = configError({
      DATABASE_URL: 'mysql://127.0.0.1/ledgerline',
      READ_DATABASE_URL: 'postgres://127.0.0.1/ledgerline',
    });

    expect(error.problems).toEqual([
      'DATABASE_URL must use postgres: or postgresql: (got mysql://127.0.0.1/ledgerline)',
    ]);
  });

  // Regression: a PORT of blanks used to pass as 0, binding a random port.
  it('refuses a PORT made only of blanks instead of binding a random port', () => {
    expect(configError({ PORT: '  ' }).problems[0]).toMatch(/^PORT /);
  });
});
