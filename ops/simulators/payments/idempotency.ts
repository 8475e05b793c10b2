import { idempotencyKeyInUse, idempotencyMismatch } from './errors.js';

// Stripe's v1 idempotency: the first answer given under a key (success or failure, 500s included) is replayed for
// every later request with that key, without running the endpoint again. The same key on another endpoint or with
// other parameters is refused (400 idempotency_error); while the first request still runs, a second one gets 409.
// Keys are scoped to the account the request acts on (the Stripe-Account header), as Stripe scopes them. Keys
// never expire here (Stripe prunes them after 24 hours).

export interface StoredAnswer {
  readonly status: number;
  readonly body: unknown;
}

interface Entry {
  readonly endpoint: string;
  readonly fingerprint: string;
  answer: StoredAnswer | null;
}

export type Admission = { readonly kind: 'run' } | { readonly kind: 'replay'; readonly answer: StoredAnswer };

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /**
   * Decides what to do with a request carrying `key` on behalf of `account` (null: the platform); throws the
   * refusals. `run` claims the key until `finish`.
   */
  admit(key: string, endpoint: string, fingerprint: string, account: string | null = null): Admission {
    const entry = this.entries.get(scoped(key, account));
    if (entry === undefined) {
      this.entries.set(scoped(key, account), { endpoint, fingerprint, answer: null });
      return { kind: 'run' };
    }
    if (entry.endpoint !== endpoint) {
      throw idempotencyMismatch(
        `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${endpoint}' vs '${entry.endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    if (entry.fingerprint !== fingerprint) {
      throw idempotencyMismatch(
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    if (entry.answer === null) throw idempotencyKeyInUse(key);
    return { kind: 'replay', answer: entry.answer };
  }

  /** Stores the answer of a request admitted with `run`, or releases the key when the answer is not to be kept. */
  finish(key: string, answer: StoredAnswer | null, account: string | null = null): void {
    const entry = this.entries.get(scoped(key, account));
    if (entry === undefined) return;
    if (answer === null) this.entries.delete(scoped(key, account));
    else entry.answer = answer;
  }
}

// A NUL cannot occur in an HTTP header, so no key of one account can pass for another's.
const scoped = (key: string, account: string | null): string => (account === null ? key : `${account}\u0000${key}`);
