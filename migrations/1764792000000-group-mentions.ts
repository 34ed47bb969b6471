import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * @group mentions: who may mention each group (nobody by default, as groups existed before
 * without it), and the groups each post mentions. A post's group mentions are replaced on an
 * edit, as its user mentions are; looked up by post (the key).
 */
export class GroupMentions1764792000000 implements MigrationInterface {
  name = 'GroupMentions1764792000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE groups ADD COLUMN mentionable text NOT NULL DEFAULT 'NOBODY'
        CHECK (mentionable IN ('NOBODY', 'STAFF', 'MEMBERS', 'EVERYONE'));
      CREATE TABLE post_group_mentions (
        post_id uuid NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        group_id uuid NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        PRIMARY KEY (post_id, group_id)
      );
      CREATE INDEX post_group_mentions_group_idx ON post_group_mentions (group_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE post_group_mentions; ALTER TABLE groups DROP COLUMN mentionable;`);
  }
}
