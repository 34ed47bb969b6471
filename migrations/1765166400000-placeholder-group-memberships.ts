import { MigrationInterface, QueryRunner } from 'typeorm';
import { logUserEntriesAsSystem } from './support/system-log';

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
 *   them (`logUserEntriesAsSystem`), so `audit:verify` still finds the chain whole;
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
    await logUserEntriesAsSystem(
      q,
      removed.map((m) => ({
        action: 'group.member_remove',
        userId: m.user_id,
        reason: PLACEHOLDER_REMOVAL_REASON,
        before: m.owner ? { owner: true } : null,
        after: { groupId: m.group_id },
      })),
    );
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
