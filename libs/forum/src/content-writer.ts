import { Injectable } from '@nestjs/common';
import { ContentState } from '../../access/src/access-level';
import { AccessService } from '../../access/src/access.service';
import { Tx } from '../../core/src/database/unit-of-work';
import { AppError } from '../../core/src/errors';
import { Viewer } from '../../core/src/graphql/viewer';
import { newId } from '../../core/src/ids';
import { RenderedContent } from '../../content/src/renderer';
import { ContentRenderer } from '../../content/src/renderer';
import { UsersRepository } from '../../identity/src/users/users.repository';

/**
 * The part of the content pipeline every post goes through: render and sanitize,
 * then (inside the caller's transaction) record the revision, the mentioned users
 * and the quoted posts.
 */
@Injectable()
export class ContentWriter {
  constructor(
    private readonly renderer: ContentRenderer,
    private readonly access: AccessService,
    private readonly users: UsersRepository,
  ) {}

  render(markdown: string): RenderedContent {
    return this.renderer.render(markdown);
  }

  /**
   * Holds a new post's author's account (`UsersRepository.holdMember`, FOR SHARE) before
   * anything of the post is written, the account first as every write that holds one: a
   * deletion under way waits and takes what the post leaves of the person (its read mark,
   * `markOwnPostRead`), or came first, and nothing is written (UNAUTHENTICATED). The post's
   * foreign key alone takes FOR KEY SHARE, which the deletion does not wait for.
   */
  async holdAuthor(tx: Tx, authorId: string): Promise<void> {
    if (!(await this.users.holdMember(tx, authorId))) throw AppError.unauthenticated();
  }

  /**
   * A topic its author started, or a reply's author joined, counts as opened by them up to
   * their post when they had not opened it before (no read mark): others' replies after it are
   * unread for them (the UNREAD feed, `Topic.unreadCount`), as they would be had they opened it.
   * A read mark they have already stays as it is: posts that arrived while they wrote are
   * not taken as read.
   */
  async markOwnPostRead(tx: Tx, authorId: string, topicId: string, number: number): Promise<void> {
    await tx.query(`INSERT INTO topic_reads (user_id, topic_id, last_read_number) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [authorId, topicId, number]);
  }

  async recordRevision(tx: Tx, postId: string, editorId: string, source: string, reason: string | null): Promise<void> {
    // A first post's revision keeps its topic's title and tags as they are now: callers record
    // it once the topic has taken this version's title.
    await tx.query(
      `INSERT INTO post_revisions (id, post_id, number, editor_id, reason, body_source, title, tags)
       SELECT $1, p.id, (SELECT COALESCE(max(number), 0) + 1 FROM post_revisions WHERE post_id = $2), $3, $4, $5,
              CASE WHEN p.number = 1 THEN t.title END, CASE WHEN p.number = 1 THEN t.tags END
         FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = $2`,
      [newId(), postId, editorId, reason, source],
    );
  }

  /**
   * Records the post's mentions and quotes from its rendered body, replacing earlier ones
   * on an edit (`replace`). Mentions resolve to existing users only; a quote keeps a reference
   * only when the author could read the quoted post (in full, in a topic they can see).
   * `mentionedUserIds` are the users the text mentions that it did not mention before: on an
   * edit, only those the edit added are news (as Discourse has it), whoever may read it now.
   */
  async recordReferences(
    tx: Tx,
    viewer: Viewer,
    postId: string,
    rendered: RenderedContent,
    opts: { replace: boolean },
  ): Promise<{ mentionedUserIds: string[]; mentionedGroupIds: string[] }> {
    const before = new Set<string>();
    const groupsBefore = new Set<string>();
    if (opts.replace) {
      const was = await tx.query<{ user_id: string }>(`DELETE FROM post_mentions WHERE post_id = $1 RETURNING user_id`, [postId]);
      for (const r of was) before.add(r.user_id);
      const groupsWere = await tx.query<{ group_id: string }>(`DELETE FROM post_group_mentions WHERE post_id = $1 RETURNING group_id`, [postId]);
      for (const r of groupsWere) groupsBefore.add(r.group_id);
      await tx.query(`DELETE FROM post_quotes WHERE post_id = $1`, [postId]);
    }
    let mentionedUserIds: string[] = [];
    let mentionedGroupIds: string[] = [];
    if (rendered.mentions.length) {
      const users = await this.users.findByHandles(rendered.mentions, tx.manager);
      mentionedUserIds = [...new Set(users.map((u) => u.id))];
      if (mentionedUserIds.length) {
        await tx.query(`INSERT INTO post_mentions (post_id, user_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`, [postId, mentionedUserIds]);
      }
      // A name no user has may be a group's slug (a user's handle comes first).
      const handles = new Set(users.map((u) => u.handle));
      mentionedGroupIds = await this.recordGroupMentions(tx, viewer, postId, rendered.mentions.filter((h) => !handles.has(h)), groupsBefore);
    }
    if (rendered.quotedPostIds.length) {
      const quoted = await tx.query<{ id: string; space_id: string; state: ContentState; author_id: string; topic_state: ContentState; topic_author_id: string }>(
        `SELECT p.id, p.space_id, p.state, p.author_id, t.state AS topic_state, t.author_id AS topic_author_id
           FROM posts p JOIN topics t ON t.id = p.topic_id
          WHERE p.id = ANY($1::uuid[]) AND p.id <> $2`,
        [rendered.quotedPostIds, postId],
      );
      const ranks = await this.access.spaceRanks(viewer);
      const readable = quoted.filter((q) => {
        const rank = ranks.get(q.space_id) ?? 0;
        return (
          this.access.contentView(viewer, rank, { state: q.state, authorId: q.author_id, deletedFrom: null }) === 'full' &&
          this.access.contentView(viewer, rank, { state: q.topic_state, authorId: q.topic_author_id, deletedFrom: null }) === 'full'
        );
      });
      if (readable.length) {
        await tx.query(
          `INSERT INTO post_quotes (post_id, quoted_post_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`,
          [postId, readable.map((q) => q.id)],
        );
      }
    }
    return { mentionedUserIds: mentionedUserIds.filter((id) => !before.has(id)), mentionedGroupIds: mentionedGroupIds.filter((id) => !groupsBefore.has(id)) };
  }

  /**
   * The groups named that the writer may mention (see GroupMentionable): EVERYONE's, those of
   * their own groups that members may mention, and for staff those staff may. Naming another
   * group is plain text: it tells nobody, and says nothing of who is in it. Groups the text
   * mentioned before this edit (`kept`) stay mentioned whoever edits it (a moderator tidying a
   * post keeps its author's mentions).
   */
  private async recordGroupMentions(tx: Tx, writer: Viewer, postId: string, names: string[], kept: ReadonlySet<string>): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await tx.query<{ group_id: string }>(
      `INSERT INTO post_group_mentions (post_id, group_id)
       SELECT $1, g.id FROM groups g
        WHERE g.slug = ANY($2::text[])
          AND (g.mentionable = 'EVERYONE'
               OR (g.mentionable IN ('STAFF', 'MEMBERS') AND $4)
               OR (g.mentionable = 'MEMBERS' AND EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user_id = $3))
               OR g.id = ANY($5::uuid[]))
       ON CONFLICT DO NOTHING
       RETURNING group_id`,
      [postId, names, writer.id, writer.isGlobalModerator, [...kept]],
    );
    return rows.map((r) => r.group_id);
  }
}
