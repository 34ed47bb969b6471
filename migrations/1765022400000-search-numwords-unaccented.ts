import { MigrationInterface, QueryRunner } from 'typeorm';

const CONFIGS = ['parvis_en', 'parvis_fr', 'parvis_simple'];
/** The parser's tokens of letters and digits together: Straße42 (numword), ø2-øl (numhword) and its part ø2 (hword_numpart). */
const NUMWORD_TOKENS = 'numword, numhword, hword_numpart';

/**
 * The search configurations read the words that hold digits (Straße42, Øresund-2) through
 * `unaccent` too, as they read words of letters alone. They were copied with `unaccent` in front
 * of the letter-only tokens (word, hword, hword_part) alone, so Straße42 was indexed as
 * straße42, while its vocabulary word (read as unaccent reads it, `UnaccentFolding`) was
 * strasse42: typing strasse42 found nothing, a typo of it was widened to a word no document
 * held, and the word was pruned from the vocabulary while documents still held it. These tokens
 * are not stemmed by the stock configurations (`simple`), and still are not. The index rebuild
 * that follows the upgrade (POSTGRES_INDEX_FORMAT 9) indexes them anew.
 */
export class SearchNumwordsUnaccented1765022400000 implements MigrationInterface {
  name = 'SearchNumwordsUnaccented1765022400000';

  async up(q: QueryRunner): Promise<void> {
    for (const config of CONFIGS) await q.query(`ALTER TEXT SEARCH CONFIGURATION ${config} ALTER MAPPING FOR ${NUMWORD_TOKENS} WITH unaccent, simple`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const config of CONFIGS) await q.query(`ALTER TEXT SEARCH CONFIGURATION ${config} ALTER MAPPING FOR ${NUMWORD_TOKENS} WITH simple`);
  }
}
