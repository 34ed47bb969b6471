import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildIndex, dropIndex, typoKeysIndex, VOCABULARIES } from './1765083600000-search-terms-typo-keys';

/**
 * Fewer typo keys per vocabulary word, for the same close words. Typo tolerance counts a typo on
 * a word's first letter as two, as Meilisearch does (typoDistance): two words within the typos
 * allowed either start with the same letter, and are then as close without it (no deletion of
 * the first letter is needed to meet), or differ by one edit at the start alone (a first letter
 * replaced, added or swapped with the second, only in a word of 9 letters or more, which may hold
 * two). `parvis_typo_keys_v2(word, k)` lists the first 7 letters with up to k of letters 2 to 7
 * deleted, and, when k is 2, those 7 without their first letter: the second case meets there or
 * at a key of one deletion. About 15 keys a word on the vocabulary of the bench's Stack Exchange
 * posts against about 19 (`parvis_typo_keys`, which deletes any of the 7; a word of 7 letters or
 * more: 23 at most against 29), and the same words found for every typo made of them.
 *
 * In PL/pgSQL, which computes them in about half the time an SQL function written as the former
 * one (generate_series, UNION ALL) takes: 20,000 words' keys in 0.22–0.24 s against 0.38–0.48 s.
 *
 * Each index write of a new vocabulary word does that much less. On a scratch table of 100,000
 * words (3 spaces), inserting 20,000 new ones in sorted batches of 500 as the indexer does, the
 * pending list flushed at the end, five times over: with these keys from such an SQL function,
 * the backend's CPU time 1.86 s against 2.27 s (medians), buffer reads 1.25 against 1.57
 * million, WAL 85 against 111 MB, the index 60 against 73 MB; from this one, 1.60 s against
 * 1.86 s (five more runs; docs/architecture.md has the rest).
 *
 * A new function rather than a new body for the old one: the old indexes were built with it and
 * stay right until dropped; nodes of the previous release, which look keys up with it, go on
 * finding words through them until then (and by scanning after), so it stays. As the migration
 * search-terms-typo-keys does, outside a transaction, each index built and dropped CONCURRENTLY,
 * re-runnable after a failure midway (see buildIndex there).
 */
export class SearchTermsTypoKeysFirstLetter1765134000000 implements MigrationInterface {
  name = 'SearchTermsTypoKeysFirstLetter1765134000000';

  /** Outside the runner's transaction: CREATE/DROP INDEX CONCURRENTLY cannot run in one. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION parvis_typo_keys_v2(word text, deletions int) RETURNS text[]
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
      DECLARE
        prefix text := left(word, 7);
        letters int := char_length(prefix);
        keys text[] := ARRAY[prefix];
        deleted text;
      BEGIN
        IF deletions >= 2 THEN keys := keys || substr(prefix, 2); END IF;
        IF deletions >= 1 THEN
          FOR i IN 2..letters LOOP
            deleted := overlay(prefix PLACING '' FROM i FOR 1);
            keys := keys || deleted;
            -- A second letter deleted after it: letter j + 1 of the prefix is letter j of deleted.
            IF deletions >= 2 THEN
              FOR j IN i..letters - 1 LOOP
                keys := keys || overlay(deleted PLACING '' FROM j FOR 1);
              END LOOP;
            END IF;
          END LOOP;
        END IF;
        RETURN ARRAY(SELECT DISTINCT k FROM unnest(keys) AS k ORDER BY k);
      END
      $$`);
    for (const table of VOCABULARIES) await buildIndex(q, `${table}_typo_keys_v2_idx`, typoKeysIndex(table, 'parvis_typo_keys_v2'));
    for (const table of VOCABULARIES) await dropIndex(q, `${table}_typo_keys_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of VOCABULARIES) await buildIndex(q, `${table}_typo_keys_idx`, typoKeysIndex(table, 'parvis_typo_keys'));
    for (const table of VOCABULARIES) await dropIndex(q, `${table}_typo_keys_v2_idx`);
    await q.query(`DROP FUNCTION IF EXISTS parvis_typo_keys_v2(text, int)`);
  }
}
