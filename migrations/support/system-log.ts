import { QueryRunner } from 'typeorm';
import { AUDIT_LOCK, entryHash } from '../../libs/core/src/audit/audit-log';

/** An entry a data migration writes to the moderation log about a user, by the system. */
export interface SystemUserEntry {
  action: string;
  userId: string;
  reason: string;
  before: unknown;
  after: unknown;
}

/**
 * Appends `entries`, in order, to the moderation log as `AuditLog.write` appends a transaction's:
 * the log's lock (held to the migration's commit), then its head, then each entry hash-chained to
 * the one before (`entryHash`) with the head moved to it, so `audit:verify` still finds the chain
 * whole. By no actor (the system, as every automatic change is logged), about a user, in no space.
 */
export async function logUserEntriesAsSystem(q: QueryRunner, entries: SystemUserEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await q.query(`SELECT pg_advisory_xact_lock($1)`, [AUDIT_LOCK]);
  const [head]: Array<{ last_hash: string | null }> = await q.query(`SELECT last_hash FROM moderation_log_head`);
  let prev = head?.last_hash ?? null;
  const at = new Date();
  for (const e of entries) {
    const row = {
      at,
      actor_id: null,
      action: e.action,
      target_type: 'user',
      target_id: e.userId,
      space_id: null,
      reason: e.reason,
      before: e.before ?? null,
      after: e.after ?? null,
    };
    const hash = entryHash(prev, row);
    await q.query(
      `WITH e AS (
         INSERT INTO moderation_log (at, actor_id, action, target_type, target_id, space_id, reason, before, after, prev_hash, hash)
         VALUES ($1, NULL, $2, $3, $4, NULL, $5, $6, $7, $8, $9) RETURNING id)
       UPDATE moderation_log_head SET last_id = (SELECT id FROM e), last_hash = $9, entries = entries + 1`,
      [row.at, row.action, row.target_type, row.target_id, row.reason,
       row.before === null ? null : JSON.stringify(row.before), row.after === null ? null : JSON.stringify(row.after), prev, hash],
    );
    prev = hash;
  }
}
