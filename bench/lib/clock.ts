import type { Redis } from 'ioredis';

// One clock for latencies measured across threads and against Redis. performance.now() counts from each thread's
// own time origin, and `performance.timeOrigin + now()` is a wall-clock reading taken once per thread, so two
// threads started apart disagree by however far the wall clock moved in between (a 752 ms step once printed
// negative latencies). The monotonic clock below is the same for every thread of the process; Redis's clock
// (entry ids, TIME) is mapped onto it with an offset measured just before it is needed.

/** Milliseconds on CLOCK_MONOTONIC: the same clock on every thread of this process, never stepped. */
export const monotonicNow = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface RedisClockOffset {
  /** Redis's clock minus monotonicNow(), in ms. */
  readonly offsetMs: number;
  /** The round trip it was read from: the offset is right to within half of it. */
  readonly roundTripMs: number;
}

/** Redis's clock against ours: TIME's reply taken at the middle of the shortest of `samples` round trips. */
export async function redisClockOffset(redis: Redis, samples = 10): Promise<RedisClockOffset> {
  let best: RedisClockOffset = { offsetMs: 0, roundTripMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < samples; i++) {
    const before = monotonicNow();
    const [seconds, micros] = await redis.time();
    const after = monotonicNow();
    const redisMs = Number(seconds) * 1000 + Number(micros) / 1000;
    if (after - before < best.roundTripMs)
      best = { offsetMs: redisMs - (before + after) / 2, roundTripMs: after - before };
  }
  return best;
}
