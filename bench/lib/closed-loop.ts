import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { LoadResult, LoadSpec } from './load-worker.js';
import { type Summary, summarize } from './stats.js';
import { nextMessage, startWorker } from './worker.js';

/** What a closed-loop autocannon run answered, counted over its measured window. */
export interface ClosedLoopSummary {
  readonly requestsPerSecond: number;
  readonly ok: number;
  readonly seconds: number;
  readonly latencyMs: Summary;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
  readonly warmupOk: number;
}

const isLoadResult = (m: unknown): m is LoadResult =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'load-result';

/**
 * autocannon on a worker thread (bench/lib/load-worker.ts) against `spec.url`, so this thread stays the server's.
 */
export async function closedLoop(spec: LoadSpec): Promise<ClosedLoopSummary> {
  const worker = startWorker(new URL('./load-worker.ts', import.meta.url), spec);
  try {
    const result = await nextMessage(
      worker,
      isLoadResult,
      (spec.warmupSeconds + spec.measureSeconds + 60) * 1000,
      'the load generator',
    );
    return {
      requestsPerSecond: result.ok / result.seconds,
      ok: result.ok,
      seconds: result.seconds,
      latencyMs: summarize([...result.latenciesMs]),
      statusCounts: result.statusCounts,
      errors: result.errors,
      timeouts: result.timeouts,
      warmupOk: result.warmupOk,
    };
  } finally {
    await worker.terminate();
  }
}

/** Requests that did not get a 2xx: other statuses, errors and timeouts. */
export const failedRequests = (r: Pick<ClosedLoopSummary, 'statusCounts' | 'errors' | 'timeouts'>): number =>
  Object.entries(r.statusCounts)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((n, [, count]) => n + count, r.errors + r.timeouts);

/**
 * Runs `body` against a Fastify app with one route that does nothing (`GET <url>` answers `{ ok: true }`) on this
 * thread: the baseline of what HTTP alone costs with this server and this client.
 */
export async function withEmptyRoute<T>(body: (url: string) => Promise<T>): Promise<T> {
  const app = Fastify({ logger: false });
  app.get('/health', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = app.server.address() as AddressInfo;
    return await body(`http://127.0.0.1:${port}/health`);
  } finally {
    await app.close();
  }
}
