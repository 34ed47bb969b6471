import { MigrationInterface, QueryRunner } from 'typeorm';

/** Watch levels per topic and board, and in-app notifications. */
export class NotificationsAndWatching1763920800000 implements MigrationInterface {
  name = 'NotificationsAndWatching1763920800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE topic_watches (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        topic_id uuid NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
        level text NOT NULL CHECK (level IN ('WATCHING', 'TRACKING', 'NORMAL', 'MUTED')),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, topic_id)
      );
      CREATE INDEX topic_watches_topic_idx ON topic_watches (topic_id, level);
      CREATE TABLE board_watches (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        board_id uuid NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
        level text NOT NULL CHECK (level IN ('WATCHING', 'TRACKING', 'NORMAL', 'MUTED')),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, board_id)
      );
      CREATE INDEX board_watches_board_idx ON board_watches (board_id, level);
      CREATE TABLE notifications (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind text NOT NULL,
        topic_id uuid REFERENCES topics(id) ON DELETE CASCADE,
        post_id uuid REFERENCES posts(id) ON DELETE CASCADE,
        actor_id uuid REFERENCES users(id) ON DELETE SET NULL,
        data jsonb NOT NULL DEFAULT '{}',
        -- The outbox event (and reason) it came from: delivery is at least once, notifications exactly once.
        source text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        read_at timestamptz,
        emailed_at timestamptz,
        UNIQUE (user_id, source)
      );
      CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id DESC);
      CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications; DROP TABLE board_watches; DROP TABLE topic_watches;`);
  }
}
