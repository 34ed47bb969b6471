import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxEvent, OutboxHandler } from '../../core/src/outbox/outbox';
import { NotificationDraft, NotificationsHandler } from '../../notifications/src/notifications.handler';
import { effectiveWatchesSql } from '../../notifications/src/watch-levels';

/**
 * Closes the loop: when an idea changes status or is merged, everyone who asked for it
 * hears — its voters (including voters of ideas merged into it), its author and its
 * watchers — except whoever made the change and those who muted the idea. Delivery goes
 * through the notifications module, so it is idempotent, access-checked, pushed live and
 * e-mailed per each user's preferences.
 */
@Injectable()
export class IdeasHandler implements OutboxHandler {
  readonly name = 'ideas';

  constructor(
    private readonly ds: DataSource,
    private readonly notifications: NotificationsHandler,
  ) {}

  handles(type: string): boolean {
    return type === 'idea.status_changed' || type === 'idea.merged';
  }

  async handle(events: OutboxEvent[]): Promise<void> {
    for (const e of events) {
      const p = e.payload as Record<string, string>;
      if (e.type === 'idea.status_changed') {
        const drafts = await this.audience(p.topicId, p.actorId, (userId, postId) => ({
          userId,
          kind: 'IDEA_STATUS',
          topicId: p.topicId,
          postId,
          actorId: p.actorId,
          data: { from: p.from, to: p.to },
          source: `idea-status:${p.changeId}`,
        }));
        await this.notifications.deliver(drafts);
      } else {
        // Followers of the duplicate learn where the discussion continues. The target's first post
        // goes with it, so delivery checks that each recipient can read the target (it may be hidden).
        const drafts = await this.audience(p.topicId, p.actorId, (userId, targetPostId) => ({
          userId,
          kind: 'IDEA_MERGED',
          topicId: p.targetId,
          postId: targetPostId,
          actorId: p.actorId,
          data: { sourceId: p.topicId, targetId: p.targetId },
          source: `idea-merged:${p.changeId}`,
        }), p.targetId);
        await this.notifications.deliver(drafts);
      }
    }
  }

  /**
   * Voters of the idea's group, its author, its watchers (of the idea, else of its board) and
   * those who track the idea itself, once each, minus the actor and those who muted it (or its board); each draft gets the first post of `postTopicId` (the idea itself by default).
   */
  private async audience(
    topicId: string,
    actorId: string | undefined,
    draft: (userId: string, firstPostId: string | null) => NotificationDraft,
    postTopicId = topicId,
  ): Promise<NotificationDraft[]> {
    const rows: Array<{ user_id: string; first_post_id: string | null }> = await this.ds.query(
      `WITH RECURSIVE grp(member) AS (
         -- The ideas whose votes count here: visible merged ones only, as its vote count has them.
         SELECT $1::uuid UNION ALL SELECT i.topic_id FROM grp g JOIN ideas i ON i.merged_into = g.member JOIN topics mt ON mt.id = i.topic_id AND mt.state = 'VISIBLE'
       ), people AS (
         SELECT v.user_id FROM idea_votes v WHERE v.topic_id IN (SELECT member FROM grp)
         UNION SELECT author_id FROM topics WHERE id = $1
         UNION SELECT user_id FROM watches WHERE level = 'WATCHING'
         -- Tracking the idea itself (its repliers do) is taking part in it; tracking its board
         -- is unread counts only, as everywhere else.
         UNION SELECT user_id FROM topic_watches WHERE topic_id = $1 AND level = 'TRACKING'
       ), watches AS (${effectiveWatchesSql('$1::uuid')})
       SELECT p.user_id, (SELECT id FROM posts WHERE topic_id = $3 AND number = 1) AS first_post_id
         FROM people p
        WHERE p.user_id IS DISTINCT FROM $2::uuid
          AND NOT EXISTS (SELECT 1 FROM watches m WHERE m.user_id = p.user_id AND m.level = 'MUTED')
        ORDER BY p.user_id`,
      [topicId, actorId ?? null, postTopicId],
    );
    return rows.map((r) => draft(r.user_id, r.first_post_id));
  }
}
