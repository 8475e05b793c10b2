import type { Config } from '../../runtime/config.js';
import type { SagaContext } from '../context.js';
import type { ConnectProvider } from '../payments/connect-port.js';
import { PermanentProviderError } from '../payments/port.js';
import { stripeEndpointOf } from '../payments/stripe-client.js';
import { createStripeConnectProvider } from '../payments/stripe-connect.js';
import { jobFillingHandlers, isTransient as jobFillingTransient } from './command-handlers.js';
import { escrowSaga } from './escrow.js';
import { escrowHandlers } from './escrow-handlers.js';
import { jobFillingSaga } from './job-filling.js';
import { payoutSaga } from './payouts.js';

/** Stripe Connect through the stripe SDK, aimed at Stripe itself or at the local simulator (as ordering's). */
export function connectProviderFor(config: Config): ConnectProvider {
  if (config.paymentProvider === 'stripe') return createStripeConnectProvider({ apiKey: config.stripeApiKey });
  return createStripeConnectProvider({ apiKey: config.stripeApiKey, ...stripeEndpointOf(config.paymentSimulatorUrl) });
}

/** A refusal (the decider's, or the provider's answer to a request it will never take) is not retried. */
const isTransient = (error: unknown): boolean =>
  jobFillingTransient(error) && !(error instanceof PermanentProviderError);

export const marketplace: SagaContext = {
  name: 'marketplace',
  setup: ({ config, write }) => ({
    sagas: [
      jobFillingSaga(),
      escrowSaga({
        feeBps: config.marketplaceFeeBps,
        fundingWindowMs: config.marketplaceFundingWindowMs,
        autoApproveAfterMs: config.marketplaceAutoApproveMs,
      }),
      payoutSaga(),
    ],
    handlers: {
      ...jobFillingHandlers(write.marketplace),
      ...escrowHandlers({
        money: write.marketplace.money,
        executor: write.executor,
        provider: connectProviderFor(config),
      }),
    },
    isTransient,
  }),
};
