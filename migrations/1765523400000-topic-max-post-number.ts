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
 * 0 until a move lowers `last_post_number` (every topic before: the old end of a topic posts
 * were moved out of before is not known, and its numbers already given twice are not undone);
 * `last_post_number` is the highest then. So every way a topic is written (imports, tests'
 * fixtures) stays right without naming it. A constant default rewrites nothing, but the ALTER
 * takes the table's ACCESS EXCLUSIVE lock: it runs on its own (`transaction = false`) and gives
 * way while the table is busy (`alterGivingWay`). Re-runnable (IF NOT EXISTS).
 *
 * Undone, replies take `last_post_number + 1` again, numbers moved away included.
 */
export class TopicMaxPostNumber1765523400000 implements MigrationInterface {
  name = 'TopicMaxPostNumber1765523400000';

  /** Outside the runner's transaction: the topics' lock held for the ALTER alone (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE topics ADD COLUMN IF NOT EXISTS max_post_number integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE topics DROP COLUMN IF EXISTS max_post_number`);
  }
}
