import type Stripe from 'stripe';
import type { PaymentNotification, VerifiedWebhook } from './port.js';
import { verifyStripeSignature } from './webhook-signature.js';

// Provider webhooks: Stripe's signature check (HMAC over the exact bytes received, timestamp within tolerance),
// then the event mapped to what the Payment aggregate records. Events that are not about one of our payments, or
// not about a step we record, come back as `ignored` (acknowledge them; Stripe retries anything else).

/**
 * Verifies `rawBody` (the bytes as received: parsing and re-serialising would break the signature) against the
 * `Stripe-Signature` header and maps the event. Throws WebhookSignatureError for a missing, malformed, wrong or
 * stale signature, and for any signature when `secret` is empty or a value published in this project's source
 * (a former default): anyone could sign with those (issue 12).
 */
export function verifyPaymentWebhook(
  rawBody: Buffer | string,
  signatureHeader: string | undefined,
  secret: string,
  toleranceSeconds = 300,
): VerifiedWebhook {
  const event: unknown = verifyStripeSignature(rawBody, signatureHeader, secret, toleranceSeconds);
  // A correctly signed body that is not an event object (`null`, a number) is acknowledged and ignored, not a 500.
  if (typeof event !== 'object' || event === null) {
    return { eventId: 'unidentified', notification: { kind: 'ignored', type: 'unknown' } };
  }
  const stripeEvent = event as Stripe.Event;
  return { eventId: String(stripeEvent.id), notification: toPaymentNotification(stripeEvent) };
}

interface OurIds {
  readonly paymentId: string;
  readonly orderId: string;
}

/** Maps a (verified) Stripe event. Payment ids come from the metadata the adapter put on the PaymentIntent. */
export function toPaymentNotification(event: Stripe.Event): PaymentNotification {
  const ignored: PaymentNotification = { kind: 'ignored', type: event.type };
  // A signed event always has an object; a hand-made one might not, and must not crash the receiver.
  if (typeof event.data?.object !== 'object' || event.data.object === null) return ignored;
  switch (event.type) {
    case 'payment_intent.amount_capturable_updated': {
      const intent = event.data.object;
      const ids = ourIds(intent.metadata);
      if (ids === null) return ignored;
      return {
        kind: 'authorized',
        providerRef: intent.id,
        ...ids,
        amountMinor: intent.amount,
        currency: intent.currency.toUpperCase(),
      };
    }
    case 'payment_intent.payment_failed': {
      const intent = event.data.object;
      const ids = ourIds(intent.metadata);
      if (ids === null) return ignored;
      const failure = intent.last_payment_error;
      return {
        kind: 'declined',
        providerRef: intent.id,
        ...ids,
        amountMinor: intent.amount,
        currency: intent.currency.toUpperCase(),
        reason: failure?.decline_code ?? failure?.code ?? 'payment_failed',
      };
    }
    case 'payment_intent.succeeded':
    case 'payment_intent.canceled': {
      const intent = event.data.object;
      const ids = ourIds(intent.metadata);
      if (ids === null) return ignored;
      return {
        kind: event.type === 'payment_intent.succeeded' ? 'captured' : 'voided',
        providerRef: intent.id,
        ...ids,
      };
    }
    case 'charge.refunded': {
      const charge = event.data.object;
      // Canceling an authorized intent releases the hold, which Stripe reports as a refund of the uncaptured
      // charge; payment_intent.canceled already says "voided".
      if (charge.captured === false) return ignored;
      const intent = charge.payment_intent;
      const providerRef = typeof intent === 'string' ? intent : (intent?.id ?? null);
      // Stripe copies the intent's metadata onto its charges; an expanded intent carries it too.
      const ids = ourIds(charge.metadata) ?? (typeof intent === 'object' ? ourIds(intent?.metadata) : null);
      if (providerRef === null || ids === null) return ignored;
      return { kind: 'refunded', providerRef, ...ids };
    }
    default:
      return ignored;
  }
}

function ourIds(metadata: Stripe.Metadata | null | undefined): OurIds | null {
  const paymentId = metadata?.paymentId;
  const orderId = metadata?.orderId;
  if (typeof paymentId !== 'string' || paymentId === '' || typeof orderId !== 'string' || orderId === '') return null;
  return { paymentId, orderId };
}
