import { describe, expect, it } from 'vitest';
import {
  decidePayment,
  evolvePayment,
  initialPayment,
  type Payment,
  type PaymentCommand,
  type PaymentEvent,
  type PaymentStatus,
} from '../../../commands/ordering/payment.js';
import { AT, EARLIER, fold, NOW, refusal } from './fixtures.js';

const PAYMENT_ID = 'p-1';
const ORDER_ID = 'o-1';

const given = (events: readonly PaymentEvent[]): Payment => fold(initialPayment, evolvePayment, events);
const when = (command: PaymentCommand, events: readonly PaymentEvent[]): PaymentEvent[] =>
  decidePayment(command, given(events), NOW);

const recordAuthorized = (amountMinor = 2550): PaymentCommand => ({
  type: 'RecordPaymentAuthorized',
  data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, providerRef: 'pi_123', amountMinor, currency: 'EUR' },
});
const recordDeclined = (amountMinor = 2550): PaymentCommand => ({
  type: 'RecordPaymentDeclined',
  data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, reason: 'insufficient funds', amountMinor, currency: 'EUR' },
});
const recordCaptured: PaymentCommand = { type: 'RecordPaymentCaptured', data: { paymentId: PAYMENT_ID } };
const recordVoided: PaymentCommand = {
  type: 'RecordPaymentVoided',
  data: { paymentId: PAYMENT_ID, reason: 'order cancelled' },
};
const recordRefunded: PaymentCommand = {
  type: 'RecordPaymentRefunded',
  data: { paymentId: PAYMENT_ID, reason: 'order cancelled after capture' },
};

const authorized: PaymentEvent = {
  type: 'PaymentAuthorized',
  data: {
    paymentId: PAYMENT_ID,
    orderId: ORDER_ID,
    providerRef: 'pi_123',
    amountMinor: 2550,
    currency: 'EUR',
    authorizedAt: EARLIER,
  },
};
const declined: PaymentEvent = {
  type: 'PaymentDeclined',
  data: {
    paymentId: PAYMENT_ID,
    orderId: ORDER_ID,
    reason: 'insufficient funds',
    amountMinor: 2550,
    currency: 'EUR',
    declinedAt: EARLIER,
  },
};
const captured: PaymentEvent = {
  type: 'PaymentCaptured',
  data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, amountMinor: 2550, currency: 'EUR', capturedAt: EARLIER },
};
const voided: PaymentEvent = {
  type: 'PaymentVoided',
  data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, reason: 'order cancelled', voidedAt: EARLIER },
};
const refunded: PaymentEvent = {
  type: 'PaymentRefunded',
  data: {
    paymentId: PAYMENT_ID,
    orderId: ORDER_ID,
    reason: 'x',
    amountMinor: 2550,
    currency: 'EUR',
    refundedAt: EARLIER,
  },
};

const history: Record<PaymentStatus, readonly PaymentEvent[]> = {
  AUTHORIZED: [authorized],
  DECLINED: [declined],
  CAPTURED: [authorized, captured],
  VOIDED: [authorized, voided],
  REFUNDED: [authorized, captured, refunded],
};

describe('Payment decider — provider outcome', () => {
  it('records an authorization with its amount and provider reference', () => {
    const decided = when(recordAuthorized(), []);

    expect(decided).toEqual([
      {
        type: 'PaymentAuthorized',
        data: {
          paymentId: PAYMENT_ID,
          orderId: ORDER_ID,
          providerRef: 'pi_123',
          amountMinor: 2550,
          currency: 'EUR',
          authorizedAt: AT,
        },
      },
    ]);
    expect(given(decided)).toEqual({
      status: 'AUTHORIZED',
      paymentId: PAYMENT_ID,
      orderId: ORDER_ID,
      amountMinor: 2550,
      currency: 'EUR',
    });
  });

  it('records a decline with its reason', () => {
    const decided = when(recordDeclined(), []);

    expect(decided).toEqual([
      {
        type: 'PaymentDeclined',
        data: {
          paymentId: PAYMENT_ID,
          orderId: ORDER_ID,
          reason: 'insufficient funds',
          amountMinor: 2550,
          currency: 'EUR',
          declinedAt: AT,
        },
      },
    ]);
    expect(given(decided).status).toBe('DECLINED');
  });

  it('appends nothing when the same authorization is recorded twice', () => {
    expect(when(recordAuthorized(), history.AUTHORIZED)).toEqual([]);
  });

  it('appends nothing when the same decline is recorded twice', () => {
    expect(when(recordDeclined(), history.DECLINED)).toEqual([]);
  });

  it('refuses a decline after an authorization with PAYMENT_EXISTS', () => {
    expect(refusal(() => when(recordDeclined(), history.AUTHORIZED)).code).toBe('PAYMENT_EXISTS');
  });

  it('refuses an authorization after a decline with PAYMENT_EXISTS', () => {
    expect(refusal(() => when(recordAuthorized(), history.DECLINED)).code).toBe('PAYMENT_EXISTS');
  });

  it.each([0, -100, 12.5])('refuses an authorization of %s minor units with INVALID_AMOUNT', (amountMinor) => {
    expect(refusal(() => when(recordAuthorized(amountMinor), [])).code).toBe('INVALID_AMOUNT');
  });

  it('refuses a decline of 0 minor units with INVALID_AMOUNT', () => {
    expect(refusal(() => when(recordDeclined(0), [])).code).toBe('INVALID_AMOUNT');
  });
});

describe('Payment decider — capture, void, refund', () => {
  it('captures an authorized payment for the authorized amount', () => {
    const decided = when(recordCaptured, history.AUTHORIZED);

    expect(decided).toEqual([
      {
        type: 'PaymentCaptured',
        data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, amountMinor: 2550, currency: 'EUR', capturedAt: AT },
      },
    ]);
    expect(given([...history.AUTHORIZED, ...decided]).status).toBe('CAPTURED');
  });

  it('voids an authorized payment', () => {
    const decided = when(recordVoided, history.AUTHORIZED);

    expect(decided).toEqual([
      {
        type: 'PaymentVoided',
        data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, reason: 'order cancelled', voidedAt: AT },
      },
    ]);
    expect(given([...history.AUTHORIZED, ...decided]).status).toBe('VOIDED');
  });

  it('refunds a captured payment for the captured amount', () => {
    const decided = when(recordRefunded, history.CAPTURED);

    expect(decided).toEqual([
      {
        type: 'PaymentRefunded',
        data: {
          paymentId: PAYMENT_ID,
          orderId: ORDER_ID,
          amountMinor: 2550,
          currency: 'EUR',
          reason: 'order cancelled after capture',
          refundedAt: AT,
        },
      },
    ]);
    expect(given([...history.CAPTURED, ...decided]).status).toBe('REFUNDED');
  });

  it.each<[string, PaymentCommand, PaymentStatus]>([
    ['capture', recordCaptured, 'CAPTURED'],
    ['void', recordVoided, 'VOIDED'],
    ['refund', recordRefunded, 'REFUNDED'],
  ])('appends nothing when the same %s is recorded twice', (_verb, command, status) => {
    expect(when(command, history[status])).toEqual([]);
  });

  it.each<[string, PaymentCommand, PaymentStatus]>([
    ['a capture of a declined payment', recordCaptured, 'DECLINED'],
    ['a capture of a voided payment', recordCaptured, 'VOIDED'],
    ['a void of a captured payment', recordVoided, 'CAPTURED'],
    ['a void of a declined payment', recordVoided, 'DECLINED'],
    ['a refund of an authorized, uncaptured payment', recordRefunded, 'AUTHORIZED'],
    ['a refund of a declined payment', recordRefunded, 'DECLINED'],
    ['a refund of a voided payment', recordRefunded, 'VOIDED'],
  ])('refuses %s with PAYMENT_INVALID_TRANSITION', (_case, command, status) => {
    const error = refusal(() => when(command, history[status]));

    expect(error.code).toBe('PAYMENT_INVALID_TRANSITION');
    expect(error.details).toMatchObject({ paymentId: PAYMENT_ID, status });
  });

  it('treats a late capture notice of a refunded payment as already recorded (appends nothing)', () => {
    expect(when(recordCaptured, history.REFUNDED)).toEqual([]);
  });

  it('treats a late authorization notice of a captured, voided or refunded payment as already recorded', () => {
    for (const status of ['CAPTURED', 'VOIDED', 'REFUNDED'] as const) {
      expect(when(recordAuthorized(), history[status]), status).toEqual([]);
    }
  });

  it.each<[PaymentCommand]>([[recordCaptured], [recordVoided], [recordRefunded]])(
    'refuses $type on a payment with no recorded outcome with PAYMENT_NOT_FOUND',
    (command) => {
      expect(refusal(() => when(command, [])).code).toBe('PAYMENT_NOT_FOUND');
    },
  );
});

describe('Payment evolve', () => {
  it.each(Object.entries(history))('folds the history of a %s payment into that status', (status, events) => {
    expect(given(events).status).toBe(status);
  });

  it('ignores capture, void and refund events for a payment with no outcome', () => {
    expect(given([captured, voided, refunded])).toEqual({ status: 'NONE' });
  });
});
