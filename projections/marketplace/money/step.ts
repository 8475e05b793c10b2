import type { EscrowEvent, WalletEvent } from '../../../schemas/marketplace/events.js';
import { marketplaceTopics } from '../../../schemas/marketplace/topics.js';
import { MoneyInvariantError } from './errors.js';
import { type EscrowState, evolveEscrow } from './escrow.js';
import { evolvePayout, isPayoutEvent, type Payout } from './payouts.js';
import { type EntryDraft, type MoneyEvent, postingsOf } from './postings.js';

// Pure: what one money event does to the read model, given what its stream said before. The read model
// (money.ts) loads `known` from its tables and stores the result; the property tests fold it in memory. Both run
// this same code, so what the properties prove about the books holds for the tables.

/** The event types of each money topic, as the schema catalog lists them. */
export const ESCROW_EVENT_TYPES: ReadonlySet<string> = new Set(marketplaceTopics['marketplace.escrow']);
export const WALLET_EVENT_TYPES: ReadonlySet<string> = new Set(marketplaceTopics['marketplace.wallet']);

export const isEscrowEvent = (event: MoneyEvent): event is EscrowEvent => ESCROW_EVENT_TYPES.has(event.type);
export const isWalletEvent = (event: MoneyEvent): event is WalletEvent => WALLET_EVENT_TYPES.has(event.type);

/** What the read model holds of the event's stream before it. */
export interface MoneyKnown {
  /** For an escrow event: the escrow (null before EscrowOpened). */
  readonly escrow?: EscrowState | null;
  /** For a payout event: that payout (null before its PayoutRequested). */
  readonly payout?: Payout | null;
}

export interface MoneyStep {
  /** The escrow after an escrow event. */
  readonly escrow?: EscrowState;
  /** The payout after a payout event. */
  readonly payout?: Payout;
  /** The ledger entry, already checked to balance; null when the event moves no money. */
  readonly entry: EntryDraft | null;
}

/** One event's effect. Throws a MoneyInvariantError when it would make the books wrong. */
export function moneyStep(
  event: MoneyEvent,
  stamp: { readonly streamVersion: number; readonly recordedAt: string },
  known: MoneyKnown,
): MoneyStep {
  if (isEscrowEvent(event)) {
    const before = known.escrow ?? null;
    const escrow = evolveEscrow(before, event, stamp);
    return { escrow, entry: postingsOf(event, { hirerId: escrow.hirerId }) };
  }
  const walletEvent: WalletEvent = event;
  if (isPayoutEvent(walletEvent)) {
    const before = known.payout ?? null;
    const payout = evolvePayout(before, walletEvent);
    const context = before ? { payout: { currency: before.currency, status: before.status } } : {};
    return { payout, entry: postingsOf(walletEvent, context) };
  }
  if (walletEvent.type === 'WalletCredited') {
    const { amountMinor, sourceId } = walletEvent.data;
    // Zero is allowed: a dispute settled wholly for the hirer may still credit its (empty) worker's part.
    if (!Number.isSafeInteger(amountMinor) || amountMinor < 0)
      throw new MoneyInvariantError('MONEY_AMOUNT_INVALID', `a credit of ${amountMinor} from ${sourceId}`, {
        sourceId,
      });
  }
  return { entry: postingsOf(walletEvent) };
}
