import { MigrationInterface, QueryRunner } from 'typeorm';

const VOCABULARIES = ['search_terms', 'search_terms_moderated'];

/**
 * Typo tolerance finds a word's close vocabulary words by edit distance (transpositions
 * counting as one edit, as Meilisearch counts them) rather than by trigram similarity, which
 * put letters swapped near the start of a short word (pyhton, databsae) below any useful
 * threshold. Candidates come from a deletion neighbourhood: two words within k edits of each
 * other have, among the words made by deleting at most k letters from the first 7 letters of
 * each, one in common. `parvis_typo_keys(word, k)` lists those; each vocabulary word is indexed
 * (GIN) under its keys with k = 2 when it has 7 letters or more (the shortest a 9-letter word
 * reaches with its two typos) and k = 1 otherwise; a query looks its word's keys up, and the
 * engine checks the distance of the few words found (PostgresSearchEngine.nearWords). The
 * trigram indexes, which only the former lookup used, go.
 *
 * SQL functions of the catalog alone, IMMUTABLE so it may index: the same on the PostgreSQL 15
 * servers and the embedded PostgreSQL 18 (fuzzystrmatch's levenshtein counts a transposition as
 * two edits, and has no deletion neighbourhood to index).
 */
export class SearchTermsTypoKeys1765083600000 implements MigrationInterface {
  name = 'SearchTermsTypoKeys1765083600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION parvis_typo_keys(word text, deletions int) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT array_agg(DISTINCT k ORDER BY k) FROM (
          SELECT left(word, 7) AS k
          UNION ALL
          SELECT overlay(left(word, 7) PLACING '' FROM i FOR 1)
            FROM generate_series(1, char_length(left(word, 7))) AS i WHERE deletions >= 1
          UNION ALL
          SELECT overlay(overlay(left(word, 7) PLACING '' FROM j FOR 1) PLACING '' FROM i FOR 1)
            FROM generate_series(1, char_length(left(word, 7))) AS i, generate_series(i + 1, char_length(left(word, 7))) AS j
           WHERE deletions >= 2
        ) AS keys(k)
      $$`);
    for (const table of VOCABULARIES) {
      await q.query(`DROP INDEX ${table}_trgm_idx`);
      await q.query(`CREATE INDEX ${table}_typo_keys_idx ON ${table} USING gin (parvis_typo_keys(term, CASE WHEN char_length(term) >= 7 THEN 2 ELSE 1 END))`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of VOCABULARIES) {
      await q.query(`DROP INDEX ${table}_typo_keys_idx`);
      await q.query(`CREATE INDEX ${table}_trgm_idx ON ${table} USING gin (term gin_trgm_ops)`);
    }
    await q.query(`DROP FUNCTION parvis_typo_keys(text, int)`);
  }
}
