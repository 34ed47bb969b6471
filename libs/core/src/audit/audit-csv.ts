import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { csvRow } from '../csv';
import { AuditRow } from './audit-log';

/**
 * Columns of `audit:export`, in order. `outcome` (what a review decision did, which readers match
 * on; not hashed, but said by `after`, which is) came last, so the columns before it stay where they were.
 */
export const AUDIT_CSV_COLUMNS: Array<keyof AuditRow> = ['id', 'at', 'actor_id', 'action', 'target_type', 'target_id', 'space_id', 'reason', 'before', 'after', 'prev_hash', 'hash', 'entry_id', 'outcome'];

/** One moderation-log entry as an RFC 4180 CSV line (JSON columns as JSON text). */
export function auditCsvRow(row: AuditRow): string {
  return csvRow(AUDIT_CSV_COLUMNS.map((c) => row[c]));
}

/**
 * Streams entries into `out` as CSV (header first) with backpressure: an entry is read from
 * the database only as fast as `out` takes the lines. Resolves with the number of entries
 * once everything is flushed; rejects on the first write error, and stops reading then.
 * `end: false` leaves `out` open (standard output).
 */
export async function writeAuditCsv(entries: AsyncIterable<AuditRow>, out: NodeJS.WritableStream, opts: { end?: boolean } = {}): Promise<number> {
  let n = 0;
  async function* lines(): AsyncGenerator<string> {
    yield `${AUDIT_CSV_COLUMNS.join(',')}\n`;
    for await (const row of entries) {
      n++;
      yield `${auditCsvRow(row)}\n`;
    }
  }
  await pipeline(Readable.from(lines(), { objectMode: false, highWaterMark: 16 * 1024 }), out, { end: opts.end ?? true });
  return n;
}
