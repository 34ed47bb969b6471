import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * "Hide my profile" (Discourse's hide_profile_and_presence): a member who sets it shows others
 * only their handle, name and posts; their bio, location, website, last seen, activity counts
 * and their presence in topics' live rooms reach only themselves and the site's moderators and
 * admins.
 */
export class HideProfile1764900000000 implements MigrationInterface {
  name = 'HideProfile1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN hide_profile boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP COLUMN hide_profile`);
  }
}
