// Process configuration from environment variables, with defaults that work on a developer machine
// running ops/stack. Validated once at start-up; every problem is listed in one readable error.
// Secrets have no default: a value in the source is public, and the published defaults once signed a forged
// admin token and fake payment webhooks (issue 12). The quick start and the tests generate their own.

export interface Config {
  readonly databaseUrl: string;
  readonly readDatabaseUrl: string;
  readonly redisUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly registryUrl: string;
  readonly searchUrl: string;
  /** Prepended to every topic name, so tests and side-by-side environments never share a topic. */
  readonly topicPrefix: string;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly logLevel: string;
  readonly outboxShards: number;
  /** How long a command's Idempotency-Key is remembered (the relay prunes older ones); 0 keeps them forever. */
  readonly idempotencyKeyTtlHours: number;
  /** HS256 key of access tokens: at least 32 characters, never a value published in the source. */
  readonly jwtSecret: string;
  /** `iss` of access tokens, required when verifying. */
  readonly jwtIssuer: string;
  /** `aud` of access tokens, required when verifying. */
  readonly jwtAudience: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Requests per window, per caller (account when authenticated, else IP). */
  readonly rateLimitMax: number;
  /** Requests per window per client IP (several accounts may share one address). */
  readonly rateLimitIpMax: number;
  readonly rateLimitWindowMs: number;
  /** `simulator`: the local Stripe-compatible simulator at paymentSimulatorUrl; `stripe`: Stripe itself. */
  readonly paymentProvider: 'simulator' | 'stripe';
  readonly paymentSimulatorUrl: string;
  readonly stripeApiKey: string;
  /** Key of the provider's webhook signatures (the simulator signs with it too). */
  readonly stripeWebhookSecret: string;
  readonly sagaAcceptanceTimeoutMs: number;
  readonly sagaPaymentTimeoutMs: number;
  /** First retry delay of saga commands; doubled each attempt (1, 2, 4, 8, 16 s by default). */
  readonly sagaRetryBaseMs: number;
  /** Kafka partitions whose event batches a saga applies at the same time (each batch in one transaction). */
  readonly sagaPartitionsConcurrently: number;
  /** Events a saga applies per transaction at most. */
  readonly sagaBatchEvents: number;
  /** Saga commands (provider calls) one dispatcher performs at the same time. */
  readonly sagaDispatchConcurrency: number;
  /** How long a dispatcher's claim on a command lasts unless renewed: how soon a killed process's commands move on. */
  readonly sagaCommandLeaseMs: number;
  /** The marketplace's fee on each milestone released, in basis points (fixed per contract when it is funded). */
  readonly marketplaceFeeBps: number;
  /** How long a hirer has to fund a new contract before it ends NOT_STARTED. */
  readonly marketplaceFundingWindowMs: number;
  /** How long a submitted milestone waits for the hirer before it is approved automatically. */
  readonly marketplaceAutoApproveMs: number;
  /** Consecutive transient provider failures that open the payment circuit breaker. */
  readonly paymentCircuitFailures: number;
  /** How long an open payment circuit fails fast before a trial call. */
  readonly paymentCircuitOpenMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** The secrets every process needs from its environment; none has a default. */
export const SECRET_VARIABLES = ['JWT_SECRET', 'STRIPE_WEBHOOK_SECRET'] as const;

/**
 * Values this project's source once shipped as defaults (before issue 12). Anyone can read them, so they are
 * refused wherever a secret is taken: never a signing or verifying key, in any environment.
 */
const PUBLISHED_SECRETS: ReadonlySet<string> = new Set([
  'ledgerline-development-secret-change-me-in-production',
  'whsec_ledgerline_simulator',
]);

/** Whether `secret` is a value published in this project's source (a former default). */
export const isPublishedSecret = (secret: string): boolean => PUBLISHED_SECRETS.has(secret);

const SECRET_HINT =
  'ops/run generates one into .stack/secrets.env; elsewhere set it from your secret store, e.g. ' +
  `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;
/** In production: at least this long (Stripe's own webhook secrets are 38 characters). */
const PRODUCTION_MIN_SECRET = 32;
/** In production: a random secret of 32 characters has about 25 different ones; this catches 'abab…', '1111…'. */
const PRODUCTION_MIN_DISTINCT = 10;

/** An integer variable in min..max, or `fallback` when unset or empty; a bad value is added to `problems`. */
export function readInt(
  env: Env,
  problems: string[],
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer in ${min}..${max} (got ${raw})`);
    return fallback;
  }
  return value;
}

export interface LoadOptions {
  /**
   * `required` (the default): JWT_SECRET and STRIPE_WEBHOOK_SECRET must be set and strong. `unused`: for a tool
   * that neither signs nor verifies anything (the engineers' CLI): they are not read and left empty, a value
   * every signer and verifier refuses, so such a configuration can never start a gateway.
   */
  readonly secrets?: 'required' | 'unused';
}

export function loadConfig(env: Env = process.env, options: LoadOptions = {}): Config {
  const problems: string[] = [];
  const url = (name: string, fallback: string, protocols: readonly string[]): string => {
    const value = env[name] ?? fallback;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol))
        problems.push(`${name} must use ${protocols.join(' or ')} (got ${value})`);
    } catch {
      problems.push(`${name} is not a URL (got ${value})`);
    }
    return value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number =>
    readInt(env, problems, name, fallback, min, max);
  const production = env.NODE_ENV === 'production';
  // Checked last, so their problems follow the others'; the message never repeats a secret's value.
  const secretProblems: string[] = [];
  const secret = (name: (typeof SECRET_VARIABLES)[number], minLength: number): string => {
    if (options.secrets === 'unused') return '';
    const value = env[name] ?? '';
    if (value === '') {
      secretProblems.push(`${name} is not set (${SECRET_HINT})`);
    } else if (isPublishedSecret(value)) {
      secretProblems.push(`${name} is a published value (a former default in this project's source); ${SECRET_HINT}`);
    } else if (value.length < minLength) {
      secretProblems.push(`${name} must be at least ${minLength} characters (got ${value.length})`);
    } else if (production && value.length < PRODUCTION_MIN_SECRET) {
      secretProblems.push(
        `${name} must be at least ${PRODUCTION_MIN_SECRET} characters in production (got ${value.length})`,
      );
    } else if (production && new Set(value).size < PRODUCTION_MIN_DISTINCT) {
      secretProblems.push(
        `${name} has only ${new Set(value).size} different characters: in production use a random value`,
      );
    }
    return value;
  };
  const name = (variable: string, fallback: string): string => {
    const value = env[variable];
    if (value === undefined || value === '') return fallback;
    if (value.trim() !== value || value.trim() === '')
      problems.push(`${variable} must not be blank or start or end with blanks`);
    return value;
  };
  const databaseUrl = url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/ledgerline', [
    'postgres:',
    'postgresql:',
  ]);
  const config: Config = {
    databaseUrl,
    // Checked only when set: its default is DATABASE_URL, whose problems are already listed.
    readDatabaseUrl: env.READ_DATABASE_URL
      ? url('READ_DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:'])
      : databaseUrl,
    redisUrl: url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:']),
    kafkaBrokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()),
    registryUrl: url('SCHEMA_REGISTRY_URL', 'http://127.0.0.1:8081/apis/ccompat/v7', ['http:', 'https:']),
    searchUrl: url('SEARCH_URL', 'http://127.0.0.1:9200', ['http:', 'https:']),
    topicPrefix: env.TOPIC_PREFIX ?? '',
    httpHost: env.HOST ?? '127.0.0.1',
    httpPort: int('PORT', 3000, 0, 65535),
    logLevel: env.LOG_LEVEL ?? 'info',
    outboxShards: int('OUTBOX_SHARDS', 16, 1, 1024),
    // A week: longer than any client's retry and than Stripe's three days of webhook redelivery.
    idempotencyKeyTtlHours: int('IDEMPOTENCY_KEY_TTL_HOURS', 168, 0, 87_600),
    jwtSecret: secret('JWT_SECRET', 32),
    jwtIssuer: name('JWT_ISSUER', 'ledgerline'),
    jwtAudience: name('JWT_AUDIENCE', 'ledgerline-api'),
    accessTokenTtlSeconds: int('ACCESS_TOKEN_TTL_SECONDS', 900, 10, 86_400),
    refreshTokenTtlSeconds: int('REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
    rateLimitMax: int('RATE_LIMIT_MAX', 600, 1, 1_000_000),
    rateLimitIpMax: int('RATE_LIMIT_IP_MAX', 1200, 1, 10_000_000),
    rateLimitWindowMs: int('RATE_LIMIT_WINDOW_MS', 60_000, 100, 3_600_000),
    paymentProvider: env.PAYMENT_PROVIDER === 'stripe' ? 'stripe' : 'simulator',
    paymentSimulatorUrl: url('PAYMENT_SIMULATOR_URL', 'http://127.0.0.1:12111', ['http:', 'https:']),
    stripeApiKey: env.STRIPE_API_KEY ?? 'sk_test_ledgerline_simulator',
    stripeWebhookSecret: secret('STRIPE_WEBHOOK_SECRET', 1),
    sagaAcceptanceTimeoutMs: int('SAGA_ACCEPTANCE_TIMEOUT_MS', 5 * 60_000, 100, 24 * 3_600_000),
    sagaPaymentTimeoutMs: int('SAGA_PAYMENT_TIMEOUT_MS', 2 * 60_000, 100, 24 * 3_600_000),
    sagaRetryBaseMs: int('SAGA_RETRY_BASE_MS', 1000, 1, 60_000),
    // Sized for 2 cores: the saga's work is mostly waiting on PostgreSQL and the provider, not its own CPU.
    sagaPartitionsConcurrently: int('SAGA_PARTITIONS_CONCURRENTLY', 4, 1, 64),
    sagaBatchEvents: int('SAGA_BATCH_EVENTS', 200, 1, 5000),
    sagaDispatchConcurrency: int('SAGA_DISPATCH_CONCURRENCY', 16, 1, 256),
    sagaCommandLeaseMs: int('SAGA_COMMAND_LEASE_MS', 30_000, 1000, 3_600_000),
    marketplaceFeeBps: int('MARKETPLACE_FEE_BPS', 1000, 0, 5000),
    marketplaceFundingWindowMs: int('MARKETPLACE_FUNDING_WINDOW_MS', 72 * 3_600_000, 100, 30 * 86_400_000),
    marketplaceAutoApproveMs: int('MARKETPLACE_AUTO_APPROVE_MS', 14 * 86_400_000, 100, 90 * 86_400_000),
    paymentCircuitFailures: int('PAYMENT_CIRCUIT_FAILURES', 5, 1, 1000),
    paymentCircuitOpenMs: int('PAYMENT_CIRCUIT_OPEN_MS', 60_000, 100, 3_600_000),
  };
  if (env.PAYMENT_PROVIDER !== undefined && !['simulator', 'stripe'].includes(env.PAYMENT_PROVIDER)) {
    problems.push(`PAYMENT_PROVIDER must be simulator or stripe (got ${env.PAYMENT_PROVIDER})`);
  }
  if (config.paymentProvider === 'stripe' && !env.STRIPE_API_KEY)
    problems.push('PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY');
  for (const broker of config.kafkaBrokers) {
    if (!/^[^:\s]+:\d+$/.test(broker)) problems.push(`KAFKA_BROKERS must be host:port[,host:port] (got ${broker})`);
  }
  if (!/^[a-z0-9._-]*$/i.test(config.topicPrefix))
    problems.push(`TOPIC_PREFIX may hold only letters, digits, '.', '_', '-'`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got ${config.logLevel})`);
  }
  problems.push(...secretProblems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
