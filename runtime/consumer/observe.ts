import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a consumer's own code reports about a batch the runner handed it, for the runner's metrics. The dedupe
 * lives where each consumer keeps its state (PostgreSQL read models by stream version in `projection_streams`,
 * the Redis status script by version, sagas by processed event id), so that is where it is counted: the code
 * that skips calls `countDuplicates()`, and the runner feeding the batch turns it into its counter, labelled
 * with the consumer. Outside a runner (a rebuild, a replay from the CLI) the calls change nothing.
 */
export interface BatchObserver {
  /** Events skipped because this consumer had applied them already (a redelivery, a replay, a retried batch). */
  duplicatesSkipped(count: number): void;
  /**
   * Events it could not apply because it holds no state for their stream although the stream began earlier:
   * its storage lost data, or the stream's first event was dead-lettered. Rebuilding the projection repairs it.
   */
  stateMissing(count: number): void;
}

const current = new AsyncLocalStorage<BatchObserver>();

/** Runs `apply` (a consumer's handling of one batch) with `observer` receiving what the consumer reports. */
export function observingBatch<T>(observer: BatchObserver, apply: () => Promise<T>): Promise<T> {
  return current.run(observer, apply);
}

/** Called where a consumer skips events it has applied already; a no-op outside a runner's batch. */
export function countDuplicates(count = 1): void {
  if (count > 0) current.getStore()?.duplicatesSkipped(count);
}

/** Called where a consumer skips events of a stream it has no state for; a no-op outside a runner's batch. */
export function countMissingState(count = 1): void {
  if (count > 0) current.getStore()?.stateMissing(count);
}
