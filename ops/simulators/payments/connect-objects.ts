// Connect's objects as the simulator keeps them, and the Stripe-shaped JSON it answers with (Account, Transfer,
// TransferReversal, Payout, Balance: the fields the SDK's types name and a client is likely to read).

export interface AccountRecord {
  readonly id: string;
  readonly created: number;
  readonly type: 'custom' | 'express' | 'standard';
  readonly country: string;
  readonly defaultCurrency: string;
  /** The capabilities requested, all active at once (Stripe waits for onboarding; the simulator has none). */
  readonly capabilities: readonly string[];
  readonly payoutInterval: 'manual' | 'daily' | 'weekly' | 'monthly';
  readonly metadata: Readonly<Record<string, string>>;
  /** The external bank account payouts go to. */
  readonly bankAccount: string;
}

export interface TransferRecord {
  readonly id: string;
  readonly created: number;
  readonly amount: number;
  readonly currency: string;
  readonly destination: string;
  readonly destinationPayment: string;
  readonly sourceTransaction: string | null;
  readonly transferGroup: string | null;
  readonly description: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly balanceTransaction: string;
  amountReversed: number;
  readonly reversals: ReversalRecord[];
}

export interface ReversalRecord {
  readonly id: string;
  readonly created: number;
  readonly amount: number;
  readonly currency: string;
  readonly transfer: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly balanceTransaction: string;
}

export type PayoutStatus = 'pending' | 'paid' | 'failed';

export interface PayoutRecord {
  readonly id: string;
  readonly created: number;
  /** The account paid out from: a connected account's acct_… id, or the platform. */
  readonly account: string;
  readonly amount: number;
  readonly currency: string;
  readonly destination: string;
  readonly method: 'standard' | 'instant';
  readonly description: string | null;
  readonly statementDescriptor: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly balanceTransaction: string;
  status: PayoutStatus;
  failure: { readonly code: string; readonly message: string; readonly balanceTransaction: string } | null;
}

export function accountJson(account: AccountRecord): Record<string, unknown> {
  return {
    id: account.id,
    object: 'account',
    business_type: null,
    capabilities: Object.fromEntries(account.capabilities.map((name) => [name, 'active'])),
    charges_enabled: account.capabilities.includes('card_payments'),
    country: account.country,
    created: account.created,
    default_currency: account.defaultCurrency,
    details_submitted: true,
    email: null,
    external_accounts: {
      object: 'list',
      data: [{ id: account.bankAccount, object: 'bank_account', account: account.id, status: 'new' }],
      has_more: false,
      total_count: 1,
      url: `/v1/accounts/${account.id}/external_accounts`,
    },
    metadata: account.metadata,
    payouts_enabled: true,
    settings: { payouts: { schedule: { interval: account.payoutInterval, delay_days: 2 } } },
    type: account.type,
  };
}

export function transferJson(transfer: TransferRecord): Record<string, unknown> {
  return {
    id: transfer.id,
    object: 'transfer',
    amount: transfer.amount,
    amount_reversed: transfer.amountReversed,
    balance_transaction: transfer.balanceTransaction,
    created: transfer.created,
    currency: transfer.currency,
    description: transfer.description,
    destination: transfer.destination,
    destination_payment: transfer.destinationPayment,
    livemode: false,
    metadata: transfer.metadata,
    reversals: {
      object: 'list',
      data: transfer.reversals.map(reversalJson),
      has_more: false,
      total_count: transfer.reversals.length,
      url: `/v1/transfers/${transfer.id}/reversals`,
    },
    reversed: transfer.amountReversed >= transfer.amount,
    source_transaction: transfer.sourceTransaction,
    source_type: 'card',
    transfer_group: transfer.transferGroup,
  };
}

export function reversalJson(reversal: ReversalRecord): Record<string, unknown> {
  return {
    id: reversal.id,
    object: 'transfer_reversal',
    amount: reversal.amount,
    balance_transaction: reversal.balanceTransaction,
    created: reversal.created,
    currency: reversal.currency,
    destination_payment_refund: null,
    metadata: reversal.metadata,
    source_refund: null,
    transfer: reversal.transfer,
  };
}

export function payoutJson(payout: PayoutRecord): Record<string, unknown> {
  return {
    id: payout.id,
    object: 'payout',
    amount: payout.amount,
    application_fee: null,
    application_fee_amount: null,
    arrival_date: payout.created,
    automatic: false,
    balance_transaction: payout.balanceTransaction,
    created: payout.created,
    currency: payout.currency,
    description: payout.description,
    destination: payout.destination,
    failure_balance_transaction: payout.failure?.balanceTransaction ?? null,
    failure_code: payout.failure?.code ?? null,
    failure_message: payout.failure?.message ?? null,
    livemode: false,
    metadata: payout.metadata,
    method: payout.method,
    original_payout: null,
    payout_method: null,
    reconciliation_status: 'not_applicable',
    reversed_by: null,
    source_type: 'card',
    statement_descriptor: payout.statementDescriptor,
    status: payout.status,
    trace_id: null,
    type: 'bank_account',
  };
}

export function balanceJson(available: ReadonlyMap<string, number>, fallbackCurrency: string): Record<string, unknown> {
  const entries = available.size === 0 ? new Map([[fallbackCurrency, 0]]) : available;
  const amounts = [...entries].map(([currency, amount]) => ({ amount, currency, source_types: { card: amount } }));
  return {
    object: 'balance',
    available: amounts,
    pending: amounts.map(({ currency }) => ({ amount: 0, currency, source_types: { card: 0 } })),
    livemode: false,
  };
}
