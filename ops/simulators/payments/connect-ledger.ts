import { type Balances, PLATFORM } from './balances.js';
import {
  type AccountRecord,
  accountJson,
  balanceJson,
  type PayoutRecord,
  payoutJson,
  type ReversalRecord,
  reversalJson,
  type TransferRecord,
  transferJson,
} from './connect-objects.js';
import { accountInvalid, invalidParam, invalidState, resourceMissing } from './errors.js';
import type { FormObject, FormValue } from './form.js';
import type { Effect, PaymentLedger, Reply, RequestContext } from './ledger.js';
import { newId, nowSeconds } from './objects.js';
import {
  allowOnly,
  metadata,
  optionalAmount,
  optionalBoolean,
  optionalEnum,
  optionalString,
  requiredAmount,
  requiredString,
} from './params.js';

// Stripe Connect's "separate charges and transfers" as the marketplace uses it: connected accounts, transfers from
// the platform to them (drawing on a charge with source_transaction), reversals, and payouts from a connected
// account's balance to its bank (Stripe-Account header), paid or failed a moment later by webhook. Like the
// PaymentLedger, each operation validates first (refusals the idempotency layer does not store), then acts.

/**
 * How a test makes a payout fail, deterministically: a payout whose amount ends in 13 minor units (1013, 2513…)
 * fails with `account_closed` (its amount goes back to the account's balance); every other payout is paid.
 */
export const TEST_PAYOUTS = {
  failingMinorUnits: 13,
  failureCode: 'account_closed',
  failureMessage: 'The bank account has been closed.',
} as const;

export const payoutFails = (amountMinor: number): boolean => amountMinor % 100 === TEST_PAYOUTS.failingMinorUnits;

export interface ConnectLedgerOptions {
  /** How long a payout stays pending before it is paid (or fails). */
  readonly payoutDelayMs: number;
}

// An account's default currency by country, for the few countries a test is likely to use (else usd).
const EURO_COUNTRIES = ['AT', 'BE', 'DE', 'ES', 'FI', 'FR', 'GR', 'IE', 'IT', 'LU', 'NL', 'PT'];
const CURRENCY_OF: ReadonlyMap<string, string> = new Map([
  ...EURO_COUNTRIES.map((country): [string, string] => [country, 'eur']),
  ['GB', 'gbp'],
  ['CH', 'chf'],
  ['US', 'usd'],
]);

const LIST_LIMIT_DEFAULT = 10;
const LIST_LIMIT_MAX = 100;

export class ConnectLedger {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly transfers = new Map<string, TransferRecord>();
  private readonly payouts = new Map<string, PayoutRecord>();
  /** Per charge: what transfers drawing on it have taken, less what was reversed. */
  private readonly transferredFrom = new Map<string, number>();

  constructor(
    private readonly payments: PaymentLedger,
    private readonly balances: Balances,
    private readonly options: ConnectLedgerOptions,
  ) {}

  createAccount(params: FormObject): Reply {
    allowOnly(params, [
      'type',
      'country',
      'capabilities',
      'metadata',
      'settings',
      'email',
      'business_type',
      'default_currency',
    ]);
    const type = optionalEnum(params, 'type', ['custom', 'express', 'standard']);
    if (type === undefined) throw invalidParam('Missing required param: type.', 'type', 'parameter_missing');
    const country = (optionalString(params, 'country') ?? 'US').toUpperCase();
    if (!/^[A-Z]{2}$/.test(country)) {
      throw invalidParam(`Invalid country: ${country}.`, 'country', 'country_unsupported');
    }
    const capabilities = requestedCapabilities(params.capabilities);
    const payoutInterval = payoutIntervalOf(params.settings);
    const accountMetadata = metadata(params);
    const defaultCurrency = (
      optionalString(params, 'default_currency') ??
      CURRENCY_OF.get(country) ??
      'usd'
    ).toLowerCase();

    const account: AccountRecord = {
      id: newId('acct'),
      created: nowSeconds(),
      type,
      country,
      defaultCurrency,
      capabilities,
      payoutInterval,
      metadata: accountMetadata,
      bankAccount: newId('ba'),
    };
    this.accounts.set(account.id, account);
    // Stripe sends no event for an account created through the API (account.updated follows onboarding).
    return {
      status: 200,
      body: accountJson(account),
      effect: { paymentIntent: null, objectId: account.id, result: 'created', card: null, event: null },
    };
  }

  retrieveAccount(id: string): Reply {
    return { status: 200, body: accountJson(this.account(id, 'account')), effect: null };
  }

  createTransfer(params: FormObject): Reply {
    allowOnly(params, [
      'amount',
      'currency',
      'destination',
      'source_transaction',
      'transfer_group',
      'metadata',
      'description',
      'source_type',
    ]);
    const amount = requiredAmount(params, 'amount');
    const currency = requiredCurrency(params);
    const destinationId = requiredString(params, 'destination');
    const sourceId = optionalString(params, 'source_transaction');
    const transferGroup = optionalString(params, 'transfer_group') ?? null;
    const description = optionalString(params, 'description') ?? null;
    optionalEnum(params, 'source_type', ['card', 'bank_account', 'fpx']);
    const transferMetadata = metadata(params);
    const destination = this.accounts.get(destinationId);
    if (destination === undefined) throw resourceMissing('destination', destinationId, 'destination');
    const source = sourceId === undefined ? null : this.payments.charge(sourceId);
    if (source === undefined) throw resourceMissing('charge', sourceId ?? '', 'source_transaction');

    // From here on the refusals depend on the state of the charge or balance: stored under the idempotency key.
    if (source !== null) {
      if (source.status !== 'succeeded' || !source.captured) {
        throw invalidState(`The source_transaction ${source.id} has no captured funds to transfer.`, {
          param: 'source_transaction',
        });
      }
      if (source.currency !== currency) {
        throw invalidState(
          `The currency of the transfer (${currency}) must match the currency of the source_transaction ${source.id} (${source.currency}).`,
          { param: 'currency' },
        );
      }
      const left = source.amountCaptured - source.amountRefunded - (this.transferredFrom.get(source.id) ?? 0);
      if (amount > left) {
        throw invalidState(
          `Insufficient funds in the source_transaction ${source.id}: the transfer (${money(amount, currency)}) is more than it has left (${money(left, currency)}: captured, less refunds and earlier transfers).`,
          { code: 'balance_insufficient', param: 'amount' },
        );
      }
    } else if (amount > this.balances.available(PLATFORM, currency)) {
      throw invalidState(
        `You have insufficient available funds in your Stripe account (${money(this.balances.available(PLATFORM, currency), currency)}) for this transfer of ${money(amount, currency)}.`,
        { code: 'balance_insufficient', param: 'amount' },
      );
    }

    const transfer: TransferRecord = {
      id: newId('tr'),
      created: nowSeconds(),
      amount,
      currency,
      destination: destination.id,
      destinationPayment: newId('py'),
      sourceTransaction: source?.id ?? null,
      transferGroup,
      description,
      metadata: transferMetadata,
      balanceTransaction: newId('txn'),
      amountReversed: 0,
      reversals: [],
    };
    this.transfers.set(transfer.id, transfer);
    if (source !== null) this.transferredFrom.set(source.id, (this.transferredFrom.get(source.id) ?? 0) + amount);
    this.balances.debit(PLATFORM, currency, amount);
    this.balances.credit(destination.id, currency, amount);
    const body = transferJson(transfer);
    return { status: 200, body, effect: this.transferEffect(transfer, 'created', 'transfer.created', body) };
  }

  retrieveTransfer(id: string): Reply {
    return { status: 200, body: transferJson(this.transfer(id)), effect: null };
  }

  /** Newest first, as Stripe lists; `starting_after` pages on. */
  listTransfers(params: FormObject): Reply {
    allowOnly(params, ['transfer_group', 'destination', 'limit', 'starting_after']);
    const group = optionalString(params, 'transfer_group');
    const destination = optionalString(params, 'destination');
    const limit = optionalAmount(params, 'limit') ?? LIST_LIMIT_DEFAULT;
    if (limit > LIST_LIMIT_MAX) {
      throw invalidParam(`limit must be at most ${LIST_LIMIT_MAX}.`, 'limit', 'parameter_invalid_integer');
    }
    const after = optionalString(params, 'starting_after');
    const matching = [...this.transfers.values()]
      .reverse()
      .filter(
        (transfer) =>
          (group === undefined || transfer.transferGroup === group) &&
          (destination === undefined || transfer.destination === destination),
      );
    const start = after === undefined ? 0 : matching.findIndex((transfer) => transfer.id === after) + 1;
    if (after !== undefined && start === 0) throw resourceMissing('transfer', after, 'starting_after');
    const page = matching.slice(start, start + limit);
    return {
      status: 200,
      body: {
        object: 'list',
        data: page.map(transferJson),
        has_more: start + limit < matching.length,
        url: '/v1/transfers',
      },
      effect: null,
    };
  }

  reverseTransfer(id: string, params: FormObject): Reply {
    allowOnly(params, ['amount', 'metadata', 'description', 'refund_application_fee']);
    const requested = optionalAmount(params, 'amount');
    optionalBoolean(params, 'refund_application_fee');
    const reversalMetadata = metadata(params);
    const transfer = this.transfer(id);
    const left = transfer.amount - transfer.amountReversed;
    if (left <= 0) throw invalidState(`Transfer ${transfer.id} has already been fully reversed.`);
    const amount = requested ?? left;
    if (amount > left) {
      throw invalidState(
        `The reversal amount (${money(amount, transfer.currency)}) is more than the transfer has left to reverse (${money(left, transfer.currency)}).`,
        { code: 'amount_too_large', param: 'amount' },
      );
    }
    const held = this.balances.available(transfer.destination, transfer.currency);
    if (amount > held) {
      throw invalidState(
        `The connected account ${transfer.destination} has insufficient available funds (${money(held, transfer.currency)}) for this reversal.`,
        { code: 'balance_insufficient', param: 'amount' },
      );
    }
    const reversal: ReversalRecord = {
      id: newId('trr'),
      created: nowSeconds(),
      amount,
      currency: transfer.currency,
      transfer: transfer.id,
      metadata: reversalMetadata,
      balanceTransaction: newId('txn'),
    };
    transfer.reversals.push(reversal);
    transfer.amountReversed += amount;
    if (transfer.sourceTransaction !== null) {
      const taken = this.transferredFrom.get(transfer.sourceTransaction) ?? 0;
      this.transferredFrom.set(transfer.sourceTransaction, taken - amount);
    }
    this.balances.debit(transfer.destination, transfer.currency, amount);
    this.balances.credit(PLATFORM, transfer.currency, amount);
    const result = transfer.amountReversed >= transfer.amount ? 'reversed' : 'partially_reversed';
    return {
      status: 200,
      body: reversalJson(reversal),
      effect: {
        ...this.transferEffect(transfer, result, 'transfer.reversed', transferJson(transfer)),
        objectId: reversal.id,
      },
    };
  }

  /** From the Stripe-Account's balance (the platform's without the header) to its bank; settled later. */
  createPayout(params: FormObject, context: RequestContext): Reply {
    allowOnly(params, [
      'amount',
      'currency',
      'metadata',
      'description',
      'method',
      'statement_descriptor',
      'destination',
      'source_type',
    ]);
    const amount = requiredAmount(params, 'amount');
    const currency = requiredCurrency(params);
    const payoutMetadata = metadata(params);
    const description = optionalString(params, 'description') ?? null;
    const method = optionalEnum(params, 'method', ['standard', 'instant']) ?? 'standard';
    const statementDescriptor = optionalString(params, 'statement_descriptor') ?? null;
    const requestedDestination = optionalString(params, 'destination');
    optionalEnum(params, 'source_type', ['card', 'bank_account', 'fpx']);
    const account = this.scope(context);
    const bankAccount = account === PLATFORM ? 'ba_platform' : this.account(account, 'account').bankAccount;
    if (requestedDestination !== undefined && requestedDestination !== bankAccount) {
      throw resourceMissing('external account', requestedDestination, 'destination');
    }

    const available = this.balances.available(account, currency);
    if (amount > available) {
      throw invalidState(
        `You have insufficient funds in your Stripe account for this payout: ${money(available, currency)} available, ${money(amount, currency)} requested.`,
        { code: 'balance_insufficient', param: 'amount' },
      );
    }
    const payout: PayoutRecord = {
      id: newId('po'),
      created: nowSeconds(),
      account,
      amount,
      currency,
      destination: bankAccount,
      method,
      description,
      statementDescriptor,
      metadata: payoutMetadata,
      balanceTransaction: newId('txn'),
      status: 'pending',
      failure: null,
    };
    this.payouts.set(payout.id, payout);
    this.balances.debit(account, currency, amount);
    const body = payoutJson(payout);
    return {
      status: 200,
      body,
      effect: this.payoutEffect(payout, 'payout.created', body),
      later: { afterMs: this.options.payoutDelayMs, settle: () => this.settlePayout(payout) },
    };
  }

  retrievePayout(id: string, context: RequestContext): Reply {
    const payout = this.payouts.get(id);
    if (payout === undefined || payout.account !== this.scope(context)) throw resourceMissing('payout', id, 'id');
    return { status: 200, body: payoutJson(payout), effect: null };
  }

  retrieveBalance(context: RequestContext): Reply {
    const account = this.scope(context);
    const fallback = account === PLATFORM ? 'usd' : this.account(account, 'account').defaultCurrency;
    return { status: 200, body: balanceJson(this.balances.of(account), fallback), effect: null };
  }

  /** The account a request acts on: the Stripe-Account header's (which must exist) or the platform. */
  private scope(context: RequestContext): string {
    if (context.stripeAccount === null) return PLATFORM;
    if (!this.accounts.has(context.stripeAccount)) throw accountInvalid(context.stripeAccount);
    return context.stripeAccount;
  }

  private settlePayout(payout: PayoutRecord): Effect {
    if (payoutFails(payout.amount)) {
      payout.status = 'failed';
      payout.failure = {
        code: TEST_PAYOUTS.failureCode,
        message: TEST_PAYOUTS.failureMessage,
        balanceTransaction: newId('txn'),
      };
      // The bank returned it: the money is back in the account's balance.
      this.balances.credit(payout.account, payout.currency, payout.amount);
    } else {
      payout.status = 'paid';
    }
    return this.payoutEffect(payout, `payout.${payout.status}`, payoutJson(payout));
  }

  private payoutEffect(payout: PayoutRecord, type: string, object: Record<string, unknown>): Effect {
    return {
      paymentIntent: null,
      objectId: payout.id,
      result: payout.status,
      card: null,
      ...(payout.account === PLATFORM ? {} : { account: payout.account }),
      event: { type, object },
    };
  }

  private transferEffect(
    transfer: TransferRecord,
    result: string,
    type: string,
    object: Record<string, unknown>,
  ): Effect {
    const source = transfer.sourceTransaction === null ? undefined : this.payments.charge(transfer.sourceTransaction);
    return {
      paymentIntent: source?.paymentIntent ?? null,
      objectId: transfer.id,
      result,
      card: null,
      event: { type, object },
    };
  }

  private account(id: string, param: string): AccountRecord {
    const account = this.accounts.get(id);
    if (account === undefined) throw resourceMissing('account', id, param);
    return account;
  }

  private transfer(id: string): TransferRecord {
    const transfer = this.transfers.get(id);
    if (transfer === undefined) throw resourceMissing('transfer', id, 'id');
    return transfer;
  }
}

function requiredCurrency(params: FormObject): string {
  const currency = requiredString(params, 'currency').toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) {
    throw invalidParam(`Invalid currency: ${currency}.`, 'currency', 'parameter_invalid_string');
  }
  return currency;
}

/** `capabilities[transfers][requested]=true` → ['transfers']. */
function requestedCapabilities(value: FormValue | undefined): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string' || Array.isArray(value)) {
    throw invalidParam('Invalid object: capabilities must be a hash', 'capabilities', 'parameter_invalid_string');
  }
  const requested: string[] = [];
  for (const [name, entry] of Object.entries(value)) {
    const param = `capabilities[${name}]`;
    if (typeof entry === 'string' || Array.isArray(entry)) {
      throw invalidParam(`Invalid object: ${param} must be a hash`, param, 'parameter_invalid_string');
    }
    allowOnly(entry, ['requested']);
    if (optionalBoolean(entry, 'requested') === true) requested.push(name);
  }
  return requested;
}

/** `settings[payouts][schedule][interval]`, Stripe's default (daily) when absent. */
function payoutIntervalOf(value: FormValue | undefined): AccountRecord['payoutInterval'] {
  const interval = nested(value, ['payouts', 'schedule', 'interval']);
  if (interval === undefined) return 'daily';
  const known = (['manual', 'daily', 'weekly', 'monthly'] as const).find((candidate) => candidate === interval);
  if (known === undefined) {
    throw invalidParam(
      'Invalid settings[payouts][schedule][interval]: must be one of manual, daily, weekly, monthly',
      'settings[payouts][schedule][interval]',
      'parameter_invalid_string',
    );
  }
  return known;
}

function nested(value: FormValue | undefined, path: readonly string[]): FormValue | undefined {
  let current = value;
  for (const key of path) {
    if (current === undefined || typeof current === 'string' || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, key) ? current[key] : undefined;
  }
  return current;
}

const money = (minor: number, currency: string): string => `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;
