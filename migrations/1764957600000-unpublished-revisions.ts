import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `post_revisions.unpublished`: a version its post went through before its topic was published
 * to a board (a PUBLISH_TO_BOARD timer), replaced by then; readers who are neither the post's
 * author nor a moderator see its history from the text it was published with. A constant
 * default: rows already there are not rewritten, and none of them is unpublished (topics
 * published before this kept their whole history in view, as they showed it).
 */
export class UnpublishedRevisions1764957600000 implements MigrationInterface {
  name = 'UnpublishedRevisions1764957600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE post_revisions ADD COLUMN unpublished boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE post_revisions DROP COLUMN unpublished`);
  }
}
