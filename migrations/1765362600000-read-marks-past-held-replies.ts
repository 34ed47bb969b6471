import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read marks past a reply held for approval, as releases before 48e59a74 and a25e33c2 stored
 * them: `markRead` kept a mark past the end to the topic's last number, and `movePosts` set the
 * marks of readers past a source's new end to it, a number a held reply takes. Such a mark names
 * the held reply to a reader not shown it (`Topic.lastReadNumber`), and once the reply is
 * approved counts it read (no unread count, its news born read).
 *
 * Each mark that does not sit on a post its reader is shown is set back to the last one before it
 * that is, as `markRead` stops a mark now: a post shown is any but one held (PENDING, or deleted
 * while held), their own held replies included. No post shown skipped over is visible (held posts
 * and numbers left by moves are all that lies between), so no unread count changes now. A
 * moderator is set back as a reader (a migration reads no space's access): a held reply they saw
 * counts unread once approved. A mark with no post shown before it (a topic whose first post is
 * held, which its reader cannot open) is left. `updated_at` is left too: nothing was read.
 * One statement, idempotent, through the (topic_id, number) index.
 *
 * Down restores nothing: the marks it set back were never their readers' to have, and the code
 * before reads the column as it does now.
 */
export class ReadMarksPastHeldReplies1765362600000 implements MigrationInterface {
  name = 'ReadMarksPastHeldReplies1765362600000';

  async up(q: QueryRunner): Promise<void> {
    const shown = `(p.author_id = r.user_id OR NOT (p.state = 'PENDING' OR (p.state = 'DELETED' AND p.deleted_from IS NOT DISTINCT FROM 'PENDING')))`;
    await q.query(`
      UPDATE topic_reads r
         SET last_read_number = (SELECT max(p.number) FROM posts p WHERE p.topic_id = r.topic_id AND p.number < r.last_read_number AND ${shown})
       WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.topic_id = r.topic_id AND p.number = r.last_read_number AND ${shown})
         AND EXISTS (SELECT 1 FROM posts p WHERE p.topic_id = r.topic_id AND p.number < r.last_read_number AND ${shown})
    `);
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
