import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope, ProjectedEvent } from '../../../runtime/consumer/types.js';
import {
  ACCEPTANCE_DEADLINE,
  type OrderPaymentEvent,
  type OrderPaymentState,
  orderPaymentSaga,
  PAYMENT_DEADLINE,
} from '../../../sagas/ordering/order-payment.js';
import type { Reaction, SagaCommand, SagaCommandRecord } from '../../../sagas/runtime/types.js';
import type { OrderingEventMap } from '../../../schemas/ordering/events.js';

const saga = orderPaymentSaga({ acceptanceTimeoutMs: 300_000, paymentTimeoutMs: 120_000 });
const now = new Date('2026-11-25T12:00:00.000Z');
const at = now.toISOString();
const ORDER = 'o-1';

type SagaEvent = ProjectedEvent<OrderPaymentEvent>;
type SagaEventType = SagaEvent['eventType'];
type SagaData = { [K in SagaEventType]: OrderingEventMap[K] };
/** The saga's events of the types K, as the contract types them (a union when K is one). */
type SagaEventOf<K extends SagaEventType> = {
  [T in K]: EventEnvelope & { readonly eventType: T; readonly data: SagaData[T] };
}[K];

/** What each event of order ORDER carries (every field of the contract), unless a test says otherwise. */
const SAMPLE: SagaData = {
  OrderPlaced: {
    orderId: ORDER,
    restaurantId: 'r-1',
    customerId: 'c-1',
    items: [{ menuItemId: 'm-1', name: 'Soup', quantity: 2, unitPriceMinor: 1250 }],
    totalMinor: 2500,
    currency: 'EUR',
    deliveryAddress: { line1: '1 Rua Augusta', line2: null, city: 'Lisbon', postalCode: '1100-048', country: 'PT' },
    paymentMethod: { cardLast4: '4242', cardToken: '4242424242424242' },
    placedAt: at,
  },
  OrderConfirmed: { orderId: ORDER, paymentId: ORDER, confirmedAt: at },
  OrderRejected: { orderId: ORDER, reason: 'r', rejectedAt: at },
  OrderAccepted: { orderId: ORDER, acceptedAt: at },
  OrderPreparationStarted: { orderId: ORDER, startedAt: at },
  OrderReadyForPickup: { orderId: ORDER, readyAt: at },
  OrderPickedUp: { orderId: ORDER, courierId: null, pickedUpAt: at },
  OrderDelivered: { orderId: ORDER, deliveredAt: at },
  OrderCancelled: { orderId: ORDER, reason: 'r', cancelledBy: 'c-1', previousStatus: 'CONFIRMED', cancelledAt: at },
  PaymentAuthorized: {
    paymentId: ORDER,
    orderId: ORDER,
    amountMinor: 2500,
    currency: 'EUR',
    providerRef: 'pi_1',
    authorizedAt: at,
  },
  PaymentDeclined: {
    paymentId: ORDER,
    orderId: ORDER,
    amountMinor: 2500,
    currency: 'EUR',
    reason: 'r',
    declinedAt: at,
  },
  PaymentCaptured: { paymentId: ORDER, orderId: ORDER, amountMinor: 2500, currency: 'EUR', capturedAt: at },
  PaymentVoided: { paymentId: ORDER, orderId: ORDER, reason: 'r', voidedAt: at },
  PaymentRefunded: {
    paymentId: ORDER,
    orderId: ORDER,
    amountMinor: 2500,
    currency: 'EUR',
    reason: 'r',
    refundedAt: at,
  },
};

let version = 0;
const event = <K extends SagaEventType>(eventType: K, data: Partial<SagaData[K]> = {}): SagaEventOf<K> => ({
  eventId: `e-${++version}`,
  eventType,
  streamId: `x-${ORDER}`,
  streamVersion: version,
  globalPosition: version,
  recordedAt: at,
  correlationId: ORDER,
  data: { ...SAMPLE[eventType], ...data },
});

const placed = () => event('OrderPlaced');
const authorized = () => event('PaymentAuthorized');

interface Run {
  state: OrderPaymentState;
  commands: SagaCommand[];
  reactions: Reaction<OrderPaymentState>[];
}

function run(events: readonly SagaEvent[]): Run {
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

/** The saga's record of its commands as the runtime hands it to onDeadline: every step issued, done. */
const DONE: SagaCommandRecord = { authorize: 'done', 'confirm-order': 'done' };

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
    const onDeadline = saga.onDeadline(confirmed.state, ACCEPTANCE_DEADLINE, now, DONE)!;
    expect(onDeadline.commands?.map((c) => c.step)).toEqual(['cancel-order']);
    const after = saga.react(onDeadline.state, event('OrderCancelled', { reason: 'timeout' }), now)!;
    expect(after.commands?.map((c) => c.step)).toEqual(['void']);
  });

  it('ignores the acceptance deadline once the restaurant accepted', () => {
    const r = run([placed(), authorized(), event('OrderConfirmed'), event('OrderAccepted')]);
    expect(saga.onDeadline(r.state, ACCEPTANCE_DEADLINE, now, DONE)).toBeNull();
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

  describe('failures an operator may retry (`ledger sagas retry`)', () => {
    const fail = (state: OrderPaymentState, step: string, error = 'api_error') =>
      saga.onCommandFailed(state, { step, kind: `payment.${step}`, error, attempts: 5 }, now)!;
    const delivered = () => run([placed(), authorized(), event('OrderAccepted'), event('OrderDelivered')]);

    it('authorize: compensated (the order is rejected), so not retryable', () => {
      const failed = fail(run([placed()]).state, 'authorize');
      expect(failed.retryable).not.toBe(true);
      expect(failed.commands?.map((c) => c.step)).toEqual(['reject-order']);
    });

    it('capture, void, refund and order steps: not compensated, so retryable', () => {
      for (const step of ['capture', 'void', 'refund', 'confirm-order', 'reject-order', 'cancel-order']) {
        const failed = fail(delivered().state, step);
        expect(failed.retryable, step).toBe(true);
        expect(failed.commands ?? [], step).toEqual([]);
      }
    });

    it('a failed capture retried and done: PaymentCaptured clears its issue, the saga completes', () => {
      const failed = fail(delivered().state, 'capture');
      expect(saga.status(failed.state)).toBe('NEEDS_ATTENTION');
      const again = fail(failed.state, 'capture', 'still down');
      expect(again.state.issues).toEqual(['capture failed: still down']); // one issue per step, the latest
      const captured = saga.react(again.state, event('PaymentCaptured'), now)!;
      expect(captured.state.issues).toEqual([]);
      expect(saga.status(captured.state)).toBe('COMPLETED');
    });

    it("a step's payment event clears only that step's issue", () => {
      const cancelled = run([placed(), authorized(), event('OrderCancelled')]);
      const voidFailed = fail(cancelled.state, 'void');
      const withOther = { ...voidFailed.state, issues: [...voidFailed.state.issues, 'refund failed: x'] };
      const voided = saga.react(withOther, event('PaymentVoided'), now)!;
      expect(voided.state.issues).toEqual(['refund failed: x']);
    });
  });

  const lifecycle: SagaEventType[] = [
    'OrderConfirmed',
    'OrderAccepted',
    'OrderPreparationStarted',
    'OrderReadyForPickup',
    'OrderPickedUp',
    'OrderDelivered',
  ];
  const disruptions: SagaEventType[] = [
    'OrderCancelled',
    'OrderRejected',
    'PaymentDeclined',
    'PaymentAuthorized',
    'PaymentCaptured',
  ];

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
            ...sequence.map((t) => (t === 'PaymentAuthorized' ? authorized() : event(t))),
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

  describe('payment deadline: decided on what the saga did, not on the events it has seen', () => {
    const paymentDeadline = (state: OrderPaymentState, commands: SagaCommandRecord) =>
      saga.onDeadline(state, PAYMENT_DEADLINE, now, commands);

    it('authorize done but PaymentAuthorized not yet seen (a lagging consumer): no rejection, the event confirms', () => {
      const placedOnly = run([placed()]);
      const fired = paymentDeadline(placedOnly.state, { authorize: 'done' })!;
      expect(fired.commands ?? []).toEqual([]);
      expect(fired.state).toEqual(placedOnly.state);
      expect(fired.note).toMatch(/answered/);
      const later = saga.react(fired.state, authorized(), now)!;
      expect(later.commands?.map((c) => c.step)).toEqual(['confirm-order']);
    });

    it('authorize done with a decline not yet seen: the PaymentDeclined event rejects, not the clock', () => {
      const fired = paymentDeadline(run([placed()]).state, { authorize: 'done' })!;
      expect(fired.commands ?? []).toEqual([]);
      const later = saga.react(fired.state, event('PaymentDeclined', { reason: 'card_declined' }), now)!;
      expect(later.commands?.map((c) => c.payload.reason)).toEqual(['payment declined: card_declined']);
    });

    it('authorize still pending (not performed, or retrying): the order is rejected; a late authorization is voided', () => {
      const placedOnly = run([placed()]);
      for (const commands of [{ authorize: 'pending' }, {}] as const) {
        const fired = paymentDeadline(placedOnly.state, commands)!;
        expect(fired.commands?.map((c) => c.step)).toEqual(['reject-order']);
        expect(fired.commands?.[0]?.payload.reason).toMatch(/not confirmed in time/);
      }
      const r = run([placed(), event('OrderRejected', { reason: 'payment not confirmed in time' }), authorized()]);
      expect(steps(r)).toEqual(['authorize', 'void']);
    });

    it('authorize failed: onCommandFailed rejected already, the deadline adds nothing', () => {
      const failed = saga.onCommandFailed(
        run([placed()]).state,
        { step: 'authorize', kind: 'payment.authorize', error: 'api_error', attempts: 5 },
        now,
      )!;
      expect(paymentDeadline(failed.state, { authorize: 'failed', 'reject-order': 'done' })).toBeNull();
    });

    it('property: with authorize done, the payment deadline never compensates, whatever the saga has seen', () => {
      const kinds: SagaEventType[] = [...lifecycle, ...disruptions];
      fc.assert(
        fc.property(fc.shuffledSubarray(kinds), (sequence) => {
          const r = run([placed(), ...sequence.map((t) => (t === 'PaymentAuthorized' ? authorized() : event(t)))]);
          const fired = paymentDeadline(r.state, { authorize: 'done', 'confirm-order': 'done' });
          expect(fired?.commands ?? []).toEqual([]);
        }),
        { numRuns: 200 },
      );
    });
  });
});
