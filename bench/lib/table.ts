import { ratio } from './stats.js';

export type Unit = 'events/s' | 'requests/s' | 'ms' | 'count';
export type Verdict = 'PASS' | 'FAIL' | 'info' | 'ERROR';

/** One line of the result table; `ratio` is always ours / baseline, whichever direction is better. */
export interface Row {
  readonly suite: string;
  readonly metric: string;
  readonly unit: Unit;
  readonly ours: number | null;
  readonly baseline: number | null;
  readonly ratio: number | null;
  readonly target: string;
  readonly verdict: Verdict;
}

type Judge = (ours: number, ratioToBaseline: number | null) => { target: string; pass: boolean | null };

/** Target on the ratio: throughput at least `min` times the baseline's. */
export const ratioAtLeast =
  (min: number): Judge =>
  (_ours, r) => ({ target: `≥ ${min.toFixed(2)}× baseline`, pass: r === null ? false : r >= min });

/** Target on the ratio: a latency at most `max` times the baseline's. */
export const ratioAtMost =
  (max: number): Judge =>
  (_ours, r) => ({ target: `≤ ${max.toFixed(2)}× baseline`, pass: r === null ? false : r <= max });

/** Target on our own value: strictly below a bound (latency). */
export const below =
  (bound: number, label: string): Judge =>
  (ours) => ({ target: `${label} < ${bound} ms`, pass: ours < bound });

/** Target on our own value: a count that must not exceed `max` (lost events). */
export const atMost =
  (max: number): Judge =>
  (ours) => ({ target: max === 0 ? '= 0' : `≤ ${max}`, pass: ours <= max });

/** Target on our own value: a rate (or count) of at least `min`, independent of any baseline. */
export const atLeast =
  (min: number, unit: Unit): Judge =>
  (ours) => ({ target: `≥ ${formatValue(min, unit)}`, pass: ours >= min });

/** Target on our own value: exactly `expected` (every subscriber got every update). */
export const exactly =
  (expected: number, label: string): Judge =>
  (ours) => ({ target: `= ${thousands.format(expected)} (${label})`, pass: ours === expected });

/**
 * No target on the latency itself, but a check of how it was measured: on one clock no sample is below zero, so a
 * negative one (`lowest`, the smallest sample of ours and the baseline's) fails the row rather than flatter it.
 */
export const nonNegative =
  (lowest: number): Judge =>
  (ours) => ({ target: 'every sample ≥ 0 ms', pass: ours >= 0 && lowest >= 0 });

/** No target: the row explains the others. */
export const informational: Judge = () => ({ target: '—', pass: null });

export function row(
  suite: string,
  metric: string,
  unit: Unit,
  ours: number,
  baseline: number | null,
  judge: Judge = informational,
): Row {
  const r = ratio(ours, baseline);
  const { target, pass } = judge(ours, r);
  const verdict: Verdict = !Number.isFinite(ours) ? 'ERROR' : pass === null ? 'info' : pass ? 'PASS' : 'FAIL';
  return { suite, metric, unit, ours, baseline, ratio: r, target, verdict };
}

export const errorRow = (suite: string, message: string): Row => ({
  suite,
  metric: `error: ${message.split('\n')[0]!.slice(0, 100)}`,
  unit: 'ms',
  ours: null,
  baseline: null,
  ratio: null,
  target: '—',
  verdict: 'ERROR',
});

const thousands = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatValue(value: number | null, unit: Unit): string {
  if (value === null || !Number.isFinite(value)) return '—';
  if (unit === 'events/s' || unit === 'requests/s') return `${thousands.format(value)}/s`;
  if (unit === 'count') return thousands.format(value);
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

const formatRatio = (r: number | null): string => (r === null ? '—' : `${r.toFixed(2)}×`);

const HEADER = ['suite', 'metric', 'ours', 'baseline', 'ratio', 'target', 'verdict'] as const;
const RIGHT_ALIGNED = new Set([2, 3, 4]);

const cells = (r: Row): string[] => [
  r.suite,
  r.metric,
  formatValue(r.ours, r.unit),
  formatValue(r.baseline, r.unit),
  formatRatio(r.ratio),
  r.target,
  r.verdict,
];

/** A plain-text table for the terminal. */
export function renderText(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c.map((v, i) => (RIGHT_ALIGNED.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(HEADER), rule, ...body.map(line)].join('\n');
}

/** The same table in GitHub Markdown. */
export function renderMarkdown(rows: readonly Row[]): string {
  const escapePipes = (v: string) => v.replaceAll('|', '\\|');
  const align = HEADER.map((_, i) => (RIGHT_ALIGNED.has(i) ? '---:' : '---'));
  return [HEADER, align, ...rows.map(cells)].map((c) => `| ${c.map(escapePipes).join(' | ')} |`).join('\n');
}
