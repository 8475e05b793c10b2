import type { Command } from 'commander';
import type { Knex } from 'knex';
import {
  readSaga,
  type SagaInstance,
  type SagaRecord,
  sagaTablesExist,
  sagaTypesOf,
} from '../../../sagas/runtime/read.js';
import { type ActionContext, action } from '../context.js';
import { CliError } from '../errors.js';
import { brief, type CliIo, table, toJson } from '../output.js';

// Reads the saga runtime's tables (sagas/runtime/tables.ts) in the event store's database. Read-only: what a
// saga does next is the saga runtime's business; this shows where one stands and how it got there.

export interface SagaDetail extends Pick<SagaRecord, 'timeline' | 'commands' | 'deadlines'> {
  readonly saga: SagaInstance;
}

async function sagaDetail(ctx: ActionContext, db: Knex, id: string, type: string | undefined): Promise<SagaDetail> {
  const types = type === undefined ? await sagaTypesOf(db, id) : [type];
  if (types.length > 1) ctx.usage(`several sagas have the id ${id}: pass --type (${types.join(', ')})`);
  const record = types[0] === undefined ? null : await readSaga(db, types[0], id);
  if (!record) throw new CliError(`saga ${id}${type ? ` of type ${type}` : ''} not found`);
  const { timeline, commands, deadlines, ...saga } = record;
  return { saga, timeline, commands, deadlines };
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
        if (!(await sagaTablesExist(db))) {
          throw new CliError('sagas are not available in this database yet');
        }
        ctx.out.result(await sagaDetail(ctx, db, id, opts.type), render);
      }),
    );
}
