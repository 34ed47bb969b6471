import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../../core/src/database/unit-of-work';

/** Articles reminded per run; the next run takes the rest. */
const BATCH = 500;

/**
 * Verification reminders (a scheduled job): each published, live article past its
 * verification date gets one `article.verification_due` event per due date, written in the
 * same transaction that records the reminder (`reminded_for`), so reruns and concurrent
 * workers (SKIP LOCKED) never remind twice. The notifications handler turns the event into a
 * notification for the owners, which the e-mail digest sends if it stays unread. The event
 * names the board and space the article's topic is in, as the knowledge writes' events do (an
 * article a move left behind in an older board is still its topic's).
 */
@Injectable()
export class VerificationReminders {
  constructor(private readonly uow: UnitOfWork) {}

  async remindDue(): Promise<number> {
    return this.uow.run(async (tx) => {
      const due = await tx.query<{ topic_id: string; board_id: string; space_id: string; verified_until: Date; version: number }>(
        `WITH due AS (
           SELECT a.topic_id FROM articles a JOIN topics t ON t.id = a.topic_id
            WHERE a.state <> 'ARCHIVED' AND a.published_revision_id IS NOT NULL AND a.verified_until <= now()
              AND a.reminded_for IS DISTINCT FROM a.verified_until AND t.state <> 'DELETED'
            ORDER BY a.verified_until LIMIT $1
            FOR UPDATE OF a SKIP LOCKED),
         marked AS (
           UPDATE articles a SET reminded_for = a.verified_until FROM due, topics t
            WHERE a.topic_id = due.topic_id AND t.id = a.topic_id
            RETURNING a.topic_id, t.board_id, t.space_id, a.verified_until, a.version)
         -- Emitted in the order they were taken, the longest due first (RETURNING keeps no order).
         SELECT * FROM marked ORDER BY verified_until, topic_id`,
        [BATCH],
      );
      for (const d of due) {
        await tx.emit({
          type: 'article.verification_due',
          aggregateType: 'article',
          aggregateId: d.topic_id,
          version: d.version,
          payload: { topicId: d.topic_id, boardId: d.board_id, spaceId: d.space_id, dueAt: new Date(d.verified_until).toISOString() },
        });
      }
      return due.length;
    });
  }
}
