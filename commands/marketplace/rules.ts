import { isCalendarDate } from '../../runtime/dates.js';
import { MAX_SKILLS, normaliseSkills, SKILL_PATTERN } from '../../schemas/marketplace/vocabulary.js';
import { DomainError } from '../decider.js';

// The marketplace's limits and the checks several deciders share. The gateway's JSON schemas refuse most bad
// input first (with the same limits, imported from here); the deciders check again because the write side is
// also called from sagas, demo data and tests, and an invariant that only the gateway keeps is not kept.

/** Largest amount anywhere (a contract, a budget, a rate): 10 million in major units, far inside 2^53. */
export const MAX_AMOUNT_MINOR = 1_000_000_000;
export const MAX_MILESTONES = 20;
/** How far ahead a job's deadline or a milestone's due date may be. */
export const MAX_DAYS_AHEAD = 5 * 366;

/** `YYYY-MM-DD` of the UTC day `now` falls on. */
export const dayOf = (now: Date): string => now.toISOString().slice(0, 10);

/** Days from `from` to `to`, both `YYYY-MM-DD`. */
const daysBetween = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 86_400_000;

/** A calendar day from today (inclusive, or strictly after it) up to MAX_DAYS_AHEAD, or a 400 naming `field`. */
export function assertFutureDay(value: string, now: Date, field: string, strictlyAfterToday: boolean): void {
  if (!isCalendarDate(value)) {
    throw new DomainError('invalid', 'INVALID_DATE', `${field} must be a calendar day YYYY-MM-DD`, { field, value });
  }
  const ahead = daysBetween(dayOf(now), value);
  if (ahead < (strictlyAfterToday ? 1 : 0) || ahead > MAX_DAYS_AHEAD) {
    throw new DomainError(
      'invalid',
      'DATE_OUT_OF_RANGE',
      `${field} must be ${strictlyAfterToday ? 'after' : 'no earlier than'} today and within ${MAX_DAYS_AHEAD} days`,
      { field, value },
    );
  }
}

export function assertAmount(value: number, field: string, { allowZero = false } = {}): void {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1) || value > MAX_AMOUNT_MINOR) {
    throw new DomainError(
      'invalid',
      'AMOUNT_OUT_OF_RANGE',
      `${field} must be an integer of minor units, ${allowZero ? 0 : 1}..${MAX_AMOUNT_MINOR}`,
      { field, value },
    );
  }
}

/** The skills normalised and checked: at most MAX_SKILLS, each matching SKILL_PATTERN. */
export function acceptSkills(raw: readonly string[]): string[] {
  const skills = normaliseSkills(raw);
  if (skills.length > MAX_SKILLS) {
    throw new DomainError('invalid', 'TOO_MANY_SKILLS', `at most ${MAX_SKILLS} skills`, { count: skills.length });
  }
  const bad = skills.find((s) => !SKILL_PATTERN.test(s));
  if (bad !== undefined) {
    throw new DomainError('invalid', 'INVALID_SKILL', `skill ${JSON.stringify(bad)} is not a skill name`, {
      skill: bad,
    });
  }
  return skills;
}

/** A point is both coordinates or neither, each within the globe. */
export function assertCoordinates(location: { lat: number | null; lon: number | null }): void {
  const { lat, lon } = location;
  if (lat === null && lon === null) return;
  if (lat === null || lon === null || !(Math.abs(lat) <= 90) || !(Math.abs(lon) <= 180)) {
    throw new DomainError('invalid', 'INVALID_COORDINATES', 'lat (-90..90) and lon (-180..180) go together', {
      lat,
      lon,
    });
  }
}

/** JSON with object keys sorted: the same data reads the same whether it came from a command or the codec. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

/** Same content, whatever the key order (a no-op update appends nothing). */
export const sameData = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);
