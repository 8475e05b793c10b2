import { type OpenLoopRun, openLoop, type PlaceAttempt } from './e2e-load.js';
import type { E2eSystem } from './e2e-system.js';
import { type ConfirmationWatcher, type ConsumerLag, storeConfirmLatencies } from './e2e-watch.js';
import { progress, sleep, within } from './progress.js';
import { type Summary, summarize } from './stats.js';

// One step of the e2e suite's ladder: open-loop place-order at a fixed rate for a fixed time, then a drain, and
// what it comes to — rate achieved, place→CONFIRMED, what was left unconfirmed, the saga's lag — judged against
// the bound. Also the warm-up that proves a freshly started system confirms orders at all.

/** The target bound of p99 place→CONFIRMED. */
export const P99_BOUND_MS = 1000;
/** A step offered less than this share of its rate (the client could not keep up) does not count as sustained. */
const MIN_ACHIEVED_SHARE = 0.95;
const LAG_SAMPLE_MS = 1000;
/** How long the last answers of a step may take after its schedule ended. */
const SETTLE_TIMEOUT_MS = 35_000;
const WARMUP_CONFIRM_TIMEOUT_MS = 60_000;

export interface Observers {
  readonly system: E2eSystem;
  readonly watcher: ConfirmationWatcher;
  readonly lag: ConsumerLag;
}

export interface StepSpec {
  /** The share of the gateway's rate, for the report. */
  readonly fraction: number;
  readonly rate: number;
  readonly seconds: number;
  /** How long after the load the step waits for its last orders to be confirmed. */
  readonly drainCapSeconds: number;
}

interface LagSample {
  readonly atMs: number;
  readonly messages: number;
}

/** Samples the saga's consumer lag every second until stopped; the samples are relative to `since`. */
function sampleLag(lag: ConsumerLag, since: number): { stop(): Promise<LagSample[]> } {
  const samples: LagSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const messages = await lag.sample();
      if (messages !== null) samples.push({ atMs: performance.now() - since, messages });
      await sleep(LAG_SAMPLE_MS);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

export interface StepResult {
  readonly fraction: number;
  readonly targetRate: number;
  /** Orders placed (201) per second of the step. */
  readonly achievedRate: number;
  readonly sent: number;
  readonly placed: number;
  /** Answers other than 201, network errors and timeouts, and requests not sent (too many unanswered). */
  readonly failed: number;
  readonly failedStatuses: Readonly<Record<string, number>>;
  readonly maxDispatchLagMs: number;
  readonly placeLatencyMs: Summary;
  /** Every placed order's place→CONFIRMED; one not confirmed by the end counts as (end − sent): a lower bound. */
  readonly confirmLatencyMs: Summary;
  readonly notConfirmedAtEnd: number;
  /**
   * OrderPlaced → OrderConfirmed between the two appends, on the event store's clock: the saga's part (relay,
   * saga, provider, relay, saga); the rest of place→CONFIRMED is the gateway before it and the projector after.
   */
  readonly storeConfirmLatencyMs: Summary;
  readonly notConfirmedWhenLoadStopped: number;
  /** From the end of the load to the last confirmation; null when the drain cap came first. */
  readonly drainMs: number | null;
  /** Orders that ended REJECTED or CANCELLED instead (they count as not confirmed). */
  readonly endedOtherwise: number;
  /** Confirmations per second while the load ran: the saga's throughput when it cannot keep up. */
  readonly confirmedPerSecondDuringLoad: number;
  readonly sagaLag: { readonly max: number | null; readonly atLoadEnd: number | null; readonly samples: LagSample[] };
  readonly sustained: boolean;
  readonly verdict: string;
}

/** Waits until every placed order is confirmed (or ended otherwise), or `until` passes. */
async function drain(placed: readonly PlaceAttempt[], watcher: ConfirmationWatcher, until: number): Promise<void> {
  const open = (a: PlaceAttempt) => watcher.confirmedAt(a.orderId) === undefined && !watcher.endedWithout(a.orderId);
  let waiting = placed.filter(open);
  while (waiting.length > 0 && performance.now() < until) {
    await sleep(50);
    waiting = waiting.filter(open);
  }
}

/** What a step saw besides its requests and the confirmations. */
interface StepObservations {
  readonly drainCapMs: number;
  readonly lagSamples: LagSample[];
  readonly lagAtLoadEnd: number | null;
  readonly storeLatencies: readonly number[];
}

/** A step's figures and whether the system sustained it (every order placed and confirmed, p99 in bound). */
function judgeStep(
  run: OpenLoopRun,
  watcher: ConfirmationWatcher,
  fraction: number,
  targetRate: number,
  extra: StepObservations,
): StepResult {
  const seconds = (run.endedAt - run.startedAt) / 1000;
  const placed = run.attempts.filter((a) => a.status === 201);
  const failedStatuses: Record<string, number> = {};
  for (const a of run.attempts) {
    if (a.status !== 201) failedStatuses[String(a.status)] = (failedStatuses[String(a.status)] ?? 0) + 1;
  }
  if (run.skipped > 0) failedStatuses['not sent'] = run.skipped;
  const failed = Object.values(failedStatuses).reduce((n, c) => n + c, 0);
  const observedUntil = performance.now();
  const confirmedAts = placed.map((a) => watcher.confirmedAt(a.orderId));
  const latencies = placed.map((a, i) => (confirmedAts[i] ?? observedUntil) - a.sentAt);
  const notConfirmedAtEnd = confirmedAts.filter((c) => c === undefined).length;
  const lastConfirmation = confirmedAts.reduce<number>((last, c) => Math.max(last, c ?? last), run.endedAt);
  const drainMs = notConfirmedAtEnd === 0 ? lastConfirmation - run.endedAt : null;
  const confirmLatencyMs = summarize(latencies);
  const achievedRate = placed.length / seconds;
  const lagValues = [
    ...extra.lagSamples.map((s) => s.messages),
    ...(extra.lagAtLoadEnd === null ? [] : [extra.lagAtLoadEnd]),
  ];
  const problems = [
    failed > 0 ? `${failed} not placed` : '',
    achievedRate < MIN_ACHIEVED_SHARE * targetRate ? `offered only ${achievedRate.toFixed(0)}/s` : '',
    drainMs === null ? `${notConfirmedAtEnd} not confirmed ${extra.drainCapMs / 1000} s after the load` : '',
    !(confirmLatencyMs.p99 < P99_BOUND_MS) ? `p99 ≥ ${P99_BOUND_MS} ms` : '',
  ].filter((p) => p !== '');
  return {
    fraction,
    targetRate,
    achievedRate,
    sent: run.attempts.length,
    placed: placed.length,
    failed,
    failedStatuses,
    maxDispatchLagMs: run.maxDispatchLagMs,
    placeLatencyMs: summarize(placed.map((a) => a.respondedAt - a.sentAt)),
    confirmLatencyMs,
    notConfirmedAtEnd,
    storeConfirmLatencyMs: summarize(extra.storeLatencies),
    notConfirmedWhenLoadStopped: confirmedAts.filter((c) => c === undefined || c > run.endedAt).length,
    drainMs,
    endedOtherwise: placed.filter((a) => watcher.endedWithout(a.orderId) !== undefined).length,
    confirmedPerSecondDuringLoad: confirmedAts.filter((c) => c !== undefined && c <= run.endedAt).length / seconds,
    sagaLag: {
      max: lagValues.length > 0 ? Math.max(...lagValues) : null,
      atLoadEnd: extra.lagAtLoadEnd,
      samples: extra.lagSamples,
    },
    sustained: problems.length === 0,
    verdict: problems.length === 0 ? 'sustained' : problems.join('; '),
  };
}

/** One open-loop step at `rate` for the step's time, then its drain. */
export async function runStep(observers: Observers, step: StepSpec): Promise<StepResult> {
  const { fraction, rate } = step;
  const { system, watcher, lag } = observers;
  const began = performance.now();
  const sampler = sampleLag(lag, began);
  const run = await openLoop({
    gatewayUrl: system.gatewayUrl,
    tokens: system.customerTokens,
    ratePerSecond: rate,
    seconds: step.seconds,
  });
  const lagAtLoadEnd = await lag.sample();
  await within(run.settled, SETTLE_TIMEOUT_MS, 'the last place-order answers');
  const placed = run.attempts.filter((a) => a.status === 201);
  await drain(placed, watcher, run.endedAt + step.drainCapSeconds * 1000);
  const lagSamples = await sampler.stop();
  system.assertAlive();
  const storeLatencies = await storeConfirmLatencies(
    system.config.databaseUrl,
    placed.map((a) => a.orderId),
  );
  return judgeStep(run, watcher, fraction, rate, {
    drainCapMs: step.drainCapSeconds * 1000,
    lagSamples,
    lagAtLoadEnd,
    storeLatencies,
  });
}

/** A short low-rate run whose orders must all be confirmed: the pipeline works end to end, JIT and pools warm. */
export async function warmUp(observers: Observers, rate: number, seconds: number): Promise<void> {
  const run = await openLoop({
    gatewayUrl: observers.system.gatewayUrl,
    tokens: observers.system.customerTokens,
    ratePerSecond: rate,
    seconds,
  });
  await within(run.settled, SETTLE_TIMEOUT_MS, 'the warm-up answers');
  const placed = run.attempts.filter((a) => a.status === 201);
  await drain(placed, observers.watcher, performance.now() + WARMUP_CONFIRM_TIMEOUT_MS);
  const confirmed = placed.filter((a) => observers.watcher.confirmedAt(a.orderId) !== undefined).length;
  observers.system.assertAlive();
  if (placed.length === 0 || confirmed === 0) {
    const logs = observers.system.roles.map(
      (r) => `--- ${r.name}\n${r.log().trimEnd().split('\n').slice(-5).join('\n')}`,
    );
    throw new Error(
      `warm-up: ${placed.length} of ${run.attempts.length} orders placed, ${confirmed} confirmed within ` +
        `${WARMUP_CONFIRM_TIMEOUT_MS / 1000} s: the pipeline does not confirm orders\n${logs.join('\n')}`,
    );
  }
  progress('e2e', `  warm-up: ${placed.length} orders placed, ${confirmed} confirmed`);
}
