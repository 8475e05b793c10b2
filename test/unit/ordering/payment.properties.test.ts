import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Payment,
  type PaymentCommand,
  type PaymentEvent,
  paymentDecider,
} from '../../../commands/ordering/payment.js';
import { paymentCommand, runCommands } from './arbitraries.js';
import { NOW } from './fixtures.js';

const decide = (command: PaymentCommand, state: Payment): PaymentEvent[] =>
  paymentDecider.decide(command, state, { now: NOW });

/** What the provider can tell us, in the only order it can happen. */
const ALLOWED = new Set<string>([
  'none→AUTHORIZED',
  'none→DECLINED',
  'AUTHORIZED→CAPTURED',
  'AUTHORIZED→VOIDED',
  'CAPTURED→REFUNDED',
]);

describe('Payment decider — properties over random command sequences', () => {
  it('moves a payment only along the provider lifecycle, one event at a time', () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(fc.array(paymentCommand, { minLength: 1, maxLength: 20 }), (commands) => {
        const run = runCommands(decide, paymentDecider.evolve, paymentDecider.initialState(), commands);
        for (const step of run.steps) {
          if ('refused' in step) continue;
          expect(step.events.length).toBeLessThanOrEqual(1);
          if (step.after.status !== step.before.status) {
            expect(ALLOWED).toContain(`${step.before.status}→${step.after.status}`);
            reached.add(step.after.status);
          } else {
            expect(step.events).toEqual([]);
          }
        }
      }),
      { numRuns: 500 },
    );
    expect([...reached].sort()).toEqual(['AUTHORIZED', 'CAPTURED', 'DECLINED', 'REFUNDED', 'VOIDED']);
  });

  it('never changes the amount or currency once the outcome is recorded', () => {
    fc.assert(
      fc.property(fc.array(paymentCommand, { minLength: 1, maxLength: 20 }), (commands) => {
        const run = runCommands(decide, paymentDecider.evolve, paymentDecider.initialState(), commands);
        const first = run.steps.find((step) => !('refused' in step) && step.after.status !== 'none');
        if (!first || 'refused' in first || first.after.status === 'none') return;
        const { amountMinor, currency } = first.after;
        for (const event of run.events) {
          if ('amountMinor' in event.data) expect(event.data).toMatchObject({ amountMinor, currency });
        }
        expect(run.state).toMatchObject({ amountMinor, currency });
      }),
      { numRuns: 300 },
    );
  });
});
