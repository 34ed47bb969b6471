import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the dump said of each imported row when it was last imported (a hash), so a re-run
 * updates a row only when the dump changed it: a moderator's local edit of an imported post
 * is no longer taken for a change in the dump and overwritten. Links from before have none,
 * and are compared with the local row once, as before.
 */
export class ImportDigests1764799200000 implements MigrationInterface {
  name = 'ImportDigests1764799200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE import_links ADD COLUMN digest text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE import_links DROP COLUMN digest`);
  }
}
