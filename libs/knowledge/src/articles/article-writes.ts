import { Injectable } from '@nestjs/common';
import { Tx } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { newId } from '../../../core/src/ids';
import { ContentWriter } from '../../../forum/src/content-writer';
import { ArticleEventAction, ArticleRow, ArticleState, RevisionRow } from './article.model';
import { firstFreeSlug, slugify } from './slug';

/** The facts every article event carries (outbox payloads). */
export interface ArticleRef {
  topicId: string;
  boardId: string;
  spaceId: string;
}

/** Who a publication's text mentions that the published one did not (all at a first publication; `ArticleWrites.mirror`). */
export interface PublishedMentions {
  mentionedUserIds: string[];
  mentionedGroupIds: string[];
}

/** An article's row as `ArticleWrites.lockInSpace` locks it, with where its topic is as held. */
export type HeldArticleRow = ArticleRow & { space_id: string; topic_board_id: string };

/**
 * Building blocks of the knowledge base's writes, each inside the caller's transaction:
 * locks, slugs, the history, and mirroring a revision into the topic's first post (what the
 * forum, search and live updates show).
 */
@Injectable()
export class ArticleWrites {
  constructor(private readonly writer: ContentWriter) {}

  /**
   * Serialises tree and slug changes within a board (a transaction-scoped advisory lock), so
   * two moves cannot build a cycle between them and two articles cannot take one slug.
   */
  async lockBoard(tx: Tx, boardId: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('parvis:knowledge-board:' || $1::text, 0))`, [boardId]);
  }

  /**
   * `lockBoard` for each of several boards, in one fixed order (ids sorted), so two writers
   * taking the same two boards never take them in crossing orders.
   */
  async lockBoards(tx: Tx, boardIds: readonly string[]): Promise<void> {
    for (const b of [...new Set(boardIds)].sort()) await this.lockBoard(tx, b);
  }

  /**
   * The parent an article is being put under, read again under a share lock once the board is
   * locked: archived, or moved to another board, since it was checked, it is refused as it
   * would have been then.
   */
  async assertParent(tx: Tx, parentId: string, boardId: string): Promise<void> {
    const parent = await tx.one<{ board_id: string; state: string }>(`SELECT board_id, state FROM articles WHERE topic_id = $1 FOR SHARE`, [parentId]);
    if (!parent || parent.board_id !== boardId) throw AppError.badField('parentId', 'must be an article of this board');
    if (parent.state === ArticleState.ARCHIVED) throw AppError.badField('parentId', 'is archived');
  }

  /** The article's row, locked for the rest of the transaction (its workflow state is decided under this lock). */
  async lock(tx: Tx, topicId: string): Promise<ArticleRow> {
    const row = await tx.one<ArticleRow>(`SELECT * FROM articles WHERE topic_id = $1 FOR UPDATE`, [topicId]);
    if (!row) throw AppError.notFound('Article not found');
    return row;
  }

  /**
   * `lock`, after holding the article's topic FOR KEY SHARE (topics before articles, the order
   * moveTopic takes them in: no deadlock), with the space and board the topic is in as held: a
   * move waits for the transaction, or committed first and is seen here. KEY SHARE, as polls hold
   * a topic: it waits for moves and nothing else (replies and edits update the topic's row too).
   */
  async lockInSpace(tx: Tx, topicId: string): Promise<HeldArticleRow> {
    const row = await tx.one<HeldArticleRow>(
      `SELECT a.*, t.space_id, t.board_id AS topic_board_id
         FROM (SELECT id, space_id, board_id FROM topics WHERE id = $1 FOR KEY SHARE) t JOIN articles a ON a.topic_id = t.id FOR UPDATE OF a`,
      [topicId],
    );
    if (!row) throw AppError.notFound('Article not found');
    return row;
  }

  /**
   * The facts a write's events carry, as `lockInSpace` held them: the board and space its topic is
   * in until the transaction commits (no move changes them meanwhile), not those read before it
   * waited for the lock, which a move committed meanwhile changed.
   */
  heldRef(row: HeldArticleRow): ArticleRef {
    return { topicId: row.topic_id, boardId: row.topic_board_id, spaceId: row.space_id };
  }

  /**
   * The article's first post, locked as moderation locks it (`PostsService.applyState`, which
   * then writes the topic's row), after the article's row (a revision mirrored into the post
   * takes it there too); answers its state, the topic's, both written under this lock.
   */
  async lockFirstPost(tx: Tx, topicId: string): Promise<string> {
    const post = await tx.one<{ state: string }>(`SELECT state FROM posts WHERE topic_id = $1 AND number = 1 FOR NO KEY UPDATE`, [topicId]);
    if (!post) throw AppError.notFound('Article not found');
    return post.state;
  }

  /** A slug for `title` that no article of the board holds or held. Call under lockBoard. */
  async freeSlug(tx: Tx, boardId: string, title: string): Promise<string> {
    const base = slugify(title);
    const taken = await tx.query<{ slug: string }>(`SELECT slug FROM article_slugs WHERE board_id = $1 AND (slug = $2 OR slug LIKE $2 || '-%')`, [boardId, base]);
    return firstFreeSlug(base, new Set(taken.map((r) => r.slug)));
  }

  /** Where a new article goes under `parentId` (null: the top level): last. Call under lockBoard. */
  async nextPosition(tx: Tx, boardId: string, parentId: string | null): Promise<number> {
    const [row] = await tx.query<{ position: number }>(
      `SELECT COALESCE(max(position) + 1, 0)::int AS position FROM articles WHERE board_id = $1 AND parent_id IS NOT DISTINCT FROM $2::uuid`,
      [boardId, parentId],
    );
    return row.position;
  }

  /**
   * Gives the article a new slug in a board, keeping its earlier ones (old links keep working)
   * unless `forgetEarlier`: slugs of a never-published draft were never public, and would tell
   * readers what the draft was once called. Call under lockBoard.
   */
  async reslug(tx: Tx, topicId: string, boardId: string, title: string, forgetEarlier = false): Promise<string> {
    if (forgetEarlier) await tx.query(`DELETE FROM article_slugs WHERE topic_id = $1`, [topicId]);
    const [state] = await tx.query<{ published: boolean }>(`SELECT first_published_at IS NOT NULL AS published FROM articles WHERE topic_id = $1`, [topicId]);
    // A slug the article already holds in this board (it comes back, or takes its old title
    // again) is its own: used again, not suffixed.
    const own = (await tx.query<{ slug: string }>(`SELECT slug FROM article_slugs WHERE board_id = $1 AND topic_id = $2`, [boardId, topicId])).map((r) => r.slug);
    const base = slugify(title);
    const slug = !state?.published
      ? provisionalSlug(topicId)
      : (own.find((s) => s === base) ?? own.find((s) => this.slugFits(s, title)) ?? (await this.freeSlug(tx, boardId, title)));
    // A slug it holds already stays as it is; any other is new (a clash would be a bug, and fails).
    if (!own.includes(slug)) await tx.query(`INSERT INTO article_slugs (board_id, slug, topic_id) VALUES ($1, $2, $3)`, [boardId, slug, topicId]);
    await tx.query(`UPDATE articles SET slug = $2 WHERE topic_id = $1`, [topicId, slug]);
    return slug;
  }

  /** Whether a slug still says what a title says (`faq` or `faq-2` for “FAQ”). */
  slugFits(slug: string, title: string): boolean {
    const base = slugify(title);
    return slug === base || (slug.startsWith(`${base}-`) && /^\d+$/.test(slug.slice(base.length + 1)));
  }

  /** Appends to the article's history; returns the entry's id (notifications are keyed on it). */
  async record(
    tx: Tx,
    topicId: string,
    actorId: string | null,
    action: ArticleEventAction,
    change: { from?: ArticleState | null; to?: ArticleState | null; revisionId?: string | null; note?: string | null } = {},
  ): Promise<string> {
    const id = newId();
    await tx.query(
      `INSERT INTO article_events (id, topic_id, actor_id, action, from_state, to_state, revision_id, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, topicId, actorId, action, change.from ?? null, change.to ?? null, change.revisionId ?? null, change.note ?? null],
    );
    return id;
  }

  /** A workflow transition, for the notifications handler (author, owners, watchers). */
  async emitTransition(
    tx: Tx,
    ref: ArticleRef,
    version: number,
    t: {
      eventId: string; from: ArticleState; to: ArticleState; actorId: string | null; revisionId?: string | null; reason?: string | null; firstPublication?: boolean;
      /** Who had submitted the article before this step (the step may clear it, before the notifications read it). */
      submittedBy?: string | null;
      /** A new revision saved while the article was in review sent it back to draft. */
      edited?: boolean;
      /** A publication's new mentions (a first publication's: all its text holds). */
      mentions?: PublishedMentions | null;
    },
  ): Promise<void> {
    await tx.emit({
      type: 'article.state_changed',
      aggregateType: 'article',
      aggregateId: ref.topicId,
      version,
      payload: { ...ref, ...t },
    });
  }

  /**
   * Makes the topic show a revision: its title and the first post's body. `publish` also
   * turns a never-published article visible (its topic and first post leave PENDING), keeps
   * the post's revision history and references (mentions, quotes) in step, and dates the edit.
   * Emits topic.updated and post.updated so search re-indexes and live rooms refresh.
   */
  async mirror(
    tx: Tx,
    viewer: Viewer,
    ref: ArticleRef,
    rev: Pick<Required<RevisionRow>, 'number' | 'title' | 'body_source' | 'body_html'>,
    publish: boolean,
    /** Who wrote the revision: its mentions are theirs, made with their rights, not the publisher's. */
    writer: Viewer = viewer,
  ): Promise<PublishedMentions | null> {
    const post = await tx.one<{ id: string; version: number; arrived: boolean }>(
      `UPDATE posts SET body_source = $2, body_html = $3,
              state = CASE WHEN $4 AND state = 'PENDING' THEN 'VISIBLE' ELSE state END,
              edited_at = CASE WHEN $4 AND state <> 'PENDING' THEN now() ELSE edited_at END,
              version = next_version(version), updated_at = now()
        WHERE topic_id = $1 AND number = 1 RETURNING id, version, ($4 AND (SELECT state FROM posts WHERE topic_id = $1 AND number = 1) = 'PENDING') AS arrived`,
      [ref.topicId, rev.body_source, rev.body_html, publish],
    );
    const topic = await tx.one<{ version: number }>(
      `UPDATE topics SET title = $2,
              state = CASE WHEN $3 AND state = 'PENDING' THEN 'VISIBLE' ELSE state END,
              last_activity_at = CASE WHEN $3 THEN now() ELSE last_activity_at END,
              version = next_version(version), updated_at = now()
        WHERE id = $1 RETURNING version`,
      [ref.topicId, rev.title, publish],
    );
    if (!post || !topic) throw AppError.notFound('Article not found');
    let mentions: PublishedMentions | null = null;
    if (publish) {
      await this.writer.recordRevision(tx, post.id, viewer.id!, rev.body_source, `article revision ${rev.number}`);
      // The first publication brings the post to readers: its versions before the one just
      // recorded (the draft's, from its creation) were never theirs to read, as for a topic
      // published to a board (`TopicsRepository.redateAsNew`). `Post.revisions` shows them to the
      // post's author and moderators only, and others the history from this version on
      // (`publishedHistory`).
      if (post.arrived) {
        await tx.query(
          `UPDATE post_revisions SET unpublished = true
            WHERE post_id = $1 AND NOT unpublished AND number < (SELECT max(number) FROM post_revisions WHERE post_id = $1)`,
          [post.id],
        );
      }
      const added = await this.writer.recordReferences(tx, writer, post.id, this.writer.render(rev.body_source), { replace: true });
      // A later publication is an edit readers see: who its text mentions that the published one
      // did not hear of it now, from its writer. The first publication's mentions are all news:
      // all it holds as published (read here, not when its event is handled, by which time a
      // later revision may have changed them). Both are told with the article's step
      // (KnowledgeNotifications: the step's event carries them, `publish`), which decides who
      // hears the mention and who the step: one notice per person for one publication.
      mentions = !post.arrived
        ? added
        : (await tx.one<PublishedMentions>(
            `SELECT ARRAY(SELECT user_id FROM post_mentions WHERE post_id = $1) AS "mentionedUserIds",
                    ARRAY(SELECT group_id FROM post_group_mentions WHERE post_id = $1) AS "mentionedGroupIds"`,
            [post.id],
          ))!;
    }
    await tx.emit({ type: 'topic.updated', aggregateType: 'topic', aggregateId: ref.topicId, version: topic.version, payload: { ...ref } });
    // `arrived`: the first publication brings the topic to readers, as a new topic does (live: topic:created).
    await tx.emit({ type: 'post.updated', aggregateType: 'post', aggregateId: post.id, version: post.version, payload: { postId: post.id, ...ref, editorId: viewer.id, arrived: post.arrived } });
    return mentions;
  }
}

/**
 * The slug of an article never published: derived from its id, so a title-based slug (and
 * its `-2` suffixes) is taken only at first publication and never tells readers that a draft
 * with such a title exists.
 */
export function provisionalSlug(topicId: string): string {
  return `draft-${topicId}`;
}
