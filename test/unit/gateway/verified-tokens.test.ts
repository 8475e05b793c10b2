import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from '../../../gateway/verified-tokens.js';

// The bounded cache behind TokenService.verify (issue 14); TokenService's use of it is in test/unit/tokens.test.ts.

describe('VerifiedTokens', () => {
  it('answers a token until its expiry, not at or after it', () => {
    let now = 1_000;
    const cache = new VerifiedTokens<{ expiresAt: number }>(10, () => now);
    cache.remember('t', { expiresAt: 2_000 });
    expect(cache.get('t')).toEqual({ expiresAt: 2_000 });
    now = 1_999;
    expect(cache.get('t')).toBeDefined();
    now = 2_000;
    expect(cache.get('t')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never keeps a token already expired', () => {
    const cache = new VerifiedTokens<{ expiresAt: number }>(10, () => 5_000);
    cache.remember('t', { expiresAt: 5_000 });
    expect(cache.size).toBe(0);
  });

  it('is bounded: the least recently used token goes first', () => {
    const cache = new VerifiedTokens<{ expiresAt: number }>(2, () => 0);
    cache.remember('a', { expiresAt: 1 });
    cache.remember('b', { expiresAt: 1 });
    cache.get('a'); // a is now the most recently used
    cache.remember('c', { expiresAt: 1 });
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
  });

  it('with a bound of 0 keeps nothing', () => {
    const cache = new VerifiedTokens<{ expiresAt: number }>(0, () => 0);
    cache.remember('a', { expiresAt: 1 });
    expect(cache.get('a')).toBeUndefined();
  });
});
