import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../access/src/access-level';
import { groupBy } from '../../core/src/group-by';
import { AccessService } from '../../access/src/access.service';
import { OutboxEvent, OutboxHandler } from '../../core/src/outbox/outbox';
import { SessionsService } from '../../identity/src/sessions/sessions.service';
import { NotificationDraft, NotificationsHandler } from '../../notifications/src/notifications.handler';
import { ignoresSql, NotificationAudience } from '../../notifications/src/notifications';
import { Viewer } from '../../core/src/graphql/viewer';
import { ArticleLoaders } from './articles/article.loaders';
import { effectiveWatchesSql } from '../../notifications/src/watch-levels';
import { groupMentionsJsonSql, postGroupMentionsJsonSql } from '../../notifications/src/group-mentions';
import { ArticleState } from './articles/article.model';

/** The article states readers are ever shown (see ArticleModel.state). */
const READER_STATES: unknown[] = [ArticleState.PUBLISHED, ArticleState.ARCHIVED];

/** The notification kinds the knowledge base adds. */
const ARTICLE_NOTIFICATION_KINDS = {
  SUBMITTED: 'ARTICLE_SUBMITTED',
  CHANGES_REQUESTED: 'ARTICLE_CHANGES_REQUESTED',
  RETURNED_TO_DRAFT: 'ARTICLE_RETURNED_TO_DRAFT',
  PUBLISHED: 'ARTICLE_PUBLISHED',
  ARCHIVED: 'ARTICLE_ARCHIVED',
  UNARCHIVED: 'ARTICLE_UNARCHIVED',
  VERIFICATION_DUE: 'ARTICLE_VERIFICATION_DUE',
  FEEDBACK: 'ARTICLE_FEEDBACK',
} as const;

/** A draft as `draftsFor` makes it: `editorsOf`, a team step's recipient the article does not name, kept if they edit that space (`onTeam`). */
type Draft = NotificationDraft & { editorsOf?: string };

interface Facts {
  author_id: string;
  space_id: string;
  board_id: string;
  post_id: string;
  owner_user_id: string | null;
  owner_group_id: string | null;
  group_members: string[];
  /** Authors of the revisions since the publication before this event. */
  contributors: string[];
  credited: string[];
  /** Who wrote the revision the event names (a publication's), if it names one. */
  writer_id: string | null;
  /** Who a publication newly mentions (its event's `mentions`: all at a first one), else the article's first post. */
  mentioned: string[];
  /** Members of the groups `mentioned`'s publication (or post) mentions, with the group's id (see postGroupMentionsJsonSql). */
  group_mentioned: Array<[string, string]>;
  /** Who holds a notice of its first post already (its source, `post:`): a mention of it does not reach them again. */
  told_of_post: string[];
  /** Who ignores the mentions' sender (`writer_id`, else the author): a mention from them does not reach them (`fromIgnoredSql`). */
  ignoring_sender: string[];
  /** Watch levels on the article as notifications apply them (its own, else its board's and tags'). */
  watchers: Array<[string, string]>;
}

/**
 * Turns the knowledge base's events into notifications, through the notifications module's
 * idempotent, access-checked delivery (one per user and source; nobody hears about an article
 * they may not read). Workflow steps on drafts (submitted, changes requested) only reach the
 * article's team — author, owners, contributors, editors — even among its watchers, since a
 * reader who watches a published article may not see its drafts.
 */
@Injectable()
export class KnowledgeNotifications implements OutboxHandler {
  readonly name = 'knowledge-notifications';

  constructor(
    private readonly ds: DataSource,
    private readonly notifications: NotificationsHandler,
    private readonly sessions: SessionsService,
    private readonly access: AccessService,
  ) {}

  handles(type: string): boolean {
    return type === 'article.state_changed' || type === 'article.verification_due' || type === 'article.feedback';
  }

  /**
   * A batch (the verification job emits up to 500 reminders at once) costs the same statements
   * however many events it holds: the facts of all its articles in one statement, the editors
   * among all its team steps' recipients in one more, and one delivery of every draft.
   */
  async handle(events: OutboxEvent[]): Promise<void> {
    const facts = await this.facts(events);
    // Who a mention of this batch reaches, by post (one source per post: a later one is not delivered).
    const reached = new Set<string>();
    const drafts = events.flatMap((e, i) => (facts[i] ? this.draftsFor(e, facts[i], reached) : []));
    await this.notifications.deliver(await this.onTeam(drafts));
  }

  /** Each event's facts (undefined for an article gone), in the events' order, in one statement. */
  private async facts(events: OutboxEvent[]): Promise<Array<Facts | undefined>> {
    const payload = (e: OutboxEvent) => e.payload as Record<string, any>;
    const rows: Array<Facts & { i: number }> = await this.ds.query(
      `SELECT e.n::int - 1 AS i, t.author_id, t.space_id, t.board_id, p.id AS post_id, a.owner_user_id, a.owner_group_id,
              ARRAY(SELECT user_id FROM group_members WHERE group_id = a.owner_group_id) AS group_members,
              ARRAY(SELECT DISTINCT r.author_id FROM article_revisions r WHERE r.topic_id = a.topic_id
                      AND r.number > COALESCE((SELECT max(number) FROM article_revisions
                                                 WHERE topic_id = a.topic_id AND published_at IS NOT NULL AND id IS DISTINCT FROM e.revision_id), 0)) AS contributors,
              ARRAY(SELECT user_id FROM article_credits WHERE topic_id = a.topic_id) AS credited,
              wr.author_id AS writer_id,
              ARRAY(SELECT i.user_id FROM user_ignores i WHERE i.ignored_user_id = COALESCE(wr.author_id, t.author_id)
                       AND ${ignoresSql('i.user_id', 'i.ignored_user_id')}) AS ignoring_sender,
              CASE WHEN e.mentions IS NULL THEN ARRAY(SELECT user_id FROM post_mentions WHERE post_id = p.id)
                   ELSE ARRAY(SELECT jsonb_array_elements_text(e.mentions->'mentionedUserIds')::uuid) END AS mentioned,
              ARRAY(SELECT n.user_id FROM notifications n WHERE n.post_id = p.id AND n.source = 'post:' || p.id::text) AS told_of_post,
              CASE WHEN e.mentions IS NULL THEN ${postGroupMentionsJsonSql('p.id')}
                   ELSE ${groupMentionsJsonSql(`ARRAY(SELECT jsonb_array_elements_text(e.mentions->'mentionedGroupIds')::uuid)`)} END AS group_mentioned,
              (SELECT COALESCE(json_agg(json_build_array(w.user_id, w.level)), '[]') FROM (${effectiveWatchesSql('a.topic_id')}) w) AS watchers
         FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]) WITH ORDINALITY AS e(topic_id, revision_id, mentions, n)
         JOIN articles a ON a.topic_id = e.topic_id JOIN topics t ON t.id = a.topic_id JOIN posts p ON p.topic_id = t.id AND p.number = 1
         LEFT JOIN LATERAL (SELECT author_id FROM article_revisions WHERE id = e.revision_id AND topic_id = a.topic_id) wr ON true`,
      [
        events.map((e) => String(payload(e).topicId)),
        events.map((e) => (e.type === 'article.state_changed' ? (payload(e).revisionId ?? null) : null)),
        // A publication's new mentions, as published; null (an event from before they were carried): the post's as it is.
        events.map((e) => (e.type === 'article.state_changed' && payload(e).mentions ? JSON.stringify(payload(e).mentions) : null)),
      ],
    );
    const facts: Array<Facts | undefined> = events.map(() => undefined);
    for (const { i, ...f } of rows) facts[i] = f;
    return facts;
  }

  /**
   * The drafts for the article's team alone (see draftsFor: `editorsOf`, a recipient it does not
   * name) kept for the editors of its space, whose access is read for all the batch's in one statement.
   */
  private async onTeam(drafts: Draft[]): Promise<NotificationDraft[]> {
    const asked = drafts.filter((d) => d.editorsOf !== undefined);
    const viewers = asked.length ? await this.sessions.viewersForUsers([...new Set(asked.map((d) => d.userId))]) : new Map<string, Viewer>();
    const kept: NotificationDraft[] = [];
    for (const { editorsOf, ...d } of drafts) {
      const viewer = editorsOf === undefined ? null : viewers.get(d.userId);
      if (editorsOf === undefined || (viewer && (await this.access.rankOn(viewer, editorsOf)) >= LEVEL_RANK.MODERATE)) kept.push(d);
    }
    return kept;
  }

  private owners(f: Facts): string[] {
    if (f.owner_user_id) return [f.owner_user_id];
    if (f.owner_group_id) return f.group_members;
    return [f.author_id];
  }

  /**
   * The article's author and owners: its team, with the editors (see onTeam), as
   * ArticleLoaders.access has it. Someone who once wrote a revision is not on it for that:
   * handed to other owners, they read the article as any reader does.
   */
  private named(userId: string, f: Facts): boolean {
    return userId === f.author_id || this.owners(f).includes(userId);
  }

  /**
   * An event's drafts, as its article's facts tell them. A step for the article's team alone
   * marks those of its recipients the article does not name (`editorsOf`: its space), kept only
   * if they are editors there (`onTeam`). `reached`: who the batch's mentions so far reach, by
   * post, which this event's add to.
   */
  private draftsFor(e: OutboxEvent, f: Facts, reached: Set<string>): Draft[] {
    const p = e.payload as Record<string, any>;
    const topicId = String(p.topicId);
    const muted = new Set(f.watchers.filter(([, level]) => level === 'MUTED').map(([u]) => u));
    const watching = f.watchers.filter(([, level]) => level === 'WATCHING').map(([u]) => u);
    // Watching a board or tag's first posts: an article's first publication is its new topic.
    const firstPosts = f.watchers.filter(([, level]) => level === 'WATCHING_FIRST_POST').map(([u]) => u);
    const base = { topicId, postId: f.post_id };

    if (e.type === 'article.verification_due') {
      return this.owners(f).map((userId) => ({ ...base, userId, kind: ARTICLE_NOTIFICATION_KINDS.VERIFICATION_DUE, data: { dueAt: p.dueAt }, source: `verify:${topicId}:${p.dueAt}` }));
    }
    if (e.type === 'article.feedback') {
      return this.owners(f)
        .filter((u) => u !== p.userId)
        .map((userId) => ({ ...base, userId, kind: ARTICLE_NOTIFICATION_KINDS.FEEDBACK, actorId: p.userId, data: { reviewItemId: p.reviewItemId }, source: `feedback:${p.feedbackId}` }));
    }

    const to = p.to as ArticleState;
    let kind: string;
    let recipients: string[];
    let teamOnly = false;
    if (to === ArticleState.IN_REVIEW) {
      kind = ARTICLE_NOTIFICATION_KINDS.SUBMITTED;
      recipients = [f.author_id, ...this.owners(f), ...f.contributors, ...watching];
      teamOnly = true;
    } else if (to === ArticleState.DRAFT && p.from === ArticleState.IN_REVIEW) {
      // Sent back by an editor, or edited while it waited (what was submitted is no longer what would be published).
      kind = p.edited ? ARTICLE_NOTIFICATION_KINDS.RETURNED_TO_DRAFT : ARTICLE_NOTIFICATION_KINDS.CHANGES_REQUESTED;
      // The submitter from the event: requesting changes clears the article's submitted_by before this runs.
      recipients = [f.author_id, ...this.owners(f), ...f.contributors, ...(p.submittedBy ? [p.submittedBy] : []), ...watching];
      teamOnly = true;
    } else if (to === ArticleState.PUBLISHED && p.from !== ArticleState.ARCHIVED) {
      kind = ARTICLE_NOTIFICATION_KINDS.PUBLISHED;
      recipients = [f.author_id, ...this.owners(f), ...f.contributors, ...watching, ...(p.firstPublication ? [...f.credited, ...firstPosts] : [])];
    } else if (to === ArticleState.ARCHIVED) {
      kind = ARTICLE_NOTIFICATION_KINDS.ARCHIVED;
      recipients = [f.author_id, ...this.owners(f), ...watching];
    } else if (p.from === ArticleState.ARCHIVED) {
      kind = ARTICLE_NOTIFICATION_KINDS.UNARCHIVED;
      recipients = [f.author_id, ...this.owners(f), ...watching];
      teamOnly = to !== ArticleState.PUBLISHED;
    } else {
      return [];
    }
    // Those told of a first publication only as watchers of its board or tags (or of the draft)
    // hear of its author's new topic, as NEW_TOPIC tells of one: not if they ignore the author
    // (fromIgnoredSql reads `writerId`). Its team and the people it credits hear of the step.
    const announced = p.firstPublication ? new Set([...watching, ...firstPosts]) : new Set<string>();
    for (const userId of [f.author_id, ...this.owners(f), ...f.contributors, ...f.credited]) announced.delete(userId);
    // Mentions in an article notify when readers can first see them: at its first publication,
    // from the published revision's writer (not necessarily its author); at a later one, those its
    // revision added, as a post's edit tells them, from its writer too (both its event's `mentions`).
    // Neither that writer (nobody hears of their own mention) nor its publisher (who read it) is
    // told; the article's author is, when a teammate wrote the revision naming them, as a
    // document's author is told of a co-author's mention. Delivery judges each recipient's
    // access (`deliver`); one source per post: told once.
    // One notice per person for one publication, the more specific, as Discourse and Khoros tell
    // of a post (and `NotificationsHandler`'s PRIORITY: a mention above any other reason):
    // whoever its mention reaches is not told of its step (ARTICLE_PUBLISHED) too. One it does not
    // reach, told of the post before (by an earlier publication, or an earlier event of the
    // batch: `reached`), hears of the step.
    const mentions: Draft[] = [];
    const mentioned = new Set<string>();
    if (kind === ARTICLE_NOTIFICATION_KINDS.PUBLISHED && (p.firstPublication || p.mentions)) {
      const sender = f.writer_id ?? f.author_id;
      // Nor whoever ignores the sender: delivery would drop the mention, which must then not take the step's place.
      const told = (userId: string) => userId !== p.actorId && userId !== sender && !muted.has(userId) && !f.ignoring_sender.includes(userId);
      const data = { number: 1, article: true, ...(p.firstPublication ? {} : { edited: true }) };
      const reach = (userId: string) => {
        const key = `${userId} ${f.post_id}`;
        if (!f.told_of_post.includes(userId) && !reached.has(key)) mentioned.add(userId);
        reached.add(key);
      };
      for (const userId of f.mentioned) {
        if (!told(userId)) continue;
        mentions.push({ ...base, userId, kind: 'MENTION', actorId: sender, data, source: `post:${f.post_id}` });
        reach(userId);
      }
      // After the named ones: someone both named and in a mentioned group hears it once, as a mention.
      for (const [userId, groupId] of f.group_mentioned) {
        if (!told(userId)) continue;
        mentions.push({ ...base, userId, kind: 'GROUP_MENTION', actorId: sender, data: { ...data, groupId }, source: `post:${f.post_id}` });
        reach(userId);
      }
    }
    const drafts: Draft[] = [];
    const told = [...new Set(recipients)].filter((userId) => userId !== p.actorId && !muted.has(userId) && !mentioned.has(userId));
    for (const userId of told) {
      // A reader never saw a draft or a review (Article.state shows them PUBLISHED or ARCHIVED): the state it left is not theirs to learn.
      const from = teamOnly || this.named(userId, f) || READER_STATES.includes(p.from) ? p.from : null;
      const data = { from, to, reason: p.reason ?? null, ...(announced.has(userId) ? { writerId: f.author_id } : {}) };
      const editorsOf = teamOnly && !this.named(userId, f) ? f.space_id : undefined;
      drafts.push({ ...base, userId, kind, actorId: p.actorId ?? null, data, source: `article:${p.eventId}`, ...(editorsOf ? { editorsOf } : {}) });
    }
    drafts.push(...mentions);
    return drafts;
  }
}

/**
 * An audience's answers for `items` (in their order), asked of `judge` once per topic for all the
 * viewers of the items about it, the rows read through one viewer's loaders (`rowsVia`): a
 * delivery to many recipients, or a page of one viewer's notices, costs the same statements
 * however many it holds.
 */
async function perTopic(
  items: ReadonlyArray<{ viewer: Viewer; topicId: string }>,
  rowsVia: Viewer,
  judge: (viewers: Viewer[], topicId: string, rowsVia: Viewer) => Promise<boolean[]>,
): Promise<boolean[]> {
  const byTopic = groupBy(items.keys(), (i) => items[i].topicId);
  const seen = items.map(() => false);
  await Promise.all(
    [...byTopic].map(async ([topicId, group]) => {
      const answers = await judge(group.map((i) => items[i].viewer), topicId, rowsVia);
      group.forEach((i, j) => (seen[i] = answers[j]));
    }),
  );
  return seen;
}

/**
 * Review steps (submitted, changes asked for, sent back to draft, unarchived to a draft) and
 * readers' "not helpful" feedback (who sent it: Article.feedback is the team's) are the article
 * team's news, even when the article itself is published for all: someone who
 * left the team since (an owner replaced, a member who left the owner group, an editor no
 * more) no longer sees them, nor counts them, nor gets them by e-mail. The team is as
 * ArticleLoaders.access has it: the author, the owner (or the owner group's members), editors.
 */
@Injectable()
export class ArticleTeamAudience implements NotificationAudience {
  private static readonly STEPS = [
    ARTICLE_NOTIFICATION_KINDS.SUBMITTED, ARTICLE_NOTIFICATION_KINDS.CHANGES_REQUESTED, ARTICLE_NOTIFICATION_KINDS.RETURNED_TO_DRAFT, ARTICLE_NOTIFICATION_KINDS.FEEDBACK,
  ] as string[];

  readonly narrowsSql = `(n.kind IN (${ArticleTeamAudience.STEPS.map((k) => `'${k}'`).join(', ')})
    OR (n.kind = '${ARTICLE_NOTIFICATION_KINDS.UNARCHIVED}' AND n.data->>'to' IS DISTINCT FROM '${ArticleState.PUBLISHED}'))`;

  readonly seesSql = `EXISTS (
    SELECT 1 FROM articles a JOIN topics t ON t.id = a.topic_id
     WHERE a.topic_id = n.topic_id
       AND (t.author_id = $1::uuid OR a.owner_user_id = $1::uuid OR t.space_id = ANY($3::uuid[])
            OR EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = a.owner_group_id AND gm.user_id = $1::uuid)))`;

  constructor(private readonly loaders: ArticleLoaders) {}

  narrows(kind: string, data: unknown): boolean {
    if (ArticleTeamAudience.STEPS.includes(kind)) return true;
    return kind === ARTICLE_NOTIFICATION_KINDS.UNARCHIVED && (data as { to?: unknown } | null)?.to !== ArticleState.PUBLISHED;
  }

  sees(items: ReadonlyArray<{ viewer: Viewer; topicId: string }>, rowsVia: Viewer): Promise<boolean[]> {
    return perTopic(items, rowsVia, (viewers, topicId, via) => this.loaders.onTeamForEach(viewers, topicId, via));
  }
}

/**
 * "An article you own is due for verification" is for its owners as they are now (the owner, the
 * owner group's members, the author while nobody owns it; `ownsArticle`), as its reminder is
 * written for the owners of the day: an owner replaced, or a member who left the owner group, no
 * longer sees it, nor counts it, nor gets it by e-mail.
 */
@Injectable()
export class ArticleOwnerAudience implements NotificationAudience {
  readonly narrowsSql = `n.kind = '${ARTICLE_NOTIFICATION_KINDS.VERIFICATION_DUE}'`;

  readonly seesSql = `EXISTS (
    SELECT 1 FROM articles a JOIN topics t ON t.id = a.topic_id
     WHERE a.topic_id = n.topic_id
       AND CASE WHEN a.owner_user_id IS NOT NULL THEN a.owner_user_id = $1::uuid
                WHEN a.owner_group_id IS NOT NULL THEN EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = a.owner_group_id AND gm.user_id = $1::uuid)
                ELSE t.author_id = $1::uuid END)`;

  constructor(private readonly loaders: ArticleLoaders) {}

  narrows(kind: string): boolean {
    return kind === ARTICLE_NOTIFICATION_KINDS.VERIFICATION_DUE;
  }

  sees(items: ReadonlyArray<{ viewer: Viewer; topicId: string }>, rowsVia: Viewer): Promise<boolean[]> {
    return perTopic(items, rowsVia, (viewers, topicId, via) => this.loaders.ownsForEach(viewers, topicId, via));
  }
}
