import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError, ErrorCode } from '../../../core/src/errors';
import { Connection, decodeCursor, PageArgs, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { Viewer } from '../../../core/src/graphql/viewer';
import { UsersRepository } from '../../../identity/src/users/users.repository';
import { DRAFTS_CURSOR, validTimeIdCursor } from '../cursors';
import { DRAFTS_PACE, Pacing } from '../pacing';
import { PostsService } from '../posts/posts.service';
import { TopicsService } from '../topics/topics.service';
import { DraftModel, toDraftModel } from './draft.model';
import { DraftKey, DraftsRepository, DraftText, newTopicDraft, replyDraft } from './drafts.repository';
import { DraftTargetInput, SaveDraftInput } from './dto/draft.inputs';

/** How many drafts a member may keep: far more than anyone writes at once. One more is refused, never made room for. */
export const MAX_DRAFTS = 100;
/** What a member hears past DRAFTS_PACE, saving or deleting. */
const DRAFTS_PACED = 'Too many draft saves and deletions at once, try again shortly';
/** Drafts (and the sequences of posted or deleted ones) not saved for this long are pruned. */
export const DRAFT_RETENTION_DAYS = 180;

/**
 * Drafts (Discourse's): what a member is writing, a new topic or a reply, kept on the server
 * so a closed tab or another device does not lose it. One per member and target. Each save
 * names the sequence the client last saw; another (a tab that fell behind another one's
 * saves, or behind the draft's posting or deletion) is CONFLICT and writes nothing. A draft
 * is saved only where its member may post now (the checks createTopic and replyToTopic make
 * before the text is read), is private, stored as written, and goes when its topic or reply
 * is posted, in that transaction. What it is for is read through the usual access checks:
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
    await this.pacing.check(viewer, DRAFTS_PACE, DRAFTS_PACED);
    const row = await this.uow.run(async (tx) => {
      if (!(await this.users.lockMember(tx, userId))) throw AppError.unauthenticated();
      const here = await this.repo.lockedRow(tx, userId, key);
      const current = here?.body != null ? here.sequence : 0;
      if (input.sequence !== current) {
        throw new AppError(
          ErrorCode.CONFLICT,
          current === 0 ? 'This draft was posted or deleted meanwhile' : 'This draft was saved from elsewhere meanwhile: load it again',
          { extensions: { currentSequence: current } },
        );
      }
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

  /** Deletes the viewer's draft at a target, whatever they may read now: whether there was one. */
  async delete(viewer: Viewer, target: DraftTargetInput): Promise<boolean> {
    const userId = this.member(viewer);
    const key = targetKey(target);
    await this.pacing.check(viewer, DRAFTS_PACE, DRAFTS_PACED);
    return this.repo.discard(userId, key);
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
   * a topic in, a topic they may reply to (not closed or locked for them), a post of it they
   * may answer. Anything they may not read is NOT_FOUND, as for posting.
   */
  private async checked(viewer: Viewer, key: DraftKey, input: SaveDraftInput): Promise<DraftText> {
    if (key.column === 'board_id') {
      if (input.replyToPostId != null) throw AppError.badField('replyToPostId', 'only a reply’s draft answers a post');
      await this.topics.writableBoard(viewer, key.id);
      return { title: input.title ?? null, body: input.body, tags: input.tags ?? [], replyToPostId: null };
    }
    if (input.title != null) throw AppError.badField('title', 'only a new topic’s draft has a title');
    if (input.tags != null && input.tags.length > 0) throw AppError.badField('tags', 'only a new topic’s draft has tags');
    const { topic } = await this.posts.writableTopic(viewer, key.id, 'reply');
    if (input.replyToPostId != null) await this.posts.checkReplyTarget(viewer, topic, input.replyToPostId);
    return { title: null, body: input.body, tags: [], replyToPostId: input.replyToPostId ?? null };
  }

  private member(viewer: Viewer): string {
    if (!viewer.id) throw AppError.unauthenticated();
    return viewer.id;
  }
}

/** The stored key of a target: exactly one of its ids. */
function targetKey(target: DraftTargetInput): DraftKey {
  if ((target.boardId == null) === (target.topicId == null)) {
    throw AppError.badInput(['boardId', 'topicId'].map((f) => ({ field: `target.${f}`, message: 'give exactly one of boardId and topicId' })));
  }
  return target.boardId != null ? newTopicDraft(target.boardId) : replyDraft(target.topicId!);
}
