import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import {
  ACCEPTANCE_DEADLINE,
  type OrderPaymentState,
  orderPaymentSaga,
  PAYMENT_DEADLINE,
} from '../../../sagas/ordering/order-payment.js';
import type { Reaction, SagaCommand } from '../../../sagas/runtime/types.js';

const saga = orderPaymentSaga({ acceptanceTimeoutMs: 300_000, paymentTimeoutMs: 120_000 });
const now = new Date('2026-11-25T12:00:00.000Z');
const ORDER = 'o-1';

let version = 0;
const event = (eventType: string, data: Record<string, unknown> = {}): ProjectedEvent => ({
  eventId: `e-${++version}`,
  eventType,
  streamId: `x-${ORDER}`,
  streamVersion: version,
  globalPosition: version,
  recordedAt: now.toISOString(),
  correlationId: ORDER,
  data: { orderId: ORDER, ...data },
});

const placed = () =>
  event('OrderPlaced', {
    customerId: 'c-1',
    restaurantId: 'r-1',
    totalMinor: 2500,
    currency: 'EUR',
    paymentMethod: { cardLast4: '4242', cardToken: '4242424242424242' },
  });
const authorized = () =>
  event('PaymentAuthorized', { paymentId: ORDER, providerRef: 'pi_1', amountMinor: 2500, currency: 'EUR' });

interface Run {
  state: OrderPaymentState;
  commands: SagaCommand[];
  reactions: Reaction<OrderPaymentState>[];
}

function run(events: ProjectedEvent[]): Run {
  let state = saga.initialState(ORDER);
  const commands: SagaCommand[] = [];
  const reactions: Reaction<OrderPaymentState>[] = [];
  for (const e of events) {
    const reaction = saga.react(state, e, now);
    if (!reaction) continue;
    reactions.push(reaction);
    state = reaction.state;
    commands.push(...(reaction.commands ?? []));
  }
  return { state, commands, reactions };
}

const steps = (r: Run) => r.commands.map((c) => c.step);

describe('order/payment saga', () => {
  it('authorizes on OrderPlaced with the order total and card, and arms the payment deadline', () => {
    const r = run([placed()]);
    expect(r.commands).toEqual([
      {
        step: 'authorize',
        kind: 'payment.authorize',
        payload: {
          paymentId: ORDER,
          orderId: ORDER,
          amountMinor: 2500,
          currency: 'EUR',
          cardToken: '4242424242424242',
        },
      },
    ]);
    expect(r.reactions[0]!.schedule).toEqual([{ name: PAYMENT_DEADLINE, dueAt: new Date(now.getTime() + 120_000) }]);
    expect(saga.status(r.state)).toBe('AWAITING_PAYMENT');
  });

  it('confirms the order once authorized and gives the restaurant its acceptance deadline', () => {
    const r = run([placed(), authorized()]);
    expect(steps(r)).toEqual(['authorize', 'confirm-order']);
    expect(r.reactions[1]!.schedule).toEqual([{ name: ACCEPTANCE_DEADLINE, dueAt: new Date(now.getTime() + 300_000) }]);
    expect(r.reactions[1]!.cancel).toContain(PAYMENT_DEADLINE);
  });

  it('rejects the order when the card is declined, and captures nothing', () => {
    const r = run([placed(), event('PaymentDeclined', { reason: 'card_declined' })]);
    expect(steps(r)).toEqual(['authorize', 'reject-order']);
    expect(r.commands[1]!.payload.reason).toMatch(/declined/);
  });

  it('cancels an order the restaurant did not accept in time, then voids the authorization', () => {
    const confirmed = run([placed(), authorized(), event('OrderConfirmed', { paymentId: ORDER })]);
    const onDeadline = saga.onDeadline(confirmed.state, ACCEPTANCE_DEADLINE, now)!;
    expect(onDeadline.commands?.map((c) => c.step)).toEqual(['cancel-order']);
    const after = saga.react(onDeadline.state, event('OrderCancelled', { reason: 'timeout' }), now)!;
    expect(after.commands?.map((c) => c.step)).toEqual(['void']);
  });

  it('ignores the acceptance deadline once the restaurant accepted', () => {
    const r = run([placed(), authorized(), event('OrderConfirmed'), event('OrderAccepted')]);
    expect(saga.onDeadline(r.state, ACCEPTANCE_DEADLINE, now)).toBeNull();
    expect(r.reactions.at(-1)!.cancel).toContain(ACCEPTANCE_DEADLINE);
  });

  it('captures exactly once, on delivery', () => {
    const r = run([
      placed(),
      authorized(),
      event('OrderConfirmed'),
      event('OrderAccepted'),
      event('OrderPreparationStarted'),
      event('OrderReadyForPickup'),
      event('OrderPickedUp'),
      event('OrderDelivered'),
      event('PaymentCaptured'),
    ]);
    expect(steps(r).filter((s) => s === 'capture')).toHaveLength(1);
    expect(saga.status(r.state)).toBe('COMPLETED');
  });

  it('refunds when a delivered, captured order is cancelled', () => {
    const r = run([
      placed(),
      authorized(),
      event('OrderConfirmed'),
      event('OrderAccepted'),
      event('OrderDelivered'),
      event('PaymentCaptured'),
      event('OrderCancelled', { reason: 'refund policy' }),
      event('PaymentRefunded'),
    ]);
    expect(steps(r)).toContain('refund');
    expect(saga.status(r.state)).toBe('REFUNDED');
  });

  it('voids an authorization that arrives after the order was cancelled', () => {
    const r = run([placed(), event('OrderCancelled', { reason: 'changed my mind' }), authorized()]);
    expect(steps(r)).toEqual(['authorize', 'void']);
  });

  it('rejects the order when authorization keeps failing, and needs attention when a void fails', () => {
    const r = run([placed()]);
    const failed = saga.onCommandFailed(
      r.state,
      { step: 'authorize', kind: 'payment.authorize', error: 'api_error', attempts: 5 },
      now,
    )!;
    expect(failed.commands?.map((c) => c.step)).toEqual(['reject-order']);
    const voidFailed = saga.onCommandFailed(
      run([placed(), authorized()]).state,
      { step: 'void', kind: 'payment.void', error: 'x', attempts: 5 },
      now,
    )!;
    expect(saga.status(voidFailed.state)).toBe('NEEDS_ATTENTION');
  });

  const lifecycle = [
    'OrderConfirmed',
    'OrderAccepted',
    'OrderPreparationStarted',
    'OrderReadyForPickup',
    'OrderPickedUp',
    'OrderDelivered',
  ];
  const disruptions = ['OrderCancelled', 'OrderRejected', 'PaymentDeclined', 'PaymentAuthorized', 'PaymentCaptured'];

  it('property: never captures an undelivered order, and money held for an order that ended is released', () => {
    fc.assert(
      fc.property(
        // Each fact happens at most once (the aggregates guarantee it), in any order the topics deliver.
        fc.shuffledSubarray([...lifecycle, ...disruptions]),
        fc.boolean(),
        (sequence, authorizedFirst) => {
          const events = [
            placed(),
            ...(authorizedFirst ? [authorized()] : []),
            ...sequence.map((t) => (t === 'PaymentAuthorized' ? authorized() : event(t, { reason: 'r' }))),
          ];
          const r = run(events);
          const captureAt = r.commands.findIndex((c) => c.step === 'capture');
          if (captureAt >= 0) expect(sequence).toContain('OrderDelivered');
          const ended = r.state.order === 'CANCELLED' || r.state.order === 'REJECTED';
          if (ended && r.state.payment === 'AUTHORIZED') expect(steps(r)).toContain('void');
          if (ended && r.state.payment === 'CAPTURED') expect(steps(r)).toContain('refund');
          // Steps are idempotency keys: a step is asked for at most once per saga.
          expect(new Set(steps(r)).size).toBe(steps(r).length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
