// The simulator's test cards (../shared/ARCHITECTURE.md, "HTTP contract"). The outcome is decided by the card
// alone, so every run of a test or a demo takes the same path.

export type CardBehaviour = 'approve' | 'decline' | 'provider_error' | 'approve_slowly';

export const TEST_CARDS = {
  approves: '4242424242424242',
  declines: '4000000000000002',
  providerError: '4000000000009995',
  approvesSlowly: '4000000000000077',
} as const;

const BEHAVIOURS: ReadonlyMap<string, CardBehaviour> = new Map([
  [TEST_CARDS.approves, 'approve'],
  [TEST_CARDS.declines, 'decline'],
  [TEST_CARDS.providerError, 'provider_error'],
  [TEST_CARDS.approvesSlowly, 'approve_slowly'],
]);

// Stripe's own named test payment methods, so code written against Stripe's docs runs here unchanged.
const STRIPE_ALIASES: ReadonlyMap<string, string> = new Map([
  ['pm_card_visa', TEST_CARDS.approves],
  ['pm_card_chargeDeclined', TEST_CARDS.declines],
]);

export interface TestCard {
  readonly number: string;
  readonly behaviour: CardBehaviour;
}

/**
 * The test card a `payment_method` names: the raw number (spaces and dashes allowed), `pm_card_<number>`, or one of
 * Stripe's aliases. Anything else is unknown (Stripe: "No such PaymentMethod").
 */
export function resolveTestCard(paymentMethod: string): TestCard | null {
  const aliased = STRIPE_ALIASES.get(paymentMethod) ?? paymentMethod;
  const number = aliased.replace(/^pm_card_/, '').replace(/[\s-]/g, '');
  const behaviour = BEHAVIOURS.get(number);
  return behaviour === undefined ? null : { number, behaviour };
}
