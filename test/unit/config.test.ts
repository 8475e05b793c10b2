import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, loadConfig } from '../../runtime/config.js';

// Secrets have no default (issue 12: the published ones signed forged tokens): every test names its own.
const SECRETS = {
  JWT_SECRET: 'k7Qm2vX9pL4sT8wZ1bN6cR3yF5hJ0dGa',
  STRIPE_WEBHOOK_SECRET: 'whsec_u3Vn8Kq1Zr6Tx2Lm9Pc4Ws7Hb5Jd0Fy',
};
/** Values this project's source once used as defaults: public, so never a key. */
const FORMER_JWT_DEFAULT = 'ledgerline-development-secret-change-me-in-production';
const FORMER_WEBHOOK_DEFAULT = 'whsec_ledgerline_simulator';

/** Runs loadConfig and returns the ConfigError it throws; fails the test if it succeeds or throws another error. */
function configError(env: Record<string, string>, secrets: Record<string, string> = SECRETS): ConfigError {
  let config: Config | undefined;
  try {
    config = loadConfig({ ...secrets, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError, got ${JSON.stringify(config)}`);
}

describe('loadConfig', () => {
  it('uses defaults that work on a developer machine when only the secrets are set', () => {
    expect(loadConfig(SECRETS)).toEqual({
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
      jwtSecret: SECRETS.JWT_SECRET,
      jwtIssuer: 'ledgerline',
      jwtAudience: 'ledgerline-api',
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 2_592_000,
      rateLimitMax: 600,
      rateLimitIpMax: 1200,
      rateLimitWindowMs: 60_000,
      paymentProvider: 'simulator',
      paymentSimulatorUrl: 'http://127.0.0.1:12111',
      stripeApiKey: 'sk_test_ledgerline_simulator',
      stripeWebhookSecret: SECRETS.STRIPE_WEBHOOK_SECRET,
      sagaAcceptanceTimeoutMs: 300_000,
      sagaPaymentTimeoutMs: 120_000,
      sagaRetryBaseMs: 1000,
      sagaPartitionsConcurrently: 4,
      sagaBatchEvents: 200,
      sagaDispatchConcurrency: 16,
      sagaCommandLeaseMs: 30_000,
      marketplaceFeeBps: 1000,
      marketplaceFundingWindowMs: 72 * 3_600_000,
      marketplaceAutoApproveMs: 14 * 86_400_000,
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
      JWT_ISSUER: 'https://auth.example.com',
      JWT_AUDIENCE: 'ledger-api',
      ACCESS_TOKEN_TTL_SECONDS: '60',
      REFRESH_TOKEN_TTL_SECONDS: '3600',
      RATE_LIMIT_MAX: '10',
      RATE_LIMIT_IP_MAX: '20',
      RATE_LIMIT_WINDOW_MS: '1000',
      STRIPE_WEBHOOK_SECRET: 'whsec_given',
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
      jwtIssuer: 'https://auth.example.com',
      jwtAudience: 'ledger-api',
      accessTokenTtlSeconds: 60,
      refreshTokenTtlSeconds: 3600,
      rateLimitMax: 10,
      rateLimitIpMax: 20,
      rateLimitWindowMs: 1000,
      paymentProvider: 'simulator',
      paymentSimulatorUrl: 'http://127.0.0.1:12111',
      stripeApiKey: 'sk_test_ledgerline_simulator',
      stripeWebhookSecret: 'whsec_given',
      sagaAcceptanceTimeoutMs: 300_000,
      sagaPaymentTimeoutMs: 120_000,
      sagaRetryBaseMs: 1000,
      sagaPartitionsConcurrently: 4,
      sagaBatchEvents: 200,
      sagaDispatchConcurrency: 16,
      sagaCommandLeaseMs: 30_000,
      marketplaceFeeBps: 1000,
      marketplaceFundingWindowMs: 72 * 3_600_000,
      marketplaceAutoApproveMs: 14 * 86_400_000,
      paymentCircuitFailures: 5,
      paymentCircuitOpenMs: 60_000,
    } satisfies Config);
  });

  it('reads from the read database what DATABASE_URL names when READ_DATABASE_URL is unset', () => {
    expect(loadConfig({ ...SECRETS, DATABASE_URL: 'postgres://db.internal/ledger' }).readDatabaseUrl).toBe(
      'postgres://db.internal/ledger',
    );
  });

  it('treats an empty PORT as unset', () => {
    expect(loadConfig({ ...SECRETS, PORT: '' }).httpPort).toBe(3000);
  });

  it('accepts the PORT bounds 0 and 65535', () => {
    expect(loadConfig({ ...SECRETS, PORT: '0' }).httpPort).toBe(0);
    expect(loadConfig({ ...SECRETS, PORT: '65535' }).httpPort).toBe(65535);
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

  describe('secrets (issue 12: the published defaults signed a forged admin token and fake webhooks)', () => {
    it('refuses to start without JWT_SECRET and STRIPE_WEBHOOK_SECRET, listing both with the other problems', () => {
      const error = configError({ PORT: 'eighty' }, {});

      expect(error.problems).toHaveLength(3);
      expect(error.problems[0]).toMatch(/^PORT /);
      expect(error.problems[1]).toMatch(/^JWT_SECRET is not set/);
      expect(error.problems[2]).toMatch(/^STRIPE_WEBHOOK_SECRET is not set/);
      // Says how to get one: the quick start generates them, elsewhere they come from a secret store.
      expect(error.message).toContain('.stack/secrets.env');
    });

    it('refuses an empty secret as unset', () => {
      const error = configError({ JWT_SECRET: '', STRIPE_WEBHOOK_SECRET: '' }, {});
      expect(error.problems.map((p) => p.split(' ')[0])).toEqual(['JWT_SECRET', 'STRIPE_WEBHOOK_SECRET']);
    });

    it.each([
      ['JWT_SECRET', FORMER_JWT_DEFAULT],
      ['STRIPE_WEBHOOK_SECRET', FORMER_WEBHOOK_DEFAULT],
    ])('never takes %s equal to the value the source once published as its default', (name, value) => {
      const error = configError({ [name]: value });
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(new RegExp(`^${name} is a published value`));
      // The message never repeats the secret it refuses.
      expect(error.message).not.toContain(value);
    });

    it('refuses a JWT_SECRET shorter than 32 characters', () => {
      expect(configError({ JWT_SECRET: 'too-short' }).problems).toEqual([
        'JWT_SECRET must be at least 32 characters (got 9)',
      ]);
    });

    it('with NODE_ENV=production also refuses short or low-variety secrets', () => {
      const production = { NODE_ENV: 'production' };
      expect(loadConfig({ ...SECRETS, ...production }).jwtSecret).toBe(SECRETS.JWT_SECRET);
      // Accepted in development (a local simulator's secret), refused in production.
      expect(loadConfig({ ...SECRETS, STRIPE_WEBHOOK_SECRET: 'whsec_local' }).stripeWebhookSecret).toBe('whsec_local');
      expect(configError({ ...production, STRIPE_WEBHOOK_SECRET: 'whsec_local' }).problems).toEqual([
        'STRIPE_WEBHOOK_SECRET must be at least 32 characters in production (got 11)',
      ]);
      const repetitive = 'ab'.repeat(20);
      expect(loadConfig({ ...SECRETS, JWT_SECRET: repetitive }).jwtSecret).toBe(repetitive);
      expect(configError({ ...production, JWT_SECRET: repetitive }).problems).toEqual([
        'JWT_SECRET has only 2 different characters: in production use a random value',
      ]);
    });

    it('takes an empty JWT_ISSUER or JWT_AUDIENCE as unset and refuses blank ones', () => {
      const config = loadConfig({ ...SECRETS, JWT_ISSUER: '', JWT_AUDIENCE: '' });
      expect([config.jwtIssuer, config.jwtAudience]).toEqual(['ledgerline', 'ledgerline-api']);
      const error = configError({ JWT_ISSUER: ' ', JWT_AUDIENCE: '  ' });
      expect(error.problems.map((p) => p.split(' ')[0])).toEqual(['JWT_ISSUER', 'JWT_AUDIENCE']);
    });

    it("with secrets: 'unused' (a tool that signs nothing) neither asks for them nor reads them", () => {
      const config = loadConfig({ JWT_SECRET: SECRETS.JWT_SECRET }, { secrets: 'unused' });
      expect([config.jwtSecret, config.stripeWebhookSecret]).toEqual(['', '']);
      expect(() => loadConfig({ PORT: 'x' }, { secrets: 'unused' })).toThrow(/^invalid configuration:\n {2}- PORT /);
    });
  });
});
