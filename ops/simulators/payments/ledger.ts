import { setTimeout as sleep } from 'node:timers/promises';
import { type Balances, PLATFORM } from './balances.js';
import { resolveTestCard, type TestCard } from './cards.js';
import { invalidParam, invalidState, providerFailure, resourceMissing, type StripeErrorBody } from './errors.js';
import type { FormObject } from './form.js';
import {
  type ChargeRecord,
  chargeJson,
  type IntentRecord,
  type IntentStatus,
  intentJson,
  newId,
  nowSeconds,
  type RefundRecord,
  refundJson,
} from './objects.js';
import {
  allowOnly,
  metadata,
  optionalAmount,
  optionalBoolean,
  optionalEnum,
  optionalString,
  optionalStringList,
  requiredAmount,
  requiredString,
} from './params.js';

// The simulated account: PaymentIntents, their charges and refunds, and the transitions Stripe allows between
// them. Each operation validates first (throwing refusals the idempotency layer does not store), then acts and
// returns the answer with the effect it had, if any, and the event Stripe would send for it.

/** What an operation changed: one entry of the call log and, when Stripe would send one, one webhook event. */
export interface Effect {
  /** The PaymentIntent concerned; null for Connect objects (accounts, transfers, payouts). */
  readonly paymentIntent: string | null;
  /** The object created or changed: pi_… for intents, re_… for refunds, acct_…, tr_…, trr_…, po_… */
  readonly objectId: string;
  /** The intent's status afterwards, `refunded` / `partially_refunded` for a refund, or the Connect object's. */
  readonly result: string;
  /** The test card number, for creations. */
  readonly card: string | null;
  /** The connected account the change happened on (the event's `account`); absent for the platform's own. */
  readonly account?: string;
  readonly event: { readonly type: string; readonly object: Record<string, unknown> } | null;
}

/** A change the operation has set in motion, which happens later on its own (a payout reaching the bank). */
export interface Settlement {
  readonly afterMs: number;
  settle(): Effect;
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly effect: Effect | null;
  readonly later?: Settlement;
}

/** What a request says besides its parameters. */
export interface RequestContext {
  /** The Stripe-Version header (the SDK always sends its pinned version). */
  readonly stripeVersion: string | null;
  /** The Stripe-Account header: the connected account the request acts on (null: the platform). */
  readonly stripeAccount: string | null;
}

// From this API version on, payment_method_types is read-only on PaymentIntents (allowed_payment_method_types
// replaces it on create).
const PAYMENT_METHOD_TYPES_REMOVED = '2026-09-30';

export interface LedgerOptions {
  readonly slowCardDelayMs: number;
  /** Captures credit the platform's balance and refunds debit it (Connect transfers draw on it). */
  readonly balances: Balances;
  /** Aborted when the simulator closes, so a slow card does not hold the process open. */
  readonly signal: AbortSignal;
}

const CANCELABLE: readonly IntentStatus[] = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
];

export class PaymentLedger {
  private readonly intents = new Map<string, IntentRecord>();
  private readonly charges = new Map<string, ChargeRecord>();
  private readonly refunds = new Map<string, RefundRecord>();

  constructor(private readonly options: LedgerOptions) {}

  async createIntent(params: FormObject, context: RequestContext): Promise<Reply> {
    allowOnly(params, [
      'amount',
      'currency',
      'payment_method',
      'capture_method',
      'confirm',
      'metadata',
      'allowed_payment_method_types',
      'payment_method_types',
      'description',
      'transfer_group',
    ]);
    const amount = requiredAmount(params, 'amount');
    const currency = requiredString(params, 'currency').toLowerCase();
    if (!/^[a-z]{3}$/.test(currency)) {
      throw invalidParam(`Invalid currency: ${currency}.`, 'currency', 'parameter_invalid_string');
    }
    const captureMethod = optionalEnum(params, 'capture_method', ['automatic', 'automatic_async', 'manual']);
    const confirm = optionalBoolean(params, 'confirm') ?? false;
    const types = paymentMethodTypes(params, context);
    const paymentMethod = optionalString(params, 'payment_method');
    if (confirm && paymentMethod === undefined) {
      throw invalidParam(
        'Missing required param: payment_method (needed to confirm).',
        'payment_method',
        'parameter_missing',
      );
    }
    const card = paymentMethod === undefined ? null : resolveTestCard(paymentMethod);
    if (paymentMethod !== undefined && card === null) {
      throw resourceMissing('PaymentMethod', paymentMethod, 'payment_method');
    }
    const intentMetadata = metadata(params);
    const description = optionalString(params, 'description') ?? null;
    const transferGroup = optionalString(params, 'transfer_group') ?? null;

    // From here on the endpoint is executing: what it answers is stored under the idempotency key.
    const intent: IntentRecord = {
      id: newId('pi'),
      created: nowSeconds(),
      amount,
      currency,
      captureMethod: captureMethod === 'manual' ? 'manual' : 'automatic',
      allowedPaymentMethodTypes: params.allowed_payment_method_types === undefined ? null : types,
      paymentMethodTypes: types,
      metadata: intentMetadata,
      description,
      transferGroup,
      paymentMethod: card === null ? null : newId('pm'),
      status: card === null ? 'requires_payment_method' : 'requires_confirmation',
      amountCapturable: 0,
      amountReceived: 0,
      latestCharge: null,
      lastPaymentError: null,
      canceledAt: null,
      cancellationReason: null,
    };
    if (!confirm || card === null) {
      this.intents.set(intent.id, intent);
      return this.reply(200, intentJson(intent), intent, 'payment_intent.created', card);
    }
    if (card.behaviour === 'provider_error') throw providerFailure();
    if (card.behaviour === 'approve_slowly') {
      await sleep(this.options.slowCardDelayMs, undefined, { signal: this.options.signal });
    }
    return card.behaviour === 'decline' ? this.decline(intent, card) : this.approve(intent, card);
  }

  retrieveIntent(id: string): Reply {
    return { status: 200, body: intentJson(this.intent(id, 'intent')), effect: null };
  }

  capture(id: string, params: FormObject): Reply {
    allowOnly(params, ['amount_to_capture']);
    const requested = optionalAmount(params, 'amount_to_capture');
    const intent = this.intent(id, 'intent');
    if (intent.status !== 'requires_capture') {
      throw invalidState(
        `This PaymentIntent could not be captured because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
        { code: 'payment_intent_unexpected_state', paymentIntent: intentJson(intent) },
      );
    }
    const amount = requested ?? intent.amountCapturable;
    if (amount > intent.amountCapturable) {
      throw invalidState(
        `The amount_to_capture (${amount}) cannot be greater than the amount_capturable (${intent.amountCapturable}).`,
        { code: 'amount_too_large', param: 'amount_to_capture' },
      );
    }
    const charge = this.charges.get(intent.latestCharge ?? '');
    if (charge !== undefined) {
      charge.captured = true;
      charge.amountCaptured = amount;
    }
    intent.status = 'succeeded';
    intent.amountReceived = amount;
    intent.amountCapturable = 0;
    this.options.balances.credit(PLATFORM, intent.currency, amount);
    return this.reply(200, intentJson(intent), intent, 'payment_intent.succeeded', null);
  }

  cancel(id: string, params: FormObject): Reply {
    allowOnly(params, ['cancellation_reason']);
    const reason = optionalEnum(params, 'cancellation_reason', [
      'duplicate',
      'fraudulent',
      'requested_by_customer',
      'abandoned',
    ]);
    const intent = this.intent(id, 'intent');
    if (!CANCELABLE.includes(intent.status)) {
      throw invalidState(
        `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
        { code: 'payment_intent_unexpected_state', paymentIntent: intentJson(intent) },
      );
    }
    // Canceling an authorized intent releases the hold; Stripe shows the uncaptured charge as refunded.
    const charge = this.charges.get(intent.latestCharge ?? '');
    if (charge !== undefined && charge.status === 'succeeded' && !charge.captured)
      charge.amountRefunded = charge.amount;
    intent.status = 'canceled';
    intent.canceledAt = nowSeconds();
    intent.cancellationReason = reason ?? null;
    intent.amountCapturable = 0;
    return this.reply(200, intentJson(intent), intent, 'payment_intent.canceled', null);
  }

  refund(params: FormObject): Reply {
    allowOnly(params, ['payment_intent', 'charge', 'amount', 'reason', 'metadata']);
    const intentId = optionalString(params, 'payment_intent');
    const chargeId = optionalString(params, 'charge');
    const requested = optionalAmount(params, 'amount');
    const reason = optionalEnum(params, 'reason', ['duplicate', 'fraudulent', 'requested_by_customer']) ?? null;
    const refundMetadata = metadata(params);
    const { intent, charge } = this.refundTarget(intentId, chargeId);

    if (intent.status !== 'succeeded' || charge === undefined || !charge.captured) {
      throw invalidState(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, {
        param: 'payment_intent',
      });
    }
    const remaining = charge.amountCaptured - charge.amountRefunded;
    if (remaining <= 0) {
      throw invalidState(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
    }
    const amount = requested ?? remaining;
    if (amount > remaining) {
      throw invalidState(
        `Refund amount (${money(amount, charge.currency)}) is greater than unrefunded amount on charge (${money(remaining, charge.currency)})`,
        { code: 'amount_too_large', param: 'amount' },
      );
    }
    const refund: RefundRecord = {
      id: newId('re'),
      created: nowSeconds(),
      amount,
      currency: charge.currency,
      charge: charge.id,
      paymentIntent: intent.id,
      reason,
      metadata: refundMetadata,
    };
    this.refunds.set(refund.id, refund);
    charge.refunds.push(refund.id);
    charge.amountRefunded += amount;
    this.options.balances.debit(PLATFORM, charge.currency, amount);
    return {
      status: 200,
      body: refundJson(refund),
      effect: {
        paymentIntent: intent.id,
        objectId: refund.id,
        result: charge.amountRefunded >= charge.amountCaptured ? 'refunded' : 'partially_refunded',
        card: null,
        event: { type: 'charge.refunded', object: this.chargeJson(charge) },
      },
    };
  }

  retrieveCharge(id: string): Reply {
    const charge = this.charges.get(id);
    if (charge === undefined) throw resourceMissing('charge', id, 'id');
    return { status: 200, body: this.chargeJson(charge), effect: null };
  }

  /** A charge by id, for Connect transfers that name it as their source_transaction. */
  charge(id: string): ChargeRecord | undefined {
    return this.charges.get(id);
  }

  private approve(intent: IntentRecord, card: TestCard): Reply {
    const manual = intent.captureMethod === 'manual';
    const charge = this.newCharge(intent, card, null);
    charge.captured = !manual;
    charge.amountCaptured = manual ? 0 : intent.amount;
    intent.latestCharge = charge.id;
    intent.status = manual ? 'requires_capture' : 'succeeded';
    intent.amountCapturable = manual ? intent.amount : 0;
    intent.amountReceived = manual ? 0 : intent.amount;
    if (!manual) this.options.balances.credit(PLATFORM, intent.currency, intent.amount);
    this.intents.set(intent.id, intent);
    const event = manual ? 'payment_intent.amount_capturable_updated' : 'payment_intent.succeeded';
    return this.reply(200, intentJson(intent), intent, event, card);
  }

  /** Stripe answers a declined confirmation with 402 and keeps the intent, waiting for another payment method. */
  private decline(intent: IntentRecord, card: TestCard): Reply {
    const failure = { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' };
    const charge = this.newCharge(intent, card, failure);
    intent.latestCharge = charge.id;
    intent.status = 'requires_payment_method';
    intent.paymentMethod = null;
    intent.lastPaymentError = {
      type: 'card_error',
      code: failure.code,
      decline_code: failure.declineCode,
      message: failure.message,
      charge: charge.id,
    };
    this.intents.set(intent.id, intent);
    const error: StripeErrorBody = {
      type: 'card_error',
      code: failure.code,
      decline_code: failure.declineCode,
      message: failure.message,
      charge: charge.id,
      doc_url: 'https://docs.stripe.com/error-codes/card-declined',
      payment_intent: intentJson(intent),
    };
    return this.reply(402, { error }, intent, 'payment_intent.payment_failed', card);
  }

  private newCharge(intent: IntentRecord, card: TestCard, failure: ChargeRecord['failure']): ChargeRecord {
    const charge: ChargeRecord = {
      id: newId('ch'),
      created: nowSeconds(),
      amount: intent.amount,
      currency: intent.currency,
      paymentIntent: intent.id,
      paymentMethod: intent.paymentMethod ?? newId('pm'),
      last4: card.number.slice(-4),
      // Stripe copies the intent's metadata onto the charges it creates.
      metadata: intent.metadata,
      transferGroup: intent.transferGroup,
      status: failure === null ? 'succeeded' : 'failed',
      failure,
      captured: false,
      amountCaptured: 0,
      amountRefunded: 0,
      refunds: [],
    };
    this.charges.set(charge.id, charge);
    return charge;
  }

  private reply(status: number, body: unknown, intent: IntentRecord, eventType: string, card: TestCard | null): Reply {
    return {
      status,
      body,
      effect: {
        paymentIntent: intent.id,
        objectId: intent.id,
        result: intent.status,
        card: card?.number ?? null,
        event: { type: eventType, object: intentJson(intent) },
      },
    };
  }

  private refundTarget(
    intentId: string | undefined,
    chargeId: string | undefined,
  ): { intent: IntentRecord; charge: ChargeRecord | undefined } {
    if (intentId === undefined && chargeId === undefined) {
      throw invalidParam(
        'One of the following params should be provided for this request: payment_intent or charge.',
        'payment_intent',
        'parameter_missing',
      );
    }
    if (intentId !== undefined) {
      const intent = this.intent(intentId, 'payment_intent');
      const charge = this.charges.get(intent.latestCharge ?? '');
      if (chargeId !== undefined && charge?.id !== chargeId) {
        throw invalidParam(
          `Charge ${chargeId} does not belong to PaymentIntent ${intentId}.`,
          'charge',
          'parameter_invalid_string',
        );
      }
      return { intent, charge };
    }
    const charge = this.charges.get(chargeId ?? '');
    if (charge === undefined) throw resourceMissing('charge', chargeId ?? '', 'charge');
    return { intent: this.intent(charge.paymentIntent, 'charge'), charge };
  }

  private intent(id: string, param: string): IntentRecord {
    const intent = this.intents.get(id);
    if (intent === undefined) throw resourceMissing('payment_intent', id, param);
    return intent;
  }

  private chargeJson(charge: ChargeRecord): Record<string, unknown> {
    const refunds = charge.refunds.flatMap((id) => {
      const refund = this.refunds.get(id);
      return refund === undefined ? [] : [refund];
    });
    return chargeJson(charge, refunds);
  }
}

function paymentMethodTypes(params: FormObject, context: RequestContext): string[] {
  const allowed = optionalStringList(params, 'allowed_payment_method_types');
  const legacy = optionalStringList(params, 'payment_method_types');
  if (legacy !== undefined && (context.stripeVersion ?? '') >= PAYMENT_METHOD_TYPES_REMOVED) {
    throw invalidParam(
      `payment_method_types is no longer supported on API version ${context.stripeVersion}; use allowed_payment_method_types.`,
      'payment_method_types',
      'payment_method_types_no_longer_supported',
    );
  }
  if (allowed !== undefined && legacy !== undefined) {
    throw invalidParam(
      'allowed_payment_method_types and payment_method_types cannot be used together.',
      'allowed_payment_method_types',
      'parameters_exclusive',
    );
  }
  const types = allowed ?? legacy ?? ['card'];
  if (types.length === 0 || types.some((type) => type !== 'card')) {
    throw invalidParam(
      'The simulator supports only the card payment method type.',
      allowed === undefined ? 'payment_method_types' : 'allowed_payment_method_types',
      'payment_intent_incompatible_payment_method',
    );
  }
  return types;
}

const money = (minor: number, currency: string): string => `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;
