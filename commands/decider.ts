// The shape every aggregate follows: plain data and two pure functions. No I/O, no clock, no randomness:
// what they need from outside (the time, other aggregates' state) comes in as arguments.

/** An event as the domain sees it: a past-tense type and its data (the Avro record's fields). */
export interface DomainEvent<T extends string = string, D = object> {
  readonly type: T;
  readonly data: D;
}

/** A refusal with a stable code; the gateway maps codes to HTTP statuses in one place. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
