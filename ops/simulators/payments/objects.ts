import { randomBytes } from 'node:crypto';

// The simulator's state and the Stripe-shaped JSON it answers with. Only the fields the SDK's types name and a
// client is likely to read are filled; the shapes follow Stripe's API reference (PaymentIntent, Charge, Refund,
// Event).

export type IntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

export interface PaymentError {
  readonly type: 'card_error';
  readonly code: string;
  readonly decline_code: string;
  readonly message: string;
  readonly charge: string;
}

export interface IntentRecord {
  readonly id: string;
  readonly created: number;
  readonly amount: number;
  readonly currency: string;
  readonly captureMethod: 'automatic' | 'manual';
  readonly allowedPaymentMethodTypes: readonly string[] | null;
  readonly paymentMethodTypes: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly description: string | null;
  /** Connect's "separate charges and transfers": the group its charge's transfers share (a contract id). */
  readonly transferGroup: string | null;
  paymentMethod: string | null;
  status: IntentStatus;
  amountCapturable: number;
  amountReceived: number;
  latestCharge: string | null;
  lastPaymentError: PaymentError | null;
  canceledAt: number | null;
  cancellationReason: string | null;
}

export interface ChargeRecord {
  readonly id: string;
  readonly created: number;
  readonly amount: number;
  readonly currency: string;
  readonly paymentIntent: string;
  readonly paymentMethod: string;
  readonly last4: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly transferGroup: string | null;
  readonly status: 'succeeded' | 'failed';
  readonly failure: { readonly code: string; readonly declineCode: string; readonly message: string } | null;
  captured: boolean;
  amountCaptured: number;
  amountRefunded: number;
  readonly refunds: string[];
}

export interface RefundRecord {
  readonly id: string;
  readonly created: number;
  readonly amount: number;
  readonly currency: string;
  readonly charge: string;
  readonly paymentIntent: string;
  readonly reason: string | null;
  readonly metadata: Readonly<Record<string, string>>;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A Stripe-looking id: prefix, underscore, 24 alphanumerics. */
export function newId(prefix: string): string {
  const bytes = randomBytes(24);
  let suffix = '';
  for (const byte of bytes) suffix += ALPHABET[byte % ALPHABET.length];
  return `${prefix}_${suffix}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function intentJson(intent: IntentRecord): Record<string, unknown> {
  return {
    id: intent.id,
    object: 'payment_intent',
    allowed_payment_method_types: intent.allowedPaymentMethodTypes,
    amount: intent.amount,
    amount_capturable: intent.amountCapturable,
    amount_received: intent.amountReceived,
    canceled_at: intent.canceledAt,
    cancellation_reason: intent.cancellationReason,
    capture_method: intent.captureMethod,
    client_secret: `${intent.id}_secret_simulated`,
    confirmation_method: 'automatic',
    created: intent.created,
    currency: intent.currency,
    customer: null,
    description: intent.description,
    last_payment_error: intent.lastPaymentError,
    latest_charge: intent.latestCharge,
    livemode: false,
    metadata: intent.metadata,
    next_action: null,
    payment_method: intent.paymentMethod,
    payment_method_types: intent.paymentMethodTypes,
    status: intent.status,
    transfer_group: intent.transferGroup,
  };
}

export function chargeJson(charge: ChargeRecord, refunds: readonly RefundRecord[]): Record<string, unknown> {
  const declined = charge.failure;
  return {
    id: charge.id,
    object: 'charge',
    amount: charge.amount,
    amount_captured: charge.amountCaptured,
    amount_refunded: charge.amountRefunded,
    captured: charge.captured,
    created: charge.created,
    currency: charge.currency,
    failure_code: declined?.code ?? null,
    failure_message: declined?.message ?? null,
    livemode: false,
    metadata: charge.metadata,
    outcome:
      declined === null
        ? {
            type: 'authorized',
            network_status: 'approved_by_network',
            reason: null,
            seller_message: 'Payment complete.',
          }
        : {
            type: 'issuer_declined',
            network_status: 'declined_by_network',
            reason: declined.declineCode,
            seller_message: 'The bank did not return any further details with this decline.',
          },
    paid: charge.status === 'succeeded',
    payment_intent: charge.paymentIntent,
    payment_method: charge.paymentMethod,
    payment_method_details: { type: 'card', card: { brand: 'visa', last4: charge.last4 } },
    refunded: charge.amountCaptured > 0 ? charge.amountRefunded >= charge.amountCaptured : charge.amountRefunded > 0,
    refunds: {
      object: 'list',
      data: refunds.map(refundJson),
      has_more: false,
      total_count: refunds.length,
      url: `/v1/charges/${charge.id}/refunds`,
    },
    status: charge.status,
    transfer_group: charge.transferGroup,
  };
}

export function refundJson(refund: RefundRecord): Record<string, unknown> {
  return {
    id: refund.id,
    object: 'refund',
    amount: refund.amount,
    charge: refund.charge,
    created: refund.created,
    currency: refund.currency,
    metadata: refund.metadata,
    payment_intent: refund.paymentIntent,
    reason: refund.reason,
    status: 'succeeded',
  };
}
