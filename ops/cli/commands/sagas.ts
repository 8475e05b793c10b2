import type { Command } from 'commander';
import type { Knex } from 'knex';
import { type ActionContext, action } from '../context.js';
import { CliError } from '../errors.js';
import { brief, type CliIo, table, toJson } from '../output.js';
import { tableExists } from '../sql.js';

// Reads the saga runtime's tables (sagas/runtime/tables.ts) in the event store's database. Read-only: what a
// saga does next is the saga runtime's business; this shows where one stands and how it got there.

export interface SagaInstance {
  readonly sagaType: string;
  readonly sagaId: string;
  readonly status: string;
  readonly version: number;
  readonly state: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface SagaDetail {
  readonly saga: SagaInstance;
  readonly timeline: readonly { readonly at: string; readonly kind: string; readonly detail: unknown }[];
  readonly commands: readonly {
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

async function findSaga(ctx: ActionContext, db: Knex, id: string, type: string | undefined): Promise<SagaInstance> {
  const query = db('saga_instances').where('saga_id', id).orderBy('saga_type');
  if (type !== undefined) query.andWhere('saga_type', type);
  const rows: {
    saga_type: string;
    saga_id: string;
    status: string;
    version: number;
    state: unknown;
    created_at: Date;
    updated_at: Date;
  }[] = await query.select();
  if (rows.length === 0) throw new CliError(`saga ${id}${type ? ` of type ${type}` : ''} not found`);
  if (rows.length > 1) {
    ctx.usage(`several sagas have the id ${id}: pass --type (${rows.map((r) => r.saga_type).join(', ')})`);
  }
  const r = rows[0]!;
  return {
    sagaType: r.saga_type,
    sagaId: r.saga_id,
    status: r.status,
    version: r.version,
    state: r.state,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

async function sagaDetail(ctx: ActionContext, db: Knex, id: string, type: string | undefined): Promise<SagaDetail> {
  const saga = await findSaga(ctx, db, id, type);
  const key = { saga_type: saga.sagaType, saga_id: saga.sagaId };
  const timeline: { at: Date; kind: string; detail: unknown }[] = await db('saga_timeline')
    .where(key)
    .orderBy('id')
    .select('at', 'kind', 'detail');
  const commands: {
    step: string;
    kind: string;
    status: string;
    attempts: number;
    payload: unknown;
    last_error: string | null;
    next_attempt_at: Date;
    created_at: Date;
    done_at: Date | null;
  }[] = await db('saga_commands').where(key).orderBy('id').select();
  const deadlines: { name: string; due_at: Date; status: string; fired_at: Date | null }[] = await db('saga_deadlines')
    .where(key)
    .orderBy(['due_at', 'name'])
    .select('name', 'due_at', 'status', 'fired_at');
  return {
    saga,
    timeline: timeline.map((t) => ({ at: t.at.toISOString(), kind: t.kind, detail: t.detail })),
    commands: commands.map((c) => ({
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
    const rows = d.commands.map((c) => [c.step, c.kind, c.status, String(c.attempts), c.lastError ?? '']);
    lines.push('', 'commands:', ...indent(table(['STEP', 'KIND', 'STATUS', 'ATTEMPTS', 'LAST ERROR'], rows)));
  }
  if (d.deadlines.length > 0) {
    const rows = d.deadlines.map((x) => [x.name, x.dueAt, x.status, x.firedAt ?? '']);
    lines.push('', 'deadlines:', ...indent(table(['NAME', 'DUE', 'STATUS', 'FIRED'], rows)));
  }
  return lines.join('\n');
}

const indent = (text: string): string[] => text.split('\n').map((l) => `  ${l}`);

export function registerSagas(program: Command, io: CliIo): void {
  const sagas = program.command('sagas').description('saga instances');

  sagas
    .command('show')
    .description('one saga: its state and status, timeline, commands and deadlines')
    .argument('<id>', 'the saga id (its correlation id, e.g. the order id)')
    .option('--type <sagaType>', 'the saga type, when several sagas share the id')
    .action(
      action(io, async (ctx, id: string, opts: { type?: string }) => {
        const db = await ctx.services.storeDb();
        if (!(await tableExists(db, 'saga_instances'))) {
          throw new CliError('sagas are not available in this database yet');
        }
        ctx.out.result(await sagaDetail(ctx, db, id, opts.type), render);
      }),
    );
}
