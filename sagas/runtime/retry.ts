import type { Knex } from 'knex';
import { RETRY_REQUESTED } from './attempts.js';
import { idempotencyKeyOf, timeline } from './store.js';

// An operator's retry of a failed saga command (`ledger sagas retry <commandId>`).
//
// A failed command was handed to its saga's onCommandFailed in the transaction that marked it failed: the saga may
// have compensated (issued other commands, moved its state on). Performing the command now could then act twice:
// authorize money for an order its failure rejected, capture what a later refund assumed was never taken. So a
// retry is allowed only when both hold:
//   - the saga's reaction to the failure said it may be retried (Reaction.retryable, kept in the command's
//     `retryable` column): the failure was not compensated;
//   - the saga has issued no command since this one (a later step, or a compensation): its plan has not moved on.
// The command then goes back to pending as it was first issued: same step, so the same idempotency key (saga type +
// saga id + step): if an earlier attempt reached the provider, the provider answers that attempt's result instead
// of acting again. It gets the dispatcher's full retry budget (attempts from 0, backoff, then onCommandFailed again).
// The change is made holding the saga's row, as every writer of the saga does: no command is issued meanwhile.

export type RetryRefusalCode = 'not-failed' | 'saga-missing' | 'no-verdict' | 'compensated' | 'moved-on';

/** What decides whether a command may be retried, as read in one transaction. */
export interface RetryFacts {
  readonly status: string;
  /** The saga's word on the failure (null: none recorded). */
  readonly retryable: boolean | null;
  /** The saga's status, or null when the saga does not exist. */
  readonly sagaStatus: string | null;
  /** Steps of the commands the saga issued after this one. */
  readonly laterSteps: readonly string[];
}

export interface RetryVerdict {
  readonly allowed: boolean;
  readonly code: RetryRefusalCode | null;
  readonly message: string | null;
}

export function retryVerdict(f: RetryFacts): RetryVerdict {
  const refuse = (code: RetryRefusalCode, message: string): RetryVerdict => ({ allowed: false, code, message });
  if (f.status !== 'failed') {
    return refuse(
      'not-failed',
      f.status === 'done'
        ? 'it is done: performed already, nothing to retry'
        : `it is ${f.status}, not failed: the dispatcher performs it (and retries it) by itself`,
    );
  }
  if (f.sagaStatus === null) return refuse('saga-missing', 'its saga does not exist: nothing would act on the outcome');
  if (f.retryable === null) {
    return refuse(
      'no-verdict',
      "the saga's reaction to the failure is not on record (its compensation failed, or the command failed " +
        'before retries were recorded): see the timeline with `ledger sagas show`',
    );
  }
  if (!f.retryable) {
    return refuse(
      'compensated',
      `the saga compensated for the failure (saga status ${f.sagaStatus}): performing the command now could act twice`,
    );
  }
  if (f.laterSteps.length > 0) {
    return refuse(
      'moved-on',
      `the saga has issued ${f.laterSteps.join(', ')} since: it acted on this failure or moved on, ` +
        'and performing the command now could act twice',
    );
  }
  return { allowed: true, code: null, message: null };
}

export class RetryRefused extends Error {
  constructor(
    readonly code: RetryRefusalCode | 'not-found',
    message: string,
  ) {
    super(message);
    this.name = 'RetryRefused';
  }
}

export interface RetriedCommand {
  readonly commandId: number;
  readonly sagaType: string;
  readonly sagaId: string;
  readonly step: string;
  readonly kind: string;
  readonly idempotencyKey: string;
  /** The attempts the failed run made, and its last error (kept on the row until the next attempt). */
  readonly previousAttempts: number;
  readonly lastError: string | null;
  readonly status: 'pending';
  readonly nextAttemptAt: string;
}

/** SQL of the steps a saga issued after a command (its compensation, or later steps). */
export const LATER_STEPS_SQL = (alias: string) =>
  `ARRAY(SELECT later.step FROM saga_commands later
         WHERE later.saga_type = ${alias}.saga_type AND later.saga_id = ${alias}.saga_id AND later.id > ${alias}.id
         ORDER BY later.id)`;

/**
 * Puts a failed command back to pending for the dispatcher, or throws RetryRefused saying why not (see above).
 * `requestedBy` goes on the saga's timeline with the request.
 */
export async function retryFailedCommand(db: Knex, commandId: number, requestedBy: string): Promise<RetriedCommand> {
  return db.transaction(async (trx) => {
    const key: { saga_type: string; saga_id: string } | undefined = await trx('saga_commands')
      .where('id', commandId)
      .first('saga_type', 'saga_id');
    if (!key) throw new RetryRefused('not-found', `saga command ${commandId} not found`);
    // The saga's row first, as every writer of the saga locks it: no command of the saga is added meanwhile.
    const saga: { status: string } | undefined = await trx('saga_instances').where(key).forUpdate().first('status');
    const { rows } = await trx.raw(
      `SELECT c.id, c.step, c.kind, c.status, c.attempts, c.last_error, c.retryable, ${LATER_STEPS_SQL('c')} AS later
       FROM saga_commands c WHERE c.id = ? FOR UPDATE`,
      [commandId],
    );
    const row = rows[0] as {
      step: string;
      kind: string;
      status: string;
      attempts: number;
      last_error: string | null;
      retryable: boolean | null;
      later: string[];
    };
    const verdict = retryVerdict({
      status: row.status,
      retryable: row.retryable,
      sagaStatus: saga?.status ?? null,
      laterSteps: row.later,
    });
    if (!verdict.allowed) {
      throw new RetryRefused(
        verdict.code!,
        `not retrying saga command ${commandId} (${row.step} of ${key.saga_type} ${key.saga_id}): ${verdict.message}`,
      );
    }
    const [updated] = await trx('saga_commands')
      .where({ id: commandId, status: 'failed' })
      .update({
        status: 'pending',
        attempts: 0,
        next_attempt_at: trx.fn.now(),
        done_at: null,
        retryable: null,
        // A failed command holds no claim (its outcome cleared it); cleared again so no stale lease delays it.
        claimed_until: null,
        claimed_by: null,
      })
      .returning('next_attempt_at');
    await timeline(trx, key.saga_type, key.saga_id, RETRY_REQUESTED, {
      step: row.step,
      kind: row.kind,
      commandId,
      previousAttempts: row.attempts,
      lastError: row.last_error,
      by: requestedBy,
    });
    return {
      commandId,
      sagaType: key.saga_type,
      sagaId: key.saga_id,
      step: row.step,
      kind: row.kind,
      idempotencyKey: idempotencyKeyOf(key.saga_type, key.saga_id, row.step),
      previousAttempts: row.attempts,
      lastError: row.last_error,
      status: 'pending',
      nextAttemptAt: (updated as { next_attempt_at: Date }).next_attempt_at.toISOString(),
    };
  });
}
