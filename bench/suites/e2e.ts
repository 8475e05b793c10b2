import { ORDER_PAYMENT_SAGA, orderPaymentSaga } from '../../sagas/ordering/order-payment.js';
import { type OpenLoopRun, openLoop, type PlaceAttempt, placeOrderBody } from '../lib/e2e-load.js';
import { type E2eSystem, startE2eSystem } from '../lib/e2e-system.js';
import { ConfirmationWatcher, ConsumerLag } from '../lib/e2e-watch.js';
import type { LoadResult, LoadSpec } from '../lib/load-worker.js';
import { progress, sleep, within } from '../lib/progress.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { informational, type Row, ratioAtLeast, row } from '../lib/table.js';
import { nextMessage, startWorker } from '../lib/worker.js';

// place-order → CONFIRMED through the whole system, each role in its own process as in production: the gateway
// appends OrderPlaced; the relay publishes it; the saga asks the payment provider (the local simulator) to
// authorize, records PaymentAuthorized, which the relay publishes, and the saga confirms the order; the relay
// publishes OrderConfirmed and the projector makes it visible (Redis status and the live channel).
//
// 1. The gateway's place-order rate: closed loop, every role running, on a system of its own (its orders leave a
//    backlog the saga could take minutes to work off, so the ladder below starts on a fresh system).
// 2. A ladder of open-loop steps at fractions of that rate, each sustained for a fixed time, then drained: per
//    step the rate achieved, place→CONFIRMED percentiles, the orders not yet confirmed when the load stopped and
//    how long they took to drain, the saga's consumer lag. A step that does not drain within its cap ends the
//    ladder: its backlog would be in every later step's numbers.

const SUITE = 'e2e';
const FRACTIONS = [0.25, 0.5, 0.75, 0.9, 1] as const;
/** The target: p99 place→CONFIRMED under this bound at half the gateway's rate, and as high a rate as 0.9 of it. */
const P99_BOUND_MS = 1000;
const LATENCY_TARGET_FRACTION = 0.5;
const SUSTAIN_TARGET_RATIO = 0.9;
/** A step offered less than this share of its rate (the client could not keep up) does not count as sustained. */
const MIN_ACHIEVED_SHARE = 0.95;
/** The gateway suite's closed loop: more connections than the write side's pool, so the pool is what queues. */
const CONNECTIONS = 16;
const CUSTOMERS = 16;
const LAG_SAMPLE_MS = 1000;
const SETTLE_TIMEOUT_MS = 35_000;
const WARMUP_CONFIRM_TIMEOUT_MS = 60_000;

/** The harness's limit for this suite (bench/run.ts): two system start-ups, the saturation and the whole ladder. */
export const E2E_LIMIT_MS = { quick: 5 * 60_000, full: 13 * 60_000 } as const;
/** Kept back from the limit for stopping the system and removing what it made. */
const TEARDOWN_RESERVE_MS = 45_000;

interface Timing {
  readonly saturationWarmupSeconds: number;
  readonly saturationSeconds: number;
  readonly warmupSeconds: number;
  readonly stepSeconds: number;
  readonly drainCapSeconds: number;
}

const TIMING: Record<'quick' | 'full', Timing> = {
  quick: { saturationWarmupSeconds: 1, saturationSeconds: 6, warmupSeconds: 3, stepSeconds: 10, drainCapSeconds: 10 },
  full: { saturationWarmupSeconds: 2, saturationSeconds: 15, warmupSeconds: 5, stepSeconds: 60, drainCapSeconds: 30 },
};

interface GatewayRate {
  readonly requestsPerSecond: number;
  readonly ok: number;
  readonly seconds: number;
  readonly latencyMs: Summary;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
}

const isLoadResult = (m: unknown): m is LoadResult =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'load-result';

/** Closed-loop place-order through the gateway of a whole running system (the gateway suite's load worker). */
async function measureGatewayRate(timing: Timing): Promise<GatewayRate> {
  const system = await startE2eSystem({ label: 'e2esat', customers: 1 });
  try {
    const spec: LoadSpec = {
      url: `${system.gatewayUrl}/commands/ordering/place-order`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${system.customerTokens[0]}` },
      body: placeOrderBody('replaced per request'),
      freshIdField: 'orderId',
      connections: CONNECTIONS,
      warmupSeconds: timing.saturationWarmupSeconds,
      measureSeconds: timing.saturationSeconds,
    };
    const worker = startWorker(new URL('../lib/load-worker.ts', import.meta.url), spec);
    try {
      const result = await nextMessage(
        worker,
        isLoadResult,
        (spec.warmupSeconds + spec.measureSeconds + 60) * 1000,
        'the load generator',
      );
      system.assertAlive();
      return {
        requestsPerSecond: result.ok / result.seconds,
        ok: result.ok,
        seconds: result.seconds,
        latencyMs: summarize([...result.latenciesMs]),
        statusCounts: result.statusCounts,
        errors: result.errors,
        timeouts: result.timeouts,
      };
    } finally {
      await worker.terminate();
    }
  } finally {
    progress(SUITE, '  stopping the saturated system');
    await system.stop();
  }
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

function judgeStep(
  run: OpenLoopRun,
  watcher: ConfirmationWatcher,
  fraction: number,
  targetRate: number,
  extra: {
    drainCapMs: number;
    lagSamples: LagSample[];
    lagAtLoadEnd: number | null;
  },
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
  const lastConfirmation = Math.max(run.endedAt, ...confirmedAts.map((c) => c ?? run.endedAt));
  const drainMs = notConfirmedAtEnd === 0 ? lastConfirmation - run.endedAt : null;
  const confirmLatencyMs = summarize(latencies);
  const achievedRate = placed.length / seconds;
  const lagValues = extra.lagSamples.map((s) => s.messages);
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

interface Observers {
  readonly system: E2eSystem;
  readonly watcher: ConfirmationWatcher;
  readonly lag: ConsumerLag;
}

/** One open-loop step at `rate` for the step's time, then its drain. */
async function runStep(observers: Observers, fraction: number, rate: number, timing: Timing): Promise<StepResult> {
  const { system, watcher, lag } = observers;
  const began = performance.now();
  const sampler = sampleLag(lag, began);
  const run = await openLoop({
    gatewayUrl: system.gatewayUrl,
    tokens: system.customerTokens,
    ratePerSecond: rate,
    seconds: timing.stepSeconds,
  });
  const lagAtLoadEnd = await lag.sample();
  await within(run.settled, SETTLE_TIMEOUT_MS, 'the last place-order answers');
  const placed = run.attempts.filter((a) => a.status === 201);
  await drain(placed, watcher, run.endedAt + timing.drainCapSeconds * 1000);
  const lagSamples = await sampler.stop();
  system.assertAlive();
  return judgeStep(run, watcher, fraction, rate, {
    drainCapMs: timing.drainCapSeconds * 1000,
    lagSamples,
    lagAtLoadEnd,
  });
}

/** A short low-rate run whose orders must all be confirmed: the pipeline works end to end, JIT and pools warm. */
async function warmUp(observers: Observers, rate: number, timing: Timing): Promise<void> {
  const run = await openLoop({
    gatewayUrl: observers.system.gatewayUrl,
    tokens: observers.system.customerTokens,
    ratePerSecond: rate,
    seconds: timing.warmupSeconds,
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
  progress(SUITE, `  warm-up: ${placed.length} orders placed, ${confirmed} confirmed`);
}

const percent = (fraction: number): string => `${Math.round(fraction * 100)}%`;
const ms = (value: number | null): string => (value === null ? '—' : `${value.toFixed(0)} ms`);

const describeStep = (s: StepResult): string =>
  `${percent(s.fraction)} (${s.targetRate.toFixed(0)}/s): placed ${s.achievedRate.toFixed(1)}/s (${s.placed} of ` +
  `${s.sent}${s.failed > 0 ? `, not placed ${JSON.stringify(s.failedStatuses)}` : ''}); place→CONFIRMED p50 ` +
  `${ms(s.confirmLatencyMs.p50)} p99 ${ms(s.confirmLatencyMs.p99)} max ${ms(s.confirmLatencyMs.max)}; place ` +
  `p99 ${ms(s.placeLatencyMs.p99)}; not confirmed when the load stopped ${s.notConfirmedWhenLoadStopped}, ` +
  (s.drainMs === null ? `${s.notConfirmedAtEnd} still not after the drain cap` : `drained in ${ms(s.drainMs)}`) +
  `; confirmed ${s.confirmedPerSecondDuringLoad.toFixed(1)}/s during the load; saga lag max ` +
  `${s.sagaLag.max ?? '?'} messages, ${s.sagaLag.atLoadEnd ?? '?'} at the load's end` +
  (s.endedOtherwise > 0 ? `; ${s.endedOtherwise} rejected or cancelled` : '') +
  ` → ${s.verdict}`;

function stepRows(step: StepResult, gatewayRate: number): Row[] {
  const name = `${percent(step.fraction)} step`;
  const isLatencyTarget = step.fraction === LATENCY_TARGET_FRACTION;
  const p99Judge = isLatencyTarget
    ? (ours: number) => ({ target: `p99 < ${P99_BOUND_MS} ms`, pass: ours < P99_BOUND_MS })
    : informational;
  return [
    row(SUITE, `${name}: orders placed/s (vs gateway rate)`, 'requests/s', step.achievedRate, gatewayRate),
    row(SUITE, `${name}: place→CONFIRMED p50`, 'ms', step.confirmLatencyMs.p50, null),
    row(SUITE, `${name}: place→CONFIRMED p99`, 'ms', step.confirmLatencyMs.p99, null, p99Judge),
    row(SUITE, `${name}: not CONFIRMED when the load stopped`, 'count', step.notConfirmedWhenLoadStopped, null),
  ];
}

/** A target row for a step the ladder never reached: a failure, not an error of the harness. */
const notReached = (metric: string, target: string): Row => ({
  suite: SUITE,
  metric,
  unit: 'ms',
  ours: null,
  baseline: null,
  ratio: null,
  target,
  verdict: 'FAIL',
});

export const e2eSuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    const timing = quick ? TIMING.quick : TIMING.full;
    const deadline = performance.now() + (quick ? E2E_LIMIT_MS.quick : E2E_LIMIT_MS.full) - TEARDOWN_RESERVE_MS;
    progress(
      SUITE,
      `gateway place-order rate with every role running: ${CONNECTIONS} connections, closed loop, ` +
        `${timing.saturationWarmupSeconds}+${timing.saturationSeconds} s`,
    );
    const gateway = await measureGatewayRate(timing);
    progress(
      SUITE,
      `  ${gateway.requestsPerSecond.toFixed(0)} place-order/s (${gateway.ok} in ${gateway.seconds.toFixed(1)} s), ` +
        `p99 ${gateway.latencyMs.p99.toFixed(1)} ms; statuses ${JSON.stringify(gateway.statusCounts)}, ` +
        `${gateway.errors} errors, ${gateway.timeouts} timeouts`,
    );
    progress(SUITE, `ladder: ${FRACTIONS.map(percent).join(', ')} of that rate, ${timing.stepSeconds} s each`);
    const system = await startE2eSystem({ label: 'e2e', customers: CUSTOMERS });
    const watcher = ConfirmationWatcher.forPrefix(system.config.redisUrl, system.prefix);
    const saga = orderPaymentSaga({ acceptanceTimeoutMs: 1, paymentTimeoutMs: 1 });
    // The saga process names its consumer group so (sagas/main.ts).
    const lag = new ConsumerLag(
      `${system.prefix}saga.${ORDER_PAYMENT_SAGA}`,
      saga.topics.map((t) => system.prefix + t),
    );
    const steps: StepResult[] = [];
    const skipped: string[] = [];
    try {
      await watcher.start();
      await lag.start();
      const observers: Observers = { system, watcher, lag };
      await warmUp(observers, Math.max(5, 0.1 * gateway.requestsPerSecond), timing);
      for (const fraction of FRACTIONS) {
        const rate = fraction * gateway.requestsPerSecond;
        const stepMs = (timing.stepSeconds + timing.drainCapSeconds) * 1000 + SETTLE_TIMEOUT_MS;
        if (performance.now() + stepMs > deadline) {
          skipped.push(`${percent(fraction)}: not run, the suite's time limit would pass`);
          continue;
        }
        progress(SUITE, `  ${percent(fraction)}: ${rate.toFixed(1)} orders/s for ${timing.stepSeconds} s`);
        const step = await runStep(observers, fraction, rate, timing);
        steps.push(step);
        progress(SUITE, `    ${describeStep(step)}`);
        if (step.drainMs === null) {
          // Its backlog would be part of every later step; the ceiling is already visible.
          for (const rest of FRACTIONS.filter((f) => f > fraction)) {
            skipped.push(`${percent(rest)}: not run, the ${percent(fraction)} step did not drain`);
          }
          break;
        }
      }
    } finally {
      watcher.stop();
      await lag.stop();
      progress(SUITE, '  stopping the system');
      await system.stop();
    }
    const rate = gateway.requestsPerSecond;
    const sustained = steps.filter((s) => s.sustained);
    const highest = sustained.length > 0 ? Math.max(...sustained.map((s) => s.achievedRate)) : 0;
    const atTarget = steps.find((s) => s.fraction === LATENCY_TARGET_FRACTION);
    // Where the saga could not keep up, the confirmations it managed per second are its ceiling.
    const overloaded = steps.filter((s) => !s.sustained);
    const ceiling = overloaded.length > 0 ? Math.max(...overloaded.map((s) => s.confirmedPerSecondDuringLoad)) : null;
    const rows: Row[] = [
      row(SUITE, 'gateway place-order/s, closed loop, every role running', 'requests/s', rate, null),
      ...steps.flatMap((s) => stepRows(s, rate)),
      ...(atTarget
        ? []
        : [notReached(`${percent(LATENCY_TARGET_FRACTION)} step: place→CONFIRMED p99`, `p99 < ${P99_BOUND_MS} ms`)]),
      row(
        SUITE,
        `highest rate sustained, p99 place→CONFIRMED < ${P99_BOUND_MS / 1000} s (vs gateway rate)`,
        'requests/s',
        highest,
        rate,
        ratioAtLeast(SUSTAIN_TARGET_RATIO),
      ),
      ...(ceiling === null
        ? []
        : [row(SUITE, 'orders confirmed/s in a step the saga could not keep up with', 'requests/s', ceiling, rate)]),
    ];
    const notes = [
      `gateway: ${rate.toFixed(0)} place-order/s closed loop (${CONNECTIONS} connections) with the relay, projector, ` +
        `sagas and payment simulator running as their own processes; place-order p99 ${gateway.latencyMs.p99.toFixed(1)} ms.`,
      ...steps.map(describeStep),
      ...skipped,
    ];
    return {
      rows,
      notes,
      details: {
        timing,
        fractions: FRACTIONS,
        connections: CONNECTIONS,
        customers: CUSTOMERS,
        gateway,
        steps,
        skipped,
      },
    };
  },
};
