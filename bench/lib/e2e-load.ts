import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { sleep } from './progress.js';

// Open-loop place-order load: requests go out on a fixed schedule whether or not earlier ones were answered, as
// independent customers would send them, so a slow system cannot slow the load down and hide its own latency
// (a closed loop measures the gateway's ceiling instead: see the load worker). Runs on the harness's main thread:
// the system under test is in other processes, so this thread is only the clients.

/** Bounds what a stalled gateway can make this process hold; a request over it is counted, not sent. */
const MAX_IN_FLIGHT = 1024;
const REQUEST_TIMEOUT_MS = 30_000;

/** The quick start's demo restaurant and two of its dishes (ops/demo/ordering.ts). */
export function placeOrderBody(orderId: string): Record<string, unknown> {
  return {
    orderId,
    restaurantId: 'demo-forno',
    items: [
      { menuItemId: 'demo-margherita', quantity: 2 },
      { menuItemId: 'demo-tiramisu', quantity: 1 },
    ],
    payment: { card: '4242424242424242' },
    deliveryAddress: { line1: 'Rua Augusta 1', city: 'Lisbon', postalCode: '1100-048', country: 'PT' },
  };
}

export interface PlaceAttempt {
  readonly orderId: string;
  /** When the schedule wanted it sent, and when it was (performance.now() of this thread). */
  readonly dueAt: number;
  readonly sentAt: number;
  /** When the answer arrived, and its status (0: no answer: a network error or timeout). */
  respondedAt: number;
  status: number;
}

export interface OpenLoopRun {
  readonly attempts: readonly PlaceAttempt[];
  /** Requests the schedule wanted while MAX_IN_FLIGHT were unanswered: not sent. */
  readonly skipped: number;
  readonly startedAt: number;
  /** When the schedule ended (the last request was due before it). */
  readonly endedAt: number;
  /** How late the schedule ran at worst (this thread busy): large values mean the rate was not offered. */
  readonly maxDispatchLagMs: number;
  /** Resolves when every request sent has been answered or timed out. */
  readonly settled: Promise<void>;
}

export interface OpenLoopOptions {
  readonly gatewayUrl: string;
  /** Customers' access tokens, used in turn. */
  readonly tokens: readonly string[];
  readonly ratePerSecond: number;
  readonly seconds: number;
  /** Called for every attempt as it is sent (the watcher learns which orders to expect). */
  readonly onSent?: (attempt: PlaceAttempt) => void;
}

/** Sends place-order requests at a fixed rate for a fixed time; resolves when the schedule ends. */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopRun> {
  const url = new URL('/commands/ordering/place-order', options.gatewayUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const interval = 1000 / options.ratePerSecond;
  const attempts: PlaceAttempt[] = [];
  const pending = new Set<Promise<void>>();
  let skipped = 0;
  let maxDispatchLagMs = 0;
  const startedAt = performance.now();
  const endedAt = startedAt + options.seconds * 1000;

  const send = (dueAt: number, token: string): Promise<void> => {
    const orderId = randomUUID();
    const body = JSON.stringify(placeOrderBody(orderId));
    const attempt: PlaceAttempt = { orderId, dueAt, sentAt: performance.now(), respondedAt: 0, status: 0 };
    attempts.push(attempt);
    options.onSent?.(attempt);
    return new Promise<void>((resolve) => {
      const finish = (status: number) => {
        if (attempt.respondedAt === 0) {
          attempt.respondedAt = performance.now();
          attempt.status = status;
        }
        resolve();
      };
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => finish(res.statusCode ?? 0));
          res.on('error', () => finish(0));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => finish(0));
      req.end(body);
    });
  };

  for (let i = 0; ; i++) {
    const dueAt = startedAt + i * interval;
    if (dueAt >= endedAt) break;
    const wait = dueAt - performance.now();
    // Behind schedule, still let answers in between sends: the late ones go out at once, not in one burst.
    await (wait > 1 ? sleep(wait) : new Promise<void>((resolve) => setImmediate(resolve)));
    maxDispatchLagMs = Math.max(maxDispatchLagMs, performance.now() - dueAt);
    if (pending.size >= MAX_IN_FLIGHT) {
      skipped++;
      continue;
    }
    const sent = send(dueAt, options.tokens[i % options.tokens.length]!);
    pending.add(sent);
    void sent.then(() => pending.delete(sent));
  }
  const settled = Promise.all([...pending]).then(() => agent.destroy());
  return { attempts, skipped, startedAt, endedAt, maxDispatchLagMs, settled };
}
