// Dates and times as PostgreSQL takes them. JavaScript's Date.parse accepts far more than PostgreSQL does ("1",
// "May 2020", years up to ±275760) and rolls impossible dates over (2024-02-30 is March 1st): a value that reaches
// SQL is checked against the database's domain first, so a client's typo is a 400 and never a database error.

const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** `YYYY-MM-DD` naming a real day of years 0001-9999 (PostgreSQL has no year 0). */
export function isCalendarDate(value: string): boolean {
  const m = CALENDAR_DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  return d <= (mo === 2 && isLeap(y) ? 29 : DAYS[mo - 1]!);
}

/**
 * A canonical UTC instant as `Date#toISOString` writes it (`2024-05-01T12:00:00.000Z`), of years 0001-9999, that
 * reads back to itself: what this API hands out in cursors, and nothing else.
 */
export function isIsoInstant(value: string): boolean {
  if (!ISO_INSTANT.test(value) || value.startsWith('0000')) return false;
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}
