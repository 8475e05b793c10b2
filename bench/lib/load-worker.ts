// Runs autocannon on a worker thread (see worker.ts) and posts back every response's latency, so that the
// percentiles come from raw samples and not from autocannon's histogram. Started by the gateway suite.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

export interface LoadSpec {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  /** A JSON body; with `freshIdField`, every request gets its own random UUID in that field. */
  readonly body?: Readonly<Record<string, unknown>>;
  readonly freshIdField?: string;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
}

export interface LoadResult {
  readonly type: 'load-result';
  /** 2xx responses in the measured run, and the run's length as this thread timed it. */
  readonly ok: number;
  readonly seconds: number;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
  /** Latency of every 2xx response of the measured run, in ms (autocannon's own hrtime measurement). */
  readonly latenciesMs: Float64Array;
  readonly warmupOk: number;
}

const spec = workerData as LoadSpec;

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

async function main(): Promise<void> {
  // Warm-up: JIT, connection pools and caches on the server side; its samples are discarded.
  const warm = await fire(spec.warmupSeconds, null);
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const measured = await fire(spec.measureSeconds, (ms, status) => {
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const message: LoadResult = {
    type: 'load-result',
    ok: latencies.length,
    seconds: measured.seconds,
    statusCounts,
    errors: measured.result.errors,
    timeouts: measured.result.timeouts,
    latenciesMs: Float64Array.from(latencies),
    warmupOk: warm.result['2xx'],
  };
  parentPort?.postMessage(message);
}

await main();
