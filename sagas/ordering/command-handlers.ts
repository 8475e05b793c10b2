import { DomainError } from '../../commands/decider.js';
import type { CommandContext } from '../../commands/executor.js';
import type { OrderingCommands } from '../../commands/ordering/handlers.js';
import { type PaymentProvider, PermanentProviderError } from '../payments/port.js';
import type { CommandHandler, CommandInvocation } from '../runtime/dispatcher.js';

const ACTOR = 'saga:order-payment';

/**
 * Trusted internal calls: no role, so no ownership checks; the step's key makes each one happen once. The
 * events appended continue the flow of the event that led to the step (the client's correlation and trace ids,
 * caused by that event); commands from before causes were recorded fall back to the saga's own ids.
 */
const contextOf = (invocation: CommandInvocation, suffix = ''): CommandContext => ({
  actor: ACTOR,
  correlationId: invocation.cause?.correlationId ?? invocation.sagaId,
  causationId: invocation.cause?.causationId ?? `${invocation.sagaType}:${invocation.step}`,
  idempotencyKey: `${invocation.idempotencyKey}${suffix}`,
  ...(invocation.cause?.traceId ? { traceId: invocation.cause.traceId } : {}),
});

const str = (value: unknown, name: string): string => {
  if (typeof value !== 'string' || value === '') throw new PermanentProviderError(`saga command lacks ${name}`);
  return value;
};

/**
 * How the order/payment saga's commands are carried out: provider calls with the step's idempotency key, and what
 * the provider answered recorded on the Payment aggregate (whose events the saga reacts to).
 */
export function orderPaymentHandlers(
  ordering: OrderingCommands,
  provider: PaymentProvider,
): Record<string, CommandHandler> {
  return {
    'payment.authorize': async (inv) => {
      const p = inv.payload;
      const request = {
        paymentId: str(p.paymentId, 'paymentId'),
        orderId: str(p.orderId, 'orderId'),
        amountMinor: Number(p.amountMinor),
        currency: str(p.currency, 'currency'),
        cardToken: str(p.cardToken, 'cardToken'),
      };
      const result = await provider.authorize(request, inv.idempotencyKey);
      const base = {
        paymentId: request.paymentId,
        orderId: request.orderId,
        amountMinor: request.amountMinor,
        currency: request.currency,
      };
      await ordering.recordPayment(
        result.outcome === 'authorized'
          ? { type: 'RecordPaymentAuthorized', data: { ...base, providerRef: result.providerRef } }
          : { type: 'RecordPaymentDeclined', data: { ...base, reason: result.reason } },
        contextOf(inv, ':record'),
      );
    },
    'payment.capture': async (inv) => {
      await provider.capture(
        str(inv.payload.providerRef, 'providerRef'),
        Number(inv.payload.amountMinor),
        inv.idempotencyKey,
      );
      await ordering.recordPayment(
        { type: 'RecordPaymentCaptured', data: { paymentId: str(inv.payload.paymentId, 'paymentId') } },
        contextOf(inv, ':record'),
      );
    },
    'payment.void': async (inv) => {
      await provider.void(str(inv.payload.providerRef, 'providerRef'), inv.idempotencyKey);
      await ordering.recordPayment(
        {
          type: 'RecordPaymentVoided',
          data: { paymentId: str(inv.payload.paymentId, 'paymentId'), reason: String(inv.payload.reason) },
        },
        contextOf(inv, ':record'),
      );
    },
    'payment.refund': async (inv) => {
      await provider.refund(
        str(inv.payload.providerRef, 'providerRef'),
        Number(inv.payload.amountMinor),
        inv.idempotencyKey,
      );
      await ordering.recordPayment(
        {
          type: 'RecordPaymentRefunded',
          data: { paymentId: str(inv.payload.paymentId, 'paymentId'), reason: String(inv.payload.reason) },
        },
        contextOf(inv, ':record'),
      );
    },
    'order.confirm': async (inv) => {
      await ordering.advanceOrder(
        'ConfirmOrder',
        { orderId: str(inv.payload.orderId, 'orderId'), paymentId: str(inv.payload.paymentId, 'paymentId') },
        contextOf(inv),
      );
    },
    'order.reject': async (inv) => {
      await ordering.advanceOrder(
        'RejectOrder',
        { orderId: str(inv.payload.orderId, 'orderId'), reason: String(inv.payload.reason) },
        contextOf(inv),
      );
    },
    'order.cancel': async (inv) => {
      await ordering.cancelOrder(
        { orderId: str(inv.payload.orderId, 'orderId'), reason: String(inv.payload.reason) },
        contextOf(inv),
      );
    },
  };
}

/** Domain refusals and permanent provider errors will not change on retry; everything else may. */
export const isTransient = (error: unknown): boolean =>
  !(error instanceof DomainError || error instanceof PermanentProviderError);
