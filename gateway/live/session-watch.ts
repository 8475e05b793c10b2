import { HttpError } from '../errors.js';
import type { AccessClaims, TokenService } from '../tokens.js';

// A live connection (SSE, WebSocket) outlives the request that authenticated it: it must end when its token
// expires or its session is revoked (logout, refresh-token reuse), or a client logged out would go on receiving
// updates (issue 12). One watch per gateway: a timer per connection at its token's expiry, and one Redis call
// every `tokens.sessionCacheMs` for the sessions of all connections.

/** Why a live connection was ended: the client re-authenticates (the first two) or reconnects later. */
export type LiveEnd = 'TOKEN_EXPIRED' | 'SESSION_REVOKED' | 'DEPENDENCY_UNAVAILABLE';

export const LIVE_END_MESSAGES: Readonly<Record<LiveEnd, string>> = {
  TOKEN_EXPIRED: 'the access token has expired; refresh it and reconnect',
  SESSION_REVOKED: 'this session was revoked; log in again',
  DEPENDENCY_UNAVAILABLE: 'the session could not be checked; reconnect later',
};

interface Watched {
  readonly claims: AccessClaims;
  readonly end: (reason: LiveEnd) => void;
  readonly expiry: NodeJS.Timeout;
}

interface WarnLogger {
  warn(details: object, message: string): void;
}

export class LiveSessionWatch {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly tokens: TokenService,
    private readonly log: WarnLogger,
    /** How often sessions are re-checked: no longer than the session cache, so both bounds are the same. */
    private readonly intervalMs = tokens.sessionCacheMs,
  ) {}

  /**
   * Calls `end` once, when the token expires or a check finds the session revoked (or cannot check it: fail
   * closed). Returns the function that stops watching (call it when the connection closes).
   */
  watch(claims: AccessClaims, end: (reason: LiveEnd) => void): () => void {
    const entry: Watched = {
      claims,
      end,
      expiry: setTimeout(() => this.finish(entry, 'TOKEN_EXPIRED'), Math.max(0, claims.expiresAt - Date.now())),
    };
    this.watched.add(entry);
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), this.intervalMs);
      this.timer.unref();
    }
    return () => this.forget(entry);
  }

  /**
   * Why these claims may no longer be used, or null if they may: the check a WebSocket makes on each new
   * subscription (the session through the cache, as on any request). A Redis failure is thrown.
   */
  async ended(claims: AccessClaims): Promise<LiveEnd | null> {
    if (Date.now() >= claims.expiresAt) return 'TOKEN_EXPIRED';
    try {
      await this.tokens.checkSession(claims.sessionId);
      return null;
    } catch (error) {
      if (error instanceof HttpError && error.code === 'SESSION_REVOKED') return 'SESSION_REVOKED';
      throw error;
    }
  }

  get size(): number {
    return this.watched.size;
  }

  stop(): void {
    for (const entry of this.watched) clearTimeout(entry.expiry);
    this.watched.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private forget(entry: Watched): void {
    clearTimeout(entry.expiry);
    this.watched.delete(entry);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private finish(entry: Watched, reason: LiveEnd): void {
    if (!this.watched.has(entry)) return;
    this.forget(entry);
    entry.end(reason);
  }

  /** One MGET for the sessions of every watched connection; revoked ones end, and all of them if Redis fails. */
  private async check(): Promise<void> {
    if (this.checking || this.watched.size === 0) return;
    this.checking = true;
    const entries = [...this.watched];
    try {
      const revoked = await this.tokens.revokedSessions([...new Set(entries.map((e) => e.claims.sessionId))]);
      for (const entry of entries) if (revoked.has(entry.claims.sessionId)) this.finish(entry, 'SESSION_REVOKED');
    } catch (error) {
      this.log.warn({ err: error }, 'live sessions could not be checked; their connections are closed');
      for (const entry of entries) this.finish(entry, 'DEPENDENCY_UNAVAILABLE');
    } finally {
      this.checking = false;
    }
  }
}
