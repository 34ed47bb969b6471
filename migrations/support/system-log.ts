import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { QueryRunner } from 'typeorm';

/*
 * Frozen copies of what the moderation log's writer (`AuditLog`, libs/core/src/audit/audit-log.ts)
 * used when the migrations below were written, so that a migration imports no code of the app's
 * (which may change under it). The log is one chain, though: an entry written here must be hashed
 * as `audit:verify` checks it and appended under the lock the application's writers take. The
 * migrations e2e spec checks both against the app's (`AUDIT_LOCK`, `entryHash`); should the app
 * change either, that test fails, and whoever changes it decides what the entries these migrations
 * write (and wrote) become.
 */

/** The advisory-lock key that serialises the log's appends: `AUDIT_LOCK` ("audi"). */
export const SYSTEM_LOG_LOCK = 0x61756469;

/** An entry's hash as `entryHash` makes it: the previous hash and every field, as canonical JSON. */
export function systemEntryHash(
  prevHash: string | null,
  e: { at: Date; actor_id: string | null; action: string; target_type: string; target_id: string | null; space_id: string | null; reason: string | null; before: unknown; after: unknown },
): string {
  const canonical = stringify([
    prevHash,
    new Date(e.at).toISOString(),
    e.actor_id,
    e.action,
    e.target_type,
    e.target_id,
    e.space_id,
    e.reason,
    e.before ?? null,
    e.after ?? null,
  ]);
  return createHash('sha256').update(canonical ?? '').digest('hex');
}

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
 * the one before (`systemEntryHash`) with the head moved to it, so `audit:verify` still finds the chain
 * whole. By no actor (the system, as every automatic change is logged), about a user, in no space.
 */
export async function logUserEntriesAsSystem(q: QueryRunner, entries: SystemUserEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await q.query(`SELECT pg_advisory_xact_lock($1)`, [SYSTEM_LOG_LOCK]);
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
    const hash = systemEntryHash(prev, row);
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
