// The payment provider, as the order/payment saga needs it. Two implementations stand behind it: the Stripe
// adapter (the stripe SDK), pointed either at Stripe or at the local Stripe-compatible simulator.

export interface AuthorizeRequest {
  /** Our payment id; also sent to the provider as metadata. */
  readonly paymentId: string;
  readonly orderId: string;
  readonly amountMinor: number;
  /** ISO 4217, upper case (EUR). */
  readonly currency: string;
  /** What the order carries as the payment method (a test card number with the simulator). */
  readonly cardToken: string;
}

export type AuthorizeResult =
  | { readonly outcome: 'authorized'; readonly providerRef: string }
  | { readonly outcome: 'declined'; readonly reason: string; readonly providerRef: string | null };

/**
 * A failure worth retrying (network error, timeout, provider 5xx or 429). Anything else the provider refuses is a
 * PermanentProviderError: retrying would get the same answer.
 */
export class TransientProviderError extends Error {
  readonly transient = true;
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'TransientProviderError';
  }
}

export class PermanentProviderError extends Error {
  readonly transient = false;
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'PermanentProviderError';
  }
}

/**
 * Every call takes an idempotency key: the same key always means the same operation, so a retried or redelivered
 * saga step never charges twice. Calls throw TransientProviderError or PermanentProviderError.
 */
export interface PaymentProvider {
  authorize(request: AuthorizeRequest, idempotencyKey: string): Promise<AuthorizeResult>;
  capture(providerRef: string, amountMinor: number, idempotencyKey: string): Promise<void>;
  void(providerRef: string, idempotencyKey: string): Promise<void>;
  refund(providerRef: string, amountMinor: number, idempotencyKey: string): Promise<void>;
}

/** What a verified provider webhook tells us, mapped to our payment facts. */
export type PaymentNotification =
  | {
      readonly kind: 'authorized';
      readonly providerRef: string;
      readonly paymentId: string;
      readonly orderId: string;
      readonly amountMinor: number;
      readonly currency: string;
    }
  | {
      readonly kind: 'declined';
      readonly providerRef: string;
      readonly paymentId: string;
      readonly orderId: string;
      readonly amountMinor: number;
      readonly currency: string;
      readonly reason: string;
    }
  | { readonly kind: 'captured'; readonly providerRef: string; readonly paymentId: string; readonly orderId: string }
  | { readonly kind: 'voided'; readonly providerRef: string; readonly paymentId: string; readonly orderId: string }
  | { readonly kind: 'refunded'; readonly providerRef: string; readonly paymentId: string; readonly orderId: string }
  | { readonly kind: 'ignored'; readonly type: string };

export class WebhookSignatureError extends Error {
  readonly code = 'INVALID_WEBHOOK_SIGNATURE';
}

export interface VerifiedWebhook {
  /** The provider's event id: the idempotency key of what we record from it. */
  readonly eventId: string;
  readonly notification: PaymentNotification;
}
