// The payment provider as the marketplace's escrow needs it: Stripe Connect's "separate charges and transfers".
// The hirer's card is charged and captured at once on the platform (transfer_group = the contract), each approved
// milestone is a transfer to the worker's connected account, a cancelled contract gets a partial refund of what was
// not released, and workers pay out from their connected account to their bank. Beside ordering's PaymentProvider
// (port.ts), which it shares its errors with: TransientProviderError (network error, timeout, 5xx, 429, a key still
// in use) is worth retrying with the same idempotency key; PermanentProviderError would be refused again. A card
// decline is not an error but the `declined` outcome.
//
// Every call takes an idempotency key: the same key always means the same operation (same parameters), so a
// retried or redelivered saga step never moves money twice.

export interface ChargeRequest {
  readonly contractId: string;
  readonly hirerId: string;
  readonly amountMinor: number;
  /** ISO 4217, upper case (EUR). */
  readonly currency: string;
  /** A payment method id (pm_…) or, with the simulator only, a test card number. */
  readonly cardToken: string;
}

export type ChargeResult =
  | {
      readonly outcome: 'captured';
      /** The Charge (ch_…): what transfers name as their source_transaction and what refunds refund. */
      readonly chargeRef: string;
      /** The PaymentIntent (pi_…) the charge belongs to, for reconciliation in Stripe's dashboard. */
      readonly paymentIntentRef: string;
    }
  | {
      readonly outcome: 'declined';
      /** The issuer's decline code (generic_decline, insufficient_funds…), or authentication_required. */
      readonly reason: string;
      /** The failed charge, when the provider made one; nothing is held either way. */
      readonly chargeRef: string | null;
      readonly paymentIntentRef: string | null;
    };

export interface TransferRequest {
  readonly contractId: string;
  /** The milestone release this transfer pays; sent as metadata. */
  readonly releaseId: string;
  /** The worker's connected account (acct_…). */
  readonly destinationAccountRef: string;
  readonly amountMinor: number;
  readonly currency: string;
  /** The contract's captured charge: the transfer draws on it, never on the platform's other funds. */
  readonly sourceChargeRef: string;
}

export interface PayoutRequest {
  readonly payoutId: string;
  readonly workerId: string;
  /** The worker's connected account, whose balance is paid out. */
  readonly accountRef: string;
  readonly amountMinor: number;
  readonly currency: string;
}

export interface ConnectProvider {
  /** A connected (Express/Custom) account for a worker; the key makes a retry return the same account. */
  openConnectedAccount(
    request: { readonly workerId: string; readonly country: string },
    idempotencyKey: string,
  ): Promise<{ readonly accountRef: string }>;
  /** Charge + capture at once on the platform, transfer_group = contractId, metadata { contractId, hirerId }. */
  charge(request: ChargeRequest, idempotencyKey: string): Promise<ChargeResult>;
  /**
   * A transfer from the platform to a connected account (transfer_group = contractId, source_transaction = the
   * charge, metadata { contractId, releaseId }). More than the charge has left (captured, less refunds and earlier
   * transfers) is a PermanentProviderError (balance_insufficient).
   */
  transfer(request: TransferRequest, idempotencyKey: string): Promise<{ readonly transferRef: string }>;
  /** Takes (part of) a transfer back from the connected account to the platform. */
  reverseTransfer(
    transferRef: string,
    amountMinor: number,
    idempotencyKey: string,
  ): Promise<{ readonly reversalRef: string }>;
  /** A (partial) refund of a captured charge; more than it has left is a PermanentProviderError (amount_too_large). */
  refundCharge(chargeRef: string, amountMinor: number, idempotencyKey: string): Promise<{ readonly refundRef: string }>;
  /**
   * A payout from the connected account's balance to its bank (Stripe-Account header); paid or failed later, by
   * webhook (payout.paid / payout.failed). metadata { payoutId, workerId }. More than the account's available
   * balance is a PermanentProviderError (balance_insufficient).
   */
  payout(request: PayoutRequest, idempotencyKey: string): Promise<{ readonly payoutRef: string }>;
}

/** What a verified Connect webhook tells the marketplace. Amounts are in minor units of the object's currency. */
export type ConnectNotification =
  | { kind: 'payout-paid'; payoutId: string; workerId: string; payoutRef: string; amountMinor: number }
  | {
      kind: 'payout-failed';
      payoutId: string;
      workerId: string;
      payoutRef: string;
      amountMinor: number;
      /** Stripe's failure_code (account_closed, no_account, insufficient_funds…). */
      reason: string;
    }
  /** amountRefundedMinor is the charge's total refunded so far (Stripe's amount_refunded), not this refund's. */
  | { kind: 'charge-refunded'; contractId: string; chargeRef: string; amountRefundedMinor: number }
  | { kind: 'ignored'; type: string };

export interface VerifiedConnectWebhook {
  /** The provider's event id: the idempotency key of what we record from it. */
  readonly eventId: string;
  /** The connected account the event happened on (Stripe's event.account); null for the platform's own events. */
  readonly account: string | null;
  readonly notification: ConnectNotification;
}
