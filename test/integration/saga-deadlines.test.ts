import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../runtime/log.js';
import { orderPaymentSaga, PAYMENT_DEADLINE } from '../../sagas/ordering/order-payment.js';
import { type CommandHandler, SagaCommandDispatcher } from '../../sagas/runtime/dispatcher.js';
import { reactToEvent } from '../../sagas/runtime/reactor.js';
import { DeadlineScheduler } from '../../sagas/runtime/scheduler.js';
import type { SagaDefinition } from '../../sagas/runtime/types.js';
import { openSagaDatabase, type SagaDatabase } from '../support/saga-database.js';
import { waitUntil } from '../support/system.js';

// The payment deadline against the real saga tables, in the interleavings a lagging saga meets: the dispatcher has
// performed (or is performing) the authorize step, the saga's consumer has not yet seen PaymentAuthorized, and the
// deadline falls due. Issue 13, item 1: a lagging saga rejected orders that were paid.

let db: Knex;
let sagaDb: SagaDatabase | undefined;
beforeAll(async () => {
  sagaDb = await openSagaDatabase('deadlines');
  db = sagaDb.db;
});
afterEach(async () => {
  await db.raw('TRUNCATE saga_instances, saga_processed_events, saga_timeline, saga_commands, saga_deadlines');
});
afterAll(async () => {
  await sagaDb?.close();
});

const PAYMENT_TIMEOUT_MS = 15_000;
const saga = orderPaymentSaga({ acceptanceTimeoutMs: 300_000, paymentTimeoutMs: PAYMENT_TIMEOUT_MS });
const definition = saga as unknown as SagaDefinition<unknown>;
const logger = createLogger('saga-deadlines-test', 'silent');
const scheduler = () => new DeadlineScheduler(db, logger).register(definition);
const dispatcher = (handlers: Record<string, CommandHandler>) =>
  new SagaCommandDispatcher(db, handlers, () => true, logger, { backoffBaseMs: 60_000 }).register(definition);

let position = 0;
function event(orderId: string, eventType: string, data: Record<string, unknown>) {
  position += 1;
  const aggregate = eventType.startsWith('Payment') ? 'payment' : 'order';
  return {
    eventId: randomUUID(),
    eventType,
    streamId: `${aggregate}-${orderId}`,
    streamVersion: position,
    globalPosition: position,
    recordedAt: new Date().toISOString(),
    correlationId: orderId,
    data: { orderId, ...data },
  } as never;
}
const money = (orderId: string) => ({ paymentId: orderId, amountMinor: 2500, currency: 'EUR' });
const orderPlaced = (orderId: string) =>
  event(orderId, 'OrderPlaced', {
    restaurantId: 'r-1',
    customerId: 'c-1',
    items: [{ menuItemId: 'm-1', name: 'Soup', quantity: 2, unitPriceMinor: 1250 }],
    totalMinor: 2500,
    currency: 'EUR',
    deliveryAddress: { line1: '1 Rua Augusta', line2: null, city: 'Lisbon', postalCode: '1100-048', country: 'PT' },
    paymentMethod: { cardLast4: '4242', cardToken: '4242424242424242' },
    placedAt: new Date().toISOString(),
  });
const paymentAuthorized = (orderId: string) =>
  event(orderId, 'PaymentAuthorized', { ...money(orderId), providerRef: `pi_${orderId}`, authorizedAt: 'now' });
const paymentDeclined = (orderId: string) =>
  event(orderId, 'PaymentDeclined', { ...money(orderId), reason: 'card_declined', declinedAt: 'now' });
const orderRejected = (orderId: string, reason: string) =>
  event(orderId, 'OrderRejected', { reason, rejectedAt: 'now' });

/** OrderPlaced as the saga saw it longer ago than the payment timeout: its deadline is due. */
async function placedLongAgo(): Promise<string> {
  const orderId = randomUUID();
  const then = new Date(Date.now() - PAYMENT_TIMEOUT_MS - 1000);
  expect(await reactToEvent(db, definition, orderPlaced(orderId), () => then)).toBe('applied');
  return orderId;
}
const react = (e: never) => reactToEvent(db, definition, e, () => new Date());

const commands = async (orderId: string) =>
  Object.fromEntries(
    (await db('saga_commands').where({ saga_id: orderId }).select('step', 'status')).map((c) => [c.step, c.status]),
  ) as Record<string, string>;
const paymentDeadline = (orderId: string) =>
  db('saga_deadlines').where({ saga_id: orderId, name: PAYMENT_DEADLINE }).first('status', 'due_at');
const stateOf = async (orderId: string) =>
  (await db('saga_instances').where({ saga_id: orderId }).first('state')).state as { order: string; payment: string };
/** A dispatcher's claim on a command (sagas/runtime/claims.ts): a lease running `ms` from now, renewed by no one. */
const leaseFor = (commandId: number, ms: number) =>
  db.raw(
    `UPDATE saga_commands SET claimed_until = clock_timestamp() + make_interval(secs => ?::double precision / 1000),
            claimed_by = 'a dispatcher' WHERE id = ?`,
    [ms, commandId],
  );
/** Fires every deadline that is due now; returns how many times the scheduler acted. */
async function fireDue(s = scheduler()): Promise<number> {
  let n = 0;
  while (await s.fireOne()) if (++n > 100) throw new Error('the scheduler keeps firing');
  return n;
}

describe('payment deadline of a lagging saga', () => {
  it('authorize done, PaymentAuthorized not yet reacted to, deadline due: the order is confirmed, not rejected', async () => {
    const orderId = await placedLongAgo();
    expect(await dispatcher({ 'payment.authorize': async () => undefined }).runDue()).toBe(1);
    expect(await commands(orderId)).toEqual({ authorize: 'done' });

    expect(await fireDue()).toBe(1);
    expect(await commands(orderId)).toEqual({ authorize: 'done' }); // no reject-order
    expect((await paymentDeadline(orderId))?.status).toBe('fired');
    expect(await stateOf(orderId)).toMatchObject({ order: 'PENDING', payment: 'AUTHORIZING' });

    // The consumer catches up.
    expect(await react(paymentAuthorized(orderId))).toBe('applied');
    expect(await commands(orderId)).toEqual({ authorize: 'done', 'confirm-order': 'pending' });
    expect(await stateOf(orderId)).toMatchObject({ payment: 'AUTHORIZED' });
  });

  it('a decline recorded before the deadline is left to its event too', async () => {
    const orderId = await placedLongAgo();
    await dispatcher({ 'payment.authorize': async () => undefined }).runDue();
    await fireDue();
    expect(await commands(orderId)).toEqual({ authorize: 'done' });
    await react(paymentDeclined(orderId));
    expect(await commands(orderId)).toEqual({ authorize: 'done', 'reject-order': 'pending' });
  });

  it('authorize in flight when the deadline falls due: the deadline waits for its outcome', async () => {
    const orderId = await placedLongAgo();
    let finish: () => void = () => undefined;
    let started = false;
    const running = dispatcher({
      'payment.authorize': () =>
        new Promise<void>((resolve) => {
          started = true;
          finish = resolve;
        }),
    }).runDue();
    try {
      await waitUntil(async () => started, 10_000, 'the authorization to start');
      const due = (await paymentDeadline(orderId))!.due_at as Date;

      expect(await fireDue()).toBe(1);
      expect(await commands(orderId)).toEqual({ authorize: 'pending' }); // no reject-order
      const deferred = (await paymentDeadline(orderId))!;
      expect(deferred.status).toBe('scheduled');
      expect((deferred.due_at as Date).getTime()).toBeGreaterThan(due.getTime());
      const entry = await db('saga_timeline').where({ saga_id: orderId, kind: 'deadline-deferred' }).first('detail');
      expect(entry?.detail).toMatchObject({ name: PAYMENT_DEADLINE, inFlight: ['authorize'] });
    } finally {
      finish();
      await running;
    }
    expect(await commands(orderId)).toEqual({ authorize: 'done' });

    // Due again (the runtime put it off briefly): now it fires, on the recorded outcome.
    await db('saga_deadlines')
      .where({ saga_id: orderId })
      .update({ due_at: new Date(Date.now() - 1) });
    expect(await fireDue()).toBe(1);
    expect((await paymentDeadline(orderId))?.status).toBe('fired');
    expect(await commands(orderId)).toEqual({ authorize: 'done' });
    await react(paymentAuthorized(orderId));
    expect(await commands(orderId)).toEqual({ authorize: 'done', 'confirm-order': 'pending' });
    const fired = await db('saga_timeline').where({ saga_id: orderId, kind: 'deadline' }).count({ n: '*' }).first();
    expect(Number(fired?.n)).toBe(1);
  });

  it('a claim whose process died puts the deadline off only until its lease runs out, then it fires on the command as it stands', async () => {
    const orderId = await placedLongAgo();
    const { id } = await db('saga_commands').where({ saga_id: orderId, step: 'authorize' }).first('id');
    // A dispatcher claimed the command, then died: nobody renews its lease.
    await leaseFor(Number(id), 400);
    expect(await fireDue()).toBe(1);
    expect(await commands(orderId)).toEqual({ authorize: 'pending' }); // put off: it may be answering right now
    expect((await paymentDeadline(orderId))?.status).toBe('scheduled');

    await waitUntil(
      async () =>
        (await db.raw('SELECT claimed_until <= clock_timestamp() AS lapsed FROM saga_commands WHERE id = ?', [id]))
          .rows[0].lapsed,
      10_000,
      'the lease to run out',
    );
    await db('saga_deadlines')
      .where({ saga_id: orderId })
      .update({ due_at: new Date(Date.now() - 1) });
    expect(await fireDue()).toBe(1);
    // Still unanswered past its deadline: rejected as before.
    expect(await commands(orderId)).toEqual({ authorize: 'pending', 'reject-order': 'pending' });
    expect((await paymentDeadline(orderId))?.status).toBe('fired');
  });

  it('authorize still pending after provider errors when the deadline passes: the order is rejected, a late authorization voided', async () => {
    const orderId = await placedLongAgo();
    const failing = dispatcher({
      'payment.authorize': async () => {
        throw new Error('provider unavailable');
      },
    });
    expect(await failing.runDue()).toBe(1);
    expect(await db('saga_commands').where({ saga_id: orderId, step: 'authorize' }).first()).toMatchObject({
      status: 'pending',
      attempts: 1,
    });

    expect(await fireDue()).toBe(1);
    expect(await commands(orderId)).toEqual({ authorize: 'pending', 'reject-order': 'pending' });
    expect((await paymentDeadline(orderId))?.status).toBe('fired');

    // The existing compensation: the order ends rejected; an authorization that still comes is voided.
    await react(orderRejected(orderId, 'payment not confirmed in time'));
    await react(paymentAuthorized(orderId));
    expect(await commands(orderId)).toMatchObject({ void: 'pending' });
  });

  it('a deadline of a saga with nothing in flight is not put off by another saga’s command', async () => {
    const busy = await placedLongAgo();
    const idle = await placedLongAgo();
    // Only the busy saga's authorize is claimed (the lease a dispatcher holds while it performs the command).
    const { id } = await db('saga_commands').where({ saga_id: busy, step: 'authorize' }).first('id');
    await leaseFor(Number(id), 60_000);
    await fireDue();
    expect((await paymentDeadline(idle))?.status).toBe('fired');
    expect(await commands(idle)).toEqual({ authorize: 'pending', 'reject-order': 'pending' });
    expect((await paymentDeadline(busy))?.status).toBe('scheduled');
  });
});
