import { types } from 'pg';

const TIMESTAMPTZ_OID = 1184;
/** pg's own parser of timestamptz text (postgres-date). */
const parseDate = types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (s: string) => Date | number | null;

/** `YYYY-MM-DD HH:MM:SS` followed by an optional fraction and `+00`. */
const SECONDS_END = 19;

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;
const two = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1);

/**
 * A timestamptz as PostgreSQL writes it in text under `SESSION_SETTINGS_SQL` (DateStyle ISO,
 * TimeZone UTC): `2026-12-04 19:20:59.559012+00`. A topic page reads about a hundred of them,
 * and pg's general parser (postgres-date, three regular expressions a value) was 4% of the
 * API's CPU on the benchmark's topic page. Anything else (another offset, a year before 1000
 * or after 9999, BC, infinity) goes to pg's parser, so what PostgreSQL writes parses to the
 * same instant either way. Like pg's parser, it cuts the fraction to whole milliseconds.
 */
export function parseTimestamptz(s: string): Date | number | null {
  const n = s.length;
  if (
    n < SECONDS_END + 3 ||
    s.charCodeAt(n - 3) !== 43 /* + */ ||
    s.charCodeAt(n - 2) !== 48 ||
    s.charCodeAt(n - 1) !== 48 ||
    s.charCodeAt(4) !== 45 /* - */ ||
    s.charCodeAt(10) !== 32 /* space */ ||
    s.charCodeAt(1) < 48 ||
    s.charCodeAt(1) > 57
  ) {
    return parseDate(s);
  }
  const fractionEnd = n - 3;
  let ms = 0;
  if (fractionEnd > SECONDS_END) {
    if (s.charCodeAt(SECONDS_END) !== 46 /* . */) return parseDate(s);
    // Milliseconds from up to three digits of the fraction: ".5" is 500, ".05" is 50.
    for (let i = SECONDS_END + 1, scale = 100; i < fractionEnd && scale >= 1; i++, scale /= 10) ms += digit(s, i) * scale;
  }
  const year = two(s, 0) * 100 + two(s, 2);
  if (year < 1000) return parseDate(s);
  const t = Date.UTC(year, two(s, 5) - 1, two(s, 8), two(s, 11), two(s, 14), two(s, 17), ms);
  return Number.isNaN(t) ? parseDate(s) : new Date(t);
}

/** pg's `types` option for a pool: pg's own parsers, but `parseTimestamptz` for timestamptz text. */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID && format !== 'binary' ? parseTimestamptz : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};
