import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openWriteSide } from '../../commands/write-side.js';
import { tokenServiceFor } from '../../gateway/tokens.js';
import { loadDemoData } from '../../ops/demo/contexts.js';
import { allProjections } from '../../projections/contexts.js';
import { type Config, loadConfig } from '../../runtime/config.js';
import { type BenchDatabase, createBenchDatabase, uniqueSuffix } from './db.js';
import {
  assertAlive,
  cleanUpOnInterrupt,
  type RoleProcess,
  spawnRole,
  stopRoles,
  waitForLog,
} from './e2e-processes.js';
import { benchKafka } from './kafka.js';
import { progress, within } from './progress.js';
import { benchConfig, deleteRedisKeys, deleteSubjects } from './stack.js';

// The whole system as production runs it, one process per role — payment provider (the local Stripe-compatible
// simulator), outbox relay, projector, sagas, gateway — on a database and a topic prefix of its own, with the
// quick start's demo restaurants and menu. Everything it makes is named by the prefix or the database, and
// removed by stop().

const START_TIMEOUT_MS = 90_000;
/** Production's log level: the roles log their start, the gateway one line per request, as deployed. */
const LOG_LEVEL = 'info';

export interface E2eSystem {
  readonly prefix: string;
  readonly config: Config;
  readonly gatewayUrl: string;
  readonly roles: readonly RoleProcess[];
  /** Access tokens of distinct customer accounts, signed with the gateway's secret. */
  readonly customerTokens: readonly string[];
  /** Throws if a role has died: a measurement without one of them means nothing. */
  assertAlive(): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

/** Removes what the roles created outside the database: topics and consumer groups of the prefix, indexes. */
async function deleteKafkaAndSearch(prefix: string, searchUrl: string): Promise<void> {
  const admin = benchKafka('ledgerline-bench-e2e-admin').admin();
  try {
    await admin.connect();
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
  } catch {
    // the broker is unreachable: nothing to clean up that we could reach anyway
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  try {
    const base = searchUrl.replace(/\/$/, '');
    const res = await fetch(`${base}/_cat/indices/${encodeURIComponent(`${prefix}*`)}?format=json`, {
      signal: AbortSignal.timeout(5000),
    });
    const indexes = res.ok ? ((await res.json()) as { index: string }[]).map((i) => i.index) : [];
    for (const index of indexes.filter((i) => i.startsWith(prefix))) {
      await fetch(`${base}/${encodeURIComponent(index)}`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
    }
  } catch {
    // Elasticsearch unreachable: a leftover index only wastes disk
  }
}

export interface E2eSystemOptions {
  /** Names the database (`ll_bench_<label>_…`) and the log directory. */
  readonly label: string;
  readonly customers: number;
}

export async function startE2eSystem(options: E2eSystemOptions): Promise<E2eSystem> {
  const prefix = `bench${uniqueSuffix()}.`;
  const [gatewayPort, paymentsPort] = [await freePort(), await freePort()];
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const logDir = mkdtempSync(join(tmpdir(), `ledgerline-bench-${options.label}-`));
  const overrides: Record<string, string> = {
    PORT: String(gatewayPort),
    LOG_LEVEL,
    // Far above the load (every order comes from one address): the limiter still runs, but never refuses.
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_IP_MAX: '10000000',
    RATE_LIMIT_WINDOW_MS: '60000',
    // The suite mints its customers' tokens once; they must outlive the longest run.
    ACCESS_TOKEN_TTL_SECONDS: '7200',
    PAYMENT_PROVIDER: 'simulator',
    PAYMENT_SIMULATOR_URL: `http://127.0.0.1:${paymentsPort}`,
    // The bench never accepts its orders: without this the saga would cancel the first step's orders (and void
    // their payments) 5 minutes later, in the middle of a later step, adding work no step asked for.
    SAGA_ACCEPTANCE_TIMEOUT_MS: String(24 * 3_600_000),
    // A backlog must show as lag and drain time, not turn into orders rejected for want of a payment answer
    // (what production would do after 2 minutes: the throughput is what this suite measures).
    SAGA_PAYMENT_TIMEOUT_MS: String(24 * 3_600_000),
  };
  // Registered before anything exists, so an interrupt at any point removes whatever was made by then.
  let database: BenchDatabase | null = null;
  const removeResources = async () => {
    await deleteKafkaAndSearch(prefix, loadConfig().searchUrl);
    await deleteRedisKeys(prefix);
    await deleteSubjects(prefix);
    await database?.drop().catch(() => undefined);
    rmSync(logDir, { recursive: true, force: true });
  };
  const forgetCleanup = cleanUpOnInterrupt(removeResources);
  database = await createBenchDatabase(options.label).catch(async (error: unknown) => {
    forgetCleanup();
    await removeResources();
    throw error;
  });
  const config = benchConfig(database.url, prefix, overrides);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.url,
    READ_DATABASE_URL: database.url,
    TOPIC_PREFIX: prefix,
    HOST: '127.0.0.1',
    ...overrides,
  };
  // Every role would try to serve /metrics on the same port; the suite reads what it needs itself.
  delete env.METRICS_PORT;
  const roles: RoleProcess[] = [];
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The gateway first (no new orders), the relay last (it publishes what the others appended while stopping).
    const order = ['gateway', 'sagas', 'projector', 'payments', 'relay'];
    await stopRoles([...roles].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name)));
    redis.disconnect();
    await removeResources();
    forgetCleanup();
  };
  try {
    // The demo's restaurants and menu, through the command handlers, before any role runs: the relay publishes
    // them with everything else, and place-order reads them from the event store.
    const write = await openWriteSide(config, { poolMax: 2 });
    try {
      await within(loadDemoData(write), START_TIMEOUT_MS, 'loading the demo data');
    } finally {
      await write.close();
    }
    const start = (name: string, script: string, extra: NodeJS.ProcessEnv = {}) => {
      const role = spawnRole({ name, script, env: { ...env, ...extra }, logFile: join(logDir, `${name}.log`) });
      roles.push(role);
      return role;
    };
    const payments = start('payments', 'ops/simulators/payments/main.ts', {
      PAYMENT_SIMULATOR_PORT: String(paymentsPort),
      PAYMENT_WEBHOOK_URL: `${gatewayUrl}/webhooks/payments`,
      PAYMENT_CONNECT_WEBHOOK_URL: `${gatewayUrl}/webhooks/marketplace`,
      PAYMENT_WEBHOOK_SECRET: config.stripeWebhookSecret,
    });
    // The relay creates the topics the projector and the sagas subscribe to: it goes first.
    const relay = start('relay', 'commands/relay/main.ts');
    await waitForLog(payments, /payment simulator listening/, START_TIMEOUT_MS);
    await waitForLog(relay, /outbox relay started/, START_TIMEOUT_MS);
    const projector = start('projector', 'projections/main.ts');
    const sagas = start('sagas', 'sagas/main.ts');
    const gateway = start('gateway', 'gateway/main.ts');
    await Promise.all([
      waitForLog(projector, /projection started/, START_TIMEOUT_MS, allProjections.length),
      waitForLog(sagas, /sagas started/, START_TIMEOUT_MS),
      waitForLog(gateway, /Server listening/, START_TIMEOUT_MS),
    ]);
    progress('e2e', `  ${roles.map((r) => `${r.name} pid ${r.pid}`).join(', ')}; logs in ${logDir}`);
    const tokens = tokenServiceFor(redis, config);
    const customerTokens = Array.from({ length: options.customers }, (_, i) =>
      tokens.accessToken({ accountId: `bench-customer-${i}`, role: 'customer' }),
    );
    return { prefix, config, gatewayUrl, roles, customerTokens, assertAlive: () => assertAlive(roles), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
