import { MigrationInterface, QueryRunner } from 'typeorm';
import { AUDIT_LOCK, entryHash } from '../libs/core/src/audit/audit-log';

/** Why the moderation log says each of these memberships went. */
export const PLACEHOLDER_REMOVAL_REASON = 'placeholder account';

/**
 * Imported authors' placeholder accounts leave every group. Group admissions refuse such an
 * account since 5f96cbd (it cannot sign in), but earlier releases put some in groups, and those
 * memberships stayed: the placeholder was listed among the group's members and counted in its
 * member count, and it held the group's space grants, which nobody could use.
 *
 * Each removal is told as `GroupMemberships.remove` tells one, as far as a migration can:
 * - the counters (`group_member_counts`) follow by their triggers, as for any statement;
 * - a `group.member_remove` entry per membership in the moderation log, naming the account and
 *   the group by their ids (with `{ owner: true }` before, for an owner), by the system (no
 *   actor, as every automatic change is logged: the automatic groups' rule, an account's
 *   deletion by nobody), the reason `placeholder account`. Hash-chained as `AuditLog` writes
 *   them (its `entryHash`), after the log's head and under its lock (`AUDIT_LOCK`), so
 *   `audit:verify` still finds the chain whole;
 * - no `space.access_changed` for the live rooms: that makes them check their connections
 *   again, and a placeholder has none (it cannot sign in).
 * A placeholder has no requests to end either: asking to join takes signing in.
 *
 * Down restores nothing: the memberships did nothing a placeholder could use, the code before
 * needs none of them, and the log keeps the entries that added and removed them.
 */
export class PlaceholderGroupMemberships1765166400000 implements MigrationInterface {
  name = 'PlaceholderGroupMemberships1765166400000';

  async up(q: QueryRunner): Promise<void> {
    const removed: Array<{ group_id: string; user_id: string; owner: boolean }> = await q.query(`
      WITH d AS (
        DELETE FROM group_members gm
         USING users u
         WHERE u.id = gm.user_id AND u.is_placeholder
        RETURNING gm.group_id, gm.user_id, gm.owner)
      SELECT * FROM d ORDER BY group_id, user_id
    `);
    if (removed.length === 0) return;
    // As `AuditLog.write`: the log's lock (to the commit), then its head, then the entries in order.
    await q.query(`SELECT pg_advisory_xact_lock($1)`, [AUDIT_LOCK]);
    const [head]: Array<{ last_hash: string | null }> = await q.query(`SELECT last_hash FROM moderation_log_head`);
    let prev = head?.last_hash ?? null;
    const at = new Date();
    for (const m of removed) {
      const row = {
        at,
        actor_id: null,
        action: 'group.member_remove',
        target_type: 'user',
        target_id: m.user_id,
        space_id: null,
        reason: PLACEHOLDER_REMOVAL_REASON,
        before: m.owner ? { owner: true } : null,
        after: { groupId: m.group_id },
      };
      const hash = entryHash(prev, row);
      await q.query(
        `WITH e AS (
           INSERT INTO moderation_log (at, actor_id, action, target_type, target_id, space_id, reason, before, after, prev_hash, hash)
           VALUES ($1, NULL, $2, $3, $4, NULL, $5, $6, $7, $8, $9) RETURNING id)
         UPDATE moderation_log_head SET last_id = (SELECT id FROM e), last_hash = $9, entries = entries + 1`,
        [row.at, row.action, row.target_type, row.target_id, row.reason, row.before === null ? null : JSON.stringify(row.before), JSON.stringify(row.after), prev, hash],
      );
      prev = hash;
    }
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
