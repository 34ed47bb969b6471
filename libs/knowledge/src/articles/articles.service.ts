import { Injectable } from '@nestjs/common';
import { AccessLevel, LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError, ErrorCode } from '../../../core/src/errors';
import { Connection, decodeCursor, PageArgs, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { nestedCount, nestedPage } from '../../../core/src/graphql/nested-pages';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid, newId } from '../../../core/src/ids';
import { validKeyValue } from '../../../forum/src/cursors';
import { htmlToLines } from '../../../content/src/renderer';
import { ContentWriter } from '../../../forum/src/content-writer';
import { ForumLoaders } from '../../../forum/src/forum.loaders';
import { PostingPolicy } from '../../../forum/src/posting-policy';
import { EDITS_PACE, Pacing } from '../../../forum/src/pacing';
import { TopicModel, TopicRow } from '../../../forum/src/topics/topic.model';
import { SessionsService } from '../../../identity/src/sessions/sessions.service';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { KnowledgeSettings, KnowledgeSettingsService } from '../knowledge-settings';
import { ArticleAccess, ArticleEventAction, ArticleModel, ArticleRatingModel, ArticleRow, ArticleState, RevisionRow } from './article.model';
import { ArticleLoaders, ownsArticle } from './article.loaders';
import { ArticleRef, ArticleWrites, PublishedMentions } from './article-writes';
import { ArticlesRepository } from './articles.repository';
import { ArticleChangesInput, ArticleSettingsInput, MoveArticleInput, RateArticleInput, SpaceArticlesArgs, UpdateArticleInput } from './dto/article.inputs';
import { DiffLine, lineDiff } from './line-diff';
import { WatchedWordsRule } from '../../../moderation/src/automod/watched-words';
import { ReviewItems } from '../../../moderation/src/reports/review-items';
import { ReportTargetType } from '../../../moderation/src/reports/review.model';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';

/** "Not helpful" comments reach the editors' queue and their notifications: a reader sends at most this many an hour. */
export const FEEDBACK_PER_HOUR: RateRule = { bucket: 'article_feedback', limit: 10, windowSeconds: 3600 };

/** An article as the viewer sees it, with how they stand towards it. */
export interface ArticleContext {
  topic: TopicModel;
  row: ArticleRow;
  access: ArticleAccess;
}

type FullRevision = Required<RevisionRow>;

const readerText = (rev: FullRevision) => htmlToLines(rev.body_html).join('\n');

export interface ArticleDiff {
  from: FullRevision;
  to: FullRevision;
  titleChanged: boolean;
  summaryChanged: boolean;
  lines: DiffLine[];
  /** Whether the viewer may read the revisions' markdown (the article's team). */
  sourceVisible: boolean;
}

/** How a SETTINGS_CHANGED step's note joins its parts, and names an owner group (see `settingsNoteAsSeen`). */
const SETTINGS_NOTE_SEPARATOR = '; ';
const ownerGroupNote = (groupId: string) => `owner: group ${groupId}`;
const OWNER_GROUP_NOTE = /^owner: group ([0-9a-f-]{36})$/;

/**
 * A SETTINGS_CHANGED step's note as a viewer may read it: without the owner group it names when
 * they do not see that group (`seesGroup`), as `Article.owner` is null to them.
 */
export async function settingsNoteAsSeen(note: string, seesGroup: (id: string) => Promise<boolean>): Promise<string | null> {
  const parts = await Promise.all(
    note.split(SETTINGS_NOTE_SEPARATOR).map(async (part) => {
      const group = OWNER_GROUP_NOTE.exec(part)?.[1];
      return group && !(await seesGroup(group)) ? null : part;
    }),
  );
  const shown = parts.filter((p): p is string => p !== null);
  return shown.length ? shown.join(SETTINGS_NOTE_SEPARATOR) : null;
}

/** A MOVED step's note: where the article went (see `movedNoteAsSeen`). */
const movedNote = (parentId: string | null, position: number) => (parentId ? `under ${parentId}, position ${position}` : `top level, position ${position}`);
const MOVED_UNDER_NOTE = /^under ([0-9a-f-]{36}), (position \d+)$/;

/**
 * A MOVED step's note as a viewer may read it: without the parent it names when they may not
 * see that article (another member's draft, to an author on the team), as the tree leaves it out.
 */
export async function movedNoteAsSeen(note: string, seesArticle: (id: string) => Promise<boolean>): Promise<string> {
  const under = MOVED_UNDER_NOTE.exec(note);
  return under && !(await seesArticle(under[1])) ? under[2] : note;
}

/**
 * A revision not found, naming the argument that named it (`extensions.field`, as BAD_USER_INPUT's
 * `fields` name theirs) when there are several a client could have got wrong.
 */
const revisionNotFound = (argument?: string) => new AppError(ErrorCode.NOT_FOUND, 'Revision not found', argument ? { extensions: { field: argument } } : {});

/** Workflow refusals name the article: it is the input that cannot take the step. */
const refuse = (message: string) => AppError.badField('topicId', message);
/**
 * For a step judged (who may take it, the space's settings) on the space read before its
 * transaction, whose article then moved to another one (`ArticleWrites.lockInSpace` tells): taken
 * again, it is judged there.
 */
const movedMeanwhile = () => AppError.conflict('The article moved to another space meanwhile: read it again and retry');

/**
 * The refusals of a publication that the article's row decides alone: made on the row as read
 * before the transaction (a publication refused so takes no lock), then on the row as locked.
 */
function assertPublishable(row: ArticleRow, reviewedRevisionId: string | undefined): void {
  if (row.state === ArticleState.ARCHIVED) throw refuse('is archived: unarchive it first');
  if (row.current_revision_id === row.published_revision_id) throw refuse('is already published: there is no newer revision');
  if (reviewedRevisionId && reviewedRevisionId !== row.current_revision_id) throw AppError.conflict('A newer revision was saved since: review it before publishing');
}

/** [a timestamptz in PostgreSQL's text form, as the page's `k_ts` column gives it, an id]. */
const validTsCursor = (c: unknown[] | undefined): c is [string, string] => !!c && validKeyValue(c[0], 'timestamptz') && validKeyValue(c[1], 'uuid');

/**
 * The knowledge base's rules: revisions, the review workflow (DRAFT → IN_REVIEW → PUBLISHED
 * → ARCHIVED, with the space's two-person rule), the tree, verification and helpfulness.
 * Every write decides on the article's row locked in its own transaction, so two editors
 * racing cannot both publish, or build a cycle, or lose a revision.
 */
@Injectable()
export class ArticlesService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly access: AccessService,
    private readonly forum: ForumLoaders,
    private readonly loaders: ArticleLoaders,
    private readonly writes: ArticleWrites,
    private readonly writer: ContentWriter,
    private readonly policy: PostingPolicy,
    private readonly settings: KnowledgeSettingsService,
    private readonly sessions: SessionsService,
    private readonly spaces: SpacesLoader,
    private readonly repo: ArticlesRepository,
    private readonly reviewItems: ReviewItems,
    private readonly limiter: RateLimiter,
    private readonly automod: WatchedWordsRule,
    private readonly pacing: Pacing,
  ) {}

  // ---------------------------------------------------------------- reading

  /** The article behind a topic id, if the viewer may see it (NOT_FOUND otherwise, and for topics that are not articles). */
  async context(viewer: Viewer, topicId: string): Promise<ArticleContext> {
    const topic = isUuid(topicId) ? await this.forum.topic(viewer, topicId) : null;
    const row = topic ? await this.loaders.row(viewer, topic.id) : null;
    if (!topic || !row) throw AppError.notFound('Article not found');
    return { topic, row, access: this.loaders.access(viewer, topic, row) };
  }

  /**
   * A revision the viewer may read: any for the article's team, published ones for everyone else.
   * `argument`: the one that named it, which a NOT_FOUND names (`extensions.field`), the same for
   * a revision that does not exist as for one they may not read.
   */
  async visibleRevision(viewer: Viewer, revisionId: string, argument?: string): Promise<ArticleContext & { rev: FullRevision }> {
    const rev = isUuid(revisionId) ? await this.loaders.revision(viewer, revisionId) : null;
    const ctx = rev ? await this.context(viewer, rev.topic_id).catch(() => null) : null;
    if (!rev || !ctx || (!ctx.access.team && !rev.published_at)) throw revisionNotFound(argument);
    return { ...ctx, rev };
  }

  async diff(viewer: Viewer, fromId: string, toId: string): Promise<ArticleDiff> {
    const from = await this.visibleRevision(viewer, fromId, 'fromId');
    const to = await this.visibleRevision(viewer, toId, 'toId');
    // A revision of another article is none of fromId's article's: not found, as publish and
    // restore answer it, and as one the viewer may not read (both revisions are readable here, so
    // naming toId tells nothing the two ids did not).
    if (from.rev.topic_id !== to.rev.topic_id) throw revisionNotFound('toId');
    return {
      from: from.rev,
      to: to.rev,
      titleChanged: from.rev.title !== to.rev.title,
      summaryChanged: from.rev.summary !== to.rev.summary,
      // The team compares the markdown; readers the published text, as they read it (censored
      // words masked), never the source.
      lines: from.access.team ? lineDiff(from.rev.body_source, to.rev.body_source) : lineDiff(readerText(from.rev), readerText(to.rev)),
      sourceVisible: from.access.team,
    };
  }

  async bySlug(viewer: Viewer, boardId: string, slug: string): Promise<TopicModel> {
    const board = await this.spaces.board(viewer, boardId);
    const topicId = board ? await this.repo.topicBySlug(board.id, slug) : null;
    const topic = topicId ? await this.forum.topic(viewer, topicId) : null;
    if (!topic) throw AppError.notFound('Article not found');
    return topic;
  }

  /** Published articles of a space past their verification date, oldest due first. */
  async stale(viewer: Viewer, args: SpaceArticlesArgs): Promise<Connection<TopicModel>> {
    const rank = await this.access.require(viewer, args.spaceId, AccessLevel.READ, 'Space not found');
    const moderator = rank >= LEVEL_RANK.MODERATE;
    return this.topicPage(
      viewer,
      args,
      'stale-articles',
      (size, after) => this.repo.stalePage(args.spaceId, viewer.id, moderator, size, after),
      () => this.repo.staleCount(args.spaceId, viewer.id, moderator),
    );
  }

  /** Editors: the space's articles waiting for review, oldest submission first. */
  async inReview(viewer: Viewer, args: SpaceArticlesArgs): Promise<Connection<TopicModel>> {
    await this.access.require(viewer, args.spaceId, AccessLevel.MODERATE, 'Space not found');
    return this.topicPage(viewer, args, 'articles-in-review', (size, after) => this.repo.inReviewPage(args.spaceId, size, after), () => this.repo.inReviewCount(args.spaceId));
  }

  private async topicPage(
    viewer: Viewer,
    args: PageArgs,
    list: string,
    page: (size: number, after?: [string, string]) => Promise<Array<TopicRow & { k_ts: string }>>,
    count: () => Promise<number>,
  ): Promise<Connection<TopicModel>> {
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, list, 2);
    if (after && !validTsCursor(after)) throw AppError.badField('after', 'is not a valid cursor');
    const rows = await page(size + 1, after as [string, string] | undefined);
    // The SQL applied the visibility rule; the access policy checks each topic once more.
    const topics = new Map<string, TopicModel | null>();
    for (const r of rows) topics.set(r.id, await this.forum.topicFromRow(viewer, r));
    const connection = toConnection(rows, size, list, (r) => [r.k_ts, r.id], (r) => topics.get(r.id) ?? null, count);
    return { ...connection, edges: connection.edges.filter((e): e is { cursor: string; node: TopicModel } => e.node !== null) };
  }

  async feedback(viewer: Viewer, article: ArticleModel, args: PageArgs): Promise<Connection<ArticleRatingModel> | null> {
    if (!article.access.team) return null;
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, 'article-feedback', 2);
    if (after && !validTsCursor(after)) throw AppError.badField('after', 'is not a valid cursor');
    // First pages are batched (a list of articles asks for each one's); later pages are asked one at a time.
    const rows = after
      ? await this.repo.feedbackPage(article.topicId, size + 1, after as [string, string])
      : await nestedPage(viewer, `feedback:${size + 1}`, article.topicId, (ids) => this.repo.feedbackFirstPages(ids, size + 1), (r) => r.topic_id);
    return toConnection(
      rows,
      size,
      'article-feedback',
      (r) => [r.k_ts, r.user_id],
      (r) => Object.assign(new ArticleRatingModel(), { helpful: r.helpful, comment: r.comment, updatedAt: r.updated_at, userId: r.user_id }),
      () => nestedCount(viewer, 'feedback', article.topicId, (ids) => this.repo.feedbackCounts(ids)),
    );
  }

  // ---------------------------------------------------------------- permissions

  private ref(ctx: ArticleContext): ArticleRef {
    return { topicId: ctx.topic.id, boardId: ctx.topic.boardId, spaceId: ctx.topic.spaceId };
  }

  /**
   * The article's team (author, owner, owner group) or an editor, still able to participate.
   * Callers refuse a signed-out viewer first (UNAUTHENTICATED), as `requireEditor`'s do.
   */
  private async requireTeam(viewer: Viewer, ctx: ArticleContext): Promise<void> {
    await this.access.require(viewer, ctx.topic.spaceId, AccessLevel.PARTICIPATE);
    if (!ctx.access.canEdit) throw AppError.forbidden('Only the article’s author, its owner and the space’s editors change it');
  }

  /** An editor of the article's space (its moderators); callers refuse a signed-out viewer first, as `requireTeam`'s do. */
  private requireEditor(ctx: ArticleContext, what: string): void {
    if (!ctx.access.editor) throw AppError.forbidden(`Only the space’s editors (its moderators) ${what}`);
  }

  /** Owners verify their articles (the author while nobody owns it); editors verify any. */
  canVerify(viewer: Viewer, ctx: { row: ArticleRow; topic: TopicModel; access: ArticleAccess }): boolean {
    if (ctx.access.editor) return true;
    if (!viewer.id || ctx.access.rank < LEVEL_RANK.PARTICIPATE) return false;
    return ownsArticle(viewer, ctx.row, ctx.topic.authorId);
  }

  // ---------------------------------------------------------------- revisions

  /** A new revision from an edit. A published article goes back to DRAFT; readers keep the published revision. */
  async update(viewer: Viewer, input: UpdateArticleInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, input.topicId);
    await this.requireTeam(viewer, ctx);
    // An explicit null changes nothing, as an absent field: a null body must not render as an empty one.
    const change = { title: input.title ?? undefined, body: input.body ?? undefined, summary: input.summary ?? undefined };
    if (change.title === undefined && change.body === undefined && change.summary === undefined) {
      throw AppError.badInput(['title', 'body', 'summary'].map((field) => ({ field, message: 'give at least one of title, body, summary' })));
    }
    return this.saveRevision(viewer, ctx, change, { action: ArticleEventAction.EDITED, note: input.note ?? null, baseRevisionId: input.baseRevisionId });
  }

  /** A new revision with an earlier one's content (rendered again, through today's sanitizer and automod). */
  async restore(viewer: Viewer, revisionId: string, topicId?: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { rev, ...ctx } = await this.visibleRevision(viewer, revisionId);
    // A revision of another article than the one named is none of its: not found, as publish answers it.
    if (topicId && topicId !== rev.topic_id) throw AppError.notFound('Revision not found');
    await this.requireTeam(viewer, ctx);
    if (rev.id === ctx.row.current_revision_id) throw AppError.badField('revisionId', 'is already the current revision');
    return this.saveRevision(
      viewer,
      ctx,
      { title: rev.title, body: rev.body_source, summary: rev.summary },
      { action: ArticleEventAction.RESTORED, note: `restored from revision ${rev.number}`, restoredFrom: rev },
    );
  }

  private async saveRevision(
    viewer: Viewer,
    ctx: ArticleContext,
    change: { title?: string; body?: string; summary?: string },
    opts: { action: ArticleEventAction; note: string | null; baseRevisionId?: string; restoredFrom?: FullRevision },
  ): Promise<TopicModel> {
    // Looked at before rendering and automod, as an edit's pace; counted in the transaction below.
    const pace = await this.pacing.guard(viewer, EDITS_PACE, { exempt: ctx.access.editor });
    let html: string | undefined;
    if (change.body !== undefined || change.title != null) {
      const body = change.body ?? '';
      const rendered = this.writer.render(body);
      // Automod applies to the title and the body (BLOCK refuses, CENSOR masks). Its holds are moot: every revision waits for an editor anyway.
      const verdict = await this.policy.evaluate({ viewer, spaceId: ctx.topic.spaceId, kind: 'edit', body, title: change.title, rendered, rank: ctx.access.rank });
      if (change.body !== undefined) html = verdict.html ?? rendered.html;
      if (change.title != null) change = { ...change, title: verdict.title ?? change.title };
    }
    // Readers see the summary and the revision's note too: the same rules hold for them.
    const screen = (field: string, text: string) => this.automod.screenNote({ viewer, spaceId: ctx.topic.spaceId, kind: 'edit' }, field, text);
    if (change.summary) change = { ...change, summary: await screen('summary', change.summary) };
    if (opts.note && !opts.restoredFrom) opts = { ...opts, note: await screen('note', opts.note) };
    const ref = this.ref(ctx);
    await this.uow.run(async (tx) => {
      // The topic's row before the article's, as moveTopic takes them (a draft's revision writes
      // its topic below): holding the article's row and then waiting for the topic's, while a move
      // held the topic and waited for the article, was a deadlock.
      const row = await this.writes.lockInSpace(tx, ref.topicId);
      // Its writer (the team, the pace's exemption) and its text (watched words) were judged in
      // the space read before: one moved to another space since is taken again there.
      if (row.space_id !== ref.spaceId) throw movedMeanwhile();
      // Its events name where it is as held: a move to another board committed while this waited is seen.
      const held = this.writes.heldRef(row);
      if (row.state === ArticleState.ARCHIVED) {
        // A restore names the revision (its topicId is optional): the refusal names what was sent.
        throw opts.restoredFrom ? AppError.badField('revisionId', 'is a revision of an archived article: unarchive it before restoring') : refuse('is archived: unarchive it before editing');
      }
      if (opts.baseRevisionId && opts.baseRevisionId !== row.current_revision_id) {
        throw AppError.conflict('Someone saved a newer revision of this article meanwhile: start from that one');
      }
      const current = (await tx.one<FullRevision>(`SELECT * FROM article_revisions WHERE id = $1`, [row.current_revision_id]))!;
      const next = {
        title: change.title ?? current.title,
        summary: change.summary ?? current.summary,
        body_source: change.body ?? current.body_source,
        body_html: html ?? current.body_html,
      };
      if (next.title === current.title && next.summary === current.summary && next.body_source === current.body_source) {
        if (opts.restoredFrom) throw AppError.badField('revisionId', 'has the same content as the current revision');
        return; // nothing changed: no empty revision, and none of the pace spent
      }
      // Revisions are kept for good: a writer who is not an editor makes them at the pace of post
      // edits (shared with them), counted in the transaction, after the article's lock as edits
      // and polls count it after their locks, and once the revision is known to be made, so that
      // a refused one (checks above, archived, stale, the same content) and an edit that changes
      // nothing spend nothing.
      await pace.count(tx);
      const [rev] = await tx.query<FullRevision>(
        `INSERT INTO article_revisions (id, topic_id, number, title, summary, body_source, body_html, author_id, note, restored_from_id)
         VALUES ($1, $2, (SELECT max(number) + 1 FROM article_revisions WHERE topic_id = $2), $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [newId(), ref.topicId, next.title, next.summary, next.body_source, next.body_html, viewer.id, opts.note, opts.restoredFrom?.id ?? null],
      );
      // A new revision is a new draft: a published article keeps showing its published revision,
      // and one in review goes back to draft (what was reviewed is no longer what would be published).
      const to = row.state === ArticleState.PUBLISHED || row.state === ArticleState.IN_REVIEW ? ArticleState.DRAFT : row.state;
      const [{ version }] = await tx.query<{ version: number }>(
        `UPDATE articles SET current_revision_id = $2, state = $3, version = version + 1, updated_at = now(),
                submitted_at = CASE WHEN $3 = 'DRAFT' THEN NULL ELSE submitted_at END,
                submitted_by = CASE WHEN $3 = 'DRAFT' THEN NULL ELSE submitted_by END
          WHERE topic_id = $1 RETURNING version`,
        [ref.topicId, rev.id, to],
      );
      const eventId = await this.writes.record(tx, ref.topicId, viewer.id, opts.action, { from: row.state, to, revisionId: rev.id, note: opts.note });
      // Pulled out of review by this edit: the team hears it, as of any step of the workflow.
      if (row.state === ArticleState.IN_REVIEW) {
        await this.writes.emitTransition(tx, held, version, {
          eventId, from: row.state, to, actorId: viewer.id, revisionId: rev.id, reason: opts.note, submittedBy: row.submitted_by, edited: true,
        });
      }
      // Before its first publication the topic shows the draft (to its author and editors only: it is PENDING).
      if (!row.first_published_at) await this.writes.mirror(tx, viewer, held, rev, false);
    });
    return this.fresh(viewer, ctx);
  }

  /**
   * The topic re-read after a write (the viewer may have lost sight of it: then as it was). With
   * `boardChanged`, every board's tree is read again: the board read before the write, and any
   * other a move the write waited behind took the article into, which this request may have read.
   */
  private async fresh(viewer: Viewer, ctx: ArticleContext, boardChanged = false): Promise<TopicModel> {
    this.loaders.forget(viewer, ctx.topic.id, boardChanged);
    return (await this.forum.topic(viewer, ctx.topic.id)) ?? ctx.topic;
  }

  // ---------------------------------------------------------------- workflow

  async submit(viewer: Viewer, topicId: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, topicId);
    await this.requireTeam(viewer, ctx);
    await this.transition(viewer, ctx, ArticleEventAction.SUBMITTED, async (tx, row) => {
      if (row.state === ArticleState.ARCHIVED) throw refuse('is archived: unarchive it first');
      if (row.state === ArticleState.IN_REVIEW) throw refuse('is already in review');
      if (row.current_revision_id === row.published_revision_id) throw refuse('has no unpublished changes to review');
      await tx.query(`UPDATE articles SET state = 'IN_REVIEW', submitted_at = now(), submitted_by = $2 WHERE topic_id = $1`, [topicId, viewer.id]);
      return { to: ArticleState.IN_REVIEW };
    });
    return this.fresh(viewer, ctx);
  }

  async requestChanges(viewer: Viewer, input: ArticleChangesInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, input.topicId);
    this.requireEditor(ctx, 'review articles');
    await this.transition(viewer, ctx, ArticleEventAction.CHANGES_REQUESTED, async (tx, row) => {
      if (row.state !== ArticleState.IN_REVIEW) throw refuse('is not in review');
      await tx.query(
        `UPDATE articles SET state = 'DRAFT', changes_requested_reason = $2, changes_requested_by = $3, changes_requested_at = now(),
                submitted_at = NULL, submitted_by = NULL
          WHERE topic_id = $1`,
        [input.topicId, input.reason, viewer.id],
      );
      return { to: ArticleState.DRAFT, reason: input.reason };
    });
    return this.fresh(viewer, ctx);
  }

  /**
   * Editors publish the current revision. Where the space asks for two-person review, only a
   * submitted article is published, by an editor who wrote none of its unpublished revisions
   * and did not submit it. The first publication makes the topic visible to readers.
   * `reviewedRevisionId` (the API's `revisionId`) is the revision the editor read: CONFLICT when
   * it is no longer the current one, NOT_FOUND when it is none of this article's. The step answers the revision it published (`revisionId`).
   */
  async publish(viewer: Viewer, topicId: string, reviewedRevisionId?: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, topicId);
    this.requireEditor(ctx, 'publish articles');
    // A revision named that is not one of this article's (another article's, or none) is not found
    // here, whatever it is elsewhere: not a newer revision saved since (CONFLICT below), which
    // reading the article again would settle. Only a revision other than the current one is read.
    if (reviewedRevisionId && reviewedRevisionId !== ctx.row.current_revision_id && (await this.loaders.revision(viewer, reviewedRevisionId))?.topic_id !== ctx.topic.id) {
      throw AppError.notFound('Revision not found');
    }
    // Refused for what the article's row says as read, before the transaction: a publication that
    // cannot be taken takes no lock (the space's, the topic's, the boards', the row's) and costs
    // no statement more. Decided again on the row as locked below.
    assertPublishable(ctx.row, reviewedRevisionId);
    // The space's row FOR SHARE (its knowledge settings: two-person review, the default interval,
    // as setKnowledgeSettings left them; it updates that row, then articles' rows), then the
    // topic's row, then its boards, then the article's row, then the first post's: the order
    // moveTopic takes them in (writeMove, then KnowledgeBoard.beforeMove, then the posts' rows
    // across spaces), so a publication and a move wait for each other rather than deadlock; and
    // the board is the one the topic is in as held (a move committed since the checks above is
    // seen). moveArticle takes the board, then the row, as here. One moved to another space
    // meanwhile was judged (its editors, two-person review) in the old one. The topic's row is
    // held FOR KEY SHARE, which waits for moves alone: moderating the first post (applyState) and
    // reacting to it lock the post, then update the topic, which a stronger lock held here while
    // waiting for their post (to mirror the revision into it) made a deadlock. The board the
    // article's row is in is taken with its topic's (both, in id order, as beforeMove takes
    // them): an article a move from before that hook left in an older board gets its new slug
    // there, whose lock publishing took only then, holding the article's row and its first post,
    // while a moveArticle in that board held it and waited for the row: a deadlock.
    let settings!: KnowledgeSettings;
    let heldBoards: string[] = [];
    const lockSettingsTopicAndBoards = async (tx: Tx) => {
      settings = await this.settings.held(tx, ctx.topic.spaceId, viewer);
      // The article's board read beside the held topic: only a move changes it, which holding
      // the topic waits for, or the keeper, which takes both boards first. Read by the statement
      // that waited for a move, it is the board before that move (its snapshot), while the topic's
      // is the one the move left: a board more held, never one missed (see the reslug below).
      const held = await tx.one<{ board_id: string; space_id: string; article_board_id: string }>(
        `SELECT t.board_id, t.space_id, a.board_id AS article_board_id
           FROM (SELECT id, board_id, space_id FROM topics WHERE id = $1 FOR KEY SHARE) t JOIN articles a ON a.topic_id = t.id`,
        [topicId],
      );
      if (!held) throw AppError.notFound('Article not found');
      if (held.space_id !== ctx.topic.spaceId) throw movedMeanwhile();
      heldBoards = [held.board_id, held.article_board_id];
      await this.writes.lockBoards(tx, heldBoards);
    };
    await this.transition(viewer, ctx, ArticleEventAction.PUBLISHED, async (tx, row, held) => {
      assertPublishable(row, reviewedRevisionId);
      if (settings.twoPersonReview) {
        if (row.state !== ArticleState.IN_REVIEW) throw refuse('must be submitted for review first: this space requires two-person review');
        const [w] = await tx.query<{ wrote: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM article_revisions WHERE topic_id = $1 AND author_id = $3
                            AND number > COALESCE((SELECT number FROM article_revisions WHERE id = $2), 0)) AS wrote`,
          [topicId, row.published_revision_id, viewer.id],
        );
        if (w.wrote || row.submitted_by === viewer.id) {
          throw AppError.forbidden('This space requires two-person review: an editor who did not write or submit these changes publishes them');
        }
      }
      // Whether a moderator hid or deleted it, as its first post says under its lock (moderation
      // writes the post's state and the topic's under it): decided on as it stands. Locked once
      // the refusals the row and the settings decide are passed: one refused so locks no post.
      const shown = await this.writes.lockFirstPost(tx, topicId);
      if (shown === 'HIDDEN' || shown === 'DELETED') throw refuse(`was ${shown.toLowerCase()} by a moderator: restore it first`);
      // Members may each draft from one post (none sees the other's draft); the board publishes one
      // of them. Checked under the board's lock, which publishing holds.
      if (!row.first_published_at) {
        const [twin] = await tx.query(
          `SELECT 1 FROM articles a JOIN articles b ON b.promoted_from_post_id = a.promoted_from_post_id AND b.board_id = a.board_id AND b.topic_id <> a.topic_id
             JOIN topics bt ON bt.id = b.topic_id
            WHERE a.topic_id = $1 AND b.published_revision_id IS NOT NULL AND b.state <> 'ARCHIVED' AND bt.state = 'VISIBLE'`,
          [topicId],
        );
        if (twin) throw refuse('comes from a post this board already has as a published article: improve that one instead');
      }
      const [rev] = await tx.query<FullRevision>(
        `UPDATE article_revisions SET published_at = now(), published_by = $2 WHERE id = $1 RETURNING *`,
        [row.current_revision_id, viewer.id],
      );
      const interval = row.verification_interval_days ?? settings.verificationIntervalDays;
      await tx.query(
        `UPDATE articles SET state = 'PUBLISHED', published_revision_id = $2, published_at = now(), first_published_at = COALESCE(first_published_at, now()),
                verified_at = now(), verified_by = $3, verified_until = now() + make_interval(days => $4), reminded_for = NULL,
                submitted_at = NULL, submitted_by = NULL, changes_requested_reason = NULL, changes_requested_by = NULL, changes_requested_at = NULL
          WHERE topic_id = $1`,
        [topicId, rev.id, viewer.id, interval],
      );
      if (!this.writes.slugFits(row.slug, rev.title)) {
        // Its board is held since the start (`lockSettingsTopicAndBoards`): taken here, after the
        // article's row and its first post, it was taken out of order (a deadlock with moveArticle).
        // It is never another, so this guards an invariant and refuses nothing: only
        // KnowledgeBoard.beforeMove changes an article's board, to its topic's, with the topic held
        // against moves (moveTopic FOR UPDATE; the keeper FOR KEY SHARE, no move committing while it
        // runs). This transaction holds the topic FOR KEY SHARE since that first statement, so no
        // move commits before it does and the topic's board stays the one held (`heldBoards[0]`).
        // The row locked here is then as that statement read it (`heldBoards[1]`: no beforeMove
        // committed since its snapshot) or was placed since by a beforeMove, in its topic's board
        // (`heldBoards[0]`): both held. Hit, it is a bug (a board written another way): INTERNAL.
        if (!heldBoards.includes(row.board_id)) {
          throw new Error(`Invariant broken: article ${topicId} is in board ${row.board_id}, not one its publication holds (${heldBoards.join(', ')})`);
        }
        await this.writes.reslug(tx, topicId, row.board_id, rev.title, !row.first_published_at);
      }
      // A member may not mention a group by having an editor publish their text: the writer's rights
      // count, read on this transaction's connection (one more from the pool, while this holds one,
      // is the pool's deadlock under load).
      const writer = rev.author_id === viewer.id ? viewer : ((await this.sessions.viewerForUser(rev.author_id, { includeSuspended: true }, tx)) ?? Viewer.anonymous());
      const mentions = await this.writes.mirror(tx, viewer, held, rev, true, writer);
      await this.settleReviewItems(tx, viewer, held, rev.number);
      return { to: ArticleState.PUBLISHED, revisionId: rev.id, firstPublication: !row.first_published_at, mentions };
    }, lockSettingsTopicAndBoards);
    return this.fresh(viewer, ctx, true);
  }

  /**
   * Publishing settles what waited on the article in the moderators' queue: a hold from
   * pre-moderation (the editor's review replaces it) and readers' feedback (answered by the
   * new revision).
   */
  private async settleReviewItems(tx: Tx, viewer: Viewer, ref: ArticleRef, revisionNumber: number): Promise<void> {
    await this.reviewItems.approvePending(tx, {
      where: `(target_type = 'TOPIC' AND target_id = $4 AND kind IN ('PENDING_CONTENT', 'ARTICLE_FEEDBACK'))
           OR (target_type = 'POST' AND kind = 'PENDING_CONTENT' AND target_id = (SELECT id FROM posts WHERE topic_id = $4 AND number = 1))`,
      params: [ref.topicId],
      resolvedBy: viewer.id,
      action: 'resolved: approve (article published)',
      note: `published revision ${revisionNumber} of the article`,
    });
  }

  async archive(viewer: Viewer, topicId: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, topicId);
    this.requireEditor(ctx, 'archive articles');
    await this.transition(viewer, ctx, ArticleEventAction.ARCHIVED, async (tx, row) => {
      if (row.state === ArticleState.ARCHIVED) throw refuse('is already archived');
      await tx.query(`UPDATE articles SET state = 'ARCHIVED' WHERE topic_id = $1`, [topicId]);
      return { to: ArticleState.ARCHIVED };
    });
    return this.fresh(viewer, ctx, true);
  }

  /** Back to PUBLISHED when the published revision is the current one, else to DRAFT. */
  async unarchive(viewer: Viewer, topicId: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, topicId);
    this.requireEditor(ctx, 'unarchive articles');
    await this.transition(viewer, ctx, ArticleEventAction.UNARCHIVED, async (tx, row) => {
      if (row.state !== ArticleState.ARCHIVED) throw refuse('is not archived');
      const to = row.published_revision_id && row.published_revision_id === row.current_revision_id ? ArticleState.PUBLISHED : ArticleState.DRAFT;
      // Back to draft, not to review: a submission made before the archive no longer stands.
      await tx.query(`UPDATE articles SET state = $2, submitted_at = NULL, submitted_by = NULL WHERE topic_id = $1`, [topicId, to]);
      return { to };
    });
    return this.fresh(viewer, ctx, true);
  }

  /** Runs one workflow step on the locked row, then records and announces it. */
  private async transition(
    viewer: Viewer,
    ctx: ArticleContext,
    action: ArticleEventAction,
    /** `held`: where the article is as held (`ArticleWrites.heldRef`), which its events name. */
    step: (tx: Tx, row: ArticleRow, held: ArticleRef) => Promise<{ to: ArticleState; reason?: string; revisionId?: string; firstPublication?: boolean; mentions?: PublishedMentions | null }>,
    /** Locks to take before the article's row (in the (space →) topic → board → row order; docs/architecture.md). */
    before?: (tx: Tx) => Promise<void>,
  ): Promise<void> {
    const ref = this.ref(ctx);
    await this.uow.run(async (tx) => {
      await before?.(tx);
      // In the space it is in as held (topics before articles, moveTopic's order): who may take
      // the step was judged in the space read before; one moved since is taken again there.
      const row = await this.writes.lockInSpace(tx, ref.topicId);
      if (row.space_id !== ref.spaceId) throw movedMeanwhile();
      // Its events name the board it is in as held, not the one read before a move committed meanwhile.
      const held = this.writes.heldRef(row);
      const t = await step(tx, row, held);
      const [{ version }] = await tx.query<{ version: number }>(
        `UPDATE articles SET version = version + 1, updated_at = now() WHERE topic_id = $1 RETURNING version`,
        [ref.topicId],
      );
      const revisionId = t.revisionId ?? row.current_revision_id;
      const eventId = await this.writes.record(tx, ref.topicId, viewer.id, action, { from: row.state, to: t.to, revisionId, note: t.reason ?? null });
      await this.writes.emitTransition(tx, held, version, {
        eventId, from: row.state, to: t.to, actorId: viewer.id, revisionId, reason: t.reason ?? null, firstPublication: t.firstPublication ?? false,
        submittedBy: row.submitted_by, ...(t.mentions ? { mentions: t.mentions } : {}),
      });
    });
  }

  // ---------------------------------------------------------------- tree

  /**
   * Re-parents and reorders. Editors move any article; authors their own until it is first
   * published. The new parent must be an article of the same board the mover can see, and
   * not the article itself nor anything under it.
   */
  async move(viewer: Viewer, input: MoveArticleInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, input.topicId);
    await this.requireTeam(viewer, ctx);
    if (!ctx.access.editor && ctx.row.first_published_at) throw AppError.forbidden('Only the space’s editors move a published article');
    const parentId = input.parentId ?? null;
    if (parentId === ctx.topic.id) throw AppError.badField('parentId', 'cannot be the article itself');
    if (parentId) {
      const parent = await this.context(viewer, parentId).catch(() => null);
      if (!parent || parent.row.board_id !== ctx.row.board_id) throw AppError.badField('parentId', 'must be an article of the same board');
      if (parent.row.state === ArticleState.ARCHIVED) throw AppError.badField('parentId', 'is archived');
    }
    await this.uow.run(async (tx) => {
      await this.writes.lockBoard(tx, ctx.row.board_id);
      const row = await this.writes.lock(tx, ctx.topic.id);
      // Moved to another board since it was read: the board locked is not its own.
      if (row.board_id !== ctx.row.board_id) throw AppError.conflict('The article was moved meanwhile: read it again');
      if (parentId) {
        await this.writes.assertParent(tx, parentId, row.board_id);
        const [c] = await tx.query<{ cycle: boolean }>(
          `WITH RECURSIVE up(id, parent_id, depth) AS (
             SELECT topic_id, parent_id, 0 FROM articles WHERE topic_id = $1
             UNION ALL
             SELECT a.topic_id, a.parent_id, up.depth + 1 FROM articles a JOIN up ON a.topic_id = up.parent_id WHERE up.depth < 10000)
           SELECT EXISTS (SELECT 1 FROM up WHERE id = $2) AS cycle`,
          [parentId, row.topic_id],
        );
        if (c.cycle) throw AppError.badField('parentId', 'is inside this article: moving the article there would make a cycle');
      }
      const siblings = await tx.query<{ topic_id: string }>(
        `SELECT topic_id FROM articles WHERE board_id = $1 AND parent_id IS NOT DISTINCT FROM $2::uuid AND topic_id <> $3 ORDER BY position, topic_id`,
        [row.board_id, parentId, row.topic_id],
      );
      const order = siblings.map((s) => s.topic_id);
      order.splice(Math.min(input.position ?? order.length, order.length), 0, row.topic_id);
      await tx.query(`UPDATE articles SET parent_id = $2, version = version + 1, updated_at = now() WHERE topic_id = $1`, [row.topic_id, parentId]);
      await tx.query(
        `UPDATE articles a SET position = o.n - 1 FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) WHERE a.topic_id = o.id AND a.position <> o.n - 1`,
        [order],
      );
      await this.writes.record(tx, row.topic_id, viewer.id, ArticleEventAction.MOVED, { note: movedNote(parentId, order.indexOf(row.topic_id)) });
    });
    return this.fresh(viewer, ctx, true);
  }

  // ---------------------------------------------------------------- verification, ownership

  async verify(viewer: Viewer, topicId: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, topicId);
    if (!this.canVerify(viewer, ctx)) throw AppError.forbidden('Only the article’s owner and the space’s editors verify it');
    await this.uow.run(async (tx) => {
      // The space's default interval as held (its row FOR SHARE, first, as publish takes it: a
      // setKnowledgeSettings under way is waited for); then the article in the space it is in as
      // held (topics before articles, as moveTopic): who may verify was judged in the space above.
      const settings = await this.settings.held(tx, ctx.topic.spaceId, viewer);
      const row = await this.writes.lockInSpace(tx, topicId);
      if (row.space_id !== ctx.topic.spaceId) throw movedMeanwhile();
      if (row.state === ArticleState.ARCHIVED) throw refuse('is archived');
      if (!row.published_revision_id) throw refuse('is not published yet: publishing verifies it');
      await tx.query(
        `UPDATE articles SET verified_at = now(), verified_by = $2, verified_until = now() + make_interval(days => $3), reminded_for = NULL,
                version = version + 1, updated_at = now()
          WHERE topic_id = $1`,
        [topicId, viewer.id, row.verification_interval_days ?? settings.verificationIntervalDays],
      );
      await this.writes.record(tx, topicId, viewer.id, ArticleEventAction.VERIFIED, { revisionId: row.published_revision_id });
    });
    return this.fresh(viewer, ctx);
  }

  /** Editors: the owner (a user who can read the space, or a group) and the verification interval. */
  async updateSettings(viewer: Viewer, input: ArticleSettingsInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, input.topicId);
    this.requireEditor(ctx, 'change an article’s owner and verification');
    if (input.ownerUserId && input.ownerGroupId) {
      throw AppError.badInput(['ownerUserId', 'ownerGroupId'].map((field) => ({ field, message: 'give a user or a group, not both' })));
    }
    // An owner given as null changes nothing (there is no "no owner"); a null interval means the space's default.
    if (input.ownerUserId == null && input.ownerGroupId == null && input.verificationIntervalDays === undefined) {
      throw AppError.badInput(['ownerUserId', 'ownerGroupId', 'verificationIntervalDays'].map((field) => ({ field, message: 'give at least one setting' })));
    }
    if (input.ownerUserId) {
      const owner = await this.sessions.viewerForUser(input.ownerUserId);
      if (!owner || (await this.access.rankOn(owner, ctx.topic.spaceId)) < LEVEL_RANK.READ) {
        throw AppError.badField('ownerUserId', 'must be someone who can read this space');
      }
    }
    if (input.ownerGroupId && !(await this.loaders.group(viewer, input.ownerGroupId))) throw AppError.badField('ownerGroupId', 'must be a group');
    const owner = input.ownerUserId || input.ownerGroupId ? { user: input.ownerUserId ?? null, group: input.ownerGroupId ?? null } : null;
    await this.uow.run(async (tx) => {
      // A user made owner is held FOR SHARE first (the account before anything else, as every
      // write that holds one takes it): their account's deletion under way, which lets go of what
      // it owns, waits for this, or came first and is found here (refused, as above), so a
      // deleted account never becomes an owner.
      if (owner?.user && !(await tx.one(`SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL AND NOT is_placeholder FOR SHARE`, [owner.user]))) {
        throw AppError.badField('ownerUserId', 'must be someone who can read this space');
      }
      // As verify: the default interval as held, then the article; the editor and the owner's
      // access were judged in the space above.
      const settings = await this.settings.held(tx, ctx.topic.spaceId, viewer);
      const row = await this.writes.lockInSpace(tx, input.topicId);
      if (row.space_id !== ctx.topic.spaceId) throw movedMeanwhile();
      // A draft never published is seen by its author and the editors only (the forum's rule for
      // pending topics): an owner could neither see nor edit it.
      if (owner && !row.first_published_at) {
        throw AppError.badField(input.ownerUserId ? 'ownerUserId' : 'ownerGroupId', 'an article gets owners once it is published; until then its author and the editors keep it');
      }
      const interval = input.verificationIntervalDays === undefined ? row.verification_interval_days : input.verificationIntervalDays;
      await tx.query(
        `UPDATE articles SET owner_user_id = CASE WHEN $2 THEN $3::uuid ELSE owner_user_id END,
                owner_group_id = CASE WHEN $2 THEN $4::uuid ELSE owner_group_id END,
                verification_interval_days = $5,
                verified_until = CASE WHEN verified_at IS NULL THEN verified_until ELSE verified_at + make_interval(days => $6) END,
                version = version + 1, updated_at = now()
          WHERE topic_id = $1`,
        [input.topicId, !!owner, owner?.user ?? null, owner?.group ?? null, interval, interval ?? settings.verificationIntervalDays],
      );
      const note = [owner && (owner.user ? `owner: user ${owner.user}` : ownerGroupNote(owner.group!)), input.verificationIntervalDays !== undefined && `verification every ${interval ?? `${settings.verificationIntervalDays} (space default)`} days`]
        .filter(Boolean)
        .join(SETTINGS_NOTE_SEPARATOR);
      await this.writes.record(tx, input.topicId, viewer.id, ArticleEventAction.SETTINGS_CHANGED, { note });
    });
    return this.fresh(viewer, ctx);
  }

  // ---------------------------------------------------------------- helpfulness

  /**
   * One vote per reader and article (voting again replaces it). “Not helpful” with a new
   * comment opens (or adds to) a review item for the article, and tells its owners.
   */
  async rate(viewer: Viewer, input: RateArticleInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const ctx = await this.context(viewer, input.topicId);
    await this.access.require(viewer, ctx.topic.spaceId, AccessLevel.PARTICIPATE);
    // Automod's BLOCK rules refuse a comment as they refuse a post, and its CENSOR rules mask it.
    const comment = input.comment == null ? null : await this.automod.screenNote({ viewer, spaceId: ctx.topic.spaceId, kind: 'edit' }, 'comment', input.comment);
    await this.uow.run(async (tx) => {
      // Decided on the locked row: an article archived while the vote waited takes no vote. And
      // in the space it is in as held: one moved meanwhile is judged, and its feedback filed,
      // there, where its moderators and team look (the checks above read the old space).
      const row = await this.writes.lockInSpace(tx, ctx.topic.id);
      if (!row.published_revision_id) throw refuse('is not published: only published articles are rated');
      if (row.state === ArticleState.ARCHIVED) throw refuse('is archived');
      if (ctx.topic.authorId === viewer.id) throw AppError.forbidden('You cannot rate your own article');
      // Its feedback event names the board its topic is in as held, as every other write's events
      // do (not the article's own row's, another for an article a move left behind).
      const ref = this.writes.heldRef(row);
      if (ref.spaceId !== ctx.topic.spaceId) {
        await this.access.require(viewer, ref.spaceId, AccessLevel.PARTICIPATE, 'Article not found');
        // Its comment was screened by the old space's watched words: another try screens it here.
        if (comment !== null) throw AppError.conflict('The article moved to another space while your rating was on its way: rate it again');
      }
      const old = await tx.one<{ helpful: boolean; comment: string | null }>(`SELECT helpful, comment FROM article_ratings WHERE topic_id = $1 AND user_id = $2`, [ref.topicId, viewer.id]);
      await tx.query(
        `INSERT INTO article_ratings (topic_id, user_id, helpful, comment) VALUES ($1, $2, $3, $4)
         ON CONFLICT (topic_id, user_id) DO UPDATE SET helpful = EXCLUDED.helpful, comment = EXCLUDED.comment, updated_at = now()`,
        [ref.topicId, viewer.id, input.helpful, comment],
      );
      const yes = (input.helpful ? 1 : 0) - (old?.helpful === true ? 1 : 0);
      const no = (input.helpful ? 0 : 1) - (old?.helpful === false ? 1 : 0);
      if (yes || no) await tx.query(`UPDATE articles SET helpful_yes = helpful_yes + $2, helpful_no = helpful_no + $3 WHERE topic_id = $1`, [ref.topicId, yes, no]);
      const newFeedback = !input.helpful && comment !== null && !(old?.helpful === false && old.comment === comment);
      if (newFeedback) {
        await this.limiter.hitWithin(tx, [[FEEDBACK_PER_HOUR, viewer.id!]]);
        await this.openFeedback(tx, viewer, ref, comment);
      }
    });
    return this.fresh(viewer, ctx);
  }

  private async openFeedback(tx: Tx, viewer: Viewer, ref: ArticleRef, comment: string): Promise<void> {
    const item = await this.reviewItems.open(tx, {
      spaceId: ref.spaceId, targetType: ReportTargetType.TOPIC, targetId: ref.topicId, kind: 'ARTICLE_FEEDBACK', score: 1, actorId: viewer.id, action: 'not helpful', note: comment,
    });
    await tx.emit({ type: 'article.feedback', aggregateType: 'article', aggregateId: ref.topicId, payload: { ...ref, userId: viewer.id, reviewItemId: item.id, feedbackId: newId() } });
  }
}
