import { parseCsv } from '../../../moderation/src/spam/youtube-csv';
import { AUDIT_CSV_COLUMNS, auditCsvRow } from './audit-csv';
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
    };
    const [header, parsed] = parseCsv(`${AUDIT_CSV_COLUMNS.join(',')}\n${auditCsvRow(row)}\n`);
    expect(header).toEqual(AUDIT_CSV_COLUMNS);
    expect(parsed).toEqual(['42', '2026-11-23T10:00:00.000Z', '', 'post.hide', 'post', row.target_id, '', 'said "buy now",\nthen spammed', '{"state":"VISIBLE"}', '{"state":"HIDDEN"}', '', 'abc']);
  });
});
