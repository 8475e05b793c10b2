/**
 * What one gateway process knows of the shared rate-limit counters (one per key and fixed window, in Redis), and
 * when it may decide a request without asking Redis. Pure bookkeeping: the Redis calls are the limiter's.
 *
 * Per counter: `known`, the count Redis last answered; `sending`, increments sent and not answered yet;
 * `pending`, requests let through here and not sent yet. A request is let through locally while
 * `known + sending + pending + 1 <= limit` and fewer than `batch` requests are unsent or unanswered; refused
 * locally once `known >= limit` (a window's count only grows); otherwise Redis is asked (INCRBY of the pending
 * count plus this request, which is let through if the answer is <= limit).
 *
 * Accuracy, per key and window:
 * - one gateway process: exact. Its view counts everything Redis has (its own increments), so a request let
 *   through locally is within the limit, and near the limit every request asks Redis.
 * - N processes sharing Redis: at most N × batch requests over the limit. A process cannot see the others'
 *   unsent requests, but once the shared count has reached the limit, a process lets through at most `batch`
 *   more before an answer tells it so (no more than `batch` are ever unsent or unanswered; they are sent once half
 *   a batch is pending, and on a timer so that other processes see them).
 * As before, a request Redis refuses still counts (the counters count attempts); one refused locally does not.
 */

export type Decision = 'local' | 'refuse' | 'ask';

interface Counter {
  readonly window: number;
  known: number;
  sending: number;
  pending: number;
}

export interface Increment {
  readonly key: string;
  readonly by: number;
}

/** Counters kept per process at most; beyond it a new key asks Redis on every request (exact, one round trip). */
export const MAX_COUNTERS = 100_000;

export class LocalCounts {
  private readonly counters = new Map<string, Counter>();
  /** Keys with pending requests, for the next flush. */
  private readonly dirty = new Set<string>();

  constructor(private readonly maxCounters: number = MAX_COUNTERS) {}

  /** How a request counted against `key` (of window `window`) is decided; `local` also counts it as pending. */
  decide(key: string, window: number, limit: number, batch: number): Decision {
    const counter = this.counter(key, window);
    if (!counter) return 'ask';
    if (counter.known >= limit) return 'refuse';
    const outstanding = counter.sending + counter.pending;
    if (outstanding < batch && counter.known + outstanding + 1 <= limit) {
      counter.pending++;
      this.dirty.add(key);
      return 'local';
    }
    return 'ask';
  }

  /**
   * Whether `key`'s pending requests should be sent now: half a batch, so the other half can still be let
   * through locally while they are on their way.
   */
  shouldSend(key: string, batch: number): boolean {
    const counter = this.counters.get(key);
    return counter !== undefined && counter.pending >= Math.ceil(batch / 2);
  }

  /**
   * The increment of a request that asks Redis: the key's pending requests and itself (unless it was already
   * counted as pending, decided locally on this key while another key of the request asks), now being sent.
   */
  takeForAsk(key: string, countedAlready = false): Increment {
    const self = countedAlready ? 0 : 1;
    const counter = this.counters.get(key);
    if (!counter) return { key, by: self };
    const by = counter.pending + self;
    counter.pending = 0;
    counter.sending += by;
    this.dirty.delete(key);
    return { key, by };
  }

  /** Every pending count, now being sent (the periodic flush). */
  takePending(): Increment[] {
    const taken: Increment[] = [];
    for (const key of this.dirty) {
      const counter = this.counters.get(key);
      if (!counter || counter.pending === 0) continue;
      taken.push({ key, by: counter.pending });
      counter.sending += counter.pending;
      counter.pending = 0;
    }
    this.dirty.clear();
    return taken;
  }

  /** Redis answered an increment with the counter's new value (`null`: it failed; the counts are dropped). */
  settle(increment: Increment, count: number | null): void {
    const counter = this.counters.get(increment.key);
    if (!counter) return;
    counter.sending = Math.max(0, counter.sending - increment.by);
    if (count !== null) counter.known = Math.max(counter.known, count);
  }

  /** Forgets the counters of windows before `window` (their counts no longer limit anything). */
  forgetBefore(window: number): void {
    for (const [key, counter] of this.counters) {
      if (counter.window < window) {
        this.counters.delete(key);
        this.dirty.delete(key);
      }
    }
  }

  get size(): number {
    return this.counters.size;
  }

  private counter(key: string, window: number): Counter | null {
    const known = this.counters.get(key);
    if (known) return known;
    if (this.counters.size >= this.maxCounters) return null;
    const created: Counter = { window, known: 0, sending: 0, pending: 0 };
    this.counters.set(key, created);
    return created;
  }
}
