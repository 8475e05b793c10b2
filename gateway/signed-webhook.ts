import type { FastifyInstance } from 'fastify';
import { DomainError } from '../commands/decider.js';
import type { CommandContext } from '../commands/executor.js';
import { isPublishedSecret } from '../runtime/config.js';
import { WebhookSignatureError } from '../sagas/payments/port.js';
import { body } from './errors.js';

/** A provider's webhook endpoint: how to verify a delivery, and what to record from it. */
export interface SignedWebhook<Notification> {
  readonly path: string;
  readonly secret: string;
  readonly toleranceSeconds?: number;
  /** Checks the signature over the raw bytes and maps the event; throws WebhookSignatureError when it fails. */
  verify(
    rawBody: Buffer,
    signature: string | undefined,
    secret: string,
    toleranceSeconds: number,
  ): { readonly eventId: string; readonly notification: Notification };
  /** Records what the notice says (under the context given), or returns false when there is nothing to record. */
  record(notification: Notification, ctx: CommandContext): Promise<boolean>;
  /** The log line of a notice that could not be recorded (a payment or payout we do not know). */
  readonly notRecorded: string;
}

/**
 * A signed provider webhook route. The signature (and its timestamp's tolerance) is checked on the raw bytes
 * before anything is parsed; a bad one is a 400 and nothing is recorded. The provider's event id is the
 * idempotency key, so a notice delivered twice is recorded once. A notice the domain refuses (about something we
 * do not know, or contradicting what we recorded) is acknowledged, so the provider stops retrying, and logged
 * for a person to look at.
 */
export function signedWebhookPlugin<Notification>(webhook: SignedWebhook<Notification>) {
  // loadConfig refuses these already; a configuration built another way must not start with them either.
  if (webhook.secret === '' || isPublishedSecret(webhook.secret))
    throw new Error('refusing an empty webhook secret or one published in the source; set STRIPE_WEBHOOK_SECRET');
  return async (app: FastifyInstance): Promise<void> => {
    // The signature covers the exact bytes sent: keep them, do not parse JSON before verifying.
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, raw, done) => done(null, raw));
    app.post(webhook.path, async (request, reply) => {
      const signature = request.headers['stripe-signature'];
      let verified: { eventId: string; notification: Notification };
      try {
        verified = webhook.verify(
          request.body as Buffer,
          typeof signature === 'string' ? signature : undefined,
          webhook.secret,
          webhook.toleranceSeconds ?? 300,
        );
      } catch (error) {
        if (error instanceof WebhookSignatureError) return reply.status(400).send(body(error.code, error.message));
        return reply.status(400).send(body('INVALID_WEBHOOK', 'the webhook payload could not be read'));
      }
      try {
        const recorded = await webhook.record(verified.notification, {
          actor: 'provider:payments',
          correlationId: request.id,
          traceId: request.traceId || undefined,
          causationId: verified.eventId,
          idempotencyKey: `webhook:${verified.eventId}`,
        });
        return { received: true, recorded };
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        request.log.warn({ eventId: verified.eventId, code: error.code, err: error }, webhook.notRecorded);
        return { received: true, recorded: false, reason: error.code };
      }
    });
  };
}
