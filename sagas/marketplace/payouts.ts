import type { WalletEvent } from '../../schemas/marketplace/events.js';
import type { SagaDefinition } from '../runtime/types.js';

// The payout process: one per worker's wallet (saga id = worker id). A requested payout (its amount already
// reserved on the wallet) is sent to the provider once (key saga + payout); the provider's webhook says later
// whether the bank was paid. If the provider refuses the payout outright, the refusal is recorded as a failed
// payout, which makes the amount available again. A payout whose sending kept failing transiently is left
// reserved and visible (its step can be retried by an operator with the same key): whether the provider took it
// is not known, and paying it back could pay twice.

export const PAYOUT_SAGA = 'marketplace-payouts';

export const PAYOUT_COMMANDS = {
  send: 'payout.send',
  fail: 'payout.record-failed',
} as const;

export interface PayoutSagaState {
  readonly workerId: string;
  /** Payouts sent to the provider, newest last (ids). */
  readonly sent: readonly string[];
  readonly refused: readonly string[];
  readonly inFlight: string | null;
}

const SEND_STEP = 'payout:';

export function payoutSaga(): SagaDefinition<PayoutSagaState, WalletEvent> {
  return {
    name: PAYOUT_SAGA,
    topics: ['marketplace.wallet'],
    correlationId: (event) => event.data.workerId,
    starts: (event) => event.eventType === 'PayoutRequested',
    initialState: (workerId) => ({ workerId, sent: [], refused: [], inFlight: null }),
    react(s, event) {
      switch (event.eventType) {
        case 'PayoutRequested': {
          const { payoutId } = event.data;
          if (s.sent.includes(payoutId)) return null;
          return {
            state: { ...s, sent: [...s.sent, payoutId], inFlight: payoutId },
            commands: [
              {
                step: `${SEND_STEP}${payoutId}`,
                kind: PAYOUT_COMMANDS.send,
                payload: { workerId: s.workerId, payoutId },
              },
            ],
            note: `payout ${payoutId} of ${event.data.amountMinor} requested`,
          };
        }
        case 'PayoutPaid':
        case 'PayoutFailed':
          return s.inFlight === event.data.payoutId ? { state: { ...s, inFlight: null } } : null;
        default:
          return null;
      }
    },
    onDeadline: () => null,
    onCommandFailed(s, failure) {
      if (!failure.step.startsWith(SEND_STEP))
        return { state: s, note: `${failure.step} failed: ${failure.error}`, retryable: true };
      const payoutId = failure.step.slice(SEND_STEP.length);
      // Only a refusal is known not to have paid: the provider answered, and said no.
      if (!failure.error.startsWith('PermanentProviderError')) {
        return { state: s, note: `payout ${payoutId} could not be sent: ${failure.error}`, retryable: true };
      }
      return {
        state: { ...s, refused: [...s.refused, payoutId] },
        commands: [
          {
            step: `payout-refused:${payoutId}`,
            kind: PAYOUT_COMMANDS.fail,
            payload: { workerId: s.workerId, payoutId, reason: `refused by the provider: ${failure.error}` },
          },
        ],
        note: `payout ${payoutId} refused by the provider: its amount is available again`,
      };
    },
    status: (s) => (s.inFlight ? 'PAYING_OUT' : 'IDLE'),
  };
}
