import { DomainError } from '../../../runtime/errors.js';

/**
 * An event the money read model refuses to apply because it would make the books wrong: an entry that does not
 * sum to zero, a release of money the escrow does not hold, a payout paid twice. Always a bug (of the write side or
 * of this projection), never a state to show. A DomainError because the projection runtime treats those as the
 * message's own failure (runtime/consumer/failures.ts `isPoison`): the event goes to the dead-letter topic with
 * this message, its stream waits behind it (the next versions are a gap), and every other contract and wallet
 * goes on. Retried from the DLQ once the bug is fixed, it repairs the stream in order.
 */
export class MoneyInvariantError extends DomainError {
  constructor(code: MoneyInvariantCode, message: string, details: Record<string, unknown> = {}) {
    super('conflict', code, message, details);
    this.name = 'MoneyInvariantError';
  }
}

export type MoneyInvariantCode =
  /** An entry's postings do not sum to zero in some currency, or an amount is not a safe integer. */
  | 'LEDGER_UNBALANCED'
  /** An amount that must be positive (or not negative) is not, or parts do not add up to their whole. */
  | 'MONEY_AMOUNT_INVALID'
  /** A currency other than the escrow's or the payout's. */
  | 'MONEY_CURRENCY_MISMATCH'
  /** A milestone or escrow is not in a state this money movement can start from (a second release, …). */
  | 'MONEY_STATE_INVALID'
  /** A milestone or payout the event names is not known. */
  | 'MONEY_UNKNOWN_REFERENCE'
  /** A second credit for the same source (release or dispute) of one contract on one wallet. */
  | 'MONEY_DUPLICATE_CREDIT';
