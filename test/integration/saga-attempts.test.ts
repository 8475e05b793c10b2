import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../runtime/log.js';
import { connect } from '../../runtime/postgres.js';
import { type OrderPaymentState, orderPaymentSaga } from '../../sagas/ordering/order-payment.js';
import { type CommandHandler, type CommandInvocation, SagaCommandDispatcher } from '../../sagas/runtime/dispatcher.js';
import { reactToEvent } from '../../sagas/runtime/reactor.js';
import { listCommands, readAttempts } from '../../sagas/runtime/read.js';
import { RetryRefused, retryFailedCommand } from '../../sagas/runtime/retry.js';
import type { SagaDefinition } from '../../sagas/runtime/types.js';
import { openSagaDatabase, type SagaDatabase } from '../support/saga-database.js';
import { waitUntil } from '../support/system.js';
import { cuttableProxy, viaProxy } from '../support/tcp-proxy.js';

// Issue 13: every provider attempt on the saga's timeline, including one cut off by a crash, and an operator's
// retry of a failed command that never acts twice. Against the real saga tables, the real dispatcher and the
// order/payment saga's reactions to failures.

let db: Knex;
let url: string;
let sagaDb: SagaDatabase | undefined;
beforeAll(async () => {
  sagaDb = await openSagaDatabase('attempts');
  ({ db, url } = sagaDb);
});
afterEach(async () => {
  await db.raw('TRUNCATE saga_instances, saga_processed_events, saga_timeline, saga_commands, saga_deadlines');
});
afterAll(async () => {
  await sagaDb?.close();
});

const saga = orderPaymentSaga({ acceptanceTimeoutMs: 300_000, paymentTimeoutMs: 120_000 });
const definition = saga as unknown as SagaDefinition<unknown>;
const logger = createLogger('saga-attempts-test', 'silent');
const dispatcher = (
  handlers: Record<string, CommandHandler>,
  options: { isTransient?: (e: unknown) => boolean; on?: Knex; saga?: SagaDefinition<unknown> } = {},
) =>
  new SagaCommandDispatcher(options.on ?? db, handlers, options.isTransient ?? (() => true), logger, {
    backoffBaseMs: 10,
  }).register(options.saga ?? definition);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An order/payment saga as it stands, with one command of it issued (pending): returns the ids. */
async function seed(over: Partial<OrderPaymentState>, step: string, kind: string) {
  const orderId = randomUUID();
  const state: OrderPaymentState = {
    ...saga.initialState(orderId),
    customerId: 'c-1',
    restaurantId: 'r-1',
    amountMinor: 2500,
    currency: 'EUR',
    cardToken: '4242424242424242',
    order: 'PENDING',
    ...over,
  };
  const key = { saga_type: saga.name, saga_id: orderId };
  await db('saga_instances').insert({ ...key, status: saga.status(state), state: JSON.stringify(state), version: 1 });
  const [row] = await db('saga_commands')
    .insert({ ...key, step, kind, payload: JSON.stringify({ paymentId: orderId, providerRef: 'pi_1' }) })
    .returning('id');
  return { orderId, commandId: Number((row as { id: number }).id) };
}
const delivered = { order: 'DELIVERED', accepted: true, payment: 'AUTHORIZED' as const, providerRef: 'pi_1' };
const command = (id: number) => db('saga_commands').where({ id }).first();
const attempts = async (orderId: string) =>
  (await readAttempts(db, saga.name, orderId)).map((a) => [a.step, a.attempt, a.outcome]);

function sagaEvent(orderId: string, eventType: string, data: Record<string, unknown>) {
  return {
    eventId: randomUUID(),
    eventType,
    streamId: `order-${orderId}`,
    streamVersion: 9,
    globalPosition: 9,
    recordedAt: new Date().toISOString(),
    correlationId: orderId,
    data: { orderId, ...data },
  } as never;
}

describe('saga command attempts on the timeline', () => {
  it('"attempt N started" is committed before the handler runs; its outcome is recorded beside it', async () => {
    const { orderId, commandId } = await seed(delivered, 'capture', 'payment.capture');
    const seenByHandler: number[] = [];
    const d = dispatcher({
      'payment.capture': async () => {
        // Read on another connection: the start is committed, not in a transaction of the claim.
        const started = await db('saga_timeline')
          .where({ saga_id: orderId, kind: 'attempt-started' })
          .count({ n: '*' });
        seenByHandler.push(Number(started[0]?.n));
        if (seenByHandler.length === 1) throw new Error('provider answered 503');
      },
    });
    expect(await d.runDue()).toBe(1);
    await sleep(30); // the first backoff (10 ms)
    expect(await d.runDue()).toBe(1);
    expect(seenByHandler).toEqual([1, 2]);

    const recorded = await readAttempts(db, saga.name, orderId);
    expect(recorded).toEqual([
      expect.objectContaining({
        commandId,
        step: 'capture',
        attempt: 1,
        outcome: 'retry',
        error: 'Error: provider answered 503',
      }),
      expect.objectContaining({ commandId, step: 'capture', attempt: 2, outcome: 'done', error: null }),
    ]);
    expect(await command(commandId)).toMatchObject({ status: 'done', attempts: 2, attempt_id: recorded[1]!.id });
  });

  it('an attempt whose dispatcher lost the database during the call shows as cut off once its lease runs out; the takeover performs it once, same key', async () => {
    const { orderId, commandId } = await seed(delivered, 'capture', 'payment.capture');
    // The victim: a dispatcher reaching PostgreSQL through a proxy the test cuts, with a short lease, whose handler
    // never returns by itself. Cut off, it cannot renew its lease: to PostgreSQL it is as dead as a SIGKILLed one.
    const proxy = await cuttableProxy(new URL(url));
    const victimDb = connect(viaProxy(url, proxy), { max: 4 });
    const keys: string[] = [];
    let release: () => void = () => undefined;
    let started = false;
    const victim = new SagaCommandDispatcher(
      victimDb,
      {
        'payment.capture': (inv: CommandInvocation) =>
          new Promise<void>((resolve) => {
            keys.push(inv.idempotencyKey);
            started = true;
            release = resolve;
          }),
      },
      () => true,
      logger,
      { backoffBaseMs: 10, leaseMs: 600 },
    )
      .register(definition)
      .runDue();
    try {
      await waitUntil(async () => started, 10_000, 'the victim to start the call');
      expect(await attempts(orderId)).toEqual([['capture', 1, 'running']]);
      const { commands } = await listCommands(db, { status: 'running', limit: 10 });
      expect(commands.map((c) => [c.id, c.status, c.lastAttempt?.outcome])).toEqual([
        [commandId, 'running', 'running'],
      ]);
      // Renewed while the call lasts: well past one lease, still running and not claimable.
      await sleep(900);
      expect(await attempts(orderId)).toEqual([['capture', 1, 'running']]);
      expect(await dispatcher({ 'payment.capture': async () => expect.unreachable('run twice') }).runDue()).toBe(0);

      // The victim loses PostgreSQL (a SIGKILL looks the same from there): no more renewals. The start is all that
      // is left, and once the lease has run out the attempt is cut off.
      proxy.refuse(true);
      proxy.cut();
      await waitUntil(async () => (await attempts(orderId))[0]?.[2] === 'cut-off', 10_000, 'the lease to run out');
      expect(await command(commandId)).toMatchObject({ status: 'pending', attempts: 0 });

      // Another dispatcher takes the command over and performs it, with the same idempotency key.
      const survivor = dispatcher({ 'payment.capture': async (inv) => void keys.push(inv.idempotencyKey) });
      expect(await survivor.runDue()).toBe(1);
      expect(await attempts(orderId)).toEqual([
        ['capture', 1, 'cut-off'],
        ['capture', 1, 'done'],
      ]);
      expect(await command(commandId)).toMatchObject({ status: 'done', attempts: 1, claimed_until: null });
    } finally {
      // The victim lived on (its connection lost, not its process): its late end is noted as superseded and
      // recorded nowhere else: the outcome stays the takeover's.
      proxy.refuse(false);
      release();
      await victim;
      await victimDb.destroy();
      await proxy.close();
    }
    expect(new Set(keys)).toEqual(new Set([`order-payment:${orderId}:capture`]));
    expect(keys).toHaveLength(2);
    expect(await attempts(orderId)).toEqual([
      ['capture', 1, 'superseded'],
      ['capture', 1, 'done'],
    ]);
    expect(await command(commandId)).toMatchObject({ status: 'done', attempts: 1 });
    const done = await db('saga_timeline').where({ saga_id: orderId, kind: 'command-done' }).count({ n: '*' });
    expect(Number(done[0]?.n)).toBe(1);
  });

  it('a deferral (nothing attempted) is an outcome too, and the same attempt number comes again', async () => {
    const { orderId } = await seed(delivered, 'capture', 'payment.capture');
    const refused = Object.assign(new Error('payment provider circuit open'), { deferMs: 10 });
    expect(await dispatcher({ 'payment.capture': () => Promise.reject(refused) }).runDue()).toBe(1);
    await sleep(30);
    expect(await dispatcher({ 'payment.capture': async () => undefined }).runDue()).toBe(1);
    expect(await attempts(orderId)).toEqual([
      ['capture', 1, 'deferred'],
      ['capture', 1, 'done'],
    ]);
  });
});

describe('retrying a failed saga command', () => {
  const failing = () => Promise.reject(new Error('provider refused'));
  const permanent = { isTransient: () => false };

  it('a failure the saga left open is retried with the same idempotency key and a fresh budget, once', async () => {
    const { orderId, commandId } = await seed(delivered, 'capture', 'payment.capture');
    const keys: string[] = [];
    const record = async (inv: CommandInvocation) => void keys.push(inv.idempotencyKey);
    expect(await dispatcher({ 'payment.capture': (inv) => record(inv).then(failing) }, permanent).runDue()).toBe(1);
    expect(await command(commandId)).toMatchObject({ status: 'failed', attempts: 1, retryable: true });
    expect((await db('saga_instances').where({ saga_id: orderId }).first()).status).toBe('NEEDS_ATTENTION');

    // Two operators at once: one retry goes through, the other finds the command pending already.
    const results = await Promise.allSettled([
      retryFailedCommand(db, commandId, 'test'),
      retryFailedCommand(db, commandId, 'test'),
    ]);
    const retried = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(retried).toEqual([
      expect.objectContaining({
        commandId,
        step: 'capture',
        status: 'pending',
        previousAttempts: 1,
        lastError: 'Error: provider refused',
        idempotencyKey: `order-payment:${orderId}:capture`,
      }),
    ]);
    const refusal = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refusal.reason).toBeInstanceOf(RetryRefused);
    expect(refusal.reason).toMatchObject({ code: 'not-failed' });
    expect(await command(commandId)).toMatchObject({ status: 'pending', attempts: 0, retryable: null });

    expect(await dispatcher({ 'payment.capture': record }).runDue()).toBe(1);
    expect(await command(commandId)).toMatchObject({ status: 'done', attempts: 1 });
    expect(keys).toEqual([`order-payment:${orderId}:capture`, `order-payment:${orderId}:capture`]);
    const kinds = await db('saga_timeline').where({ saga_id: orderId }).orderBy('id').pluck('kind');
    expect(kinds).toEqual(['attempt-started', 'command-failed', 'retry-requested', 'attempt-started', 'command-done']);
    expect(await attempts(orderId)).toEqual([
      ['capture', 1, 'failed'],
      ['capture', 1, 'done'],
    ]);

    // The step's event, when the saga sees it, clears what the failure flagged.
    await reactToEvent(
      db,
      definition,
      sagaEvent(orderId, 'PaymentCaptured', {
        paymentId: orderId,
        amountMinor: 2500,
        currency: 'EUR',
        capturedAt: 'now',
      }),
      () => new Date(),
    );
    expect((await db('saga_instances').where({ saga_id: orderId }).first()).status).toBe('COMPLETED');
  });

  it('refuses what the saga compensated for, what it has moved on from, and what has not failed', async () => {
    const refusalOf = (id: number) =>
      retryFailedCommand(db, id, 'test').then(
        () => expect.unreachable('retried'),
        (error: unknown) => {
          expect(error).toBeInstanceOf(RetryRefused);
          return (error as RetryRefused).code;
        },
      );

    // authorize failed: the saga rejected the order (reject-order issued); a late authorization would hold money.
    const auth = await seed({}, 'authorize', 'payment.authorize');
    expect(await dispatcher({ 'payment.authorize': failing }, permanent).runDue()).toBe(1);
    expect(await command(auth.commandId)).toMatchObject({ status: 'failed', retryable: false });
    expect(await refusalOf(auth.commandId)).toBe('compensated');
    expect(await command(auth.commandId)).toMatchObject({ status: 'failed' });
    // The reject-order it issued is pending: the dispatcher's business, not a retry's.
    const reject = await db('saga_commands').where({ saga_id: auth.orderId, step: 'reject-order' }).first('id');
    expect(await refusalOf(Number(reject.id))).toBe('not-failed');

    // capture failed (left open), then the order was cancelled: the saga voids the authorization. Capturing now
    // would take the money the void releases.
    const cap = await seed(delivered, 'capture', 'payment.capture');
    // Issued just before (due on the database's clock): taken, while the reject-order of the saga above, a kind
    // this dispatcher has no handler for, is left alone for the dispatcher that has one.
    expect(await dispatcher({ 'payment.capture': failing }, permanent).runDue()).toBe(1);
    expect(await command(cap.commandId)).toMatchObject({ status: 'failed', retryable: true });
    expect(await command(Number(reject.id))).toMatchObject({ status: 'pending', attempts: 0, attempt_id: null });
    await reactToEvent(
      db,
      definition,
      sagaEvent(cap.orderId, 'OrderCancelled', {
        reason: 'admin',
        cancelledBy: 'admin',
        previousStatus: 'DELIVERED',
        cancelledAt: 'now',
      }),
      () => new Date(),
    );
    expect(await db('saga_commands').where({ saga_id: cap.orderId }).orderBy('id').pluck('step')).toEqual([
      'capture',
      'void',
    ]);
    expect(await refusalOf(cap.commandId)).toBe('moved-on');

    // A compensation that failed left no word from the saga: refused until someone looks.
    const broken = await seed(delivered, 'capture', 'payment.capture');
    const throwing = {
      ...definition,
      onCommandFailed: () => {
        throw new Error('a bug in the saga');
      },
    };
    expect(await dispatcher({ 'payment.capture': failing }, { ...permanent, saga: throwing }).runDue()).toBe(1);
    expect(await command(broken.commandId)).toMatchObject({ status: 'failed', retryable: null });
    expect(await attempts(broken.orderId)).toEqual([['capture', 1, 'failed']]);
    expect(await refusalOf(broken.commandId)).toBe('no-verdict');

    expect(await refusalOf(987654)).toBe('not-found');
  });
});
