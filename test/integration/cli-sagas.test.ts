import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/postgres.js';
import { ensureSagaTables } from '../../sagas/runtime/tables.js';
import { ledgerCli } from '../support/cli.js';
import { createTestDatabase } from '../support/env.js';

// `ledger sagas list | commands | deadlines | show | retry` against saga tables seeded as the runtime leaves
// them, including a dispatcher's claim held right now and an attempt whose process died during the call.

let db: Knex;
let url: string;
let drop: () => Promise<void>;
const env = () => ({ DATABASE_URL: url });
// The program in this process for most runs; as its own process where the process's exit code is the point.
const { ledger, ledgerJson } = ledgerCli(env, { inProcess: true });
const spawned = ledgerCli(env);

const minutes = (n: number) => new Date(Date.now() + n * 60_000);
const OP = 'order-payment';
const ids: Record<string, number> = {};

async function saga(sagaId: string, status: string, createdMinutesAgo: number, type = OP): Promise<void> {
  const at = minutes(-createdMinutesAgo);
  await db('saga_instances').insert({
    saga_type: type,
    saga_id: sagaId,
    status,
    state: JSON.stringify({ orderId: sagaId }),
    version: 2,
    created_at: at,
    updated_at: at,
  });
}

async function command(name: string, sagaId: string, step: string, row: Record<string, unknown>, type = OP) {
  const [inserted] = await db('saga_commands')
    .insert({ saga_type: type, saga_id: sagaId, step, kind: `payment.${step}`, payload: '{}', ...row })
    .returning('id');
  ids[name] = Number((inserted as { id: number }).id);
  return ids[name]!;
}

/** What a dispatcher's claim writes (the start, the row marked with it) before the handler runs. */
async function attemptStarted(commandId: number, sagaId: string, step: string, attempt = 1): Promise<number> {
  const [row] = await db('saga_timeline')
    .insert({
      saga_type: OP,
      saga_id: sagaId,
      kind: 'attempt-started',
      detail: JSON.stringify({ step, kind: `payment.${step}`, commandId, attempt }),
    })
    .returning('id');
  const attemptId = (row as { id: number }).id;
  await db('saga_commands').where({ id: commandId }).update({ attempt_id: attemptId });
  return attemptId;
}

beforeAll(async () => {
  const created = await createTestDatabase('clisagas');
  url = created.url;
  drop = created.drop;
  db = connect(url, { max: 4 });
  await ensureSagaTables(db);

  await saga('done-1', 'COMPLETED', 40);
  await saga('attention-2', 'NEEDS_ATTENTION', 30);
  await saga('rejected-3', 'REJECTED', 20);
  await saga('accepting-4', 'AWAITING_ACCEPTANCE', 10);
  await saga('paying-5', 'AWAITING_PAYMENT', 5);
  await saga('loyal-7', 'ACTIVE', 2, 'loyalty');
  await saga('crashed-6', 'AWAITING_PAYMENT', 1);

  // A capture that failed, the saga's reaction left it open: retryable.
  await command('capture', 'attention-2', 'capture', {
    status: 'failed',
    attempts: 5,
    last_error: 'TransientProviderError: 503',
    done_at: minutes(-29),
    retryable: true,
  });
  // An authorization that failed and was compensated: the order rejected.
  await command('authorize', 'rejected-3', 'authorize', {
    status: 'failed',
    attempts: 5,
    last_error: 'TransientProviderError: 503',
    done_at: minutes(-19),
    retryable: false,
  });
  const lastAuthorize = await attemptStarted(ids.authorize!, 'rejected-3', 'authorize', 5);
  await db('saga_timeline').insert({
    saga_type: OP,
    saga_id: 'rejected-3',
    kind: 'command-failed',
    detail: JSON.stringify({
      step: 'authorize',
      attempts: 5,
      error: 'TransientProviderError: 503',
      attemptId: lastAuthorize,
    }),
  });
  await command('reject', 'rejected-3', 'reject-order', { status: 'done', attempts: 1, done_at: minutes(-19) });
  // Waiting for its third attempt.
  await command('confirm', 'accepting-4', 'confirm-order', {
    attempts: 2,
    last_error: 'Error: connection reset',
    next_attempt_at: minutes(60),
  });
  // Being performed right now: a dispatcher's claim is held.
  await command('running', 'paying-5', 'authorize', {});
  await attemptStarted(ids.running!, 'paying-5', 'authorize');
  // Its lease runs an hour yet (sagas/runtime/claims.ts).
  await db('saga_commands')
    .where({ id: ids.running })
    .update({ claimed_until: minutes(60), claimed_by: 'test' });
  // Its dispatcher was SIGKILLed during the call: started, never ended, no claim.
  await command('crashed', 'crashed-6', 'authorize', {});
  await attemptStarted(ids.crashed!, 'crashed-6', 'authorize');
  // Another saga type's failure from before retry verdicts were recorded.
  await command('loyal', 'loyal-7', 'grant-points', { status: 'failed', attempts: 1, done_at: minutes(-1) }, 'loyalty');

  const deadline = (sagaId: string, name: string, dueMinutes: number, row: Record<string, unknown> = {}) =>
    db('saga_deadlines').insert({ saga_type: OP, saga_id: sagaId, name, due_at: minutes(dueMinutes), ...row });
  await deadline('accepting-4', 'restaurant-acceptance', 5);
  await deadline('crashed-6', 'payment-timeout', -1);
  await deadline('done-1', 'restaurant-acceptance', -35, { status: 'fired', fired_at: minutes(-35) });
  await deadline('rejected-3', 'payment-timeout', -18, { status: 'cancelled' });
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

interface SagaListJson {
  sagas: { sagaType: string; sagaId: string; status: string; version: number; createdAt: string; updatedAt: string }[];
  count: number;
  truncated: boolean;
  totals: { sagaType: string; status: string; count: number }[];
}

interface CommandJson {
  id: number;
  sagaType: string;
  sagaId: string;
  sagaStatus: string | null;
  step: string;
  kind: string;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  failedAt: string | null;
  lastAttempt: { id: number; attempt: number; startedAt: string; outcome: string } | null;
  retry: { allowed: boolean; code: string | null; message: string | null } | null;
}
interface CommandListJson {
  commands: CommandJson[];
  count: number;
  truncated: boolean;
  totals: { failed: number; pending: number; running: number };
}

interface DeadlineListJson {
  deadlines: {
    id: number;
    sagaType: string;
    sagaId: string;
    name: string;
    status: string;
    dueAt: string;
    firedAt: string | null;
    overdue: boolean;
  }[];
  count: number;
  truncated: boolean;
  totals: { scheduled: number; overdue: number; fired: number };
}

describe('ledger sagas list', () => {
  it('lists sagas newest first with the totals per type and status; filters by status (any case), type, limit', async () => {
    const [all, attention, loyalty, two, human] = await Promise.all([
      ledgerJson<SagaListJson>(['sagas', 'list']),
      ledgerJson<SagaListJson>(['sagas', 'list', '--status', 'needs_attention']),
      ledgerJson<SagaListJson>(['sagas', 'list', '--type', 'loyalty']),
      ledgerJson<SagaListJson>(['sagas', 'list', '--limit', '2']),
      ledger(['sagas', 'list', '--type', OP]),
    ]);
    expect(all.sagas.map((s) => s.sagaId)).toEqual([
      'crashed-6',
      'loyal-7',
      'paying-5',
      'accepting-4',
      'rejected-3',
      'attention-2',
      'done-1',
    ]);
    expect(all).toMatchObject({ count: 7, truncated: false });
    expect(Object.keys(all.sagas[0]!).sort()).toEqual([
      'createdAt',
      'sagaId',
      'sagaType',
      'status',
      'updatedAt',
      'version',
    ]);
    expect(all.sagas[0]).toMatchObject({ sagaType: OP, status: 'AWAITING_PAYMENT', version: 2 });
    expect(all.totals).toEqual([
      { sagaType: 'loyalty', status: 'ACTIVE', count: 1 },
      { sagaType: OP, status: 'AWAITING_ACCEPTANCE', count: 1 },
      { sagaType: OP, status: 'AWAITING_PAYMENT', count: 2 },
      { sagaType: OP, status: 'COMPLETED', count: 1 },
      { sagaType: OP, status: 'NEEDS_ATTENTION', count: 1 },
      { sagaType: OP, status: 'REJECTED', count: 1 },
    ]);

    expect(attention.sagas.map((s) => s.sagaId)).toEqual(['attention-2']);
    expect(attention.totals).toEqual(all.totals); // the totals stay over every status
    expect(loyalty.sagas.map((s) => s.sagaId)).toEqual(['loyal-7']);
    expect(loyalty.totals).toEqual([{ sagaType: 'loyalty', status: 'ACTIVE', count: 1 }]);
    expect(two).toMatchObject({ count: 2, truncated: true });

    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^TYPE\s+ID\s+STATUS\s+VERSION\s+CREATED\s+UPDATED\n/);
    expect(human.stdout).toContain(
      'by status: order-payment AWAITING_ACCEPTANCE: 1, order-payment AWAITING_PAYMENT: 2',
    );
  });
});

describe('ledger sagas commands', () => {
  it('lists failed, pending and running commands with attempts, last error, next attempt and retry verdict', async () => {
    const [all, running, failedOfOp, human] = await Promise.all([
      ledgerJson<CommandListJson>(['sagas', 'commands']),
      ledgerJson<CommandListJson>(['sagas', 'commands', '--status', 'running']),
      ledgerJson<CommandListJson>(['sagas', 'commands', '--status', 'failed', '--saga', OP]),
      ledger(['sagas', 'commands']),
    ]);
    // Failed first, most recently failed first; then waiting and running ones, oldest first.
    expect(all.commands.map((c) => [c.id, c.status])).toEqual([
      [ids.loyal, 'failed'],
      [ids.authorize, 'failed'],
      [ids.capture, 'failed'],
      [ids.confirm, 'pending'],
      [ids.running, 'running'],
      [ids.crashed, 'pending'],
    ]);
    expect(all).toMatchObject({ count: 6, truncated: false, totals: { failed: 3, pending: 2, running: 1 } });
    const byId = new Map(all.commands.map((c) => [c.id, c]));
    expect(Object.keys(byId.get(ids.capture!)!).sort()).toEqual(
      [
        'attempts',
        'createdAt',
        'failedAt',
        'id',
        'kind',
        'lastAttempt',
        'lastError',
        'nextAttemptAt',
        'retry',
        'sagaId',
        'sagaStatus',
        'sagaType',
        'status',
        'step',
      ].sort(),
    );
    expect(byId.get(ids.capture!)).toMatchObject({
      sagaType: OP,
      sagaId: 'attention-2',
      sagaStatus: 'NEEDS_ATTENTION',
      step: 'capture',
      kind: 'payment.capture',
      attempts: 5,
      lastError: 'TransientProviderError: 503',
      nextAttemptAt: null,
      failedAt: expect.any(String),
      lastAttempt: null,
      retry: { allowed: true, code: null, message: null },
    });
    expect(byId.get(ids.authorize!)).toMatchObject({
      lastAttempt: { attempt: 5, outcome: 'failed' },
      retry: { allowed: false, code: 'compensated' },
    });
    expect(byId.get(ids.loyal!)?.retry).toMatchObject({ allowed: false, code: 'no-verdict' });
    expect(byId.get(ids.confirm!)).toMatchObject({
      attempts: 2,
      lastError: 'Error: connection reset',
      nextAttemptAt: expect.any(String),
      failedAt: null,
      retry: null,
    });
    expect(new Date(byId.get(ids.confirm!)!.nextAttemptAt!).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(byId.get(ids.running!)).toMatchObject({
      nextAttemptAt: null,
      lastAttempt: { attempt: 1, outcome: 'running' },
    });
    expect(byId.get(ids.crashed!)).toMatchObject({
      status: 'pending',
      lastAttempt: { attempt: 1, outcome: 'cut-off' },
    });

    expect(running.commands.map((c) => c.id)).toEqual([ids.running]);
    expect(running.totals).toEqual(all.totals);
    expect(failedOfOp.commands.map((c) => c.id)).toEqual([ids.authorize, ids.capture]);
    expect(failedOfOp.totals).toEqual({ failed: 2, pending: 2, running: 1 });

    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ID\s+SAGA\s+STEP\s+STATUS\s+ATTEMPTS\s+NEXT \/ FAILED AT\s+LAST ATTEMPT\s+RETRY/);
    expect(human.stdout).toContain('1 CUT OFF');
    expect(human.stdout).toContain('no: compensated');
    expect(human.stdout).toContain('3 failed, 2 pending, 1 running');
  });

  it('refuses an unknown --status as a wrong invocation', async () => {
    const run = await ledger(['sagas', 'commands', '--status', 'stuck']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('expected one of failed, pending, running');
    expect(run.stdout).toBe('');
  });
});

describe('ledger sagas deadlines', () => {
  it('lists deadlines to fire (overdue marked) and fired ones; --due and --fired narrow, not both', async () => {
    const [all, due, fired, both] = await Promise.all([
      ledgerJson<DeadlineListJson>(['sagas', 'deadlines']),
      ledgerJson<DeadlineListJson>(['sagas', 'deadlines', '--due']),
      ledgerJson<DeadlineListJson>(['sagas', 'deadlines', '--fired']),
      ledger(['sagas', 'deadlines', '--fired', '--due']),
    ]);
    expect(all.deadlines.map((d) => [d.sagaId, d.name, d.status, d.overdue])).toEqual([
      ['crashed-6', 'payment-timeout', 'scheduled', true],
      ['accepting-4', 'restaurant-acceptance', 'scheduled', false],
      ['done-1', 'restaurant-acceptance', 'fired', false],
    ]);
    expect(all).toMatchObject({ count: 3, truncated: false, totals: { scheduled: 2, overdue: 1, fired: 1 } });
    expect(Object.keys(all.deadlines[0]!).sort()).toEqual(
      ['dueAt', 'firedAt', 'id', 'name', 'overdue', 'sagaId', 'sagaType', 'status'].sort(),
    );
    expect(all.deadlines[0]).toMatchObject({ sagaType: OP, firedAt: null });
    expect(all.deadlines[2]?.firedAt).toEqual(expect.any(String));
    expect(due.deadlines.map((d) => d.sagaId)).toEqual(['crashed-6', 'accepting-4']);
    expect(fired.deadlines.map((d) => d.sagaId)).toEqual(['done-1']);
    expect(fired.totals).toEqual(all.totals);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('choose one: --fired or --due');
  });
});

describe('ledger sagas show', () => {
  it('shows an attempt started and never ended as cut off, one in flight as running', async () => {
    interface ShowJson {
      commands: { id: number; step: string }[];
      attempts: { commandId: number; step: string; attempt: number; outcome: string; endedAt: string | null }[];
    }
    const [crashed, running, human] = await Promise.all([
      ledgerJson<ShowJson>(['sagas', 'show', 'crashed-6']),
      ledgerJson<ShowJson>(['sagas', 'show', 'paying-5']),
      ledger(['sagas', 'show', 'crashed-6']),
    ]);
    expect(crashed.commands).toEqual([expect.objectContaining({ id: ids.crashed, step: 'authorize' })]);
    expect(crashed.attempts).toEqual([
      {
        id: expect.any(Number),
        commandId: ids.crashed,
        step: 'authorize',
        kind: 'payment.authorize',
        attempt: 1,
        startedAt: expect.any(String),
        outcome: 'cut-off',
        endedAt: null,
        error: null,
      },
    ]);
    expect(running.attempts).toEqual([expect.objectContaining({ commandId: ids.running, outcome: 'running' })]);
    expect(human.stdout).toMatch(
      /attempts:\n\s+STEP\s+ATTEMPT\s+STARTED\s+OUTCOME\s+ENDED\s+ERROR\n\s+authorize\s+1\s+\S+\s+CUT OFF/,
    );
    expect(human.stdout).toContain('1 attempt(s) cut off: started, no outcome recorded');
  });
});

describe('ledger sagas retry', () => {
  it('puts a retryable failed command back to pending with the same idempotency key, once', async () => {
    const retried = await ledgerJson<Record<string, unknown>>(['sagas', 'retry', String(ids.capture)]);
    expect(retried).toEqual({
      commandId: ids.capture,
      sagaType: OP,
      sagaId: 'attention-2',
      step: 'capture',
      kind: 'payment.capture',
      idempotencyKey: `${OP}:attention-2:capture`,
      previousAttempts: 5,
      lastError: 'TransientProviderError: 503',
      status: 'pending',
      nextAttemptAt: expect.any(String),
    });
    expect(await db('saga_commands').where({ id: ids.capture }).first()).toMatchObject({
      status: 'pending',
      attempts: 0,
      done_at: null,
    });
    const requested = await db('saga_timeline').where({ saga_id: 'attention-2', kind: 'retry-requested' }).first();
    expect(requested?.detail).toMatchObject({ commandId: ids.capture, previousAttempts: 5, step: 'capture' });

    const again = await ledger(['sagas', 'retry', String(ids.capture)]);
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toMatch(
      /^ledger: not retrying saga command \d+ \(capture of order-payment attention-2\): it is pending, not failed/,
    );
  });

  it('refuses unsafe retries with the reason, exit 1, nothing changed; a bad id is a wrong invocation', async () => {
    const [compensated, noVerdict, pending, missing, bad] = await Promise.all([
      spawned.ledger(['sagas', 'retry', String(ids.authorize)]),
      ledger(['sagas', 'retry', String(ids.loyal)]),
      ledger(['sagas', 'retry', String(ids.crashed)]),
      ledger(['sagas', 'retry', '999999']),
      spawned.ledger(['sagas', 'retry', 'capture']),
    ]);
    expect(compensated).toMatchObject({ code: 1, stdout: '' });
    expect(compensated.stderr).toMatch(
      /^ledger: not retrying saga command \d+ \(authorize of order-payment rejected-3\): the saga compensated for the failure \(saga status REJECTED\)/,
    );
    expect(noVerdict.code).toBe(1);
    expect(noVerdict.stderr).toContain("the saga's reaction to the failure is not on record");
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('it is pending, not failed');
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'ledger: saga command 999999 not found\n' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Usage: ledger sagas retry');
    expect(await db('saga_commands').whereIn('id', [ids.authorize!, ids.loyal!]).pluck('status')).toEqual([
      'failed',
      'failed',
    ]);
  });
});

describe('ledger sagas without saga tables', () => {
  it('says sagas are not available yet, exit 1', async () => {
    const empty = await createTestDatabase('clinosagas');
    try {
      const runs = await Promise.all(
        [['list'], ['commands'], ['deadlines'], ['retry', '1']].map((args) =>
          ledger(['sagas', ...args], { DATABASE_URL: empty.url }),
        ),
      );
      for (const run of runs) {
        expect(run).toEqual({ code: 1, stdout: '', stderr: 'ledger: sagas are not available in this database yet\n' });
      }
    } finally {
      await empty.drop();
    }
  });
});
