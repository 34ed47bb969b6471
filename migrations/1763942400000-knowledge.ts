import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The knowledge base. An article is a topic of a KNOWLEDGE board with an extension row:
 * its place in the board's tree, its workflow state (DRAFT → IN_REVIEW → PUBLISHED →
 * ARCHIVED), the revision being worked on and the one readers see, its owner and
 * verification, and helpfulness counters. Revisions keep every version (markdown and the
 * sanitized HTML); events record every transition; slugs keep old ones so links survive a
 * rename. Per-space settings (two-person review, default verification interval) live in
 * `spaces.knowledge`, next to `spaces.moderation`.
 */
export class Knowledge1763942400000 implements MigrationInterface {
  name = 'Knowledge1763942400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE spaces ADD COLUMN knowledge jsonb NOT NULL DEFAULT '{}';

      CREATE TABLE articles (
        topic_id uuid PRIMARY KEY REFERENCES topics(id) ON DELETE CASCADE,
        board_id uuid NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
        parent_id uuid REFERENCES articles(topic_id) ON DELETE SET NULL,
        position integer NOT NULL DEFAULT 0,
        slug text NOT NULL,
        state text NOT NULL DEFAULT 'DRAFT' CHECK (state IN ('DRAFT', 'IN_REVIEW', 'PUBLISHED', 'ARCHIVED')),
        current_revision_id uuid NOT NULL,
        published_revision_id uuid,
        first_published_at timestamptz,
        published_at timestamptz,
        submitted_at timestamptz,
        submitted_by uuid REFERENCES users(id) ON DELETE SET NULL,
        changes_requested_reason text,
        changes_requested_by uuid REFERENCES users(id) ON DELETE SET NULL,
        changes_requested_at timestamptz,
        owner_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        owner_group_id uuid REFERENCES groups(id) ON DELETE SET NULL,
        -- NULL: the space's default interval.
        verification_interval_days integer CHECK (verification_interval_days BETWEEN 1 AND 3650),
        verified_at timestamptz,
        verified_by uuid REFERENCES users(id) ON DELETE SET NULL,
        verified_until timestamptz,
        -- The verified_until its owners were reminded about: one reminder per article and due date.
        reminded_for timestamptz,
        helpful_yes integer NOT NULL DEFAULT 0 CHECK (helpful_yes >= 0),
        helpful_no integer NOT NULL DEFAULT 0 CHECK (helpful_no >= 0),
        promoted_from_post_id uuid REFERENCES posts(id) ON DELETE SET NULL,
        promoted_from_topic_id uuid REFERENCES topics(id) ON DELETE SET NULL,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (owner_user_id IS NULL OR owner_group_id IS NULL),
        CHECK (parent_id IS DISTINCT FROM topic_id),
        CHECK (state <> 'PUBLISHED' OR published_revision_id IS NOT NULL)
      );
      CREATE INDEX articles_tree_idx ON articles (board_id, parent_id, position);
      CREATE INDEX articles_due_idx ON articles (verified_until) WHERE state <> 'ARCHIVED' AND published_revision_id IS NOT NULL;
      CREATE INDEX articles_in_review_idx ON articles (submitted_at) WHERE state = 'IN_REVIEW';
      CREATE INDEX articles_promoted_topic_idx ON articles (promoted_from_topic_id) WHERE promoted_from_topic_id IS NOT NULL;
      CREATE INDEX articles_promoted_post_idx ON articles (promoted_from_post_id) WHERE promoted_from_post_id IS NOT NULL;

      CREATE TABLE article_revisions (
        id uuid PRIMARY KEY,
        topic_id uuid NOT NULL REFERENCES articles(topic_id) ON DELETE CASCADE,
        number integer NOT NULL,
        title text NOT NULL,
        summary text NOT NULL DEFAULT '',
        body_source text NOT NULL,
        body_html text NOT NULL,
        author_id uuid NOT NULL REFERENCES users(id),
        note text,
        restored_from_id uuid REFERENCES article_revisions(id) ON DELETE SET NULL,
        -- When (and by whom) this revision became the published one; readers see only these.
        published_at timestamptz,
        published_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (topic_id, number)
      );
      -- The article row and its first revision are written in one transaction, in either order.
      ALTER TABLE articles ADD CONSTRAINT articles_current_revision_fkey
        FOREIGN KEY (current_revision_id) REFERENCES article_revisions(id) DEFERRABLE INITIALLY DEFERRED;
      ALTER TABLE articles ADD CONSTRAINT articles_published_revision_fkey
        FOREIGN KEY (published_revision_id) REFERENCES article_revisions(id) DEFERRABLE INITIALLY DEFERRED;

      CREATE TABLE article_slugs (
        board_id uuid NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
        slug text NOT NULL,
        topic_id uuid NOT NULL REFERENCES articles(topic_id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (board_id, slug)
      );
      CREATE INDEX article_slugs_topic_idx ON article_slugs (topic_id);

      CREATE TABLE article_events (
        id uuid PRIMARY KEY,
        topic_id uuid NOT NULL REFERENCES articles(topic_id) ON DELETE CASCADE,
        actor_id uuid REFERENCES users(id) ON DELETE SET NULL,
        action text NOT NULL CHECK (action IN ('CREATED', 'PROMOTED', 'EDITED', 'RESTORED', 'SUBMITTED', 'CHANGES_REQUESTED',
          'PUBLISHED', 'ARCHIVED', 'UNARCHIVED', 'MOVED', 'VERIFIED', 'SETTINGS_CHANGED')),
        from_state text,
        to_state text,
        revision_id uuid REFERENCES article_revisions(id) ON DELETE SET NULL,
        note text,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX article_events_topic_idx ON article_events (topic_id, at);

      CREATE TABLE article_ratings (
        topic_id uuid NOT NULL REFERENCES articles(topic_id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        helpful boolean NOT NULL,
        comment text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic_id, user_id)
      );
      CREATE INDEX article_ratings_feedback_idx ON article_ratings (topic_id, updated_at DESC) WHERE comment IS NOT NULL;

      -- Who an article promoted from a thread credits: the answer's author and the question's.
      CREATE TABLE article_credits (
        topic_id uuid NOT NULL REFERENCES articles(topic_id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('ANSWER', 'QUESTION')),
        PRIMARY KEY (topic_id, user_id, role)
      );

      -- "Not helpful" with a comment opens a review item for the article's owner and editors.
      ALTER TABLE review_items DROP CONSTRAINT review_items_kind_check;
      ALTER TABLE review_items ADD CONSTRAINT review_items_kind_check
        CHECK (kind IN ('REPORTS', 'PENDING_CONTENT', 'APPEAL', 'AUTOMOD', 'BAN_PROPOSAL', 'ARTICLE_FEEDBACK'));
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM review_items WHERE kind = 'ARTICLE_FEEDBACK';
      ALTER TABLE review_items DROP CONSTRAINT review_items_kind_check;
      ALTER TABLE review_items ADD CONSTRAINT review_items_kind_check
        CHECK (kind IN ('REPORTS', 'PENDING_CONTENT', 'APPEAL', 'AUTOMOD', 'BAN_PROPOSAL'));
      DROP TABLE article_credits;
      DROP TABLE article_ratings;
      DROP TABLE article_events;
      DROP TABLE article_slugs;
      ALTER TABLE articles DROP CONSTRAINT articles_published_revision_fkey;
      ALTER TABLE articles DROP CONSTRAINT articles_current_revision_fkey;
      DROP TABLE article_revisions;
      DROP TABLE articles;
      ALTER TABLE spaces DROP COLUMN knowledge;
    `);
  }
}
