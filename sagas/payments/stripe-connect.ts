import Stripe from 'stripe';
import type { ChargeRequest, ChargeResult, ConnectProvider, PayoutRequest, TransferRequest } from './connect-port.js';
import { PermanentProviderError } from './port.js';
import { createStripeClient, providerError, type StripeProviderOptions } from './stripe-client.js';

// The marketplace's ConnectProvider on the stripe SDK, "separate charges and transfers": an automatic-capture
// PaymentIntent on the platform per contract (transfer_group = contract id), a transfer per released milestone
// drawing on that charge (source_transaction), refunds of the charge, and payouts made on the worker's connected
// account (Stripe-Account header). It works against Stripe or, with host/port/protocol, the local simulator.

export function createStripeConnectProvider(options: StripeProviderOptions): ConnectProvider {
  const stripe = createStripeClient(options);

  return {
    async openConnectedAccount(request, idempotencyKey) {
      try {
        const account = await stripe.accounts.create(
          {
            // Express: Stripe hosts the worker's onboarding and identity checks; the platform only ever moves
            // money to it. Transfers is the one capability separate charges and transfers need.
            type: 'express',
            country: request.country.toUpperCase(),
            capabilities: { transfers: { requested: true } },
            // Payouts are the marketplace's decision (payout()); Stripe's default daily schedule would empty the
            // balance on its own, and our payouts would then be refused for want of funds.
            settings: { payouts: { schedule: { interval: 'manual' } } },
            metadata: { workerId: request.workerId },
          },
          { idempotencyKey },
        );
        return { accountRef: account.id };
      } catch (error) {
        throw providerError('openConnectedAccount', error);
      }
    },

    async charge(request: ChargeRequest, idempotencyKey: string): Promise<ChargeResult> {
      let intent: Stripe.PaymentIntent;
      try {
        intent = await stripe.paymentIntents.create(
          {
            amount: request.amountMinor,
            currency: request.currency.toLowerCase(),
            payment_method: request.cardToken,
            // The SDK's API version no longer takes payment_method_types on create (see stripe.ts).
            allowed_payment_method_types: ['card'],
            // Escrow holds captured money: an authorization would lapse after 7 days, long before most contracts
            // end. The money stays on the platform until a milestone's transfer or the cancellation's refund.
            capture_method: 'automatic',
            confirm: true,
            transfer_group: request.contractId,
            metadata: { contractId: request.contractId, hirerId: request.hirerId },
          },
          { idempotencyKey },
        );
      } catch (error) {
        if (error instanceof Stripe.errors.StripeCardError) {
          return {
            outcome: 'declined',
            reason: error.decline_code ?? error.code ?? 'card_declined',
            chargeRef: error.charge ?? null,
            paymentIntentRef: error.payment_intent?.id ?? null,
          };
        }
        throw providerError('charge', error);
      }
      return chargeResult(intent);
    },

    async transfer(request: TransferRequest, idempotencyKey: string) {
      try {
        const transfer = await stripe.transfers.create(
          {
            amount: request.amountMinor,
            currency: request.currency.toLowerCase(),
            destination: request.destinationAccountRef,
            // Drawn on the contract's own charge: the transfer can never spend another contract's escrow, and
            // Stripe refuses more than the charge has left.
            source_transaction: request.sourceChargeRef,
            transfer_group: request.contractId,
            metadata: { contractId: request.contractId, releaseId: request.releaseId },
          },
          { idempotencyKey },
        );
        return { transferRef: transfer.id };
      } catch (error) {
        throw providerError('transfer', error);
      }
    },

    async reverseTransfer(transferRef: string, amountMinor: number, idempotencyKey: string) {
      try {
        const reversal = await stripe.transfers.createReversal(
          transferRef,
          { amount: amountMinor },
          { idempotencyKey },
        );
        return { reversalRef: reversal.id };
      } catch (error) {
        throw providerError('reverseTransfer', error);
      }
    },

    async refundCharge(chargeRef: string, amountMinor: number, idempotencyKey: string) {
      try {
        // By charge, the reference charge() returned; Stripe refunds its PaymentIntent's charge either way.
        const refund = await stripe.refunds.create({ charge: chargeRef, amount: amountMinor }, { idempotencyKey });
        return { refundRef: refund.id };
      } catch (error) {
        // Unlike ordering's full refund, a partial refund refused as "already refunded" is not known to be this
        // one: it is reported, not taken as done.
        throw providerError('refundCharge', error);
      }
    },

    async payout(request: PayoutRequest, idempotencyKey: string) {
      try {
        const payout = await stripe.payouts.create(
          {
            amount: request.amountMinor,
            currency: request.currency.toLowerCase(),
            metadata: { payoutId: request.payoutId, workerId: request.workerId },
          },
          // Made on the connected account (Stripe-Account header): its balance, to its bank. Stripe scopes the
          // idempotency key to that account.
          { stripeAccount: request.accountRef, idempotencyKey },
        );
        return { payoutRef: payout.id };
      } catch (error) {
        throw providerError('payout', error);
      }
    },
  };
}

function chargeResult(intent: Stripe.PaymentIntent): ChargeResult {
  switch (intent.status) {
    case 'succeeded': {
      const charge = intent.latest_charge;
      const chargeRef = typeof charge === 'string' ? charge : (charge?.id ?? null);
      if (chargeRef === null) {
        throw new PermanentProviderError(`charge: PaymentIntent ${intent.id} succeeded without a charge`);
      }
      return { outcome: 'captured', chargeRef, paymentIntentRef: intent.id };
    }
    case 'requires_payment_method': {
      // A decline reported in the intent rather than as a 402 (Stripe does both, depending on the flow).
      const failure = intent.last_payment_error;
      return {
        outcome: 'declined',
        reason: failure?.decline_code ?? failure?.code ?? 'payment_failed',
        chargeRef: failure?.charge ?? null,
        paymentIntentRef: intent.id,
      };
    }
    case 'requires_action':
      // The card wants the hirer (3-D Secure), which a server-side charge cannot complete; nothing was taken.
      return { outcome: 'declined', reason: 'authentication_required', chargeRef: null, paymentIntentRef: intent.id };
    default:
      throw new PermanentProviderError(
        `charge: PaymentIntent ${intent.id} is ${intent.status}, expected succeeded (capture_method=automatic)`,
      );
  }
}
