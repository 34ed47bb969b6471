import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The foundation: accounts and sessions, groups, spaces with grants and boards,
 * forum topics and posts with revisions, reactions, mentions, quotes, read state,
 * and the transactional outbox.
 */
export class InitialSchema1763888400000 implements MigrationInterface {
  name = 'InitialSchema1763888400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        email text,
        handle text NOT NULL CHECK (handle ~ '^[a-z0-9_-]{3,30}$'),
        display_name text NOT NULL,
        password_hash text,
        role text NOT NULL DEFAULT 'MEMBER' CHECK (role IN ('MEMBER', 'MODERATOR', 'ADMIN')),
        trust_level smallint NOT NULL DEFAULT 0 CHECK (trust_level BETWEEN 0 AND 4),
        is_placeholder boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX users_handle_key ON users (lower(handle));
      CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;

      CREATE TABLE sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash bytea NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        ip text,
        user_agent text
      );
      CREATE INDEX sessions_user_active_idx ON sessions (user_id) WHERE revoked_at IS NULL;

      -- Sliding-window rate limits shared by every API node (sign-in failures, sign-ups...).
      CREATE TABLE rate_events (
        id bigserial PRIMARY KEY,
        bucket text NOT NULL,
        key text NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX rate_events_key_idx ON rate_events (bucket, key, at);

      CREATE TABLE groups (
        id uuid PRIMARY KEY,
        slug text NOT NULL UNIQUE,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE group_members (
        group_id uuid NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, user_id)
      );
      CREATE INDEX group_members_user_idx ON group_members (user_id);

      CREATE TABLE spaces (
        id uuid PRIMARY KEY,
        slug text NOT NULL UNIQUE,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        visibility text NOT NULL CHECK (visibility IN ('PUBLIC', 'MEMBERS', 'RESTRICTED')),
        language text NOT NULL DEFAULT 'en',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- level: 1 READ, 2 PARTICIPATE, 3 MODERATE, 4 ADMIN
      CREATE TABLE space_grants (
        id uuid PRIMARY KEY,
        space_id uuid NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
        group_id uuid REFERENCES groups(id) ON DELETE CASCADE,
        user_id uuid REFERENCES users(id) ON DELETE CASCADE,
        level smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((group_id IS NULL) <> (user_id IS NULL))
      );
      CREATE UNIQUE INDEX space_grants_group_key ON space_grants (space_id, group_id) WHERE group_id IS NOT NULL;
      CREATE UNIQUE INDEX space_grants_user_key ON space_grants (space_id, user_id) WHERE user_id IS NOT NULL;
      CREATE INDEX space_grants_group_idx ON space_grants (group_id);
      CREATE INDEX space_grants_user_idx ON space_grants (user_id);

      CREATE TABLE boards (
        id uuid PRIMARY KEY,
        space_id uuid NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('FORUM', 'IDEAS', 'KNOWLEDGE')),
        slug text NOT NULL,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        position integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (space_id, slug)
      );

      CREATE TABLE topics (
        id uuid PRIMARY KEY,
        board_id uuid NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
        space_id uuid NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
        author_id uuid NOT NULL REFERENCES users(id),
        kind text NOT NULL CHECK (kind IN ('DISCUSSION', 'QUESTION', 'IDEA', 'ARTICLE')),
        title text NOT NULL,
        state text NOT NULL DEFAULT 'VISIBLE' CHECK (state IN ('VISIBLE', 'PENDING', 'HIDDEN', 'DELETED')),
        pinned boolean NOT NULL DEFAULT false,
        closed boolean NOT NULL DEFAULT false,
        locked boolean NOT NULL DEFAULT false,
        tags text[] NOT NULL DEFAULT '{}',
        reply_count integer NOT NULL DEFAULT 0,
        reaction_count integer NOT NULL DEFAULT 0,
        last_post_number integer NOT NULL DEFAULT 0,
        last_activity_at timestamptz NOT NULL DEFAULT now(),
        accepted_post_id uuid,
        top_score integer GENERATED ALWAYS AS (reply_count * 2 + reaction_count) STORED,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX topics_board_activity_idx ON topics (board_id, pinned DESC, last_activity_at DESC, id DESC);
      CREATE INDEX topics_board_newest_idx ON topics (board_id, pinned DESC, created_at DESC, id DESC);
      CREATE INDEX topics_board_top_idx ON topics (board_id, pinned DESC, top_score DESC, id DESC);
      CREATE INDEX topics_tags_idx ON topics USING gin (tags);
      CREATE INDEX topics_author_idx ON topics (author_id, created_at DESC);

      CREATE TABLE posts (
        id uuid PRIMARY KEY,
        topic_id uuid NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
        space_id uuid NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
        number integer NOT NULL,
        author_id uuid NOT NULL REFERENCES users(id),
        reply_to_post_id uuid REFERENCES posts(id) ON DELETE SET NULL,
        body_source text NOT NULL,
        body_html text NOT NULL,
        state text NOT NULL DEFAULT 'VISIBLE' CHECK (state IN ('VISIBLE', 'PENDING', 'HIDDEN', 'DELETED')),
        reaction_counts jsonb NOT NULL DEFAULT '{}',
        reaction_total integer NOT NULL DEFAULT 0,
        edited_at timestamptz,
        deleted_at timestamptz,
        deleted_by uuid REFERENCES users(id),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (topic_id, number)
      );
      CREATE INDEX posts_author_idx ON posts (author_id, created_at DESC, id DESC);
      ALTER TABLE topics ADD CONSTRAINT topics_accepted_post_fk
        FOREIGN KEY (accepted_post_id) REFERENCES posts(id) ON DELETE SET NULL;

      CREATE TABLE post_revisions (
        id uuid PRIMARY KEY,
        post_id uuid NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        number integer NOT NULL,
        editor_id uuid NOT NULL REFERENCES users(id),
        reason text,
        body_source text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (post_id, number)
      );

      CREATE TABLE post_mentions (
        post_id uuid NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (post_id, user_id)
      );
      CREATE INDEX post_mentions_user_idx ON post_mentions (user_id);

      CREATE TABLE post_quotes (
        post_id uuid NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        quoted_post_id uuid NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        PRIMARY KEY (post_id, quoted_post_id)
      );

      CREATE TABLE reactions (
        post_id uuid NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('LIKE', 'THANKS', 'INSIGHTFUL', 'LAUGH', 'CONFUSED')),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (post_id, user_id, kind)
      );
      CREATE INDEX reactions_user_idx ON reactions (user_id, post_id);

      CREATE TABLE topic_reads (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        topic_id uuid NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
        last_read_number integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, topic_id)
      );

      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        type text NOT NULL,
        aggregate_type text NOT NULL,
        aggregate_id uuid NOT NULL,
        version integer NOT NULL DEFAULT 1,
        payload jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        available_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        processed_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text
      );
      CREATE INDEX outbox_pending_idx ON outbox (id) WHERE processed_at IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE outbox;
      DROP TABLE topic_reads;
      DROP TABLE reactions;
      DROP TABLE post_quotes;
      DROP TABLE post_mentions;
      DROP TABLE post_revisions;
      ALTER TABLE topics DROP CONSTRAINT topics_accepted_post_fk;
      DROP TABLE posts;
      DROP TABLE topics;
      DROP TABLE boards;
      DROP TABLE space_grants;
      DROP TABLE spaces;
      DROP TABLE group_members;
      DROP TABLE groups;
      DROP TABLE rate_events;
      DROP TABLE sessions;
      DROP TABLE users;
    `);
  }
}
