import { MigrationInterface, QueryRunner } from 'typeorm';

/** Appeals against sanctions, and ban proposals from the escalation ladder, as review items. */
export class AppealsAndEscalation1763913600000 implements MigrationInterface {
  name = 'AppealsAndEscalation1763913600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE review_items DROP CONSTRAINT review_items_target_type_check;
      ALTER TABLE review_items ADD CONSTRAINT review_items_target_type_check CHECK (target_type IN ('POST', 'TOPIC', 'USER', 'SANCTION'));
      ALTER TABLE review_items DROP CONSTRAINT review_items_kind_check;
      ALTER TABLE review_items ADD CONSTRAINT review_items_kind_check
        CHECK (kind IN ('REPORTS', 'PENDING_CONTENT', 'APPEAL', 'AUTOMOD', 'BAN_PROPOSAL'));
      CREATE TABLE appeals (
        id uuid PRIMARY KEY,
        sanction_id uuid NOT NULL UNIQUE REFERENCES sanctions(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        message text NOT NULL,
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'GRANTED', 'DENIED')),
        review_item_id uuid REFERENCES review_items(id) ON DELETE SET NULL,
        decided_by uuid REFERENCES users(id),
        decided_at timestamptz,
        decision_note text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      ALTER TABLE sanctions ADD COLUMN automatic boolean NOT NULL DEFAULT false;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    // Items of the kinds and targets this migration added cannot stay under the old checks.
    await q.query(`DELETE FROM review_items WHERE kind NOT IN ('REPORTS', 'PENDING_CONTENT', 'APPEAL', 'AUTOMOD') OR target_type NOT IN ('POST', 'TOPIC', 'USER')`);
    await q.query(`
      ALTER TABLE sanctions DROP COLUMN automatic;
      DROP TABLE appeals;
      ALTER TABLE review_items DROP CONSTRAINT review_items_kind_check;
      ALTER TABLE review_items ADD CONSTRAINT review_items_kind_check CHECK (kind IN ('REPORTS', 'PENDING_CONTENT', 'APPEAL', 'AUTOMOD'));
      ALTER TABLE review_items DROP CONSTRAINT review_items_target_type_check;
      ALTER TABLE review_items ADD CONSTRAINT review_items_target_type_check CHECK (target_type IN ('POST', 'TOPIC', 'USER'));
    `);
  }
}
