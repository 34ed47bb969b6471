import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';
import { ContentState, TopicKind } from '../forum.enums';
import { UserModel } from '../../../identity/src/users/user.model';

/** A topic: a title, its first post and the replies under it. */
@ObjectType('Topic')
export class TopicModel {
  @Field(() => ID) id!: string;
  @Field(() => TopicKind) kind!: TopicKind;
  @Field() title!: string;
  @Field() createdAt!: Date;
  @Field() lastActivityAt!: Date;
  @Field(() => ContentState) state!: ContentState;
  @Field() pinned!: boolean;
  @Field({ description: 'Closed topics take no new replies.' }) closed!: boolean;
  @Field({ description: 'Locked topics take no replies and no edits (moderators excepted).' }) locked!: boolean;
  @Field(() => Int, { description: 'Slow mode: members (not moderators) may post here once every so many seconds; 0 when off or over.' })
  slowModeSeconds!: number;
  @Field(() => Date, { nullable: true, description: 'When slow mode ends by itself; null when it lasts until turned off, or is off.' })
  slowModeUntil!: Date | null;
  @Field({ description: 'Pinned above every feed by site-wide moderators (setGlobalPin), as an announcement; false once unpinned or past its end.' })
  pinnedGlobally!: boolean;
  @Field(() => Date, { nullable: true, description: 'When the site-wide pin ends by itself; null when it lasts until unpinned, or is off.' })
  pinnedGloballyUntil!: Date | null;
  @Field(() => [String]) tags!: string[];
  @Field(() => Int, { description: 'Visible replies (the first post not counted).' }) replyCount!: number;
  @Field(() => Int, { description: 'Reactions on the topic’s visible posts.' }) reactionCount!: number;
  @Field(() => Int, {
    description: 'Grows with every change of the topic its readers are shown (a reply held for approval raises it only once approved, and not at all when rejected): the version `topic:updated` and `topic:activity` pushes carry. Keep the highest you applied, from this answer or a push, and drop a push of a lower one (README, Order). Drawn from one sequence the site shares: by how much it grows says nothing.',
  })
  version!: number;

  boardId!: string;
  spaceId!: string;
  authorId!: string;
  acceptedPostId!: string | null;
  lastPostNumber!: number;
  /** The viewer's level in the topic's space, for field resolvers. */
  viewerRank!: number;
  /** Filled when the query that loaded the topic already fetched it (a board's topic list). */
  preloaded?: { author: UserModel };
}

export const TopicConnection = ConnectionType(TopicModel, 'Topic');

/** One of a topic's most frequent writers (Topic.participants). */
@ObjectType('TopicParticipant')
export class TopicParticipantModel {
  @Field(() => UserModel) user!: UserModel;
  @Field(() => Int, { description: 'Their visible posts in the topic, its first post included.' }) posts!: number;
}

export interface TopicRow {
  id: string;
  board_id: string;
  space_id: string;
  author_id: string;
  kind: TopicKind;
  title: string;
  state: ContentState;
  pinned: boolean;
  closed: boolean;
  locked: boolean;
  tags: string[];
  reply_count: number;
  reaction_count: number;
  last_post_number: number;
  last_activity_at: Date;
  accepted_post_id: string | null;
  version: number;
  created_at: Date;
  slow_mode_seconds: number;
  slow_mode_until: Date | null;
  pinned_globally_at: Date | null;
  pinned_globally_until: Date | null;
}

/** A topic's slow mode as it stands now: one whose end has passed is off. */
export function slowMode(r: Pick<TopicRow, 'slow_mode_seconds' | 'slow_mode_until'>, now = Date.now()): Pick<TopicModel, 'slowModeSeconds' | 'slowModeUntil'> {
  const over = r.slow_mode_until !== null && new Date(r.slow_mode_until).getTime() <= now;
  return over || r.slow_mode_seconds === 0 ? { slowModeSeconds: 0, slowModeUntil: null } : { slowModeSeconds: r.slow_mode_seconds, slowModeUntil: r.slow_mode_until };
}

/** A topic's site-wide pin as it stands now: one whose end has passed is off. */
export function globalPin(r: Pick<TopicRow, 'pinned_globally_at' | 'pinned_globally_until'>, now = Date.now()): Pick<TopicModel, 'pinnedGlobally' | 'pinnedGloballyUntil'> {
  const on = r.pinned_globally_at !== null && (r.pinned_globally_until === null || new Date(r.pinned_globally_until).getTime() > now);
  return on ? { pinnedGlobally: true, pinnedGloballyUntil: r.pinned_globally_until } : { pinnedGlobally: false, pinnedGloballyUntil: null };
}

export function toTopicModel(r: TopicRow, viewerRank: number): TopicModel {
  return Object.assign(new TopicModel(), {
    id: r.id,
    kind: r.kind,
    title: r.title,
    createdAt: r.created_at,
    lastActivityAt: r.last_activity_at,
    state: r.state,
    pinned: r.pinned,
    closed: r.closed,
    locked: r.locked,
    ...slowMode(r),
    ...globalPin(r),
    tags: r.tags,
    replyCount: r.reply_count,
    reactionCount: r.reaction_count,
    version: r.version,
    boardId: r.board_id,
    spaceId: r.space_id,
    authorId: r.author_id,
    acceptedPostId: r.accepted_post_id,
    lastPostNumber: r.last_post_number,
    viewerRank,
  });
}
