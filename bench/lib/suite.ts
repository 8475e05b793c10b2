import type { Row } from './table.js';

export interface SuiteContext {
  /** A shorter run for a quick look: same measurements, smaller durations and counts. */
  readonly quick: boolean;
}

export interface SuiteResult {
  readonly rows: readonly Row[];
  /** Raw summaries and parameters, written to the JSON result for whoever wants to dig. */
  readonly details: Readonly<Record<string, unknown>>;
  /** Findings the table cannot hold (why a target was missed, where the time went), printed under it. */
  readonly notes?: readonly string[];
}

export interface Suite {
  readonly name: string;
  run(context: SuiteContext): Promise<SuiteResult>;
}
