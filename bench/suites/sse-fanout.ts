import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { startGateway } from '../../gateway/main.js';
import { liveKeys, orderStatusRedisProjection } from '../../projections/ordering/order-status-redis.js';
import { ordersReadModel } from '../../projections/ordering/orders.js';
import { postgresProjection } from '../../projections/runtime/postgres.js';
import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import { monotonicNow, type RedisClockOffset, redisClockOffset } from '../lib/clock.js';
import { createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import { exec } from '../lib/exec.js';
import { progress, sleep, within } from '../lib/progress.js';
import type { FromWorker, SseSpec, ToWorker } from '../lib/sse-worker.js';
import { benchConfig, deleteRedisKeys, deleteSubjects } from '../lib/stack.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { atMost, exactly, nonNegative, type Row, row } from '../lib/table.js';
import { nextMessage, startWorker } from '../lib/worker.js';

// A thousand SSE subscribers on one order's stream through the real gateway, then that order's status changes
// applied through the real Redis projection (which XADDs to the order's live stream). Each subscriber's copy is
// timed from the XADD (the entry id is Redis's clock at that moment, mapped onto this process's monotonic clock
// with an offset measured just before the update) to the moment its bytes reached the subscriber, on that same
// monotonic clock. The subscribers run on a worker thread, the gateway on this one, as two processes would.

const SUITE = 'sse-fanout';
const SUBSCRIBERS = 1000;
const CONNECT_CONCURRENCY = 50;
/** Status changes after placement; the first is the warm-up, the others are measured. */
const UPDATES: readonly {
  readonly eventType: string;
  readonly status: string;
  readonly data: (at: string) => Record<string, unknown>;
}[] = [
  { eventType: 'OrderConfirmed', status: 'CONFIRMED', data: (at) => ({ paymentId: 'pi_bench', confirmedAt: at }) },
  { eventType: 'OrderPreparationStarted', status: 'PREPARING', data: (at) => ({ startedAt: at }) },
  { eventType: 'OrderReadyForPickup', status: 'READY', data: (at) => ({ readyAt: at }) },
  { eventType: 'OrderPickedUp', status: 'PICKED_UP', data: (at) => ({ courierId: 'courier-1', pickedUpAt: at }) },
  { eventType: 'OrderDelivered', status: 'DELIVERED', data: (at) => ({ deliveredAt: at }) },
];
/** Quiet time before each update, so each one is fanned out by an idle gateway. */
const GAP_MS = 250;
const UPDATE_TIMEOUT_MS = 5_000;

interface UpdateResult {
  readonly round: number;
  readonly status: string;
  readonly warmup: boolean;
  readonly entryId: string | null;
  readonly received: number;
  readonly xaddToSubscriberMs: Summary;
  /** From calling applyBatch (an upper bound: the projection reads the order's hash before its script runs). */
  readonly applyCallToSubscriberMs: Summary;
  readonly applyBatchMs: number;
  readonly xaddToDirectReaderMs: number | null;
  /** The clock mapping used for this update's XADD, and whether the XADD fell inside the applyBatch call. */
  readonly redisClock: RedisClockOffset;
  readonly xaddWithinCall: boolean | null;
}

interface RoundResult {
  readonly connected: number;
  readonly failed: number;
  readonly failures: readonly string[];
  readonly connectSeconds: number;
  readonly complete: number;
  readonly updates: UpdateResult[];
  readonly samples: number[];
  readonly baselineSamples: number[];
}

const isMessage =
  <T extends FromWorker['type']>(type: T) =>
  (m: unknown): m is Extract<FromWorker, { type: T }> =>
    typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;

/**
 * The XADD's time on monotonicNow(): the entry id's first part is the Redis server's clock in whole ms (so up to
 * 1 ms early), less Redis's offset from our clock.
 */
const xaddTime = (entryId: string, clock: RedisClockOffset): number => Number(entryId.split('-')[0]) - clock.offsetMs;

async function fileDescriptorLimit(): Promise<number | null> {
  const result = await exec('sh', ['-c', 'ulimit -n'], { timeoutMs: 5000 }).catch(() => null);
  const n = Number(result?.stdout.trim());
  return Number.isFinite(n) ? n : null;
}

function orderEvent(
  orderId: string,
  eventType: string,
  version: number,
  data: Record<string, unknown>,
  position: number,
): ProjectedEvent {
  const at = new Date().toISOString();
  return {
    eventId: randomUUID(),
    eventType,
    streamId: `order-${orderId}`,
    streamVersion: version,
    globalPosition: position,
    // Recorded now: the Redis projection only publishes events younger than its live TTL.
    recordedAt: at,
    correlationId: 'bench-correlation',
    data: { orderId, ...data },
  };
}

export const sseFanoutSuite: Suite = {
  name: SUITE,
  async run({ quick }: SuiteContext): Promise<SuiteResult> {
    const rounds = quick ? 2 : 4;
    // Both ends of every connection live in this process: 2 descriptors per subscriber, plus the rest.
    const limit = await fileDescriptorLimit();
    if (limit !== null && limit < 2 * SUBSCRIBERS + 512) {
      throw new Error(`ulimit -n is ${limit}; ${2 * SUBSCRIBERS + 512} file descriptors are needed`);
    }
    const prefix = `bench${uniqueSuffix()}.`;
    const database = await createBenchDatabase('ssefanout');
    const config = benchConfig(database.url, prefix);
    const readDb = database.pool(2, 'ledgerline-projector');
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
    let running: Awaited<ReturnType<typeof startGateway>> | null = null;
    try {
      // Bounded: start-up registers every schema with the registry, whose client has no timeout of its own.
      running = await within(startGateway(config), 60_000, 'starting the gateway');
      const { port } = running.app.server.address() as AddressInfo;
      // The gateway authorises a stream from the orders read model and serves it from the live Redis stream:
      // both are written by their real projections.
      const orders = postgresProjection(readDb, ordersReadModel(1));
      await orders.setup();
      const status = orderStatusRedisProjection(redis, { keyPrefix: prefix });
      await status.setup();
      const results: RoundResult[] = [];
      let position = 0;
      for (let round = 1; round <= rounds; round++) {
        const orderId = randomUUID();
        const customerId = `bench-customer-${round}`;
        const restaurantId = randomUUID();
        const placed = orderEvent(
          orderId,
          'OrderPlaced',
          1,
          {
            restaurantId,
            customerId,
            items: [{ menuItemId: randomUUID(), name: 'Dish', quantity: 1, unitPriceMinor: 1200 }],
            totalMinor: 1200,
            currency: 'EUR',
            placedAt: new Date().toISOString(),
          },
          ++position,
        );
        const accepted = orderEvent(orderId, 'OrderAccepted', 2, { acceptedAt: placed.recordedAt }, ++position);
        await orders.applyBatch([placed, accepted], {
          topic: `${prefix}ordering.order`,
          partition: 0,
          lastOffset: '1',
        });
        await status.applyBatch([placed, accepted], {
          topic: `${prefix}ordering.order`,
          partition: 0,
          lastOffset: '1',
        });

        const spec: SseSpec = {
          port,
          path: `/streams/orders/${orderId}`,
          token: running.tokens.accessToken({ accountId: customerId, role: 'customer' }),
          subscribers: SUBSCRIBERS,
          connectConcurrency: CONNECT_CONCURRENCY,
          connectTimeoutMs: 15_000,
          redisUrl: config.redisUrl,
          streamKey: liveKeys(prefix).order(orderId),
        };
        progress(SUITE, `round ${round}/${rounds}: ${SUBSCRIBERS} subscribers on /streams/orders/${orderId}`);
        const worker = startWorker(new URL('../lib/sse-worker.ts', import.meta.url), spec);
        try {
          const ready = await nextMessage(worker, isMessage('ready'), 90_000, 'the subscribers');
          progress(
            SUITE,
            `  ${ready.connected} subscribed in ${ready.connectSeconds.toFixed(1)} s (${ready.failed} failed` +
              `${ready.failures.length > 0 ? `: ${ready.failures.join('; ')}` : ''})`,
          );
          const updates: UpdateResult[] = [];
          const samples: number[] = [];
          const baselineSamples: number[] = [];
          for (const [i, update] of UPDATES.entries()) {
            await sleep(GAP_MS);
            const event = orderEvent(
              orderId,
              update.eventType,
              3 + i,
              update.data(new Date().toISOString()),
              ++position,
            );
            // Measured in the quiet gap before each update, so a step of the wall clock between updates (Redis
            // reads the wall clock) cannot skew the next one.
            const redisClock = await redisClockOffset(redis);
            const called = monotonicNow();
            await status.applyBatch([event], {
              topic: `${prefix}ordering.order`,
              partition: 0,
              lastOffset: String(2 + i),
            });
            const applied = monotonicNow();
            const ask: ToWorker = { type: 'await', status: update.status, timeoutMs: UPDATE_TIMEOUT_MS };
            worker.postMessage(ask);
            const got = await nextMessage(
              worker,
              (m): m is Extract<FromWorker, { type: 'received' }> =>
                isMessage('received')(m) && m.status === update.status,
              UPDATE_TIMEOUT_MS + 5_000,
              `the ${update.status} update`,
            );
            const arrived = [...got.receipts].filter((t) => !Number.isNaN(t));
            const xaddAt = got.entryId ? xaddTime(got.entryId, redisClock) : null;
            const fromXadd = xaddAt !== null ? arrived.map((t) => t - xaddAt) : [];
            const direct = xaddAt !== null && got.baselineReceipt !== null ? got.baselineReceipt - xaddAt : null;
            // The XADD happened during applyBatch: on one clock its time lies inside the call (less the entry id's
            // whole-ms rounding and the offset's uncertainty). Outside it, the clocks disagree and the update's
            // latencies are void.
            const slack = redisClock.roundTripMs / 2;
            const xaddWithinCall = xaddAt === null ? null : xaddAt >= called - 1 - slack && xaddAt <= applied + slack;
            const warmup = i === 0;
            if (!warmup) {
              samples.push(...fromXadd);
              if (direct !== null) baselineSamples.push(direct);
            }
            updates.push({
              round,
              status: update.status,
              warmup,
              entryId: got.entryId,
              received: arrived.length,
              xaddToSubscriberMs: summarize(fromXadd),
              applyCallToSubscriberMs: summarize(arrived.map((t) => t - called)),
              applyBatchMs: applied - called,
              xaddToDirectReaderMs: direct,
              redisClock,
              xaddWithinCall,
            });
            const u = updates.at(-1)!;
            progress(
              SUITE,
              `  ${update.status}${warmup ? ' (warm-up)' : ''}: ${u.received}/${ready.connected} received, XADD→subscriber ` +
                `first ${u.xaddToSubscriberMs.min.toFixed(1)} p50 ${u.xaddToSubscriberMs.p50.toFixed(1)} p99 ` +
                `${u.xaddToSubscriberMs.p99.toFixed(1)} last ${u.xaddToSubscriberMs.max.toFixed(1)} ms; direct XREAD ` +
                `${direct?.toFixed(1) ?? '—'} ms`,
            );
          }
          const close: ToWorker = { type: 'close', statuses: UPDATES.map((u) => u.status) };
          worker.postMessage(close);
          const closed = await nextMessage(worker, isMessage('closed'), 15_000, 'closing the subscribers');
          results.push({
            connected: ready.connected,
            failed: ready.failed,
            failures: ready.failures,
            connectSeconds: ready.connectSeconds,
            complete: closed.complete,
            updates,
            samples,
            baselineSamples,
          });
        } finally {
          await worker.terminate();
        }
      }

      const ours = summarize(results.flatMap((r) => r.samples));
      const direct = summarize(results.flatMap((r) => r.baselineSamples));
      const complete = results.reduce((n, r) => n + r.complete, 0);
      const measuredUpdates = UPDATES.length - 1;
      // Measured on one clock, no latency is below zero: one that is voids the rows (the clocks disagreed).
      const oneClock = nonNegative(Math.min(ours.min, direct.min));
      const offClock = results.flatMap((r) => r.updates).filter((u) => u.xaddWithinCall === false).length;
      const rows: Row[] = [
        row(
          SUITE,
          `XADD→subscriber p50 (${SUBSCRIBERS} subscribers × ${measuredUpdates * rounds} updates)`,
          'ms',
          ours.p50,
          direct.p50,
          oneClock,
        ),
        row(SUITE, 'XADD→subscriber p99', 'ms', ours.p99, direct.p99, oneClock),
        row(SUITE, 'XADD→subscriber max', 'ms', ours.max, direct.max, oneClock),
        row(SUITE, 'updates whose XADD time falls outside their applyBatch call', 'count', offClock, null, atMost(0)),
        // A latency over the copies that arrived means little if some did not: every subscriber gets every update.
        row(
          SUITE,
          `subscribers that got all ${UPDATES.length} updates (${rounds} × ${SUBSCRIBERS})`,
          'count',
          complete,
          null,
          exactly(SUBSCRIBERS * rounds, 'all'),
        ),
      ];
      // How an update spreads: when its first copy arrives, and how long the rest take after it.
      const measured = results.flatMap((r) => r.updates.filter((u) => !u.warmup && u.received > 0));
      const first = summarize(measured.map((u) => u.xaddToSubscriberMs.min));
      const spread = summarize(measured.map((u) => u.xaddToSubscriberMs.max - u.xaddToSubscriberMs.min));
      const expected = SUBSCRIBERS * measuredUpdates * rounds;
      const notes = [
        `per update (median of ${measured.length}), the first copy arrived ${first.p50.toFixed(1)} ms after the XADD ` +
          `and the last ${spread.p50.toFixed(1)} ms after the first; a plain XREAD client on the same stream got it ` +
          `in ${direct.p50.toFixed(1)} ms.`,
        ...(ours.count < expected
          ? [`only ${ours.count} of ${expected} copies arrived within ${UPDATE_TIMEOUT_MS} ms.`]
          : []),
      ];
      return {
        rows,
        notes,
        details: {
          subscribers: SUBSCRIBERS,
          rounds,
          gapMs: GAP_MS,
          fileDescriptorLimit: limit,
          xaddToSubscriberMs: ours,
          xaddToDirectReaderMs: direct,
          firstCopyMs: first,
          firstToLastCopyMs: spread,
          results: results.map(({ samples: _s, baselineSamples: _b, ...r }) => r),
        },
      };
    } finally {
      if (running) await within(running.stop(), 30_000, 'stopping the gateway').catch(() => undefined);
      redis.disconnect();
      await readDb.destroy();
      await database.drop();
      await deleteRedisKeys(prefix);
      await deleteSubjects(prefix);
    }
  },
};
