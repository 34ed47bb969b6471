import { createUnionType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';
import { GroupModel } from '../../../identity/src/groups/group.model';
import { UserModel } from '../../../identity/src/users/user.model';

export enum ArticleState {
  DRAFT = 'DRAFT',
  IN_REVIEW = 'IN_REVIEW',
  PUBLISHED = 'PUBLISHED',
  ARCHIVED = 'ARCHIVED',
}
registerEnumType(ArticleState, {
  name: 'ArticleState',
  description:
    'DRAFT: being written (a published article keeps its published revision for readers meanwhile). IN_REVIEW: submitted to the editors. ' +
    'PUBLISHED: the current revision is the one readers see. ARCHIVED: retired (still reachable by its link, out of the tree).',
});

export enum DiffLineKind {
  ADDED = 'ADDED',
  REMOVED = 'REMOVED',
  UNCHANGED = 'UNCHANGED',
}
registerEnumType(DiffLineKind, { name: 'DiffLineKind' });

export enum ArticleEventAction {
  CREATED = 'CREATED',
  PROMOTED = 'PROMOTED',
  EDITED = 'EDITED',
  RESTORED = 'RESTORED',
  SUBMITTED = 'SUBMITTED',
  CHANGES_REQUESTED = 'CHANGES_REQUESTED',
  PUBLISHED = 'PUBLISHED',
  ARCHIVED = 'ARCHIVED',
  UNARCHIVED = 'UNARCHIVED',
  MOVED = 'MOVED',
  VERIFIED = 'VERIFIED',
  SETTINGS_CHANGED = 'SETTINGS_CHANGED',
}
registerEnumType(ArticleEventAction, { name: 'ArticleEventAction' });

export enum CreditRole {
  ANSWER = 'ANSWER',
  QUESTION = 'QUESTION',
}
registerEnumType(CreditRole, { name: 'CreditRole', description: 'ANSWER: wrote the answer the article was promoted from. QUESTION: asked the question.' });

/** The extension row of an article (`articles`). */
export interface ArticleRow {
  topic_id: string;
  board_id: string;
  parent_id: string | null;
  position: number;
  slug: string;
  state: ArticleState;
  current_revision_id: string;
  published_revision_id: string | null;
  first_published_at: Date | null;
  published_at: Date | null;
  submitted_at: Date | null;
  submitted_by: string | null;
  changes_requested_reason: string | null;
  changes_requested_by: string | null;
  changes_requested_at: Date | null;
  owner_user_id: string | null;
  owner_group_id: string | null;
  verification_interval_days: number | null;
  verified_at: Date | null;
  verified_by: string | null;
  verified_until: Date | null;
  reminded_for: Date | null;
  helpful_yes: number;
  helpful_no: number;
  promoted_from_post_id: string | null;
  promoted_from_topic_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface RevisionRow {
  id: string;
  topic_id: string;
  number: number;
  title: string;
  summary: string;
  body_source?: string;
  body_html?: string;
  author_id: string;
  note: string | null;
  restored_from_id: string | null;
  published_at: Date | null;
  published_by: string | null;
  created_at: Date;
}

@ObjectType('ArticleRevision', { description: 'One version of an article. Readers see only revisions that were published.' })
export class ArticleRevisionModel {
  @Field(() => ID) id!: string;
  @Field(() => Int, { description: '1 for the first version, then one more for each.' }) number!: number;
  @Field() title!: string;
  @Field({ description: 'A short abstract shown in lists and search results.' }) summary!: string;
  /** A note on what changed (ArticleRevisionResolver.note). */
  note!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When this revision became the published one (null for drafts).' })
  publishedAt!: Date | null;
  topicId!: string;
  authorId!: string;
  publishedById!: string | null;
  restoredFromId!: string | null;
  /** Whether the viewer may read the markdown source (the article's team and editors). */
  sourceVisible!: boolean;
}

export function toRevisionModel(r: RevisionRow, sourceVisible: boolean): ArticleRevisionModel {
  return Object.assign(new ArticleRevisionModel(), {
    id: r.id,
    number: r.number,
    title: r.title,
    summary: r.summary,
    note: r.note,
    createdAt: r.created_at,
    publishedAt: r.published_at,
    topicId: r.topic_id,
    authorId: r.author_id,
    publishedById: r.published_by,
    restoredFromId: r.restored_from_id,
    sourceVisible,
  });
}

@ObjectType('ArticleHelpfulness', { description: '“Was this helpful?” votes, one per reader.' })
export class ArticleHelpfulnessModel {
  @Field(() => Int) yes!: number;
  @Field(() => Int) no!: number;
}

@ObjectType('ArticleRating', { description: 'A reader’s “was this helpful?” vote.' })
export class ArticleRatingModel {
  @Field() helpful!: boolean;
  @Field(() => String, { nullable: true }) comment!: string | null;
  @Field() updatedAt!: Date;
  userId!: string;
}
export const ArticleRatingConnection = ConnectionType(ArticleRatingModel, 'ArticleRating');

@ObjectType('ArticleChangesRequest', { description: 'Why an editor sent the article back to its authors.' })
export class ArticleChangesRequestModel {
  @Field() reason!: string;
  @Field() at!: Date;
  byId!: string | null;
}

@ObjectType('ArticleCredit', { description: 'Someone an article promoted from a thread credits.' })
export class ArticleCreditModel {
  @Field(() => CreditRole) role!: CreditRole;
  userId!: string;
}

@ObjectType('ArticleEvent', { description: 'One step of an article’s history.' })
export class ArticleEventModel {
  @Field(() => ArticleEventAction) action!: ArticleEventAction;
  @Field(() => ArticleState, { nullable: true }) fromState!: ArticleState | null;
  @Field(() => ArticleState, { nullable: true }) toState!: ArticleState | null;
  @Field(() => String, { nullable: true }) note!: string | null;
  @Field() at!: Date;
  actorId!: string | null;
  revisionId!: string | null;
}

export const ArticleOwner = createUnionType({
  name: 'ArticleOwner',
  description: 'Who keeps an article current: a user or a group.',
  types: () => [UserModel, GroupModel] as const,
  resolveType: (value) => (value instanceof GroupModel ? GroupModel : UserModel),
});

/**
 * How one viewer stands towards one article. Editors (MODERATE on the space) see and review
 * everything; the article's team (its author, its owner, the owner group's members) sees its
 * drafts and edits it; everyone else sees only what was published.
 */
export interface ArticleAccess {
  rank: number;
  editor: boolean;
  team: boolean;
  /** May write revisions (the team, still able to participate, or an editor). */
  canEdit: boolean;
}

/** `Topic.article`: the knowledge-base side of a topic in a KNOWLEDGE board. */
@ObjectType('ArticleDetails', { description: 'The knowledge-base side of an article (a topic of a KNOWLEDGE board).' })
export class ArticleModel {
  @Field(() => ArticleState, { description: 'Readers who are not on the article’s team see PUBLISHED while a new draft is being worked on.' })
  state!: ArticleState;
  @Field({ description: 'Stable, unique within the board; earlier slugs keep resolving (articleBySlug).' }) slug!: string;
  @Field(() => Int, { nullable: true, description: 'Place among its siblings (drafts included), for the article’s team and editors; null for readers, who get the order from `Board.articleTree`.' })
  position!: number | null;
  @Field({ description: 'The team has a newer revision than the published one (always false for readers).' }) hasUnpublishedChanges!: boolean;
  @Field(() => Date, { nullable: true }) firstPublishedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When the revision readers see was published.' }) publishedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When it was submitted for review (team and editors only).' }) submittedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'Verified (current) until then; null before the first publication.' }) verifiedUntil!: Date | null;
  @Field(() => Date, { nullable: true }) verifiedAt!: Date | null;
  @Field({ description: 'Published and within its verification date.' }) verified!: boolean;
  @Field(() => ArticleHelpfulnessModel) helpful!: ArticleHelpfulnessModel;

  topicId!: string;
  boardId!: string;
  spaceId!: string;
  authorId!: string;
  access!: ArticleAccess;
  row!: ArticleRow;
}
