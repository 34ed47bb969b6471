import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { GqlContext } from '../../../core/src/graphql/context';
import { PostModel } from '../../../forum/src/posts/post.model';

/**
 * Why a post is hidden or waiting for approval, for its author and moderators, so the
 * author is told why. (Notifications carry it too once they exist.)
 */
@Resolver(() => PostModel)
export class ModerationNoteResolver {
  constructor(private readonly ds: DataSource) {}

  @ResolveField(() => String, { nullable: true, description: 'Why the post is hidden or held: for its author and moderators only.' })
  async moderationNote(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<string | null> {
    if (p.state !== 'HIDDEN' && p.state !== 'PENDING') return null;
    if (p.authorId !== ctx.viewer.id && p.viewerRank < LEVEL_RANK.MODERATE) return null;
    if (p.state === 'PENDING') {
      const [row] = await this.ds.query(
        `SELECT e.note FROM review_items r JOIN review_item_events e ON e.review_item_id = r.id
          WHERE r.kind = 'PENDING_CONTENT' AND ((r.target_type = 'POST' AND r.target_id = $1) OR (r.target_type = 'TOPIC' AND r.target_id = $2 AND $3 = 1))
            AND e.action = 'submitted' ORDER BY e.id DESC LIMIT 1`,
        [p.id, p.topicId, p.number],
      );
      return row?.note ? `Waiting for a moderator: ${row.note}` : 'Waiting for a moderator';
    }
    const [row] = await this.ds.query(
      `SELECT reason FROM moderation_log WHERE target_type = 'post' AND target_id = $1 AND action IN ('post.hide', 'post.auto_hide', 'review.approve')
        ORDER BY id DESC LIMIT 1`,
      [p.id],
    );
    return row?.reason ? `Hidden: ${row.reason}` : 'Hidden by a moderator';
  }
}
