import { randomBytes } from 'node:crypto';
import {
  type AppendParameter,
  appendParameterNames,
  appendStatement,
  READ_STREAMS,
} from '../../commands/store/append-statement.js';

// pgbench scripts of the statements production runs: the store's own SQL text (commands/store/append-statement.ts)
// with each `$n` replaced by a pgbench expression, run with `-M prepared` as the store runs named statements.
// The one difference: pgbench cannot make UUIDs, so event ids come from gen_random_uuid() in the statement.

export interface PgbenchAppendOptions {
  /** Events per append. */
  readonly events: number;
  /**
   * `version`: each client appends to its own stream (seeded at version 0 by `setupSql`) at the version its
   * previous append returned, the path of a command on an existing aggregate. `no_stream`: every transaction
   * creates a new stream, as place-order does.
   */
  readonly mode: 'version' | 'no_stream';
  /** Record an idempotency key (a new one per transaction) with the response, as a command with a key does. */
  readonly idempotency: boolean;
  readonly streamType: string;
  /** The outbox rows' topic. */
  readonly topic: string;
  readonly eventType?: string;
  readonly shards?: number;
  /** Stream ids are `<streamPrefix><run>-<client>` (and `-<last position>` in `no_stream` mode). */
  readonly streamPrefix?: string;
  readonly payload?: Buffer;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** place-order's transaction: read these streams (restaurant + menu items) in one query before appending. */
  readonly loadStreamIds?: readonly string[];
}

export interface PgbenchAppendScript {
  readonly script: string;
  /** `-D` variables the script reads; pass `run` (any word) to keep a warm-up's streams apart from the measured run's. */
  readonly defines: Readonly<Record<string, string>>;
  /** Run once before pgbench (`version` mode): the streams the clients append to, at version 0. Empty otherwise. */
  setupSql(clients: number, runs: readonly string[]): string;
  /** The protocol that matches the store's named prepared statements. */
  readonly protocol: 'prepared';
}

const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** The script's stream id expression: per client, and per transaction when each one creates its stream. */
const streamExpression = (prefix: string, mode: PgbenchAppendOptions['mode']): string =>
  mode === 'version'
    ? `${sqlString(prefix)} || :run || '-' || :client_id`
    : `${sqlString(prefix)} || :run || '-' || :client_id || '-' || :position`;

/** The multi-stream read as a pgbench command (first page, as a command's load of small aggregates is). */
export function renderLoadStreamsStatement(streamIds: readonly string[]): string {
  const ids = `ARRAY[${streamIds.map(sqlString).join(', ')}]::text[]`;
  const values = [ids, "''", '0', '1000'];
  return `${READ_STREAMS.text.replace(/\$(\d+)/g, (_, n: string) => values[Number(n) - 1]!)};`;
}

/** A pgbench script running the store's append statement (after place-order's read, with `loadStreamIds`). */
export function renderAppendScript(options: PgbenchAppendOptions): PgbenchAppendScript {
  const prefix = options.streamPrefix ?? 'pgb-';
  const stream = streamExpression(prefix, options.mode);
  const n = options.events;
  const repeat = (item: string) => `ARRAY[${Array.from({ length: n }, () => item).join(', ')}]`;
  const shards = options.shards ?? 16;
  const expressions: Record<AppendParameter, string> = {
    streamId: `(${stream})`,
    streamType: sqlString(options.streamType),
    metadata: 'CAST(:meta AS jsonb)',
    eventIds: repeat('gen_random_uuid()'),
    eventTypes: repeat(sqlString(options.eventType ?? 'BenchAppended')),
    schemaIds: repeat('1'),
    payloads: repeat('CAST(:payload AS bytea)'),
    shard: `(:client_id % ${shards})`,
    topic: sqlString(options.topic),
    expectedVersion: ':version',
    idempotencyScope: "'bench'",
    idempotencyKey: `('k-' || :run || '-' || :client_id || '-' || :position)`,
    idempotencyRequestHash: "'bench-request-hash'",
  };
  const names = appendParameterNames(options.mode, options.idempotency);
  const statement = appendStatement(options.mode, options.idempotency);
  const append = statement.text.replace(/\$(\d+)/g, (_, i: string) => expressions[names[Number(i) - 1]!]);
  const script = [
    ...(options.loadStreamIds ? [renderLoadStreamsStatement(options.loadStreamIds)] : []),
    // \gset keeps the new version and position for the next transaction (and fails the client on a conflict).
    `${append} \\gset`,
    '',
  ].join('\n');
  const defines = {
    run: 'main',
    version: '0',
    position: '0',
    payload: `\\x${(options.payload ?? randomBytes(200)).toString('hex')}`,
    meta: JSON.stringify(options.metadata ?? { correlationId: 'bench', causationId: null, actor: 'bench' }),
  };
  return {
    script,
    defines,
    protocol: 'prepared',
    setupSql: (clients, runs) => {
      if (options.mode !== 'version') return '';
      const rows = runs.flatMap((run) =>
        Array.from(
          { length: clients },
          // pgbench numbers its clients from 0.
          (_, c) => `(${sqlString(`${prefix}${run}-${c}`)}, ${sqlString(options.streamType)}, 0)`,
        ),
      );
      return `INSERT INTO streams (stream_id, stream_type, version) VALUES ${rows.join(', ')}`;
    },
  };
}
