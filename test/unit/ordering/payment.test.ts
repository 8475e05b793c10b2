import { describe, it } from 'vitest';
import {
  type PaymentCommand,
  type PaymentEvent,
  type PaymentStatus,
  paymentDecider,
} from '../../../commands/ordering/payment.js';
import { given } from '../../support/decider.js';
import { AT, EARLIER, NOW } from './fixtures.js';

const PAYMENT_ID = 'p-1';
const ORDER_ID = 'o-1';

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
    given(paymentDecider)
      .when(recordAuthorized(), { now: NOW })
      .thenDecides([
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
      ])
      .thenState({
        status: 'AUTHORIZED',
        paymentId: PAYMENT_ID,
        orderId: ORDER_ID,
        amountMinor: 2550,
        currency: 'EUR',
      });
  });

  it('records a decline with its reason', () => {
    given(paymentDecider)
      .when(recordDeclined(), { now: NOW })
      .thenDecides([
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
      ])
      .thenStateMatches({ status: 'DECLINED' });
  });

  it('appends nothing when the same authorization is recorded twice', () => {
    given(paymentDecider, history.AUTHORIZED).when(recordAuthorized(), { now: NOW }).thenNothing();
  });

  it('appends nothing when the same decline is recorded twice', () => {
    given(paymentDecider, history.DECLINED).when(recordDeclined(), { now: NOW }).thenNothing();
  });

  it('refuses a decline after an authorization with PAYMENT_EXISTS', () => {
    given(paymentDecider, history.AUTHORIZED)
      .when(recordDeclined(), { now: NOW })
      .thenRefuses('conflict', 'PAYMENT_EXISTS');
  });

  it('refuses an authorization after a decline with PAYMENT_EXISTS', () => {
    given(paymentDecider, history.DECLINED)
      .when(recordAuthorized(), { now: NOW })
      .thenRefuses('conflict', 'PAYMENT_EXISTS');
  });

  it.each([0, -100, 12.5])('refuses an authorization of %s minor units with INVALID_AMOUNT', (amountMinor) => {
    given(paymentDecider).when(recordAuthorized(amountMinor), { now: NOW }).thenRefuses('invalid', 'INVALID_AMOUNT');
  });

  it('refuses a decline of 0 minor units with INVALID_AMOUNT', () => {
    given(paymentDecider).when(recordDeclined(0), { now: NOW }).thenRefuses('invalid', 'INVALID_AMOUNT');
  });
});

describe('Payment decider — capture, void, refund', () => {
  it('captures an authorized payment for the authorized amount', () => {
    given(paymentDecider, history.AUTHORIZED)
      .when(recordCaptured, { now: NOW })
      .thenDecides([
        {
          type: 'PaymentCaptured',
          data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, amountMinor: 2550, currency: 'EUR', capturedAt: AT },
        },
      ])
      .thenStateMatches({ status: 'CAPTURED' });
  });

  it('voids an authorized payment', () => {
    given(paymentDecider, history.AUTHORIZED)
      .when(recordVoided, { now: NOW })
      .thenDecides([
        {
          type: 'PaymentVoided',
          data: { paymentId: PAYMENT_ID, orderId: ORDER_ID, reason: 'order cancelled', voidedAt: AT },
        },
      ])
      .thenStateMatches({ status: 'VOIDED' });
  });

  it('refunds a captured payment for the captured amount', () => {
    given(paymentDecider, history.CAPTURED)
      .when(recordRefunded, { now: NOW })
      .thenDecides([
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
      ])
      .thenStateMatches({ status: 'REFUNDED' });
  });

  it.each<[string, PaymentCommand, PaymentStatus]>([
    ['capture', recordCaptured, 'CAPTURED'],
    ['void', recordVoided, 'VOIDED'],
    ['refund', recordRefunded, 'REFUNDED'],
  ])('appends nothing when the same %s is recorded twice', (_verb, command, status) => {
    given(paymentDecider, history[status]).when(command, { now: NOW }).thenNothing();
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
    given(paymentDecider, history[status])
      .when(command, { now: NOW })
      .thenRefuses('conflict', 'PAYMENT_INVALID_TRANSITION')
      .withDetailsMatching({ paymentId: PAYMENT_ID, status });
  });

  it('treats a late capture notice of a refunded payment as already recorded (appends nothing)', () => {
    given(paymentDecider, history.REFUNDED).when(recordCaptured, { now: NOW }).thenNothing();
  });

  it('treats a late authorization notice of a captured, voided or refunded payment as already recorded', () => {
    for (const status of ['CAPTURED', 'VOIDED', 'REFUNDED'] as const) {
      given(paymentDecider, history[status]).when(recordAuthorized(), { now: NOW }).thenNothing();
    }
  });

  it.each<[PaymentCommand]>([[recordCaptured], [recordVoided], [recordRefunded]])(
    'refuses $type on a payment with no recorded outcome with PAYMENT_NOT_FOUND',
    (command) => {
      given(paymentDecider).when(command, { now: NOW }).thenRefuses('not_found', 'PAYMENT_NOT_FOUND');
    },
  );
});

describe('Payment evolve', () => {
  it.each(Object.entries(history))('folds the history of a %s payment into that status', (status, events) => {
    given(paymentDecider, events).thenStateMatches({ status: status as PaymentStatus });
  });

  it('ignores capture, void and refund events for a payment with no outcome', () => {
    given(paymentDecider, [captured, voided, refunded]).thenState({ status: 'none' });
  });
});
