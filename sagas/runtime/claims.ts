import type { Knex } from 'knex';
import type { CommandStatus, SagaCommandRecord } from './types.js';

// A dispatcher claims a command with a lease: `claimed_until` (the database's clock, so every process agrees) set
// by the statement that claims it, renewed while the command is performed, cleared by the update that records its
// outcome. A command is being performed ("running", "in flight") while it is pending and its lease has not run out;
// a lease that runs out (its process died, or lost the database for longer than the lease) frees the command for
// another dispatcher. See dispatcher.ts for the crash points.

/** SQL: whether the saga_commands row `alias` is claimed by a dispatcher right now. */
export const claimedNowSql = (alias: string): string =>
  `(${alias}.status = 'pending' AND ${alias}.claimed_until IS NOT NULL AND ${alias}.claimed_until > clock_timestamp())`;

/** What a saga did, read in a transaction that holds its row: each command by step, and those being performed. */
export interface CommandsOfSaga {
  readonly record: SagaCommandRecord;
  /** Steps a dispatcher has claimed and is performing now: their outcome is about to be recorded. */
  readonly inFlight: readonly string[];
}

/**
 * Reads the saga's commands in the caller's transaction, which must hold the saga's row (no command of the saga is
 * added meanwhile). Each pending command's row is locked for the rest of the transaction, skipping those another
 * transaction holds: a dispatcher claiming it, renewing its lease or recording its outcome; those count as in flight,
 * and so do the ones under a live lease. One locked here cannot be claimed before this transaction ends (claims skip
 * locked rows) and its outcome cannot be recorded meanwhile, so the record read after taking the locks stays true
 * while the saga decides on it. Never waits on a lock (a dispatcher recording a failure holds the command's row and
 * then asks for the saga's, which this transaction holds).
 */
export async function commandsOfSaga(trx: Knex.Transaction, sagaType: string, sagaId: string): Promise<CommandsOfSaga> {
  const key = { saga_type: sagaType, saga_id: sagaId };
  const { rows: lockedRows } = await trx.raw(
    `SELECT c.step, ${claimedNowSql('c')} AS leased FROM saga_commands c
     WHERE c.saga_type = ? AND c.saga_id = ? AND c.status = 'pending'
     ORDER BY c.id FOR UPDATE SKIP LOCKED`,
    [sagaType, sagaId],
  );
  const locked = new Map((lockedRows as { step: string; leased: boolean }[]).map((r) => [r.step, r.leased]));
  const rows: { step: string; status: CommandStatus }[] = await trx('saga_commands')
    .where(key)
    .orderBy('id')
    .select('step', 'status');
  const inFlight = rows.filter((r) => r.status === 'pending' && (locked.get(r.step) ?? true)).map((r) => r.step);
  return { record: Object.fromEntries(rows.map((r) => [r.step, r.status])), inFlight };
}
