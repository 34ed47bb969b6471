import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The search vocabulary (typo tolerance, search-as-you-type) is kept per space and holds the
 * words of visible documents only: one shared list let anybody learn whether a word occurs in a
 * restricted space or in hidden content (a word in the list is not widened to close words, one
 * outside it is, and the results differ). The new list is filled from the indexed visible
 * documents, splitting words in SQL as closely as the application does (letters and digits,
 * accents folded, 3 to 40 characters, not numbers); `search:reindex` rebuilds it exactly (the
 * SQL folds some letters the application keeps, ß or œ, and drops words with superscripts).
 * The rebuild runs in the migration's transaction: typo tolerance and completions wait for it
 * (101 s on a million documents in the search bench).
 */
export class SearchTermsPerSpace1764734400000 implements MigrationInterface {
  name = 'SearchTermsPerSpace1764734400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE search_terms`);
    await q.query(`
      CREATE TABLE search_terms (
        term text NOT NULL,
        space_id uuid NOT NULL,
        PRIMARY KEY (term, space_id)
      )`);
    await q.query(`
      INSERT INTO search_terms (term, space_id)
      SELECT DISTINCT w.term, d.space_id
        FROM search_documents d JOIN search_bodies b ON b.id = d.id,
             LATERAL regexp_split_to_table(lower(unaccent(d.title || ' ' || left(b.body, 100000))), '[^[:alnum:]]+') AS w(term)
       WHERE d.state = 'VISIBLE' AND length(w.term) BETWEEN 3 AND 40 AND w.term !~ '^[0-9]+$'`);
    await q.query(`CREATE INDEX search_terms_trgm_idx ON search_terms USING gin (term gin_trgm_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE search_terms`);
    await q.query(`CREATE TABLE search_terms (term text PRIMARY KEY)`);
    await q.query(`
      INSERT INTO search_terms (term)
      SELECT DISTINCT w.term
        FROM search_documents d JOIN search_bodies b ON b.id = d.id,
             LATERAL regexp_split_to_table(lower(unaccent(d.title || ' ' || left(b.body, 100000))), '[^[:alnum:]]+') AS w(term)
       WHERE length(w.term) BETWEEN 3 AND 40 AND w.term !~ '^[0-9]+$'`);
    await q.query(`CREATE INDEX search_terms_trgm_idx ON search_terms USING gin (term gin_trgm_ops)`);
  }
}
