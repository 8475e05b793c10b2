// Refusals every role can raise and the gateway can answer without knowing who raised them: each carries a
// kind (what sort of refusal) and a stable code (which one). The gateway maps kind → HTTP status in one place,
// so a new context adds codes, never entries to a status table.

export type ErrorKind =
  /** The request itself is wrong (400). */
  | 'invalid'
  /** The caller may not do this to this thing (403). */
  | 'forbidden'
  /** The thing does not exist, or is not the caller's to know about (404). */
  | 'not_found'
  /** The thing's state does not allow it now, or a concurrent writer won (409). */
  | 'conflict'
  /** Well-formed but not processable as sent, like an idempotency key reused with another body (422). */
  | 'unprocessable'
  /** A dependency did not get there in time (504). */
  | 'timeout';

export class KindedError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'KindedError';
  }
}

/** A domain rule refused a command: a decider, a handler's ownership check, an idempotency key reused. */
export class DomainError extends KindedError {
  constructor(kind: ErrorKind, code: string, message: string, details: Record<string, unknown> = {}) {
    super(kind, code, message, details);
    this.name = 'DomainError';
  }
}
