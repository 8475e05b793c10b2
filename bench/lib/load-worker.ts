// Runs a load on a worker thread (see worker.ts) and posts back every response's latency, so that the
// percentiles come from raw samples and not from autocannon's histogram. Started by the gateway suite.
//
// Two loads: `closed` is autocannon, each connection sending its next request when the last is answered (the
// highest rate the server reaches); `open` sends requests on a fixed schedule, whether or not earlier ones are
// answered, and times each from when it was due, not from when it could be sent (so a server that falls behind
// shows its queue in the latencies instead of slowing the load down: no coordinated omission).
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

export interface LoadSpec {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  /** A JSON body; with `freshIdField`, every request gets its own random UUID in that field. */
  readonly body?: Readonly<Record<string, unknown>>;
  readonly freshIdField?: string;
  /** Closed loop: concurrent connections. Open loop: at most this many requests in flight (sockets). */
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
  /** `closed` (default): autocannon; `open`: `rate` requests per second on a fixed schedule. */
  readonly mode?: 'closed' | 'open';
  readonly rate?: number;
  /** The status that counts as a success (default: any 2xx), e.g. 404 for a route that only runs the hooks. */
  readonly expectStatus?: number;
}

export interface LoadResult {
  readonly type: 'load-result';
  /** Successful responses (2xx, or `expectStatus`) in the measured run, and the run's length as timed here. */
  readonly ok: number;
  readonly seconds: number;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
  /**
   * Latency of every successful response of the measured run, in ms: autocannon's own measurement (closed), or
   * from when the request was due to its answer (open).
   */
  readonly latenciesMs: Float64Array;
  readonly warmupOk: number;
}

const spec = workerData as LoadSpec;

const succeeded = (status: number): boolean =>
  spec.expectStatus === undefined ? status >= 200 && status < 300 : status === spec.expectStatus;

function requestBody(): string | undefined {
  if (!spec.body) return undefined;
  return JSON.stringify(spec.freshIdField ? { ...spec.body, [spec.freshIdField]: randomUUID() } : spec.body);
}

async function fire(seconds: number, onLatency: ((ms: number, status: number) => void) | null) {
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: seconds,
        headers: { ...spec.headers },
        requests: [
          {
            method: spec.method,
            // Called for every request, so a body with a fresh id is built per request, not once per connection.
            setupRequest: (request) => ({ ...request, body: requestBody() }),
          },
        ],
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
    );
    if (onLatency) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => onLatency(responseTime, statusCode));
    }
  });
  return { result, seconds: (performance.now() - started) / 1000 };
}

interface Run {
  readonly seconds: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly ok: number;
}

type OnResponse = ((ms: number, status: number) => void) | null;

async function closedLoop(seconds: number, onResponse: OnResponse): Promise<Run> {
  let ok = 0;
  const { result, seconds: took } = await fire(seconds, (ms, status) => {
    if (succeeded(status)) ok++;
    onResponse?.(ms, status);
  });
  return { seconds: took, errors: result.errors, timeouts: result.timeouts, ok };
}

const OPEN_TIMEOUT_MS = 10_000;

/** `spec.rate` requests per second for `seconds`, each timed from when it was due. */
async function openLoop(seconds: number, onResponse: OnResponse): Promise<Run> {
  const rate = spec.rate ?? 0;
  if (!(rate > 0)) throw new Error('an open-loop load needs a rate');
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const total = Math.round(rate * seconds);
  let errors = 0;
  let timeouts = 0;
  let ok = 0;
  const started = performance.now();
  let lastAnswer = started;
  const send = (due: number) =>
    new Promise<void>((resolve) => {
      const payload = requestBody();
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: spec.method,
          agent,
          headers: {
            ...spec.headers,
            ...(payload === undefined ? {} : { 'content-length': Buffer.byteLength(payload) }),
          },
          timeout: OPEN_TIMEOUT_MS,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (succeeded(status)) ok++;
            lastAnswer = performance.now();
            onResponse?.(performance.now() - due, status);
            resolve();
          });
        },
      );
      let timedOut = false;
      req.on('timeout', () => {
        timedOut = true;
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        if (!timedOut) errors++;
        resolve();
      });
      req.end(payload);
    });
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  // Every millisecond or so, send what has fallen due: the schedule is kept however late the answers are.
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) inFlight.push(send(started + (sent * 1000) / rate));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  agent.destroy();
  // Up to the last answer, not the last request sent: a server that falls behind shows a lower answered rate.
  return { seconds: (Math.max(lastAnswer, started + seconds * 1000) - started) / 1000, errors, timeouts, ok };
}

async function main(): Promise<void> {
  const run = spec.mode === 'open' ? openLoop : closedLoop;
  // Warm-up: JIT, connection pools and caches on the server side; its samples are discarded.
  const warm = await run(spec.warmupSeconds, null);
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const measured = await run(spec.measureSeconds, (ms, status) => {
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    if (succeeded(status)) latencies.push(ms);
  });
  const message: LoadResult = {
    type: 'load-result',
    ok: latencies.length,
    seconds: measured.seconds,
    statusCounts,
    errors: measured.errors,
    timeouts: measured.timeouts,
    latenciesMs: Float64Array.from(latencies),
    warmupOk: warm.ok,
  };
  parentPort?.postMessage(message);
}

await main();
