import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The document format each search engine's index was last rebuilt with. A release that
 * changes what the PostgreSQL engine writes for a post (POSTGRES_INDEX_FORMAT) rebuilds the
 * index once in the background (`SearchAdmin.upgradeFormat`); no row means documents of
 * every format before the first one recorded.
 */
export class SearchIndexFormats1764806400000 implements MigrationInterface {
  name = 'SearchIndexFormats1764806400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE search_index_formats (
        engine text PRIMARY KEY,
        format int NOT NULL CHECK (format > 0),
        rebuilt_at timestamptz NOT NULL DEFAULT now()
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE search_index_formats`);
  }
}
