// SSE subscribers on a worker thread (see worker.ts): plain HTTP requests to the gateway's stream of one order,
// each parsed as the text/event-stream it is, every event stamped with the process's monotonic clock (clock.ts)
// when its bytes arrived.
// Beside them, one Redis client XREADs the same stream directly: the floor any fan-out could reach from here.
// Started by the sse-fanout suite, which drives it with messages.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { monotonicNow } from './clock.js';

export interface SseSpec {
  readonly port: number;
  readonly path: string;
  readonly token: string;
  readonly subscribers: number;
  /** Connections opened at once: the server's listen backlog (511) must not overflow into SYN retries. */
  readonly connectConcurrency: number;
  readonly connectTimeoutMs: number;
  readonly redisUrl: string;
  /** The Redis stream the gateway serves on `path`. */
  readonly streamKey: string;
}

export type ToWorker =
  | { readonly type: 'await'; readonly status: string; readonly timeoutMs: number }
  | { readonly type: 'close'; readonly statuses: readonly string[] };

export type FromWorker =
  | {
      readonly type: 'ready';
      readonly connected: number;
      readonly failed: number;
      readonly failures: readonly string[];
      readonly connectSeconds: number;
    }
  | {
      readonly type: 'received';
      readonly status: string;
      /** The stream entry id (its first part is Redis's clock at the XADD, in ms). */
      readonly entryId: string | null;
      /** Per subscriber that connected, when its copy arrived on monotonicNow() (NaN: not within the timeout). */
      readonly receipts: Float64Array;
      readonly baselineReceipt: number | null;
    }
  | { readonly type: 'closed'; readonly complete: number; readonly connected: number };

interface Subscriber {
  request: http.ClientRequest | null;
  buffer: string;
  /** status → when it arrived and with which entry id. */
  readonly seen: Map<string, { at: number; id: string }>;
  ready: boolean;
}

const spec = workerData as SseSpec;
const subscribers: Subscriber[] = [];
const arrivals = new Map<string, number>();
const waiters = new Map<string, () => void>();
const baseline = new Map<string, { at: number; id: string }>();
/** Subscribers whose first event arrived: every later update is awaited from each of them. */
let readyCount = 0;
let closing = false;

function send(message: FromWorker): void {
  parentPort?.postMessage(message);
}

/** One event arrived for a subscriber: record it once per status and wake whoever waits for that status. */
function record(subscriber: Subscriber, id: string, data: string, at: number): void {
  let status: unknown;
  try {
    status = (JSON.parse(data) as { status?: unknown }).status;
  } catch {
    return;
  }
  if (typeof status !== 'string' || subscriber.seen.has(status)) return;
  subscriber.seen.set(status, { at, id });
  if (!subscriber.ready) {
    subscriber.ready = true;
    readyCount++;
  }
  const n = (arrivals.get(status) ?? 0) + 1;
  arrivals.set(status, n);
  if (n >= readyCount) waiters.get(status)?.();
}

/** Splits the stream into events (blank-line separated) and records those carrying data. */
function parse(subscriber: Subscriber, chunk: string, at: number): void {
  subscriber.buffer += chunk;
  let cut = subscriber.buffer.indexOf('\n\n');
  while (cut >= 0) {
    const block = subscriber.buffer.slice(0, cut);
    subscriber.buffer = subscriber.buffer.slice(cut + 2);
    let id = '';
    let data: string | null = null;
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data = line.slice(6);
    }
    if (data !== null) record(subscriber, id, data, at);
    cut = subscriber.buffer.indexOf('\n\n');
  }
}

/** Opens one subscription; resolves once its first event (the order's current status) has arrived. */
function subscribe(subscriber: Subscriber): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error('no first event in time'));
    }, spec.connectTimeoutMs);
    // agent: false: a connection of its own per subscriber, as a thousand browsers would have.
    const request = http.request({
      host: '127.0.0.1',
      port: spec.port,
      path: spec.path,
      method: 'GET',
      agent: false,
      headers: { accept: 'text/event-stream', authorization: `Bearer ${spec.token}` },
    });
    subscriber.request = request;
    request.on('response', (response) => {
      if (response.statusCode !== 200) {
        clearTimeout(timer);
        request.destroy();
        reject(new Error(`status ${response.statusCode}`));
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        // Stamped before parsing: the time the bytes were handed to this thread.
        const at = monotonicNow();
        const wasReady = subscriber.ready;
        parse(subscriber, chunk, at);
        if (!wasReady && subscriber.ready) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      if (!closing) reject(error);
    });
    request.end();
  });
}

async function connectAll(): Promise<{ failed: number; failures: string[] }> {
  const failures: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < spec.subscribers) {
      const subscriber: Subscriber = { request: null, buffer: '', seen: new Map(), ready: false };
      subscribers.push(subscriber);
      next++;
      try {
        await subscribe(subscriber);
      } catch (error) {
        subscriber.request?.destroy();
        subscriber.request = null;
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connectConcurrency }, lane));
  return { failed: failures.length, failures: failures.slice(0, 5) };
}

/** Follows the stream with XREAD BLOCK from its newest entry on, stamping each entry as it arrives. */
async function followDirectly(redis: Redis): Promise<void> {
  let last = (await redis.xrevrange(spec.streamKey, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  while (!closing) {
    const result = (await redis.xread('BLOCK', 500, 'STREAMS', spec.streamKey, last).catch(() => null)) as
      | [string, [string, string[]][]][]
      | null;
    const at = monotonicNow();
    for (const [, entries] of result ?? []) {
      for (const [id, fields] of entries) {
        last = id;
        const i = fields.indexOf('message');
        const status = (JSON.parse(fields[i + 1] ?? '{}') as { status?: string }).status;
        if (status && !baseline.has(status)) baseline.set(status, { at, id });
      }
    }
  }
}

function awaitStatus(status: string, timeoutMs: number): void {
  const reply = () => {
    clearTimeout(timer);
    waiters.delete(status);
    const ready = subscribers.filter((s) => s.ready);
    const receipts = Float64Array.from(ready, (s) => s.seen.get(status)?.at ?? Number.NaN);
    const entryId = subscribers.find((s) => s.seen.has(status))?.seen.get(status)?.id ?? null;
    send({ type: 'received', status, entryId, receipts, baselineReceipt: baseline.get(status)?.at ?? null });
  };
  const timer = setTimeout(reply, timeoutMs);
  waiters.set(status, reply);
  if ((arrivals.get(status) ?? 0) >= readyCount) reply();
}

async function main(): Promise<void> {
  const direct = new Redis(spec.redisUrl, { maxRetriesPerRequest: 2 });
  const following = followDirectly(direct);
  const started = performance.now();
  const { failed, failures } = await connectAll();
  send({
    type: 'ready',
    connected: readyCount,
    failed,
    failures,
    connectSeconds: (performance.now() - started) / 1000,
  });
  parentPort?.on('message', (message: ToWorker) => {
    if (message.type === 'await') {
      awaitStatus(message.status, message.timeoutMs);
      return;
    }
    closing = true;
    const connected = readyCount;
    const complete = subscribers.filter(
      (s) => s.ready && message.statuses.every((status) => s.seen.has(status)),
    ).length;
    for (const s of subscribers) s.request?.destroy();
    direct.disconnect();
    void following.finally(() => send({ type: 'closed', complete, connected }));
  });
}

await main();
