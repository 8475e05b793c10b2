import type { WalletEvent } from '../../schemas/marketplace/events.js';
import { type DecideContext, type Decider, DomainError, type Existing, type NoStream, noStream } from '../decider.js';

// A worker's wallet (`wallet-<workerId>`): what their connected account at the provider holds for them. Released
// milestones credit it (once per release or dispute settlement: `sourceId`), payouts to their bank debit it, one
// at a time, never below zero: the amount of a payout is reserved when it is requested and comes back only if the
// provider reports the payout failed.

export type { WalletEvent };

/** The smallest payout, in minor units (bank transfers cost the platform a fixed fee). */
export const MIN_PAYOUT_MINOR = 1_000;

export interface PayoutInFlight {
  readonly payoutId: string;
  readonly amountMinor: number;
  /** REQUESTED: not yet accepted by the provider; SENT: accepted, paid or failed later. */
  readonly status: 'REQUESTED' | 'SENT';
  readonly payoutRef: string | null;
}

export type Wallet =
  | NoStream
  | {
      readonly status: 'OPEN';
      readonly workerId: string;
      readonly accountRef: string;
      readonly currency: string;
      readonly availableMinor: number;
      readonly payout: PayoutInFlight | null;
      /** Every release or settlement credited, so a redelivered one credits nothing. */
      readonly credited: readonly string[];
      /** Payouts the bank was paid: a bank may still return one (payout.failed after payout.paid). */
      readonly paid: readonly EndedPayout[];
      /** Payouts that failed: their amount is back, and a late notice changes nothing. */
      readonly failed: readonly EndedPayout[];
    };

export interface EndedPayout {
  readonly payoutId: string;
  readonly amountMinor: number;
  readonly payoutRef: string | null;
}

export type ExistingWallet = Existing<Wallet>;

/**
 * Where a provider notice came from: the connected account it happened on and the payout object it is about.
 * Both must be the wallet's own (its account, the payout the provider answered with), or the notice is refused.
 */
export interface NoticeSource {
  readonly accountRef: string | null;
  readonly payoutRef: string;
}

export type WalletCommand =
  | { type: 'OpenWallet'; data: { workerId: string; accountRef: string; currency: string } }
  | {
      type: 'CreditWallet';
      data: {
        workerId: string;
        contractId: string;
        milestoneId: string;
        sourceId: string;
        amountMinor: number;
        currency: string;
      };
    }
  | { type: 'RequestPayout'; data: { workerId: string; payoutId: string; amountMinor: number } }
  | { type: 'RecordPayoutSent'; data: { workerId: string; payoutId: string; payoutRef: string } }
  /** From the provider's webhook (`notice` says where it came from). */
  | { type: 'RecordPayoutPaid'; data: { workerId: string; payoutId: string; notice: NoticeSource } }
  /** From the provider's webhook (`notice`), or from the payout process when the provider refused the payout. */
  | { type: 'RecordPayoutFailed'; data: { workerId: string; payoutId: string; reason: string; notice?: NoticeSource } };

export const walletNotFound = (workerId: string) =>
  new DomainError('not_found', 'WALLET_NOT_FOUND', 'you have no wallet yet: it opens with your first release', {
    workerId,
  });

const mustExist = (state: Wallet, workerId: string): ExistingWallet => {
  if (state.status === 'none') throw walletNotFound(workerId);
  return state;
};

/**
 * Refuses a provider notice that is not about this wallet's payout: from another connected account, or about
 * another payout object than the one the provider answered with (when that answer was recorded).
 */
function checkNotice(wallet: ExistingWallet, payoutId: string, payoutRef: string | null, notice: NoticeSource): void {
  if (notice.accountRef !== wallet.accountRef || (payoutRef !== null && notice.payoutRef !== payoutRef)) {
    throw new DomainError('conflict', 'PAYOUT_NOTICE_MISMATCH', `the notice is not about payout ${payoutId}`, {
      payoutId,
    });
  }
}

/** The payout the provider tells us about, or null when it is not the one in flight (late, or unknown). */
const inFlight = (wallet: ExistingWallet, payoutId: string): PayoutInFlight | null =>
  wallet.payout?.payoutId === payoutId ? wallet.payout : null;

export function decideWallet(command: WalletCommand, state: Wallet, { now }: DecideContext): WalletEvent[] {
  const at = now.toISOString();
  const { workerId } = command.data;
  switch (command.type) {
    case 'OpenWallet': {
      if (state.status !== 'none') return [];
      const { accountRef, currency } = command.data;
      return [{ type: 'WalletOpened', data: { workerId, accountRef, currency, openedAt: at } }];
    }
    case 'CreditWallet': {
      const wallet = mustExist(state, workerId);
      const d = command.data;
      if (wallet.credited.includes(d.sourceId)) return [];
      if (d.currency !== wallet.currency) {
        throw new DomainError('conflict', 'WALLET_CURRENCY_MISMATCH', `this wallet holds ${wallet.currency}`, {
          workerId,
          currency: d.currency,
        });
      }
      if (!Number.isSafeInteger(d.amountMinor) || d.amountMinor < 0) {
        throw new DomainError('invalid', 'INVALID_AMOUNT', 'a credit is a whole number of minor units', { workerId });
      }
      return [{ type: 'WalletCredited', data: { ...d, creditedAt: at } }];
    }
    case 'RequestPayout': {
      const wallet = mustExist(state, workerId);
      const { payoutId, amountMinor } = command.data;
      const known = [...(wallet.payout ? [wallet.payout] : []), ...wallet.paid, ...wallet.failed].find(
        (p) => p.payoutId === payoutId,
      );
      if (known) {
        // The same request again is answered as before; another amount under a known id is another request.
        if (known.amountMinor === amountMinor) return [];
        throw new DomainError('conflict', 'PAYOUT_ID_REUSED', `payout id ${payoutId} was used for another amount`, {
          payoutId,
        });
      }
      if (!Number.isSafeInteger(amountMinor) || amountMinor < MIN_PAYOUT_MINOR) {
        throw new DomainError('invalid', 'PAYOUT_TOO_SMALL', `a payout is at least ${MIN_PAYOUT_MINOR} minor units`, {
          amountMinor,
          minimumMinor: MIN_PAYOUT_MINOR,
        });
      }
      if (wallet.payout) {
        throw new DomainError('conflict', 'PAYOUT_IN_PROGRESS', 'one payout at a time: wait for the current one', {
          payoutId: wallet.payout.payoutId,
        });
      }
      if (amountMinor > wallet.availableMinor) {
        throw new DomainError('conflict', 'INSUFFICIENT_FUNDS', `only ${wallet.availableMinor} is available`, {
          amountMinor,
          availableMinor: wallet.availableMinor,
        });
      }
      return [
        {
          type: 'PayoutRequested',
          data: { workerId, payoutId, amountMinor, currency: wallet.currency, requestedAt: at },
        },
      ];
    }
    case 'RecordPayoutSent': {
      const wallet = mustExist(state, workerId);
      const payout = inFlight(wallet, command.data.payoutId);
      if (!payout || payout.status === 'SENT') return [];
      const { payoutId, payoutRef } = command.data;
      return [
        { type: 'PayoutSent', data: { workerId, payoutId, payoutRef, amountMinor: payout.amountMinor, sentAt: at } },
      ];
    }
    case 'RecordPayoutPaid': {
      const wallet = mustExist(state, workerId);
      const { payoutId, notice } = command.data;
      const payout = inFlight(wallet, payoutId);
      if (!payout) return [];
      checkNotice(wallet, payoutId, payout.payoutRef, notice);
      return [
        {
          type: 'PayoutPaid',
          data: { workerId, payoutId, payoutRef: notice.payoutRef, amountMinor: payout.amountMinor, paidAt: at },
        },
      ];
    }
    case 'RecordPayoutFailed': {
      const wallet = mustExist(state, workerId);
      const { payoutId, reason, notice } = command.data;
      if (wallet.failed.some((p) => p.payoutId === payoutId)) return [];
      // In flight, or paid and then returned by the bank: either way its amount comes back, once.
      const payout = inFlight(wallet, payoutId) ?? wallet.paid.find((p) => p.payoutId === payoutId) ?? null;
      if (!payout) return [];
      if (notice) checkNotice(wallet, payoutId, payout.payoutRef, notice);
      else if (payout !== wallet.payout) return []; // only the provider can return a paid payout
      return [
        { type: 'PayoutFailed', data: { workerId, payoutId, amountMinor: payout.amountMinor, reason, failedAt: at } },
      ];
    }
  }
}

export function evolveWallet(state: Wallet, event: WalletEvent): Wallet {
  if (event.type === 'WalletOpened') {
    const { workerId, accountRef, currency } = event.data;
    return {
      status: 'OPEN',
      workerId,
      accountRef,
      currency,
      availableMinor: 0,
      payout: null,
      credited: [],
      paid: [],
      failed: [],
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'WalletCredited':
      return {
        ...state,
        availableMinor: state.availableMinor + event.data.amountMinor,
        credited: [...state.credited, event.data.sourceId],
      };
    case 'PayoutRequested': {
      const { payoutId, amountMinor } = event.data;
      return {
        ...state,
        availableMinor: state.availableMinor - amountMinor,
        payout: { payoutId, amountMinor, status: 'REQUESTED', payoutRef: null },
      };
    }
    case 'PayoutSent':
      return state.payout
        ? { ...state, payout: { ...state.payout, status: 'SENT', payoutRef: event.data.payoutRef } }
        : state;
    case 'PayoutPaid': {
      const { payoutId, amountMinor } = event.data;
      return {
        ...state,
        payout: state.payout?.payoutId === payoutId ? null : state.payout,
        paid: [...state.paid, { payoutId, amountMinor, payoutRef: event.data.payoutRef }],
      };
    }
    case 'PayoutFailed': {
      const { payoutId, amountMinor } = event.data;
      return {
        ...state,
        availableMinor: state.availableMinor + amountMinor,
        payout: state.payout?.payoutId === payoutId ? null : state.payout,
        failed: [...state.failed, { payoutId, amountMinor, payoutRef: null }],
      };
    }
  }
}

export const walletDecider: Decider<WalletCommand, WalletEvent, Wallet, DecideContext> = {
  decide: decideWallet,
  evolve: evolveWallet,
  initialState: noStream,
};
