import { ORDER_PAYMENT_SAGA, orderPaymentSaga } from '../../sagas/ordering/order-payment.js';
import { type ClosedLoopSummary, closedLoop, failedRequests } from '../lib/closed-loop.js';
import { placeOrderBody } from '../lib/e2e-load.js';
import { type Observers, P99_BOUND_MS, runStep, type StepResult, warmUp } from '../lib/e2e-step.js';
import { startE2eSystem } from '../lib/e2e-system.js';
import { ConfirmationWatcher, ConsumerLag } from '../lib/e2e-watch.js';
import type { LoadSpec } from '../lib/load-worker.js';
import { progress } from '../lib/progress.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { atMost, informational, type Row, ratioAtLeast, row } from '../lib/table.js';

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
const LATENCY_TARGET_FRACTION = 0.5;
const SUSTAIN_TARGET_RATIO = 0.9;
/** The gateway suite's closed loop: more connections than the write side's pool, so the pool is what queues. */
const CONNECTIONS = 16;
const CUSTOMERS = 16;
/** Warm-up rates: before the saturation (its rate is not known yet), then a tenth of it. */
const SATURATION_WARMUP_RATE = 10;
const WARMUP_FRACTION = 0.1;
const MIN_WARMUP_RATE = 5;

/** The harness's limit for this suite (bench/run.ts): two system start-ups, the saturation and the whole ladder. */
export const E2E_LIMIT_MS = { quick: 6 * 60_000, full: 14 * 60_000 } as const;
/** Kept back from the limit for stopping the system and removing what it made. */
const TEARDOWN_RESERVE_MS = 45_000;
/** What a step may take beyond its load and drain cap: the last answers, the store query, the lag sampler. */
const STEP_OVERHEAD_MS = 10_000;

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

type GatewayRate = ClosedLoopSummary;

/**
 * Starts a whole system, watches its live channel and its saga's lag, warms it up at `warmupRate` (every order
 * confirmed: the pipeline works), runs `body`, and stops and removes everything whatever happens.
 */
async function withSystem<T>(
  label: string,
  warmupRate: number,
  timing: Timing,
  body: (observers: Observers) => Promise<T>,
): Promise<T> {
  const system = await startE2eSystem({ label, customers: CUSTOMERS });
  const watcher = ConfirmationWatcher.forPrefix(system.config.redisUrl, system.prefix);
  const saga = orderPaymentSaga({ acceptanceTimeoutMs: 1, paymentTimeoutMs: 1 });
  // The saga process names its consumer group so (sagas/main.ts).
  const lag = new ConsumerLag(
    `${system.prefix}saga.${ORDER_PAYMENT_SAGA}`,
    saga.topics.map((t) => system.prefix + t),
  );
  try {
    await watcher.start();
    await lag.start();
    const observers: Observers = { system, watcher, lag };
    await warmUp(observers, warmupRate, timing.warmupSeconds);
    return await body(observers);
  } finally {
    watcher.stop();
    await lag.stop();
    progress(SUITE, '  stopping the system');
    await system.stop();
  }
}

/** Closed-loop place-order through the gateway of a whole running system (the gateway suite's load worker). */
async function measureGatewayRate(observers: Observers, timing: Timing): Promise<GatewayRate> {
  const { system } = observers;
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
  const result = await closedLoop(spec);
  system.assertAlive();
  return result;
}

const failures = failedRequests;

const percent = (fraction: number): string => `${Math.round(fraction * 100)}%`;
const ms = (value: number | null): string => (value === null ? '—' : `${value.toFixed(0)} ms`);

const describeStep = (s: StepResult): string =>
  `${percent(s.fraction)} (${s.targetRate.toFixed(0)}/s): placed ${s.achievedRate.toFixed(1)}/s (${s.placed} of ` +
  `${s.sent}${s.failed > 0 ? `, not placed ${JSON.stringify(s.failedStatuses)}` : ''}); place→CONFIRMED p50 ` +
  `${ms(s.confirmLatencyMs.p50)} p99 ${ms(s.confirmLatencyMs.p99)} max ${ms(s.confirmLatencyMs.max)}; place ` +
  `p99 ${ms(s.placeLatencyMs.p99)}; OrderPlaced→OrderConfirmed appended p50 ${ms(s.storeConfirmLatencyMs.p50)} ` +
  `p99 ${ms(s.storeConfirmLatencyMs.p99)}; not confirmed when the load stopped ${s.notConfirmedWhenLoadStopped}, ` +
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
    const gateway = await withSystem('e2esat', SATURATION_WARMUP_RATE, timing, (observers) =>
      measureGatewayRate(observers, timing),
    );
    progress(
      SUITE,
      `  ${gateway.requestsPerSecond.toFixed(0)} place-order/s (${gateway.ok} in ${gateway.seconds.toFixed(1)} s), ` +
        `p99 ${gateway.latencyMs.p99.toFixed(1)} ms; statuses ${JSON.stringify(gateway.statusCounts)}, ` +
        `${gateway.errors} errors, ${gateway.timeouts} timeouts`,
    );
    progress(SUITE, `ladder: ${FRACTIONS.map(percent).join(', ')} of that rate, ${timing.stepSeconds} s each`);
    const steps: StepResult[] = [];
    const skipped: string[] = [];
    const warmupRate = Math.max(MIN_WARMUP_RATE, WARMUP_FRACTION * gateway.requestsPerSecond);
    await withSystem('e2e', warmupRate, timing, async (observers) => {
      for (const fraction of FRACTIONS) {
        const rate = fraction * gateway.requestsPerSecond;
        const stepMs = (timing.stepSeconds + timing.drainCapSeconds) * 1000 + STEP_OVERHEAD_MS;
        if (performance.now() + stepMs > deadline) {
          skipped.push(`${percent(fraction)}: not run, the suite's time limit would pass`);
          continue;
        }
        progress(SUITE, `  ${percent(fraction)}: ${rate.toFixed(1)} orders/s for ${timing.stepSeconds} s`);
        const step = await runStep(observers, {
          fraction,
          rate,
          seconds: timing.stepSeconds,
          drainCapSeconds: timing.drainCapSeconds,
        });
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
    });
    const rate = gateway.requestsPerSecond;
    // Sustained means at that rate and every rate below it: a lucky step above a failed one does not count.
    const firstFailed = steps.findIndex((s) => !s.sustained);
    const sustained = firstFailed === -1 ? steps : steps.slice(0, firstFailed);
    const highest = sustained.at(-1)?.achievedRate ?? 0;
    const atTarget = steps.find((s) => s.fraction === LATENCY_TARGET_FRACTION);
    // Where the saga fell behind (more than a second of backlog when the load stopped), the confirmations it
    // managed per second during the load are its ceiling.
    const behind = steps.filter((s) => s.drainMs === null || s.drainMs > P99_BOUND_MS);
    const ceiling = behind.length > 0 ? Math.max(...behind.map((s) => s.confirmedPerSecondDuringLoad)) : null;
    const rows: Row[] = [
      row(SUITE, 'gateway place-order/s, closed loop, every role running', 'requests/s', rate, null),
      // A gateway that refused or dropped requests under saturation would make the ladder's rates meaningless.
      row(SUITE, 'gateway non-2xx, errors and timeouts at saturation', 'count', failures(gateway), null, atMost(0)),
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
        : [row(SUITE, 'orders confirmed/s while the saga fell behind (its ceiling)', 'requests/s', ceiling, rate)]),
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
