import { KindedError } from '../runtime/errors.js';

/** A cursor this API did not hand out (or one that was tampered with). */
export class InvalidCursorError extends KindedError {
  constructor(message: string) {
    super('invalid', 'INVALID_CURSOR', message);
  }
}

/**
 * Keyset pagination: the cursor is the sort key of the last row returned (a time and an id to break ties), so
 * pages never skip or repeat rows, however the table changes between requests.
 */
export const encodeCursor = (at: string, id: string): string =>
  Buffer.from(JSON.stringify([at, id])).toString('base64url');

export function decodeCursor(cursor: string): [at: string, id: string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2) {
      const [at, id] = value as unknown[];
      if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at))) return [at, id];
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidCursorError('cursor is not one this API returned');
}
