import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Increment, LocalCounts } from '../../../gateway/rate-limit-counts.js';

// The local side of the rate limiter (issue 14): which requests are decided without Redis, and the accuracy
// the limiter states. The Redis side is exercised for real in test/integration/gateway-rate-limit.test.ts.

const KEY = 'ratelimit:account:a:1';

describe('LocalCounts', () => {
  it('lets requests through locally while far from the limit, up to a batch not yet answered by Redis', () => {
    const counts = new LocalCounts();
    const decisions = Array.from({ length: 12 }, () => counts.decide(KEY, 1, 1000, 10));
    expect(decisions.slice(0, 10)).toEqual(Array(10).fill('local'));
    expect(decisions.slice(10)).toEqual(['ask', 'ask']);
  });

  it('asks Redis when the next request could reach the limit, and refuses locally once Redis said it has', () => {
    const counts = new LocalCounts();
    expect(counts.decide(KEY, 1, 10, 5)).toBe('local');
    counts.settle(counts.takePending()[0]!, 7); // others have counted 6 meanwhile
    expect(counts.decide(KEY, 1, 10, 5)).toBe('local'); // 7 + 0 + 1 <= 10
    expect(counts.decide(KEY, 1, 10, 5)).toBe('local'); // 7 + 1 + 1 <= 10
    expect(counts.decide(KEY, 1, 10, 5)).toBe('local'); // 7 + 2 + 1 <= 10
    expect(counts.decide(KEY, 1, 10, 5)).toBe('ask'); // 7 + 3 + 1 > 10
    const ask = counts.takeForAsk(KEY);
    expect(ask).toEqual({ key: KEY, by: 4 }); // the three pending and this one
    counts.settle(ask, 11); // this one is refused by the answer, and the count has reached the limit
    expect(counts.decide(KEY, 1, 10, 5)).toBe('refuse');
  });

  it('with a batch of 0 asks Redis for every request (small limits stay exact)', () => {
    const counts = new LocalCounts();
    expect(counts.decide(KEY, 1, 5, 0)).toBe('ask');
    expect(counts.takeForAsk(KEY)).toEqual({ key: KEY, by: 1 });
  });

  it('a key decided locally in a request that asks anyway is sent with its pending count, not counted twice', () => {
    const counts = new LocalCounts();
    counts.decide(KEY, 1, 1000, 10);
    counts.decide(KEY, 1, 1000, 10);
    expect(counts.takeForAsk(KEY, true)).toEqual({ key: KEY, by: 2 });
    expect(counts.takePending()).toEqual([]);
  });

  it('sends half a batch at a time, and drops the counts of a failed call', () => {
    const counts = new LocalCounts();
    for (let i = 0; i < 4; i++) counts.decide(KEY, 1, 1000, 10);
    expect(counts.shouldSend(KEY, 10)).toBe(false);
    counts.decide(KEY, 1, 1000, 10);
    expect(counts.shouldSend(KEY, 10)).toBe(true);
    const [sent] = counts.takePending();
    expect(sent).toEqual({ key: KEY, by: 5 });
    counts.settle(sent!, null);
    // Nothing outstanding any more: a whole batch can go locally again.
    expect(Array.from({ length: 10 }, () => counts.decide(KEY, 1, 1000, 10))).toEqual(Array(10).fill('local'));
  });

  it('forgets the counters of past windows', () => {
    const counts = new LocalCounts();
    counts.decide('k:1', 1, 100, 5);
    counts.decide('k:2', 2, 100, 5);
    counts.forgetBefore(2);
    expect(counts.size).toBe(1);
    expect(counts.takePending()).toEqual([{ key: 'k:2', by: 1 }]);
  });

  it('keeps at most its bound of counters; beyond it a new key asks Redis every time', () => {
    const counts = new LocalCounts(2);
    counts.decide('a', 1, 100, 5);
    counts.decide('b', 1, 100, 5);
    expect(counts.decide('c', 1, 100, 5)).toBe('ask');
    expect(counts.takeForAsk('c')).toEqual({ key: 'c', by: 1 });
    expect(counts.size).toBe(2);
  });
});

/**
 * A model of N gateways sharing one Redis counter: random interleavings of requests, flushes and Redis answers
 * (each call applied to the counter when sent, answered later, in order per gateway, as on one connection).
 */
function simulate(
  steps: readonly { gateway: number; action: 'request' | 'flush' | 'answer' }[],
  options: {
    gateways: number;
    limit: number;
    batch: number;
  },
): number {
  let redis = 0;
  let allowed = 0;
  const gateways = Array.from({ length: options.gateways }, () => ({
    counts: new LocalCounts(),
    // Calls applied to Redis, not answered yet: the increment, the count it got, and the request waiting on it.
    inFlight: [] as { increment: Increment; count: number; waiting: boolean }[],
  }));
  const apply = (g: (typeof gateways)[number], increment: Increment, waiting: boolean) => {
    redis += increment.by;
    g.inFlight.push({ increment, count: redis, waiting });
  };
  for (const step of steps) {
    const g = gateways[step.gateway % options.gateways]!;
    if (step.action === 'request') {
      const decision = g.counts.decide(KEY, 1, options.limit, options.batch);
      if (decision === 'local') {
        allowed++;
        if (g.counts.shouldSend(KEY, options.batch)) for (const i of g.counts.takePending()) apply(g, i, false);
      } else if (decision === 'ask') apply(g, g.counts.takeForAsk(KEY), true);
    } else if (step.action === 'flush') {
      for (const i of g.counts.takePending()) apply(g, i, false);
    } else {
      const answered = g.inFlight.shift();
      if (answered) {
        g.counts.settle(answered.increment, answered.count);
        if (answered.waiting && answered.count <= options.limit) allowed++;
      }
    }
  }
  // Whatever is still in flight is answered.
  for (const g of gateways) {
    for (const answered of g.inFlight) if (answered.waiting && answered.count <= options.limit) allowed++;
  }
  return allowed;
}

const steps = fc.array(
  fc.record({
    gateway: fc.nat(7),
    action: fc.constantFrom<'request' | 'flush' | 'answer'>('request', 'request', 'request', 'flush', 'answer'),
  }),
  { maxLength: 1500 },
);

describe('the stated accuracy, over random interleavings', () => {
  it('one gateway: never more than the limit', () => {
    fc.assert(
      fc.property(steps, fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 20 }), (s, limit, batch) => {
        expect(simulate(s, { gateways: 1, limit, batch })).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });

  it('N gateways: at most N × batch over the limit', () => {
    fc.assert(
      fc.property(
        steps,
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 20 }),
        (s, gateways, limit, batch) => {
          expect(simulate(s, { gateways, limit, batch })).toBeLessThanOrEqual(limit + gateways * batch);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the model can exceed the limit with several gateways (the bound is not vacuous)', () => {
    // Two gateways, each letting a batch through before either has heard from Redis.
    const s = [
      ...Array.from({ length: 10 }, () => ({ gateway: 0, action: 'request' as const })),
      ...Array.from({ length: 10 }, () => ({ gateway: 1, action: 'request' as const })),
    ];
    expect(simulate(s, { gateways: 2, limit: 12, batch: 10 })).toBeGreaterThan(12);
  });
});
