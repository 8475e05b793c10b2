import type { EscrowEvent, WalletEvent } from '../../../schemas/marketplace/events.js';
import { accounts } from './accounts.js';
import { MoneyInvariantError } from './errors.js';
import type { PayoutStatus } from './payouts.js';

// Pure: the double-entry postings of one money event. Every entry sums to zero in its currency (assertBalanced),
// so the whole ledger does too: money only moves between accounts (accounts.ts), the two external ones (a hirer's
// funding source, a worker's bank) going negative and positive as money comes in and goes out.
//
//   EscrowFunded        escrow +A                      hirer −A
//   MilestoneReleased   escrow −gross                  in-transit +net, fees +fee
//   DisputeSettled      escrow −(net + fee + refund)   in-transit +net, fees +fee, hirer +refund
//   EscrowRefunded      escrow −A                      hirer +A
//   WalletCredited      in-transit −C                  wallet +C
//   PayoutRequested     wallet −P                      payouts-in-flight +P
//   PayoutPaid          payouts-in-flight −P           bank +P
//   PayoutFailed        payouts-in-flight −P           wallet +P     (after PayoutPaid: bank −P, wallet +P)
//
// Why the worker's money passes through in-transit rather than going to the wallet on the release: the release is
// on the escrow stream and the credit on the wallet stream, two topics the projector consumes independently. Had
// the release credited the wallet, a wallet partition read ahead of the escrow one would post a payout (wallet −P)
// before the release that paid for it, showing a negative wallet. With the credit on the wallet stream, every
// posting to `wallet:` comes from that one stream, in its order, so the wallet view always equals what the
// wallet aggregate (which a payout request is checked against) had at that version, and never goes below zero.

export interface Posting {
  readonly account: string;
  /** Signed, in minor units: positive into the account, negative out of it. */
  readonly amountMinor: number;
  readonly currency: string;
}

export interface EntryDraft {
  readonly description: string;
  readonly contractId: string | null;
  readonly milestoneId: string | null;
  readonly workerId: string | null;
  readonly postings: readonly Posting[];
}

/** What the event itself does not say, known from earlier events of its stream. */
export interface PostingContext {
  /** The escrow's hirer: EscrowFunded and DisputeSettled do not name it (EscrowOpened does). */
  readonly hirerId?: string;
  /** The payout before this event: PayoutPaid and PayoutFailed carry no currency, and a failure after payment
   * takes the money back from the bank. */
  readonly payout?: { readonly currency: string; readonly status: PayoutStatus };
}

export type MoneyEvent = EscrowEvent | WalletEvent;

/** The entry an event makes in the ledger, or null when it moves no money (an intent, a note, a status). */
export function postingsOf(event: MoneyEvent, context: PostingContext = {}): EntryDraft | null {
  const entry = draftOf(event, context);
  if (entry) assertBalanced(entry, event.type);
  return entry;
}

function draftOf(event: MoneyEvent, context: PostingContext): EntryDraft | null {
  switch (event.type) {
    case 'EscrowFunded': {
      const d = event.data;
      const hirerId = hirerOf(context, event);
      return {
        description: `escrow of contract ${d.contractId} funded by hirer ${hirerId} (charge ${d.chargeRef})`,
        contractId: d.contractId,
        milestoneId: null,
        workerId: null,
        postings: post(
          d.currency,
          [accounts.escrow(d.contractId), d.amountMinor],
          [accounts.hirer(hirerId), -d.amountMinor],
        ),
      };
    }
    case 'MilestoneReleased': {
      const d = event.data;
      return {
        description: `milestone ${d.milestoneId} of contract ${d.contractId} released to worker ${d.workerId} (transfer ${d.transferRef})`,
        contractId: d.contractId,
        milestoneId: d.milestoneId,
        workerId: d.workerId,
        postings: post(
          d.currency,
          [accounts.escrow(d.contractId), -d.grossMinor],
          [accounts.inTransit(d.workerId), d.netMinor],
          [accounts.fees, d.feeMinor],
        ),
      };
    }
    case 'DisputeSettled': {
      const d = event.data;
      const hirerId = hirerOf(context, event);
      return {
        description: `dispute on milestone ${d.milestoneId} of contract ${d.contractId} settled between worker ${d.workerId} and hirer ${hirerId}`,
        contractId: d.contractId,
        milestoneId: d.milestoneId,
        workerId: d.workerId,
        postings: post(
          d.currency,
          [accounts.escrow(d.contractId), -(d.workerNetMinor + d.feeMinor + d.hirerRefundMinor)],
          [accounts.inTransit(d.workerId), d.workerNetMinor],
          [accounts.fees, d.feeMinor],
          [accounts.hirer(hirerId), d.hirerRefundMinor],
        ),
      };
    }
    case 'EscrowRefunded': {
      const d = event.data;
      return {
        description: `refund ${d.refundId} of contract ${d.contractId} (milestones ${d.milestoneIds.join(', ')}) to hirer ${d.hirerId}`,
        contractId: d.contractId,
        milestoneId: d.milestoneIds.length === 1 ? d.milestoneIds[0]! : null,
        workerId: null,
        postings: post(
          d.currency,
          [accounts.escrow(d.contractId), -d.amountMinor],
          [accounts.hirer(d.hirerId), d.amountMinor],
        ),
      };
    }
    case 'WalletCredited': {
      const d = event.data;
      return {
        description: `wallet of worker ${d.workerId} credited from ${d.sourceId}`,
        contractId: d.contractId,
        milestoneId: d.milestoneId,
        workerId: d.workerId,
        postings: post(
          d.currency,
          [accounts.inTransit(d.workerId), -d.amountMinor],
          [accounts.wallet(d.workerId), d.amountMinor],
        ),
      };
    }
    case 'PayoutRequested': {
      const d = event.data;
      return {
        description: `payout ${d.payoutId} requested by worker ${d.workerId}`,
        contractId: null,
        milestoneId: null,
        workerId: d.workerId,
        postings: post(
          d.currency,
          [accounts.wallet(d.workerId), -d.amountMinor],
          [accounts.payoutsInFlight(d.workerId), d.amountMinor],
        ),
      };
    }
    case 'PayoutPaid': {
      const d = event.data;
      const { currency } = payoutOf(context, event);
      return {
        description: `payout ${d.payoutId} of worker ${d.workerId} paid to their bank (${d.payoutRef})`,
        contractId: null,
        milestoneId: null,
        workerId: d.workerId,
        postings: post(
          currency,
          [accounts.payoutsInFlight(d.workerId), -d.amountMinor],
          [accounts.bank(d.workerId), d.amountMinor],
        ),
      };
    }
    case 'PayoutFailed': {
      const d = event.data;
      const { currency, status } = payoutOf(context, event);
      const from = status === 'PAID' ? accounts.bank(d.workerId) : accounts.payoutsInFlight(d.workerId);
      return {
        description: `payout ${d.payoutId} of worker ${d.workerId} failed${status === 'PAID' ? ' after it was paid' : ''}: ${d.reason}`,
        contractId: null,
        milestoneId: null,
        workerId: d.workerId,
        postings: post(currency, [from, -d.amountMinor], [accounts.wallet(d.workerId), d.amountMinor]),
      };
    }
    default:
      return null;
  }
}

/** Postings in one currency; zero amounts (no fee, no refund) are left out. */
const post = (currency: string, ...lines: readonly [account: string, amountMinor: number][]): Posting[] =>
  lines.filter(([, amount]) => amount !== 0).map(([account, amountMinor]) => ({ account, amountMinor, currency }));

/**
 * Throws unless the entry's postings sum to zero in each currency and every amount is a safe integer. Only the
 * arithmetic: a release with a negative fee could still balance, so the escrow and payout folds check the amounts.
 */
export function assertBalanced(entry: Pick<EntryDraft, 'postings'>, what = 'entry'): void {
  const sums = new Map<string, number>();
  for (const p of entry.postings) {
    if (!Number.isSafeInteger(p.amountMinor))
      throw new MoneyInvariantError('LEDGER_UNBALANCED', `${what}: ${p.account} posted ${p.amountMinor}`, {
        account: p.account,
      });
    sums.set(p.currency, (sums.get(p.currency) ?? 0) + p.amountMinor);
  }
  for (const [currency, sum] of sums) {
    if (sum !== 0)
      throw new MoneyInvariantError('LEDGER_UNBALANCED', `${what}: the postings sum to ${sum} ${currency}, not 0`, {
        currency,
        sum,
        postings: entry.postings,
      });
  }
}

function hirerOf(context: PostingContext, event: MoneyEvent): string {
  if (context.hirerId === undefined)
    throw new MoneyInvariantError('MONEY_UNKNOWN_REFERENCE', `${event.type}: the escrow's hirer is not known`);
  return context.hirerId;
}

function payoutOf(context: PostingContext, event: MoneyEvent): NonNullable<PostingContext['payout']> {
  if (!context.payout)
    throw new MoneyInvariantError('MONEY_UNKNOWN_REFERENCE', `${event.type}: the payout is not known`);
  return context.payout;
}
