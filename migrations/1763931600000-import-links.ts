import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where imported rows came from: one row per (source, kind, external id), pointing at the
 * local row. Importers look rows up here to update instead of duplicating on a re-run.
 * `source` names the dump (`stackexchange:<site>`), `kind` what the id names there (`user`,
 * `question`, `post`). No foreign key: `local_id` points at users, topics or posts by kind,
 * and a link whose row was removed since is simply re-created by the next run.
 */
export class ImportLinks1763931600000 implements MigrationInterface {
  name = 'ImportLinks1763931600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE import_links (
        source text NOT NULL,
        kind text NOT NULL,
        external_id text NOT NULL,
        local_id uuid NOT NULL,
        PRIMARY KEY (source, kind, external_id)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE import_links;`);
  }
}
