import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { AccessService } from '../../access/src/access.service';
import { Queryable } from '../../core/src/database/unit-of-work';
import { Viewer } from '../../core/src/graphql/viewer';
import { BoardKinds } from './board-kinds';
import { ContentState } from './forum.enums';
import { PendingEditModel, PostModel, PostRevisionModel, PostRow, toPostModel } from './posts/post.model';
import { PostsRepository } from './posts/posts.repository';
import { TopicModel, TopicRow, toTopicModel } from './topics/topic.model';
import { TopicsRepository } from './topics/topics.repository';

/**
 * Per-request DataLoaders for the forum, memoized on the viewer. Each applies the
 * access policy while it maps rows, so what a loader returns is what the viewer may
 * see: null for anything missing or unreadable.
 */
@Injectable()
export class ForumLoaders {
  constructor(
    private readonly topics: TopicsRepository,
    private readonly posts: PostsRepository,
    private readonly access: AccessService,
    private readonly kinds: BoardKinds,
  ) {}

  /** A topic as this viewer sees it, or null. Hidden, pending and deleted topics only reach those allowed. */
  async topicFromRow(viewer: Viewer, row: TopicRow): Promise<TopicModel | null> {
    const rank = await this.access.rankOn(viewer, row.space_id);
    return this.access.contentView(viewer, rank, { state: row.state, authorId: row.author_id, deletedFrom: null }) === 'full' ? toTopicModel(row, rank) : null;
  }

  async postFromRow(viewer: Viewer, row: PostRow): Promise<PostModel | null> {
    const rank = await this.access.rankOn(viewer, row.space_id);
    const view = this.access.contentView(viewer, rank, { state: row.state, authorId: row.author_id, deletedFrom: row.deleted_from });
    return view === 'none' ? null : toPostModel(row, view, rank);
  }

  private topicRows(viewer: Viewer): DataLoader<string, TopicRow | null> {
    return viewer.memoize('loader:topicRows', () => new DataLoader<string, TopicRow | null>(async (ids) => {
      const byId = new Map((await this.topics.getByIds(ids)).map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }));
  }

  async topic(viewer: Viewer, id: string): Promise<TopicModel | null> {
    const row = await this.topicRows(viewer).load(id);
    return row ? this.topicFromRow(viewer, row) : null;
  }

  /** `topic` read on `m` (a caller's transaction), not through the request's loader on the pool. */
  async topicOn(m: Queryable, viewer: Viewer, id: string): Promise<TopicModel | null> {
    const [row] = await this.topics.getByIds([id], m);
    return row ? this.topicFromRow(viewer, row) : null;
  }

  private postRows(viewer: Viewer): DataLoader<string, PostRow | null> {
    return viewer.memoize('loader:postRows', () => new DataLoader<string, PostRow | null>(async (ids) => {
      const byId = new Map((await this.posts.getByIds(ids)).map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }));
  }

  /** A post as this viewer sees it (maybe a placeholder), or null; its topic must be visible too (`AccessService.postView`). */
  async post(viewer: Viewer, id: string): Promise<PostModel | null> {
    const row = await this.postRows(viewer).load(id);
    const topicRow = row ? await this.topicRows(viewer).load(row.topic_id) : null;
    return row && topicRow ? this.postInTopic(viewer, row, topicRow) : null;
  }

  /** `post` read on `m` (a caller's transaction), not through the request's loaders on the pool. */
  async postOn(m: Queryable, viewer: Viewer, id: string): Promise<PostModel | null> {
    const [row] = await this.posts.getByIds([id], m);
    const [topicRow] = row ? await this.topics.getByIds([row.topic_id], m) : [];
    return row && topicRow ? this.postInTopic(viewer, row, topicRow) : null;
  }

  /** The post `row` as `viewer` finds it in its topic (`topicRow`), or null (`AccessService.postView`). */
  private async postInTopic(viewer: Viewer, row: PostRow, topicRow: TopicRow): Promise<PostModel | null> {
    const rank = await this.access.rankOn(viewer, row.space_id);
    const view = this.access.postView(
      viewer,
      { rank: await this.access.rankOn(viewer, topicRow.space_id), state: topicRow.state, authorId: topicRow.author_id },
      { rank, state: row.state, authorId: row.author_id, deletedFrom: row.deleted_from },
    );
    return view === 'none' ? null : toPostModel(row, view, rank);
  }

  /**
   * `post()` for several viewers at once (the recipients of a notification): the post and
   * its topic are read once, through the first viewer's loaders, and judged for each.
   */
  async postForEach(viewers: readonly Viewer[], id: string, rowsVia: Viewer = viewers[0]): Promise<Array<PostModel | null>> {
    if (viewers.length === 0) return [];
    const row = await this.postRows(rowsVia).load(id);
    const topicRow = row ? await this.topicRows(rowsVia).load(row.topic_id) : null;
    if (!row || !topicRow) return viewers.map(() => null);
    return Promise.all(viewers.map((v) => this.postInTopic(v, row, topicRow)));
  }

  /** `topic()` for several viewers at once: the topic is read once and judged for each. */
  async topicForEach(viewers: readonly Viewer[], id: string, rowsVia: Viewer = viewers[0]): Promise<Array<TopicModel | null>> {
    if (viewers.length === 0) return [];
    const row = await this.topicRows(rowsVia).load(id);
    return row ? Promise.all(viewers.map((v) => this.topicFromRow(v, row))) : viewers.map(() => null);
  }

  /**
   * For news of a topic's removal, which is about its being deleted: whether each viewer reads
   * the topic as `topicForEach` judges it, a deleted topic judged as a hidden one (its author and
   * the space's moderators read it, while they may read the space).
   */
  async removedTopicSeenBy(viewers: readonly Viewer[], id: string, rowsVia: Viewer = viewers[0]): Promise<boolean[]> {
    if (viewers.length === 0) return [];
    const row = await this.topicRows(rowsVia).load(id);
    if (!row) return viewers.map(() => false);
    const judged = row.state === ContentState.DELETED ? { ...row, state: ContentState.HIDDEN } : row;
    return Promise.all(viewers.map(async (v) => (await this.topicFromRow(v, judged)) !== null));
  }

  async firstPost(viewer: Viewer, topicId: string): Promise<PostModel | null> {
    const loader = viewer.memoize('loader:firstPosts', () => new DataLoader<string, PostRow | null>(async (ids) => {
      const byTopic = new Map((await this.posts.firstPosts(ids)).map((r) => [r.topic_id, r]));
      return ids.map((id) => byTopic.get(id) ?? null);
    }));
    const row = await loader.load(topicId);
    return row ? this.postFromRow(viewer, row) : null;
  }

  async myReactions(viewer: Viewer, postId: string): Promise<string[]> {
    const userId = viewer.id;
    if (!userId) return [];
    const loader = viewer.memoize('loader:myReactions', () => new DataLoader<string, string[]>(async (ids) => {
      const mine = await this.posts.myReactions(userId, ids);
      return ids.map((id) => mine.get(id) ?? []);
    }));
    return loader.load(postId);
  }

  async unreadCount(viewer: Viewer, topicId: string): Promise<number | null> {
    return (await this.readingOf(viewer, topicId))?.unread ?? null;
  }

  /** Topic.lastReadNumber: read with unreadCount, in one statement for every topic a request asks either of. */
  async lastReadNumber(viewer: Viewer, topicId: string): Promise<number | null> {
    return (await this.readingOf(viewer, topicId))?.lastRead ?? null;
  }

  private async readingOf(viewer: Viewer, topicId: string): Promise<{ unread: number; lastRead: number | null } | null> {
    const userId = viewer.id;
    if (!userId) return null;
    const loader = viewer.memoize('loader:unread', () => new DataLoader<string, { unread: number; lastRead: number | null }>(async (ids) => {
      const counts = await this.topics.unreadCounts(userId, ids);
      return ids.map((id) => counts.get(id) ?? { unread: 0, lastRead: null });
    }));
    return loader.load(topicId);
  }

  /** Topic.participants: the topic's most frequent writers, `limit` of them, batched for every topic a request asks it of. */
  async participants(viewer: Viewer, topicId: string, limit: number): Promise<Array<{ user_id: string; posts: number }>> {
    const loader = viewer.memoize(`loader:participants:${limit}`, () => new DataLoader<string, Array<{ user_id: string; posts: number }>>(async (ids) => {
      const byTopic = await this.topics.participants(ids, limit);
      return ids.map((id) => byTopic.get(id) ?? []);
    }));
    return loader.load(topicId);
  }

  async revisions(viewer: Viewer, postId: string): Promise<PostRevisionModel[]> {
    const loader = viewer.memoize('loader:revisions', () => new DataLoader<string, PostRevisionModel[]>(async (ids) => {
      const byPost = await this.posts.revisions(ids);
      return ids.map((id) => byPost.get(id) ?? []);
    }));
    return loader.load(postId);
  }

  /** Held edits by post (PostsService.decidePendingEdit), for the fields that show them to authors and moderators. */
  async pendingEdit(viewer: Viewer, postId: string): Promise<PendingEditModel | null> {
    const loader = viewer.memoize('loader:pendingEdits', () => new DataLoader<string, PendingEditModel | null>(async (ids) => {
      const byPost = await this.posts.pendingEdits(ids);
      return ids.map((id) => byPost.get(id) ?? null);
    }));
    return loader.load(postId);
  }

  /**
   * Drops cached rows a mutation just changed, so fields resolved after it read fresh data; with
   * a topic, what the board kinds cached that shows it (`BoardKindBehaviour.forgotten`).
   */
  forget(viewer: Viewer, ids: { topicId?: string; postId?: string }): void {
    if (ids.topicId) {
      this.topicRows(viewer).clear(ids.topicId);
      viewer.peek<DataLoader<string, number>>('loader:unread')?.clear(ids.topicId);
      viewer.peek<DataLoader<string, PostRow | null>>('loader:firstPosts')?.clear(ids.topicId);
      this.kinds.forgotten(viewer, ids.topicId);
    }
    if (ids.postId) {
      viewer.peek<DataLoader<string, PendingEditModel | null>>('loader:pendingEdits')?.clear(ids.postId);
      this.postRows(viewer).clear(ids.postId);
      viewer.peek<DataLoader<string, string[]>>('loader:myReactions')?.clear(ids.postId);
      viewer.peek<DataLoader<string, PostRevisionModel[]>>('loader:revisions')?.clear(ids.postId);
    }
  }
}
