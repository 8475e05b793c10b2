import type { Knex } from 'knex';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';
import { ATTEMPT_STARTED, ATTEMPT_SUPERSEDED, COMMAND_DEFERRED } from './attempts.js';
import { COMMAND_LOCK, lockKey } from './claims.js';
import { type CommandCause, idempotencyKeyOf, loadSaga, persistReaction, timeline } from './store.js';
import type { SagaDefinition } from './types.js';

/** What a command handler gets: the payload and the idempotency key that makes a repeat harmless. */
export interface CommandInvocation {
  readonly sagaType: string;
  readonly sagaId: string;
  readonly step: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** saga type + saga id + step: the same for every attempt of this step, across processes and restarts. */
  readonly idempotencyKey: string;
  /** The event (or the saga's first event) that led to this command: what its own events carry on. */
  readonly cause: CommandCause | null;
}

export type CommandHandler = (invocation: CommandInvocation) => Promise<void>;

/** Whether a failure may succeed on another attempt (network, timeouts, provider 5xx). */
export type IsTransient = (error: unknown) => boolean;

/** How a failure reads in `last_error` and on the timeline: `Name: message`. */
const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** A handler's refusal that made no attempt carries `deferMs`: when to try again (e.g. CircuitOpenError). */
function deferralOf(error: unknown): number | null {
  const deferMs = (error as { deferMs?: unknown } | null)?.deferMs;
  return typeof deferMs === 'number' && Number.isFinite(deferMs) && deferMs >= 0 ? deferMs : null;
}

export interface DispatcherOptions {
  /** Attempts before giving up: the seed's 5, with backoff 1, 2, 4, 8, 16 s (base × 2^n). */
  readonly maxAttempts?: number;
  readonly backoffBaseMs?: number;
  readonly batchSize?: number;
  readonly pollMs?: number;
  /**
   * How long after it was issued a command may still be deferred without using up attempts (default 15 min):
   * past it, an outage counts against its 5 attempts again, so a compensation stuck behind one is flagged
   * instead of waiting silently.
   */
  readonly maxDeferralMs?: number;
  readonly metrics?: Registry;
}

/** Due commands looked at per claim; locked ones are skipped. */
const CANDIDATES = 16;

type Outcome =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly error: unknown; readonly ms: number };

class UnknownKindError extends Error {
  constructor(kind: string) {
    super(`no handler for saga command kind ${kind}`);
    this.name = 'UnknownKindError';
  }
}

interface CommandRow {
  id: number;
  saga_type: string;
  saga_id: string;
  step: string;
  kind: string;
  payload: Record<string, unknown>;
  attempts: number;
  created_at: Date;
  cause: CommandCause | null;
  /** This claim's attempt: the id of the 'attempt-started' timeline row the claim wrote (see attempts.ts). */
  attempt_id: number;
}

/**
 * Performs saga commands: claims a due row under an advisory lock (several processes share the work and never
 * run one command at once) and records "attempt N started" on the saga's timeline in the claiming statement, runs
 * the handler with no transaction open, then records done, a deferral, a retry at the next backoff, or — after the
 * last attempt or a permanent error — the failure, handing it to the saga to compensate in the same transaction.
 * Each outcome is written beside the attempt's start (its `attemptId`), so an attempt whose process died during
 * the call stays visible as started and never ended ("cut off", see attempts.ts).
 */
export class SagaCommandDispatcher {
  private readonly worker: BackgroundLoop;
  private readonly definitions = new Map<string, SagaDefinition<unknown>>();
  private readonly outcomes: Counter<'saga' | 'kind' | 'outcome'>;

  constructor(
    private readonly db: Knex,
    private readonly handlers: Readonly<Record<string, CommandHandler>>,
    private readonly isTransient: IsTransient,
    private readonly logger: Logger,
    private readonly options: DispatcherOptions = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.worker = new BackgroundLoop('saga command dispatcher', async () => (await this.runDue()) > 0, logger, {
      idleMs: options.pollMs ?? 100,
      backoffMs: 1000,
    });
    this.outcomes = new Counter({
      name: 'saga_commands_total',
      help: 'Saga commands by outcome (done, retry, deferred, failed)',
      labelNames: ['saga', 'kind', 'outcome'],
      registers: options.metrics ? [options.metrics] : [],
    });
  }

  register<State>(definition: SagaDefinition<State>): this {
    this.definitions.set(definition.name, definition as SagaDefinition<unknown>);
    return this;
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  /** Runs the commands that are due now; returns how many were handled. */
  async runDue(): Promise<number> {
    const claimed = await Promise.all(
      Array.from({ length: this.options.batchSize ?? 4 }, () =>
        this.runOne().catch((error: unknown) => {
          this.logger.error({ err: error }, 'saga command failed outside its handler');
          return false;
        }),
      ),
    );
    return claimed.filter(Boolean).length;
  }

  private async runOne(): Promise<boolean> {
    const claim = await this.claim();
    if (!claim) return false;
    try {
      const outcome = await this.invoke(claim.row);
      await this.db
        .transaction((trx) => this.record(trx, claim.row, outcome))
        .catch(async (error: unknown) => {
          // The handler ran but its outcome could not be recorded: count the attempt and back off, best effort, so
          // a persistent failure here does not call the provider again on every poll.
          await this.postpone(claim.row, error).catch(() => undefined);
          throw error;
        });
    } finally {
      await claim.release();
    }
    return true;
  }

  /** The wait after the n-th failed attempt: the base, doubled per attempt (1, 2, 4, 8, 16 s by default). */
  private backoffMs(attempts: number): number {
    return (this.options.backoffBaseMs ?? 1000) * 2 ** (attempts - 1);
  }

  private async postpone(row: CommandRow, error: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    const delayMs = this.backoffMs(Math.min(attempts, 11));
    const message = `recording the outcome failed: ${error instanceof Error ? error.message : String(error)}`;
    await this.db.transaction((trx) => this.scheduleRetry(trx, row, attempts, delayMs, message));
  }

  /** Puts the command as claimed back to pending after `delayMs`, on the timeline; false if the claim was lost. */
  private async scheduleRetry(
    trx: Knex.Transaction,
    row: CommandRow,
    attempts: number,
    delayMs: number,
    message: string,
  ): Promise<boolean> {
    const updated = await this.pending(trx, row).update({
      attempts,
      last_error: message,
      next_attempt_at: new Date(this.now().getTime() + delayMs),
    });
    if (updated === 0) return false;
    await timeline(trx, row.saga_type, row.saga_id, 'command-retry', {
      step: row.step,
      attempts,
      delayMs,
      error: message,
      attemptId: row.attempt_id,
    });
    return true;
  }

  /**
   * The command's row as claimed: still pending, at the attempt count read, and still carrying this claim's
   * attempt. Updates go through it: if the claim was lost meanwhile (the lock's session ended and another process
   * took the command over, which wrote its own attempt; or the command failed there and an operator had it
   * retried), they change nothing and the outcome is not recorded twice, nor against another attempt.
   */
  private pending(db: Knex | Knex.Transaction, row: CommandRow) {
    return db('saga_commands').where({
      id: row.id,
      status: 'pending',
      attempts: row.attempts,
      attempt_id: row.attempt_id,
    });
  }

  /**
   * Claims one due command under a session-level advisory lock on a connection of its own, outside any
   * transaction: the handler's provider call may take seconds, and an open transaction that long would hold
   * back vacuum. Other processes skip a locked command; if this process dies, its session ends and the lock
   * goes with it, so another process takes the command over at once (and its idempotency key makes the repeat
   * harmless). The outcome is committed before the lock is released, so whoever locks the command next sees it.
   * The deadline scheduler reads the same lock as "in flight" (and may hold it for the instant it decides, when
   * the command is skipped until the next poll): see commandsOfSaga.
   *
   * The statement that reads the row under the lock also records the attempt as started on the saga's timeline
   * and marks the row with it (`attempt_id`), committed before the handler runs: if this process dies during the
   * call, the timeline still shows the attempt, started and never ended.
   */
  private async claim(): Promise<{ row: CommandRow; release: () => Promise<void> } | null> {
    const client = this.db.client;
    const connection = await client.acquireConnection();
    const on = async <T>(sql: string, bindings: readonly unknown[]): Promise<T[]> =>
      (await this.db.raw(sql, bindings as Knex.RawBinding[]).connection(connection)).rows as T[];
    let held: number | null = null;
    const release = async () => {
      try {
        if (held !== null) await on('SELECT pg_advisory_unlock(?, ?)', [COMMAND_LOCK, lockKey(held)]);
      } catch {
        // The lock may still be held by this session: end it (which frees the lock) rather than pool it.
        connection.__knex__disposed = 'saga command lock not released';
        await connection.end().catch(() => undefined);
      } finally {
        held = null;
        await client.releaseConnection(connection);
      }
    };
    try {
      const now = this.now();
      // Only the kinds this process can perform: another saga's process owns the rest.
      const candidates = await on<{ id: number }>(
        `SELECT id FROM saga_commands WHERE status = 'pending' AND next_attempt_at <= ? AND kind = ANY(?)
         ORDER BY id LIMIT ?`,
        [now, Object.keys(this.handlers), CANDIDATES],
      );
      for (const { id } of candidates) {
        const [lock] = await on<{ ok: boolean }>('SELECT pg_try_advisory_lock(?, ?) AS ok', [
          COMMAND_LOCK,
          lockKey(id),
        ]);
        if (!lock?.ok) continue;
        held = id;
        // Read again under the lock: the process that held it may have finished the command meanwhile. Only a
        // row still due is claimed, and its attempt recorded, in this one statement.
        const [row] = await on<CommandRow>(
          `WITH claimed AS (
             SELECT id, saga_type, saga_id, step, kind, payload, attempts, created_at, cause FROM saga_commands
             WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?
           ), started AS (
             INSERT INTO saga_timeline (saga_type, saga_id, kind, detail)
             SELECT saga_type, saga_id, ?, jsonb_build_object('step', step, 'kind', kind, 'commandId', id,
                                                              'attempt', attempts + 1)
             FROM claimed
             RETURNING id
           ), marked AS (
             UPDATE saga_commands SET attempt_id = (SELECT id FROM started)
             WHERE id = (SELECT id FROM claimed)
           )
           SELECT claimed.*, (SELECT id FROM started) AS attempt_id FROM claimed`,
          [id, now, ATTEMPT_STARTED],
        );
        if (row) return { row, release };
        await on('SELECT pg_advisory_unlock(?, ?)', [COMMAND_LOCK, lockKey(id)]);
        held = null;
      }
    } catch (error) {
      await release();
      throw error;
    }
    await release();
    return null;
  }

  private async invoke(row: CommandRow): Promise<Outcome> {
    const handler = this.handlers[row.kind];
    const started = Date.now();
    try {
      if (!handler) throw new UnknownKindError(row.kind);
      await handler({
        sagaType: row.saga_type,
        sagaId: row.saga_id,
        step: row.step,
        payload: row.payload,
        idempotencyKey: idempotencyKeyOf(row.saga_type, row.saga_id, row.step),
        cause: row.cause,
      });
      return { ok: true, ms: Date.now() - started };
    } catch (error) {
      return { ok: false, error, ms: Date.now() - started };
    }
  }

  /** Records done, a deferral, a retry at the next backoff, or the failure handed to the saga to compensate. */
  private async record(trx: Knex.Transaction, row: CommandRow, outcome: Outcome): Promise<void> {
    const attempts = row.attempts + 1;
    if (outcome.ok) {
      const updated = await this.pending(trx, row).update({
        status: 'done',
        attempts,
        done_at: trx.fn.now(),
        last_error: null,
      });
      if (updated === 0) return this.lostClaim(trx, row, outcome);
      await timeline(trx, row.saga_type, row.saga_id, 'command-done', {
        step: row.step,
        kind: row.kind,
        attempts,
        ms: outcome.ms,
        attemptId: row.attempt_id,
      });
      this.outcomes.inc({ saga: row.saga_type, kind: row.kind, outcome: 'done' });
      return;
    }
    const { error } = outcome;
    const known = !(error instanceof UnknownKindError);
    const message = describe(error);
    const deferMs = deferralOf(error);
    const deferredFor = this.now().getTime() - row.created_at.getTime();
    if (known && deferMs !== null && deferredFor < (this.options.maxDeferralMs ?? 15 * 60_000)) {
      // Nothing was attempted (a circuit breaker refused the call): try again then, without using up an
      // attempt, so a provider outage delays saga steps instead of exhausting their retries.
      const until = new Date(this.now().getTime() + deferMs);
      const updated = await this.pending(trx, row).update({ last_error: message, next_attempt_at: until });
      if (updated === 0) return this.lostClaim(trx, row, outcome);
      await timeline(trx, row.saga_type, row.saga_id, COMMAND_DEFERRED, {
        step: row.step,
        attempt: attempts,
        until: until.toISOString(),
        error: message,
        attemptId: row.attempt_id,
      });
      this.outcomes.inc({ saga: row.saga_type, kind: row.kind, outcome: 'deferred' });
      return;
    }
    const maxAttempts = this.options.maxAttempts ?? 5;
    if (known && this.isTransient(error) && attempts < maxAttempts) {
      if (!(await this.scheduleRetry(trx, row, attempts, this.backoffMs(attempts), message))) {
        return this.lostClaim(trx, row, outcome);
      }
      this.outcomes.inc({ saga: row.saga_type, kind: row.kind, outcome: 'retry' });
      return;
    }
    const updated = await this.pending(trx, row).update({
      status: 'failed',
      attempts,
      last_error: message,
      done_at: trx.fn.now(),
    });
    if (updated === 0) return this.lostClaim(trx, row, outcome);
    this.outcomes.inc({ saga: row.saga_type, kind: row.kind, outcome: 'failed' });
    this.logger.warn(
      { saga: row.saga_type, sagaId: row.saga_id, step: row.step, attempts, error: message },
      'saga command failed',
    );
    // In a savepoint: if the saga's compensation itself fails, the command is still recorded as failed (and
    // the failure visible) instead of the whole record rolling back and the provider being called again.
    await trx
      .transaction((savepoint) => this.compensate(savepoint, row, attempts, message))
      .catch(async (compensationError: unknown) => {
        this.logger.error({ err: compensationError, sagaId: row.saga_id, step: row.step }, 'saga compensation failed');
        await timeline(trx, row.saga_type, row.saga_id, 'compensation-failed', {
          step: row.step,
          attempts,
          error: message,
          compensationError: compensationError instanceof Error ? compensationError.message : String(compensationError),
          attemptId: row.attempt_id,
        });
      });
  }

  /**
   * The attempt ended but the row is no longer as claimed: its outcome is left to the run that took it over, and
   * only the attempt's end is noted, so it does not read as cut off.
   */
  private async lostClaim(trx: Knex.Transaction, row: CommandRow, outcome: Outcome): Promise<void> {
    this.logger.warn(
      { saga: row.saga_type, sagaId: row.saga_id, step: row.step },
      'saga command was taken over while it ran (its lock session ended); its outcome is left to the other run',
    );
    await timeline(trx, row.saga_type, row.saga_id, ATTEMPT_SUPERSEDED, {
      step: row.step,
      attempt: row.attempts + 1,
      ms: outcome.ms,
      error: outcome.ok ? null : describe(outcome.error),
      attemptId: row.attempt_id,
    });
  }

  private async compensate(trx: Knex.Transaction, row: CommandRow, attempts: number, error: string): Promise<void> {
    const definition = this.definitions.get(row.saga_type);
    const loaded = definition ? await loadSaga(trx, definition, row.saga_id) : null;
    if (!definition || !loaded) {
      await timeline(trx, row.saga_type, row.saga_id, 'command-failed', {
        step: row.step,
        attempts,
        error,
        attemptId: row.attempt_id,
      });
      return;
    }
    // The saga row is locked for the update below: a concurrent event for it waits instead of conflicting.
    await trx('saga_instances').where({ saga_type: row.saga_type, saga_id: row.saga_id }).forUpdate().first('version');
    const fresh = (await loadSaga(trx, definition, row.saga_id))!;
    const reaction = definition.onCommandFailed(
      fresh.state,
      { step: row.step, kind: row.kind, error, attempts },
      this.now(),
    ) ?? {
      state: fresh.state,
    };
    await persistReaction(trx, definition, row.saga_id, fresh, reaction, {
      kind: 'command-failed',
      detail: { step: row.step, kind: row.kind, attempts, error, attemptId: row.attempt_id },
    });
    // What an operator may do about the failure (retry.ts): only what the saga's reaction left open.
    await trx('saga_commands')
      .where('id', row.id)
      .update({ retryable: reaction.retryable === true });
  }
}
