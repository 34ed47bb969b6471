import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { AccessService } from '../../../access/src/access.service';
import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Connection, decodeCursor, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid } from '../../../core/src/ids';
import { UsersRepository } from '../../../identity/src/users/users.repository';
import { BOOKMARKS_CURSOR, validTimeIdCursor } from '../cursors';
import { ForumLoaders } from '../forum.loaders';
import { BOOKMARKS_PACE, Pacing } from '../pacing';
import { PostModel, toPostModel } from '../posts/post.model';
import { BookmarkEdgeFields } from './bookmark.model';
import { BookmarkReader, BookmarksRepository } from './bookmarks.repository';
import { BookmarkPostInput, BookmarksArgs, REMINDER_CLOCK_SLACK_MS, REMINDER_MAX_DAYS } from './dto/bookmark.inputs';
import { checkTimeAhead } from '../../../core/src/time-ahead';

/** How many bookmarks a member's list may hold: far more than anyone comes back to, and a bound on what it stores. */
export const MAX_BOOKMARKS = 2_000;

/** How often the worker looks for due reminders: a reminder fires within this of its time. */
export const REMINDER_CHECK_MS = 60_000;

/** Reminders fired per statement, and statements per run at most (the rest wait for the next run). */
const REMINDERS_PER_BATCH = 500;
const REMINDER_BATCHES_PER_RUN = 20;

const BOOKMARKED = 'loader:bookmarked';

/**
 * Bookmarks (Discourse's): a member keeps posts to come back to, each with an optional note,
 * and a topic through its first post. They are private: nobody else sees them, nobody is
 * told, so a member silenced may still keep them. A member bookmarks what they may read, and
 * their list shows only what they may read now: a bookmark of a post they lost (its space
 * restricted, the post hidden or deleted, its topic moved out of their reach) leaves the
 * list and its count, and comes back with access. The limit counts the list as its owner
 * sees it, so a bookmark they cannot see never keeps them from adding one.
 */
@Injectable()
export class BookmarksService {
  constructor(
    private readonly repo: BookmarksRepository,
    private readonly loaders: ForumLoaders,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly pacing: Pacing,
    private readonly users: UsersRepository,
  ) {}

  /**
   * Bookmarks a post the viewer may read, or changes the note or the reminder of their bookmark
   * of it (either left out stays; null removes it, and so does a blank note). At most
   * MAX_BOOKMARKS.
   */
  async bookmark(viewer: Viewer, input: BookmarkPostInput): Promise<PostModel> {
    const userId = this.member(viewer);
    this.checkReminder(input.remindAt);
    const post = await this.readablePost(viewer, input.postId);
    const reader = await this.reader(viewer, userId);
    const pace = await this.pacing.guard(viewer, BOOKMARKS_PACE, { lookFirst: false });
    await this.uow.run(async (tx) => {
      // Counted in the bookmark's transaction: one refused below (over the limit) spends nothing.
      await pace.count(tx);
      if (!(await this.users.lockMember(tx, userId))) throw AppError.unauthenticated();
      const existing = await this.repo.find(tx, userId, post.id);
      const note = input.note === undefined ? (existing?.note ?? null) : input.note || null;
      const remindAt = input.remindAt === undefined ? (existing?.remind_at ?? null) : input.remindAt;
      // Nothing changes: nothing is written.
      if (existing && existing.note === note && existing.remind_at?.getTime() === remindAt?.getTime()) return;
      if (!existing && (await this.repo.count(reader, tx)) >= MAX_BOOKMARKS) {
        throw AppError.badField('postId', `you have ${MAX_BOOKMARKS.toLocaleString('en')} bookmarks already: remove some first`);
      }
      await this.repo.save(tx, userId, post.id, note, remindAt);
    });
    this.bookmarkedLoader(viewer, userId).clear(post.id).prime(post.id, true);
    return post;
  }

  /** Removes the viewer's bookmark of a post they may read: whether there was one. */
  async remove(viewer: Viewer, postId: string): Promise<boolean> {
    const userId = this.member(viewer);
    if (!isUuid(postId)) throw AppError.badField('postId', 'must be a post id');
    const post = await this.readablePost(viewer, postId);
    // Nothing refuses it past this point: paced, then one statement.
    await (await this.pacing.guard(viewer, BOOKMARKS_PACE, { lookFirst: false })).count();
    const removed = await this.repo.remove(userId, post.id);
    this.bookmarkedLoader(viewer, userId).clear(post.id).prime(post.id, false);
    return removed;
  }

  /** The viewer's bookmarks they may read now, newest first (those with or without a reminder, if asked). */
  async list(viewer: Viewer, args: BookmarksArgs): Promise<Connection<PostModel, BookmarkEdgeFields>> {
    const userId = this.member(viewer);
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, BOOKMARKS_CURSOR, 2) as [string, string] | undefined;
    if (after && !validTimeIdCursor(after)) throw AppError.badField('after', 'is not a valid cursor');
    const reader = await this.reader(viewer, userId);
    const rows = await this.repo.page(reader, size + 1, after, args.withReminder);
    const ranks = await this.access.spaceRanks(viewer);
    // Every post listed is bookmarked: Post.bookmarked needs no look-up here.
    const loader = this.bookmarkedLoader(viewer, userId);
    for (const r of rows) loader.prime(r.id, true);
    return toConnection(
      rows,
      size,
      BOOKMARKS_CURSOR,
      (r) => [r.k_ts, r.id],
      (r) => toPostModel(r, 'full', ranks.get(r.space_id) ?? 0),
      () => this.repo.count(reader, undefined, args.withReminder),
      { edgeOf: (r) => ({ note: r.note, bookmarkedAt: r.bookmarked_at, remindAt: r.remind_at }) },
    );
  }

  /**
   * Fires every reminder due by `now` (the worker's `fire-bookmark-reminders` job, every
   * REMINDER_CHECK_MS; tests pass a later `now` rather than wait): one statement per batch of
   * REMINDERS_PER_BATCH claims, clears and announces them (`BookmarksRepository.fireDue`), and
   * the notifications handler turns each announcement into a BOOKMARK_REMINDER for its owner,
   * if they may read the post then. One they may not read is cleared all the same, untold: a
   * reminder is for a moment, and one kept would come back long after it, when access does.
   * Answers how many fired.
   */
  async fireReminders(now = new Date()): Promise<number> {
    let fired = 0;
    for (let i = 0; i < REMINDER_BATCHES_PER_RUN; i++) {
      const n = await this.repo.fireDue(now, REMINDERS_PER_BATCH);
      fired += n;
      if (n < REMINDERS_PER_BATCH) break;
    }
    return fired;
  }

  /** A reminder's time must be ahead (within REMINDER_CLOCK_SLACK_MS) and at most REMINDER_MAX_DAYS ahead: BAD_USER_INPUT otherwise. */
  private checkReminder(remindAt: Date | null | undefined): void {
    if (remindAt) checkTimeAhead(remindAt, 'remindAt', REMINDER_MAX_DAYS, REMINDER_CLOCK_SLACK_MS);
  }

  /**
   * Post.bookmarked: whether the post is in the viewer's list, so false for a placeholder (a
   * bookmark of a post the viewer no longer reads is not listed either). One statement for
   * every post a request asks it of.
   */
  async isBookmarked(viewer: Viewer, post: PostModel): Promise<boolean> {
    if (!viewer.id || post.view !== 'full') return false;
    return this.bookmarkedLoader(viewer, viewer.id).load(post.id);
  }

  private bookmarkedLoader(viewer: Viewer, userId: string): DataLoader<string, boolean> {
    return viewer.memoize(BOOKMARKED, () => new DataLoader<string, boolean>(async (ids) => {
      const bookmarked = await this.repo.bookmarkedAmong(userId, ids);
      return ids.map((id) => bookmarked.has(id));
    }));
  }

  private member(viewer: Viewer): string {
    if (!viewer.id) throw AppError.unauthenticated();
    return viewer.id;
  }

  /** A post the viewer reads in full (and its topic): anything else, missing or not, is NOT_FOUND. */
  private async readablePost(viewer: Viewer, postId: string): Promise<PostModel> {
    const post = isUuid(postId) ? await this.loaders.post(viewer, postId) : null;
    if (!post || post.view !== 'full') throw AppError.notFound('Post not found');
    return post;
  }

  private async reader(viewer: Viewer, userId: string): Promise<BookmarkReader> {
    return { viewerId: userId, readable: await this.access.readableSpaceIds(viewer), moderated: await this.access.moderatedSpaceIds(viewer) };
  }
}
