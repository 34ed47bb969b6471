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
 * `WHERE` leaving out those counted already: `tellPassedClosings`), so the job's first run does
 * not announce every poll that ever closed by itself; their pushes from now on carry the raised
 * news, above those they carried while open. In batches, each a statement committed on its own,
 * so no poll waits for the whole table's.
 *
 * Outside a transaction (`transaction = false`): the column added through `alterGivingWay` (a
 * catalog change, no rewrite, its ACCESS EXCLUSIVE lock waited for half a second at a time), the
 * index built CONCURRENTLY. Re-runnable after a failure anywhere (IF NOT EXISTS, the backfill's
 * `WHERE`, `buildIndex`).
 *
 * Down counts the closings passed and not told yet as told too (`tellPassedClosings`) before the
 * column goes: this release's pushes read each as one more news (`PollsRepository`'s `NEWS`), the
 * release before reads `news` as stored, and would push the poll again below what its readers
 * hold (its reopening, say, at the very version of its closed push).
 */
export class PollClosingsTold1765350000000 implements MigrationInterface {
  name = 'PollClosingsTold1765350000000';

  /** Outside the runner's transaction: CREATE INDEX CONCURRENTLY cannot run in one, and the ALTER's lock is held for it alone. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE polls ADD COLUMN IF NOT EXISTS closing_told_at timestamptz`);
    await tellPassedClosings(q);
    await buildIndex(q, 'polls_closing_untold', `polls (closes_at) WHERE closed_at IS NULL AND closes_at IS NOT NULL AND closing_told_at IS DISTINCT FROM closes_at`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Unless a down stopped short (outside a transaction) went past the column's drop already.
    const [column] = await q.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'polls' AND column_name = 'closing_told_at'`);
    if (column) await tellPassedClosings(q);
    await dropIndex(q, 'polls_closing_untold');
    await alterGivingWay(q, `ALTER TABLE polls DROP COLUMN IF EXISTS closing_told_at`);
  }
}

/**
 * Counts every poll's closing time passed and not told yet as told (`news` and `version` + 1,
 * `closing_told_at` set), `batch` polls a statement, in the order of their ids; each statement
 * commits on its own outside a transaction, so its row locks last as long as it does, and the
 * condition is checked again on a row a poll's change updated meanwhile. How many it told.
 */
export async function tellPassedClosings(q: QueryRunner, batch = 1000): Promise<number> {
  const passed = `closed_at IS NULL AND closes_at <= now() AND closing_told_at IS DISTINCT FROM closes_at`;
  let after = '00000000-0000-0000-0000-000000000000';
  let told = 0;
  for (;;) {
    const [done]: Array<{ last: string | null; told: number }> = await q.query(
      `WITH batch AS (SELECT id FROM polls WHERE id > $1 AND ${passed} ORDER BY id LIMIT $2),
            told AS (UPDATE polls SET news = news + 1, version = version + 1, closing_told_at = closes_at
                      WHERE id IN (SELECT id FROM batch) AND ${passed} RETURNING 1)
       SELECT (SELECT id FROM batch ORDER BY id DESC LIMIT 1)::text AS last, (SELECT count(*) FROM told)::int AS told`,
      [after, batch],
    );
    if (done.last === null) return told;
    after = done.last;
    told += done.told;
  }
}
