import { MigrationInterface, QueryRunner } from 'typeorm';
import { alterGivingWay } from './support/lock-wait';

/**
 * `topics.max_post_number`: the highest number a post of the topic has had, kept once `movePosts`
 * takes replies off its end. The move lowers `last_post_number` to what remains (its readers'
 * marks are set back to it), and a reply took `last_post_number + 1`: a number a moved post had
 * before. A read mark holding that number (a client that still had it, or one stored meanwhile)
 * then counted the new reply read, and a notification or link naming the old post named it. A
 * new number is now past both (`highestPostNumberSql`): numbers are never given twice in a topic.
 *
 * 0 until the first move out of the topic, which sets it to the highest number the topic gave
 * then (every move out of it does, one from the middle too, whether or not it lowers
 * `last_post_number`); while it is 0, `last_post_number` is the highest. So every way a topic is
 * written (imports, tests' fixtures) stays right without naming it. A constant default rewrites
 * nothing, but the ALTER takes the table's ACCESS EXCLUSIVE lock: it runs on its own
 * (`transaction = false`) and gives way while the table is busy (`alterGivingWay`).
 *
 * A topic that moves before took replies off the end of, and that no reply has reached past
 * them since, is given the highest number they had, as the move would have kept it: every
 * `posts.move` in the moderation log names the posts it took and their numbers
 * (`before.posts`, on the source's entry), so its next reply does not take one of them. Every
 * form the entry took has it so: one entry on the destination (a64cdea3, and from 6acc5a79 with
 * a title and count in `after`), and from 7236f977 across spaces the source's entry, beside the
 * destination's, whose `before` is `{ anotherSpace: true }` and names no source (migrations e2e
 * seeds each). One statement, after the ALTER, holding only the rows it raises. Numbers already
 * given twice are not undone. Re-runnable (IF NOT EXISTS; the backfill only raises).
 *
 * Undone, replies take `last_post_number + 1` again, numbers moved away included.
 */
export class TopicMaxPostNumber1765523400000 implements MigrationInterface {
  name = 'TopicMaxPostNumber1765523400000';

  /** Outside the runner's transaction: the topics' lock held for the ALTER alone (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE topics ADD COLUMN IF NOT EXISTS max_post_number integer NOT NULL DEFAULT 0`);
    await q.query(`
      UPDATE topics t SET max_post_number = m.highest
        FROM (SELECT (l.before->>'topicId')::uuid AS topic_id, max((p->>'number')::int) AS highest
                FROM moderation_log l,
                     jsonb_array_elements(CASE WHEN jsonb_typeof(l.before->'posts') = 'array' THEN l.before->'posts' ELSE '[]'::jsonb END) p
               WHERE l.action = 'posts.move' AND l.before ? 'topicId'
               GROUP BY 1) m
       WHERE t.id = m.topic_id AND m.highest > GREATEST(t.last_post_number, t.max_post_number)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE topics DROP COLUMN IF EXISTS max_post_number`);
  }
}
