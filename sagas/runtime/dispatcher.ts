import type { Knex } from 'knex';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';
import { COMMAND_LOCK, lockKey } from './claims.js';
import { type CommandCause, loadSaga, persistReaction, timeline } from './store.js';
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
}

/**
 * Performs saga commands: claims a due row under an advisory lock (several processes share the work and never
 * run one command at once), runs the handler with no transaction open, then records done, a deferral, a retry at
 * the next backoff, or — after the last attempt or a permanent error — the failure, handing it to the saga to
 * compensate in the same transaction.
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
    await this.pending(this.db, row).update({
      attempts,
      last_error: `recording the outcome failed: ${error instanceof Error ? error.message : String(error)}`,
      next_attempt_at: new Date(this.now().getTime() + delayMs),
    });
  }

  /**
   * The command's row as claimed. Updates go through it: if the claim was lost meanwhile (the lock's session
   * ended and another process took the command over), they change nothing and the outcome is not recorded twice.
   */
  private pending(db: Knex | Knex.Transaction, row: CommandRow) {
    return db('saga_commands').where({ id: row.id, status: 'pending', attempts: row.attempts });
  }

  /**
   * Claims one due command under a session-level advisory lock on a connection of its own, outside any
   * transaction: the handler's provider call may take seconds, and an open transaction that long would hold
   * back vacuum. Other processes skip a locked command; if this process dies, its session ends and the lock
   * goes with it, so another process takes the command over at once (and its idempotency key makes the repeat
   * harmless). The outcome is committed before the lock is released, so whoever locks the command next sees it.
   * The deadline scheduler reads the same lock as "in flight" (and may hold it for the instant it decides, when
   * the command is skipped until the next poll): see commandsOfSaga.
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
        // Read again under the lock: the process that held it may have finished the command meanwhile.
        const [row] = await on<CommandRow>(
          `SELECT id, saga_type, saga_id, step, kind, payload, attempts, created_at, cause FROM saga_commands
           WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?`,
          [id, now],
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
        idempotencyKey: `${row.saga_type}:${row.saga_id}:${row.step}`,
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
      if (updated === 0) return this.lostClaim(row);
      await timeline(trx, row.saga_type, row.saga_id, 'command-done', {
        step: row.step,
        kind: row.kind,
        attempts,
        ms: outcome.ms,
      });
      this.outcomes.inc({ saga: row.saga_type, kind: row.kind, outcome: 'done' });
      return;
    }
    const { error } = outcome;
    const known = !(error instanceof UnknownKindError);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const deferMs = deferralOf(error);
    const deferredFor = this.now().getTime() - row.created_at.getTime();
    if (known && deferMs !== null && deferredFor < (this.options.maxDeferralMs ?? 15 * 60_000)) {
      // Nothing was attempted (a circuit breaker refused the call): try again then, without using up an
      // attempt, so a provider outage delays saga steps instead of exhausting their retries.
      await this.pending(trx, row).update({
        last_error: message,
        next_attempt_at: new Date(this.now().getTime() + deferMs),
      });
      this.outcomes.inc({ saga: row.saga_type, kind: row.kind, outcome: 'deferred' });
      return;
    }
    const maxAttempts = this.options.maxAttempts ?? 5;
    if (known && this.isTransient(error) && attempts < maxAttempts) {
      const delayMs = this.backoffMs(attempts);
      const updated = await this.pending(trx, row).update({
        attempts,
        last_error: message,
        next_attempt_at: new Date(this.now().getTime() + delayMs),
      });
      if (updated === 0) return this.lostClaim(row);
      await timeline(trx, row.saga_type, row.saga_id, 'command-retry', {
        step: row.step,
        attempts,
        delayMs,
        error: message,
      });
      this.outcomes.inc({ saga: row.saga_type, kind: row.kind, outcome: 'retry' });
      return;
    }
    const updated = await this.pending(trx, row).update({
      status: 'failed',
      attempts,
      last_error: message,
      done_at: trx.fn.now(),
    });
    if (updated === 0) return this.lostClaim(row);
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
          error: compensationError instanceof Error ? compensationError.message : String(compensationError),
        });
      });
  }

  private lostClaim(row: CommandRow): void {
    this.logger.warn(
      { saga: row.saga_type, sagaId: row.saga_id, step: row.step },
      'saga command was taken over while it ran (its lock session ended); its outcome is left to the other run',
    );
  }

  private async compensate(trx: Knex.Transaction, row: CommandRow, attempts: number, error: string): Promise<void> {
    const definition = this.definitions.get(row.saga_type);
    const loaded = definition ? await loadSaga(trx, definition, row.saga_id) : null;
    if (!definition || !loaded) {
      await timeline(trx, row.saga_type, row.saga_id, 'command-failed', { step: row.step, attempts, error });
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
      detail: { step: row.step, kind: row.kind, attempts, error },
    });
  }
}
