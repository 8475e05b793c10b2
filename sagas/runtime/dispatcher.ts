import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';
import { ATTEMPT_STARTED, ATTEMPT_SUPERSEDED, COMMAND_DEFERRED } from './attempts.js';
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
  /** Commands this dispatcher performs at once: provider calls in flight (default 16). */
  readonly concurrency?: number;
  /** Commands one claiming statement takes at most (default: as many as `concurrency` leaves free). */
  readonly batchSize?: number;
  /**
   * How long a claim holds a command (default 30 s, on the database's clock). Renewed every third of it while the
   * command is performed; if this process dies, another dispatcher takes the command over once the lease runs out.
   */
  readonly leaseMs?: number;
  /** Pause when no command was due (default 50 ms). */
  readonly pollMs?: number;
  /**
   * How long after it was issued a command may still be deferred without using up attempts (default 15 min):
   * past it, an outage counts against its 5 attempts again, so a compensation stuck behind one is flagged
   * instead of waiting silently.
   */
  readonly maxDeferralMs?: number;
  readonly metrics?: Registry;
}

export const DEFAULT_DISPATCH_CONCURRENCY = 16;
export const DEFAULT_COMMAND_LEASE_MS = 30_000;

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
  /** How long ago the command was issued when it was claimed, on the database's clock (as `created_at` is). */
  issued_ms_ago: number;
  cause: CommandCause | null;
  /** This claim's attempt: the id of the 'attempt-started' timeline row the claim wrote (see attempts.ts). */
  attempt_id: number;
}

/** A command this dispatcher has claimed and is performing (or recording the outcome of). */
interface Performing {
  readonly row: CommandRow;
  /** Settles once the outcome is recorded (or could not be). */
  done: Promise<void>;
  /** The handler has returned: its outcome is being recorded (a renewal missing it then is no news). */
  recording: boolean;
  /** A renewal found the claim gone (the lease ran out and another dispatcher took it): warned once. */
  lost: boolean;
}

const counters = new WeakMap<Registry, Counter<'saga' | 'kind' | 'outcome'>>();
/** One counter per registry, shared by the process's dispatchers (one per saga context), labelled by saga. */
function outcomesCounter(registry: Registry | undefined): Counter<'saga' | 'kind' | 'outcome'> {
  const existing = registry && counters.get(registry);
  if (existing) return existing;
  const counter = new Counter({
    name: 'saga_commands_total',
    help: 'Saga commands by outcome (done, retry, deferred, failed)',
    labelNames: ['saga', 'kind', 'outcome'],
    registers: registry ? [registry] : [],
  });
  if (registry) counters.set(registry, counter);
  return counter;
}

/** The claim's columns cleared by every update that records an outcome: the command is free again. */
const UNCLAIMED = { claimed_until: null, claimed_by: null } as const;

/**
 * Claims up to `limit` due commands of the given kinds in one statement: the rows are locked FOR UPDATE SKIP LOCKED
 * (two dispatchers never lock the same row; a row another transaction holds is left for the next poll), only those
 * pending, due, and with no live lease are taken (PostgreSQL checks the row again once locked, so a claim another
 * dispatcher committed meanwhile is seen), each gets a lease and its attempt (an 'attempt-started' timeline row,
 * whose id is allocated first so the command row is updated once), and the whole is committed before any handler
 * runs. Bindings: kinds, limit, lease ms, claimer, the 'attempt-started' kind.
 *
 * Due means due on the database's clock, never the process's: commands are issued with `next_attempt_at` at the
 * database's now() and put back at its clock plus a delay, so a command committed before this statement was sent
 * is always due to it (its transaction began earlier), whatever the process's clock says. Compared with the
 * process's clock instead, a command was not yet due while that clock lagged the database's: by a host's skew, and
 * even on one host by the sub-millisecond part a JS Date drops, so a command issued in the claim's millisecond was
 * left for the next poll (and by a one-shot `runDue`, unperformed).
 */
const CLAIM_SQL = `
  WITH due AS (
    SELECT id, nextval(pg_get_serial_sequence('saga_timeline', 'id')) AS attempt_id FROM (
      SELECT id FROM saga_commands
      WHERE status = 'pending' AND next_attempt_at <= statement_timestamp() AND kind = ANY(?)
        AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())
      ORDER BY id LIMIT ?
      FOR UPDATE SKIP LOCKED
    ) locked
  ), claimed AS (
    UPDATE saga_commands c
    SET attempt_id = due.attempt_id,
        claimed_until = clock_timestamp() + make_interval(secs => ?::double precision / 1000),
        claimed_by = ?
    FROM due WHERE c.id = due.id
    RETURNING c.id, c.saga_type, c.saga_id, c.step, c.kind, c.payload, c.attempts, c.created_at, c.cause, c.attempt_id,
              (extract(epoch FROM clock_timestamp() - c.created_at) * 1000)::float8 AS issued_ms_ago
  ), started AS (
    INSERT INTO saga_timeline (id, saga_type, saga_id, kind, detail)
    SELECT attempt_id, saga_type, saga_id, ?,
           jsonb_build_object('step', step, 'kind', kind, 'commandId', id, 'attempt', attempts + 1)
    FROM claimed ORDER BY id
  )
  SELECT * FROM claimed ORDER BY id`;

/** Extends the leases of the claims still held (fenced by the attempt, as every outcome is). */
const RENEW_SQL = `
  UPDATE saga_commands SET claimed_until = clock_timestamp() + make_interval(secs => ?::double precision / 1000)
  WHERE status = 'pending' AND (id, attempt_id) IN (SELECT * FROM unnest(?::bigint[], ?::bigint[]))
  RETURNING id`;

/**
 * Performs saga commands: claims due rows in batches under a lease (several processes share the work and never
 * run one command at once) and records "attempt N started" on the saga's timeline in the claiming statement, runs
 * up to `concurrency` handlers at once with no transaction open, then records done, a deferral, a retry at the next
 * backoff, or — after the last attempt or a permanent error — the failure, handing it to the saga to compensate in
 * the same transaction. Each outcome is written beside the attempt's start (its `attemptId`), so an attempt whose
 * process died during the call stays visible as started and never ended ("cut off", see attempts.ts).
 *
 * Crash points (kill -9; PostgreSQL sees the process's connections end, nothing else):
 * - before the claim commits: nothing happened; the rows stay due.
 * - after the claim, before or during the provider call: the attempt shows as started (and running until the lease
 *   runs out, then cut off); once the lease has run out another dispatcher claims the command (a new attempt id)
 *   and calls again with the same idempotency key, so a provider that acted answers that result instead of acting
 *   twice, and the append that records it is deduplicated by its own key.
 * - after the call, before its outcome commits: the same (the call is repeated, answered once).
 * - after the outcome commits: the claim was cleared in that very update; nothing is repeated.
 * A dispatcher that is alive but cut off from the database (or paused) for longer than the lease cannot renew it:
 * another may take the command over while the first call is still running. Both calls carry the same idempotency
 * key, and only the attempt that still holds the row (`attempt_id`) records an outcome; the other's end is noted as
 * superseded. No transaction is open during a call, so a slow provider never holds back vacuum or a connection.
 */
export class SagaCommandDispatcher {
  private readonly worker: BackgroundLoop;
  private readonly definitions = new Map<string, SagaDefinition<unknown>>();
  private readonly outcomes: Counter<'saga' | 'kind' | 'outcome'>;
  /** By attempt (a claim): this dispatcher may claim a command again whose earlier claim it lost. */
  private readonly performing = new Map<number, Performing>();
  private readonly concurrency: number;
  private readonly leaseMs: number;
  /** Who holds a claim, as `claimed_by` shows it: host, process and this dispatcher. */
  private readonly claimer = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private renewal: NodeJS.Timeout | null = null;
  private renewing = false;

  constructor(
    private readonly db: Knex,
    private readonly handlers: Readonly<Record<string, CommandHandler>>,
    private readonly isTransient: IsTransient,
    private readonly logger: Logger,
    private readonly options: DispatcherOptions = {},
    /** The saga's clock for its reaction to a failure; when a command is due is the database's clock (see CLAIM_SQL). */
    private readonly now: () => Date = () => new Date(),
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_DISPATCH_CONCURRENCY);
    this.leaseMs = Math.max(30, options.leaseMs ?? DEFAULT_COMMAND_LEASE_MS);
    this.worker = new BackgroundLoop('saga command dispatcher', () => this.pump(), logger, {
      idleMs: options.pollMs ?? 50,
      backoffMs: 1000,
    });
    this.outcomes = outcomesCounter(options.metrics);
  }

  register<State>(definition: SagaDefinition<State>): this {
    this.definitions.set(definition.name, definition as SagaDefinition<unknown>);
    return this;
  }

  start(): void {
    this.worker.start();
  }

  /** Commands were just issued in this process: claim them now rather than at the next poll. */
  nudge(): void {
    this.worker.nudge();
  }

  /** Stops claiming, then lets the commands being performed finish and record their outcomes. */
  async stop(): Promise<void> {
    await this.worker.stop();
    await Promise.all([...this.performing.values()].map((p) => p.done));
    this.stopRenewal();
  }

  /** Claims the commands that are due now (as many as there is room for) and performs them; returns how many. */
  async runDue(): Promise<number> {
    const claimed = await this.claim(this.freeSlots());
    await Promise.all(claimed.map((row) => this.launch(row)));
    return claimed.length;
  }

  /** How many more commands may be claimed now. */
  private freeSlots(): number {
    const free = this.concurrency - this.performing.size;
    return Math.max(0, Math.min(free, this.options.batchSize ?? free));
  }

  /**
   * One step of the background loop: fills the free slots with a claim (without waiting for the commands to end,
   * so one slow provider call never holds up the others), or waits for a slot when all are taken.
   */
  private async pump(): Promise<boolean> {
    if (this.freeSlots() === 0) {
      await Promise.race([...this.performing.values()].map((p) => p.done));
      return true;
    }
    const claimed = await this.claim(this.freeSlots());
    for (const row of claimed) void this.launch(row);
    return claimed.length > 0;
  }

  private launch(row: CommandRow): Promise<void> {
    const entry: Performing = { row, done: Promise.resolve(), recording: false, lost: false };
    this.performing.set(row.attempt_id, entry);
    this.startRenewal();
    entry.done = this.perform(entry)
      .catch((error: unknown) => {
        this.logger.error(
          { err: error, saga: row.saga_type, sagaId: row.saga_id, step: row.step },
          'saga command failed outside its handler',
        );
      })
      .finally(() => {
        this.performing.delete(row.attempt_id);
        if (this.performing.size === 0) this.stopRenewal();
      });
    return entry.done;
  }

  private async perform(entry: Performing): Promise<void> {
    const { row } = entry;
    const outcome = await this.invoke(row);
    entry.recording = true;
    // Done, the common case, is one statement; anything else may involve the saga (compensation) in a transaction.
    const recorded = outcome.ok
      ? this.recordDone(this.db, row, outcome.ms).then(async (held) => {
          if (!held) await this.db.transaction((trx) => this.lostClaim(trx, row, outcome));
        })
      : this.db.transaction((trx) => this.record(trx, row, outcome));
    await recorded.catch(async (error: unknown) => {
      // The handler ran but its outcome could not be recorded: count the attempt and back off, best effort, so
      // a persistent failure here does not call the provider again on every poll. If even that fails, the lease
      // runs out and the command is performed again, with the same idempotency key.
      await this.postpone(row, error).catch(() => undefined);
      throw error;
    });
  }

  private startRenewal(): void {
    if (this.renewal) return;
    this.renewal = setInterval(() => void this.renew(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.renewal.unref();
  }

  private stopRenewal(): void {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
  }

  /** Extends the leases of every command being performed, in one statement; notes the claims found lost. */
  private async renew(): Promise<void> {
    const held = [...this.performing.values()].filter((p) => !p.lost);
    if (this.renewing || held.length === 0) return;
    this.renewing = true;
    try {
      const { rows } = await this.db.raw(RENEW_SQL, [
        this.leaseMs,
        held.map((p) => p.row.id),
        held.map((p) => p.row.attempt_id),
      ]);
      const renewed = new Set((rows as { id: number }[]).map((r) => Number(r.id)));
      for (const p of held) {
        // Ended meanwhile (its outcome cleared the lease), or ending: no news.
        if (renewed.has(p.row.id) || p.recording || !this.performing.has(p.row.attempt_id)) continue;
        p.lost = true;
        this.logger.warn(
          { saga: p.row.saga_type, sagaId: p.row.saga_id, step: p.row.step, attemptId: p.row.attempt_id },
          'saga command claim lost while performing it (its lease ran out and another dispatcher took it over); ' +
            'the same idempotency key answers both calls once, and only the holder records the outcome',
        );
      }
    } catch (error) {
      // Tried again at the next tick; a lease is three ticks long.
      this.logger.warn({ err: error }, 'could not renew saga command leases');
    } finally {
      this.renewing = false;
    }
  }

  private async claim(limit: number): Promise<CommandRow[]> {
    if (limit <= 0) return [];
    const { rows } = await this.db.raw(CLAIM_SQL, [
      Object.keys(this.handlers), // only the kinds this process can perform: another saga's process owns the rest
      limit,
      this.leaseMs,
      this.claimer,
      ATTEMPT_STARTED,
    ]);
    return rows as CommandRow[];
  }

  /** `delayMs` from now on the database's clock: the clock the claim compares `next_attempt_at` with. */
  private afterDelay(db: Knex | Knex.Transaction, delayMs: number): Knex.Raw {
    return db.raw('clock_timestamp() + make_interval(secs => ?::double precision / 1000)', [delayMs]);
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
      next_attempt_at: this.afterDelay(trx, delayMs),
      ...UNCLAIMED,
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
   * attempt. Updates go through it: if the claim was lost meanwhile (the lease ran out and another dispatcher took
   * the command over, which wrote its own attempt; or the command failed there and an operator had it retried),
   * they change nothing and the outcome is not recorded twice, nor against another attempt.
   */
  private pending(db: Knex | Knex.Transaction, row: CommandRow) {
    return db('saga_commands').where({
      id: row.id,
      status: 'pending',
      attempts: row.attempts,
      attempt_id: row.attempt_id,
    });
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

  /**
   * Records a command done, as claimed (see pending), and its attempt's end on the timeline, in one statement (so
   * also atomic outside a transaction: the hot path of every command); false if the claim was lost.
   */
  private async recordDone(db: Knex | Knex.Transaction, row: CommandRow, ms: number): Promise<boolean> {
    const attempts = row.attempts + 1;
    const { rows } = await db.raw(
      `WITH done AS (
         UPDATE saga_commands
         SET status = 'done', attempts = ?, done_at = now(), last_error = NULL, claimed_until = NULL, claimed_by = NULL
         WHERE id = ? AND status = 'pending' AND attempts = ? AND attempt_id = ?
         RETURNING saga_type, saga_id
       )
       INSERT INTO saga_timeline (saga_type, saga_id, kind, detail)
       SELECT saga_type, saga_id, 'command-done', ?::jsonb FROM done
       RETURNING id`,
      [
        attempts,
        row.id,
        row.attempts,
        row.attempt_id,
        JSON.stringify({ step: row.step, kind: row.kind, attempts, ms, attemptId: row.attempt_id }),
      ],
    );
    if (rows.length === 0) return false;
    this.outcomes.inc({ saga: row.saga_type, kind: row.kind, outcome: 'done' });
    return true;
  }

  /** Records done, a deferral, a retry at the next backoff, or the failure handed to the saga to compensate. */
  private async record(trx: Knex.Transaction, row: CommandRow, outcome: Outcome): Promise<void> {
    const attempts = row.attempts + 1;
    if (outcome.ok) {
      if (!(await this.recordDone(trx, row, outcome.ms))) return this.lostClaim(trx, row, outcome);
      return;
    }
    const { error } = outcome;
    const known = !(error instanceof UnknownKindError);
    const message = describe(error);
    const deferMs = deferralOf(error);
    // Both on the database's clock: the age at the claim, plus the call.
    const deferredFor = Number(row.issued_ms_ago) + outcome.ms;
    if (known && deferMs !== null && deferredFor < (this.options.maxDeferralMs ?? 15 * 60_000)) {
      // Nothing was attempted (a circuit breaker refused the call): try again then, without using up an
      // attempt, so a provider outage delays saga steps instead of exhausting their retries.
      const [deferred] = (await this.pending(trx, row)
        .update({ last_error: message, next_attempt_at: this.afterDelay(trx, deferMs), ...UNCLAIMED })
        .returning('next_attempt_at')) as { next_attempt_at: Date }[];
      if (!deferred) return this.lostClaim(trx, row, outcome);
      await timeline(trx, row.saga_type, row.saga_id, COMMAND_DEFERRED, {
        step: row.step,
        attempt: attempts,
        until: deferred.next_attempt_at.toISOString(),
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
      ...UNCLAIMED,
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
      'saga command was taken over while it ran (its lease ran out); its outcome is left to the other run',
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
