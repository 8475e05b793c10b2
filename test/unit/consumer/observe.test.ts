import { describe, expect, it } from 'vitest';
import { countDuplicates, countMissingState, observingBatch } from '../../../runtime/consumer/observe.js';

describe('what a consumer reports about a batch', () => {
  it('reaches the observer of the batch it belongs to, across awaits, and nobody outside one', async () => {
    const seen: string[] = [];
    const observer = (name: string) => ({
      duplicatesSkipped: (n: number) => seen.push(`${name} duplicates ${n}`),
      stateMissing: (n: number) => seen.push(`${name} missing ${n}`),
    });
    countDuplicates(5); // outside any batch (a rebuild, a replay): nothing to report to
    const tick = () => new Promise((r) => setTimeout(r, 1));
    await Promise.all([
      observingBatch(observer('a'), async () => {
        await tick();
        countDuplicates(2);
        await tick();
        countMissingState();
      }),
      observingBatch(observer('b'), async () => {
        countDuplicates();
        countDuplicates(0); // nothing skipped: not reported
      }),
    ]);
    expect(seen.sort()).toEqual(['a duplicates 2', 'a missing 1', 'b duplicates 1']);
  });
});
