import { Injectable } from '@nestjs/common';
import { AccessService } from '../../access/src/access.service';
import { Tx } from '../../core/src/database/unit-of-work';
import { Viewer } from '../../core/src/graphql/viewer';
import { newId } from '../../core/src/ids';
import { RenderedContent } from '../../content/src/renderer';
import { ContentRenderer } from '../../content/src/renderer';

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
  ) {}

  render(markdown: string): RenderedContent {
    return this.renderer.render(markdown);
  }

  async recordRevision(tx: Tx, postId: string, editorId: string, source: string, reason: string | null): Promise<void> {
    await tx.query(
      `INSERT INTO post_revisions (id, post_id, number, editor_id, reason, body_source)
       VALUES ($1, $2, (SELECT COALESCE(max(number), 0) + 1 FROM post_revisions WHERE post_id = $2), $3, $4, $5)`,
      [newId(), postId, editorId, reason, source],
    );
  }

  /** Replaces the post's mentions and quotes with those of the rendered body. */
  async recordReferences(tx: Tx, viewer: Viewer, postId: string, rendered: RenderedContent): Promise<{ mentionedUserIds: string[] }> {
    await tx.query(`DELETE FROM post_mentions WHERE post_id = $1`, [postId]);
    await tx.query(`DELETE FROM post_quotes WHERE post_id = $1`, [postId]);
    let mentionedUserIds: string[] = [];
    if (rendered.mentions.length) {
      const rows = await tx.query<{ user_id: string }>(
        `INSERT INTO post_mentions (post_id, user_id)
         SELECT $1, id FROM users WHERE lower(handle) = ANY($2::text[]) ON CONFLICT DO NOTHING RETURNING user_id`,
        [postId, rendered.mentions],
      );
      mentionedUserIds = rows.map((r) => r.user_id);
    }
    if (rendered.quotedPostIds.length) {
      // Only quotes of posts the author can read keep a reference.
      const quoted = await tx.query<{ id: string; space_id: string; state: string; author_id: string }>(
        `SELECT id, space_id, state, author_id FROM posts WHERE id = ANY($1::uuid[])`,
        [rendered.quotedPostIds],
      );
      const ranks = await this.access.spaceRanks(viewer);
      const readable = quoted.filter(
        (q) => this.access.contentView(viewer, ranks.get(q.space_id) ?? 0, { state: q.state as 'VISIBLE', authorId: q.author_id }) === 'full',
      );
      if (readable.length) {
        await tx.query(
          `INSERT INTO post_quotes (post_id, quoted_post_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`,
          [postId, readable.map((q) => q.id)],
        );
      }
    }
    return { mentionedUserIds };
  }
}
