import { InvalidArgumentError } from 'commander';
import { parseSince } from './audit-options';

describe("audit:export's --since", () => {
  it('reads 24:00 as ISO 8601 writes the end of a day: the next day at 00:00, across a month and a year too', () => {
    expect(parseSince('2026-01-31T24:00Z').toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(parseSince('2026-12-31T24:00:00.000Z').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(parseSince('2026-01-01T24:00+02:00').toISOString()).toBe('2026-01-01T22:00:00.000Z');
  });

  it.each(['2026-01-01T24:00:01Z', '2026-01-01T24:30Z', '2026-01-01T24:00:00.001Z', '2026-01-01T25:00Z', '2026-02-29T24:00Z'])('refuses %s: no time of a day of the calendar', (value) => {
    expect(() => parseSince(value)).toThrow(InvalidArgumentError);
  });
});
