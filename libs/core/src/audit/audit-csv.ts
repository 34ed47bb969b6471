import { AuditRow } from './audit-log';

/** Columns of `audit:export`, in order. */
export const AUDIT_CSV_COLUMNS: Array<keyof AuditRow> = ['id', 'at', 'actor_id', 'action', 'target_type', 'target_id', 'space_id', 'reason', 'before', 'after', 'prev_hash', 'hash'];

function field(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One moderation-log entry as an RFC 4180 CSV line (JSON columns as JSON text). */
export function auditCsvRow(row: AuditRow): string {
  return AUDIT_CSV_COLUMNS.map((c) => field(row[c])).join(',');
}
