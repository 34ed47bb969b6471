import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Space grants to imported authors' placeholder accounts go. `grantSpaceAccess` refuses such an
 * account since 3e900d9 (it cannot sign in, and group admissions refuse it too), but earlier
 * releases wrote these grants. One still counted: its space's admins saw it in `Space.grants`,
 * and it gave the placeholder a rank on the space (`AccessService.baseRankSql`), so a MODERATE
 * one made the space's moderators unable to sanction the account there. Nobody could use it.
 *
 * Not logged, as an account deletion's removal of its grants is not: the log keeps the
 * `space.grant` entries that made them. Down restores nothing: the grants were never usable and
 * the code before does not need them.
 */
export class GrantsToPlaceholders1765152000000 implements MigrationInterface {
  name = 'GrantsToPlaceholders1765152000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM space_grants sg
       USING users u
       WHERE u.id = sg.user_id AND u.is_placeholder
    `);
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
