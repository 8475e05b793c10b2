import { createSecretKey, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import jwt from 'jsonwebtoken';
import type { CommandContext } from '../../commands/executor.js';
import { startGateway } from '../../gateway/main.js';
import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import type { LoadResult, LoadSpec } from '../lib/load-worker.js';
import { progress, within } from '../lib/progress.js';
import { benchConfig, deleteRedisKeys, deleteSubjects } from '../lib/stack.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { atMost, informational, row } from '../lib/table.js';
import { nextMessage, startWorker } from '../lib/worker.js';

// Commands per second through the real gateway: HTTP, rate limiter (Redis), JWT, JSON-schema validation, the
// command handler loading the restaurant and menu items from the event store, the append. Every request places a
// new order (its own orderId), so nothing is served from the idempotency store. The baseline is the same load
// generator against a Fastify route that does nothing, in this same process: the ratio is what the command path
// costs on top of HTTP itself.

const SUITE = 'gateway';
/** Concurrent connections: more than the write side's pool (10), so the pool is what queues, as in production. */
const CONNECTIONS = 16;
const MENU_ITEMS = 3;
const START_TIMEOUT_MS = 60_000;

interface Timing {
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
}

interface LoadSummary {
  readonly requestsPerSecond: number;
  readonly ok: number;
  readonly seconds: number;
  readonly latencyMs: Summary;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
  readonly warmupOk: number;
  readonly cpu: CpuWindow;
  /** How busy this thread (the server's) was over the worker's life: a saturated gateway shows ~100%. */
  readonly serverThreadBusyPercent: number;
}

/** Microseconds per call of `f`, after a warm-up, over a fixed number of calls. */
function microsPerCall(f: () => unknown, calls: number): number {
  for (let i = 0; i < calls / 10; i++) f();
  const started = performance.now();
  for (let i = 0; i < calls; i++) f();
  return ((performance.now() - started) * 1000) / calls;
}

const isLoadResult = (m: unknown): m is LoadResult =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'load-result';

/** autocannon on a worker thread against `spec.url`; this thread is left to the server under test. */
async function load(spec: LoadSpec): Promise<LoadSummary> {
  const worker = startWorker(new URL('../lib/load-worker.ts', import.meta.url), spec);
  try {
    const closeCpu = cpuWindow();
    const elu = performance.eventLoopUtilization();
    const result = await nextMessage(
      worker,
      isLoadResult,
      (spec.warmupSeconds + spec.measureSeconds + 60) * 1000,
      'the load generator',
    );
    return {
      requestsPerSecond: result.ok / result.seconds,
      ok: result.ok,
      seconds: result.seconds,
      latencyMs: summarize([...result.latenciesMs]),
      statusCounts: result.statusCounts,
      errors: result.errors,
      timeouts: result.timeouts,
      warmupOk: result.warmupOk,
      // Warm-up included (the window is the worker's whole life); this process runs both server and client.
      cpu: closeCpu(),
      serverThreadBusyPercent: 100 * performance.eventLoopUtilization(elu).utilization,
    };
  } finally {
    await worker.terminate();
  }
}

const ctx = (actor: string): CommandContext => ({ actor, correlationId: randomUUID() });
const address = { line1: '1 Rua Augusta', line2: null, city: 'Lisbon', postalCode: '1100-048', country: 'PT' };

type Running = Awaited<ReturnType<typeof startGateway>>;

/** A restaurant with a menu, through the command handlers (the place-order handler loads both from the store). */
async function seedMenu(running: Running): Promise<{ restaurantId: string; menuItemIds: string[] }> {
  const owner = 'bench-owner';
  const restaurantId = randomUUID();
  await running.write.ordering.registerRestaurant(
    { restaurantId, name: 'Forno', cuisine: 'italian', address },
    ctx(owner),
  );
  await running.write.ordering.openRestaurant({ restaurantId }, ctx(owner));
  const menuItemIds: string[] = [];
  for (let i = 0; i < MENU_ITEMS; i++) {
    const menuItemId = randomUUID();
    await running.write.ordering.addMenuItem(
      { restaurantId, menuItemId, name: `Dish ${i}`, description: 'tasty', priceMinor: 900 + 100 * i, currency: 'EUR' },
      ctx(owner),
    );
    menuItemIds.push(menuItemId);
  }
  return { restaurantId, menuItemIds };
}

async function measureOurs(timing: Timing, prefix: string) {
  const database = await createBenchDatabase('gateway');
  // Rate limits far above what the load reaches: the limiter still runs (one Redis script per request), as in
  // production, but never refuses.
  const config = benchConfig(database.url, prefix, {
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_IP_MAX: '10000000',
    RATE_LIMIT_WINDOW_MS: '60000',
  });
  let running: Running | null = null;
  try {
    // Bounded: start-up registers every schema with the registry, whose client has no timeout of its own.
    running = await within(startGateway(config), START_TIMEOUT_MS, 'starting the gateway');
    const { port } = running.app.server.address() as AddressInfo;
    const menu = await within(seedMenu(running), START_TIMEOUT_MS, 'seeding a restaurant and its menu');
    const token = running.tokens.accessToken({ accountId: 'bench-customer', role: 'customer' });
    const before = await placedCount(running.write.db);
    const result = await load({
      url: `http://127.0.0.1:${port}/commands/ordering/place-order`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: {
        restaurantId: menu.restaurantId,
        items: menu.menuItemIds.slice(0, 2).map((menuItemId, i) => ({ menuItemId, quantity: 1 + i })),
        payment: { card: '4242 4242 4242 4242' },
        deliveryAddress: address,
      },
      freshIdField: 'orderId',
      connections: CONNECTIONS,
      ...timing,
    });
    // Every 201 is an order in the store (a request cut off by the end of the run may have committed too).
    const appended = (await placedCount(running.write.db)) - before;
    // Every command request verifies its token (once: the rate limiter's result is reused by authentication).
    // TokenService hands jsonwebtoken the secret as a string, which jsonwebtoken first tries to parse as a public
    // key on every call; the comparison is the same verification with the secret prepared once as a KeyObject.
    const tokens = running.tokens;
    const claims = jwt.decode(token, { json: true });
    const key = createSecretKey(Buffer.from(config.jwtSecret));
    const options = { algorithms: ['HS256' as const], issuer: claims?.iss, audience: claims?.aud as string };
    const verify = {
      tokenServiceMicros: microsPerCall(() => tokens.verify(token), 2_000),
      preparedKeyMicros: microsPerCall(() => jwt.verify(token, key, options), 2_000),
    };
    return { result, appended, verify };
  } finally {
    if (running) await within(running.stop(), 30_000, 'stopping the gateway').catch(() => undefined);
    await database.drop();
  }
}

async function placedCount(db: Running['write']['db']): Promise<number> {
  const r = await db('events').where('event_type', 'OrderPlaced').count<{ n: number }[]>({ n: '*' });
  return Number(r[0]?.n ?? 0);
}

/** A Fastify app with one route that does nothing: what HTTP alone costs with this server and this client. */
async function measureBaseline(timing: Timing): Promise<LoadSummary> {
  const app = Fastify({ logger: false });
  app.get('/health', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = app.server.address() as AddressInfo;
    return await load({
      url: `http://127.0.0.1:${port}/health`,
      method: 'GET',
      headers: {},
      connections: CONNECTIONS,
      ...timing,
    });
  } finally {
    await app.close();
  }
}

const describe = (r: LoadSummary) =>
  `${Math.round(r.requestsPerSecond)} requests/s (${r.ok} 2xx in ${r.seconds.toFixed(1)} s), latency p50 ` +
  `${r.latencyMs.p50.toFixed(2)} p99 ${r.latencyMs.p99.toFixed(2)} max ${r.latencyMs.max.toFixed(1)} ms; statuses ` +
  `${JSON.stringify(r.statusCounts)}, ${r.errors} errors, ${r.timeouts} timeouts; server thread ` +
  `${r.serverThreadBusyPercent.toFixed(0)}% busy, process ` +
  `${r.cpu.processPercentOfCore.toFixed(0)}% of a core, machine ${r.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`;

const failures = (r: LoadSummary): number =>
  Object.entries(r.statusCounts)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((n, [, count]) => n + count, 0) +
  r.errors +
  r.timeouts;

export const gatewaySuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    const timing: Timing = quick ? { warmupSeconds: 1, measureSeconds: 4 } : { warmupSeconds: 2, measureSeconds: 10 };
    const prefix = `bench${uniqueSuffix()}.`;
    try {
      progress(
        SUITE,
        `place-order through the gateway: ${CONNECTIONS} connections, ${timing.warmupSeconds}+${timing.measureSeconds} s`,
      );
      const { result: ours, appended, verify } = await measureOurs(timing, prefix);
      progress(SUITE, `  ${describe(ours)}; ${appended} orders appended (warm-up included)`);
      progress(
        SUITE,
        `  token verification: ${verify.tokenServiceMicros.toFixed(1)} µs per TokenService.verify, ` +
          `${verify.preparedKeyMicros.toFixed(1)} µs with the key prepared once (one per command request)`,
      );
      progress(SUITE, `baseline: GET /health on a bare Fastify, same load`);
      const baseline = await measureBaseline(timing);
      progress(SUITE, `  ${describe(baseline)}`);
      const rows = [
        row(
          SUITE,
          'place-order requests/s (vs empty Fastify route)',
          'requests/s',
          ours.requestsPerSecond,
          baseline.requestsPerSecond,
          informational,
        ),
        row(SUITE, 'place-order latency p50', 'ms', ours.latencyMs.p50, baseline.latencyMs.p50),
        row(SUITE, 'place-order latency p99', 'ms', ours.latencyMs.p99, baseline.latencyMs.p99),
        // A fast gateway that refuses or drops requests would be no result at all.
        row(SUITE, 'place-order non-2xx, errors and timeouts', 'count', failures(ours), null, atMost(0)),
        row(
          SUITE,
          'token verification, one per command (vs key prepared once)',
          'ms',
          verify.tokenServiceMicros / 1000,
          verify.preparedKeyMicros / 1000,
          informational,
        ),
      ];
      const notes = [
        `the gateway's thread was ${ours.serverThreadBusyPercent.toFixed(0)}% busy and the machine ` +
          `${ours.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% during place-order (PostgreSQL, Redis and the load ` +
          `generator share the 2 cores); verifying the token costs ` +
          `${(verify.tokenServiceMicros / 1000).toFixed(2)} ms of it per request, ` +
          `${(verify.preparedKeyMicros / 1000).toFixed(3)} ms with the secret prepared once as a KeyObject.`,
      ];
      return { rows, notes, details: { connections: CONNECTIONS, timing, ours, appended, verify, baseline } };
    } finally {
      await deleteRedisKeys(prefix);
      await deleteSubjects(prefix);
    }
  },
};
