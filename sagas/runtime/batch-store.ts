import type { Knex } from 'knex';
import type { BatchPlan } from './batch-plan.js';
import { type CommandCause, type LoadedSaga, SagaVersionConflict } from './store.js';

// A batch's reads and writes of the saga tables, in the caller's transaction: one statement per table whatever the
// batch's size (rows travel as one JSON array each), so a batch costs about ten round trips instead of about eight
// per event. Together with the processed event ids they commit or roll back as one.

/** A fresh event of the batch, by saga: what `markProcessed` records. */
export interface ProcessedKey {
  readonly sagaId: string;
  readonly eventId: string;
}

/** A saga id and event id as one key; the uuid by its hex digits, as PostgreSQL answers it in its own spelling. */
const keyOf = (sagaId: string, eventId: string): string =>
  JSON.stringify([sagaId, eventId.toLowerCase().replace(/[^0-9a-f]/g, '')]);

/**
 * Records the events as processed by their sagas and returns those that were not before (keyOf). An event already
 * recorded — a redelivery, or another consumer applying the same batch right now, whose insert this one waits for —
 * is left out: that is the exactly-once of a reaction, since the record commits with the reaction or not at all.
 */
export async function markProcessed(
  trx: Knex.Transaction,
  sagaType: string,
  keys: readonly ProcessedKey[],
): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await trx.raw(
    `INSERT INTO saga_processed_events (saga_type, saga_id, event_id)
     SELECT ?, k.saga_id, k.event_id FROM jsonb_to_recordset(?::jsonb) AS k(saga_id text, event_id uuid)
     ON CONFLICT DO NOTHING
     RETURNING saga_id, event_id`,
    [sagaType, JSON.stringify(keys.map((k) => ({ saga_id: k.sagaId, event_id: k.eventId })))],
  );
  return new Set((rows as { saga_id: string; event_id: string }[]).map((r) => keyOf(r.saga_id, r.event_id)));
}

export const processedKey = keyOf;

/**
 * Reads the sagas and locks their rows for the rest of the transaction, in saga id order: two batches sharing sagas
 * (a saga's order and payment events come from two topics, consumed side by side) take the locks in the same order
 * and wait for each other instead of deadlocking, and a deadline or a failed command of one of them waits for the
 * batch. Sagas that do not exist are absent from the map (and locked by nothing: two batches starting the same saga
 * meet at its insert, see writePlan).
 */
export async function lockSagas<State>(
  trx: Knex.Transaction,
  sagaType: string,
  sagaIds: readonly string[],
): Promise<Map<string, LoadedSaga<State>>> {
  if (sagaIds.length === 0) return new Map();
  const { rows } = await trx.raw(
    `SELECT saga_id, state, version, origin FROM saga_instances
     WHERE saga_type = ? AND saga_id = ANY(?::text[])
     ORDER BY saga_id FOR UPDATE`,
    [sagaType, [...sagaIds]],
  );
  return new Map(
    (rows as { saga_id: string; state: State; version: number; origin: CommandCause | null }[]).map((r) => [
      r.saga_id,
      { state: r.state, version: r.version, origin: r.origin ?? null },
    ]),
  );
}

/**
 * Writes the plan: sagas inserted or updated (at the version they were read at: a row changed meanwhile, or a saga
 * started by another transaction first, throws SagaVersionConflict and the batch is decided again), commands once
 * per step, deadlines, and the timeline, each table in one statement.
 */
export async function writePlan(trx: Knex.Transaction, sagaType: string, plan: BatchPlan): Promise<void> {
  const json = (rows: readonly object[]) => JSON.stringify(rows);
  const inserted = plan.sagas.filter((s) => s.fromVersion === 0);
  const updated = plan.sagas.filter((s) => s.fromVersion > 0);
  if (inserted.length > 0) {
    const { rowCount } = await trx.raw(
      `INSERT INTO saga_instances (saga_type, saga_id, status, state, version, origin)
       SELECT ?, s.saga_id, s.status, s.state, s.version, s.origin
       FROM jsonb_to_recordset(?::jsonb) AS s(saga_id text, status text, state jsonb, version integer, origin jsonb)
       ON CONFLICT (saga_type, saga_id) DO NOTHING`,
      [
        sagaType,
        json(
          inserted.map((s) => ({
            saga_id: s.sagaId,
            status: s.status,
            state: s.state,
            version: s.version,
            origin: s.origin,
          })),
        ),
      ],
    );
    if (rowCount !== inserted.length) throw new SagaVersionConflict('a saga of the batch was started concurrently');
  }
  if (updated.length > 0) {
    const { rowCount } = await trx.raw(
      `UPDATE saga_instances i
       SET status = s.status, state = s.state, version = s.version, updated_at = now()
       FROM jsonb_to_recordset(?::jsonb) AS s(saga_id text, status text, state jsonb, version integer, from_version integer)
       WHERE i.saga_type = ? AND i.saga_id = s.saga_id AND i.version = s.from_version`,
      [
        json(
          updated.map((s) => ({
            saga_id: s.sagaId,
            status: s.status,
            state: s.state,
            version: s.version,
            from_version: s.fromVersion,
          })),
        ),
        sagaType,
      ],
    );
    if (rowCount !== updated.length) throw new SagaVersionConflict('a saga of the batch changed since it was read');
  }
  if (plan.commands.length > 0) {
    // In the order issued (ids follow it); the first of a step wins, later ones of the same step do nothing.
    await trx.raw(
      `INSERT INTO saga_commands (saga_type, saga_id, step, kind, payload, cause)
       SELECT ?, c.saga_id, c.step, c.kind, c.payload, c.cause
       FROM jsonb_to_recordset(?::jsonb) AS c(n integer, saga_id text, step text, kind text, payload jsonb, cause jsonb)
       ORDER BY c.n
       ON CONFLICT (saga_type, saga_id, step) DO NOTHING`,
      [
        sagaType,
        json(
          plan.commands.map((c, n) => ({
            n,
            saga_id: c.sagaId,
            step: c.step,
            kind: c.kind,
            payload: c.payload,
            cause: c.cause,
          })),
        ),
      ],
    );
  }
  if (plan.deadlines.length > 0) {
    await trx.raw(
      `INSERT INTO saga_deadlines (saga_type, saga_id, name, due_at, status)
       SELECT ?, d.saga_id, d.name, d.due_at, d.status
       FROM jsonb_to_recordset(?::jsonb) AS d(saga_id text, name text, due_at timestamptz, status text)
       ON CONFLICT (saga_type, saga_id, name) DO UPDATE SET due_at = excluded.due_at, status = excluded.status`,
      [
        sagaType,
        json(plan.deadlines.map((d) => ({ saga_id: d.sagaId, name: d.name, due_at: d.dueAt, status: d.status }))),
      ],
    );
  }
  if (plan.cancels.length > 0) {
    await trx.raw(
      `UPDATE saga_deadlines d SET status = 'cancelled'
       FROM jsonb_to_recordset(?::jsonb) AS c(saga_id text, name text)
       WHERE d.saga_type = ? AND d.saga_id = c.saga_id AND d.name = c.name AND d.status = 'scheduled'`,
      [json(plan.cancels.map((c) => ({ saga_id: c.sagaId, name: c.name }))), sagaType],
    );
  }
  if (plan.timeline.length > 0) {
    await trx.raw(
      `INSERT INTO saga_timeline (saga_type, saga_id, kind, detail)
       SELECT ?, t.saga_id, 'event', t.detail
       FROM jsonb_to_recordset(?::jsonb) AS t(n integer, saga_id text, detail jsonb)
       ORDER BY t.n`,
      [sagaType, json(plan.timeline.map((t, n) => ({ n, saga_id: t.sagaId, detail: t.detail })))],
    );
  }
}
