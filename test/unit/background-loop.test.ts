import { describe, expect, it } from 'vitest';
import { createLogger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';

// The worker loop behind the relay, the dispatcher and the scheduler: an idle pause ends at a nudge; a failure's
// back-off does not (a nudge must not turn a failing database into a busy loop); a nudge during a step skips the
// next idle pause.

const logger = createLogger('test', 'silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function counting(outcome: () => boolean | Error) {
  let steps = 0;
  const loop = new BackgroundLoop(
    'test loop',
    async () => {
      steps++;
      const o = outcome();
      if (o instanceof Error) throw o;
      return o;
    },
    logger,
    { idleMs: 10_000, backoffMs: 10_000, maxBackoffMs: 10_000 },
  );
  return { loop, steps: () => steps };
}

describe('BackgroundLoop', () => {
  it('runs a step at once when nudged in an idle pause, not only after idleMs', async () => {
    const { loop, steps } = counting(() => false);
    loop.start();
    await sleep(50);
    expect(steps()).toBe(1);
    loop.nudge();
    await sleep(50);
    expect(steps()).toBe(2);
    await loop.stop();
  });

  it('does not cut a back-off after a failure short', async () => {
    const { loop, steps } = counting(() => new Error('database down'));
    loop.start();
    await sleep(50);
    loop.nudge();
    await sleep(50);
    expect(steps()).toBe(1);
    await loop.stop();
  });

  it('skips the idle pause after a step during which it was nudged', async () => {
    let nudgeDuringStep: (() => void) | null = null;
    const { loop, steps } = counting(() => {
      nudgeDuringStep?.();
      nudgeDuringStep = null;
      return false;
    });
    nudgeDuringStep = () => loop.nudge();
    loop.start();
    await sleep(50);
    expect(steps()).toBe(2);
    await loop.stop();
  });
});
