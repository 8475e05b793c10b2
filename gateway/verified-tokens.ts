/** Tokens kept by default: a few MB at ~300 bytes a token, more than the live sessions of one gateway. */
export const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Access tokens whose signature and claims were already verified, by the full token string, each kept until its
 * own expiry: verifying a JWT (HMAC, JSON parse, claim checks) costs ~0.1 ms, a Map lookup well under a µs.
 *
 * Keyed by the whole token, never by its payload or a part of it: a token with a changed byte (payload or
 * signature) is another key, so it misses and goes through full verification. Bounded: the least recently used
 * token is dropped first. Holds no revocation state: the session is checked apart on every request.
 */
export class VerifiedTokens<Claims extends { readonly expiresAt: number }> {
  /** Map iteration follows insertion order: re-inserting on a hit keeps the least recently used first. */
  private readonly entries = new Map<string, Claims>();

  constructor(
    private readonly max: number = VERIFIED_TOKENS_MAX,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The claims of a token verified before and not expired yet; undefined otherwise (and an expired one is dropped). */
  get(token: string): Claims | undefined {
    const claims = this.entries.get(token);
    if (claims === undefined) return undefined;
    this.entries.delete(token);
    // jsonwebtoken refuses a token once the clock reaches exp; the cache ends it at the same instant.
    if (claims.expiresAt <= this.now()) return undefined;
    this.entries.set(token, claims);
    return claims;
  }

  remember(token: string, claims: Claims): void {
    if (this.max <= 0 || claims.expiresAt <= this.now()) return;
    this.entries.delete(token);
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, claims);
  }
}
