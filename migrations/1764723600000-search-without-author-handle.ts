import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Search documents no longer carry the author's handle: nothing read it (the author filter
 * goes by id), and it went stale whenever someone changed their handle.
 */
export class SearchWithoutAuthorHandle1764723600000 implements MigrationInterface {
  name = 'SearchWithoutAuthorHandle1764723600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE search_documents DROP COLUMN author_handle`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE search_documents ADD COLUMN author_handle text`);
    await q.query(`UPDATE search_documents s SET author_handle = u.handle FROM users u WHERE u.id = s.author_id`);
    // A document whose author is gone has no handle to give back: `npm run parvis -- search:reindex` writes it again.
    await q.query(`DELETE FROM search_documents WHERE author_handle IS NULL`);
    await q.query(`ALTER TABLE search_documents ALTER COLUMN author_handle SET NOT NULL`);
  }
}
