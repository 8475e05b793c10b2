import type { OrderEvent, PaymentEvent } from '../../schemas/ordering/events.js';
import type { Reaction, SagaCommand, SagaDefinition } from '../runtime/types.js';

// The order/payment saga: OrderPlaced → authorize → confirm (or reject); the restaurant must accept in time
// (or the order is cancelled and the authorization voided); capture on delivery; a cancellation voids an
// authorization or refunds a capture. Every path ends with no money held or taken for an order that was not
// delivered — or the saga says it NEEDS_ATTENTION, visibly, with the failure on its timeline.

export type PaymentState = 'AUTHORIZING' | 'AUTHORIZED' | 'DECLINED' | 'CAPTURED' | 'VOIDED' | 'REFUNDED' | 'FAILED';

export interface OrderPaymentState {
  readonly orderId: string;
  readonly paymentId: string;
  readonly customerId: string;
  readonly restaurantId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly cardToken: string;
  readonly order: string;
  readonly accepted: boolean;
  readonly payment: PaymentState;
  readonly providerRef: string | null;
  /** Failures that left money in a state someone must look at. */
  readonly issues: readonly string[];
}

export interface OrderPaymentOptions {
  /** How long the restaurant has to accept a confirmed order (the seed's default: 5 minutes). */
  readonly acceptanceTimeoutMs: number;
  /** How long a payment may stay unconfirmed before the order is rejected. */
  readonly paymentTimeoutMs: number;
}

/** The events of the saga's topics (`ordering.order`, `ordering.payment`), as the contract types them. */
export type OrderPaymentEvent = OrderEvent | PaymentEvent;

export const ORDER_PAYMENT_SAGA = 'order-payment';
export const ACCEPTANCE_DEADLINE = 'restaurant-acceptance';
export const PAYMENT_DEADLINE = 'payment-timeout';

const TERMINAL_ORDER = new Set(['CANCELLED', 'REJECTED']);

/** A lifecycle step never overwrites an order that already ended (events of two topics interleave freely). */
const advance = (s: OrderPaymentState, status: string): string => (TERMINAL_ORDER.has(s.order) ? s.order : status);

const cmd = (step: string, kind: string, payload: Record<string, unknown>): SagaCommand => ({ step, kind, payload });

/** The issue a failed payment step leaves (see onCommandFailed); one per step, replaced when it fails again. */
const issueOf = (step: string, error: string): string => `${step} failed: ${error}`;
/** The state without the issue of `step`: its payment event shows the step done after all (an operator's retry). */
const resolved = (s: OrderPaymentState, step: string): OrderPaymentState => {
  const issues = s.issues.filter((i) => !i.startsWith(issueOf(step, '')));
  return issues.length === s.issues.length ? s : { ...s, issues };
};

const payments = {
  authorize: (s: OrderPaymentState) =>
    cmd('authorize', 'payment.authorize', {
      paymentId: s.paymentId,
      orderId: s.orderId,
      amountMinor: s.amountMinor,
      currency: s.currency,
      cardToken: s.cardToken,
    }),
  capture: (s: OrderPaymentState) =>
    cmd('capture', 'payment.capture', {
      paymentId: s.paymentId,
      providerRef: s.providerRef,
      amountMinor: s.amountMinor,
    }),
  void: (s: OrderPaymentState, reason: string) =>
    cmd('void', 'payment.void', { paymentId: s.paymentId, providerRef: s.providerRef, reason }),
  refund: (s: OrderPaymentState, reason: string) =>
    cmd('refund', 'payment.refund', {
      paymentId: s.paymentId,
      providerRef: s.providerRef,
      amountMinor: s.amountMinor,
      reason,
    }),
};

const orders = {
  confirm: (s: OrderPaymentState) =>
    cmd('confirm-order', 'order.confirm', { orderId: s.orderId, paymentId: s.paymentId }),
  reject: (s: OrderPaymentState, reason: string) => cmd('reject-order', 'order.reject', { orderId: s.orderId, reason }),
  cancel: (s: OrderPaymentState, reason: string) => cmd('cancel-order', 'order.cancel', { orderId: s.orderId, reason }),
};

/** Releases or returns whatever the payment holds, once the order will not be delivered. */
function compensation(s: OrderPaymentState, reason: string): SagaCommand[] {
  if (s.payment === 'AUTHORIZED') return [payments.void(s, reason)];
  if (s.payment === 'CAPTURED') return [payments.refund(s, reason)];
  return []; // still authorizing: the authorization, when it comes, is voided (see PaymentAuthorized)
}

export function orderPaymentSaga(options: OrderPaymentOptions): SagaDefinition<OrderPaymentState, OrderPaymentEvent> {
  const later = (now: Date, ms: number) => new Date(now.getTime() + ms);
  return {
    name: ORDER_PAYMENT_SAGA,
    topics: ['ordering.order', 'ordering.payment'],
    correlationId: (event) => event.data.orderId,
    starts: (event) => event.eventType === 'OrderPlaced',
    initialState: (orderId) => ({
      orderId,
      paymentId: orderId,
      customerId: '',
      restaurantId: '',
      amountMinor: 0,
      currency: '',
      cardToken: '',
      order: 'NONE',
      accepted: false,
      payment: 'AUTHORIZING',
      providerRef: null,
      issues: [],
    }),

    react(s, event, now): Reaction<OrderPaymentState> | null {
      switch (event.eventType) {
        case 'OrderPlaced': {
          if (s.order !== 'NONE') return null;
          const d = event.data;
          const next: OrderPaymentState = {
            ...s,
            customerId: d.customerId,
            restaurantId: d.restaurantId,
            amountMinor: d.totalMinor,
            currency: d.currency,
            cardToken: d.paymentMethod.cardToken,
            order: 'PENDING',
          };
          return {
            state: next,
            commands: [payments.authorize(next)],
            schedule: [{ name: PAYMENT_DEADLINE, dueAt: later(now, options.paymentTimeoutMs) }],
            note: 'order placed: authorizing payment',
          };
        }
        case 'PaymentAuthorized': {
          if (s.payment !== 'AUTHORIZING' && s.payment !== 'FAILED') return null; // a late duplicate notice
          const next = { ...s, payment: 'AUTHORIZED' as const, providerRef: event.data.providerRef };
          if (TERMINAL_ORDER.has(s.order)) {
            return {
              state: next,
              commands: [payments.void(next, `order ${s.order.toLowerCase()}`)],
              cancel: [PAYMENT_DEADLINE],
              note: 'authorized after the order ended: voiding',
            };
          }
          return {
            state: next,
            commands: [orders.confirm(next)],
            cancel: [PAYMENT_DEADLINE],
            schedule: s.accepted ? [] : [{ name: ACCEPTANCE_DEADLINE, dueAt: later(now, options.acceptanceTimeoutMs) }],
            note: 'payment authorized: confirming the order',
          };
        }
        case 'PaymentDeclined': {
          const next = { ...s, payment: 'DECLINED' as const };
          const commands = TERMINAL_ORDER.has(s.order)
            ? []
            : [orders.reject(next, `payment declined: ${event.data.reason}`)];
          return { state: next, commands, cancel: [PAYMENT_DEADLINE, ACCEPTANCE_DEADLINE], note: 'payment declined' };
        }
        case 'OrderConfirmed':
          return { state: { ...s, order: advance(s, 'CONFIRMED') } };
        case 'OrderAccepted':
          return { state: { ...s, accepted: true }, cancel: [ACCEPTANCE_DEADLINE], note: 'restaurant accepted' };
        case 'OrderPreparationStarted':
          return { state: { ...s, order: advance(s, 'PREPARING'), accepted: true }, cancel: [ACCEPTANCE_DEADLINE] };
        case 'OrderReadyForPickup':
          return { state: { ...s, order: advance(s, 'READY') } };
        case 'OrderPickedUp':
          return { state: { ...s, order: advance(s, 'PICKED_UP') } };
        case 'OrderDelivered': {
          if (TERMINAL_ORDER.has(s.order)) return null;
          const next = { ...s, order: 'DELIVERED' };
          return s.payment === 'AUTHORIZED'
            ? { state: next, commands: [payments.capture(next)], note: 'delivered: capturing payment' }
            : { state: next, note: `delivered with payment ${s.payment}` };
        }
        case 'OrderCancelled':
        case 'OrderRejected': {
          if (TERMINAL_ORDER.has(s.order)) return null;
          const order = event.eventType === 'OrderCancelled' ? 'CANCELLED' : 'REJECTED';
          const next = { ...s, order };
          return {
            state: next,
            commands: compensation(next, `order ${order.toLowerCase()}: ${event.data.reason}`),
            cancel: [ACCEPTANCE_DEADLINE, PAYMENT_DEADLINE],
            note: `order ${order.toLowerCase()}`,
          };
        }
        case 'PaymentCaptured': {
          const next = { ...resolved(s, 'capture'), payment: 'CAPTURED' as const };
          return TERMINAL_ORDER.has(s.order)
            ? {
                state: next,
                commands: [payments.refund(next, `order ${s.order.toLowerCase()} after capture`)],
                note: 'captured an order that ended: refunding',
              }
            : { state: next, note: 'payment captured' };
        }
        case 'PaymentVoided':
          return { state: { ...resolved(s, 'void'), payment: 'VOIDED' }, note: 'authorization voided' };
        case 'PaymentRefunded':
          return { state: { ...resolved(s, 'refund'), payment: 'REFUNDED' }, note: 'payment refunded' };
        default:
          return null;
      }
    },

    onDeadline(s, deadline, _now, commands): Reaction<OrderPaymentState> | null {
      if (deadline === ACCEPTANCE_DEADLINE && !s.accepted && (s.order === 'PENDING' || s.order === 'CONFIRMED')) {
        return {
          state: s,
          commands: [orders.cancel(s, 'the restaurant did not accept the order in time')],
          note: 'acceptance deadline passed',
        };
      }
      if (deadline === PAYMENT_DEADLINE && s.payment === 'AUTHORIZING' && s.order === 'PENDING') {
        // The deadline is for the provider's answer, not for this saga's consumer: once the authorize step is done
        // the answer (authorized or declined) is recorded on the Payment and its event decides, however late the
        // saga reads it. Only an authorization still unanswered (not yet performed, or retrying) is out of time;
        // if it is authorized after all, PaymentAuthorized on a rejected order voids it.
        if (commands.authorize === 'done') {
          return { state: s, note: 'payment deadline passed with the payment answered: its event decides' };
        }
        return {
          state: s,
          commands: [orders.reject(s, 'payment not confirmed in time')],
          note: 'payment deadline passed',
        };
      }
      return null;
    },

    // What an operator may retry (`ledger sagas retry`, with the step's idempotency key): a step whose failure was
    // not compensated. Not authorize: its failure rejects the order (or the order had ended), so a late
    // authorization would only hold money to be voided; the customer orders again. Capture, void and refund: their
    // failure only flags the saga (NEEDS_ATTENTION) and the money stays where it is until the step succeeds; the
    // step's payment event clears the flag. Order steps: the decider refuses whatever the order no longer allows.
    onCommandFailed(s, failure): Reaction<OrderPaymentState> | null {
      switch (failure.step) {
        case 'authorize': {
          const next = { ...s, payment: 'FAILED' as const };
          return {
            state: next,
            commands: TERMINAL_ORDER.has(s.order) ? [] : [orders.reject(next, 'the payment provider is unavailable')],
            cancel: [PAYMENT_DEADLINE],
            note: `authorization failed after ${failure.attempts} attempts: rejecting the order`,
          };
        }
        case 'capture':
        case 'void':
        case 'refund':
          return {
            state: { ...s, issues: [...resolved(s, failure.step).issues, issueOf(failure.step, failure.error)] },
            note: `${failure.step} failed: needs attention`,
            retryable: true,
          };
        default:
          // An order command refused because the order moved on meanwhile: its own events drive what follows.
          return { state: s, note: `${failure.step} refused: ${failure.error}`, retryable: true };
      }
    },

    status(s): string {
      if (s.issues.length > 0) return 'NEEDS_ATTENTION';
      if (s.order === 'CANCELLED' || s.order === 'REJECTED') {
        if (s.payment === 'AUTHORIZED' || s.payment === 'CAPTURED' || s.payment === 'AUTHORIZING')
          return 'COMPENSATING';
        return s.payment === 'REFUNDED' ? 'REFUNDED' : s.order;
      }
      if (s.payment === 'AUTHORIZING') return 'AWAITING_PAYMENT';
      if (s.order === 'DELIVERED')
        return s.payment === 'CAPTURED' ? 'COMPLETED' : s.payment === 'REFUNDED' ? 'REFUNDED' : 'CAPTURING';
      if (!s.accepted) return 'AWAITING_ACCEPTANCE';
      return 'IN_PROGRESS';
    },
  };
}
