// The local Stripe-compatible payment simulator: start it in-process (tests) or with main.ts (the stack).
export { TEST_CARDS } from './cards.js';
export { payoutFails, TEST_PAYOUTS } from './connect-ledger.js';
export type { SimulatorOperation } from './routes.js';
export {
  type InjectedFailures,
  isConnectEvent,
  type PaymentSimulator,
  type PaymentSimulatorOptions,
  type SimulatorCall,
  type SimulatorRequest,
  startPaymentSimulator,
} from './server.js';
export { type StripeEvent, signStripePayload, type WebhookDelivery } from './webhook-sender.js';
