// The SQL the event store runs on its hot paths, as named prepared statements (node-postgres `{ name, text }`:
// parsed and planned once per connection, then only bound and executed). Kept apart from the store so the bench
// can hand the very same text to pgbench (bench/lib/append-statement.ts).

/** Appenders hold this lock shared; a catch-up reader takes it exclusively for an instant to learn a position
 *  below which no transaction is still in flight (sequence values are taken before commit). */
export const APPEND_BARRIER_LOCK = 0x4c656467; // "Ledg"

/** How the append claims the stream: create it, bump it whatever its version, or move it from a known version. */
export type ClaimMode = 'no_stream' | 'any' | 'version';

export interface NamedStatement {
  readonly name: string;
  readonly text: string;
}

/**
 * The append's parameters, in order ($1…). The expected version (`$10`) exists only in `version` mode, and the
 * idempotency record's three only when the append carries one; they follow the common nine.
 */
export const APPEND_PARAMETERS = [
  'streamId',
  'streamType',
  'metadata',
  'eventIds',
  'eventTypes',
  'schemaIds',
  'payloads',
  'shard',
  'topic',
  'expectedVersion',
  'idempotencyScope',
  'idempotencyKey',
  'idempotencyRequestHash',
] as const;
export type AppendParameter = (typeof APPEND_PARAMETERS)[number];

const COUNT = 'cardinality($4::uuid[])';

// Each claim joins the barrier CTE, so it cannot produce its row before the shared lock is held.
const CLAIMS: Record<ClaimMode, (expected: string) => string> = {
  no_stream: () => `INSERT INTO streams (stream_id, stream_type, version)
    SELECT $1::text, $2::text, ${COUNT} FROM barrier
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING version`,
  any: () => `INSERT INTO streams (stream_id, stream_type, version)
    SELECT $1::text, $2::text, ${COUNT} FROM barrier
    ON CONFLICT (stream_id) DO UPDATE SET version = streams.version + EXCLUDED.version, updated_at = now()
    RETURNING version`,
  version: (expected) => `UPDATE streams SET version = version + ${COUNT}, updated_at = now()
    FROM barrier
    WHERE stream_id = $1::text AND version = ${expected}::int
    RETURNING version`,
};

/**
 * One statement, one round trip, no explicit transaction (the statement is its own): take the append barrier
 * shared, claim the stream's next versions, insert the events and their outbox rows, and (with a key) record
 * the idempotency key with the response. It returns one row (version, position), or none when the claim
 * failed (a concurrency conflict: nothing was written).
 *
 * Gap safety (see EventStore.safeHighWaterMark): a reader must never see position N committed while a lower
 * position is still in flight. Positions come from the events' sequence, drawn when `appended` inserts a row;
 * `appended` reads its rows FROM `claimed`, which reads FROM `barrier`, whose one row exists only once
 * pg_advisory_xact_lock_shared has returned (a volatile function: never inlined nor folded, evaluated when the
 * row is fetched). So no sequence value is drawn before the lock is held, and the lock is held until the
 * statement's transaction ends. A reader taking the lock exclusively therefore waits for every append that has
 * drawn a position, and reads max(position) only when none is in flight.
 *
 * A key already recorded violates idempotency_keys' primary key: the statement fails as a whole and nothing is
 * appended (the caller turns that into IdempotencyRaceError).
 */
export function appendStatement(mode: ClaimMode, withIdempotency: boolean): NamedStatement {
  const expected = '$10';
  const idem = withIdempotency ? (mode === 'version' ? ['$11', '$12', '$13'] : ['$10', '$11', '$12']) : [];
  const remember = withIdempotency
    ? `,
remembered AS (
  INSERT INTO idempotency_keys (scope, key, request_hash, response)
  SELECT ${idem[0]}::text, ${idem[1]}::text, ${idem[2]}::text,
         jsonb_build_object('streamId', $1::text, 'version', version, 'position', position)
  FROM result
)`
    : '';
  const text = `WITH barrier AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(${APPEND_BARRIER_LOCK}) AS held),
claimed AS (
  ${CLAIMS[mode](expected)}
),
appended AS (
  INSERT INTO events (stream_id, stream_type, stream_version, event_id, event_type, schema_id, payload, metadata)
  SELECT $1::text, $2::text, claimed.version - ${COUNT} + e.n::int, e.id, e.type, e.schema_id, e.payload, $3::jsonb
  FROM claimed, unnest($4::uuid[], $5::text[], $6::int[], $7::bytea[]) WITH ORDINALITY AS e(id, type, schema_id, payload, n)
  ORDER BY e.n
  RETURNING global_position
),
outboxed AS (
  INSERT INTO outbox (global_position, shard, topic) SELECT global_position, $8::int, $9::text FROM appended
),
result AS (
  SELECT claimed.version, (SELECT max(global_position) FROM appended) AS position FROM claimed
)${remember}
SELECT version, position FROM result`;
  return { name: `ll_append_${mode}${withIdempotency ? '_idem' : ''}`, text };
}

/** The parameter names of `appendStatement(mode, withIdempotency)`, in $-order. */
export function appendParameterNames(mode: ClaimMode, withIdempotency: boolean): AppendParameter[] {
  return APPEND_PARAMETERS.filter((name) => {
    if (name === 'expectedVersion') return mode === 'version';
    if (name.startsWith('idempotency')) return withIdempotency;
    return true;
  });
}

/** The stream's version after a failed claim, read apart: the failed statement's snapshot may predate the winner. */
export const STREAM_VERSION: NamedStatement = {
  name: 'll_stream_version',
  text: 'SELECT version FROM streams WHERE stream_id = $1::text',
};

/**
 * Every event of several streams after a keyset position (stream_id, stream_version), in that order: one query
 * loads all the streams a command needs. Pass ('', 0) for the first page and the last row's key for the next.
 */
export const READ_STREAMS: NamedStatement = {
  name: 'll_read_streams',
  text: `SELECT global_position, stream_id, stream_type, stream_version, event_id, event_type, schema_id, payload,
       metadata, recorded_at
FROM events
WHERE stream_id = ANY($1::text[]) AND (stream_id, stream_version) > ($2::text, $3::int)
ORDER BY stream_id, stream_version
LIMIT $4::int`,
};

export const FIND_IDEMPOTENT: NamedStatement = {
  name: 'll_find_idempotent',
  text: 'SELECT request_hash, response FROM idempotency_keys WHERE scope = $1::text AND key = $2::text',
};

/** A command that appended nothing: its key and response, unless the key is already recorded. */
export const REMEMBER_NOOP: NamedStatement = {
  name: 'll_remember_noop',
  text: `INSERT INTO idempotency_keys (scope, key, request_hash, response) VALUES ($1::text, $2::text, $3::text, $4::jsonb)
ON CONFLICT (scope, key) DO NOTHING RETURNING key`,
};
