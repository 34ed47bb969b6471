import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError, ErrorCode } from '../../../core/src/errors';
import { Connection, decodeCursor, PageArgs, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { Viewer } from '../../../core/src/graphql/viewer';
import { UsersRepository } from '../../../identity/src/users/users.repository';
import { DRAFTS_CURSOR, validTimeIdCursor } from '../cursors';
import { DRAFTS_PACE, Pacing } from '../pacing';
import { PostsService } from '../posts/posts.service';
import { checkTopicKind, TopicsService } from '../topics/topics.service';
import { DraftModel, toDraftModel } from './draft.model';
import { DraftKey, DraftsRepository, DraftText, editDraft, newTopicDraft, replyDraft } from './drafts.repository';
import { DeleteDraftArgs, DraftTargetInput, SaveDraftInput } from './dto/draft.inputs';

/** How many drafts a member may keep: far more than anyone writes at once. One more is refused, never made room for. */
export const MAX_DRAFTS = 100;
/** Drafts (and the sequences of posted or deleted ones) not saved for this long are pruned. */
export const DRAFT_RETENTION_DAYS = 180;

/**
 * Drafts (Discourse's): what a member is writing, a new topic, a reply or an edit of a post,
 * kept on the server so a closed tab or another device does not lose it. One per member and
 * target. Each save names the sequence the client last saw; another (a tab that fell behind
 * another one's saves, or behind the draft's posting or deletion) is CONFLICT and writes
 * nothing. A draft is saved only where its member may post now (the checks createTopic,
 * replyToTopic and editPost make before the text is read), is private, stored as written, and
 * goes when its topic, reply or edit is posted, in that transaction. What it is for is read through the usual access checks:
 * a draft outlives its member's access, but not the target's secrets.
 */
@Injectable()
export class DraftsService {
  constructor(
    private readonly repo: DraftsRepository,
    private readonly topics: TopicsService,
    private readonly posts: PostsService,
    private readonly users: UsersRepository,
    private readonly uow: UnitOfWork,
    private readonly pacing: Pacing,
  ) {}

  async save(viewer: Viewer, input: SaveDraftInput): Promise<DraftModel> {
    const userId = this.member(viewer);
    const key = targetKey(input.target);
    const text = await this.checked(viewer, key, input);
    const pace = await this.pacing.guard(viewer, DRAFTS_PACE, { lookFirst: false });
    const row = await this.uow.run(async (tx) => {
      // Counted in the save's transaction: a save refused below (stale, over the limit) spends nothing.
      await pace.count(tx);
      if (!(await this.users.lockMember(tx, userId))) throw AppError.unauthenticated();
      const here = await this.repo.lockedRow(tx, userId, key);
      const current = here?.body != null ? here.sequence : 0;
      if (input.sequence !== current) throw staleDraft(current);
      if (current === 0 && (await this.repo.count(userId, tx)) >= MAX_DRAFTS) {
        throw AppError.badField('target', `you have ${MAX_DRAFTS} drafts already: post or delete some first`);
      }
      return this.repo.save(tx, userId, key, text);
    });
    return toDraftModel({ ...row, body: text.body });
  }

  /** The viewer's draft at a target, or null when they have none. */
  async get(viewer: Viewer, target: DraftTargetInput): Promise<DraftModel | null> {
    const row = await this.repo.live(this.member(viewer), targetKey(target));
    return row?.body != null ? toDraftModel({ ...row, body: row.body }) : null;
  }

  /**
   * Deletes the viewer's draft at a target, whatever they may read now: whether there was one.
   * Given the sequence the client saw, a draft saved since (or none at all) is CONFLICT.
   */
  async delete(viewer: Viewer, args: DeleteDraftArgs): Promise<boolean> {
    const userId = this.member(viewer);
    const key = targetKey(args.target);
    const pace = await this.pacing.guard(viewer, DRAFTS_PACE, { lookFirst: false });
    if (args.sequence == null) {
      // Nothing refuses it past this point: paced, then one statement.
      await pace.count();
      return this.repo.discard(userId, key);
    }
    return this.uow.run(async (tx) => {
      // Counted in the deletion's transaction: one refused as stale spends nothing.
      await pace.count(tx);
      const here = await this.repo.lockedRow(tx, userId, key);
      const current = here?.body != null ? here.sequence : 0;
      if (args.sequence !== current) throw staleDraft(current);
      return this.repo.discard(userId, key, tx);
    });
  }

  /** The viewer's drafts, last saved first. */
  async list(viewer: Viewer, args: PageArgs): Promise<Connection<DraftModel>> {
    const userId = this.member(viewer);
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, DRAFTS_CURSOR, 2) as [string, string] | undefined;
    if (after && !validTimeIdCursor(after)) throw AppError.badField('after', 'is not a valid cursor');
    const rows = await this.repo.page(userId, size + 1, after);
    return toConnection(
      rows,
      size,
      DRAFTS_CURSOR,
      (r) => [r.k_ts, r.id],
      (r) => toDraftModel({ ...r, body: r.body! }),
      () => this.repo.count(userId),
    );
  }

  /**
   * The text to store, once the target passed the posting checks: a board the member may start
   * a topic in (with a kind it takes), a topic they may reply to (not closed or locked for
   * them) and a post of it they may answer, a post they may edit now (editPost's checks). Anything
   * they may not read is NOT_FOUND, as for posting.
   */
  private async checked(viewer: Viewer, key: DraftKey, input: SaveDraftInput): Promise<DraftText> {
    const text = { title: null, body: input.body, tags: [], replyToPostId: null, kind: null, baseEditedAt: null };
    if (key.column !== 'topic_id' && input.replyToPostId != null) throw AppError.badField('replyToPostId', 'only a reply’s draft answers a post');
    if (key.column !== 'board_id' && input.kind != null) throw AppError.badField('kind', 'only a new topic’s draft has a kind');
    if (key.column === 'board_id') {
      const { behaviour } = await underTarget(this.topics.writableBoard(viewer, key.id));
      checkTopicKind(behaviour, input.kind);
      return { ...text, title: input.title ?? null, tags: input.tags ?? [], kind: input.kind ?? null };
    }
    if (key.column === 'post_id') {
      const { post } = await underTarget(this.posts.editablePost(viewer, key.id));
      if (post.number !== 1) headingsRefused(input, 'only a first post’s edit changes the topic’s');
      return { ...text, title: input.title ?? null, tags: input.tags ?? [], baseEditedAt: post.editedAt ?? post.createdAt };
    }
    headingsRefused(input, 'only a new topic’s draft or a first post’s edit has a');
    const { topic } = await underTarget(this.posts.writableTopic(viewer, key.id, 'reply'));
    if (input.replyToPostId != null) await this.posts.checkReplyTarget(viewer, topic, input.replyToPostId);
    return { ...text, replyToPostId: input.replyToPostId ?? null };
  }

  private member(viewer: Viewer): string {
    if (!viewer.id) throw AppError.unauthenticated();
    return viewer.id;
  }
}

/** A save or deletion naming another sequence than the draft's current one (0: none). */
function staleDraft(current: number): AppError {
  return new AppError(ErrorCode.CONFLICT, current === 0 ? 'This draft was posted or deleted meanwhile' : 'This draft was saved from elsewhere meanwhile: load it again', {
    extensions: { currentSequence: current },
  });
}

/** The stored key of a target: exactly one of its ids. */
function targetKey(target: DraftTargetInput): DraftKey {
  const keys = [target.boardId && newTopicDraft(target.boardId), target.topicId && replyDraft(target.topicId), target.postId && editDraft(target.postId)].filter((k) => !!k);
  if (keys.length !== 1) {
    throw AppError.badInput(['boardId', 'topicId', 'postId'].map((f) => ({ field: `target.${f}`, message: 'give exactly one of boardId, topicId and postId' })));
  }
  return keys[0];
}

/**
 * The posting checks' answer, with a refusal of the board, topic or post itself named as the
 * draft's input has it (`target.boardId`, not createTopic's `boardId`).
 */
async function underTarget<T>(check: Promise<T>): Promise<T> {
  try {
    return await check;
  } catch (e) {
    if (e instanceof AppError && e.details.fields) {
      for (const f of e.details.fields) if (['boardId', 'topicId', 'postId'].includes(f.field)) f.field = `target.${f.field}`;
    }
    throw e;
  }
}

/** Refuses a title or tags where the draft has none (`why` ends with the field's name). */
function headingsRefused(input: SaveDraftInput, why: string): void {
  if (input.title != null) throw AppError.badField('title', `${why} title`);
  if (input.tags != null && input.tags.length > 0) throw AppError.badField('tags', `${why} tags`);
}
