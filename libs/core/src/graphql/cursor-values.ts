import { isUuid } from '../ids';

/*
 * The values of keyset cursors, checked before they reach SQL (a forged cursor is then
 * BAD_USER_INPUT rather than a database error). In core, for every lib that pages by a time.
 */

/** One value of a keyset cursor, as its key needs it: an int4 or a timestamptz in PostgreSQL's text form, or a uuid. */
export function validKeyValue(value: unknown, type: 'int' | 'timestamptz' | 'uuid'): boolean {
  if (type === 'uuid') return isUuid(value);
  if (typeof value !== 'string') return false;
  return type === 'int' ? /^-?\d{1,10}$/.test(value) && Math.abs(Number(value)) <= 2 ** 31 - 1 : isPgTimestamptz(value);
}

/** PostgreSQL's ISO output of a timestamptz (`2026-11-23 10:31:15.123456+00`), with real calendar values. */
export function isPgTimestamptz(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes, offsetSeconds] = [m[1], m[2], m[3], m[4], m[5], m[6], m[8], m[9] ?? '0', m[10] ?? '0'].map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day &&
    hour <= 23 && minute <= 59 && second <= 59 &&
    // PostgreSQL takes offsets below 16 hours: 15:59:59 at most.
    offsetHours <= 15 && offsetMinutes <= 59 && offsetSeconds <= 59
  );
}
