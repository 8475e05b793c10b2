import { createSecretKey, randomUUID } from 'node:crypto';
import { openSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { pino } from 'pino';
import type { CommandContext } from '../../commands/executor.js';
import { startGateway } from '../../gateway/main.js';
import { renderAppendScript } from '../lib/append-statement.js';
import { type ClosedLoopSummary, closedLoop, failedRequests, withEmptyRoute } from '../lib/closed-loop.js';
import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { type BenchDatabase, checkpoint, createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import type { LoadSpec } from '../lib/load-worker.js';
import { type PgbenchResult, pgbench } from '../lib/pgbench.js';
import { progress, within } from '../lib/progress.js';
import { benchConfig, deleteRedisKeys, deleteSubjects } from '../lib/stack.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { atMost, below, informational, ratioAtLeast, row } from '../lib/table.js';

// Commands per second through the real gateway: HTTP, rate limiter, JWT, JSON-schema validation, the command
// handler loading the restaurant and menu items from the event store (one query), the append (one statement).
// Every request places a new order (its own orderId), so nothing is served from the idempotency store.
//
// The baseline is pgbench running place-order's own PostgreSQL work on the same database: the stream-load query
// and the append statement production runs (bench/lib/append-statement.ts renders the store's own SQL text), with
// the payload and metadata of an order the gateway stored. The ratio is what the whole command path (Node, HTTP,
// hooks, decider, driver) costs on top of the database work a C client needs for the same command. Latency is
// measured twice: closed loop (autocannon, the highest rate), and open loop at the target rate (requests sent on
// schedule whether or not earlier ones are answered, timed from when they were due), which is the p99 a client
// sees at that rate. Info rows: an empty Fastify route, the gateway's per-request hooks, token verification and
// request logging.

const SUITE = 'gateway';
/** Concurrent connections: more than the write side's pool (10), so the pool is what queues, as in production. */
const CONNECTIONS = 16;
/** pgbench clients: the write side's pool, the connections place-order has to PostgreSQL. */
const PGBENCH_CLIENTS = 10;
/** Targets of issue 14: place-order at ≥ 0.5× pgbench of its own transaction, p99 < 50 ms at that rate. */
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 50;
/** Open loop: sockets the load may hold (requests beyond them wait for one, and that wait is in their latency). */
const OPEN_LOOP_SOCKETS = 64;
const MENU_ITEMS = 3;
const START_TIMEOUT_MS = 60_000;

interface Timing {
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
}

interface LoadSummary extends ClosedLoopSummary {
  readonly cpu: CpuWindow;
  /** How busy this thread (the server's) was over the worker's life: a saturated gateway shows ~100%. */
  readonly serverThreadBusyPercent: number;
}

/** CPU microseconds of this process since `start` (user + system): unlike wall time, other load does not add to it. */
const cpuMicrosSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return used.user + used.system;
};

/** CPU microseconds per call of `f`, after a warm-up, over a fixed number of calls. */
function microsPerCall(f: () => unknown, calls: number): number {
  for (let i = 0; i < calls / 10; i++) f();
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) f();
  return cpuMicrosSince(start) / calls;
}

/** autocannon on a worker thread against `spec.url`, with this process's CPU and this (the server's) thread's load. */
async function load(spec: LoadSpec): Promise<LoadSummary> {
  const closeCpu = cpuWindow();
  const elu = performance.eventLoopUtilization();
  const result = await closedLoop(spec);
  return {
    ...result,
    // Warm-up included (the window is the worker's whole life); this process runs both server and client.
    cpu: closeCpu(),
    serverThreadBusyPercent: 100 * performance.eventLoopUtilization(elu).utilization,
  };
}

const window = (timing: Timing) => `${timing.warmupSeconds}+${timing.measureSeconds} s`;

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

const orderBody = (menu: { restaurantId: string; menuItemIds: string[] }) => ({
  restaurantId: menu.restaurantId,
  items: menu.menuItemIds.slice(0, 2).map((menuItemId, i) => ({ menuItemId, quantity: 1 + i })),
  payment: { card: '4242 4242 4242 4242' },
  deliveryAddress: address,
});

/** pgbench of place-order's PostgreSQL work (load restaurant + items, append OrderPlaced) on the gateway's database. */
async function measurePgbench(
  database: BenchDatabase,
  db: Running['write']['db'],
  streamIds: readonly string[],
  timing: Timing,
): Promise<{ result: PgbenchResult; script: string }> {
  // The stored shape of a real order: its stream type, topic, payload and metadata.
  const order = await db('events')
    .join('outbox', 'outbox.global_position', 'events.global_position')
    .where('events.event_type', 'OrderPlaced')
    .first<{ stream_type: string; payload: Buffer; metadata: Record<string, unknown>; topic: string } | undefined>(
      'events.stream_type',
      'events.payload',
      'events.metadata',
      'outbox.topic',
    );
  if (!order) throw new Error('no OrderPlaced with its outbox row to copy the shape of');
  const rendered = renderAppendScript({
    events: 1,
    mode: 'no_stream',
    idempotency: false,
    streamType: order.stream_type,
    topic: order.topic,
    eventType: 'OrderPlaced',
    payload: order.payload,
    metadata: order.metadata,
    loadStreamIds: streamIds,
  });
  const run = { clients: PGBENCH_CLIENTS, threads: 2, protocol: rendered.protocol };
  await checkpoint();
  await pgbench(database, rendered.script, {
    ...run,
    seconds: timing.warmupSeconds,
    defines: { ...rendered.defines, run: 'warm' },
  });
  const result = await pgbench(database, rendered.script, {
    ...run,
    seconds: timing.measureSeconds,
    defines: { ...rendered.defines, run: 'main' },
  });
  if (result.failed > 0) throw new Error(`pgbench: ${result.failed} transactions failed`);
  return { result, script: rendered.script };
}

async function measureOurs(timing: Timing, prefix: string) {
  const database = await createBenchDatabase('gateway');
  // Rate limits far above what the load reaches: the limiter still runs, as in production, but never refuses.
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
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const placeOrder = {
      url: `http://127.0.0.1:${port}/commands/ordering/place-order`,
      method: 'POST' as const,
      headers,
      body: orderBody(menu),
      freshIdField: 'orderId',
    };

    progress(SUITE, `place-order, closed loop: ${CONNECTIONS} connections, ${window(timing)}`);
    const before = await placedCount(running.write.db);
    const closed = await load({ ...placeOrder, connections: CONNECTIONS, ...timing });
    // Every 201 is an order in the store (a request cut off by the end of the run may have committed too).
    const appended = (await placedCount(running.write.db)) - before;
    progress(SUITE, `  ${describe(closed)}; ${appended} orders appended (warm-up included)`);

    const streamIds = [
      `restaurant-${menu.restaurantId}`,
      ...menu.menuItemIds.slice(0, 2).map((id) => `menu-item-${id}`),
    ];
    progress(SUITE, `pgbench of place-order's transaction: ${PGBENCH_CLIENTS} clients, ${window(timing)}`);
    const baseline = await measurePgbench(database, running.write.db, streamIds, timing);
    progress(SUITE, `  ${baseline.result.tps.toFixed(0)} tps, average ${baseline.result.latencyAverageMs} ms`);

    const rate = Math.max(1, Math.round(TARGET_RATIO * baseline.result.tps));
    progress(SUITE, `place-order, open loop at ${rate}/s (${TARGET_RATIO}× pgbench), ${window(timing)}`);
    const open = await load({
      ...placeOrder,
      mode: 'open',
      rate,
      connections: OPEN_LOOP_SOCKETS,
      ...timing,
    });
    progress(SUITE, `  ${describe(open)}`);

    // Everything the gateway does per request but the command: a command route that does not exist answers
    // 404 UNKNOWN_COMMAND after the rate limiter, authentication, body parsing, trace, metrics and headers.
    progress(SUITE, `gateway hooks alone (POST /commands/bench/none → 404): ${CONNECTIONS} connections`);
    const hooks = await load({
      url: `http://127.0.0.1:${port}/commands/bench/none`,
      method: 'POST',
      headers,
      body: {},
      expectStatus: 404,
      connections: CONNECTIONS,
      ...timing,
    });
    progress(SUITE, `  ${describe(hooks)}`);

    // Every command request verifies its token: in full the first time, then from TokenService's cache.
    const tokens = running.tokens;
    const claims = jwt.decode(token, { json: true });
    const key = createSecretKey(Buffer.from(config.jwtSecret));
    const options = { algorithms: ['HS256' as const], issuer: claims?.iss, audience: claims?.aud as string };
    const verify = {
      cachedMicros: microsPerCall(() => tokens.verify(token), 20_000),
      fullMicros: microsPerCall(() => jwt.verify(token, key, options), 2_000),
    };
    return { closed, appended, baseline, rate, open, hooks, verify };
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
function measureBaseline(timing: Timing): Promise<LoadSummary> {
  return withEmptyRoute((url) => load({ url, method: 'GET', headers: {}, connections: CONNECTIONS, ...timing }));
}

/** What Fastify's default request logging writes per request: the serialised request, then the response. */
const FASTIFY_INCOMING = {
  reqId: 'c0ffee00-1234-4abc-8def-0123456789ab',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  req: {
    method: 'POST',
    url: '/commands/ordering/place-order',
    version: '1.1',
    host: '127.0.0.1:3000',
    remoteAddress: '127.0.0.1',
    remotePort: 51234,
  },
};
const FASTIFY_COMPLETED = {
  reqId: FASTIFY_INCOMING.reqId,
  traceId: FASTIFY_INCOMING.traceId,
  res: { statusCode: 201 },
  responseTime: 12.3,
};
/** Our one line (gateway/request-log.ts). */
const OURS = {
  reqId: FASTIFY_INCOMING.reqId,
  traceId: FASTIFY_INCOMING.traceId,
  method: 'POST',
  path: '/commands/ordering/place-order',
  route: '/commands/ordering/place-order',
  statusCode: 201,
  responseTime: 12.3,
};

/**
 * Microseconds of the event loop per request that request logging at info level costs: Fastify's default (two
 * lines, to a synchronous destination, as before) and ours (one line, to runtime/log.ts's asynchronous one), the
 * lines as each writes them, to /dev/null. Event-loop time, not CPU: the loop is what a gateway runs out of, and
 * an asynchronous write happens on libuv's threads. Lines are logged 16 per turn of the loop, as requests end
 * under load; the lowest of three alternating rounds each. A slow reader of standard output would make the
 * synchronous write costlier still (it blocks until the pipe takes the bytes).
 */
async function measureLogging(requests: number) {
  const nullFd = openSync('/dev/null', 'a');
  const loggers = {
    fastifyDefault: pino({ level: 'info' }, pino.destination({ dest: nullFd, sync: true })),
    ours: pino({ level: 'info' }, pino.destination({ dest: nullFd, sync: false })),
  };
  const perRequest = {
    fastifyDefault: () => {
      loggers.fastifyDefault.info(FASTIFY_INCOMING, 'incoming request');
      loggers.fastifyDefault.info(FASTIFY_COMPLETED, 'request completed');
    },
    ours: () => loggers.ours.info(OURS, 'request completed'),
  };
  const best = { fastifyDefault: Number.POSITIVE_INFINITY, ours: Number.POSITIVE_INFINITY };
  for (let round = 0; round < 3; round++) {
    for (const variant of ['fastifyDefault', 'ours'] as const) {
      const elu = performance.eventLoopUtilization();
      for (let i = 0; i < requests / 16; i++) {
        for (let j = 0; j < 16; j++) perRequest[variant]();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const active = performance.eventLoopUtilization(elu).active;
      best[variant] = Math.min(best[variant], (active * 1000) / requests);
    }
  }
  await new Promise<void>((resolve) => loggers.ours.flush(() => resolve()));
  return { fastifyDefaultMicros: best.fastifyDefault, oursMicros: best.ours };
}

const describe = (r: LoadSummary) =>
  `${Math.round(r.requestsPerSecond)} requests/s (${r.ok} 2xx in ${r.seconds.toFixed(1)} s), latency p50 ` +
  `${r.latencyMs.p50.toFixed(2)} p99 ${r.latencyMs.p99.toFixed(2)} max ${r.latencyMs.max.toFixed(1)} ms; statuses ` +
  `${JSON.stringify(r.statusCounts)}, ${r.errors} errors, ${r.timeouts} timeouts; server thread ` +
  `${r.serverThreadBusyPercent.toFixed(0)}% busy, process ` +
  `${r.cpu.processPercentOfCore.toFixed(0)}% of a core, machine ${r.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`;

const failures = failedRequests;

export const gatewaySuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    const timing: Timing = quick ? { warmupSeconds: 1, measureSeconds: 4 } : { warmupSeconds: 2, measureSeconds: 10 };
    const prefix = `bench${uniqueSuffix()}.`;
    try {
      const ours = await measureOurs(timing, prefix);
      const { closed, open, hooks, baseline, verify } = ours;
      progress(SUITE, `baseline: GET /health on a bare Fastify, same load`);
      const empty = await measureBaseline(timing);
      progress(SUITE, `  ${describe(empty)}`);
      progress(SUITE, 'request logging at info level, event-loop time per request (/dev/null)');
      const logging = await measureLogging(quick ? 20_000 : 50_000);
      progress(
        SUITE,
        `  Fastify's default ${logging.fastifyDefaultMicros.toFixed(1)} µs, ours ${logging.oursMicros.toFixed(1)} µs`,
      );
      const msPerRequest = (r: LoadSummary) => 1000 / r.requestsPerSecond;
      const rows = [
        row(
          SUITE,
          `place-order requests/s, closed loop (vs pgbench of its own transaction, ${PGBENCH_CLIENTS} clients)`,
          'requests/s',
          closed.requestsPerSecond,
          baseline.result.tps,
          ratioAtLeast(TARGET_RATIO),
        ),
        row(
          SUITE,
          `place-order latency p99, open loop at ${ours.rate}/s (${TARGET_RATIO}× pgbench)`,
          'ms',
          open.latencyMs.p99,
          null,
          below(TARGET_P99_MS, 'p99'),
        ),
        // An open loop that fell behind its schedule measured a lower rate than it claims.
        row(
          SUITE,
          'place-order answered/s, open loop (vs offered)',
          'requests/s',
          open.requestsPerSecond,
          ours.rate,
          ratioAtLeast(0.95),
        ),
        row(SUITE, 'place-order latency p50, open loop', 'ms', open.latencyMs.p50, null),
        row(SUITE, 'place-order latency p50, closed loop', 'ms', closed.latencyMs.p50, empty.latencyMs.p50),
        row(SUITE, 'place-order latency p99, closed loop', 'ms', closed.latencyMs.p99, empty.latencyMs.p99),
        // A fast gateway that refuses or drops requests would be no result at all.
        row(
          SUITE,
          'place-order non-2xx, errors and timeouts (both loops)',
          'count',
          failures(closed) + failures(open),
          null,
          atMost(0),
        ),
        row(
          SUITE,
          'place-order requests/s (vs empty Fastify route)',
          'requests/s',
          closed.requestsPerSecond,
          empty.requestsPerSecond,
          informational,
        ),
        row(
          SUITE,
          'gateway hooks alone, server time per request (vs empty Fastify route)',
          'ms',
          msPerRequest(hooks),
          msPerRequest(empty),
          informational,
        ),
        row(
          SUITE,
          'token verification per request: cached (vs in full)',
          'ms',
          verify.cachedMicros / 1000,
          verify.fullMicros / 1000,
          informational,
        ),
        row(
          SUITE,
          "request logging per request: one async line (vs Fastify's two sync lines)",
          'ms',
          logging.oursMicros / 1000,
          logging.fastifyDefaultMicros / 1000,
          informational,
        ),
      ];
      const hooksCostMs = msPerRequest(hooks) - msPerRequest(empty);
      const notes = [
        `the gateway's thread was ${closed.serverThreadBusyPercent.toFixed(0)}% busy and the machine ` +
          `${closed.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% during place-order, closed loop (PostgreSQL, Redis ` +
          'and the load generator share the 2 cores).',
        `the gateway's per-request hooks (rate limit, JWT, session check, body parsing, trace, metrics, headers) ` +
          `cost about ${hooksCostMs.toFixed(2)} ms of server time on top of an empty route (thread ` +
          `${hooks.serverThreadBusyPercent.toFixed(0)}% busy: the figure holds when it is near 100%).`,
      ];
      if (closed.requestsPerSecond < TARGET_RATIO * baseline.result.tps) {
        notes.push(
          `place-order reached ${(closed.requestsPerSecond / baseline.result.tps).toFixed(2)}× pgbench; the open-loop ` +
            `run at ${ours.rate}/s is then beyond what the gateway sustains, and its p99 shows the queue.`,
        );
      }
      return {
        rows,
        notes,
        details: {
          connections: CONNECTIONS,
          pgbenchClients: PGBENCH_CLIENTS,
          openLoopSockets: OPEN_LOOP_SOCKETS,
          timing,
          ours: closed,
          open,
          openRate: ours.rate,
          appended: ours.appended,
          pgbench: baseline.result,
          pgbenchScript: baseline.script,
          hooks,
          verify,
          logging,
          baseline: empty,
        },
      };
    } finally {
      await deleteRedisKeys(prefix);
      await deleteSubjects(prefix);
    }
  },
};
