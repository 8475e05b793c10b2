import Stripe from 'stripe';
import { type AuthorizeRequest, type AuthorizeResult, type PaymentProvider, PermanentProviderError } from './port.js';
import { createStripeClient, isStripeError, providerError, type StripeProviderOptions } from './stripe-client.js';

export { type StripeProviderOptions, stripeEndpointOf } from './stripe-client.js';

// The PaymentProvider on the stripe SDK: manual-capture PaymentIntents (authorize = create and confirm, then
// capture, cancel or refund). It works against Stripe or, with host/port/protocol, the local simulator.

export function createStripeProvider(options: StripeProviderOptions): PaymentProvider {
  const stripe = createStripeClient(options);

  return {
    async authorize(request: AuthorizeRequest, idempotencyKey: string): Promise<AuthorizeResult> {
      let intent: Stripe.PaymentIntent;
      try {
        intent = await stripe.paymentIntents.create(
          {
            amount: request.amountMinor,
            currency: request.currency.toLowerCase(),
            payment_method: request.cardToken,
            // The SDK's API version (2026-10-28) no longer takes payment_method_types on create (400
            // payment_method_types_no_longer_supported since 2026-09-30); this is its successor.
            allowed_payment_method_types: ['card'],
            capture_method: 'manual',
            confirm: true,
            metadata: { paymentId: request.paymentId, orderId: request.orderId },
          },
          { idempotencyKey },
        );
      } catch (error) {
        if (error instanceof Stripe.errors.StripeCardError) {
          return {
            outcome: 'declined',
            reason: error.decline_code ?? error.code ?? 'card_declined',
            providerRef: error.payment_intent?.id ?? null,
          };
        }
        throw providerError('authorize', error);
      }
      return authorizeResult(intent);
    },

    async capture(providerRef: string, amountMinor: number, idempotencyKey: string): Promise<void> {
      try {
        await stripe.paymentIntents.capture(providerRef, { amount_to_capture: amountMinor }, { idempotencyKey });
      } catch (error) {
        if (await alreadyIn(stripe, error, providerRef, 'succeeded')) return;
        throw providerError('capture', error);
      }
    },

    async void(providerRef: string, idempotencyKey: string): Promise<void> {
      try {
        await stripe.paymentIntents.cancel(providerRef, {}, { idempotencyKey });
      } catch (error) {
        if (await alreadyIn(stripe, error, providerRef, 'canceled')) return;
        throw providerError('void', error);
      }
    },

    async refund(providerRef: string, amountMinor: number, idempotencyKey: string): Promise<void> {
      try {
        await stripe.refunds.create({ payment_intent: providerRef, amount: amountMinor }, { idempotencyKey });
      } catch (error) {
        // Everything captured has been refunded already (by an earlier attempt whose key has expired, or by hand).
        if (isStripeError(error) && error.code === 'charge_already_refunded') return;
        throw providerError('refund', error);
      }
    },
  };
}

function authorizeResult(intent: Stripe.PaymentIntent): AuthorizeResult {
  switch (intent.status) {
    case 'requires_capture':
      return { outcome: 'authorized', providerRef: intent.id };
    case 'requires_payment_method': {
      // A decline reported in the intent rather than as a 402 (Stripe does both, depending on the flow).
      const failure = intent.last_payment_error;
      return {
        outcome: 'declined',
        reason: failure?.decline_code ?? failure?.code ?? 'payment_failed',
        providerRef: intent.id,
      };
    }
    case 'requires_action':
      // The card wants the customer (3-D Secure); a server-side authorization cannot complete that. The intent
      // holds no funds; voiding it is harmless.
      return { outcome: 'declined', reason: 'authentication_required', providerRef: intent.id };
    default:
      throw new PermanentProviderError(
        `authorize: PaymentIntent ${intent.id} is ${intent.status}, expected requires_capture (capture_method=manual)`,
      );
  }
}

/**
 * Whether a refused capture or cancel found the intent already where the call would have put it: the step was
 * done before (by an earlier attempt whose idempotency key Stripe has since forgotten), so it counts as done.
 */
async function alreadyIn(
  stripe: Stripe,
  error: unknown,
  providerRef: string,
  status: 'succeeded' | 'canceled',
): Promise<boolean> {
  if (!isStripeError(error) || error.code !== 'payment_intent_unexpected_state') return false;
  if (error.payment_intent?.status !== undefined) return error.payment_intent.status === status;
  try {
    return (await stripe.paymentIntents.retrieve(providerRef)).status === status;
  } catch {
    return false; // the original refusal is reported instead
  }
}
