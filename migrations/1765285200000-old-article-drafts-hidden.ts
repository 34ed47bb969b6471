import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The draft's versions of an article's first post, for articles first published before 820f1f62:
 * since then the first publication (`ArticleWrites.mirror`, the post arriving) marks the post's
 * versions before the one it records `unpublished`, which readers who are neither the post's author
 * nor a moderator do not see (`publishedHistory`); articles published before kept them in view (the
 * draft's version, dated at its creation, then "article revision n" by the publisher).
 *
 * The same marking, on what the first publication left: the version it recorded is the first one
 * made at or after `articles.first_published_at` (both the publication transaction's now(), which
 * nothing changes after), and the versions numbered before it are marked, those not marked yet. An
 * article never published, and every other post, is left as it is; so is any version from the
 * first publication on. One statement, idempotent.
 *
 * Down restores nothing: a version marked so was never the readers' to read, the code before this
 * reads the column as it does now, and the marks the code made since (and `redateAsNew`'s) cannot be
 * told from this one's.
 */
export class OldArticleDraftsHidden1765285200000 implements MigrationInterface {
  name = 'OldArticleDraftsHidden1765285200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE post_revisions r SET unpublished = true
        FROM articles a JOIN posts p ON p.topic_id = a.topic_id AND p.number = 1
       WHERE a.first_published_at IS NOT NULL AND r.post_id = p.id AND NOT r.unpublished
         AND r.number < (SELECT min(f.number) FROM post_revisions f WHERE f.post_id = p.id AND f.created_at >= a.first_published_at)
    `);
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
