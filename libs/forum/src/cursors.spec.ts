import { newId } from '../../core/src/ids';
import { TopicSort } from './forum.enums';
import { isPgTimestamptz, validTimeIdCursor, validListCursor, validPostNumberCursor } from './cursors';

describe('forum cursors', () => {
  it('accepts PostgreSQL timestamptz text and refuses impossible dates', () => {
    for (const ok of ['2026-11-23 10:31:15.123456+00', '2026-11-23 10:31:15+05:30', '2024-02-29 00:00:00-08', '2026-01-01 23:59:59.1+00', '2026-01-01 00:00:00+15:59:59']) {
      expect(isPgTimestamptz(ok)).toBe(true);
    }
    for (const bad of ['garbage', '2026-02-30 10:00:00+00', '2025-02-29 10:00:00+00', '2026-13-01 10:00:00+00', '2026-11-23T10:31:15Z', '2026-11-23 25:00:00+00', '2026-11-23 10:31:15', "2026-11-23 10:31:15+00'; --",
      // Offsets PostgreSQL refuses ("time zone displacement out of range").
      '2020-01-01 00:00:00+00:99', '2020-01-01 00:00:00+15:60', '2020-01-01 00:00:00+16', '2020-01-01 00:00:00+01:00:60']) {
      expect(isPgTimestamptz(bad)).toBe(false);
    }
  });

  it('checks list cursors against their sort', () => {
    const id = newId();
    expect(validListCursor([true, '2026-11-23 10:31:15.1+00', id], TopicSort.LATEST_ACTIVITY)).toBe(true);
    expect(validListCursor([false, '42', id], TopicSort.TOP)).toBe(true);
    expect(validListCursor([false, '42', id], TopicSort.NEWEST)).toBe(false);
    expect(validListCursor([false, '2026-11-23 10:31:15+00', id], TopicSort.TOP)).toBe(false);
    expect(validListCursor([false, '99999999999', id], TopicSort.TOP)).toBe(false);
    expect(validListCursor(['true', '42', id], TopicSort.TOP)).toBe(false);
    expect(validListCursor([true, '42', 'not-a-uuid'], TopicSort.TOP)).toBe(false);
  });

  it('checks post-number and time-and-id cursors', () => {
    expect(validPostNumberCursor([0])).toBe(true);
    expect(validPostNumberCursor([17])).toBe(true);
    for (const bad of [-1, 1.5, '3', 2 ** 31, null]) expect(validPostNumberCursor([bad])).toBe(false);
    expect(validTimeIdCursor(['2026-11-23 10:31:15.5+00', newId()])).toBe(true);
    expect(validTimeIdCursor(['2026-11-23 10:31:15.5+00', 'x'])).toBe(false);
    expect(validTimeIdCursor([12, newId()])).toBe(false);
  });
});
