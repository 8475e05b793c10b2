// The local Stripe-compatible payment simulator: start it in-process (tests) or with main.ts (the stack).
export { TEST_CARDS } from './cards.js';
export type { SimulatorOperation } from './routes.js';
export {
  type PaymentSimulator,
  type PaymentSimulatorOptions,
  type SimulatorCall,
  type SimulatorRequest,
  startPaymentSimulator,
} from './server.js';
export { type StripeEvent, signStripePayload, type WebhookDelivery } from './webhook-sender.js';
