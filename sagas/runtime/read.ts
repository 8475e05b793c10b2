import type { Knex } from 'knex';
import { ATTEMPT_OUTCOMES, ATTEMPT_STARTED, type AttemptRow, type AttemptView, attemptsOf } from './attempts.js';
import { claimedNowSql } from './claims.js';
import { LATER_STEPS_SQL, type RetryVerdict, retryVerdict } from './retry.js';

/** A saga instance: where it stands. */
export interface SagaInstance {
  readonly sagaType: string;
  readonly sagaId: string;
  readonly status: string;
  readonly version: number;
  readonly state: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Everything the saga runtime keeps about one saga instance (sagas/runtime/tables.ts), read-only. */
export interface SagaRecord extends SagaInstance {
  readonly timeline: readonly { readonly at: string; readonly kind: string; readonly detail: unknown }[];
  readonly commands: readonly {
    /** The command's id: what `ledger sagas retry` takes. */
    readonly id: number;
    readonly step: string;
    readonly kind: string;
    readonly status: string;
    readonly attempts: number;
    readonly payload: unknown;
    readonly lastError: string | null;
    readonly nextAttemptAt: string;
    readonly createdAt: string;
    readonly doneAt: string | null;
  }[];
  readonly deadlines: readonly {
    readonly name: string;
    readonly dueAt: string;
    readonly status: string;
    readonly firedAt: string | null;
  }[];
}

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

/** Whether this database has the saga runtime's tables (they are created by the first saga process). */
export const sagaTablesExist = (db: Knex): Promise<boolean> => db.schema.hasTable('saga_instances');

/** The saga types that have an instance with this id (usually one). */
export async function sagaTypesOf(db: Knex, sagaId: string): Promise<string[]> {
  return db('saga_instances').where('saga_id', sagaId).orderBy('saga_type').pluck('saga_type');
}

/** One saga with its timeline, commands and deadlines; null when there is no such saga. */
export async function readSaga(db: Knex, sagaType: string, sagaId: string): Promise<SagaRecord | null> {
  const key = { saga_type: sagaType, saga_id: sagaId };
  const row: { status: string; version: number; state: unknown; created_at: Date; updated_at: Date } | undefined =
    await db('saga_instances').where(key).first();
  if (!row) return null;
  const [timeline, commands, deadlines] = await Promise.all([
    db('saga_timeline').where(key).orderBy('id').select('at', 'kind', 'detail') as Promise<
      { at: Date; kind: string; detail: unknown }[]
    >,
    db('saga_commands').where(key).orderBy('id').select() as Promise<
      {
        id: number;
        step: string;
        kind: string;
        status: string;
        attempts: number;
        payload: unknown;
        last_error: string | null;
        next_attempt_at: Date;
        created_at: Date;
        done_at: Date | null;
      }[]
    >,
    db('saga_deadlines')
      .where(key)
      .orderBy(['due_at', 'name'])
      .select('name', 'due_at', 'status', 'fired_at') as Promise<
      { name: string; due_at: Date; status: string; fired_at: Date | null }[]
    >,
  ]);
  return {
    sagaType,
    sagaId,
    status: row.status,
    version: row.version,
    state: row.state,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    timeline: timeline.map((t) => ({ at: t.at.toISOString(), kind: t.kind, detail: t.detail })),
    commands: commands.map((c) => ({
      id: c.id,
      step: c.step,
      kind: c.kind,
      status: c.status,
      attempts: c.attempts,
      payload: c.payload,
      lastError: c.last_error,
      nextAttemptAt: c.next_attempt_at.toISOString(),
      createdAt: c.created_at.toISOString(),
      doneAt: iso(c.done_at),
    })),
    deadlines: deadlines.map((d) => ({
      name: d.name,
      dueAt: d.due_at.toISOString(),
      status: d.status,
      firedAt: iso(d.fired_at),
    })),
  };
}

/** A saga in a listing: where it stands, without its state. */
export type SagaSummary = Omit<SagaInstance, 'state'>;

export interface SagaList {
  /** Newest first (created), at most `limit`. */
  readonly sagas: readonly SagaSummary[];
  /** How many are listed. */
  readonly count: number;
  /** More sagas match than the limit allowed. */
  readonly truncated: boolean;
  /** Sagas per type and status, over every status (only `type` narrows it), whatever the limit. */
  readonly totals: readonly { readonly sagaType: string; readonly status: string; readonly count: number }[];
}

/** Sagas newest first, optionally of one status (any case) and one type, with the counts per status. */
export async function listSagas(
  db: Knex,
  options: { readonly status?: string; readonly type?: string; readonly limit: number },
): Promise<SagaList> {
  const query = db('saga_instances')
    .select('saga_type', 'saga_id', 'status', 'version', 'created_at', 'updated_at')
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'saga_type', order: 'asc' },
      { column: 'saga_id', order: 'asc' },
    ])
    .limit(options.limit + 1);
  if (options.type !== undefined) query.where('saga_type', options.type);
  if (options.status !== undefined) query.whereRaw('upper(status) = upper(?)', [options.status]);
  const counting = db('saga_instances')
    .select('saga_type', 'status')
    .count({ n: '*' })
    .groupBy('saga_type', 'status')
    .orderBy(['saga_type', 'status']);
  if (options.type !== undefined) counting.where('saga_type', options.type);
  const [rows, counts] = await Promise.all([
    query as Promise<
      { saga_type: string; saga_id: string; status: string; version: number; created_at: Date; updated_at: Date }[]
    >,
    counting as unknown as Promise<{ saga_type: string; status: string; n: string | number }[]>,
  ]);
  const sagas = rows.slice(0, options.limit);
  return {
    sagas: sagas.map((r) => ({
      sagaType: r.saga_type,
      sagaId: r.saga_id,
      status: r.status,
      version: r.version,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    })),
    count: sagas.length,
    truncated: rows.length > options.limit,
    totals: counts.map((c) => ({ sagaType: c.saga_type, status: c.status, count: Number(c.n) })),
  };
}

/** A command as `ledger sagas commands` shows it: `running` is a pending command a dispatcher holds right now. */
export type CommandState = 'failed' | 'pending' | 'running';

export interface CommandSummary {
  readonly id: number;
  readonly sagaType: string;
  readonly sagaId: string;
  /** The saga's status; null when the saga does not exist. */
  readonly sagaStatus: string | null;
  readonly step: string;
  readonly kind: string;
  readonly status: CommandState;
  readonly attempts: number;
  readonly lastError: string | null;
  /** When a pending command is next tried (past: due now); null for a failed or running one. */
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly failedAt: string | null;
  /** Its latest attempt (null before the first); `cut-off`: started, no outcome, no longer claimed. */
  readonly lastAttempt: {
    readonly id: number;
    readonly attempt: number;
    readonly startedAt: string;
    readonly outcome: AttemptView['outcome'];
  } | null;
  /** For a failed command: whether `ledger sagas retry` would take it, and if not why (see retry.ts). */
  readonly retry: RetryVerdict | null;
}

export interface CommandList {
  /** Failed first (most recently failed first), then pending and running (oldest first: longest waiting). */
  readonly commands: readonly CommandSummary[];
  readonly count: number;
  readonly truncated: boolean;
  /** Every failed, pending and running command (only `sagaType` narrows it), whatever the limit. */
  readonly totals: Readonly<Record<CommandState, number>>;
}

interface CommandListRow {
  id: number;
  saga_type: string;
  saga_id: string;
  saga_status: string | null;
  step: string;
  kind: string;
  shown: CommandState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  created_at: Date;
  done_at: Date | null;
  retryable: boolean | null;
  later: string[];
  attempt_id: number | null;
  attempt_at: Date | null;
  attempt_detail: Record<string, unknown> | null;
  attempt_end: string | null;
}

const outcomeKindList = Object.keys(ATTEMPT_OUTCOMES);

/** The attempt's outcome row kind, if any (outcome rows follow the start on the saga's timeline). */
const OUTCOME_KIND_SQL = (alias: string) =>
  `(SELECT o.kind FROM saga_timeline o
    WHERE o.saga_type = ${alias}.saga_type AND o.saga_id = ${alias}.saga_id AND o.id > ${alias}.attempt_id
      AND o.kind = ANY(:outcomeKinds) AND o.detail->>'attemptId' = ${alias}.attempt_id::text
    ORDER BY o.id LIMIT 1)`;

/**
 * Failed and pending saga commands, pending ones split into `running` (claimed by a dispatcher now: its lease has
 * not run out; no lock is taken to look) and `pending` (waiting for their next attempt).
 */
export async function listCommands(
  db: Knex,
  options: { readonly status?: CommandState; readonly sagaType?: string; readonly limit: number },
): Promise<CommandList> {
  const bindings = {
    outcomeKinds: outcomeKindList,
    sagaType: options.sagaType ?? null,
    status: options.status ?? null,
    limit: options.limit + 1,
  };
  const { rows } = await db.raw(
    `WITH selected AS (
       SELECT c.*, s.status AS saga_status,
              CASE WHEN ${claimedNowSql('c')} THEN 'running' ELSE c.status END AS shown
       FROM saga_commands c LEFT JOIN saga_instances s ON s.saga_type = c.saga_type AND s.saga_id = c.saga_id
       WHERE c.status IN ('pending', 'failed') AND (CAST(:sagaType AS text) IS NULL OR c.saga_type = :sagaType)
     )
     SELECT c.id, c.saga_type, c.saga_id, c.saga_status, c.step, c.kind, c.shown, c.attempts, c.last_error,
            c.next_attempt_at, c.created_at, c.done_at, c.retryable, ${LATER_STEPS_SQL('c')} AS later,
            c.attempt_id, a.at AS attempt_at, a.detail AS attempt_detail, ${OUTCOME_KIND_SQL('c')} AS attempt_end,
            count(*) FILTER (WHERE c.shown = 'failed') OVER () AS n_failed,
            count(*) FILTER (WHERE c.shown = 'pending') OVER () AS n_pending,
            count(*) FILTER (WHERE c.shown = 'running') OVER () AS n_running
     FROM selected c LEFT JOIN saga_timeline a ON a.id = c.attempt_id AND a.kind = '${ATTEMPT_STARTED}'
     WHERE CAST(:status AS text) IS NULL OR c.shown = :status
     ORDER BY (c.shown = 'failed') DESC, c.done_at DESC NULLS LAST, c.id
     LIMIT :limit`,
    bindings,
  );
  const listed = rows as (CommandListRow & { n_failed: number; n_pending: number; n_running: number })[];
  const first = listed[0];
  // Counts over the type only: with a status filter the window sees just that status, so count again then.
  const totals = options.status === undefined ? countsOf(first) : await commandCounts(db, options.sagaType);
  // An attempt without an outcome whose command is not claimed: read the outcome once more (a dispatcher clears
  // the claim in the statement that records the outcome, so one snapshot agrees; this is belt and braces for an
  // outcome committed while the counts above were read), so one ending just now is not taken for cut off.
  const unended = listed.filter((r) => r.attempt_id !== null && r.attempt_end === null && r.shown !== 'running');
  const late = await outcomeKinds(
    db,
    unended.map((r) => r.attempt_id!),
  );
  const shown = listed.slice(0, options.limit);
  return {
    commands: shown.map((r) => ({
      id: r.id,
      sagaType: r.saga_type,
      sagaId: r.saga_id,
      sagaStatus: r.saga_status,
      step: r.step,
      kind: r.kind,
      status: r.shown,
      attempts: r.attempts,
      lastError: r.last_error,
      nextAttemptAt: r.shown === 'pending' ? r.next_attempt_at.toISOString() : null,
      createdAt: r.created_at.toISOString(),
      failedAt: r.shown === 'failed' && r.done_at ? r.done_at.toISOString() : null,
      lastAttempt:
        r.attempt_id !== null && r.attempt_at !== null
          ? {
              id: r.attempt_id,
              attempt: Number(r.attempt_detail?.attempt ?? 0),
              startedAt: r.attempt_at.toISOString(),
              outcome: outcomeOf(r.attempt_end ?? late.get(r.attempt_id) ?? null, r.shown === 'running'),
            }
          : null,
      retry:
        r.shown === 'failed'
          ? retryVerdict({
              status: 'failed',
              retryable: r.retryable,
              sagaStatus: r.saga_status,
              laterSteps: r.later,
            })
          : null,
    })),
    count: shown.length,
    truncated: listed.length > options.limit,
    totals,
  };
}

const countsOf = (row: { n_failed: number; n_pending: number; n_running: number } | undefined) => ({
  failed: Number(row?.n_failed ?? 0),
  pending: Number(row?.n_pending ?? 0),
  running: Number(row?.n_running ?? 0),
});

async function commandCounts(db: Knex, sagaType: string | undefined): Promise<Record<CommandState, number>> {
  const { rows } = await db.raw(
    `SELECT count(*) FILTER (WHERE c.status = 'failed') AS n_failed,
            count(*) FILTER (WHERE c.status = 'pending' AND NOT ${claimedNowSql('c')}) AS n_pending,
            count(*) FILTER (WHERE ${claimedNowSql('c')}) AS n_running
     FROM saga_commands c WHERE CAST(:sagaType AS text) IS NULL OR saga_type = :sagaType`,
    { sagaType: sagaType ?? null },
  );
  return countsOf(rows[0]);
}

const outcomeOf = (endKind: string | null, running: boolean): AttemptView['outcome'] =>
  endKind !== null ? (ATTEMPT_OUTCOMES[endKind] ?? 'cut-off') : running ? 'running' : 'cut-off';

/** The outcome row kinds of these attempts (by attempt id), for those that have one; on each saga's own rows. */
async function outcomeKinds(db: Knex, attemptIds: readonly number[]): Promise<Map<number, string>> {
  if (attemptIds.length === 0) return new Map();
  const { rows } = await db.raw(
    `SELECT c.attempt_id, ${OUTCOME_KIND_SQL('c')} AS kind
     FROM (SELECT id AS attempt_id, saga_type, saga_id FROM saga_timeline WHERE id = ANY(:attemptIds)) c`,
    { attemptIds: [...attemptIds], outcomeKinds: outcomeKindList },
  );
  return new Map(
    (rows as { attempt_id: number; kind: string | null }[]).flatMap((r) =>
      r.kind === null ? [] : [[Number(r.attempt_id), r.kind] as const],
    ),
  );
}

export type DeadlineSelection = 'all' | 'fired' | 'due';

export interface DeadlineSummary {
  readonly id: number;
  readonly sagaType: string;
  readonly sagaId: string;
  readonly name: string;
  /** `scheduled` (to fire) or `fired`. */
  readonly status: string;
  readonly dueAt: string;
  readonly firedAt: string | null;
  /** Scheduled and past due: a running scheduler fires it within a poll (or puts it off while a command runs). */
  readonly overdue: boolean;
}

export interface DeadlineList {
  /** Scheduled first (soonest due first), then fired (most recently fired first). */
  readonly deadlines: readonly DeadlineSummary[];
  readonly count: number;
  readonly truncated: boolean;
  /** Scheduled (of which overdue) and fired, whatever the limit and the choice of fired or due (only the type narrows them). */
  readonly totals: { readonly scheduled: number; readonly overdue: number; readonly fired: number };
}

/** Deadlines still to fire and fired ones (cancelled ones are left out). */
export async function listDeadlines(
  db: Knex,
  options: { readonly which: DeadlineSelection; readonly sagaType?: string; readonly limit: number },
): Promise<DeadlineList> {
  const statuses =
    options.which === 'fired' ? ['fired'] : options.which === 'due' ? ['scheduled'] : ['scheduled', 'fired'];
  const query = db('saga_deadlines')
    .whereIn('status', statuses)
    .select('id', 'saga_type', 'saga_id', 'name', 'status', 'due_at', 'fired_at', db.raw('due_at <= now() AS overdue'))
    .orderByRaw("(status = 'scheduled') DESC, CASE WHEN status = 'scheduled' THEN due_at END ASC, fired_at DESC, id")
    .limit(options.limit + 1);
  const counting = db('saga_deadlines').first(
    db.raw("count(*) FILTER (WHERE status = 'scheduled') AS scheduled"),
    db.raw("count(*) FILTER (WHERE status = 'scheduled' AND due_at <= now()) AS overdue"),
    db.raw("count(*) FILTER (WHERE status = 'fired') AS fired"),
  );
  if (options.sagaType !== undefined) {
    query.where('saga_type', options.sagaType);
    counting.where('saga_type', options.sagaType);
  }
  const [rows, counts] = await Promise.all([
    query as Promise<
      {
        id: number;
        saga_type: string;
        saga_id: string;
        name: string;
        status: string;
        due_at: Date;
        fired_at: Date | null;
        overdue: boolean;
      }[]
    >,
    counting as Promise<{ scheduled: string | number; overdue: string | number; fired: string | number }>,
  ]);
  const shown = rows.slice(0, options.limit);
  return {
    deadlines: shown.map((d) => ({
      id: d.id,
      sagaType: d.saga_type,
      sagaId: d.saga_id,
      name: d.name,
      status: d.status,
      dueAt: d.due_at.toISOString(),
      firedAt: iso(d.fired_at),
      overdue: d.status === 'scheduled' && d.overdue,
    })),
    count: shown.length,
    truncated: rows.length > options.limit,
    totals: {
      scheduled: Number(counts.scheduled),
      overdue: Number(counts.overdue),
      fired: Number(counts.fired),
    },
  };
}

/**
 * Every attempt at the saga's commands, in the order they started, each with its outcome: `running` when a
 * dispatcher holds that attempt's claim now, `cut-off` when it started and never ended (see attempts.ts).
 */
export async function readAttempts(db: Knex, sagaType: string, sagaId: string): Promise<AttemptView[]> {
  const key = { saga_type: sagaType, saga_id: sagaId };
  const readRows = (afterId: number, kinds: readonly string[]): Promise<AttemptRow[]> =>
    db('saga_timeline')
      .where(key)
      .where('id', '>', afterId)
      .whereIn('kind', kinds)
      .orderBy('id')
      .select('id', 'at', 'kind', 'detail');
  const [rows, commands] = await Promise.all([
    readRows(0, [ATTEMPT_STARTED, ...outcomeKindList]),
    db('saga_commands as c')
      .where({ 'c.saga_type': sagaType, 'c.saga_id': sagaId })
      .select('c.id', 'c.attempt_id', db.raw(`${claimedNowSql('c')} AS claimed`)) as Promise<
      { id: number; attempt_id: number | null; claimed: boolean }[]
    >,
  ]);
  // An attempt seen without outcome whose command is claimed by that very attempt now is running.
  const byId = new Map(commands.map((c) => [c.id, c]));
  const claimedNow = (commandId: number, attemptId: number) => {
    const c = byId.get(commandId);
    return c?.claimed === true && c.attempt_id === attemptId;
  };
  let attempts = attemptsOf(rows, claimedNow);
  // One not claimed may have ended between the two reads (they run side by side, and the outcome clears the claim):
  // read what came after once more before calling it cut off.
  // Only outcomes: an attempt started since was not there when the claims were read.
  if (attempts.some((a) => a.outcome === 'cut-off')) {
    attempts = attemptsOf([...rows, ...(await readRows(rows.at(-1)?.id ?? 0, outcomeKindList))], claimedNow);
  }
  return attempts;
}
