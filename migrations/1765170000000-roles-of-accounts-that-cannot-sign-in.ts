import { MigrationInterface, QueryRunner } from 'typeorm';
import { logUserEntriesAsSystem } from './support/system-log';

/** Why the moderation log says each of these accounts was made a member. */
export const DELETED_ROLE_REASON = 'deleted account';
export const PLACEHOLDER_ROLE_REASON = 'placeholder account';

/**
 * Deleted accounts and imported authors' placeholder accounts that are moderators or admins become
 * members. setUserRole refuses them any other role since 6839721 (neither can sign in), but earlier
 * releases made some staff, and they kept the role: such an account still ranked as staff in every
 * space (`AccessService.baseRankSql`), so a space's moderators could not sanction it there, and
 * nobody could ignore it.
 *
 * Each change is told as `UsersService.setRole` tells one, as far as a migration can:
 * - a `user.role_change` entry per account in the moderation log, `{ role }` before and after, by
 *   the system (no actor, as every automatic change is logged), the reason `deleted account` (for
 *   a deleted placeholder too) or `placeholder account`. Hash-chained as `AuditLog` writes them
 *   (`logUserEntriesAsSystem`, as migration 1765166400000 logs its removals), so `audit:verify`
 *   still finds the chain whole;
 * - no `user.role_changed` for the live rooms: it makes them check the account's connections
 *   again, and these accounts have none. A placeholder never had a session (sign-in and password
 *   resets have refused placeholders since they were added), and a deletion revokes the account's
 *   sessions (and tells the live rooms) in its own transaction. Nothing else keeps a role: a
 *   request reads it with its session (`SessionsService.resolve`), a connection with its checks.
 * The last-admin guard needs no lock here: it counts only admins who can sign in, none of these.
 *
 * Down restores nothing: the roles let nobody act (nobody signs in to these accounts), they only
 * kept others from sanctioning or ignoring them; the code before needs none of them, and the log
 * keeps the entries that gave and took them.
 */
export class RolesOfAccountsThatCannotSignIn1765170000000 implements MigrationInterface {
  name = 'RolesOfAccountsThatCannotSignIn1765170000000';

  async up(q: QueryRunner): Promise<void> {
    const changed: Array<{ id: string; role: string; deleted: boolean }> = await q.query(`
      WITH c AS (
        UPDATE users u SET role = 'MEMBER', updated_at = now()
          FROM (SELECT id, role FROM users WHERE role <> 'MEMBER' AND (deleted_at IS NOT NULL OR is_placeholder) FOR UPDATE) was
         WHERE u.id = was.id
        RETURNING u.id, was.role, u.deleted_at IS NOT NULL AS deleted)
      SELECT * FROM c ORDER BY id
    `);
    await logUserEntriesAsSystem(
      q,
      changed.map((u) => ({
        action: 'user.role_change',
        userId: u.id,
        reason: u.deleted ? DELETED_ROLE_REASON : PLACEHOLDER_ROLE_REASON,
        before: { role: u.role },
        after: { role: 'MEMBER' },
      })),
    );
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
