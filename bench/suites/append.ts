import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { type EncodedEvent, EventStore } from '../../commands/store/event-store.js';
import { renderAppendScript } from '../lib/append-statement.js';
import { type CpuWindow, cpuWindow } from '../lib/cpu.js';
import { type BenchDatabase, checkpoint, createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import { type PgbenchResult, pgbench } from '../lib/pgbench.js';
import { progress, sleep } from '../lib/progress.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { informational, type Row, ratioAtLeast, row } from '../lib/table.js';

// EventStore.append against two baselines measured in the same run, each on its own fresh database:
// - pgbench running our exact production statement (the store's own SQL text, `-M prepared` as our named
//   statements are): what Node, node-postgres and our code cost on top of the SQL;
// - an Emmett-shaped append: one PL/pgSQL function call per append (JSON payloads, no outbox), sent from Node
//   through a pg.Pool inside BEGIN … COMMIT with the values inlined as literals, the way Emmett's PostgreSQL event
//   store calls its emt_append_to_stream. Our own code in Emmett's shape, not Emmett's code.

const SUITE = 'append';
const PAYLOAD_BYTES = 200;
const SHARDS = 16; // the store's default, so shard numbers match production
const STREAM_TYPE = 'bench.append';
const EVENT_TYPE = 'BenchAppended';
const METADATA = { correlationId: 'bench-correlation', causationId: null, actor: 'bench' } as const;
const TARGET_VS_PGBENCH = 0.8;
const TARGET_VS_EMMETT = 1.2;

interface Timing {
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
}

/** One shape of load: `writers` closed-loop writers, one stream each, `batch` events per append. */
interface Load {
  readonly writers: number;
  readonly batch: number;
  /** The row that carries the targets; the others are information. */
  readonly judged: boolean;
}

const LOADS: readonly Load[] = [
  { writers: 8, batch: 1, judged: true },
  { writers: 1, batch: 1, judged: false },
  { writers: 32, batch: 1, judged: false },
  { writers: 8, batch: 10, judged: false },
];

const describeLoad = (load: Load) =>
  `${load.batch === 1 ? 'single events' : `batches of ${load.batch}`}, concurrency ${load.writers}`;

type Side = 'ours' | 'pgbench' | 'emmett';

interface Measured {
  readonly eventsPerSecond: number;
  readonly latencyMs?: Summary;
  readonly pgbench?: PgbenchResult;
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

/**
 * Runs `writers` closed loops of `appendOnce` for the warm-up and the measured window; counts the events of
 * appends that completed inside the window (as pgbench counts transactions completed within -T).
 */
async function closedLoop(
  load: Load,
  timing: Timing,
  appendOnce: (writer: number, version: number) => Promise<void>,
): Promise<Measured> {
  await checkpoint();
  const start = performance.now();
  const measureFrom = start + timing.warmupSeconds * 1000;
  const end = measureFrom + timing.measureSeconds * 1000;
  // The CPU window opens when the warm-up ends, alongside the writers.
  const cpuOpened = sleep(measureFrom - start).then(() => cpuWindow());
  const latencies: number[] = [];
  let events = 0;
  const writer = async (w: number) => {
    let version = 0;
    // Bounded by the clock: no new append starts after `end`.
    while (performance.now() < end) {
      const sent = performance.now();
      await appendOnce(w, version);
      const done = performance.now();
      version += load.batch;
      if (done >= measureFrom && done < end) {
        events += load.batch;
        latencies.push(done - sent);
      }
    }
  };
  await Promise.all(Array.from({ length: load.writers }, (_, w) => writer(w)));
  const cpu = (await cpuOpened)();
  return { eventsPerSecond: events / timing.measureSeconds, latencyMs: summarize(latencies), cpu };
}

/** EventStore.append at the stream's version: the path a command on an existing aggregate takes. */
function measureOurs(load: Load, timing: Timing): Promise<Measured> {
  return withDatabase(`ours${load.writers}x${load.batch}`, async (database) => {
    const db = database.pool(load.writers);
    try {
      const store = new EventStore(db, { topicPrefix: `bench${uniqueSuffix()}.`, outboxShards: SHARDS });
      // One random payload reused: generating random bytes per event would bill the harness to our side.
      const payload = randomBytes(PAYLOAD_BYTES);
      return await closedLoop(load, timing, async (w, version) => {
        const events: EncodedEvent[] = Array.from({ length: load.batch }, () => ({
          eventId: randomUUID(),
          eventType: EVENT_TYPE,
          schemaId: 1,
          payload,
        }));
        await store.append({
          streamId: `bench-${w}`,
          streamType: STREAM_TYPE,
          expectedVersion: version === 0 ? 'no_stream' : version,
          events,
          metadata: METADATA,
        });
      });
    } finally {
      await db.destroy();
    }
  });
}

/** pgbench running the store's own append statement, same clients and window, `-M prepared`. */
function measurePgbench(load: Load, timing: Timing): Promise<Measured> {
  return withDatabase(`pgbench${load.writers}x${load.batch}`, async (database) => {
    const rendered = renderAppendScript({
      events: load.batch,
      mode: 'version',
      idempotency: false,
      streamType: STREAM_TYPE,
      topic: `bench${uniqueSuffix()}.${STREAM_TYPE}`,
      eventType: EVENT_TYPE,
      shards: SHARDS,
      payload: randomBytes(PAYLOAD_BYTES),
      metadata: METADATA,
    });
    // pgbench starts every run with `:version` = 0 again: the warm-up and the measured run use their own streams.
    const db = database.pool(1);
    try {
      await db.raw(rendered.setupSql(load.writers, ['warm', 'main']));
    } finally {
      await db.destroy();
    }
    const run = { clients: load.writers, threads: Math.min(2, load.writers), protocol: rendered.protocol };
    await checkpoint();
    // pgbench has no warm-up switch: a separate short run warms the server's caches and is thrown away.
    await pgbench(database, rendered.script, {
      ...run,
      seconds: timing.warmupSeconds,
      defines: { ...rendered.defines, run: 'warm' },
    });
    const closeCpu = cpuWindow();
    const result = await pgbench(database, rendered.script, {
      ...run,
      seconds: timing.measureSeconds,
      defines: { ...rendered.defines, run: 'main' },
    });
    if (result.failed > 0) throw new Error(`pgbench: ${result.failed} transactions failed`);
    return { eventsPerSecond: result.tps * load.batch, pgbench: result, cpu: closeCpu() };
  });
}

// The Emmett-shaped store: a streams table and a messages table keyed by (stream, position), a global position
// from a sequence, JSON data and metadata, the transaction id on every message; the append is one function that
// inserts the messages, then creates the stream (expected 0) or moves it from the expected position.
const EMMETT_SCHEMA = `
CREATE TABLE emt_streams (
  stream_id text NOT NULL, stream_position bigint NOT NULL, partition text NOT NULL DEFAULT 'default',
  stream_type text NOT NULL, stream_metadata jsonb NOT NULL DEFAULT '{}', is_archived boolean NOT NULL DEFAULT false,
  PRIMARY KEY (stream_id, partition, is_archived));
CREATE SEQUENCE emt_global_position;
CREATE TABLE emt_messages (
  stream_id text NOT NULL, stream_position bigint NOT NULL, partition text NOT NULL DEFAULT 'default',
  is_archived boolean NOT NULL DEFAULT false, global_position bigint NOT NULL DEFAULT nextval('emt_global_position'),
  transaction_id xid8 NOT NULL, message_id text NOT NULL, message_type text NOT NULL,
  message_schema_version text NOT NULL, message_data jsonb NOT NULL, message_metadata jsonb NOT NULL,
  created timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, stream_position, partition, is_archived));
CREATE FUNCTION emt_shaped_append(ids text[], data jsonb[], metadata jsonb[], schema_versions text[], types text[],
                                  p_stream text, p_type text, p_expected bigint)
RETURNS TABLE (success boolean, next_position bigint, last_global_position bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_expected bigint := p_expected;
  v_next bigint;
  v_last bigint;
  v_updated int;
BEGIN
  IF v_expected IS NULL THEN
    SELECT coalesce(max(stream_position), 0) INTO v_expected FROM emt_streams WHERE stream_id = p_stream;
  END IF;
  v_next := v_expected + cardinality(data);
  WITH inserted AS (
    INSERT INTO emt_messages (stream_id, stream_position, transaction_id, message_id, message_type,
                              message_schema_version, message_data, message_metadata)
    SELECT p_stream, v_expected + m.n, pg_current_xact_id(), m.id, m.type, m.version, m.data, m.metadata
    FROM unnest(ids, data, metadata, schema_versions, types) WITH ORDINALITY AS m(id, data, metadata, version, type, n)
    RETURNING global_position)
  SELECT max(global_position) INTO v_last FROM inserted;
  IF v_expected = 0 THEN
    INSERT INTO emt_streams (stream_id, stream_position, stream_type) VALUES (p_stream, v_next, p_type);
  ELSE
    UPDATE emt_streams SET stream_position = v_next WHERE stream_id = p_stream AND stream_position = v_expected;
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    IF v_updated = 0 THEN
      RETURN QUERY SELECT false, NULL::bigint, NULL::bigint;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY SELECT true, v_next, v_last;
END;
$$;`;

/** A SQL string literal, as Emmett's formatter (%L) writes one. */
const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** The Emmett-shaped append: BEGIN, the function call with its values inlined, COMMIT, on a pg.Pool client. */
function measureEmmett(load: Load, timing: Timing): Promise<Measured> {
  return withDatabase(`emmett${load.writers}x${load.batch}`, async (database) => {
    const pool = new pg.Pool({ connectionString: database.url, max: load.writers });
    // An idle client's error (its backend terminated) is the pool's event: without a listener it ends the run.
    pool.on('error', () => undefined);
    try {
      await pool.query(EMMETT_SCHEMA);
      // A JSON payload of about the same size as ours, serialised once (as ours is encoded once).
      const data = JSON.stringify({ value: randomBytes(PAYLOAD_BYTES / 2 - 8).toString('hex') });
      const metadata = JSON.stringify(METADATA);
      return await closedLoop(load, timing, async (w, version) => {
        const array = (item: () => string, type: string) =>
          `ARRAY[${Array.from({ length: load.batch }, item).join(',')}]::${type}[]`;
        const call = `SELECT * FROM emt_shaped_append(
          ${array(() => literal(randomUUID()), 'text')},
          ${array(() => literal(data), 'jsonb')},
          ${array(() => literal(metadata), 'jsonb')},
          ${array(() => "'1'", 'text')},
          ${array(() => literal(EVENT_TYPE), 'text')},
          ${literal(`emt-${w}`)}::text, ${literal(STREAM_TYPE)}::text, ${version}::bigint)`;
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const result = await client.query<{ success: boolean }>(call);
          if (!result.rows[0]?.success) throw new Error('the Emmett-shaped append lost a conflict it cannot have');
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      });
    } finally {
      await pool.end();
    }
  });
}

const MEASURE: Record<Side, (load: Load, timing: Timing) => Promise<Measured>> = {
  ours: measureOurs,
  pgbench: measurePgbench,
  emmett: measureEmmett,
};

const describeMeasured = (m: Measured) => {
  const latency = m.latencyMs
    ? `, append p50 ${m.latencyMs.p50.toFixed(2)} ms p99 ${m.latencyMs.p99.toFixed(2)} ms`
    : '';
  const tps = m.pgbench ? ` (${m.pgbench.tps.toFixed(0)} tps, avg ${m.pgbench.latencyAverageMs} ms)` : '';
  return (
    `${Math.round(m.eventsPerSecond)} events/s${tps}${latency}, node ${m.cpu.processPercentOfCore.toFixed(0)}% ` +
    `of a core, machine ${m.cpu.machineBusyPercent?.toFixed(0) ?? '?'}% busy`
  );
};

/** Every round has the same length, so the mean of the rounds' rates is the rate over all measured time. */
const meanRate = (results: readonly Measured[]): number =>
  results.reduce((sum, r) => sum + r.eventsPerSecond, 0) / Math.max(1, results.length);

export const appendSuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    // The sides take turns, round after round, in a rotating order: load from anything else on the machine
    // then falls on every side alike instead of on whichever happened to run at that moment.
    const rounds = quick ? 1 : 2;
    const timing: Timing = quick ? { warmupSeconds: 1, measureSeconds: 2 } : { warmupSeconds: 1, measureSeconds: 3 };
    const sides: readonly Side[] = ['ours', 'pgbench', 'emmett'];
    const rows: Row[] = [];
    const details: Record<string, unknown> = { payloadBytes: PAYLOAD_BYTES, rounds, timing };
    for (const load of LOADS) {
      const label = describeLoad(load);
      const measured: Record<Side, Measured[]> = { ours: [], pgbench: [], emmett: [] };
      for (let round = 0; round < rounds; round++) {
        for (let turn = 0; turn < sides.length; turn++) {
          const side = sides[(turn + round) % sides.length]!;
          progress(SUITE, `${side}, ${label}: ${timing.warmupSeconds}+${timing.measureSeconds} s, round ${round + 1}`);
          measured[side].push(await MEASURE[side](load, timing));
          progress(SUITE, `  ${describeMeasured(measured[side].at(-1)!)}`);
        }
      }
      const ours = meanRate(measured.ours);
      rows.push(
        row(
          SUITE,
          `events/s, ${label} (vs pgbench of our statement)`,
          'events/s',
          ours,
          meanRate(measured.pgbench),
          load.judged ? ratioAtLeast(TARGET_VS_PGBENCH) : informational,
        ),
        row(
          SUITE,
          `events/s, ${label} (vs Emmett-shaped append)`,
          'events/s',
          ours,
          meanRate(measured.emmett),
          load.judged ? ratioAtLeast(TARGET_VS_EMMETT) : informational,
        ),
      );
      details[`c${load.writers}_batch${load.batch}`] = measured;
    }
    return { rows, details };
  },
};
