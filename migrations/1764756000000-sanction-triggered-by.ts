import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The moderator whose decision climbed the escalation ladder to an automatic sanction. Nobody
 * issued it (`issued_by` stays null), but its appeal goes to a moderator other than that one,
 * as for a sanction they issued by hand. A nullable column: rows already there stay as they are.
 */
export class SanctionTriggeredBy1764756000000 implements MigrationInterface {
  name = 'SanctionTriggeredBy1764756000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions ADD COLUMN triggered_by uuid REFERENCES users(id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions DROP COLUMN triggered_by`);
  }
}
