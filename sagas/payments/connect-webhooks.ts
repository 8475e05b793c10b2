import { createHash } from 'node:crypto';
import type { ConnectNotification, VerifiedConnectWebhook } from './connect-port.js';
import { verifyStripeSignature } from './webhook-signature.js';

// The marketplace's Connect webhooks: the same signature check as ordering's payment webhooks, then the event
// mapped to what the escrow records. Payout events come from the worker's connected account (event.account set);
// refunds from the platform's own contract charges. Everything else, and anything malformed, is `ignored`:
// acknowledge it (Stripe retries anything else). Past the signature check nothing here throws: a correctly signed
// event is still only JSON, and a shape we do not expect must not turn into a 500 that Stripe retries for days.

export type { ConnectNotification, VerifiedConnectWebhook } from './connect-port.js';

/**
 * Verifies `rawBody` (the exact bytes received) against the `Stripe-Signature` header, as verifyPaymentWebhook
 * does, and maps the event. Throws WebhookSignatureError for a missing, malformed, wrong or stale signature, or an
 * empty or published secret; RangeError for a tolerance that is not positive.
 */
export function verifyConnectWebhook(
  rawBody: Buffer | string,
  signatureHeader: string | undefined,
  secret: string,
  toleranceSeconds = 300,
): VerifiedConnectWebhook {
  const event: unknown = verifyStripeSignature(rawBody, signatureHeader, secret, toleranceSeconds);
  const record = isRecord(event) ? event : {};
  const id = record.id;
  const account = record.account;
  return {
    // A signed body without an id is not Stripe's; its digest still names it, so a redelivery stays one event.
    eventId: typeof id === 'string' && id !== '' ? id : `unidentified:${digest(rawBody)}`,
    account: typeof account === 'string' && account !== '' ? account : null,
    notification: toConnectNotification(event),
  };
}

/** Maps a (verified) Stripe event of any shape; the ids come from the metadata the Connect adapter set. */
export function toConnectNotification(event: unknown): ConnectNotification {
  const type = isRecord(event) && typeof event.type === 'string' ? event.type : 'unknown';
  const ignored: ConnectNotification = { kind: 'ignored', type };
  if (!isRecord(event)) return ignored;
  const data = event.data;
  const object = isRecord(data) ? data.object : undefined;
  if (!isRecord(object)) return ignored;
  const connectedAccount = typeof event.account === 'string' && event.account !== '' ? event.account : null;
  switch (type) {
    case 'payout.paid':
    case 'payout.failed': {
      // A worker's payout is made on their connected account; a platform payout (no account) is not one of ours.
      if (connectedAccount === null || object.object !== 'payout') return ignored;
      const payoutRef = nonEmptyString(object.id);
      const amountMinor = minorUnits(object.amount);
      const metadata = isRecord(object.metadata) ? object.metadata : {};
      const payoutId = nonEmptyString(metadata.payoutId);
      const workerId = nonEmptyString(metadata.workerId);
      if (payoutRef === null || amountMinor === null || payoutId === null || workerId === null) return ignored;
      if (type === 'payout.paid') return { kind: 'payout-paid', payoutId, workerId, payoutRef, amountMinor };
      const reason = nonEmptyString(object.failure_code) ?? nonEmptyString(object.failure_message) ?? 'payout_failed';
      return { kind: 'payout-failed', payoutId, workerId, payoutRef, amountMinor, reason };
    }
    case 'charge.refunded': {
      // Contract charges are the platform's own (separate charges and transfers): none comes from a connected
      // account. An uncaptured charge's "refund" is a released authorization, which escrow never makes.
      if (connectedAccount !== null || object.object !== 'charge' || object.captured !== true) return ignored;
      const chargeRef = nonEmptyString(object.id);
      const amountRefundedMinor = minorUnits(object.amount_refunded);
      const metadata = isRecord(object.metadata) ? object.metadata : {};
      const contractId = nonEmptyString(metadata.contractId);
      if (chargeRef === null || amountRefundedMinor === null || contractId === null) return ignored;
      return { kind: 'charge-refunded', contractId, chargeRef, amountRefundedMinor };
    }
    default:
      return ignored;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** A whole, non-negative number of minor units, as Stripe sends amounts; anything else is not one. */
function minorUnits(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function digest(rawBody: Buffer | string): string {
  return createHash('sha256').update(rawBody).digest('hex');
}
