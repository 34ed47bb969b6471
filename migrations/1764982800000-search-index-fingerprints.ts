import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What else than its format an engine's index was last rebuilt with (`SearchEngine.formatFingerprint`):
 * for the PostgreSQL engine, the letter folding its vocabulary was written with, which comes with
 * the server's `unaccent` (PostgreSQL 16 and later read hundreds more letters than 15). An index
 * recorded without one (by an older release, which folded with a table of its own) or with
 * another (the server upgraded since) is rebuilt once (`SearchAdmin.upgradeFormat`), and the
 * vocabulary words its folding wrote otherwise go first (`PostgresSearchEngine.prepare`).
 */
export class SearchIndexFingerprints1764982800000 implements MigrationInterface {
  name = 'SearchIndexFingerprints1764982800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE search_index_formats ADD COLUMN fingerprint text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE search_index_formats DROP COLUMN fingerprint`);
  }
}
