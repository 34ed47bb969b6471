import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Search. One row per contribution (post) with a weighted tsvector under its space's
 * language, a vocabulary of indexed words for typo tolerance (pg_trgm), and a queue of
 * documents still to push to an external engine (Meilisearch) when one is configured.
 * unaccent and pg_trgm are trusted extensions: the database owner may create them.
 */
export class Search1763928000000 implements MigrationInterface {
  name = 'Search1763928000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE EXTENSION IF NOT EXISTS unaccent;
      CREATE EXTENSION IF NOT EXISTS pg_trgm;

      -- Accents folded before stemming, so "éléphant" and "elephant" meet.
      CREATE TEXT SEARCH CONFIGURATION parvis_en (COPY = english);
      ALTER TEXT SEARCH CONFIGURATION parvis_en ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
      CREATE TEXT SEARCH CONFIGURATION parvis_fr (COPY = french);
      ALTER TEXT SEARCH CONFIGURATION parvis_fr ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
      CREATE TEXT SEARCH CONFIGURATION parvis_simple (COPY = simple);
      ALTER TEXT SEARCH CONFIGURATION parvis_simple ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;

      CREATE FUNCTION parvis_search_config(language text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN CASE language WHEN 'en' THEN 'parvis_en'::regconfig WHEN 'fr' THEN 'parvis_fr'::regconfig ELSE 'parvis_simple'::regconfig END;

      CREATE TABLE search_documents (
        id uuid PRIMARY KEY,
        topic_id uuid NOT NULL,
        post_number integer NOT NULL,
        space_id uuid NOT NULL,
        board_id uuid NOT NULL,
        kind text NOT NULL,
        title text NOT NULL,
        tags text[] NOT NULL DEFAULT '{}',
        author_id uuid NOT NULL,
        author_handle text NOT NULL,
        state text NOT NULL CHECK (state IN ('VISIBLE', 'PENDING', 'HIDDEN', 'DELETED')),
        language text NOT NULL CHECK (language IN ('en', 'fr', 'simple')),
        accepted boolean NOT NULL DEFAULT false,
        reactions integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL,
        version bigint NOT NULL,
        tsv tsvector NOT NULL,
        indexed_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX search_documents_tsv_idx ON search_documents USING gin (tsv);
      -- Common words are matched newest first down this index, stopping at the candidate cap.
      CREATE INDEX search_documents_newest_idx ON search_documents (created_at DESC);
      CREATE INDEX search_documents_space_newest_idx ON search_documents (space_id, created_at DESC);
      CREATE INDEX search_documents_topic_idx ON search_documents (topic_id);
      CREATE INDEX search_documents_title_trgm_idx ON search_documents USING gin (title gin_trgm_ops) WHERE post_number = 1;

      -- Bodies apart, read only for the snippets of the returned page: the table scanned for
      -- matches stays narrow.
      CREATE TABLE search_bodies (
        id uuid PRIMARY KEY REFERENCES search_documents(id) ON DELETE CASCADE,
        body text NOT NULL
      );

      -- Distinct indexed words (accents folded, lower-case), for "did you mean" expansion.
      CREATE TABLE search_terms (term text PRIMARY KEY);
      CREATE INDEX search_terms_trgm_idx ON search_terms USING gin (term gin_trgm_ops);

      -- Documents an external engine still has to receive (retried until it takes them).
      CREATE TABLE search_sync_queue (
        post_id uuid PRIMARY KEY,
        queued_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        available_at timestamptz NOT NULL DEFAULT now(),
        last_error text
      );
      CREATE INDEX search_sync_queue_due_idx ON search_sync_queue (available_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE search_sync_queue;
      DROP TABLE search_terms;
      DROP TABLE search_bodies;
      DROP TABLE search_documents;
      DROP FUNCTION parvis_search_config(text);
      DROP TEXT SEARCH CONFIGURATION parvis_simple;
      DROP TEXT SEARCH CONFIGURATION parvis_fr;
      DROP TEXT SEARCH CONFIGURATION parvis_en;
    `);
  }
}
