import { Client as SearchClient } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { menuSearchIndex, menuSearchReadModel } from '../../projections/ordering/menu-search.js';
import { orderStatusRedisProjection, statusCounts } from '../../projections/ordering/order-status-redis.js';
import { ordersReadModel, ordersTables } from '../../projections/ordering/orders.js';
import { postgresProjection } from '../../projections/runtime/postgres.js';
import { ensureRuntimeTables } from '../../projections/runtime/tables.js';
import { loadConfig } from '../../runtime/config.js';
import type { ProjectedEvent, Projection } from '../../runtime/consumer/types.js';
import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import { chunk, menuMix, orderMix } from '../lib/events.js';
import { progress } from '../lib/progress.js';
import { deleteRedisKeys } from '../lib/stack.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { atMost, below, informational, type Row, row } from '../lib/table.js';

// How many events per second each projection target absorbs when handed batches directly: no Kafka, no decoding,
// just the projection objects the projector runs, in the runner's batch size, one batch after another (one
// runner feeds one projection sequentially). The events are a realistic mix: orders interleaved through their
// lifecycle for the orders read model and the Redis status; menus added, then prices and availability changing,
// for the search read model.

const SUITE = 'projections';
/** ProjectionRunner applies a Kafka batch in chunks of 200 messages (runner.ts, CHUNK). */
const BATCH = 200;
/** The production projector's read pool (projections/main.ts). */
const READ_POOL = 8;
/** Single menu changes timed from apply to first search hit. */
const FRESHNESS_SAMPLES = 10;

interface Sizes {
  readonly orderEvents: number;
  readonly statusEvents: number;
  readonly restaurants: number;
  readonly itemsPerRestaurant: number;
  readonly menuChanges: number;
  readonly warmupEvents: number;
  /** No target takes longer than this, whatever its count: a slow target is reported on what it finished. */
  readonly deadlineMs: number;
}

const SIZES: Record<'quick' | 'full', Sizes> = {
  // Sized for about 2 s (quick) or 5 s (full) of measurement per target on 2 cores.
  quick: {
    orderEvents: 30_000,
    statusEvents: 50_000,
    restaurants: 20,
    itemsPerRestaurant: 40,
    menuChanges: 13_200,
    warmupEvents: 2_000,
    deadlineMs: 4_000,
  },
  full: {
    orderEvents: 80_000,
    statusEvents: 130_000,
    restaurants: 50,
    itemsPerRestaurant: 40,
    menuChanges: 33_000,
    warmupEvents: 2_000,
    deadlineMs: 8_000,
  },
};

interface TargetResult {
  readonly target: string;
  readonly eventsPerSecond: number;
  readonly measuredEvents: number;
  readonly seconds: number;
  readonly batches: number;
  readonly batchMs: Summary;
  /** The measured part stopped at the deadline before every batch was applied. */
  readonly cutShort: boolean;
  /** What the read model holds against what the applied events imply (see each target's check). */
  readonly check: { readonly expected: number; readonly found: number; readonly what: string };
  readonly cpu: CpuWindow;
}

interface Driven {
  readonly applied: ProjectedEvent[];
  readonly measuredEvents: number;
  readonly seconds: number;
  readonly batchMs: number[];
  readonly cutShort: boolean;
  readonly cpu: CpuWindow;
}

/**
 * Applies the warm-up batches untimed, then the measured ones, one after another, until they run out or the
 * deadline passes. Each batch carries a checkpoint source with increasing offsets, as the runner's do.
 */
async function drive(
  projection: Projection,
  topic: string,
  warmup: readonly ProjectedEvent[][],
  measured: readonly ProjectedEvent[][],
  deadlineMs: number,
): Promise<Driven> {
  let offset = 0;
  const apply = async (batch: ProjectedEvent[]) => {
    offset += batch.length;
    await projection.applyBatch(batch, { topic, partition: 0, lastOffset: String(offset - 1) });
  };
  const applied: ProjectedEvent[] = [];
  for (const batch of warmup) {
    await apply(batch);
    applied.push(...batch);
  }
  const batchMs: number[] = [];
  let measuredEvents = 0;
  const closeCpu = cpuWindow();
  const start = performance.now();
  for (const batch of measured) {
    if (performance.now() - start > deadlineMs) break;
    const began = performance.now();
    await apply(batch);
    batchMs.push(performance.now() - began);
    measuredEvents += batch.length;
    applied.push(...batch);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    applied,
    measuredEvents,
    seconds,
    batchMs,
    cutShort: batchMs.length < measured.length,
    cpu: closeCpu(),
  };
}

const toResult = (target: string, driven: Driven, check: TargetResult['check']): TargetResult => ({
  target,
  eventsPerSecond: driven.seconds > 0 ? driven.measuredEvents / driven.seconds : 0,
  measuredEvents: driven.measuredEvents,
  seconds: driven.seconds,
  batches: driven.batchMs.length,
  batchMs: summarize(driven.batchMs),
  cutShort: driven.cutShort,
  check,
  cpu: driven.cpu,
});

const placedIn = (events: readonly ProjectedEvent[]): number =>
  events.filter((e) => e.eventType === 'OrderPlaced').length;

function split(events: readonly ProjectedEvent[], warmupEvents: number) {
  const batches = chunk(events, BATCH);
  const warmupBatches = Math.ceil(warmupEvents / BATCH);
  return { warmup: batches.slice(0, warmupBatches), measured: batches.slice(warmupBatches) };
}

async function measureOrders(db: Knex, events: readonly ProjectedEvent[], prefix: string, sizes: Sizes) {
  const model = ordersReadModel(1);
  const projection = postgresProjection(db, model);
  await projection.setup();
  try {
    const { warmup, measured } = split(events, sizes.warmupEvents);
    const driven = await drive(projection, `${prefix}ordering.order`, warmup, measured, sizes.deadlineMs);
    // Every order placed in the applied events has its row, whatever happened to it afterwards.
    const found = await db(ordersTables(1).orders).count<{ n: number }[]>({ n: '*' });
    return toResult('orders → PostgreSQL', driven, {
      expected: placedIn(driven.applied),
      found: Number(found[0]?.n ?? 0),
      what: 'order rows',
    });
  } finally {
    await projection.drop();
  }
}

async function measureStatus(events: readonly ProjectedEvent[], prefix: string, sizes: Sizes) {
  const redis = new Redis(loadConfig().redisUrl, { maxRetriesPerRequest: 3 });
  try {
    // The projector's key prefix is its topic prefix: the suite's own prefix keeps these keys apart.
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix });
    await projection.setup();
    const { warmup, measured } = split(events, sizes.warmupEvents);
    const driven = await drive(projection, `${prefix}ordering.order`, warmup, measured, sizes.deadlineMs);
    // The counters by status always add up to the number of orders the projection has seen.
    const counts = await statusCounts(redis, prefix, 1);
    return toResult('order status → Redis', driven, {
      expected: placedIn(driven.applied),
      found: Object.values(counts).reduce((a, b) => a + b, 0),
      what: 'orders counted by status',
    });
  } finally {
    redis.disconnect();
  }
}

/** Runs `measure` against a fresh version of the search read model (its own index), dropped afterwards. */
async function withMenuSearch<T>(
  db: Knex,
  prefix: string,
  version: number,
  measure: (projection: Projection, search: SearchClient, index: string) => Promise<T>,
): Promise<T> {
  const search = new SearchClient({ node: loadConfig().searchUrl, requestTimeout: 10_000 });
  const projection = postgresProjection(db, menuSearchReadModel(search, version, prefix));
  try {
    await projection.setup();
    return await measure(projection, search, menuSearchIndex(prefix, version));
  } finally {
    await projection.drop().catch(() => undefined);
    await search.close();
  }
}

function measureMenuSearch(db: Knex, prefix: string, sizes: Sizes) {
  return withMenuSearch(db, prefix, 1, async (projection, search, index) => {
    const menu = menuMix({
      seed: 3,
      restaurants: sizes.restaurants,
      itemsPerRestaurant: sizes.itemsPerRestaurant,
      changes: sizes.menuChanges,
    });
    // Restaurants first, from their own topic and untimed: the items embed their name, cuisine and opening.
    let offset = 0;
    for (const batch of chunk(menu.restaurantEvents, BATCH)) {
      offset += batch.length;
      await projection.applyBatch(batch, {
        topic: `${prefix}ordering.restaurant`,
        partition: 0,
        lastOffset: String(offset - 1),
      });
    }
    const { warmup, measured } = split(menu.itemEvents, sizes.warmupEvents / 2);
    const driven = await drive(projection, `${prefix}ordering.menu-item`, warmup, measured, sizes.deadlineMs);
    // One document per item added, once Elasticsearch has made them searchable.
    await search.indices.refresh({ index });
    const { count } = await search.count({ index });
    return toResult('menu search → Elasticsearch', driven, {
      expected: driven.applied.filter((e) => e.eventType === 'MenuItemAdded').length,
      found: count,
      what: 'search documents',
    });
  });
}

/**
 * How long a menu change takes to become findable, at rest: one MenuItemAdded applied through the search read
 * model (staging row in PostgreSQL, then the Elasticsearch write), then searched for by a word only it contains
 * until a hit comes back. The "findable within 2 seconds" lives here rather than in a timed test.
 */
function measureSearchFreshness(db: Knex, prefix: string, samples: number): Promise<Summary> {
  return withMenuSearch(db, prefix, 2, async (projection, search, index) => {
    const restaurantId = `fresh-${uniqueSuffix()}`;
    const at = new Date().toISOString();
    let position = 0;
    const event = (streamId: string, eventType: string, data: Record<string, unknown>): ProjectedEvent => ({
      eventId: `${streamId}-${eventType}`,
      eventType,
      streamId,
      streamVersion: eventType === 'RestaurantOpened' ? 2 : 1,
      globalPosition: ++position,
      recordedAt: at,
      correlationId: 'bench',
      data,
    });
    const apply = (topic: string, events: ProjectedEvent[]) =>
      projection.applyBatch(events, { topic: `${prefix}${topic}`, partition: 0, lastOffset: String(position) });
    const restaurant = `restaurant-${restaurantId}`;
    await apply('ordering.restaurant', [
      event(restaurant, 'RestaurantRegistered', {
        restaurantId,
        ownerId: 'bench',
        name: 'Freshness Kitchen',
        cuisine: 'Bench',
        address: { line1: '1 Main St', line2: null, city: 'Lisbon', postalCode: '1000-001', country: 'PT' },
        registeredAt: at,
      }),
      event(restaurant, 'RestaurantOpened', { restaurantId, openedAt: at }),
    ]);
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const word = `probe${uniqueSuffix().replace(/[^a-z0-9]/gi, '')}x${i}`;
      const menuItemId = `${restaurantId}-${i}`;
      const started = performance.now();
      await apply('ordering.menu-item', [
        event(`menu-item-${menuItemId}`, 'MenuItemAdded', {
          menuItemId,
          restaurantId,
          name: `Dish ${word}`,
          description: 'A probe for search freshness.',
          priceMinor: 900,
          currency: 'EUR',
          addedAt: at,
        }),
      ]);
      for (;;) {
        const found = await search.search({ index, query: { match: { name: word } }, size: 1 });
        if (found.hits.hits.length > 0) break;
        if (performance.now() - started > 30_000) throw new Error(`menu item ${menuItemId} not findable after 30 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      latencies.push(performance.now() - started);
    }
    return summarize(latencies);
  });
}

const describe = (r: TargetResult) =>
  `${Math.round(r.eventsPerSecond)} events/s over ${r.measuredEvents} events (${r.batches} batches of ${BATCH}, ` +
  `p50 ${r.batchMs.p50.toFixed(1)} p99 ${r.batchMs.p99.toFixed(1)} ms each)${r.cutShort ? ', cut short by the deadline' : ''}; ` +
  `${r.check.found}/${r.check.expected} ${r.check.what}; node ${r.cpu.processPercentOfCore.toFixed(0)}% of a core, ` +
  `machine ${r.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`;

export const projectionsSuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    const sizes = SIZES[quick ? 'quick' : 'full'];
    const prefix = `bench${uniqueSuffix()}.`;
    const database = await createBenchDatabase('projections');
    const db = database.pool(READ_POOL, 'ledgerline-projector');
    try {
      await ensureRuntimeTables(db);
      const mix = orderMix({
        seed: 1,
        events: Math.max(sizes.orderEvents, sizes.statusEvents),
        activeOrders: 500,
        restaurants: 50,
        customers: 5_000,
      });
      const results: TargetResult[] = [];
      progress(SUITE, `orders → PostgreSQL: ${sizes.orderEvents} order events in batches of ${BATCH}`);
      results.push(await measureOrders(db, mix.events.slice(0, sizes.orderEvents), prefix, sizes));
      progress(SUITE, `  ${describe(results.at(-1)!)}`);
      progress(SUITE, `order status → Redis: ${sizes.statusEvents} order events in batches of ${BATCH}`);
      results.push(await measureStatus(mix.events.slice(0, sizes.statusEvents), prefix, sizes));
      progress(SUITE, `  ${describe(results.at(-1)!)}`);
      const items = sizes.restaurants * sizes.itemsPerRestaurant;
      progress(SUITE, `menu search → Elasticsearch: ${items} items added, then ${sizes.menuChanges} changes`);
      results.push(await measureMenuSearch(db, prefix, sizes));
      progress(SUITE, `  ${describe(results.at(-1)!)}`);

      progress(SUITE, `menu search freshness: ${FRESHNESS_SAMPLES} single changes at rest`);
      const freshness = await measureSearchFreshness(db, prefix, FRESHNESS_SAMPLES);
      progress(SUITE, `  p50 ${freshness.p50.toFixed(0)} ms, p99 ${freshness.p99.toFixed(0)} ms`);

      const rows: Row[] = results.map((r) =>
        row(SUITE, `${r.target}, events/s (batches of ${BATCH})`, 'events/s', r.eventsPerSecond, null, informational),
      );
      rows.push(row(SUITE, 'menu change → findable in search, p50', 'ms', freshness.p50, null, informational));
      rows.push(row(SUITE, 'menu change → findable in search, p99', 'ms', freshness.p99, null, below(2000, 'p99')));
      // A projection that skipped events would look fast: every target's state must match what it was given.
      const mismatches = results.filter((r) => r.check.found !== r.check.expected).length;
      rows.push(row(SUITE, 'targets whose read model disagrees with the events', 'count', mismatches, null, atMost(0)));
      const notes = results
        .filter((r) => r.cutShort)
        .map(
          (r) => `${r.target} stopped at the ${sizes.deadlineMs / 1000} s deadline; its rate covers what it applied.`,
        );
      return { rows, notes, details: { batchSize: BATCH, sizes, results, freshnessMs: freshness } };
    } finally {
      await db.destroy();
      await database.drop();
      await deleteRedisKeys(prefix);
    }
  },
};
