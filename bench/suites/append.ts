import { randomBytes, randomUUID } from 'node:crypto';
import { type EncodedEvent, EventStore } from '../../commands/store/event-store.js';
import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { type BenchDatabase, checkpoint, createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import { type PgbenchResult, pgbench } from '../lib/pgbench.js';
import { progress, sleep } from '../lib/progress.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { informational, type Row, ratioAtLeast, row } from '../lib/table.js';

// EventStore.append throughput against pgbench running the same transaction on the same schema: the ratio is
// what our code (Node, knex, node-postgres, our extra statements) costs compared with a C client doing the
// minimal work, on the same PostgreSQL and the same cores.

const SUITE = 'append';
const WRITERS = 8;
const PAYLOAD_BYTES = 200;
const SHARDS = 16; // the store's default, so shard numbers match production
const STREAM_TYPE = 'bench.append';
const EVENT_TYPE = 'BenchAppended';
const METADATA = { correlationId: 'bench-correlation', causationId: null, actor: 'bench' } as const;
/** The shared lock every append takes (EventStore's APPEND_BARRIER_LOCK), for the exact-statements script. */
const APPEND_BARRIER_LOCK = 0x4c656467;
const TARGET_RATIO = 0.5;

interface Timing {
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
}

/** `minimal`: the transaction the work needs; `exact`: the statements our append sends. */
type Variant = 'minimal' | 'exact';
const VARIANT_LABEL: Record<Variant, string> = { minimal: 'minimal transaction', exact: 'our exact statements' };

interface OursResult {
  readonly eventsPerSecond: number;
  readonly appends: number;
  readonly latencyMs: Summary;
  readonly cpu: CpuWindow;
}

interface BaselineResult {
  readonly eventsPerSecond: number;
  readonly pgbench: PgbenchResult;
  readonly cpu: CpuWindow;
}

async function withDatabase<T>(label: string, body: (database: BenchDatabase) => Promise<T>): Promise<T> {
  const database = await createBenchDatabase(label);
  try {
    return await body(database);
  } finally {
    await database.drop();
  }
}

/** WRITERS closed-loop writers, one stream each, appending `batch` events at a time for the whole window. */
function measureOurs(batch: number, timing: Timing): Promise<OursResult> {
  return withDatabase(`append${batch}`, async (database) => {
    const db = database.pool(WRITERS);
    try {
      const store = new EventStore(db, { topicPrefix: `bench${uniqueSuffix()}.`, outboxShards: SHARDS });
      // One random payload reused: generating 200 random bytes per event would bill the harness to our side.
      const payload = randomBytes(PAYLOAD_BYTES);
      await checkpoint();
      const start = performance.now();
      const measureFrom = start + timing.warmupSeconds * 1000;
      const end = measureFrom + timing.measureSeconds * 1000;
      // The CPU window opens when the warm-up ends, alongside the writers.
      const cpuOpened = sleep(measureFrom - start).then(() => cpuWindow());
      const latencies: number[] = [];
      let events = 0;
      const writer = async (w: number) => {
        const streamId = `bench-${w}`;
        let version = 0;
        // Bounded by the clock: no new append starts after `end`.
        while (performance.now() < end) {
          const batchEvents: EncodedEvent[] = Array.from({ length: batch }, () => ({
            eventId: randomUUID(),
            eventType: EVENT_TYPE,
            schemaId: 1,
            payload,
          }));
          const sent = performance.now();
          await store.append({
            streamId,
            streamType: STREAM_TYPE,
            // Commands append at the version they loaded: the numeric path is the one production takes.
            expectedVersion: version === 0 ? 'no_stream' : version,
            events: batchEvents,
            metadata: METADATA,
          });
          const done = performance.now();
          version += batch;
          // Counted by completion time, as pgbench counts transactions completed within its -T window.
          if (done >= measureFrom && done < end) {
            events += batch;
            latencies.push(done - sent);
          }
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      const cpu = (await cpuOpened)();
      return {
        eventsPerSecond: events / timing.measureSeconds,
        appends: latencies.length,
        latencyMs: summarize(latencies),
        cpu,
      };
    } finally {
      await db.destroy();
    }
  });
}

/**
 * The pgbench script: one transaction per execution, one stream per client (`:client_id`), each statement its
 * own round trip like ours. `minimal` is the plain transaction the work needs (BEGIN; claim the version; insert
 * the events; insert the outbox rows; COMMIT); `exact` is what our append sends (BEGIN; the claim carrying the
 * shared barrier lock; events and outbox rows in one statement; COMMIT), to tell driver cost from SQL cost.
 */
function appendScript(batch: number, topic: string, variant: Variant): string {
  const stream = `'pgb-' || :run || '-' || :client_id`;
  const shard = `abs(hashtext(${stream})::bigint) % ${SHARDS}`;
  const values = Array.from(
    { length: batch },
    (_, i) =>
      `  (${stream}, '${STREAM_TYPE}', CAST(:v AS int) - ${batch - 1 - i}, gen_random_uuid(), '${EVENT_TYPE}', 1, ` +
      'CAST(:payload AS bytea), CAST(:meta AS jsonb))',
  ).join(',\n');
  const insertEvents = [
    '  INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_id, payload, metadata)',
    `  VALUES\n${values}`,
    '  RETURNING global_position',
  ];
  if (variant === 'exact') {
    return [
      'BEGIN;',
      `UPDATE streams SET version = CAST(:v AS int) + ${batch}, updated_at = now()`,
      `  FROM (SELECT pg_advisory_xact_lock_shared(${APPEND_BARRIER_LOCK})) AS barrier`,
      `  WHERE stream_id = ${stream} AND version = CAST(:v AS int) RETURNING version AS v \\gset`,
      'WITH appended AS (',
      ...insertEvents,
      `) INSERT INTO outbox (global_position, shard, topic) SELECT global_position, ${shard}, '${topic}' FROM appended;`,
      'END;',
      '',
    ].join('\n');
  }
  return [
    'BEGIN;',
    `UPDATE streams SET version = CAST(:v AS int) + ${batch}, updated_at = now()`,
    `  WHERE stream_id = ${stream} AND version = CAST(:v AS int) RETURNING version AS v \\gset`,
    'WITH inserted AS (',
    ...insertEvents,
    ') SELECT array_agg(global_position)::text AS pos FROM inserted \\gset',
    'INSERT INTO outbox (global_position, shard, topic)',
    `  SELECT p, ${shard}, '${topic}' FROM unnest(CAST(:pos AS bigint[])) AS p;`,
    'END;',
    '',
  ].join('\n');
}

/** pgbench with the same clients and window, against its own fresh database with the same schema. */
function measurePgbench(batch: number, timing: Timing, variant: Variant): Promise<BaselineResult> {
  return withDatabase(`pgbench${batch}${variant}`, async (database) => {
    // Each client's stream exists at version 0; the warm-up and the measured run use separate streams because
    // pgbench starts every run with `:v` = 0 again.
    const db = database.pool(1);
    try {
      const runs = ['warm', 'main'];
      await db('streams').insert(
        runs.flatMap((run) =>
          Array.from({ length: WRITERS }, (_, c) => ({
            stream_id: `pgb-${run}-${c}`,
            stream_type: STREAM_TYPE,
            version: 0,
          })),
        ),
      );
    } finally {
      await db.destroy();
    }
    const script = appendScript(batch, `bench${uniqueSuffix()}.${STREAM_TYPE}`, variant);
    const defines = {
      v: '0',
      payload: `\\x${randomBytes(PAYLOAD_BYTES).toString('hex')}`,
      meta: JSON.stringify(METADATA),
    };
    const clients = { clients: WRITERS, threads: 2 };
    await checkpoint();
    // pgbench has no warm-up switch: a separate short run warms the server's caches and is thrown away.
    await pgbench(database, script, {
      ...clients,
      seconds: timing.warmupSeconds,
      defines: { ...defines, run: 'warm' },
    });
    const closeCpu = cpuWindow();
    const result = await pgbench(database, script, {
      ...clients,
      seconds: timing.measureSeconds,
      defines: { ...defines, run: 'main' },
    });
    if (result.failed > 0) throw new Error(`pgbench: ${result.failed} transactions failed`);
    return { eventsPerSecond: result.tps * batch, pgbench: result, cpu: closeCpu() };
  });
}

const describeOurs = (r: OursResult) =>
  `${Math.round(r.eventsPerSecond)} events/s, append p50 ${r.latencyMs.p50.toFixed(2)} ms p99 ` +
  `${r.latencyMs.p99.toFixed(2)} ms, node ${r.cpu.processPercentOfCore.toFixed(0)}% of a core, machine ` +
  `${r.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`;

const describeBaseline = (r: BaselineResult) =>
  `${Math.round(r.eventsPerSecond)} events/s (${r.pgbench.tps.toFixed(0)} tps, avg ${r.pgbench.latencyAverageMs} ms), ` +
  `machine ${r.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`;

/** Every round has the same length, so the mean of the rounds' rates is the rate over all measured time. */
const meanRate = (results: readonly { eventsPerSecond: number }[]): number =>
  results.reduce((sum, r) => sum + r.eventsPerSecond, 0) / Math.max(1, results.length);

export const appendSuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    // Ours and the baselines take turns, round after round: load from anything else on the machine then
    // falls on every side alike instead of on whichever happened to run at that moment.
    const rounds = quick ? 1 : 2;
    const timing: Timing = quick ? { warmupSeconds: 1, measureSeconds: 3 } : { warmupSeconds: 1, measureSeconds: 4 };
    // Telling driver cost from SQL cost costs a third measurement per round; the quick run leaves it out.
    const variants: readonly Variant[] = quick ? ['minimal'] : ['minimal', 'exact'];
    const rows: Row[] = [];
    const details: Record<string, unknown> = { writers: WRITERS, payloadBytes: PAYLOAD_BYTES, rounds, timing };
    for (const batch of [1, 10]) {
      const label = batch === 1 ? 'single-event appends' : `batches of ${batch}`;
      const ours: OursResult[] = [];
      const baselines: Record<Variant, BaselineResult[]> = { minimal: [], exact: [] };
      for (let round = 1; round <= rounds; round++) {
        const window = `${timing.warmupSeconds}+${timing.measureSeconds} s, round ${round}/${rounds}`;
        progress(SUITE, `ours, ${label}: ${WRITERS} writers, ${window}`);
        ours.push(await measureOurs(batch, timing));
        progress(SUITE, `  ${describeOurs(ours.at(-1)!)}`);
        for (const variant of variants) {
          progress(SUITE, `pgbench (${VARIANT_LABEL[variant]}), ${label}: ${WRITERS} clients, ${window}`);
          baselines[variant].push(await measurePgbench(batch, timing, variant));
          progress(SUITE, `  ${describeBaseline(baselines[variant].at(-1)!)}`);
        }
      }
      const oursRate = meanRate(ours);
      rows.push(
        row(
          SUITE,
          `events/s, ${label} (vs pgbench)`,
          'events/s',
          oursRate,
          meanRate(baselines.minimal),
          ratioAtLeast(TARGET_RATIO),
        ),
      );
      if (variants.includes('exact')) {
        rows.push(
          row(
            SUITE,
            `events/s, ${label} (vs pgbench, our exact statements)`,
            'events/s',
            oursRate,
            meanRate(baselines.exact),
            informational,
          ),
        );
      }
      details[`batch${batch}`] = { ours, pgbench: baselines.minimal, pgbenchExactStatements: baselines.exact };
    }
    return { rows, details };
  },
};
