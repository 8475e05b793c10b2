import type { Knex } from 'knex';
import type { CommandStatus, SagaCommandRecord } from './types.js';

/** Namespace of the dispatchers' command claims, PostgreSQL advisory locks (the second key is the command id). */
export const COMMAND_LOCK = 0x53616761; // "Saga"
/** Advisory lock keys are int4: command ids past 2^31 wrap (a collision only delays one command briefly). */
export const lockKey = (id: number): number => Number(BigInt(id) % 2147483647n);
/** lockKey of a command id column, in SQL. */
export const lockKeySql = (column: string): string => `(${column} % 2147483647)`;

/**
 * The claim keys (lockKey) held right now in this database: the commands a dispatcher is performing (and, for an
 * instant, those a deadline's transaction is deciding on, see commandsOfSaga). Read from pg_locks, so looking
 * takes no lock: an onlooker (`ledger sagas`) never makes a dispatcher skip a command or a deadline be put off,
 * as trying the lock would.
 */
export const HELD_CLAIMS_SQL = `SELECT objid::bigint AS key FROM pg_locks
  WHERE locktype = 'advisory' AND classid = ${COMMAND_LOCK} AND objsubid = 2 AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

export async function heldClaims(db: Knex | Knex.Transaction): Promise<Set<number>> {
  const { rows } = await db.raw(HELD_CLAIMS_SQL);
  return new Set((rows as { key: number }[]).map((r) => Number(r.key)));
}

/** What a saga did, read in a transaction that holds its row: each command by step, and those being performed. */
export interface CommandsOfSaga {
  readonly record: SagaCommandRecord;
  /** Steps a dispatcher has claimed and is performing now: their outcome is about to be recorded. */
  readonly inFlight: readonly string[];
}

/**
 * Reads the saga's commands in the caller's transaction, which must hold the saga's row (no command of the saga is
 * added meanwhile). Each pending command's claim lock is tried for the rest of the transaction: one a dispatcher
 * holds is in flight; one taken here cannot be claimed before this transaction ends, so the record read after
 * taking them stays true while the saga decides on it. A dispatcher commits an outcome before it lets go of the
 * claim, so a command whose claim was free shows its latest outcome. Never waits on a lock.
 */
export async function commandsOfSaga(trx: Knex.Transaction, sagaType: string, sagaId: string): Promise<CommandsOfSaga> {
  const key = { saga_type: sagaType, saga_id: sagaId };
  const pending: { id: number | string; step: string }[] = await trx('saga_commands')
    .where({ ...key, status: 'pending' })
    .orderBy('id')
    .select('id', 'step');
  const inFlight: string[] = [];
  for (const { id, step } of pending) {
    const {
      rows: [lock],
    } = await trx.raw('SELECT pg_try_advisory_xact_lock(?, ?) AS ok', [COMMAND_LOCK, lockKey(Number(id))]);
    if (!(lock as { ok: boolean }).ok) inFlight.push(step);
  }
  const rows: { step: string; status: CommandStatus }[] = await trx('saga_commands')
    .where(key)
    .select('step', 'status');
  return { record: Object.fromEntries(rows.map((r) => [r.step, r.status])), inFlight };
}
