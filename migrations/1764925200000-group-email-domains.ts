import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Automatic group membership by e-mail domain (Discourse's): a group lists domains, and members
 * whose confirmed address is at one of them are in it. `via_domain` marks the memberships the
 * rule made (null for those added by hand), so a rule or an address that changes takes back
 * only what the rule gave.
 */
export class GroupEmailDomains1764925200000 implements MigrationInterface {
  name = 'GroupEmailDomains1764925200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE groups ADD COLUMN automatic_domains text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE group_members ADD COLUMN via_domain text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE group_members DROP COLUMN via_domain`);
    await q.query(`ALTER TABLE groups DROP COLUMN automatic_domains`);
  }
}
