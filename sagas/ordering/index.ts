import { Gauge } from 'prom-client';
import type { Config } from '../../runtime/config.js';
import type { SagaContext } from '../context.js';
import { DEFAULT_BREAKER_POLICY, withCircuitBreaker } from '../payments/circuit-breaker.js';
import type { PaymentProvider } from '../payments/port.js';
import { createStripeProvider, stripeEndpointOf } from '../payments/stripe.js';
import { isTransient, orderPaymentHandlers } from './command-handlers.js';
import { orderPaymentSaga } from './order-payment.js';

/** The Stripe adapter, aimed at Stripe itself or at the local Stripe-compatible simulator. */
export function paymentProviderFor(config: Config): PaymentProvider {
  if (config.paymentProvider === 'stripe') return createStripeProvider({ apiKey: config.stripeApiKey });
  return createStripeProvider({ apiKey: config.stripeApiKey, ...stripeEndpointOf(config.paymentSimulatorUrl) });
}

export const ordering: SagaContext = {
  name: 'ordering',
  setup: ({ config, write, logger, metrics }) => {
    const breakerState = new Gauge({
      name: 'payment_circuit_state',
      help: 'Payment provider circuit breaker of this process: 0 closed, 1 half-open, 2 open',
      registers: metrics ? [metrics] : [],
    });
    breakerState.set(0);
    const provider = withCircuitBreaker(paymentProviderFor(config), {
      policy: {
        ...DEFAULT_BREAKER_POLICY,
        failuresToOpen: config.paymentCircuitFailures,
        openMs: config.paymentCircuitOpenMs,
      },
      onChange: (mode, previous) => {
        breakerState.set({ closed: 0, 'half-open': 1, open: 2 }[mode]);
        const log = mode === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
        log({ from: previous, to: mode }, `payment provider circuit ${mode}`);
      },
    });
    const saga = orderPaymentSaga({
      acceptanceTimeoutMs: config.sagaAcceptanceTimeoutMs,
      paymentTimeoutMs: config.sagaPaymentTimeoutMs,
    });
    return { sagas: [saga], handlers: orderPaymentHandlers(write.ordering, provider), isTransient };
  },
};
