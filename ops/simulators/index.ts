import type { Config } from '../../runtime/config.js';
import { startPaymentSimulator } from './payments/server.js';

/** A local stand-in for an outside service, started by the quick start when the configuration points at it. */
export interface LocalSimulator {
  readonly name: string;
  /** Starts it when the configuration uses it; null when a real service is configured instead. */
  start(config: Config, gatewayUrl: string): Promise<{ url: string; close(): Promise<void> } | null>;
}

/** Every local simulator: add one line for a new one (OAuth, webhook sender, AI model, …). */
export const localSimulators: readonly LocalSimulator[] = [
  {
    name: 'payments',
    start: async (config, gatewayUrl) =>
      config.paymentProvider === 'simulator'
        ? startPaymentSimulator({
            port: Number(new URL(config.paymentSimulatorUrl).port),
            webhookUrl: `${gatewayUrl}/webhooks/payments`,
            // Connect notices (payouts, refunds of contracts' charges) go to the marketplace's endpoint.
            connectWebhookUrl: `${gatewayUrl}/webhooks/marketplace`,
            webhookSecret: config.stripeWebhookSecret,
          })
        : null,
  },
];
