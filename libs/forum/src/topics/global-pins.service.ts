import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessService } from '../../../access/src/access.service';
import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { ContentState } from '../forum.enums';
import { ForumLoaders } from '../forum.loaders';
import { GlobalPinInput } from './dto/topic.inputs';
import { globalPin, TopicModel, TopicRow, toTopicModel } from './topic.model';
import { TOPIC_COLUMNS } from './topics.repository';
import { TopicsService } from './topics.service';

/** Most announcements listed at once: more would no longer read as announcements. */
export const PINNED_TOPICS_MAX = 10;

/**
 * Site-wide pins (Discourse's "pin globally"): site-wide moderators put a visible topic above
 * every feed as an announcement, for some hours or until unpinned, and each member may dismiss
 * it for themself. `pinnedTopics` lists those the viewer reads, newest pin first; a pin made
 * again shows again to those who had dismissed it. Pinning is logged and announced as any
 * status change is.
 */
@Injectable()
export class GlobalPinsService {
  constructor(
    private readonly ds: DataSource,
    private readonly topics: TopicsService,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly loaders: ForumLoaders,
  ) {}

  async set(viewer: Viewer, input: GlobalPinInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const topic = await this.topics.get(viewer, input.topicId);
    if (!(await this.access.moderatesSiteWide(viewer))) throw AppError.forbidden('Only site-wide moderators pin topics above every feed');
    if (!input.pinned && input.durationHours != null) throw AppError.badField('durationHours', 'only when pinning');
    if (input.pinned && topic.state !== ContentState.VISIBLE) throw AppError.badField('topicId', 'only a visible topic can be pinned for everyone');
    const before = { pinnedGlobally: topic.pinnedGlobally, pinnedGloballyUntil: topic.pinnedGloballyUntil };
    const row = await this.uow.run(async (tx) => {
      const [updated] = await tx.query<TopicRow>(
        `UPDATE topics t SET pinned_globally_at = CASE WHEN $2 THEN now() END,
                pinned_globally_until = CASE WHEN $2 THEN now() + make_interval(hours => $3) END, version = next_version(version), updated_at = now()
          WHERE id = $1 AND ($2 OR (pinned_globally_at IS NOT NULL AND (pinned_globally_until IS NULL OR pinned_globally_until > now())))
          RETURNING ${TOPIC_COLUMNS}`,
        [topic.id, input.pinned, input.durationHours ?? null],
      );
      // Unpinning what is not pinned: nothing is written, announced or logged.
      if (!updated) return null;
      await this.topics.announceChange(tx, viewer.id, updated, { action: 'topic.global_pin', before, after: globalPin(updated) });
      return updated;
    });
    if (!row) return topic;
    this.loaders.forget(viewer, { topicId: topic.id });
    return toTopicModel(row, topic.viewerRank);
  }

  /** The announcements the viewer reads and has not dismissed, newest pin first. */
  async list(viewer: Viewer): Promise<TopicModel[]> {
    const spaceIds = await this.access.readableSpaceIds(viewer);
    if (spaceIds.length === 0) return [];
    const rows: TopicRow[] = await this.ds.query(
      `SELECT ${TOPIC_COLUMNS} FROM topics t
        WHERE t.pinned_globally_at IS NOT NULL AND (t.pinned_globally_until IS NULL OR t.pinned_globally_until > now())
          AND t.state = 'VISIBLE' AND t.space_id = ANY($1::uuid[])
          AND NOT EXISTS (SELECT 1 FROM topic_pin_dismissals d WHERE d.user_id = $2 AND d.topic_id = t.id AND d.dismissed_at >= t.pinned_globally_at)
        ORDER BY t.pinned_globally_at DESC, t.id DESC LIMIT $3`,
      [spaceIds, viewer.id, PINNED_TOPICS_MAX],
    );
    const ranks = await this.access.spaceRanks(viewer);
    return rows.map((r) => toTopicModel(r, ranks.get(r.space_id) ?? LEVEL_RANK.NONE));
  }

  /** "Unpin for me": the viewer no longer sees it among the announcements (until it is pinned again). Whether it was one. */
  async dismiss(viewer: Viewer, topicId: string): Promise<boolean> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const topic = await this.topics.get(viewer, topicId);
    if (!topic.pinnedGlobally) return false;
    // Their account held in the statement (as UsersRepository.holdMember holds it): a deletion
    // under way waits and takes the dismissal, or came first, and nothing is written.
    const rows: unknown[] = await this.ds.query(
      `WITH held AS (SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL FOR SHARE)
       INSERT INTO topic_pin_dismissals (user_id, topic_id) SELECT id, $2 FROM held
       ON CONFLICT (user_id, topic_id) DO UPDATE SET dismissed_at = now() RETURNING 1`,
      [viewer.id, topic.id],
    );
    if (rows.length === 0) throw AppError.unauthenticated();
    return true;
  }
}
