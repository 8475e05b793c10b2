import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../commands/decider.js';
import type { OrderingCommands } from '../../commands/ordering/handlers.js';
import type { PaymentCommand } from '../../commands/ordering/payment.js';
import { isPublishedSecret } from '../../runtime/config.js';
import { type PaymentNotification, WebhookSignatureError } from '../../sagas/payments/port.js';
import { verifyPaymentWebhook } from '../../sagas/payments/webhooks.js';
import { body } from '../errors.js';

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

/**
 * POST /webhooks/payments: the provider's signed notices. The signature (and its timestamp's tolerance) is checked
 * on the raw bytes before anything is parsed; a bad one is a 400 and nothing is recorded. The provider's event id
 * is the idempotency key, so a notice delivered twice is recorded once.
 */
export function webhooksPlugin(deps: WebhookDeps) {
  // loadConfig refuses these already; a configuration built another way must not start with them either.
  if (deps.secret === '' || isPublishedSecret(deps.secret))
    throw new Error('refusing an empty webhook secret or one published in the source; set STRIPE_WEBHOOK_SECRET');
  return async (app: FastifyInstance): Promise<void> => {
    // The signature covers the exact bytes sent: keep them, do not parse JSON before verifying.
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, raw, done) => done(null, raw));
    app.post('/webhooks/payments', async (request, reply) => {
      const signature = request.headers['stripe-signature'];
      let verified: ReturnType<typeof verifyPaymentWebhook>;
      try {
        verified = verifyPaymentWebhook(
          request.body as Buffer,
          typeof signature === 'string' ? signature : undefined,
          deps.secret,
          deps.toleranceSeconds ?? 300,
        );
      } catch (error) {
        if (error instanceof WebhookSignatureError) return reply.status(400).send(body(error.code, error.message));
        return reply.status(400).send(body('INVALID_WEBHOOK', 'the webhook payload could not be read'));
      }
      const command = paymentCommandOf(verified.notification);
      if (!command) return { received: true, recorded: false };
      try {
        await deps.ordering.recordPayment(command, {
          actor: 'provider:payments',
          correlationId: request.id,
          traceId: request.traceId || undefined,
          causationId: verified.eventId,
          idempotencyKey: `webhook:${verified.eventId}`,
        });
      } catch (error) {
        // A notice about a payment we do not know, or one that contradicts what we recorded: acknowledged (so the
        // provider stops retrying) and logged for a person to look at.
        if (!(error instanceof DomainError)) throw error;
        request.log.warn({ eventId: verified.eventId, code: error.code, err: error }, 'payment webhook not recorded');
        return { received: true, recorded: false, reason: error.code };
      }
      return { received: true, recorded: true };
    });
  };
}
