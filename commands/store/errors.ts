import { KindedError } from '../../runtime/errors.js';

/** The append's expected version did not match the stream: a conflict (409). */
export class ConcurrencyError extends KindedError {
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: number | null,
  ) {
    super(
      'conflict',
      'STREAM_VERSION_CONFLICT',
      `stream ${streamId}: expected version ${expected}, found ${actual === null ? 'no stream' : actual}`,
      { streamId, expected, actual },
    );
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
