import type { PaymentEvent } from '../../schemas/ordering/events.js';
import { type DecideContext, type Decider, DomainError, type Existing, type NoStream, noStream } from '../decider.js';

// The events are the contract's (generated from schemas/ordering/*.avsc); the commands and the state are ours.
export type { PaymentEvent };

// The Payment aggregate records what the provider said; the order/payment saga drives it.
export type PaymentStatus = 'AUTHORIZED' | 'DECLINED' | 'CAPTURED' | 'VOIDED' | 'REFUNDED';

type Amount = {
  amountMinor: number;
  currency: string;
};

export type PaymentCommand =
  | { type: 'RecordPaymentAuthorized'; data: { paymentId: string; orderId: string; providerRef: string } & Amount }
  | { type: 'RecordPaymentDeclined'; data: { paymentId: string; orderId: string; reason: string } & Amount }
  | { type: 'RecordPaymentCaptured'; data: { paymentId: string } }
  | { type: 'RecordPaymentVoided'; data: { paymentId: string; reason: string } }
  | { type: 'RecordPaymentRefunded'; data: { paymentId: string; reason: string } };

export type Payment =
  | NoStream
  | ({ readonly status: PaymentStatus; readonly paymentId: string; readonly orderId: string } & Readonly<Amount>);

export const initialPayment: () => Payment = noStream;

/**
 * What each state has already been through. Provider notifications arrive late and twice (the synchronous answer
 * and the webhook); recording a step the payment has already passed appends nothing instead of failing.
 */
const PASSED: Record<PaymentStatus, readonly PaymentStatus[]> = {
  AUTHORIZED: ['AUTHORIZED'],
  DECLINED: ['DECLINED'],
  CAPTURED: ['AUTHORIZED', 'CAPTURED'],
  VOIDED: ['AUTHORIZED', 'VOIDED'],
  REFUNDED: ['AUTHORIZED', 'CAPTURED', 'REFUNDED'],
};

const transition = (
  state: Payment,
  paymentId: string,
  from: PaymentStatus,
  to: PaymentStatus,
): Existing<Payment> | null => {
  if (state.status === 'none')
    throw new DomainError('not_found', 'PAYMENT_NOT_FOUND', `payment ${paymentId} does not exist`);
  if (PASSED[state.status].includes(to)) return null; // recording a step already taken appends nothing
  if (state.status !== from) {
    throw new DomainError(
      'conflict',
      'PAYMENT_INVALID_TRANSITION',
      `payment ${paymentId} is ${state.status}; cannot become ${to}`,
      {
        paymentId,
        status: state.status,
        requested: to,
      },
    );
  }
  return state;
};

export function decidePayment(command: PaymentCommand, state: Payment, { now }: DecideContext): PaymentEvent[] {
  const at = now.toISOString();
  const { paymentId } = command.data;
  switch (command.type) {
    case 'RecordPaymentAuthorized':
    case 'RecordPaymentDeclined': {
      const authorized = command.type === 'RecordPaymentAuthorized';
      if (state.status !== 'none') {
        if (PASSED[state.status].includes(authorized ? 'AUTHORIZED' : 'DECLINED')) return [];
        throw new DomainError(
          'conflict',
          'PAYMENT_EXISTS',
          `payment ${paymentId} already has an outcome (${state.status})`,
        );
      }
      if (!Number.isInteger(command.data.amountMinor) || command.data.amountMinor <= 0) {
        throw new DomainError('invalid', 'INVALID_AMOUNT', 'amount must be a positive integer of minor units');
      }
      return command.type === 'RecordPaymentAuthorized'
        ? [{ type: 'PaymentAuthorized', data: { ...command.data, authorizedAt: at } }]
        : [{ type: 'PaymentDeclined', data: { ...command.data, declinedAt: at } }];
    }
    case 'RecordPaymentCaptured': {
      const p = transition(state, paymentId, 'AUTHORIZED', 'CAPTURED');
      return p
        ? [
            {
              type: 'PaymentCaptured',
              data: { paymentId, orderId: p.orderId, amountMinor: p.amountMinor, currency: p.currency, capturedAt: at },
            },
          ]
        : [];
    }
    case 'RecordPaymentVoided': {
      const p = transition(state, paymentId, 'AUTHORIZED', 'VOIDED');
      return p
        ? [
            {
              type: 'PaymentVoided',
              data: { paymentId, orderId: p.orderId, reason: command.data.reason, voidedAt: at },
            },
          ]
        : [];
    }
    case 'RecordPaymentRefunded': {
      const p = transition(state, paymentId, 'CAPTURED', 'REFUNDED');
      return p
        ? [
            {
              type: 'PaymentRefunded',
              data: {
                paymentId,
                orderId: p.orderId,
                amountMinor: p.amountMinor,
                currency: p.currency,
                reason: command.data.reason,
                refundedAt: at,
              },
            },
          ]
        : [];
    }
  }
}

export function evolvePayment(state: Payment, event: PaymentEvent): Payment {
  switch (event.type) {
    case 'PaymentAuthorized':
    case 'PaymentDeclined': {
      const { paymentId, orderId, amountMinor, currency } = event.data;
      return {
        status: event.type === 'PaymentAuthorized' ? 'AUTHORIZED' : 'DECLINED',
        paymentId,
        orderId,
        amountMinor,
        currency,
      };
    }
    case 'PaymentCaptured':
      return state.status === 'none' ? state : { ...state, status: 'CAPTURED' };
    case 'PaymentVoided':
      return state.status === 'none' ? state : { ...state, status: 'VOIDED' };
    case 'PaymentRefunded':
      return state.status === 'none' ? state : { ...state, status: 'REFUNDED' };
  }
}

export const paymentDecider: Decider<PaymentCommand, PaymentEvent, Payment, DecideContext> = {
  decide: decidePayment,
  evolve: evolvePayment,
  initialState: initialPayment,
};
