import type { WalletEvent } from '../../../schemas/marketplace/events.js';
import { MoneyInvariantError } from './errors.js';

// Pure: one payout's status, folded from the wallet stream's payout events. REQUESTED reserves the amount,
// SENT (the provider accepted it) changes nothing to the money, PAID puts it in the bank, FAILED gives it back.
// A payout can fail after it was paid: Stripe reports some bank returns as `payout.failed` after `payout.paid`, so
// FAILED is accepted after PAID too (the postings then take the money back from the bank, see postings.ts).

export type PayoutStatus = 'REQUESTED' | 'SENT' | 'PAID' | 'FAILED';

export interface Payout {
  readonly payoutId: string;
  readonly workerId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly status: PayoutStatus;
  readonly payoutRef: string | null;
  readonly failureReason: string | null;
  readonly requestedAt: string;
  readonly sentAt: string | null;
  readonly paidAt: string | null;
  readonly failedAt: string | null;
}

export type PayoutEvent = Extract<
  WalletEvent,
  { type: 'PayoutRequested' | 'PayoutSent' | 'PayoutPaid' | 'PayoutFailed' }
>;

export const isPayoutEvent = (event: WalletEvent): event is PayoutEvent =>
  event.type === 'PayoutRequested' ||
  event.type === 'PayoutSent' ||
  event.type === 'PayoutPaid' ||
  event.type === 'PayoutFailed';

/** The payout after `event`; `payout` is null before its PayoutRequested. */
export function evolvePayout(payout: Payout | null, event: PayoutEvent): Payout {
  const d = event.data;
  if (event.type === 'PayoutRequested') {
    if (payout) throw invalid(`payout ${d.payoutId} was requested already`, d.payoutId);
    if (!Number.isSafeInteger(event.data.amountMinor) || event.data.amountMinor <= 0)
      throw new MoneyInvariantError('MONEY_AMOUNT_INVALID', `payout ${d.payoutId} of ${event.data.amountMinor}`, {
        payoutId: d.payoutId,
      });
    return {
      payoutId: d.payoutId,
      workerId: d.workerId,
      amountMinor: event.data.amountMinor,
      currency: event.data.currency,
      status: 'REQUESTED',
      payoutRef: null,
      failureReason: null,
      requestedAt: event.data.requestedAt,
      sentAt: null,
      paidAt: null,
      failedAt: null,
    };
  }
  if (!payout)
    throw new MoneyInvariantError(
      'MONEY_UNKNOWN_REFERENCE',
      `${event.type} for payout ${d.payoutId}, never requested`,
      {
        payoutId: d.payoutId,
      },
    );
  if (d.amountMinor !== payout.amountMinor)
    throw new MoneyInvariantError(
      'MONEY_AMOUNT_INVALID',
      `${event.type} of ${d.amountMinor} for payout ${d.payoutId} of ${payout.amountMinor}`,
      { payoutId: d.payoutId },
    );
  switch (event.type) {
    case 'PayoutSent':
      // A late PayoutSent (after the webhook said paid or failed) only records the provider's reference.
      if (payout.status !== 'REQUESTED') return { ...payout, payoutRef: event.data.payoutRef };
      return { ...payout, status: 'SENT', payoutRef: event.data.payoutRef, sentAt: event.data.sentAt };
    case 'PayoutPaid':
      if (payout.status !== 'REQUESTED' && payout.status !== 'SENT')
        throw invalid(`payout ${d.payoutId} is ${payout.status}, it cannot be paid`, d.payoutId);
      return { ...payout, status: 'PAID', payoutRef: event.data.payoutRef, paidAt: event.data.paidAt };
    case 'PayoutFailed':
      if (payout.status === 'FAILED') throw invalid(`payout ${d.payoutId} failed already`, d.payoutId);
      return { ...payout, status: 'FAILED', failureReason: event.data.reason, failedAt: event.data.failedAt };
  }
}

const invalid = (message: string, payoutId: string) =>
  new MoneyInvariantError('MONEY_STATE_INVALID', message, { payoutId });
