import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { BoardKinds } from '../../forum/src/board-kinds';
import { groupBy } from '../../core/src/group-by';
import { BoardKind } from '../../spaces/src/boards/board.model';
import { BOOKMARK_REMINDER_DUE } from '../../forum/src/bookmarks/bookmarks.repository';
import { effectiveWatchesSql, inheritedWatchesSql } from './watch-levels';
import { mentionedGroupMembersSql, postGroupMentionsJsonSql } from './group-mentions';
import { newId } from '../../core/src/ids';
import { OutboxEvent, OutboxHandler, OutboxRetryLater } from '../../core/src/outbox/outbox';
import { fromIgnoredSql, NOTIFY_CHANNEL, NotificationVisibility, READ_WITH_THE_TOPIC } from './notifications';
import { SessionsService } from '../../identity/src/sessions/sessions.service';
import { GROUP_REQUEST_DECIDED, GROUP_REQUESTED } from '../../identity/src/groups/group-requests.service';
import { GROUP_REQUEST_CLOSED } from '../../identity/src/groups/group-memberships';
import { TOPIC_PUBLISHED } from '../../forum/src/topics/topics.service';


/** A notification to deliver; `source` makes delivery idempotent (one per user and source). */
export interface NotificationDraft {
  userId: string;
  kind: string;
  topicId?: string | null;
  postId?: string | null;
  /**
   * The post a removal (POST_REMOVED) is of, which is not what the notice is about (`postId`: a
   * removed post is nobody's to open, so the notice is about its topic): the app and the e-mail
   * show it only once its recipient reads it in full again (`NotificationVisibility.removedPosts`).
   */
  removedPostId?: string | null;
  actorId?: string | null;
  data?: Record<string, unknown>;
  /** Makes delivery idempotent: one notification per user and source. */
  source: string;
}

/**
 * Kinds about the recipient's own standing, told to them while a sanction bars them from signing
 * in too (and e-mailed to them meanwhile, `EmailDigest.sendDue`).
 */
export const STANDING_KINDS = ['SANCTION', 'APPEAL_DECIDED'];

/** When one post concerns someone for several reasons, the one they hear is the highest. */
const PRIORITY: Record<string, number> = { MENTION: 5, GROUP_MENTION: 4, REPLY: 3, QUOTED: 2, WATCHED_REPLY: 1, NEW_TOPIC: 1 };

/**
 * Turns committed events into in-app notifications (an outbox consumer, so a crash never
 * loses one and a redelivery never doubles one). Every recipient is checked against the
 * access policy as they are now: nobody hears about content they may not read.
 */
@Injectable()
export class NotificationsHandler implements OutboxHandler {
  readonly name = 'notifications';
  private readonly log = new Logger('Notifications');

  constructor(
    private readonly ds: DataSource,
    private readonly sessions: SessionsService,
    private readonly kinds: BoardKinds,
    private readonly visibility: NotificationVisibility,
  ) {}

  handles(type: string): boolean {
    return ['post.created', 'post.approved', 'post.updated', 'post.hidden', 'post.deleted', 'post.rejected', 'topic.updated', 'reaction.updated', 'user.sanctioned', 'appeal.decided', 'review.updated', 'post.moved', TOPIC_PUBLISHED, BOOKMARK_REMINDER_DUE, GROUP_REQUESTED, GROUP_REQUEST_DECIDED, GROUP_REQUEST_CLOSED].includes(type);
  }

  async handle(events: OutboxEvent[]): Promise<void> {
    // Reminders come in batches (the job announces hundreds at once): delivered together.
    const reminders = events.filter((e) => e.type === BOOKMARK_REMINDER_DUE);
    // So do new posts (a busy forum, a worker catching up: post.created, and post.approved and
    // topic.published, which announce a post as new, `newPostOf`): each run of them in a row
    // drafted and delivered together, in a fixed number of statements, where it is among the
    // batch's other events, so a post's news still comes before the news of its later events (an
    // edit's mentions, under the same source, find it delivered), and the watches its authors'
    // posts write are read by no event before it (an edit's mentions check who muted the topic:
    // one told of a mention they would not have heard of one event at a time).
    // The reminders aside, each run of new posts is one step and every other event one, in order.
    const steps: Array<{ news: NewPost[] } | { event: OutboxEvent }> = [];
    for (const e of events) {
      if (e.type === BOOKMARK_REMINDER_DUE) continue;
      const post = newPostOf(e);
      const last = steps.at(-1);
      if (post && last && 'news' in last) last.news.push(post);
      else steps.push(post ? { news: [post] } : { event: e });
    }
    for (const step of steps) await this.deliver(await ('news' in step ? this.forNewPosts(step.news) : this.draftsFor(step.event)));
    if (reminders.length > 0) await this.deliver(await this.forBookmarkReminders(reminders));
  }

  /**
   * Bookmark reminders that fired (`BookmarksService.fireReminders`), one statement for them
   * all: each tells its owner of the post (in its topic as it is now, with the bookmark's note
   * as it is now, if any). A bookmark removed since tells nothing; whether its owner may read
   * the post is `deliver`'s check, as for every kind. One per reminder time, so a redelivered
   * event doubles nothing.
   */
  private async forBookmarkReminders(events: OutboxEvent[]): Promise<NotificationDraft[]> {
    const due = events.map((e) => e.payload as { userId: string; postId: string; remindAt: string });
    const rows: Array<{ user_id: string; post_id: string; remind_at: string; topic_id: string; number: number; note: string | null }> = await this.ds.query(
      `SELECT e.user_id, e.post_id, e.remind_at, p.topic_id, p.number, b.note
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS e(user_id, post_id, remind_at)
         JOIN post_bookmarks b ON b.user_id = e.user_id AND b.post_id = e.post_id
         JOIN posts p ON p.id = e.post_id`,
      [due.map((d) => d.userId), due.map((d) => d.postId), due.map((d) => String(d.remindAt))],
    );
    return rows.map((r) => ({
      userId: r.user_id,
      kind: 'BOOKMARK_REMINDER',
      topicId: r.topic_id,
      postId: r.post_id,
      data: r.note ? { number: r.number, note: r.note } : { number: r.number },
      source: `bookmark-reminder:${r.post_id}:${r.remind_at}`,
    }));
  }

  /**
   * The drafts their recipients may see (`NotificationVisibility`): an existing user, not
   * barred site-wide, who reads the post, or the topic, the notification is about. News of
   * the recipient's own standing (`STANDING_KINDS`) reaches them barred too (not a deleted
   * account): a suspension or ban is theirs to hear of above all, in the list they read once
   * they may sign in again (`SanctionMail` e-mails it at once). Recipients are loaded in one
   * statement (two when both sorts are in one delivery), and each post or topic once for all.
   */
  private async readableDrafts(drafts: NotificationDraft[]): Promise<NotificationDraft[]> {
    const standing = (d: NotificationDraft) => STANDING_KINDS.includes(d.kind);
    const recipients = (of: NotificationDraft[]) => [...new Set(of.map((d) => d.userId))];
    const [viewers, barredToo] = await Promise.all([
      this.sessions.viewersForUsers(recipients(drafts.filter((d) => !standing(d)))),
      this.sessions.viewersForUsers(recipients(drafts.filter(standing)), { includeBarred: true }),
    ]);
    const viewerOf = (d: NotificationDraft) => (standing(d) ? barredToo : viewers).get(d.userId) ?? null;
    const visible = await this.visibility.check(drafts.map((d) => ({ viewer: viewerOf(d), postId: d.postId, topicId: d.topicId, kind: d.kind, data: d.data ?? null })));
    return drafts.filter((_, i) => visible[i]);
  }

  private async draftsFor(e: OutboxEvent): Promise<NotificationDraft[]> {
    const p = e.payload as Record<string, any>;
    switch (e.type) {
      case 'post.updated': {
        const mentioned = Array.isArray(p.mentionedUserIds) ? (p.mentionedUserIds as string[]) : [];
        const groups = Array.isArray(p.mentionedGroupIds) ? (p.mentionedGroupIds as string[]) : [];
        const editorId = typeof p.editorId === 'string' ? p.editorId : null;
        // Who brought the text to readers, when not its writer (an article's publisher): they read it, and are told of no mention in it.
        const publisherId = typeof p.publisherId === 'string' ? p.publisherId : null;
        const reachAuthor = p.mentionsReachAuthor === true;
        const drafts = mentioned.length || groups.length ? await this.forEditMentions(String(p.postId), mentioned, groups, editorId, publisherId, reachAuthor) : [];
        return p.textEdited === true && editorId ? [...drafts, ...(await this.forEditOf(String(p.postId), editorId, e.createdAt))] : drafts;
      }
      case 'post.moved':
        return movedPostsNotices(e);
      case 'post.hidden': {
        const [post] = await this.ds.query(`SELECT author_id, topic_id FROM posts WHERE id = $1`, [p.postId]);
        return post ? [{ userId: post.author_id, kind: 'POST_HIDDEN', topicId: post.topic_id, postId: p.postId, source: `hidden:${p.postId}:${e.version}` }] : [];
      }
      case 'post.deleted':
      case 'post.rejected': {
        // Removed by someone else: a moderator deleted it, or rejected it while it waited. A removed
        // post is nobody's to open, so the notice is about its topic: the topic a reply was in, or
        // the author's own topic that went with its first post (`removesTopic`), whose title is
        // read as it is whenever the notice is (never stored: it may change, or go out of reach).
        // The post is kept beside it (`removedPostId`), shown only once it may be read again.
        const [post] = await this.ds.query(`SELECT author_id, topic_id, number, deleted_by FROM posts WHERE id = $1 AND state = 'DELETED'`, [p.postId]);
        if (!post?.deleted_by || post.deleted_by === post.author_id) return [];
        const data = { rejected: e.type === 'post.rejected', number: post.number };
        return [{ userId: post.author_id, kind: 'POST_REMOVED', topicId: post.topic_id, removedPostId: String(p.postId), data, source: `removed:${p.postId}:${e.version}` }];
      }
      case 'topic.updated': {
        if (!p.acceptedPostId) return [];
        const [post] = await this.ds.query(`SELECT author_id, topic_id FROM posts WHERE id = $1`, [p.acceptedPostId]);
        // Accepting one's own answer tells nobody.
        if (!post || post.author_id === p.actorId) return [];
        return [{ userId: post.author_id, kind: 'ANSWER_ACCEPTED', topicId: post.topic_id, postId: p.acceptedPostId, source: `accepted:${p.acceptedPostId}` }];
      }
      case 'reaction.updated': {
        if (!p.on) {
          await this.withdrawReactor(String(p.postId), String(p.userId));
          return [];
        }
        // Not once its reactor took every reaction back (a late or redelivered event).
        const [post] = await this.ds.query(
          `SELECT author_id, topic_id FROM posts p WHERE id = $1 AND EXISTS (SELECT 1 FROM reactions r WHERE r.post_id = p.id AND r.user_id = $2)`,
          [p.postId, p.userId],
        );
        if (!post || post.author_id === p.userId) return [];
        // Batched: one notification per post per hour, counting the people who reacted in it
        // (once each, however often they react, take it back and react again).
        const hour = Math.floor(new Date(e.createdAt).getTime() / 3_600_000);
        return [{ userId: post.author_id, kind: 'REACTIONS', topicId: post.topic_id, postId: p.postId, actorId: p.userId, data: { count: 1, reactors: [p.userId] }, source: `reactions:${p.postId}:${hour}` }];
      }
      case 'user.sanctioned':
        return [{ userId: p.userId, kind: 'SANCTION', data: { sanctionId: p.sanctionId, kind: p.kind, spaceId: p.spaceId ?? null }, source: `sanction:${p.sanctionId}` }];
      case 'appeal.decided':
        return [{ userId: p.userId, kind: 'APPEAL_DECIDED', data: { sanctionId: p.sanctionId, granted: p.granted }, source: `appeal:${p.sanctionId}` }];
      case GROUP_REQUESTED:
        return this.forGroupRequest(String(p.requestId));
      case GROUP_REQUEST_DECIDED:
        return this.forGroupDecision(String(p.requestId));
      case GROUP_REQUEST_CLOSED:
        return this.forGroupRequestClosed(String(p.requestId), p.joining === 'OPEN' ? 'OPEN' : 'CLOSED');
      case 'review.updated': {
        if (!p.status || p.status === 'PENDING') return [];
        // Not the moderator who settled it, should they have reported it too: they know.
        const reports: Array<{ id: string; reporter_id: string }> = await this.ds.query(
          `SELECT r.id, r.reporter_id FROM reports r JOIN review_items i ON i.id = r.review_item_id
            WHERE r.review_item_id = $1 AND r.reporter_id IS DISTINCT FROM i.resolved_by`,
          [p.reviewItemId],
        );
        return reports.map((r) => ({ userId: r.reporter_id, kind: 'REPORT_RESOLVED', data: { reviewItemId: p.reviewItemId, status: p.status }, source: `report:${r.id}` }));
      }
    }
    return [];
  }

  /**
   * A request to join a group, told to its owners, or to the admins when it has none (as
   * Discourse), but the requester; not once it waits no more (decided, withdrawn, or ended
   * otherwise: a late event). About no post or topic: it reaches its recipients whatever they
   * read. One per request and recipient.
   * Both kinds store the group's id (`data.groupId`), never its slug or name, which may change
   * after the notice is written: `asSeenSql` names the group as it is when read.
   */
  private async forGroupRequest(requestId: string): Promise<NotificationDraft[]> {
    const rows: Array<{ recipient: string; user_id: string; handle: string; group_id: string }> = await this.ds.query(
      `WITH r AS (
         SELECT r.user_id, r.group_id, u.handle FROM group_requests r JOIN users u ON u.id = r.user_id
          WHERE r.id = $1 AND r.decided_at IS NULL),
       owners AS (SELECT gm.user_id FROM group_members gm JOIN r ON gm.group_id = r.group_id WHERE gm.owner)
       SELECT o.recipient, r.* FROM r, (
         SELECT user_id AS recipient FROM owners
         UNION SELECT id FROM users WHERE role = 'ADMIN' AND deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM owners)) o
        WHERE o.recipient <> r.user_id`,
      [requestId],
    );
    return rows.map((r) => ({
      userId: r.recipient,
      kind: 'GROUP_MEMBERSHIP_REQUEST',
      actorId: r.user_id,
      data: { requestId, groupId: r.group_id, requester: r.handle },
      source: `group-request:${requestId}`,
    }));
  }

  /** A decided request to join a group, told to its requester: accepted (they are in) or declined. */
  private async forGroupDecision(requestId: string): Promise<NotificationDraft[]> {
    const [r]: Array<{ user_id: string; accepted: boolean; group_id: string }> = await this.ds.query(
      `SELECT r.user_id, r.accepted, r.group_id FROM group_requests r WHERE r.id = $1 AND r.decided_at IS NOT NULL`,
      [requestId],
    );
    return r ? [{ userId: r.user_id, kind: 'GROUP_MEMBERSHIP_DECIDED', data: { requestId, accepted: r.accepted, groupId: r.group_id }, source: `group-request-decided:${requestId}` }] : [];
  }

  /**
   * A request ended because its group stopped taking requests, told to its requester with what
   * the group became (`data.joining`): OPEN, they may join it themselves; CLOSED, the request was
   * closed. Shown as a decision is, while they see the group (`groupNoticeSql`).
   */
  private async forGroupRequestClosed(requestId: string, joining: 'OPEN' | 'CLOSED'): Promise<NotificationDraft[]> {
    const [r]: Array<{ user_id: string; group_id: string }> = await this.ds.query(
      `SELECT r.user_id, r.group_id FROM group_requests r WHERE r.id = $1 AND r.ended = 'JOINING_CHANGED'`,
      [requestId],
    );
    return r ? [{ userId: r.user_id, kind: 'GROUP_REQUEST_CLOSED', data: { requestId, groupId: r.group_id, joining }, source: `group-request-closed:${requestId}` }] : [];
  }

  /**
   * Mentions, replies to your post, and replies in topics you watch; watch levels kept up to date;
   * and an approved post's author told (POST_APPROVED). Of several posts (a run of a batch's
   * new-post events, `newPostOf`) in three statements however many: their rows, everyone's watch
   * levels on their topics, and their authors' watches. Each post's news is drafted as if it were
   * alone, in their order: the levels it reads are those before the run with the watches the posts
   * before it (and itself) wrote, never one a later post wrote (a member who muted the board,
   * mentioned in a topic they reply to later in the run, hears of the mention no more than when
   * each post was drafted in turn). A post twice (a redelivered event, or a post created and
   * approved) is drafted twice, as in turn: `deliver` keeps the first of each recipient's.
   */
  private async forNewPosts(news: NewPost[]): Promise<NotificationDraft[]> {
    const rows: NewPostRow[] = await this.ds.query(
      `SELECT p.id, p.topic_id, p.number, p.author_id, p.state, b.kind AS board_kind,
              (SELECT author_id FROM posts r WHERE r.id = p.reply_to_post_id) AS reply_to_author,
              ARRAY(SELECT user_id FROM post_mentions m WHERE m.post_id = p.id) AS mentioned,
              ${postGroupMentionsJsonSql('p.id')} AS group_mentioned,
              ARRAY(SELECT q.author_id FROM post_quotes pq JOIN posts q ON q.id = pq.quoted_post_id WHERE pq.post_id = p.id) AS quoted
         FROM posts p JOIN topics t ON t.id = p.topic_id JOIN boards b ON b.id = t.board_id WHERE p.id = ANY($1::uuid[])`,
      [[...new Set(news.map((n) => n.postId))]],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    // In the events' order.
    // A kind that announces its own topics (an article, when it is published) does it once: a
    // worker that reaches the topic's creation only after that finds it visible, and stays silent.
    const posts = news.flatMap(({ postId, approved }) => {
      const post = byId.get(postId);
      return post && post.state === 'VISIBLE' && !(post.number === 1 && this.kinds.of(post.board_kind)?.announcesTopics) ? [{ ...post, approved }] : [];
    });
    // Its author hears it was approved, whatever became of it since (as they always did).
    const approvals = news.flatMap(({ postId, approved }): NotificationDraft[] => {
      const post = approved ? byId.get(postId) : undefined;
      return post ? [{ userId: post.author_id, kind: 'POST_APPROVED', topicId: post.topic_id, postId, source: `approved:${postId}` }] : [];
    });
    if (posts.length === 0) return approvals;
    const topicIds = [...new Set(posts.map((post) => post.topic_id))];
    const before: Array<{ topic_id: string; user_id: string; level: string }> = await this.ds.query(
      `SELECT nt.id AS topic_id, e.user_id, e.level FROM unnest($1::uuid[]) AS nt(id) CROSS JOIN LATERAL (${effectiveWatchesSql('nt.id')}) e`,
      [topicIds],
    );
    // Each author's watch of each topic, written by their first post there (later ones found it).
    const firstAt = new Map<string, number>();
    posts.forEach((post, i) => {
      const key = `${post.author_id} ${post.topic_id}`;
      if (!firstAt.has(key)) firstAt.set(key, i);
    });
    const firsts = [...firstAt.values()].map((i) => posts[i]);
    // Authors watch their topics; repliers track them (unless they chose otherwise, or watch the
    // whole board or one of the topic's tags: tracking the topic would hear less than that does).
    // Not an author whose account was deleted since they posted: their account is held FOR SHARE
    // (as UsersRepository.holdMember, in id order), so a deletion under way waits and takes the
    // watch, or is found. Nor an imported author's placeholder (a topic of theirs published to a
    // board, TOPIC_PUBLISHED): nobody signs in to it, and it hears nothing it would watch for
    // (viewersForUsers). Answers the watches it inserted, not those it found there (a follow a
    // merge copied, made theirs, included): only those change a level read before.
    // Topics before users, as `deliver` holds them: the run's topics are held FOR KEY SHARE first,
    // in id order, by the insert's own statement (`held`, read through a one-time filter, which
    // runs before the first user row is read, so before any is held), as its foreign key would
    // take them only after the users, in their authors' order; a move holds its topics FOR UPDATE
    // in id order, and a batch whose watches took a higher topic before a lower one the move held
    // deadlocked with it. One statement, one topic or several: no transaction around it.
    const written: Array<{ user_id: string; topic_id: string; level: string }> = await this.ds.query(
      `WITH held AS (SELECT id FROM topics WHERE id = ANY($4::uuid[]) ORDER BY id FOR KEY SHARE),
       w AS (
         INSERT INTO topic_watches (user_id, topic_id, level)
         SELECT au.id, nw.topic_id, nw.level FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS nw(user_id, topic_id, level)
           JOIN users au ON au.id = nw.user_id
          WHERE (SELECT count(*) FROM held) >= 0 AND au.deleted_at IS NULL AND NOT au.is_placeholder
            AND (nw.level = 'WATCHING' OR NOT EXISTS (SELECT 1 FROM (${inheritedWatchesSql('nw.topic_id')}) i WHERE i.user_id = au.id AND i.level = 'WATCHING'))
          ORDER BY au.id FOR SHARE OF au
         -- A follow a merge copied becomes theirs once they post here (an unmerge leaves it).
         ON CONFLICT (user_id, topic_id) DO UPDATE SET via_merge_of = NULL WHERE topic_watches.via_merge_of IS NOT NULL
         RETURNING user_id, topic_id, level, xmax = 0 AS inserted)
       SELECT user_id, topic_id, level FROM w WHERE inserted`,
      [firsts.map((post) => post.author_id), firsts.map((post) => post.topic_id), firsts.map((post) => (post.number === 1 ? 'WATCHING' : 'TRACKING')), topicIds],
    );
    // Each topic's levels, brought up to date post by post: a watch is set where the post that
    // wrote it is reached (it is on that post's topic), so each post reads those before it.
    const levels = new Map<string, Map<string, string>>(topicIds.map((id) => [id, new Map()]));
    for (const l of before) levels.get(l.topic_id)!.set(l.user_id, l.level);
    const writtenBy = groupBy(written, (w) => firstAt.get(`${w.user_id} ${w.topic_id}`)!);
    return [
      ...posts.flatMap((post, i) => {
        const level = levels.get(post.topic_id)!;
        for (const w of writtenBy.get(i) ?? []) level.set(w.user_id, w.level);
        return newPostDrafts(post, level);
      }),
      ...approvals,
    ];
  }

  /**
   * Someone else's edit of a post (a moderator's, a wiki editor's), told to its author as
   * Discourse does: one notification per post an hour, naming the first editor in it (later
   * edits in the hour find it delivered). Not for the author's own edits. Not ignorable: an
   * author hears of any change to their post, whoever made it.
   */
  private async forEditOf(postId: string, editorId: string, at: string | Date): Promise<NotificationDraft[]> {
    const [post] = await this.ds.query(`SELECT author_id, topic_id, number FROM posts WHERE id = $1`, [postId]);
    if (!post || post.author_id === editorId) return [];
    const hour = Math.floor(new Date(at).getTime() / 3_600_000);
    return [{ userId: post.author_id, kind: 'POST_EDITED', topicId: post.topic_id, postId, actorId: editorId, data: { number: post.number }, source: `edited:${postId}:${hour}` }];
  }

  /**
   * People an edit mentions, by name or through a group: under the post's source, so whoever
   * already heard of the post (mentioned in it before, or told of it as a reply) is not told
   * again; MUTED is respected. The one who mentions them is the editor (a moderator, say), not
   * necessarily the author. Neither the editor nor `publisherId` (who published the edit, an
   * article's publisher) is told of a mention in it: nobody hears of their own edit or publication.
   * The post's author is left out (a forum post's author is told of another's edit itself,
   * POST_EDITED), unless `reachAuthor`: an article's later publication, whose author hears of a
   * teammate's mention of them as at its first publication (KnowledgeNotifications).
   */
  private async forEditMentions(
    postId: string, mentioned: string[], groupIds: string[], editorId: string | null, publisherId: string | null = null, reachAuthor = false,
  ): Promise<NotificationDraft[]> {
    const rows: Array<{ user_id: string; group_id: string | null; author_id: string; topic_id: string; number: number }> = await this.ds.query(
      `SELECT DISTINCT ON (u.user_id) u.user_id, u.group_id, p.author_id, p.topic_id, p.number
         FROM posts p,
              (SELECT user_id, NULL::uuid AS group_id, NULL::text AS slug FROM unnest($2::uuid[]) AS n(user_id)
               UNION ALL SELECT user_id, group_id, slug FROM (${mentionedGroupMembersSql('$4::uuid[]')}) g) AS u
        WHERE p.id = $1 AND p.state = 'VISIBLE' AND ($6::boolean OR u.user_id <> p.author_id) AND u.user_id IS DISTINCT FROM $3::uuid AND u.user_id IS DISTINCT FROM $5::uuid
          AND NOT EXISTS (SELECT 1 FROM (${effectiveWatchesSql('p.topic_id')}) w WHERE w.user_id = u.user_id AND w.level = 'MUTED')
        ORDER BY u.user_id, u.slug NULLS FIRST`,
      [postId, mentioned, editorId, groupIds, publisherId, reachAuthor],
    );
    return rows.map((r) => ({
      userId: r.user_id,
      kind: r.group_id === null ? 'MENTION' : 'GROUP_MENTION',
      topicId: r.topic_id,
      postId,
      actorId: editorId ?? r.author_id,
      data: r.group_id === null ? { number: r.number, edited: true } : { number: r.number, edited: true, groupId: r.group_id },
      source: `post:${postId}`,
    }));
  }

  /**
   * Someone who took back their last reaction to a post leaves its batches: counted no more,
   * named no more (a batch that named them names the first reactor left), and a batch left with
   * nobody goes (it told of a reaction that is not there).
   */
  private async withdrawReactor(postId: string, userId: string): Promise<void> {
    // Two disjoint sets of batches in one statement: emptied ones go, the rest lose one reactor.
    await this.ds.query(
      `WITH gone AS (
         SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM reactions WHERE post_id = $1 AND user_id = $2::uuid)),
       emptied AS (
         DELETE FROM notifications
          WHERE post_id = $1 AND kind = 'REACTIONS' AND data->'reactors' ? $2::text AND EXISTS (SELECT 1 FROM gone)
            AND jsonb_array_length((data->'reactors') - $2::text) = 0)
       UPDATE notifications SET data = data || jsonb_build_object('reactors', (data->'reactors') - $2::text, 'count', jsonb_array_length((data->'reactors') - $2::text)),
              -- Of those left, the first whose account is still there (the column refers to users).
              actor_id = CASE WHEN actor_id = $2::uuid THEN (
                SELECT u.id FROM jsonb_array_elements_text((data->'reactors') - $2::text) WITH ORDINALITY AS r(id, i) JOIN users u ON u.id = r.id::uuid
                 ORDER BY r.i LIMIT 1) ELSE actor_id END
        WHERE post_id = $1 AND kind = 'REACTIONS' AND data->'reactors' ? $2::text AND EXISTS (SELECT 1 FROM gone)
          AND jsonb_array_length((data->'reactors') - $2::text) > 0`,
      [postId, userId],
    );
  }

  /**
   * Stores and pushes notifications, skipping recipients who may not read the post (when
   * there is one) and sources already delivered. Other modules' outbox handlers (ideas,
   * knowledge) deliver theirs through here too.
   */
  async deliver(drafts: NotificationDraft[]): Promise<void> {
    if (drafts.length === 0) return;
    const ready = await this.readableDrafts(drafts);
    // One statement per round; a round never holds the same (user, source) twice, which one
    // INSERT … ON CONFLICT DO UPDATE cannot take.
    const rounds: NotificationDraft[][] = [];
    const keys: Array<Set<string>> = [];
    for (const d of ready) {
      const key = `${d.userId} ${d.source}`;
      let i = 0;
      while (keys[i]?.has(key)) i++;
      (rounds[i] ??= []).push(d);
      (keys[i] ??= new Set()).add(key);
    }
    for (const round of rounds) {
      // News of a post its recipient has read already, as it is now (a live client marks it
      // read as it arrives, before this runs; an edit since is not read), is born read:
      // neither counted, nor pushed, nor e-mailed. Each recipient's account is held FOR SHARE (as
      // UsersRepository.holdMember holds one, in id order) and not deleted: a deletion that
      // began since the recipients were read waits and takes the notification, or came first and
      // the recipient is left out.
      // The post it is about (or, for a removal, of) is held FOR SHARE too, and the notice stored
      // where the post is now, its topic and its number (as movePosts rewrites notices about the
      // posts it moves): a move that committed since the drafts were read, or is under way (it
      // holds the posts FOR UPDATE), is not undone by a topic read before it. Topics before posts
      // (docs/architecture.md): the posts' topics are held FOR KEY SHARE first, in the round's
      // transaction, as the insert's foreign key would take them only after the posts; a move
      // (or moveTopic) holds its topic FOR UPDATE and then the posts, and the two deadlocked.
      // A round about no post holds none, so no topic either: its one statement, as it is.
      const postIds = [...new Set(round.flatMap((d) => d.postId ?? d.removedPostId ?? []))];
      const write = (m: EntityManager): Promise<Array<{ id: string }>> =>
        m.query(
          `WITH n AS (
             INSERT INTO notifications (id, user_id, kind, topic_id, post_id, actor_id, data, source, removed_post_id, read_at)
             SELECT u.id, u.user_id, u.kind, COALESCE(held.topic_id, u.topic_id), u.post_id, u.actor_id,
                    CASE WHEN held.id IS NOT NULL AND u.data ? 'number' THEN jsonb_set(u.data, '{number}', to_jsonb(held.number)) ELSE u.data END,
                    u.source, u.removed_post_id, CASE WHEN u.kind = ANY($9::text[]) AND NOT COALESCE((u.data->>'edited')::boolean, false) AND EXISTS (
                      SELECT 1 FROM posts p JOIN topic_reads r ON r.topic_id = held.topic_id AND r.user_id = u.user_id
                       WHERE p.id = u.post_id AND held.id = p.id AND r.last_read_number >= held.number AND (p.edited_at IS NULL OR r.updated_at >= p.edited_at)) THEN now() END
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[]::jsonb[], $8::text[], $10::uuid[])
                    AS u(id, user_id, kind, topic_id, post_id, actor_id, data, source, removed_post_id)
               JOIN users recipient ON recipient.id = u.user_id AND recipient.deleted_at IS NULL
               LEFT JOIN (SELECT id, topic_id, number FROM posts WHERE id = ANY($11::uuid[]) ORDER BY id FOR SHARE) held ON held.id = COALESCE(u.post_id, u.removed_post_id)
              -- Nothing a member the recipient ignores writes or reacts.
              WHERE NOT ${fromIgnoredSql({ userId: 'u.user_id', actorId: 'u.actor_id', kind: 'u.kind', data: 'u.data', topicId: 'u.topic_id', postId: 'u.post_id' })}
              ORDER BY u.user_id FOR SHARE OF recipient
             ON CONFLICT (user_id, source) DO UPDATE
               SET data = notifications.data || jsonb_build_object(
                            'count', (notifications.data->>'count')::int + 1,
                            'reactors', COALESCE(notifications.data->'reactors', '[]') || (EXCLUDED.data->'reactors')),
                   -- News again: at the top of the list, unread, and due to be e-mailed with the rest.
                   -- A claim of it under way (the digest's) is dropped: that run's e-mail tells the batch as it was, and marks this one nothing.
                   read_at = NULL, created_at = now(), emailed_at = NULL, email_claimed_at = NULL
             -- Batched reactions add up, each person once: a reaction from someone already counted (a
             -- redelivered event, or reacting again) changes nothing and does not mark it unread.
             WHERE notifications.kind = 'REACTIONS' AND NOT (COALESCE(notifications.data->'reactors', '[]') @> (EXCLUDED.data->'reactors'))
             RETURNING id, user_id, read_at)
           SELECT n.id, CASE WHEN n.read_at IS NULL THEN pg_notify('${NOTIFY_CHANNEL}', json_build_object('userId', n.user_id, 'id', n.id)::text) END FROM n`,
          [
            round.map(() => newId()),
            round.map((d) => d.userId),
            round.map((d) => d.kind),
            round.map((d) => d.topicId ?? null),
            round.map((d) => d.postId ?? null),
            round.map((d) => d.actorId ?? null),
            round.map((d) => JSON.stringify(d.data ?? {})),
            round.map((d) => d.source),
            READ_WITH_THE_TOPIC,
            round.map((d) => d.removedPostId ?? null),
            postIds,
          ],
        );
      const rows = postIds.length === 0 ? await write(this.ds.manager) : await this.writeHoldingTopics(postIds, round.flatMap((d) => d.topicId ?? []), write);
      if (rows.length < round.length) this.log.debug({ delivered: rows.length, drafted: round.length }, 'some notifications were already delivered');
    }
  }

  /**
   * `write` in a transaction that first holds the posts' topics (`holdTopicsOf`); run again from
   * the start, holding nothing, whenever a post moved out of the topics held while the hold
   * waited: the topics it is in now are then all held in id order, never one after a later one.
   * Each time again means a move of them committed while it waited: after HOLD_TOPICS_TRIES it
   * fails, rather than chase posts moved on and on, and the outbox tries the batch's events again
   * one by one (only those whose posts still move wait).
   */
  private async writeHoldingTopics<T>(postIds: string[], topicIds: string[], write: (m: EntityManager) => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.ds.transaction(async (m) => {
          await holdTopicsOf(m, postIds, topicIds);
          return write(m);
        });
      } catch (err) {
        if (!(err instanceof TopicsMoved)) throw err;
        if (tries >= HOLD_TOPICS_TRIES) throw new TopicsKeptMoving(tries);
        this.log.debug({ posts: postIds.length }, 'a post moved while its delivery waited for its topic; holding its topics again');
      }
    }
  }
}

/** How often `writeHoldingTopics` holds the posts' topics, each time after a move of them, before it fails. */
export const HOLD_TOPICS_TRIES = 5;

/**
 * `writeHoldingTopics` gave up: its posts moved out of the topics it held HOLD_TOPICS_TRIES times
 * in a row. Moves of them going on, not a fault: the outbox logs it as a warning
 * (`OutboxRetryLater`) and tries the batch's events again one by one, so only an event whose post
 * still moves waits for its back-off, the rest of the batch delivered at once.
 */
export class TopicsKeptMoving extends OutboxRetryLater {
  constructor(tries: number) {
    super(`posts moved out of the topics held for their delivery ${tries} times in a row; left for the outbox to try again`);
    this.name = 'TopicsKeptMoving';
  }
}

/** A post an event announces as new, and whether as approved (`post.approved`). */
interface NewPost {
  postId: string;
  approved: boolean;
}

/**
 * The post an event announces as new, or null: a post created; a post approved (others hear
 * about it now, as if it were new; its author hears it was approved); a topic published to a
 * board (a PUBLISH_TO_BOARD timer) is new there: its first post is announced as at its creation,
 * where it is now. Under the same source (`post:<id>`), so whoever heard of it then (the private
 * board's watchers, those it mentioned who could read it there) is not told again; those who
 * could not read it then, and the new board's and its tags' watchers, are, if they may read it now.
 */
function newPostOf(e: OutboxEvent): NewPost | null {
  if (e.type !== 'post.created' && e.type !== 'post.approved' && e.type !== TOPIC_PUBLISHED) return null;
  return { postId: String(e.payload.postId), approved: e.type === 'post.approved' };
}

/** A new post as `forNewPosts` reads it. */
interface NewPostRow {
  id: string;
  topic_id: string;
  number: number;
  author_id: string;
  state: string;
  board_kind: BoardKind;
  reply_to_author: string | null;
  mentioned: string[];
  group_mentioned: Array<[string, string]>;
  quoted: string[];
}

/**
 * The news of a new post (announced as approved or not, `NewPost`), by everyone's watch `level` on
 * its topic: each recipient hears it once, for their highest reason (PRIORITY).
 */
function newPostDrafts(post: NewPostRow & Pick<NewPost, 'approved'>, level: ReadonlyMap<string, string>): NotificationDraft[] {
  const reasons = new Map<string, string>();
  const groupOf = new Map<string, string>();
  const add = (userId: string | null, kind: string) => {
    if (!userId || userId === post.author_id || level.get(userId) === 'MUTED') return;
    if ((PRIORITY[kind] ?? 0) > (PRIORITY[reasons.get(userId) ?? ''] ?? 0)) reasons.set(userId, kind);
  };
  for (const u of post.mentioned) add(u, 'MENTION');
  for (const [u, groupId] of post.group_mentioned) {
    if (!groupOf.has(u)) groupOf.set(u, groupId);
    add(u, 'GROUP_MENTION');
  }
  for (const u of post.quoted) add(u, 'QUOTED');
  add(post.reply_to_author, 'REPLY');
  // WATCHING a topic hears its replies; WATCHING a board or tag hears its new topics too, and
  // WATCHING_FIRST_POST its new topics alone.
  for (const [u, l] of level) {
    if (l === 'WATCHING') add(u, post.number > 1 ? 'WATCHED_REPLY' : 'NEW_TOPIC');
    else if (l === 'WATCHING_FIRST_POST' && post.number === 1) add(u, 'NEW_TOPIC');
  }
  const drafts: NotificationDraft[] = [];
  for (const [userId, kind] of reasons) {
    const data = kind === 'GROUP_MENTION' ? { number: post.number, approved: post.approved, groupId: groupOf.get(userId) } : { number: post.number, approved: post.approved };
    drafts.push({ userId, kind, topicId: post.topic_id, postId: post.id, actorId: post.author_id, data, source: `post:${post.id}` });
  }
  return drafts;
}

/** A post moved out of the topics `holdTopicsOf` held while it waited for them. */
class TopicsMoved extends Error {}

/**
 * Holds FOR KEY SHARE, in id order, the topics the posts are in and those named (the drafts' own):
 * no move of them
 * (it holds its topics FOR UPDATE, in id order, then the posts) starts before the caller's
 * transaction ends, nor is one under way waited for while the caller holds a post. A move that
 * committed while this waited may have put a post in a topic not held: then it throws TopicsMoved,
 * and its transaction, rolled back, lets every topic go. Holding that topic too, after those held,
 * would take it out of id order: a second move of the post, holding it and waiting for one of
 * those, deadlocked with the delivery.
 */
async function holdTopicsOf(m: EntityManager, postIds: string[], topicIds: string[]): Promise<void> {
  const held: Array<{ id: string }> = await m.query(
    `SELECT id FROM topics WHERE id IN (SELECT topic_id FROM posts WHERE id = ANY($1::uuid[])) OR id = ANY($2::uuid[]) ORDER BY id FOR KEY SHARE`,
    [postIds, topicIds],
  );
  // Read again once held: the statement above read the posts' topics before it waited.
  const moved: unknown[] = await m.query(`SELECT 1 FROM posts WHERE id = ANY($1::uuid[]) AND topic_id <> ALL($2::uuid[]) LIMIT 1`, [postIds, held.map((t) => t.id)]);
  if (moved.length > 0) throw new TopicsMoved();
}

/**
 * A move of posts, told to their authors as Discourse does ("moved your post"): one notice per
 * author (the mover aside) naming the first of their posts where it went, with how many moved.
 * Deleted ones are nobody's news; delivery checks each author may read the post where it is now.
 */
function movedPostsNotices(e: OutboxEvent): NotificationDraft[] {
  const p = e.payload as { moverId?: unknown; toTopicId?: unknown; posts?: unknown };
  if (typeof p.moverId !== 'string' || typeof p.toTopicId !== 'string' || !Array.isArray(p.posts)) return []; // an older event
  const byAuthor = new Map<string, Array<{ postId: string; number: number }>>();
  for (const m of p.posts as Array<{ postId: string; number: number; state: string; authorId: string }>) {
    if (m.authorId === p.moverId || m.state === 'DELETED') continue;
    byAuthor.set(m.authorId, [...(byAuthor.get(m.authorId) ?? []), m]);
  }
  return [...byAuthor].map(([userId, posts]) => {
    const first = posts.reduce((a, b) => (b.number < a.number ? b : a));
    return { userId, kind: 'POST_MOVED', topicId: p.toTopicId as string, postId: first.postId, actorId: p.moverId as string, data: { count: posts.length, number: first.number }, source: `moved:${first.postId}:${e.id}` };
  });
}
