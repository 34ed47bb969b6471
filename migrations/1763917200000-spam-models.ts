import { MigrationInterface, QueryRunner } from 'typeorm';

/** One spam model per community, learnt from its moderators' decisions. */
export class SpamModels1763917200000 implements MigrationInterface {
  name = 'SpamModels1763917200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE spam_models (
        space_id uuid PRIMARY KEY REFERENCES spaces(id) ON DELETE CASCADE,
        model jsonb NOT NULL,
        ham integer NOT NULL DEFAULT 0,
        spam integer NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE spam_models`);
  }
}
