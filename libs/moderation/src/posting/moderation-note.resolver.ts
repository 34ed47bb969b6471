import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../../access/src/access-level';
import type { GqlContext } from '../../../core/src/graphql/context';
import { Viewer } from '../../../core/src/graphql/viewer';
import { PostModel } from '../../../forum/src/posts/post.model';
import { noteForAuthor } from '../../../forum/src/posting-policy';

interface HeldPost {
  id: string;
  topicId: string;
  number: number;
}

/**
 * Why a post is hidden or waiting for approval, for its author and moderators, so the
 * author is told why. A moderator's topic page may hold many such posts: their notes are
 * read in one statement per kind for the whole page.
 */
@Resolver(() => PostModel)
export class ModerationNoteResolver {
  constructor(private readonly ds: DataSource) {}

  @ResolveField(() => String, { nullable: true, description: 'Why the post is hidden or held: for its author and moderators only.' })
  async moderationNote(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<string | null> {
    if (p.state !== 'HIDDEN' && p.state !== 'PENDING') return null;
    if (p.authorId !== ctx.viewer.id && p.viewerRank < LEVEL_RANK.MODERATE) return null;
    if (p.state === 'PENDING') {
      const note = await this.pendingNotes(ctx.viewer).load({ id: p.id, topicId: p.topicId, number: p.number });
      const shown = note && p.viewerRank < LEVEL_RANK.MODERATE ? noteForAuthor(note) : note;
      return shown ? `Waiting for a moderator: ${shown}` : 'Waiting for a moderator';
    }
    const reason = await this.hiddenReasons(ctx.viewer).load({ id: p.id, topicId: p.topicId, number: p.number });
    return reason ? `Hidden: ${reason}` : 'Hidden by a moderator';
  }

  /**
   * A per-request loader of one text per post: `value` is SQL over `k` (the post's `id`,
   * `topic_id` and `number`), read for a whole page in one statement.
   */
  private perPost(viewer: Viewer, key: string, value: string): DataLoader<HeldPost, string | null, string> {
    return viewer.memoize(
      key,
      () =>
        new DataLoader<HeldPost, string | null, string>(
          async (posts) => {
            const rows: Array<{ id: string; value: string | null }> = await this.ds.query(
              `SELECT k.id, (${value}) AS value FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS k(id, topic_id, number)`,
              [posts.map((p) => p.id), posts.map((p) => p.topicId), posts.map((p) => p.number)],
            );
            const values = new Map(rows.map((r) => [r.id, r.value]));
            return posts.map((p) => values.get(p.id) ?? null);
          },
          { cacheKeyFn: (p) => p.id },
        ),
    );
  }

  /** The note of the latest submission to the review queue of each post (or, for a first post, of its topic). */
  private pendingNotes(viewer: Viewer): DataLoader<HeldPost, string | null, string> {
    return this.perPost(
      viewer,
      'loader:pendingNotes',
      `SELECT e.note FROM review_items r JOIN review_item_events e ON e.review_item_id = r.id
        WHERE r.kind = 'PENDING_CONTENT'
          AND ((r.target_type = 'POST' AND r.target_id = k.id) OR (r.target_type = 'TOPIC' AND r.target_id = k.topic_id AND k.number = 1))
          AND e.action = 'submitted'
        ORDER BY e.id DESC LIMIT 1`,
    );
  }

  /**
   * The reason the author reads of the latest hiding of each post (or, for a first post, of its
   * topic) in the moderation log: a moderator's `moderatePost` reason, the auto-hide's, or the
   * `reason` given with an upheld review item; never a review's note, which is the moderators'.
   * An APPROVE counts only when it hid the post (the log's `outcome` HIDDEN, `ContentOutcome`, not
   * its wording) or found it hidden, left it so (NONE, `before.state` HIDDEN) and gave the author a
   * reason (`after.authorReason`, upholding the hide): one that left a hidden post as it was with
   * no reason leaves the reason of what hid it, and one that deleted the post (DELETED), or found
   * it deleted or shown, gave no reason for a hiding, so a post restored to hidden keeps the
   * reason of what hid it.
   */
  private hiddenReasons(viewer: Viewer): DataLoader<HeldPost, string | null, string> {
    return this.perPost(
      viewer,
      'loader:hiddenReasons',
      `SELECT CASE WHEN l.action = 'review.approve' THEN l.after->>'authorReason' ELSE l.reason END
         FROM moderation_log l
        WHERE ((l.target_type = 'post' AND l.target_id = k.id) OR (l.target_type = 'topic' AND l.target_id = k.topic_id AND k.number = 1))
          AND (l.action IN ('post.hide', 'post.auto_hide')
               OR (l.action = 'review.approve' AND (l.outcome = 'HIDDEN' OR (l.outcome = 'NONE' AND l.before->>'state' = 'HIDDEN' AND l.after ? 'authorReason'))))
        ORDER BY l.id DESC LIMIT 1`,
    );
  }
}
