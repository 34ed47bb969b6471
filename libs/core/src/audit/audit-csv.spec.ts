import { parse } from 'csv-parse/sync';
import { Writable } from 'node:stream';
import { AUDIT_CSV_COLUMNS, auditCsvRow, writeAuditCsv } from './audit-csv';
import { AuditRow } from './audit-log';

describe('audit CSV export', () => {
  it('writes one parseable line per entry, quoting what needs it', () => {
    const row: AuditRow = {
      id: '42',
      at: new Date('2026-11-23T10:00:00.000Z'),
      actor_id: null,
      action: 'post.hide',
      target_type: 'post',
      target_id: '01a207d7-22e1-733a-9303-5a2047c59e37',
      space_id: null,
      reason: 'said "buy now",\nthen spammed',
      before: { state: 'VISIBLE' },
      after: { state: 'HIDDEN' },
      prev_hash: null,
      hash: 'abc',
      entry_id: '01a207d7-22e1-733a-9303-5a2047c59e38',
      outcome: null,
    };
    const [header, parsed]: string[][] = parse(`${AUDIT_CSV_COLUMNS.join(',')}\n${auditCsvRow(row)}\n`);
    expect(header).toEqual(AUDIT_CSV_COLUMNS);
    // The entry's outcome last (none here), after the columns exports had before it.
    expect(header.slice(-2)).toEqual(['entry_id', 'outcome']);
    expect(parsed).toEqual(['42', '2026-11-23T10:00:00.000Z', '', 'post.hide', 'post', row.target_id, '', 'said "buy now",\nthen spammed', '{"state":"VISIBLE"}', '{"state":"HIDDEN"}', '', 'abc', row.entry_id, '']);
    // A review decision's outcome is the entry's own, in that last cell.
    const [decided]: string[][] = parse(`${auditCsvRow({ ...row, action: 'review.approve', after: { decision: 'APPROVE', action: 'hidden', outcome: 'HIDDEN' }, outcome: 'HIDDEN' })}\n`);
    expect(decided.slice(-2)).toEqual([row.entry_id, 'HIDDEN']);
  });

  const entry = (i: number): AuditRow => ({
    id: String(i), at: new Date('2026-11-23T10:00:00.000Z'), actor_id: null, action: 'post.hide', target_type: 'post',
    target_id: null, space_id: null, reason: 'x'.repeat(500), before: null, after: null, prev_hash: null, hash: `h${i}`, entry_id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`, outcome: null,
  });

  it('reads entries only as fast as the output takes them, and reports how many it wrote', async () => {
    let produced = 0;
    let written = 0;
    let ahead = 0;
    async function* entries() {
      for (let i = 1; i <= 2000; i++) {
        produced++;
        ahead = Math.max(ahead, produced - written);
        yield entry(i);
      }
    }
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        written += chunk.toString().split('\n').length - 1; // lines (the header counts once)
        setImmediate(done);
      },
    });
    expect(await writeAuditCsv(entries(), slow)).toBe(2000);
    // Without backpressure the generator would run all 2,000 entries ahead of the writer.
    expect(ahead).toBeLessThan(200);
  });

  it('stops reading and rejects when the output fails', async () => {
    let produced = 0;
    async function* entries() {
      for (let i = 1; i <= 100_000; i++) {
        produced++;
        yield entry(i);
      }
    }
    let chunks = 0;
    const failing = new Writable({
      write(_chunk, _enc, done) {
        done(++chunks > 3 ? Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }) : undefined);
      },
    });
    await expect(writeAuditCsv(entries(), failing)).rejects.toThrow(/ENOSPC/);
    expect(produced).toBeLessThan(1000);
  });
});

