import type { OrderingCommands } from '../../commands/ordering/handlers.js';
import type { PaymentCommand } from '../../commands/ordering/payment.js';
import type { PaymentNotification } from '../../sagas/payments/port.js';
import { verifyPaymentWebhook } from '../../sagas/payments/webhooks.js';
import { signedWebhookPlugin } from '../signed-webhook.js';

export interface WebhookDeps {
  readonly ordering: OrderingCommands;
  readonly secret: string;
  readonly toleranceSeconds?: number;
}

/** The provider's notice as a command on the Payment aggregate (null: nothing to record). */
export function paymentCommandOf(notification: PaymentNotification): PaymentCommand | null {
  switch (notification.kind) {
    case 'authorized':
      return { type: 'RecordPaymentAuthorized', data: { ...notification } };
    case 'declined':
      return { type: 'RecordPaymentDeclined', data: { ...notification } };
    case 'captured':
      return { type: 'RecordPaymentCaptured', data: { paymentId: notification.paymentId } };
    case 'voided':
      return {
        type: 'RecordPaymentVoided',
        data: { paymentId: notification.paymentId, reason: 'voided at the provider' },
      };
    case 'refunded':
      return {
        type: 'RecordPaymentRefunded',
        data: { paymentId: notification.paymentId, reason: 'refunded at the provider' },
      };
    case 'ignored':
      return null;
  }
}

/** POST /webhooks/payments: the provider's signed notices about order payments (gateway/signed-webhook.ts). */
export function webhooksPlugin(deps: WebhookDeps) {
  return signedWebhookPlugin<PaymentNotification>({
    path: '/webhooks/payments',
    secret: deps.secret,
    toleranceSeconds: deps.toleranceSeconds,
    verify: verifyPaymentWebhook,
    notRecorded: 'payment webhook not recorded',
    record: async (notification, ctx) => {
      const command = paymentCommandOf(notification);
      if (!command) return false;
      await deps.ordering.recordPayment(command, ctx);
      return true;
    },
  });
}
