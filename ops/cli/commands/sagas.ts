import { type Command, InvalidArgumentError } from 'commander';
import type { Knex } from 'knex';
import type { AttemptView } from '../../../sagas/runtime/attempts.js';
import {
  type CommandList,
  type CommandState,
  type DeadlineList,
  listCommands,
  listDeadlines,
  listSagas,
  readAttempts,
  readSaga,
  type SagaInstance,
  type SagaList,
  type SagaRecord,
  sagaTablesExist,
  sagaTypesOf,
} from '../../../sagas/runtime/read.js';
import { type RetriedCommand, RetryRefused, retryFailedCommand } from '../../../sagas/runtime/retry.js';
import { type ActionContext, action } from '../context.js';
import { CliError } from '../errors.js';
import { positiveInt } from '../options.js';
import { brief, type CliIo, table, toJson } from '../output.js';

// Reads the saga runtime's tables (sagas/runtime/tables.ts) in the event store's database. What a saga does next
// is the saga runtime's business; this shows where sagas stand and how they got there. The one write, `retry`, goes
// through the runtime's own rule (sagas/runtime/retry.ts). Claims are read from the commands' leases
// (`claimed_until`, sagas/runtime/claims.ts) without locking anything, so looking never delays a dispatcher or puts a
// deadline off.

export interface SagaDetail extends Pick<SagaRecord, 'timeline' | 'commands' | 'deadlines'> {
  readonly saga: SagaInstance;
  /** Every attempt at the saga's commands with its outcome; `cut-off`: started, never ended (see attempts.ts). */
  readonly attempts: readonly AttemptView[];
}

async function sagaDetail(ctx: ActionContext, db: Knex, id: string, type: string | undefined): Promise<SagaDetail> {
  const types = type === undefined ? await sagaTypesOf(db, id) : [type];
  if (types.length > 1) ctx.usage(`several sagas have the id ${id}: pass --type (${types.join(', ')})`);
  const record = types[0] === undefined ? null : await readSaga(db, types[0], id);
  if (!record) throw new CliError(`saga ${id}${type ? ` of type ${type}` : ''} not found`);
  const { timeline, commands, deadlines, ...saga } = record;
  return { saga, timeline, commands, deadlines, attempts: await readAttempts(db, saga.sagaType, id) };
}

const CUT_OFF_NOTE =
  'cut off: started, no outcome recorded: the process performing it stopped during the call. The provider may or ' +
  'may not have acted; the next attempt carries the same idempotency key, so it answers once.';

function render(d: SagaDetail): string {
  const s = d.saga;
  const lines = [
    `saga ${s.sagaType} ${s.sagaId}  ${s.status}  version ${s.version}  created ${s.createdAt}  updated ${s.updatedAt}`,
    ...JSON.stringify(toJson(s.state), null, 2)
      .split('\n')
      .map((l) => `  ${l}`),
  ];
  if (d.timeline.length > 0) {
    lines.push(
      '',
      'timeline:',
      ...indent(
        table(
          ['AT', 'KIND', 'DETAIL'],
          d.timeline.map((t) => [t.at, t.kind, brief(t.detail, 100)]),
        ),
      ),
    );
  }
  if (d.commands.length > 0) {
    const rows = d.commands.map((c) => [
      String(c.id),
      c.step,
      c.kind,
      c.status,
      String(c.attempts),
      c.status === 'pending' ? c.nextAttemptAt : '',
      c.lastError ?? '',
    ]);
    lines.push(
      '',
      'commands:',
      ...indent(table(['ID', 'STEP', 'KIND', 'STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'], rows)),
    );
  }
  if (d.attempts.length > 0) {
    const rows = d.attempts.map((a) => [
      a.step,
      String(a.attempt),
      a.startedAt,
      a.outcome === 'cut-off' ? 'CUT OFF' : a.outcome,
      a.endedAt ?? '',
      a.error ?? '',
    ]);
    lines.push('', 'attempts:', ...indent(table(['STEP', 'ATTEMPT', 'STARTED', 'OUTCOME', 'ENDED', 'ERROR'], rows)));
    const cut = d.attempts.filter((a) => a.outcome === 'cut-off').length;
    if (cut > 0) lines.push(`  ${cut} attempt(s) ${CUT_OFF_NOTE}`);
  }
  if (d.deadlines.length > 0) {
    const rows = d.deadlines.map((x) => [x.name, x.dueAt, x.status, x.firedAt ?? '']);
    lines.push('', 'deadlines:', ...indent(table(['NAME', 'DUE', 'STATUS', 'FIRED'], rows)));
  }
  return lines.join('\n');
}

const indent = (text: string): string[] => text.split('\n').map((l) => `  ${l}`);
const more = (text: string, truncated: boolean): string => (truncated ? `${text}\n(more: raise --limit)` : text);

function renderList(r: SagaList): string {
  const counts = r.totals.map((c) => `${c.sagaType} ${c.status}: ${c.count}`).join(', ');
  if (r.sagas.length === 0) return counts ? `no sagas match (${counts})` : 'no sagas';
  const rows = r.sagas.map((s) => [s.sagaType, s.sagaId, s.status, String(s.version), s.createdAt, s.updatedAt]);
  return [
    more(table(['TYPE', 'ID', 'STATUS', 'VERSION', 'CREATED', 'UPDATED'], rows), r.truncated),
    '',
    `by status: ${counts}`,
  ].join('\n');
}

function renderCommands(r: CommandList): string {
  const counts = `${r.totals.failed} failed, ${r.totals.pending} pending, ${r.totals.running} running`;
  if (r.commands.length === 0) return `no commands match (${counts})`;
  const rows = r.commands.map((c) => [
    String(c.id),
    `${c.sagaType} ${c.sagaId}`,
    c.step,
    c.status,
    String(c.attempts),
    c.nextAttemptAt ?? c.failedAt ?? '',
    c.lastAttempt
      ? `${c.lastAttempt.attempt} ${c.lastAttempt.outcome === 'cut-off' ? 'CUT OFF' : c.lastAttempt.outcome}`
      : '',
    c.retry ? (c.retry.allowed ? 'yes' : `no: ${c.retry.code}`) : '',
    c.lastError ?? '',
  ]);
  return [
    more(
      table(
        ['ID', 'SAGA', 'STEP', 'STATUS', 'ATTEMPTS', 'NEXT / FAILED AT', 'LAST ATTEMPT', 'RETRY', 'LAST ERROR'],
        rows,
      ),
      r.truncated,
    ),
    '',
    counts,
  ].join('\n');
}

function renderDeadlines(r: DeadlineList): string {
  const counts = `${r.totals.scheduled} scheduled (${r.totals.overdue} overdue), ${r.totals.fired} fired`;
  if (r.deadlines.length === 0) return `no deadlines match (${counts})`;
  const rows = r.deadlines.map((d) => [
    String(d.id),
    `${d.sagaType} ${d.sagaId}`,
    d.name,
    d.overdue ? 'OVERDUE' : d.status,
    d.dueAt,
    d.firedAt ?? '',
  ]);
  return [more(table(['ID', 'SAGA', 'NAME', 'STATUS', 'DUE', 'FIRED'], rows), r.truncated), '', counts].join('\n');
}

const renderRetried = (r: RetriedCommand): string =>
  `saga command ${r.commandId} (${r.step} of ${r.sagaType} ${r.sagaId}) is pending again after ${r.previousAttempts} ` +
  `attempt(s): a dispatcher performs it from ${r.nextAttemptAt} with the same idempotency key ${r.idempotencyKey}`;

const COMMAND_STATES: readonly CommandState[] = ['failed', 'pending', 'running'];

function commandState(value: string): CommandState {
  if (!(COMMAND_STATES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${COMMAND_STATES.join(', ')}`);
  }
  return value as CommandState;
}

/** The event store's database, once it has the saga tables (created and brought up to date by saga processes). */
async function sagaDb(ctx: ActionContext): Promise<Knex> {
  const db = await ctx.services.storeDb();
  if (!(await sagaTablesExist(db))) throw new CliError('sagas are not available in this database yet');
  if (!(await db.schema.hasColumn('saga_commands', 'claimed_until'))) {
    throw new CliError('the saga tables predate this build: a saga process of this build adds what it needs at start');
  }
  return db;
}

export function registerSagas(program: Command, io: CliIo): void {
  const sagas = program.command('sagas').description('saga instances, their commands and deadlines');

  sagas
    .command('show')
    .description('one saga: its state and status, timeline, commands, attempts and deadlines')
    .argument('<id>', 'the saga id (its correlation id, e.g. the order id)')
    .option('--type <sagaType>', 'the saga type, when several sagas share the id')
    .action(
      action(io, async (ctx, id: string, opts: { type?: string }) => {
        ctx.out.result(await sagaDetail(ctx, await sagaDb(ctx), id, opts.type), render);
      }),
    );

  sagas
    .command('list')
    .description('sagas newest first, with the count per status')
    .option('--status <status>', 'only sagas in this status (e.g. NEEDS_ATTENTION; any case)')
    .option('--type <sagaType>', 'only sagas of this type (e.g. order-payment)')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .action(
      action(io, async (ctx, opts: { status?: string; type?: string; limit: number }) => {
        ctx.out.result(await listSagas(await sagaDb(ctx), opts), renderList);
      }),
    );

  sagas
    .command('commands')
    .description('failed and pending saga commands (running: being performed now), with attempts and last error')
    .option(
      '--status <status>',
      'only failed, pending (waiting) or running (claimed by a dispatcher now)',
      commandState,
    )
    .option('--saga <sagaType>', 'only commands of this saga type')
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action(
      action(io, async (ctx, opts: { status?: CommandState; saga?: string; limit: number }) => {
        const db = await sagaDb(ctx);
        const result = await listCommands(db, {
          limit: opts.limit,
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.saga ? { sagaType: opts.saga } : {}),
        });
        ctx.out.result(result, renderCommands);
      }),
    );

  sagas
    .command('deadlines')
    .description('deadlines still to fire (soonest first) and fired ones (latest first)')
    .option('--fired', 'only fired deadlines')
    .option('--due', 'only deadlines still to fire (scheduled), overdue ones marked')
    .option('--saga <sagaType>', 'only deadlines of this saga type')
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action(
      action(io, async (ctx, opts: { fired?: boolean; due?: boolean; saga?: string; limit: number }) => {
        if (opts.fired && opts.due) ctx.usage('choose one: --fired or --due (neither: both)');
        const db = await sagaDb(ctx);
        const result = await listDeadlines(db, {
          which: opts.fired ? 'fired' : opts.due ? 'due' : 'all',
          limit: opts.limit,
          ...(opts.saga ? { sagaType: opts.saga } : {}),
        });
        ctx.out.result(result, renderDeadlines);
      }),
    );

  sagas
    .command('retry')
    .description(
      'perform a failed command again, with the same idempotency key; refused when its saga compensated for the ' +
        'failure or has moved on (see ops/cli/README.md)',
    )
    .argument('<commandId>', 'the command id (see `sagas commands` or `sagas show`)', positiveInt)
    .action(
      action(io, async (ctx, commandId: number) => {
        const db = await sagaDb(ctx);
        const by = `ledger sagas retry (${ctx.io.env.USER ?? ctx.io.env.LOGNAME ?? 'unknown user'})`;
        const retried = await retryFailedCommand(db, commandId, by).catch((error: unknown) => {
          if (error instanceof RetryRefused) throw new CliError(error.message);
          throw error;
        });
        ctx.out.result(retried, renderRetried);
      }),
    );
}
