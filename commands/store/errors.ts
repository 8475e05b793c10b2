/** The append's expected version did not match the stream; the gateway answers 409. */
export class ConcurrencyError extends Error {
  readonly code = 'STREAM_VERSION_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: number | null,
  ) {
    super(`stream ${streamId}: expected version ${expected}, found ${actual === null ? 'no stream' : actual}`);
    this.name = 'ConcurrencyError';
  }
}

/** Another request with the same idempotency key committed first; the caller re-reads the stored response. */
export class IdempotencyRaceError extends Error {
  readonly code = 'IDEMPOTENCY_RACE';
  constructor(
    readonly scope: string,
    readonly key: string,
  ) {
    super(`idempotency key ${key} was committed concurrently`);
    this.name = 'IdempotencyRaceError';
  }
}
