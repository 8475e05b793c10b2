import type { Redis } from 'ioredis';
import type { Logger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';

export interface LiveEntry {
  /** The Redis stream entry id: the SSE event id a client resumes from. */
  readonly id: string;
  readonly data: Readonly<Record<string, unknown>>;
}

type Listener = (entry: LiveEntry) => void;

const BLOCK_MS = 250;
const BACKLOG_PAGE = 500;

const parse = (fields: string[]): Record<string, unknown> => {
  const i = fields.indexOf('message');
  try {
    return i >= 0 ? (JSON.parse(fields[i + 1] ?? 'null') as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

const compareIds = (a: string, b: string): number => {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am === bm ? as - bs : am - bm;
};

/**
 * Fans the live Redis streams out to this process's SSE and WebSocket subscribers over ONE blocking connection:
 * a single XREAD waits on every stream someone here listens to, so a thousand subscribers cost one connection.
 * A subscriber that resumes from an id first gets the backlog (XRANGE) and then live entries, with nothing
 * missed or repeated in between.
 */
export class LiveHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly cursors = new Map<string, string>();
  private readonly worker: BackgroundLoop;

  constructor(
    private readonly reader: Redis,
    private readonly client: Redis,
    logger: Logger,
  ) {
    this.worker = new BackgroundLoop('live hub', () => this.readOnce(), logger, { idleMs: BLOCK_MS, backoffMs: 1000 });
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  get subscriberCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  /**
   * Listens to one stream; with `after` (a Last-Event-ID) the entries after it are delivered first, with
   * `'latest'` the newest entry (the current status).
   * Returns the function that stops listening.
   */
  async subscribe(key: string, listener: Listener, after?: string | 'latest'): Promise<() => void> {
    const buffered: LiveEntry[] = [];
    let replaying = after !== undefined;
    const wrapped: Listener = (entry) => (replaying ? buffered.push(entry) : listener(entry));
    if (!this.listeners.has(key)) {
      // The cursor exists before the read loop can see the key, so no entry is ever read with nobody listening;
      // a new stream is followed from its newest entry.
      const last = (await this.client.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
      if (!this.listeners.has(key)) {
        this.cursors.set(key, last);
        this.listeners.set(key, new Set());
      }
    }
    this.listeners.get(key)!.add(wrapped);
    const stop = () => {
      const current = this.listeners.get(key);
      current?.delete(wrapped);
      if (current && current.size === 0) {
        this.listeners.delete(key);
        this.cursors.delete(key);
      }
    };
    try {
      if (after !== undefined) await this.replay(key, listener, after, buffered, () => (replaying = false));
    } catch (error) {
      stop(); // a failed replay must not leave a listener behind, buffering forever
      throw error;
    }
    return stop;
  }

  /** Sends the backlog after `after`, then what arrived meanwhile and is newer. */
  private async replay(
    key: string,
    listener: Listener,
    after: string,
    buffered: LiveEntry[],
    live: () => void,
  ): Promise<void> {
    let lastSent = after === 'latest' ? '0-0' : after;
    if (after === 'latest') {
      for (const [id, fields] of await this.client.xrevrange(key, '+', '-', 'COUNT', 1)) {
        listener({ id, data: parse(fields) });
        lastSent = id;
      }
    } else {
      // The backlog may be longer than a page: read until it is exhausted.
      for (;;) {
        const page = await this.client.xrange(key, `(${lastSent}`, '+', 'COUNT', BACKLOG_PAGE);
        for (const [id, fields] of page) {
          listener({ id, data: parse(fields) });
          lastSent = id;
        }
        if (page.length < BACKLOG_PAGE) break;
      }
    }
    live();
    for (const entry of buffered) if (compareIds(entry.id, lastSent) > 0) listener(entry);
  }

  /** One blocking read over every stream someone here listens to; false when nobody listens (the loop idles). */
  private async readOnce(): Promise<boolean> {
    const keys = [...this.listeners.keys()];
    if (keys.length === 0) return false;
    const ids = keys.map((k) => this.cursors.get(k) ?? '0-0');
    const result = (await this.reader.xread('BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids)) as
      | [string, [string, string[]][]][]
      | null;
    for (const [key, entries] of result ?? []) {
      for (const [id, fields] of entries) {
        // The last listener may have left while the read was blocked: then the key is forgotten, not revived.
        if (!this.listeners.has(key)) break;
        this.cursors.set(key, id);
        const entry = { id, data: parse(fields) };
        for (const listener of this.listeners.get(key) ?? []) listener(entry);
      }
    }
    return true;
  }
}
