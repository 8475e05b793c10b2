import { describe, expect, it } from 'vitest';
import { type AttemptRow, attemptsOf } from '../../../sagas/runtime/attempts.js';
import { type RetryFacts, retryVerdict } from '../../../sagas/runtime/retry.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 25, 12, 0, s));
const started = (id: number, commandId: number, attempt: number, step = 'capture'): AttemptRow => ({
  id,
  at: at(id),
  kind: 'attempt-started',
  detail: { step, kind: `payment.${step}`, commandId, attempt },
});
const ended = (id: number, kind: string, attemptId: number, error?: string): AttemptRow => ({
  id,
  at: at(id),
  kind,
  detail: { step: 'capture', attemptId, ...(error ? { error } : {}) },
});
const nothingClaimed = () => false;

describe('attempts on the timeline', () => {
  it('pairs each start with its outcome by attempt id, whatever lies between', () => {
    const rows = [
      started(1, 7, 1),
      { id: 2, at: at(2), kind: 'event', detail: { eventType: 'OrderPlaced' } },
      ended(3, 'command-retry', 1, 'TransientProviderError: 503'),
      started(4, 7, 2),
      ended(5, 'command-done', 4),
    ];
    expect(attemptsOf(rows, nothingClaimed)).toEqual([
      {
        id: 1,
        commandId: 7,
        step: 'capture',
        kind: 'payment.capture',
        attempt: 1,
        startedAt: at(1).toISOString(),
        outcome: 'retry',
        endedAt: at(3).toISOString(),
        error: 'TransientProviderError: 503',
      },
      expect.objectContaining({ id: 4, attempt: 2, outcome: 'done', endedAt: at(5).toISOString(), error: null }),
    ]);
  });

  it('a start without an outcome is running while its claim is held, cut off otherwise', () => {
    const rows = [started(1, 7, 1), started(2, 7, 1), ended(3, 'command-done', 2)];
    expect(attemptsOf(rows, nothingClaimed).map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'cut-off'],
      [1, 'done'],
    ]);
    const inFlight = [started(1, 7, 1)];
    expect(attemptsOf(inFlight, (commandId, attemptId) => commandId === 7 && attemptId === 1)[0]?.outcome).toBe(
      'running',
    );
  });

  it('names every way an attempt ends', () => {
    const kinds = {
      'command-done': 'done',
      'command-retry': 'retry',
      'command-failed': 'failed',
      'compensation-failed': 'failed',
      'command-deferred': 'deferred',
      'attempt-superseded': 'superseded',
    };
    for (const [kind, outcome] of Object.entries(kinds)) {
      expect(attemptsOf([started(1, 7, 1), ended(2, kind, 1)], nothingClaimed)[0]?.outcome, kind).toBe(outcome);
    }
    // Outcomes from before attempts were recorded carry no attempt id: no attempt to pair with, none invented.
    expect(attemptsOf([{ ...ended(1, 'command-done', 0), detail: { step: 'x' } }], nothingClaimed)).toEqual([]);
  });
});

describe('retry verdict', () => {
  const failed: RetryFacts = { status: 'failed', retryable: true, sagaStatus: 'NEEDS_ATTENTION', laterSteps: [] };

  it('allows a failed command the saga left open, with nothing issued since', () => {
    expect(retryVerdict(failed)).toEqual({ allowed: true, code: null, message: null });
  });

  it.each([
    ['not-failed', { status: 'pending' }],
    ['not-failed', { status: 'done' }],
    ['saga-missing', { sagaStatus: null }],
    ['compensated', { retryable: false }],
    ['no-verdict', { retryable: null }],
    ['moved-on', { laterSteps: ['void'] }],
  ] as const)('refuses with %s', (code, change) => {
    const verdict = retryVerdict({ ...failed, ...change });
    expect(verdict).toMatchObject({ allowed: false, code });
    expect(verdict.message).toBeTruthy();
  });

  it('a compensation that issued commands is reported as compensated, not only as moved on', () => {
    expect(retryVerdict({ ...failed, retryable: false, laterSteps: ['reject-order'] }).code).toBe('compensated');
  });
});
