import { DomainError } from '../errors.js';

/** An event's version is ahead of the next one expected: an earlier event of its stream was dead-lettered. */
export class StreamGapError extends Error {
  readonly code = 'STREAM_GAP';
  constructor(
    readonly streamId: string,
    readonly expected: number,
    readonly got: number,
  ) {
    super(`stream ${streamId}: expected version ${expected}, got ${got} (an earlier event is missing, see the DLQ)`);
    this.name = 'StreamGapError';
  }
}

const POISON_CODES = new Set(['UNDECODABLE_EVENT', 'MALFORMED_MESSAGE', 'STREAM_GAP']);

/**
 * Whether a failure belongs to the message itself — it will fail the same way however often it is retried — so
 * isolating it into the dead-letter topic is right. Anything else (a database, broker or search engine that is
 * down or busy, a deadlock, a timeout) is the infrastructure's, and the batch is retried until it goes through:
 * a stalled partition shows as lag, a dead-lettered healthy event would be lost.
 */
export function isPoison(error: unknown): boolean {
  if (error instanceof DomainError) return true;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (POISON_CODES.has(code)) return true;
    // PostgreSQL SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation).
    if (/^2[23][0-9A-Z]{3}$/.test(code)) return true;
  }
  // The search engine refused the document itself (mapping, parsing), not the request (429, 5xx).
  const failures = (error as { failures?: { status: number }[] }).failures;
  if (Array.isArray(failures) && failures.length > 0)
    return failures.every((f) => f.status >= 400 && f.status < 500 && f.status !== 429);
  return false;
}
