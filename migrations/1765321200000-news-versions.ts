import { MigrationInterface, QueryRunner } from 'typeorm';
import { alterGivingWay } from './support/lock-wait';

/**
 * What orders a poll's live pushes for readers who may not see its counts (`LiveGateway.pushPoll`,
 * pushed-versions.ts' `newsVersion`): `news`, how many of its changes every reader hears of (an
 * edit, a closing, a reopening). A push with the counts carries `news` * 2^31 + `version`, one
 * without them `news` * 2^31: both grow in the order the changes commit, and the latter tells
 * nothing of the votes between two news. Raised in the change's own statement, under the poll's
 * row lock, as `version` is. Existing polls start at 0, so the versions their pushes with counts
 * carry go on from those they carried before (their `version`).
 *
 * A topic's timers the same way (`topic:timers`, `LiveGateway.pushTimers`): `timers_version`,
 * raised by every timer set, removed, fired, dropped or postponed, and `timers_news`, by those of
 * a status timer (CLOSE, OPEN, CLOSE_AFTER_LAST_POST), which every reader hears of: moderators get
 * the full version, other readers the news one, which tells nothing of the moderators' own timers
 * (UNPIN, DELETE, PUBLISH_TO_BOARD). Raised in one UPDATE of the topic's row with the change
 * (`TopicTimersRepository.raiseVersion`), under that row's lock.
 *
 * Columns with a constant default rewrite nothing, but each ALTER takes its table's ACCESS
 * EXCLUSIVE lock, which every statement on the table then queues behind. Outside a transaction
 * (`transaction = false`), each table's on its own (`alterGivingWay`): the polls' lock is not
 * held while the topics' is waited for, and a wait behind a long transaction on either gives
 * way after a moment (lock_timeout) and asks again, rather than hold every read of the table
 * queued behind it. Re-runnable after a failure between the two (IF NOT EXISTS).
 */
export class NewsVersions1765321200000 implements MigrationInterface {
  name = 'NewsVersions1765321200000';

  /** Outside the runner's transaction: each table's lock held for its ALTER alone (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE polls ADD COLUMN IF NOT EXISTS news integer NOT NULL DEFAULT 0`);
    await alterGivingWay(
      q,
      `ALTER TABLE topics ADD COLUMN IF NOT EXISTS timers_version integer NOT NULL DEFAULT 0, ADD COLUMN IF NOT EXISTS timers_news integer NOT NULL DEFAULT 0`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE topics DROP COLUMN IF EXISTS timers_version, DROP COLUMN IF EXISTS timers_news`);
    await alterGivingWay(q, `ALTER TABLE polls DROP COLUMN IF EXISTS news`);
  }
}
