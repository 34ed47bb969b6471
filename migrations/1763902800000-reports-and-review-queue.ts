import { MigrationInterface, QueryRunner } from 'typeorm';

/** Reports, the review items they gather into (with their history), and per-space moderation settings. */
export class ReportsAndReviewQueue1763902800000 implements MigrationInterface {
  name = 'ReportsAndReviewQueue1763902800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE spaces ADD COLUMN moderation jsonb NOT NULL DEFAULT '{}';

      CREATE TABLE review_items (
        id uuid PRIMARY KEY,
        space_id uuid REFERENCES spaces(id) ON DELETE CASCADE,
        target_type text NOT NULL CHECK (target_type IN ('POST', 'TOPIC', 'USER')),
        target_id uuid NOT NULL,
        kind text NOT NULL DEFAULT 'REPORTS' CHECK (kind IN ('REPORTS', 'PENDING_CONTENT', 'APPEAL', 'AUTOMOD')),
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'IGNORED')),
        score numeric(10, 2) NOT NULL DEFAULT 0,
        auto_hidden boolean NOT NULL DEFAULT false,
        claimed_by uuid REFERENCES users(id),
        claimed_until timestamptz,
        resolved_by uuid REFERENCES users(id),
        resolved_at timestamptz,
        decision_note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- Reports on one target gather into one open item.
      CREATE UNIQUE INDEX review_items_open_key ON review_items (target_type, target_id, kind) WHERE status = 'PENDING';
      CREATE INDEX review_items_queue_idx ON review_items (space_id, status, score DESC, created_at, id);

      CREATE TABLE review_item_events (
        id bigserial PRIMARY KEY,
        review_item_id uuid NOT NULL REFERENCES review_items(id) ON DELETE CASCADE,
        actor_id uuid REFERENCES users(id),
        action text NOT NULL,
        note text,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX review_item_events_item_idx ON review_item_events (review_item_id, id);

      CREATE TABLE reports (
        id uuid PRIMARY KEY,
        review_item_id uuid NOT NULL REFERENCES review_items(id) ON DELETE CASCADE,
        reporter_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        target_type text NOT NULL,
        target_id uuid NOT NULL,
        reason text NOT NULL CHECK (reason IN ('SPAM', 'ABUSE', 'OFF_TOPIC', 'ILLEGAL', 'OTHER')),
        note text,
        weight numeric(6, 2) NOT NULL,
        weight_breakdown jsonb NOT NULL,
        status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'UPHELD', 'REJECTED', 'IGNORED')),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX reports_one_open_key ON reports (reporter_id, target_type, target_id) WHERE status = 'OPEN';
      CREATE INDEX reports_item_idx ON reports (review_item_id);
      CREATE INDEX reports_reporter_idx ON reports (reporter_id, status);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE reports;
      DROP TABLE review_item_events;
      DROP TABLE review_items;
      ALTER TABLE spaces DROP COLUMN moderation;
    `);
  }
}
