import { HttpError } from './errors.js';
// JSON-schema fragments every context's routes share, each checked against what the layers behind the gateway can
// take: a value that passes here never makes PostgreSQL, the search engine or the event log fail.
//
// Patterns run on unauthenticated input, so each must match in linear time: no two quantified parts of one
// pattern may compete for the same characters (`[^@]+\.[^@]+` lets the first part end at every dot, and a long
// string of dots costs quadratic time). test/integration/gateway-input-domain.test.ts sends the worst case of every
// pattern of every route and fails on one that takes more than 50 ms.

/** An aggregate id the client may choose: what stream ids, URLs and Kafka keys all carry unescaped. */
export const ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const id = { type: 'string', pattern: ID_PATTERN } as const;

/**
 * An email address as sign-up and login take it: `local@domain.tld` without whitespace inside, surrounding
 * whitespace tolerated (trimmed by the handler). The same strings as the former
 * `^\s*[^\s@]+@[^\s@]+\.[^\s@]+\s*$`, written so that every character has one way to match: after the `@`, one
 * character, then non-dots up to the first dot, then the rest. Linear time, whatever the input.
 */
export const EMAIL_PATTERN = '^\\s*[^\\s@]+@[^\\s@][^\\s@.]*\\.[^\\s@]+\\s*$';
/** RFC 5321's limit on a forward path. */
export const EMAIL_MAX_LENGTH = 254;
export const email = { type: 'string', maxLength: EMAIL_MAX_LENGTH, pattern: EMAIL_PATTERN } as const;

/**
 * A global position in the event store (`?after=<position>`): positions are JavaScript-safe integers (the store
 * reads BIGINT as a number), so anything beyond 2^53-1 names no event.
 */
export const position = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

/** A real calendar day, `YYYY-MM-DD` (years 0001-9999): the gateway's validator implements the `date` format. */
export const calendarDate = { type: 'string', format: 'date', maxLength: 10 } as const;

/**
 * A payment method: a test card number (simulator only) or a payment method id (`pm_…`, from Stripe.js; the
 * simulator knows Stripe's test ones, e.g. pm_card_visa).
 */
export const paymentMethod = { type: 'string', pattern: '^([0-9 ]{12,23}|pm_[A-Za-z0-9_]{1,100})$' } as const;

/**
 * With Stripe, card numbers are refused: one would be stored in the event log forever and published to Kafka, so
 * clients send the PaymentMethod id Stripe.js or Elements made, and no card number enters Ledgerline.
 */
export function refuseRawCardNumber(value: string, rawCardNumbers: boolean): void {
  if (!rawCardNumbers && /^[0-9 ]+$/.test(value)) {
    throw new HttpError(
      400,
      'RAW_CARD_NUMBER_REFUSED',
      'send a payment method id (pm_…) made by Stripe.js or Elements; card numbers are not accepted',
    );
  }
}
