import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many visible documents of each space hold each lexeme of the index (`search_lexeme_counts`),
 * and how many visible documents each space has (`search_space_documents`): what a query missing
 * words is weighed with (which terms pick its candidates, what each weighs) and what a total past
 * 1,000 matches is estimated from, summed over the spaces searched. PostgreSQL's lexeme statistics
 * (`pg_stats` of `search_documents.tsv`) are the whole table's, every space and state, so what they
 * decided told a searcher something of posts they may not read; they now choose the physical path
 * alone (docs/architecture.md, Search).
 *
 * Only VISIBLE documents are counted: pending, hidden and deleted ones are read by a moderator's
 * own query alone, which is weighed by the visible ones too.
 *
 * Kept by statement triggers with transition tables, as `space_tags` is (migration
 * space-tags-updates-per-statement), but through a queue: each statement writing documents (an
 * indexing batch is one upsert) sums what it changes (its documents' lexemes brought into view or
 * taken out of it, per space and lexeme) into one row of `search_lexeme_deltas`, which
 * `search_counts_fold` (the job search-lexeme-counts, every 10 seconds) folds into the counts,
 * many statements at once. Writing the counts from the trigger itself, an upsert of thousands of
 * them per batch of 500 documents, made indexing about a third slower on a scratch table (9.0 s
 * against 11.9 s for 5,000 documents, medians of six alternating runs on a loaded 2-core machine);
 * a fold updates each count once for many batches, and only the job waits on it. A rewrite that
 * changes neither the vector, the space nor the visibility (a reaction, a rebuild) counts
 * nothing. Counts that reach zero go. TRUNCATE fires none: the engine's `clear` truncates these
 * tables with the documents. The counts' pages are kept half empty (fillfactor 50), so that a
 * count's update mostly stays on its page (a HOT update) and writes no index entry.
 *
 * The backfill counts the visible documents as they are, with the triggers already in place, in
 * one transaction holding search_documents in SHARE ROW EXCLUSIVE mode (which CREATE TRIGGER takes
 * anyway): writes to the index (indexing) wait for it, searches do not.
 */
export class SearchLexemeCounts1765141200000 implements MigrationInterface {
  name = 'SearchLexemeCounts1765141200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      LOCK TABLE search_documents IN SHARE ROW EXCLUSIVE MODE;

      CREATE TABLE search_lexeme_counts (
        space_id uuid NOT NULL,
        -- "C": a prefix is read as a range of lexemes (lexeme >= 'x' AND lexeme < 'x' || chr(1114111)).
        lexeme text COLLATE "C" NOT NULL,
        docs integer NOT NULL,
        PRIMARY KEY (space_id, lexeme)
      ) WITH (fillfactor = 50);
      CREATE TABLE search_space_documents (
        space_id uuid PRIMARY KEY,
        docs integer NOT NULL
      );

      -- What statements writing documents change in the counts, one row a statement, until folded in.
      CREATE TABLE search_lexeme_deltas (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        spaces uuid[] NOT NULL,
        lexemes text[] NOT NULL,
        deltas integer[] NOT NULL,
        document_spaces uuid[] NOT NULL,
        document_deltas integer[] NOT NULL
      );

      -- The visible documents a statement took out of the counts (removed) and put in (added), as one delta row.
      CREATE FUNCTION search_counts_queue(removed_spaces uuid[], removed tsvector[], added_spaces uuid[], added tsvector[]) RETURNS void
        LANGUAGE sql AS $$
        INSERT INTO search_lexeme_deltas (spaces, lexemes, deltas, document_spaces, document_deltas)
        SELECT l.spaces, l.lexemes, l.deltas, d.spaces, d.deltas
          FROM (SELECT coalesce(array_agg(x.space_id), '{}') AS spaces, coalesce(array_agg(x.lexeme), '{}') AS lexemes, coalesce(array_agg(x.n), '{}') AS deltas
                  FROM (SELECT x.space_id, x.lexeme, sum(x.n)::int AS n
                          FROM (SELECT r.space_id, l.lexeme, -1 AS n FROM unnest(removed_spaces, removed) AS r(space_id, tsv), unnest(tsvector_to_array(r.tsv)) AS l(lexeme)
                                UNION ALL
                                SELECT a.space_id, l.lexeme, 1 FROM unnest(added_spaces, added) AS a(space_id, tsv), unnest(tsvector_to_array(a.tsv)) AS l(lexeme)) x
                         GROUP BY x.space_id, x.lexeme HAVING sum(x.n) <> 0) x) l,
               (SELECT coalesce(array_agg(x.space_id), '{}') AS spaces, coalesce(array_agg(x.n), '{}') AS deltas
                  FROM (SELECT x.space_id, sum(x.n)::int AS n
                          FROM (SELECT s, -1 FROM unnest(removed_spaces) AS s UNION ALL SELECT s, 1 FROM unnest(added_spaces) AS s) AS x(space_id, n)
                         GROUP BY x.space_id HAVING sum(x.n) <> 0) x) d
         WHERE cardinality(l.lexemes) > 0 OR cardinality(d.spaces) > 0
      $$;

      -- Folds up to \`batch\` delta rows, oldest first, into the counts (in (space, lexeme) order, so
      -- that two folds cannot deadlock); counts that reach zero go. One below zero stays: a fold
      -- that skipped a delta another fold holds (SKIP LOCKED) may take a document's removal before
      -- its addition, and the addition, folded next, brings it back to zero (deleted as gone, the
      -- -1 would be lost and the +1 stand). Answers how many it folded.
      CREATE FUNCTION search_counts_fold(batch integer) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        folded integer;
        gone_spaces uuid[];
        gone_lexemes text[];
      BEGIN
        WITH taken AS (
          DELETE FROM search_lexeme_deltas
           WHERE id IN (SELECT id FROM search_lexeme_deltas ORDER BY id LIMIT batch FOR UPDATE SKIP LOCKED)
          RETURNING spaces, lexemes, deltas, document_spaces, document_deltas
        ), counted AS (
          INSERT INTO search_lexeme_counts AS c (space_id, lexeme, docs)
          SELECT u.space_id, u.lexeme, sum(u.n)::int FROM taken t, unnest(t.spaces, t.lexemes, t.deltas) AS u(space_id, lexeme, n)
           GROUP BY u.space_id, u.lexeme HAVING sum(u.n) <> 0
           ORDER BY u.space_id, u.lexeme
          ON CONFLICT (space_id, lexeme) DO UPDATE SET docs = c.docs + EXCLUDED.docs
          RETURNING c.space_id, c.lexeme, c.docs
        ), documents AS (
          INSERT INTO search_space_documents AS c (space_id, docs)
          SELECT u.space_id, sum(u.n)::int FROM taken t, unnest(t.document_spaces, t.document_deltas) AS u(space_id, n)
           GROUP BY u.space_id HAVING sum(u.n) <> 0
           ORDER BY u.space_id
          ON CONFLICT (space_id) DO UPDATE SET docs = c.docs + EXCLUDED.docs
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM taken), array_agg(g.space_id), array_agg(g.lexeme)
          INTO folded, gone_spaces, gone_lexemes
          FROM (SELECT space_id, lexeme FROM counted WHERE docs = 0) g, (SELECT count(*) FROM documents) d;
        IF gone_spaces IS NOT NULL THEN
          DELETE FROM search_lexeme_counts c USING unnest(gone_spaces, gone_lexemes) AS g(space_id, lexeme)
           WHERE c.space_id = g.space_id AND c.lexeme = g.lexeme AND c.docs = 0;
        END IF;
        RETURN folded;
      END $$;

      CREATE FUNCTION search_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        removed_spaces uuid[];
        removed tsvector[];
        added_spaces uuid[];
        added tsvector[];
      BEGIN
        IF TG_OP = 'INSERT' THEN
          SELECT coalesce(array_agg(n.space_id), '{}'), coalesce(array_agg(n.tsv), '{}') INTO added_spaces, added
            FROM new_documents n WHERE n.state = 'VISIBLE';
          removed_spaces := '{}';
          removed := '{}';
        ELSIF TG_OP = 'DELETE' THEN
          SELECT coalesce(array_agg(o.space_id), '{}'), coalesce(array_agg(o.tsv), '{}') INTO removed_spaces, removed
            FROM old_documents o WHERE o.state = 'VISIBLE';
          added_spaces := '{}';
          added := '{}';
        ELSE
          -- Only rows whose vector, space or visibility changed while visible on either side.
          WITH changed AS MATERIALIZED (
            SELECT o.space_id AS old_space, o.tsv AS old_tsv, o.state = 'VISIBLE' AS was_visible,
                   n.space_id AS new_space, n.tsv AS new_tsv, n.state = 'VISIBLE' AS is_visible
              FROM old_documents o JOIN new_documents n ON n.id = o.id
             WHERE (o.state = 'VISIBLE' OR n.state = 'VISIBLE')
               AND ((o.state = 'VISIBLE') <> (n.state = 'VISIBLE') OR o.space_id <> n.space_id OR o.tsv <> n.tsv)
          )
          SELECT coalesce(array_agg(old_space) FILTER (WHERE was_visible), '{}'), coalesce(array_agg(old_tsv) FILTER (WHERE was_visible), '{}'),
                 coalesce(array_agg(new_space) FILTER (WHERE is_visible), '{}'), coalesce(array_agg(new_tsv) FILTER (WHERE is_visible), '{}')
            INTO removed_spaces, removed, added_spaces, added
            FROM changed;
        END IF;
        IF cardinality(removed) > 0 OR cardinality(added) > 0 THEN
          PERFORM search_counts_queue(removed_spaces, removed, added_spaces, added);
        END IF;
        RETURN NULL;
      END $$;

      CREATE TRIGGER search_documents_counts_insert AFTER INSERT ON search_documents
        REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT EXECUTE FUNCTION search_counts_follow();
      CREATE TRIGGER search_documents_counts_update AFTER UPDATE ON search_documents
        REFERENCING OLD TABLE AS old_documents NEW TABLE AS new_documents FOR EACH STATEMENT EXECUTE FUNCTION search_counts_follow();
      CREATE TRIGGER search_documents_counts_delete AFTER DELETE ON search_documents
        REFERENCING OLD TABLE AS old_documents FOR EACH STATEMENT EXECUTE FUNCTION search_counts_follow();

      INSERT INTO search_lexeme_counts (space_id, lexeme, docs)
      SELECT d.space_id, l.lexeme, count(*)::int
        FROM search_documents d, unnest(tsvector_to_array(d.tsv)) AS l(lexeme)
       WHERE d.state = 'VISIBLE'
       GROUP BY d.space_id, l.lexeme;
      INSERT INTO search_space_documents (space_id, docs)
      SELECT space_id, count(*)::int FROM search_documents WHERE state = 'VISIBLE' GROUP BY space_id;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER search_documents_counts_insert ON search_documents;
      DROP TRIGGER search_documents_counts_update ON search_documents;
      DROP TRIGGER search_documents_counts_delete ON search_documents;
      DROP FUNCTION search_counts_follow();
      DROP FUNCTION search_counts_fold(integer);
      DROP FUNCTION search_counts_queue(uuid[], tsvector[], uuid[], tsvector[]);
      DROP TABLE search_lexeme_deltas;
      DROP TABLE search_space_documents;
      DROP TABLE search_lexeme_counts;
    `);
  }
}
