import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A moderator's removal (POST_REMOVED) is about the post's topic (`topic_id`), as a removed post
 * is nobody's to open; the post itself was known only from the notice's source
 * (`removed:<post id>:<version>`), which the e-mail read and the app could not, so the app showed
 * no post (`Notification.post` null) even once the post was restored and readable again. The
 * notice now stores the post (`removed_post_id`), which `NotificationVisibility.removedPosts`
 * shows only while its recipient reads it in full; the notices already there are given it from
 * their source, where that post is still there. Should the post go, the column is set null (not
 * the notice deleted, as `post_id` would have it): a post is deleted only with its topic, which
 * takes the notice with it (`topic_id`), but were one deleted alone, its notice would still be
 * about the topic.
 *
 * Down drops the column.
 */
export class NotificationSubjectIds1765008000000 implements MigrationInterface {
  name = 'NotificationSubjectIds1765008000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notifications ADD COLUMN removed_post_id uuid REFERENCES posts(id) ON DELETE SET NULL`);
    // Compared as text: a source of another shape never reaches a uuid cast.
    await q.query(`
      UPDATE notifications n SET removed_post_id = p.id
        FROM posts p
       WHERE n.kind = 'POST_REMOVED' AND n.source LIKE 'removed:%' AND p.id::text = split_part(n.source, ':', 2)
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notifications DROP COLUMN removed_post_id`);
  }
}
