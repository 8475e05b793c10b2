import { isIsoInstant } from '../runtime/dates.js';
import { KindedError } from '../runtime/errors.js';
import { findInvalidText } from '../runtime/text.js';

/** A cursor this API did not hand out (or one that was tampered with). */
export class InvalidCursorError extends KindedError {
  constructor(message: string) {
    super('invalid', 'INVALID_CURSOR', message);
  }
}

/** Longer than any id a read model keys its rows by. */
const MAX_ID_LENGTH = 256;
/** base64url of the longest cursor this API hands out, with room to spare (the routes cap it at 500 anyway). */
const MAX_CURSOR_LENGTH = 1024;

/**
 * Keyset pagination: the cursor is the sort key of the last row returned (a time and an id to break ties), so
 * pages never skip or repeat rows, however the table changes between requests.
 */
export const encodeCursor = (at: string, id: string): string =>
  Buffer.from(JSON.stringify([at, id])).toString('base64url');

/**
 * The sort key of a cursor, checked to be one this API could have handed out before it reaches SQL: the time is
 * a canonical ISO instant of years 0001-9999 that reads back to itself (`Date.parse` alone takes "1", "May 2020"
 * and year 275760, which PostgreSQL refuses), the id is well-formed text without control characters.
 */
export function decodeCursor(cursor: string): [at: string, id: string] {
  if (cursor.length <= MAX_CURSOR_LENGTH) {
    try {
      const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
      if (Array.isArray(value) && value.length === 2) {
        const [at, id] = value as unknown[];
        if (
          typeof at === 'string' &&
          typeof id === 'string' &&
          isIsoInstant(at) &&
          id.length > 0 &&
          id.length <= MAX_ID_LENGTH &&
          findInvalidText(id, 'client') === null
        ) {
          return [at, id];
        }
      }
    } catch {
      // fall through to the error below
    }
  }
  throw new InvalidCursorError('cursor is not one this API returned');
}
