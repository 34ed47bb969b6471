import { types } from 'pg';
import { parseTimestamptz, PG_TYPES } from './timestamps';

const pgParse = types.getTypeParser(1184, 'text') as (s: string) => Date | number | null;

/** `ms` since the epoch as PostgreSQL writes a timestamptz under TimeZone UTC, with `fraction` (digits after the point, no trailing zeros). */
function pgText(ms: number, fraction: string): string {
  const iso = new Date(ms).toISOString(); // 2026-12-04T19:20:59.559Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00`;
}

const same = (s: string) => {
  const ours = parseTimestamptz(s);
  const theirs = pgParse(s);
  return ours instanceof Date && theirs instanceof Date ? ours.getTime() === theirs.getTime() : Object.is(ours, theirs);
};

describe('parseTimestamptz', () => {
  it('reads PostgreSQL UTC text as pg does, for every millisecond and fraction length', () => {
    const base = Date.UTC(2026, 11, 4, 19, 20, 59);
    const mismatches: string[] = [];
    for (let ms = 0; ms < 1000; ms++) {
      const three = String(ms).padStart(3, '0');
      for (const fraction of [three.replace(/0+$/, ''), `${three}4`, `${three}999`, `${three}000`.slice(0, 6)]) {
        const s = pgText(base + ms, fraction);
        if (!same(s)) mismatches.push(s);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('reads dates across the years PostgreSQL writes with four digits', () => {
    const mismatches: string[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const from = Date.UTC(1000, 0, 1);
    const to = Date.UTC(9999, 11, 31, 23, 59, 59);
    for (let i = 0; i < 20_000; i++) {
      const s = pgText(Math.floor(from + random() * (to - from)), String(Math.floor(random() * 1e6)).padStart(6, '0').replace(/0+$/, ''));
      if (!same(s)) mismatches.push(s);
    }
    for (const s of ['1000-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00', '2024-02-29 12:00:00+00', '1970-01-01 00:00:00+00']) {
      if (!same(s)) mismatches.push(s);
    }
    expect(mismatches).toEqual([]);
  });

  it('hands what is not UTC four-digit-year text to pg', () => {
    for (const s of ['infinity', '-infinity', '0099-05-01 10:00:00+00', '0001-01-01 00:00:00+00 BC', '12345-01-01 00:00:00+00', '2026-12-04 19:20:59.5+05:30', '2026-12-04 19:20:59-03:30', '2026-12-04 19:20:59+00:00:12']) {
      expect(same(s)).toBe(true);
    }
    expect(parseTimestamptz('2026-12-04 19:20:59.5+05:30')).toEqual(new Date('2026-12-04T13:50:59.500Z'));
  });

  it('is what a pool built with PG_TYPES uses for timestamptz, and only for its text form', () => {
    expect(PG_TYPES.getTypeParser(1184, 'text')).toBe(parseTimestamptz);
    expect(PG_TYPES.getTypeParser(1184)).toBe(parseTimestamptz);
    expect(PG_TYPES.getTypeParser(1114, 'text')).toBe(types.getTypeParser(1114, 'text'));
    expect(PG_TYPES.getTypeParser(1184, 'binary')).toBe(types.getTypeParser(1184, 'binary'));
  });
});
