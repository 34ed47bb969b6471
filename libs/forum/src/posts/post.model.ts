import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { ContentView } from '../../../access/src/access-level';
import { UserModel } from '../../../identity/src/users/user.model';
import { ConnectionType } from '../../../core/src/graphql/pagination';
import { ContentState, REACTION_KINDS, ReactionKind } from '../forum.enums';
import type { TopicModel } from '../topics/topic.model';

@ObjectType('ReactionCount')
export class ReactionCountModel {
  @Field(() => ReactionKind) kind!: ReactionKind;
  @Field(() => Int) count!: number;
}

@ObjectType('PostRevision', { description: 'One version of a post: who wrote it, when and why.' })
export class PostRevisionModel {
  @Field(() => Int) number!: number;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'The markdown of this version: for the post’s author and moderators only (null otherwise).' })
  bodySource!: string | null;
  @Field(() => String, { nullable: true, description: 'A first post’s versions: the topic’s title with this version. For the author and moderators only, as bodySource.' })
  title!: string | null;
  @Field(() => [String], { nullable: true, description: 'A first post’s versions: the topic’s tags with this version. For the author and moderators only, as bodySource.' })
  tags!: string[] | null;
  @Field() createdAt!: Date;
  editorId!: string;
  /** Replaced before its topic was published to a board: for the post's author and moderators only (`publishedHistory`). */
  unpublished!: boolean;
}

/**
 * A post's history as readers who are neither its author nor a moderator see it: without the
 * versions it went through before its topic was published (`unpublished`), which they could not
 * read, so it starts with the text it was published with, as version 1, as the post's own first
 * version reads: dated as the post is, by its author, without the reason of the private edit
 * that made it. That edit's editor (a staff member's, a wiki editor's) is no more theirs to learn
 * than the edit itself: the editor a first version names is always the post's author, so
 * nothing tells them it was edited before they could read it. The versions after it follow,
 * numbered on, each with its editor. A post with no such versions shows its whole history.
 */
export function publishedHistory(revisions: PostRevisionModel[], post: Pick<PostModel, 'createdAt' | 'authorId'>): PostRevisionModel[] {
  if (!revisions.some((r) => r.unpublished)) return revisions;
  return revisions
    .filter((r) => !r.unpublished)
    .map((r, i) => Object.assign(new PostRevisionModel(), r, { number: i + 1 }, i === 0 ? { createdAt: post.createdAt, reason: null, editorId: post.authorId } : {}));
}

@ObjectType('PendingEdit', {
  description:
    'An author’s edit of a visible post, held for a moderator’s approval (pre-moderation or an automod hold). Everybody else reads the post as it was until a moderator approves it (it becomes a revision) or rejects it.',
})
export class PendingEditModel {
  @Field({ description: 'The markdown the author proposes.' }) bodySource!: string;
  @Field({ description: 'How it will read (rendered and sanitized, with censored words masked).' }) bodyHtml!: string;
  @Field(() => String, { nullable: true, description: 'The topic’s new title (an edit of its first post).' }) title!: string | null;
  @Field(() => [String], { nullable: true, description: 'The topic’s new tags (an edit of its first post).' }) tags!: string[] | null;
  @Field(() => String, { nullable: true, description: 'The author’s reason for the edit.' }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'Why it waits for a moderator.' }) note!: string | null;
  @Field(() => Int, { description: 'Raised each time its author proposes an edit of the post (a replacement, or one after an edit decided), so a version names one edit for good; moderatePost names the version it approves or rejects (pendingEditVersion).' }) version!: number;
  @Field({ description: 'When this version was proposed.' }) createdAt!: Date;
}

const PLACEHOLDERS: Partial<Record<ContentState, string>> = {
  DELETED: 'This post was deleted.',
  HIDDEN: 'This post was hidden by a moderator.',
};

/** What a reader shown a post of this state as a placeholder reads in its place (`Post.placeholder`, and its live pushes). */
export function placeholderText(state: ContentState): string {
  return PLACEHOLDERS[state] ?? 'This post is not available.';
}

/** The placeholder `post:removed` carries to the room of the topic a post was moved out of (`movePosts`). */
export const MOVED_PLACEHOLDER = 'This post was moved to another topic.';

/** A numbered post in a topic (number 1 is the topic's first post). */
@ObjectType('Post')
export class PostModel {
  @Field(() => ID) id!: string;
  @Field(() => Int) number!: number;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When its text was last edited; null if never, and for a placeholder (as its live push: a reader who may not read the post learns nothing of its edits).' })
  editedAt!: Date | null;
  @Field(() => ContentState) state!: ContentState;
  @Field(() => String, { nullable: true, description: 'Sanitized HTML; null when the viewer only gets a placeholder.' })
  bodyHtml!: string | null;
  @Field(() => String, { nullable: true, description: 'Why the body is withheld (deleted or hidden), when it is.' })
  placeholder!: string | null;
  // Held on the post row, at most one per reaction kind: one item to the complexity limit.
  @Field(() => [ReactionCountModel], { description: 'Counts per kind, most frequent first.', complexity: 1 })
  reactions!: ReactionCountModel[];
  @Field({ description: 'A wiki post (setPostWiki): members from trust level 1 who may post in its topic edit it as its author does. False for a placeholder.' })
  wiki!: boolean;
  @Field(() => Int, {
    nullable: true,
    description: 'Grows with every change of the post (its text, state, reactions, place): the version `post:created`, `post:updated` and `reaction:updated` pushes carry. Keep the highest you applied, from this answer or a push, and drop a push of a lower one (README, Order). Drawn from one sequence the site shares: by how much it grows says nothing. For a placeholder, the version the change that made it one left it with (its hiding or deletion, which its `post:removed` carried; a restore back to hidden, which pushes nothing to its readers; a move of it since, which its `post:created` carried), which edits of the removed post do not move; null, or an earlier removal’s, if a node of an older release removed it during an upgrade.',
  })
  version!: number | null;

  topicId!: string;
  spaceId!: string;
  authorId!: string;
  replyToPostId!: string | null;
  /** Undefined when the statement that loaded the post left the source out (the topic page). */
  bodySourceText!: string | undefined;
  view!: ContentView;
  viewerRank!: number;
  /** Whether the post carries a poll (`posts.has_poll`); undefined when the statement that loaded it left it out. */
  hasPoll!: boolean | undefined;
  /** Filled when the query that loaded the post already fetched them (the topic page). */
  preloaded?: { author: UserModel; myReactions: string[] };
  /**
   * The topic as the mutation returning this post left it, when the viewer may no longer
   * open it: the author who deleted their topic's first post learns the topic is DELETED.
   */
  topicAsLeft?: TopicModel;
}

export const PostConnection = ConnectionType(PostModel, 'Post');

export interface PostRow {
  id: string;
  topic_id: string;
  space_id: string;
  number: number;
  author_id: string;
  /** What a deleted post was before (PENDING: removed before anyone but its author saw it). */
  deleted_from?: ContentState | null;
  reply_to_post_id: string | null;
  body_source: string;
  body_html: string;
  state: ContentState;
  reaction_counts: Record<string, number>;
  reaction_total: number;
  edited_at: Date | null;
  version: number;
  /**
   * The version of the statement that last made it a placeholder (hid, deleted, restored it
   * hidden, or moved it hidden or deleted): what `Post.version` answers for its placeholder. Null
   * while it is visible or held, unless a node of an older release made it so (that keeps the value). Posts removed before migration 1765538800000 got one value drawn
   * by it; one a node of an older release removes during an upgrade keeps what it had (null, or an
   * earlier removal's, below the version its `post:removed` carried) until this release removes or
   * restores it again.
   */
  removed_version: number | null;
  created_at: Date;
  /** Left out by statements that never serve an edit check (read as false). */
  wiki?: boolean;
  /** Whether a poll is in the post (kept by the poll's writes). */
  has_poll?: boolean;
}

/**
 * A post as a reader shown it as a placeholder (`ContentView` 'placeholder') gets it, the one
 * builder of both a page's (`toPostModel`: `Topic.posts`, `post(id)`) and a live push's
 * (`placeholderPush` in the live gateway), so the two cannot differ: its id, number, state,
 * date, placeholder text (`placeholderText`) and version, the removal's (`removed_version`, which
 * its `post:removed` carried: not the post's, which an edit of the hidden post raises), and
 * blanked, the fields that would tell of what was removed: its body, whether and when it was
 * edited, the post it answers, whether it is a wiki. Its author is each's to add (a field
 * resolver on a page, the pushed row's on a push). With the removal's version a reader shown it
 * by a page drops a push read before the removal, from any API process (README, *Order*).
 */
export function postPlaceholder(r: Pick<PostRow, 'id' | 'number' | 'state' | 'created_at' | 'removed_version'>) {
  return {
    id: r.id,
    number: r.number,
    state: r.state,
    createdAt: r.created_at,
    placeholder: placeholderText(r.state),
    bodyHtml: null,
    editedAt: null,
    replyToPostId: null,
    wiki: false,
    version: r.removed_version ?? null,
  } as const;
}

export function toPostModel(r: Omit<PostRow, 'body_source'> & { body_source?: string }, view: ContentView, viewerRank: number): PostModel {
  // A placeholder's model does not carry the source either (as if the statement had left it out):
  // its readers' paths check the view first (Post.bodySource, editing, promotion), and one that
  // did not would hand out what was removed.
  const own = { topicId: r.topic_id, spaceId: r.space_id, authorId: r.author_id, bodySourceText: view === 'full' ? r.body_source : undefined, hasPoll: r.has_poll, view, viewerRank };
  // A placeholder shows what its live push sends (`postPlaceholder`) and no more: not whether or when it was edited, nor its
  // reactions; its version is the removal's, not the post's.
  if (view !== 'full') return Object.assign(new PostModel(), own, postPlaceholder(r), { reactions: [] });
  const reactions = REACTION_KINDS.filter((k) => (r.reaction_counts[k] ?? 0) > 0)
    .map((kind) => Object.assign(new ReactionCountModel(), { kind, count: r.reaction_counts[kind] }))
    .sort((a, b) => b.count - a.count);
  return Object.assign(new PostModel(), own, {
    id: r.id,
    number: r.number,
    createdAt: r.created_at,
    editedAt: r.edited_at,
    state: r.state,
    bodyHtml: r.body_html,
    placeholder: null,
    reactions,
    replyToPostId: r.reply_to_post_id,
    wiki: r.wiki === true,
    version: r.version,
  });
}
