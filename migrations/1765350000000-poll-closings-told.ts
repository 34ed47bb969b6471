import { MigrationInterface, QueryRunner } from 'typeorm';
import { alterGivingWay } from './support/lock-wait';
import { buildIndex, dropIndex } from './1765083600000-search-terms-typo-keys';

/**
 * A poll closing by its time (`closes_at` passed) is news to every reader, as a closing by hand
 * is, but nothing wrote it: `closed` is read at query time, so a push read before the time and
 * one read after it carried one version and differed in `closed`. `closing_told_at` is the
 * closing time whose passing the poll's `news` already counts: the job that tells closings
 * (`PollsService.tellClosings`) raises `news` once for each `closes_at` that passed, and sets it.
 * `polls_closing_untold` holds the polls whose closing is still to be told, for that job's scan.
 *
 * Polls whose time passed before this migration are counted as told (`news` + 1, once, the
 * `WHERE` leaving out those counted already), so the job's first run does not announce every
 * poll that ever closed by itself; their pushes from now on carry the raised news, above those
 * they carried while open.
 *
 * Outside a transaction (`transaction = false`): the column added through `alterGivingWay` (a
 * catalog change, no rewrite, its ACCESS EXCLUSIVE lock waited for half a second at a time), the
 * index built CONCURRENTLY. Re-runnable after a failure anywhere (IF NOT EXISTS, the backfill's
 * `WHERE`, `buildIndex`).
 */
export class PollClosingsTold1765350000000 implements MigrationInterface {
  name = 'PollClosingsTold1765350000000';

  /** Outside the runner's transaction: CREATE INDEX CONCURRENTLY cannot run in one, and the ALTER's lock is held for it alone. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE polls ADD COLUMN IF NOT EXISTS closing_told_at timestamptz`);
    await q.query(
      `UPDATE polls SET news = news + 1, version = version + 1, closing_told_at = closes_at
        WHERE closed_at IS NULL AND closes_at <= now() AND closing_told_at IS DISTINCT FROM closes_at`,
    );
    await buildIndex(q, 'polls_closing_untold', `polls (closes_at) WHERE closed_at IS NULL AND closes_at IS NOT NULL AND closing_told_at IS DISTINCT FROM closes_at`);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropIndex(q, 'polls_closing_untold');
    await alterGivingWay(q, `ALTER TABLE polls DROP COLUMN IF EXISTS closing_told_at`);
  }
}
