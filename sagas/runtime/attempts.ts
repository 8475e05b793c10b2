// Every attempt at a saga command leaves two marks on the saga's timeline: 'attempt-started', written by the very
// statement that claims the command (so before its handler runs, durably), and an outcome written with the
// command's update when the attempt ends. A start without an outcome is an attempt whose process stopped during the
// call (killed, or its connection lost): the provider may or may not have acted on it, and the next attempt carries
// the same idempotency key, so it answers once.

/** The kind of the timeline row written when a command is claimed, before its handler runs. */
export const ATTEMPT_STARTED = 'attempt-started';
/** The kind recorded when an attempt ended but the command had been taken over meanwhile (nothing recorded on it). */
export const ATTEMPT_SUPERSEDED = 'attempt-superseded';
/** The kind recorded when the handler refused without calling (a circuit breaker): no attempt used. */
export const COMMAND_DEFERRED = 'command-deferred';
/** The kind recorded when an operator has a failed command performed again (`ledger sagas retry`). */
export const RETRY_REQUESTED = 'retry-requested';

/** Timeline kinds that end an attempt (their detail carries `attemptId`), and what each says about it. */
export const ATTEMPT_OUTCOMES: Readonly<Record<string, EndedOutcome>> = {
  'command-done': 'done',
  'command-retry': 'retry',
  'command-failed': 'failed',
  'compensation-failed': 'failed',
  [COMMAND_DEFERRED]: 'deferred',
  [ATTEMPT_SUPERSEDED]: 'superseded',
};

/**
 * How an attempt ended: `done`; `retry` (failed, another attempt follows after the backoff); `failed` (the last
 * attempt, or a permanent error: the saga was told); `deferred` (refused before any call, e.g. an open circuit: the
 * same attempt number comes again); `superseded` (it ended after another process had taken the command over: its
 * outcome was not recorded on the command).
 */
export type EndedOutcome = 'done' | 'retry' | 'failed' | 'deferred' | 'superseded';
/** `running`: claimed by a dispatcher now; `cut-off`: started, no outcome, and no longer claimed. */
export type AttemptOutcome = EndedOutcome | 'running' | 'cut-off';

export interface AttemptView {
  /** The id of its 'attempt-started' timeline row (outcomes refer to it as `attemptId`). */
  readonly id: number;
  readonly commandId: number;
  readonly step: string;
  readonly kind: string;
  /** The command's attempt number (1 for the first; repeated after a deferral, restarted after a retry). */
  readonly attempt: number;
  readonly startedAt: string;
  readonly outcome: AttemptOutcome;
  readonly endedAt: string | null;
  readonly error: string | null;
}

export interface AttemptRow {
  readonly id: number;
  readonly at: Date;
  readonly kind: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

const num = (value: unknown): number | null => {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
};

/**
 * Pairs each 'attempt-started' row with its outcome row (by `attemptId`). One without an outcome is `running` when
 * `claimedNow(commandId, attemptId)` says a dispatcher holds that very attempt's claim, `cut-off` otherwise.
 * Rows of other kinds are ignored, and so are outcomes from before attempts were recorded (no `attemptId`).
 */
export function attemptsOf(
  rows: readonly AttemptRow[],
  claimedNow: (commandId: number, attemptId: number) => boolean,
): AttemptView[] {
  const ends = new Map<number, AttemptRow>();
  for (const row of rows) {
    const attemptId = num(row.detail.attemptId);
    if (attemptId !== null && row.kind in ATTEMPT_OUTCOMES && !ends.has(attemptId)) ends.set(attemptId, row);
  }
  return rows
    .filter((row) => row.kind === ATTEMPT_STARTED)
    .map((row) => {
      const commandId = num(row.detail.commandId) ?? 0;
      const end = ends.get(row.id);
      const outcome: AttemptOutcome = end
        ? (ATTEMPT_OUTCOMES[end.kind] as EndedOutcome)
        : claimedNow(commandId, row.id)
          ? 'running'
          : 'cut-off';
      const error = end?.detail.error;
      return {
        id: row.id,
        commandId,
        step: String(row.detail.step ?? ''),
        kind: String(row.detail.kind ?? ''),
        attempt: num(row.detail.attempt) ?? 0,
        startedAt: row.at.toISOString(),
        outcome,
        endedAt: end ? end.at.toISOString() : null,
        error: typeof error === 'string' ? error : null,
      };
    });
}
