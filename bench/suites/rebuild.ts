import type { Knex } from 'knex';
import pg from 'pg';
import { EventStore } from '../../commands/store/event-store.js';
import { ORDERS_PROJECTION, ordersReadModel, ordersTables } from '../../projections/ordering/orders.js';
import type { PostgresReadModel } from '../../projections/runtime/postgres.js';
import { type RebuildProgress, rebuildPostgresProjection } from '../../projections/runtime/rebuild.js';
import { ensureRuntimeTables } from '../../projections/runtime/tables.js';
import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import { EventCodec } from '../../schemas/codec.js';
import { createRegistryClient } from '../../schemas/registry.js';
import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { type BenchDatabase, checkpoint, createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import { chunk, orderMix } from '../lib/events.js';
import { progress } from '../lib/progress.js';
import { benchConfig, deleteSubjects } from '../lib/stack.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { atMost, informational, type Row, ratioAtLeast, row } from '../lib/table.js';

// rebuildPostgresProjection of the orders read model from an event store holding ~100,000 order events, against
// what PostgreSQL ingests on this machine when a client simply inserts the same number of rows. The store is
// filled by multi-row INSERTs of events encoded with the real EventCodec (not through append(), which the append
// suite measures), in the interleaved order a busy store records them in.

const SUITE = 'rebuild';
const EVENTS = { quick: 30_000, full: 100_000 };
const FILL_CHUNK = 5_000;
/** The rebuild's default batch (rebuild.ts); the baseline inserts in statements of the same size. */
const REBUILD_BATCH = 5_000;
/** The production projector's read pool (projections/main.ts). */
const READ_POOL = 8;
/** Our events/s at least this many times the rows/s PostgreSQL takes from a plain multi-row INSERT. */
const TARGET_RATIO = 0.6;
/** More schema lookups than event types in one batch: the codec's cache is being missed by every event. */
const HERD_LOOKUPS = 100;
const REBUILD_VERSION = 2;
const METADATA = JSON.stringify({ correlationId: 'bench-correlation', causationId: null, actor: 'bench' });

/** Where a rebuild's time went, in milliseconds summed over the measured batches. */
interface Breakdown {
  readonly wallMs: number;
  /** store.readAll: the SELECT on events, rows parsed by node-postgres (bytea payloads, jsonb metadata). */
  readonly readMs: number;
  /** From the rows' arrival to the last event decoded (Avro, writer schema resolved to the reader's). */
  readonly decodeMs: number;
  /** The write transaction, from its BEGIN to the end of the batch. */
  readonly transactionMs: number;
  /** Statements inside it, by what they do (time from sending to the result, as knex reports it). */
  readonly sqlMs: Readonly<Record<string, number>>;
  /** From COMMIT being sent to the batch ending. */
  readonly commitMs: number;
  /** The transaction's remainder: folding events, building bindings and queries in Node. */
  readonly transactionJsMs: number;
  /** Before the first statement: pool checkout, BEGIN. */
  readonly otherMs: number;
}

/** The warm-up batch, excluded from the rate but not from the rebuild: what it cost and why. */
interface FirstBatch {
  readonly ms: number;
  readonly readMs: number;
  readonly decodeMs: number;
  readonly transactionMs: number;
  readonly schemaLookups: number;
  /** Writer-schema lookups in all the later batches together (0 once the codec's cache is warm). */
  readonly laterSchemaLookups: number;
}

interface OursResult {
  readonly events: number;
  readonly orders: number;
  /** Events/s after the first batch (the warm-up: JIT, schema lookups, cold caches). */
  readonly eventsPerSecond: number;
  /** The function's own figure over every batch, and the whole call including its set-up. */
  readonly rebuildReportedSeconds: number;
  readonly callSeconds: number;
  readonly batches: number;
  readonly breakdown: Breakdown;
  readonly firstBatch: FirstBatch;
  readonly check: { readonly orderRows: number; readonly dailyOrders: number };
  readonly cpu: CpuWindow;
}

interface BaselineResult {
  readonly rows: number;
  /** The mean of the two runs, one before the rebuild and one after: a burst of other load hits both sides. */
  readonly rowsPerSecond: number;
  readonly runs: readonly { readonly rowsPerSecond: number; readonly seconds: number }[];
  /** The same rows produced inside the server (INSERT … SELECT generate_series): no client, no transfer. */
  readonly serverOnlyRowsPerSecond: number;
}

/** Encodes the events with the codec and inserts them, chunk by chunk, in global order. */
async function fillStore(db: Knex, codec: EventCodec, events: readonly ProjectedEvent[]): Promise<number> {
  const started = performance.now();
  for (const part of chunk(events, FILL_CHUNK)) {
    const encoded = part.map((e) => codec.encode(e.eventType, e.data));
    await db.raw(
      `INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_id, payload,
                           metadata, recorded_at)
       SELECT s, 'ordering.order', v, id, t, sc, p, ?::jsonb, r
       FROM unnest(?::text[], ?::int[], ?::uuid[], ?::text[], ?::int[], ?::bytea[], ?::timestamptz[])
         WITH ORDINALITY AS x(s, v, id, t, sc, p, r, o)
       ORDER BY o`,
      [
        METADATA,
        part.map((e) => e.streamId),
        part.map((e) => e.streamVersion),
        part.map((e) => e.eventId),
        part.map((e) => e.eventType),
        encoded.map((e) => e.schemaId),
        encoded.map((e) => e.payload),
        part.map((e) => e.recordedAt),
      ],
    );
  }
  await db.raw(
    `INSERT INTO streams (stream_id, stream_type, version)
     SELECT stream_id, stream_type, max(stream_version) FROM events GROUP BY stream_id, stream_type`,
  );
  // Fresh statistics, as autovacuum would have gathered on a store that grew gradually.
  await db.raw('VACUUM ANALYZE events, streams');
  return (performance.now() - started) / 1000;
}

type SqlKind = 'advisory locks' | 'projection_streams' | 'orders: read rows' | 'orders: upsert rows' | 'daily figures';

function kindOf(sql: string): SqlKind | 'begin' | 'commit' | null {
  if (/^BEGIN/i.test(sql)) return 'begin';
  if (/^COMMIT/i.test(sql)) return 'commit';
  if (sql.includes('pg_advisory_xact_lock')) return 'advisory locks';
  if (sql.includes('projection_streams')) return 'projection_streams';
  const t = ordersTables(REBUILD_VERSION);
  if (sql.includes(t.daily)) return 'daily figures';
  if (sql.includes(t.orders)) return /^\s*select/i.test(sql) ? 'orders: read rows' : 'orders: upsert rows';
  return null; // set-up statements (drop, create, counts): outside the batches
}

interface Probe {
  /** Per batch, in order: when readAll started and ended, when the last decode ended, BEGIN, COMMIT, the end. */
  readonly batches: {
    readStart: number;
    readEnd: number;
    decodeEnd: number;
    begin: number;
    commit: number;
    end: number;
    sql: Map<SqlKind, number>;
  }[];
  /** Queries of the store's `schemas` table (the codec resolving writer schemas it has not cached), per batch. */
  readonly schemaLookups: number[];
  /** When the rebuild called readAll for the first time: the first batch is timed from there. */
  firstRead: number;
}

/**
 * Times each phase of the rebuild from outside, without changing it: the store's readAll and the codec's decode
 * are wrapped on their instances (the rebuild calls them as methods), the model's apply is wrapped, and knex
 * reports every statement of the read pool with its timing.
 */
function instrument(store: EventStore, codec: EventCodec, storeDb: Knex, readDb: Knex, probe: Probe) {
  const readAll = store.readAll.bind(store);
  // The rebuild reads and decodes batch n+1 while batch n is written: batches in flight, oldest (being written)
  // first, newest (being read) last.
  const inFlight: Probe['batches'] = [];
  let lookups = 0;
  store.readAll = async (...args: Parameters<EventStore['readAll']>) => {
    const readStart = performance.now();
    if (probe.firstRead === 0) probe.firstRead = readStart;
    const entry = { readStart, readEnd: 0, decodeEnd: 0, begin: 0, commit: 0, end: 0, sql: new Map<SqlKind, number>() };
    inFlight.push(entry);
    const rows = await readAll(...args);
    entry.readEnd = performance.now();
    entry.decodeEnd = entry.readEnd;
    return rows;
  };
  const decode = codec.decode.bind(codec);
  codec.decode = async (payload: Buffer) => {
    const decoded = await decode(payload);
    const reading = inFlight.at(-1);
    if (reading) reading.decodeEnd = performance.now();
    return decoded;
  };
  storeDb.on('query', (query: { sql: string }) => {
    if (query.sql.includes('"schemas"')) lookups++;
  });
  const sent = new Map<string, { kind: SqlKind; at: number }>();
  readDb.on('query', (query: { sql: string; __knexQueryUid?: string }) => {
    const kind = kindOf(query.sql);
    const writing = inFlight[0];
    if (!writing || kind === null) return;
    if (kind === 'begin') writing.begin = performance.now();
    else if (kind === 'commit') writing.commit = performance.now();
    else if (query.__knexQueryUid) sent.set(query.__knexQueryUid, { kind, at: performance.now() });
  });
  readDb.on('query-response', (_response: unknown, query: { __knexQueryUid?: string }) => {
    const started = query.__knexQueryUid ? sent.get(query.__knexQueryUid) : undefined;
    const writing = inFlight[0];
    if (!writing || !started) return;
    sent.delete(query.__knexQueryUid!);
    writing.sql.set(started.kind, (writing.sql.get(started.kind) ?? 0) + performance.now() - started.at);
  });
  return {
    /** Called from onProgress, right after the batch's transaction resolved. */
    batchDone() {
      const written = inFlight.shift();
      if (!written) return;
      written.end = performance.now();
      probe.batches.push(written);
      probe.schemaLookups.push(lookups);
      lookups = 0;
    },
  };
}

function firstBatchOf(probe: Probe): FirstBatch {
  const first = probe.batches[0];
  if (!first) return { ms: 0, readMs: 0, decodeMs: 0, transactionMs: 0, schemaLookups: 0, laterSchemaLookups: 0 };
  return {
    ms: first.end - probe.firstRead,
    readMs: first.readEnd - first.readStart,
    decodeMs: first.decodeEnd - first.readEnd,
    transactionMs: first.end - first.begin,
    schemaLookups: probe.schemaLookups[0] ?? 0,
    laterSchemaLookups: probe.schemaLookups.slice(1).reduce((a, b) => a + b, 0),
  };
}

function breakdownOf(batches: Probe['batches']): Breakdown {
  const measured = batches.slice(1);
  const sum = (f: (b: Probe['batches'][number]) => number) => measured.reduce((acc, b) => acc + f(b), 0);
  const sqlMs: Record<string, number> = {};
  for (const b of measured) for (const [kind, ms] of b.sql) sqlMs[kind] = (sqlMs[kind] ?? 0) + ms;
  const sqlTotal = Object.values(sqlMs).reduce((a, b) => a + b, 0);
  const transactionMs = sum((b) => b.end - b.begin);
  const commitMs = sum((b) => b.end - b.commit);
  const wallMs = measured.length > 0 ? measured.at(-1)!.end - batches[0]!.end : 0;
  const readMs = sum((b) => b.readEnd - b.readStart);
  const decodeMs = sum((b) => b.decodeEnd - b.readEnd);
  return {
    wallMs,
    readMs,
    decodeMs,
    transactionMs,
    sqlMs,
    commitMs,
    transactionJsMs: transactionMs - sqlTotal - commitMs,
    // Reading and decoding overlap the writes now, so the parts may add up to more than the wall time.
    otherMs: Math.max(0, wallMs - readMs - decodeMs - transactionMs),
  };
}

async function measureOurs(database: BenchDatabase, prefix: string, events: readonly ProjectedEvent[], orders: number) {
  const config = benchConfig(database.url, prefix);
  const storeDb = database.pool(4, 'ledgerline-bench-store');
  const readDb = database.pool(READ_POOL, 'ledgerline-projector');
  try {
    // Registers the event schemas under the suite's prefix and copies them into the store's `schemas` table.
    const writer = new EventCodec(createRegistryClient(config.registryUrl), storeDb, prefix);
    await writer.registerAll();
    const fillSeconds = await fillStore(storeDb, writer, events);
    progress(
      SUITE,
      `  store filled in ${fillSeconds.toFixed(1)} s (${Math.round(events.length / fillSeconds)} events/s)`,
    );
    await ensureRuntimeTables(readDb);

    // A fresh codec, as a rebuild process would have: writer schemas come from the store's table, then its cache.
    const codec = new EventCodec(createRegistryClient(config.registryUrl), storeDb, prefix);
    const store = new EventStore(storeDb, { topicPrefix: prefix });
    const probe: Probe = { batches: [], schemaLookups: [], firstRead: 0 };
    const taps = instrument(store, codec, storeDb, readDb, probe);
    const model: PostgresReadModel = ordersReadModel(REBUILD_VERSION);
    await checkpoint();
    const closeCpu = cpuWindow();
    const began = performance.now();
    const result = await rebuildPostgresProjection({
      store,
      readDb,
      codec,
      model,
      topicPrefix: prefix,
      batchSize: REBUILD_BATCH,
      onProgress: (_p: RebuildProgress) => taps.batchDone(),
    });
    const callSeconds = (performance.now() - began) / 1000;
    const cpu = closeCpu();
    const breakdown = breakdownOf(probe.batches);
    const measuredEvents = result.events - Math.min(REBUILD_BATCH, result.events);
    const t = ordersTables(REBUILD_VERSION);
    const orderRows = await readDb(t.orders).count<{ n: number }[]>({ n: '*' });
    const dailyOrders = await readDb(t.daily).sum<{ n: number }[]>({ n: 'orders' });
    await model.dropTables(readDb);
    return {
      fillSeconds,
      ours: {
        events: result.events,
        orders,
        eventsPerSecond: breakdown.wallMs > 0 ? measuredEvents / (breakdown.wallMs / 1000) : 0,
        rebuildReportedSeconds: result.seconds,
        callSeconds,
        batches: probe.batches.length,
        breakdown,
        firstBatch: firstBatchOf(probe),
        check: { orderRows: Number(orderRows[0]?.n ?? 0), dailyOrders: Number(dailyOrders[0]?.n ?? 0) },
        cpu,
      } satisfies OursResult,
    };
  } finally {
    await storeDb.destroy();
    await readDb.destroy();
  }
}

/**
 * The ceiling: node-postgres inserting the same number of rows shaped like the read model's (text ids, a jsonb
 * of lines, amounts, times) into a plain table without indexes, in multi-row statements of the rebuild's batch
 * size, one after another on one connection. Rows are built before the clock starts.
 */
async function measureBaseline(
  database: BenchDatabase,
  events: readonly ProjectedEvent[],
  table: string,
): Promise<{ rowsPerSecond: number; seconds: number; serverOnlyRowsPerSecond: number }> {
  const client = new pg.Client({ connectionString: database.url, application_name: 'ledgerline-bench-baseline' });
  await client.connect();
  try {
    const columns = `order_id text, customer_id text, restaurant_id text, status text, items jsonb, total_minor bigint,
      currency text, accepted boolean, placed_at timestamptz, updated_at timestamptz, version integer, position bigint`;
    await client.query(`CREATE TABLE ${table}_rows (${columns})`);
    await client.query(`CREATE TABLE ${table}_server (${columns})`);
    const items = JSON.stringify([{ menuItemId: 'item', name: 'Dish 0', quantity: 2, unitPriceMinor: 1250 }]);
    const parts = chunk(events, REBUILD_BATCH).map((part) => [
      part.map((e) => String(e.data.orderId)),
      part.map(() => 'customer-1'),
      part.map(() => 'restaurant-1'),
      part.map((e) => e.eventType),
      part.map(() => items),
      part.map((e) => e.globalPosition * 7),
      part.map(() => 'EUR'),
      part.map(() => true),
      part.map((e) => e.recordedAt),
      part.map((e) => e.recordedAt),
      part.map((e) => e.streamVersion),
      part.map((e) => e.globalPosition),
    ]);
    await checkpoint();
    const started = performance.now();
    for (const values of parts) {
      await client.query(
        `INSERT INTO ${table}_rows SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
           $5::jsonb[], $6::bigint[], $7::text[], $8::boolean[], $9::timestamptz[], $10::timestamptz[],
           $11::int[], $12::bigint[])`,
        values,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const serverStarted = performance.now();
    await client.query(
      `INSERT INTO ${table}_server
       SELECT 'order-' || g, 'customer-1', 'restaurant-1', 'OrderPlaced', $1::jsonb, g * 7, 'EUR', true, now(), now(),
              1, g
       FROM generate_series(1, $2::int) AS g`,
      [items, events.length],
    );
    const serverSeconds = (performance.now() - serverStarted) / 1000;
    return { rowsPerSecond: events.length / seconds, seconds, serverOnlyRowsPerSecond: events.length / serverSeconds };
  } finally {
    await client.end();
  }
}

const pct = (part: number, whole: number) => `${whole > 0 ? ((100 * part) / whole).toFixed(0) : '?'}%`;

/** "read 12%, decode 20%, …": the breakdown as shares of the measured wall time, largest SQL first. */
function describeBreakdown(b: Breakdown): string {
  const sql = Object.entries(b.sqlMs)
    .sort(([, x], [, y]) => y - x)
    .map(([kind, ms]) => `${kind} ${pct(ms, b.wallMs)}`)
    .join(', ');
  return (
    `reading events ${pct(b.readMs, b.wallMs)}, decoding ${pct(b.decodeMs, b.wallMs)}, write transaction ` +
    `${pct(b.transactionMs, b.wallMs)} (SQL: ${sql}; COMMIT ${pct(b.commitMs, b.wallMs)}; Node inside the ` +
    `transaction ${pct(b.transactionJsMs, b.wallMs)}), other ${pct(b.otherMs, b.wallMs)}`
  );
}

/** The warm-up batch is left out of the rate, not out of the story: a slow one is what a user waits for. */
function describeFirstBatch(ours: OursResult): string {
  const f = ours.firstBatch;
  const share = pct(f.ms, ours.callSeconds * 1000);
  // One lookup per writer schema is the cache filling; one per event means the lookups are not shared.
  const lookups =
    f.schemaLookups > HERD_LOOKUPS
      ? `; ${f.schemaLookups} lookups of the store's schemas table in it: the codec resolved the writer schema ` +
        'once per event, not once per schema, because the rebuild decodes a whole batch at once'
      : `; ${f.schemaLookups} writer-schema lookups in it, ${f.laterSchemaLookups} in all later batches`;
  return (
    `the first batch took ${f.ms.toFixed(0)} ms, ${share} of the call (reading ${f.readMs.toFixed(0)} ms, ` +
    `decoding ${f.decodeMs.toFixed(0)} ms, transaction ${f.transactionMs.toFixed(0)} ms)${lookups}`
  );
}

/** Distinct orders a rebuild batch touches, on average: the rows each batch upserts. */
const ordersPerBatch = (events: readonly ProjectedEvent[]): number => {
  const batches = chunk(events, REBUILD_BATCH);
  const distinct = batches.map((b) => new Set(b.map((e) => e.streamId)).size);
  return distinct.reduce((a, b) => a + b, 0) / Math.max(1, batches.length);
};

/** Why the rebuild missed its target, from the measured shares of its time. */
function shortfall(ours: OursResult, baseline: BaselineResult, _ordersPerBatch: number): string {
  const b = ours.breakdown;
  const share = (ms: number) => pct(ms, b.wallMs);
  return (
    `${Math.round(ours.eventsPerSecond)} events/s is ${((100 * ours.eventsPerSecond) / baseline.rowsPerSecond).toFixed(0)}% ` +
    `of a plain multi-row INSERT of as many rows, under the ${TARGET_RATIO}× target. Largest parts: the orders upsert ${share(b.sqlMs['orders: upsert rows'] ?? 0)}, Node inside the ` +
    `transaction ${share(b.transactionJsMs)}, projection_streams ${share(b.sqlMs.projection_streams ?? 0)}, ` +
    `advisory locks ${share(b.sqlMs['advisory locks'] ?? 0)}; reading and decoding (overlapped with the writes) ` +
    `${share(b.readMs + b.decodeMs)}.`
  );
}

export const rebuildSuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    const count = quick ? EVENTS.quick : EVENTS.full;
    const prefix = `bench${uniqueSuffix()}.`;
    const database = await createBenchDatabase('rebuild');
    try {
      const mix = orderMix({ seed: 2, events: count, activeOrders: 500, restaurants: 50, customers: 5_000 });
      // The baseline runs before and after the rebuild, and the ratio uses their mean: on a shared machine a
      // burst of other load during one of them would otherwise decide the verdict.
      const runBaseline = async (table: string) => {
        progress(SUITE, `baseline: ${count} rows inserted by node-postgres, ${REBUILD_BATCH} per statement`);
        const run = await measureBaseline(database, mix.events, table);
        progress(
          SUITE,
          `  ${Math.round(run.rowsPerSecond)} rows/s (${run.seconds.toFixed(2)} s); the same rows made by the ` +
            `server alone: ${Math.round(run.serverOnlyRowsPerSecond)} rows/s`,
        );
        return run;
      };
      const before = await runBaseline('bench_plain_before');
      progress(SUITE, `filling an event store with ${count} order events (${mix.orders} orders), codec-encoded`);
      const { ours, fillSeconds } = await measureOurs(database, prefix, mix.events, mix.orders);
      progress(
        SUITE,
        `  rebuild of ${ORDERS_PROJECTION} v${REBUILD_VERSION}: ${Math.round(ours.eventsPerSecond)} events/s after the ` +
          `first batch (${ours.batches} batches of ${REBUILD_BATCH}; the call took ${ours.callSeconds.toFixed(2)} s); ` +
          `node ${ours.cpu.processPercentOfCore.toFixed(0)}% of a core, machine ` +
          `${ours.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`,
      );
      progress(SUITE, `  where the time went: ${describeBreakdown(ours.breakdown)}`);
      progress(SUITE, `  ${describeFirstBatch(ours)}`);
      const after = await runBaseline('bench_plain_after');
      const baseline: BaselineResult = {
        rows: count,
        rowsPerSecond: (before.rowsPerSecond + after.rowsPerSecond) / 2,
        runs: [before, after].map(({ rowsPerSecond, seconds }) => ({ rowsPerSecond, seconds })),
        serverOnlyRowsPerSecond: (before.serverOnlyRowsPerSecond + after.serverOnlyRowsPerSecond) / 2,
      };
      const mismatched =
        (ours.check.orderRows === ours.orders ? 0 : 1) + (ours.check.dailyOrders === ours.orders ? 0 : 1);
      const rows: Row[] = [
        row(
          SUITE,
          `events/s, ${ORDERS_PROJECTION} from ${Math.round(count / 1000)}k events (vs plain multi-row INSERT)`,
          'events/s',
          ours.eventsPerSecond,
          baseline.rowsPerSecond,
          ratioAtLeast(TARGET_RATIO),
        ),
        row(
          SUITE,
          'events/s, the rebuild call end to end (set-up included)',
          'events/s',
          count / ours.callSeconds,
          null,
          informational,
        ),
        // Orders and daily figures must account for every order in the store, or the rate means nothing.
        row(SUITE, 'read-model totals not matching the store', 'count', mismatched, null, atMost(0)),
      ];
      const notes = [
        `where the rebuild's time went (after the first batch): ${describeBreakdown(ours.breakdown)}.`,
        `${describeFirstBatch(ours)}.`,
        ...(ours.eventsPerSecond < TARGET_RATIO * baseline.rowsPerSecond
          ? [shortfall(ours, baseline, ordersPerBatch(mix.events))]
          : []),
      ];
      return {
        rows,
        notes,
        details: {
          events: count,
          orders: mix.orders,
          rebuildBatch: REBUILD_BATCH,
          ordersPerBatch: ordersPerBatch(mix.events),
          fillSeconds,
          ours,
          baseline,
        },
      };
    } finally {
      await database.drop();
      await deleteSubjects(prefix);
    }
  },
};
