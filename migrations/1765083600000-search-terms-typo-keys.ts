import { MigrationInterface, QueryRunner } from 'typeorm';

export const VOCABULARIES = ['search_terms', 'search_terms_moderated'];

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
 *
 * Outside a transaction (`transaction = false`), each index built and dropped CONCURRENTLY: at
 * about 115 µs a row, building in the migration's transaction held every vocabulary write (and,
 * with the trigram index dropped first, every typo lookup) for minutes on a large vocabulary.
 * Now the searches and writes of running nodes go on while it builds, and the trigram index goes
 * only once the new one is ready. Each statement stands alone, so a run that failed midway
 * (a build cancelled or killed leaves its index INVALID, which `IF NOT EXISTS` would keep, never
 * filled) runs again from where it stopped: an invalid index is dropped and built again, what is
 * done already is left. down() is the same the other way round. Run inside a transaction all the
 * same (TypeORM's undoLastMigration opens one whatever the migration says), the statements are
 * the plain, blocking ones, which a transaction keeps all or nothing.
 */
export class SearchTermsTypoKeys1765083600000 implements MigrationInterface {
  name = 'SearchTermsTypoKeys1765083600000';

  /** Outside the runner's transaction: CREATE/DROP INDEX CONCURRENTLY cannot run in one. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(TYPO_KEYS_FUNCTION);
    for (const table of VOCABULARIES) {
      await buildIndex(q, `${table}_typo_keys_idx`, typoKeysIndex(table, 'parvis_typo_keys'));
    }
    for (const table of VOCABULARIES) await dropIndex(q, `${table}_trgm_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of VOCABULARIES) await buildIndex(q, `${table}_trgm_idx`, `${table} USING gin (term gin_trgm_ops)`);
    for (const table of VOCABULARIES) await dropIndex(q, `${table}_typo_keys_idx`);
    await q.query(`DROP FUNCTION IF EXISTS parvis_typo_keys(text, int)`);
  }
}

/**
 * The statement creating `parvis_typo_keys`, as this migration creates it; the migration
 * search-terms-typo-keys-tidy, which drops it, creates it again with it when undone.
 */
export const TYPO_KEYS_FUNCTION = `
      CREATE OR REPLACE FUNCTION parvis_typo_keys(word text, deletions int) RETURNS text[]
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
      $$`;

/** What a vocabulary's typo-key index is built ON, with `fn`: two deletions for a word of 7 letters or more, one otherwise. */
export function typoKeysIndex(table: string, fn: string): string {
  return `${table} USING gin (${fn}(term, CASE WHEN char_length(term) >= 7 THEN 2 ELSE 1 END))`;
}

/** CONCURRENTLY when the runner is in no transaction (as this migration runs), plain inside one. */
const concurrently = (q: QueryRunner) => (q.isTransactionActive ? '' : ' CONCURRENTLY');

/**
 * Builds index `name` ON `on`, unless a valid one is there; an invalid one (a failed concurrent
 * build) is dropped first. Unless another session is building it still (an index is invalid
 * while built, too: a second process migrating at the same time): then this fails, rather than
 * drop the index under that build and wait on it.
 */
export async function buildIndex(q: QueryRunner, name: string, on: string): Promise<void> {
  const [found]: Array<{ valid: boolean; building: boolean }> = await q.query(
    `SELECT i.indisvalid AS valid, EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid AND p.pid <> pg_backend_pid()) AS building
       FROM pg_index i WHERE i.indexrelid = to_regclass($1)`,
    [name],
  );
  if (found?.valid) return;
  if (found?.building) throw new Error(`index ${name} is being built by another session (another process migrating?); run the migrations again once it is done`);
  if (found) await dropIndex(q, name);
  await q.query(`CREATE INDEX${concurrently(q)} ${name} ON ${on}`);
}

export async function dropIndex(q: QueryRunner, name: string): Promise<void> {
  await q.query(`DROP INDEX${concurrently(q)} IF EXISTS ${name}`);
}
