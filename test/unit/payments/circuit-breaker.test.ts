import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admit,
  type BreakerState,
  CircuitOpenError,
  closedBreaker,
  record,
  withCircuitBreaker,
} from '../../../sagas/payments/circuit-breaker.js';
import {
  type AuthorizeRequest,
  type PaymentProvider,
  PermanentProviderError,
  TransientProviderError,
} from '../../../sagas/payments/port.js';

const policy = { failuresToOpen: 5, openMs: 60_000, successesToClose: 3 };

/** A provider whose next answers are scripted: 'ok', 'down' (transient) or 'refused' (permanent). */
function scripted(answers: ('ok' | 'down' | 'refused')[]) {
  let calls = 0;
  const answer = async () => {
    calls++;
    const next = answers.shift() ?? 'ok';
    if (next === 'down') throw new TransientProviderError('HTTP 503');
    if (next === 'refused') throw new PermanentProviderError('HTTP 400');
  };
  const provider: PaymentProvider = {
    authorize: async () => {
      await answer();
      return { outcome: 'authorized', providerRef: 'pi_1' };
    },
    capture: answer,
    void: answer,
    refund: answer,
  };
  return { provider, calls: () => calls };
}

const request: AuthorizeRequest = {
  paymentId: 'p',
  orderId: 'o',
  amountMinor: 100,
  currency: 'EUR',
  cardToken: '4242424242424242',
};

describe('payment circuit breaker', () => {
  it('opens after 5 consecutive transient failures, then fails fast without calling the provider', async () => {
    let now = 0;
    const backend = scripted(['down', 'down', 'down', 'down', 'down']);
    const provider = withCircuitBreaker(backend.provider, { policy, now: () => now });
    for (let i = 0; i < 5; i++) await expect(provider.void('pi', `k${i}`)).rejects.toThrow('HTTP 503');
    now = 59_000;
    const refused = await provider.void('pi', 'k5').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused).toBeInstanceOf(TransientProviderError); // retried by the saga like any outage
    expect((refused as CircuitOpenError).deferMs).toBe(1000);
    expect(backend.calls()).toBe(5);
  });

  it('lets one trial through after the open period and closes after 3 answers in a row', async () => {
    let now = 0;
    const modes: string[] = [];
    const backend = scripted(['down', 'down', 'down', 'down', 'down']);
    const provider = withCircuitBreaker(backend.provider, {
      policy,
      now: () => now,
      onChange: (mode) => modes.push(mode),
    });
    for (let i = 0; i < 5; i++) await provider.capture('pi', 1, `k${i}`).catch(() => undefined);
    now = 60_000;
    const trial = provider.authorize(request, 'trial');
    // While the trial is out, others wait (briefly) instead of piling onto a provider that may still be down.
    await expect(provider.capture('pi', 1, 'other')).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(trial).resolves.toMatchObject({ outcome: 'authorized' });
    await provider.refund('pi', 1, 'r1');
    await provider.refund('pi', 1, 'r2');
    expect(modes).toEqual(['open', 'half-open', 'closed']);
  });

  it('ignores the late answer of a call admitted before the circuit opened: one trial at a time', async () => {
    let now = 0;
    let answerLate: () => void = () => undefined;
    let calls = 0;
    const backend: PaymentProvider = {
      ...scripted([]).provider,
      void: async (_ref, key) => {
        calls++;
        if (key === 'late') return new Promise<void>((resolve) => (answerLate = resolve));
        if (key.startsWith('fail')) throw new TransientProviderError('HTTP 503');
      },
    };
    const provider = withCircuitBreaker(backend, { policy, now: () => now });
    const late = provider.void('pi', 'late'); // admitted while closed, answers much later
    for (let i = 0; i < 5; i++) await provider.void('pi', `fail-${i}`).catch(() => undefined);
    now = 60_000;
    let finishTrial: () => void = () => undefined;
    backend.void = async () => {
      calls++;
      return new Promise<void>((resolve) => (finishTrial = resolve));
    };
    const trial = provider.void('pi', 'trial');
    answerLate();
    await late;
    // The late answer did not pass for the trial's: the trial is still the only call allowed out.
    await expect(provider.void('pi', 'other')).rejects.toBeInstanceOf(CircuitOpenError);
    finishTrial();
    await trial;
    expect(calls).toBe(7);
  });

  it('opens again when the trial fails', async () => {
    let now = 0;
    const backend = scripted(['down', 'down', 'down', 'down', 'down', 'down']);
    const provider = withCircuitBreaker(backend.provider, { policy, now: () => now });
    for (let i = 0; i < 5; i++) await provider.void('pi', `k${i}`).catch(() => undefined);
    now = 60_000;
    await expect(provider.void('pi', 'trial')).rejects.toThrow('HTTP 503');
    now = 61_000;
    await expect(provider.void('pi', 'again')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(backend.calls()).toBe(6);
  });

  it('counts a refusal (4xx, decline) as the provider answering: it never opens the circuit', async () => {
    const backend = scripted(Array.from({ length: 10 }, () => 'refused' as const));
    const provider = withCircuitBreaker(backend.provider, { policy, now: () => 0 });
    for (let i = 0; i < 10; i++)
      await expect(provider.void('pi', `k${i}`)).rejects.toBeInstanceOf(PermanentProviderError);
    expect(backend.calls()).toBe(10);
  });

  it('property: the circuit is open only after failuresToOpen consecutive failures, and never calls out while open', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(30_000)), { maxLength: 200 }), (steps) => {
        let state: BreakerState = closedBreaker;
        let now = 0;
        let consecutiveFailures = 0;
        for (const [fails, elapsed] of steps) {
          now += elapsed;
          const admission = admit(state, now, policy);
          if (state.mode === 'open' && now < state.until) expect(admission.allowed).toBe(false);
          state = admission.state;
          if (!admission.allowed) continue;
          state = record(state, fails ? 'failed' : 'answered', now, policy);
          consecutiveFailures = fails ? consecutiveFailures + 1 : 0;
          if (state.mode === 'open') expect(consecutiveFailures).toBeGreaterThanOrEqual(1);
          if (state.mode === 'closed') expect(consecutiveFailures).toBeLessThan(policy.failuresToOpen);
        }
      }),
      { numRuns: 300 },
    );
  });
});
