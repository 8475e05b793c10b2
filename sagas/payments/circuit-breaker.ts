// A circuit breaker in front of the payment provider: after a run of transient failures (the provider is down or
// timing out) calls fail fast for a while instead of each waiting out its own timeout, then a single trial call
// tests whether the provider is back. The ordering design names the pattern; the numbers are the platform's
// (open after 5 consecutive failures, half-open after 60 s, closed after 3 successes).
import { type PaymentProvider, TransientProviderError } from './port.js';

export interface BreakerPolicy {
  readonly failuresToOpen: number;
  readonly openMs: number;
  readonly successesToClose: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = { failuresToOpen: 5, openMs: 60_000, successesToClose: 3 };

export type BreakerState =
  | { readonly mode: 'closed'; readonly failures: number }
  | { readonly mode: 'open'; readonly until: number }
  | { readonly mode: 'half-open'; readonly successes: number; readonly trialInFlight: boolean };

export const closedBreaker: BreakerState = { mode: 'closed', failures: 0 };

/** What a call ended with, as far as the provider's health goes: a refusal (4xx, decline) is a healthy answer. */
export type CallOutcome = 'answered' | 'failed';

export type Admission =
  | { readonly allowed: true; readonly state: BreakerState }
  | { readonly allowed: false; readonly state: BreakerState; readonly retryAfterMs: number };

/** Whether a call may go out now. In half-open, one trial at a time; the others wait like in open. */
export function admit(state: BreakerState, now: number, policy: BreakerPolicy): Admission {
  switch (state.mode) {
    case 'closed':
      return { allowed: true, state };
    case 'open':
      if (now < state.until) return { allowed: false, state, retryAfterMs: state.until - now };
      return { allowed: true, state: { mode: 'half-open', successes: 0, trialInFlight: true } };
    case 'half-open':
      // Long enough not to spin on a trial that may take the provider's whole timeout.
      if (state.trialInFlight) return { allowed: false, state, retryAfterMs: Math.min(5000, policy.openMs) };
      return { allowed: true, state: { ...state, trialInFlight: true } };
  }
}

export function record(state: BreakerState, outcome: CallOutcome, now: number, policy: BreakerPolicy): BreakerState {
  const open: BreakerState = { mode: 'open', until: now + policy.openMs };
  switch (state.mode) {
    case 'closed':
      if (outcome === 'answered') return closedBreaker;
      return state.failures + 1 >= policy.failuresToOpen ? open : { mode: 'closed', failures: state.failures + 1 };
    case 'half-open': {
      if (outcome === 'failed') return open;
      const successes = state.successes + 1;
      return successes >= policy.successesToClose
        ? closedBreaker
        : { mode: 'half-open', successes, trialInFlight: false };
    }
    case 'open':
      // A call admitted before the circuit opened has come back: the circuit stays open either way.
      return state;
  }
}

/** Refused without calling the provider: the circuit is open. A dispatcher retries it later without counting it. */
export class CircuitOpenError extends TransientProviderError {
  constructor(readonly deferMs: number) {
    super(`payment provider circuit open: calls fail fast for another ${Math.ceil(deferMs / 1000)} s`);
    this.name = 'CircuitOpenError';
  }
}

export interface BreakerOptions {
  readonly policy?: BreakerPolicy;
  readonly now?: () => number;
  /** Told every change of mode (for a metric and a log line). */
  readonly onChange?: (mode: BreakerState['mode'], previous: BreakerState['mode']) => void;
}

/** The provider behind a breaker shared by every call of this process. */
export function withCircuitBreaker(provider: PaymentProvider, options: BreakerOptions = {}): PaymentProvider {
  const policy = options.policy ?? DEFAULT_BREAKER_POLICY;
  const now = options.now ?? Date.now;
  let state: BreakerState = closedBreaker;
  // Bumped whenever the circuit opens: a call admitted before that must not count in the half-open that follows
  // (it would pass for the trial's answer, or let a second trial out).
  let generation = 0;
  const move = (next: BreakerState) => {
    if (next.mode === 'open' && state.mode !== 'open') generation++;
    if (next.mode !== state.mode) options.onChange?.(next.mode, state.mode);
    state = next;
  };
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    const admission = admit(state, now(), policy);
    move(admission.state);
    if (!admission.allowed) throw new CircuitOpenError(admission.retryAfterMs);
    const admittedIn = generation;
    const settle = (outcome: CallOutcome) => {
      if (admittedIn === generation) move(record(state, outcome, now(), policy));
    };
    try {
      const result = await call();
      settle('answered');
      return result;
    } catch (error) {
      settle(error instanceof TransientProviderError ? 'failed' : 'answered');
      throw error;
    }
  };
  return {
    authorize: (request, key) => guarded(() => provider.authorize(request, key)),
    capture: (ref, amount, key) => guarded(() => provider.capture(ref, amount, key)),
    void: (ref, key) => guarded(() => provider.void(ref, key)),
    refund: (ref, amount, key) => guarded(() => provider.refund(ref, amount, key)),
  };
}
