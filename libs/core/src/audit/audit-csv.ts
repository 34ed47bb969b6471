import { csvRow } from '../csv';
import { AuditRow } from './audit-log';

/** Columns of `audit:export`, in order. */
export const AUDIT_CSV_COLUMNS: Array<keyof AuditRow> = ['id', 'at', 'actor_id', 'action', 'target_type', 'target_id', 'space_id', 'reason', 'before', 'after', 'prev_hash', 'hash'];

/** One moderation-log entry as an RFC 4180 CSV line (JSON columns as JSON text). */
export function auditCsvRow(row: AuditRow): string {
  return csvRow(AUDIT_CSV_COLUMNS.map((c) => row[c]));
}
