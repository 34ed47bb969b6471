import { MigrationInterface, QueryRunner } from 'typeorm';
import { alterGivingWay } from './support/lock-wait';

/**
 * Versions of posts, topics and ideas drawn from one sequence, `content_versions`, so a version
 * says nothing of how many changes its thing went through. Counted per thing (`version + 1`), a
 * reader who saw a post at version 3 and saw it again at 8 after it was hidden, or held, learnt
 * that it changed four times meanwhile, though `publishedHistory` hides those revisions from
 * them; drawn from one sequence, the gap counts every such write of the site in between.
 *
 * Every write takes `next_version(version)`: the next value of the sequence, or one more than
 * the thing's own when that is higher, so a thing's versions only grow whatever the sequence
 * started at (rows written before this migration keep theirs, and the sequence soon passes them)
 * and whatever a node of an older release, counting `version + 1` during a rolling upgrade, wrote.
 * New rows take the sequence's next value too (a column default: a catalog change, no rewrite).
 * Nothing reads the tables here, nor rewrites them.
 *
 * The columns stay `integer` (a type change would rewrite the tables): the sequence is one too,
 * so some 2.1 billion writes of posts, topics and ideas in all end it, with "reached maximum
 * value of sequence" rather than a wrapped version; widening the columns is for then.
 *
 * Outside a transaction (`transaction = false`), each statement on its own: a default's change
 * takes its table's ACCESS EXCLUSIVE lock, and in one transaction the posts' lock was held while
 * the topics' was waited for (every read of posts queued behind any long transaction on topics),
 * and a reply (topics, then posts) could deadlock with it. Each ALTER goes through
 * `alterGivingWay` (the lock waited for half a second at a time). Re-runnable after a failure
 * midway: the sequence and the function are made only when missing, a default set again is the same.
 */
export class ContentVersions1765328400000 implements MigrationInterface {
  name = 'ContentVersions1765328400000';

  /** Outside the runner's transaction: each table's lock held for its ALTER alone (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE IF NOT EXISTS content_versions AS integer`);
    await q.query(`
      CREATE OR REPLACE FUNCTION next_version(current integer) RETURNS integer LANGUAGE sql VOLATILE
        AS $$ SELECT GREATEST(current + 1, nextval('content_versions')::integer) $$`);
    for (const table of ['posts', 'topics', 'ideas']) {
      await alterGivingWay(q, `ALTER TABLE ${table} ALTER COLUMN version SET DEFAULT nextval('content_versions')`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['posts', 'topics', 'ideas']) {
      await alterGivingWay(q, `ALTER TABLE ${table} ALTER COLUMN version SET DEFAULT 1`);
    }
    await q.query(`DROP FUNCTION IF EXISTS next_version(integer)`);
    await q.query(`DROP SEQUENCE IF EXISTS content_versions`);
  }
}
