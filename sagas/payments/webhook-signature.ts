import Stripe from 'stripe';
import { isPublishedSecret } from '../../runtime/config.js';
import { WebhookSignatureError } from './port.js';

// Stripe's webhook signature check, shared by ordering's payment webhooks (webhooks.ts) and the marketplace's
// Connect webhooks (connect-webhooks.ts): an HMAC over the exact bytes received, a timestamp within tolerance, and
// never a secret anyone could know.

/**
 * Checks `rawBody` (the bytes as received: parsing and re-serialising would break the signature) against the
 * `Stripe-Signature` header and returns the parsed event. Throws WebhookSignatureError for a missing, malformed,
 * wrong or stale signature, and for any signature when `secret` is empty or a value published in this project's
 * source (a former default): anyone could sign with those (issue 12). RangeError for a tolerance that is not
 * positive.
 *
 * The event is whatever JSON was signed: a caller that cannot trust its shape must check it.
 */
export function verifyStripeSignature(
  rawBody: Buffer | string,
  signatureHeader: string | undefined,
  secret: string,
  toleranceSeconds: number,
): Stripe.Event {
  if (signatureHeader === undefined || signatureHeader.trim() === '') {
    throw new WebhookSignatureError('missing Stripe-Signature header');
  }
  if (!(toleranceSeconds > 0)) throw new RangeError('toleranceSeconds must be positive');
  if (secret === '' || isPublishedSecret(secret)) {
    throw new WebhookSignatureError('webhook signature rejected: the webhook secret is empty or published');
  }
  try {
    return Stripe.webhooks.constructEvent(rawBody, signatureHeader, secret, toleranceSeconds);
  } catch (error) {
    // The SDK also throws here when a correctly signed body is not JSON; either way the request is refused.
    const reason = error instanceof Error ? error.message : String(error);
    throw new WebhookSignatureError(`webhook signature rejected: ${reason}`, { cause: error });
  }
}
