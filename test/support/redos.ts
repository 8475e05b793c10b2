import fc from 'fast-check';
import { problemIn } from '../../runtime/text.js';

// Worst-case inputs for a regular expression, found without knowing the pattern: polynomial backtracking needs a
// prefix that gets the engine into the pattern, a "pump" that two quantified parts can both consume (repeated n
// times, it gives the engine O(n) ways to split it), and a suffix that makes the match fail so every split is
// tried. Prefixes and pumps come from strings the pattern matches; the candidates that are slowest at a small size
// are the ones to send at full size.

export interface AttackShape {
  readonly prefix: string;
  readonly pump: string;
  readonly suffix: string;
}

/** Fail the match at the end without control characters (those are refused before any pattern runs). */
const SUFFIXES = ['', '!', ' !', '@', ' @', '#é'];
const BASE_PUMPS = ['a', 'A', '0', ' ', '\t', '.', '@', '-', '_', ':', '/', 'é', 'a.', 'a ', '0 '];

/** Distinct strings the gateway would let reach a pattern (control characters are refused before validation). */
const distinct = (xs: Iterable<string>, max: number): string[] =>
  [...new Set(xs)].filter((x) => problemIn(x, 'client') === null).slice(0, max);

export function attackShapes(pattern: string): AttackShape[] {
  const re = new RegExp(pattern, 'u');
  const samples = fc
    .sample(fc.stringMatching(re), { numRuns: 40, seed: 42 })
    .filter((s) => s.length <= 40)
    .sort((a, b) => a.length - b.length)
    .slice(0, 10);
  const prefixes = distinct(['', ...samples.flatMap((s) => [...s].map((_, i) => [...s].slice(0, i + 1).join('')))], 12);
  const pumps = distinct(
    [
      ...BASE_PUMPS,
      ...samples.flatMap((s) => {
        const chars = [...s];
        const out: string[] = [];
        for (let len = 1; len <= 3; len++) {
          for (let i = 0; i + len <= chars.length; i++) out.push(chars.slice(i, i + len).join(''));
        }
        return out;
      }),
    ],
    60,
  );
  return prefixes.flatMap((prefix) => pumps.flatMap((pump) => SUFFIXES.map((suffix) => ({ prefix, pump, suffix }))));
}

export const build = (shape: AttackShape, pumps: number): string =>
  shape.prefix + shape.pump.repeat(Math.max(0, pumps)) + shape.suffix;

/** The `count` shapes on which the pattern is slowest with about `size` characters of pump. */
export function slowestShapes(pattern: string, count = 3, size = 1000): { shape: AttackShape; ms: number }[] {
  const re = new RegExp(pattern, 'u');
  const timed = attackShapes(pattern).map((shape) => {
    const input = build(shape, Math.ceil(size / shape.pump.length));
    const started = performance.now();
    re.test(input);
    return { shape, ms: performance.now() - started };
  });
  return timed.sort((a, b) => b.ms - a.ms).slice(0, count);
}
