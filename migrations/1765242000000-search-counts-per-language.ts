import { MigrationInterface, QueryRunner } from 'typeorm';

/** The lexeme counts' functions (migration search-lexeme-counts), with or without each document's language. */
function countFunctions(perLanguage: boolean): string {
  const lang = (sql: string) => (perLanguage ? sql : '');
  // A statement inserting or deleting documents: its visible ones are `into`, `none` empty.
  const oneSide = (into: string, table: string, none: string) => `
          SELECT coalesce(array_agg(x.space_id), '{}'),${lang(` coalesce(array_agg(x.language), '{}'),`)} coalesce(array_agg(x.tsv), '{}') INTO ${into}_spaces,${lang(` ${into}_languages,`)} ${into}
            FROM ${table} x WHERE x.state = 'VISIBLE';
          ${none}_spaces := '{}';${lang(`
          ${none}_languages := '{}';`)}
          ${none} := '{}';`;
  return `
      CREATE FUNCTION search_counts_queue(removed_spaces uuid[],${lang(' removed_languages text[],')} removed tsvector[], added_spaces uuid[],${lang(' added_languages text[],')} added tsvector[]) RETURNS void
        LANGUAGE sql AS $$
        INSERT INTO search_lexeme_deltas (spaces,${lang(' languages,')} lexemes, deltas, document_spaces,${lang(' document_languages,')} document_deltas)
        SELECT l.spaces,${lang(' l.languages,')} l.lexemes, l.deltas, d.spaces,${lang(' d.languages,')} d.deltas
          FROM (SELECT coalesce(array_agg(x.space_id), '{}') AS spaces,${lang(` coalesce(array_agg(x.language), '{}') AS languages,`)} coalesce(array_agg(x.lexeme), '{}') AS lexemes, coalesce(array_agg(x.n), '{}') AS deltas
                  FROM (SELECT x.space_id,${lang(' x.language,')} x.lexeme, sum(x.n)::int AS n
                          FROM (SELECT r.space_id,${lang(' r.language,')} l.lexeme, -1 AS n FROM unnest(removed_spaces,${lang(' removed_languages,')} removed) AS r(space_id,${lang(' language,')} tsv), unnest(tsvector_to_array(r.tsv)) AS l(lexeme)
                                UNION ALL
                                SELECT a.space_id,${lang(' a.language,')} l.lexeme, 1 FROM unnest(added_spaces,${lang(' added_languages,')} added) AS a(space_id,${lang(' language,')} tsv), unnest(tsvector_to_array(a.tsv)) AS l(lexeme)) x
                         GROUP BY x.space_id,${lang(' x.language,')} x.lexeme HAVING sum(x.n) <> 0) x) l,
               (SELECT coalesce(array_agg(x.space_id), '{}') AS spaces,${lang(` coalesce(array_agg(x.language), '{}') AS languages,`)} coalesce(array_agg(x.n), '{}') AS deltas
                  FROM (SELECT x.space_id,${lang(' x.language,')} sum(x.n)::int AS n
                          FROM (SELECT s,${lang(' l,')} -1 FROM unnest(removed_spaces${lang(', removed_languages')}) AS r(s${lang(', l')})
                                UNION ALL
                                SELECT s,${lang(' l,')} 1 FROM unnest(added_spaces${lang(', added_languages')}) AS a(s${lang(', l')})) AS x(space_id,${lang(' language,')} n)
                         GROUP BY x.space_id${lang(', x.language')} HAVING sum(x.n) <> 0) x) d
         WHERE cardinality(l.lexemes) > 0 OR cardinality(d.spaces) > 0
      $$;
${countsFoldFunction(perLanguage)}

      CREATE OR REPLACE FUNCTION search_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        removed_spaces uuid[];${lang(`
        removed_languages text[];`)}
        removed tsvector[];
        added_spaces uuid[];${lang(`
        added_languages text[];`)}
        added tsvector[];
      BEGIN
        IF TG_OP = 'INSERT' THEN${oneSide('added', 'new_documents', 'removed')}
        ELSIF TG_OP = 'DELETE' THEN${oneSide('removed', 'old_documents', 'added')}
        ELSE
          -- Only rows whose vector, space${lang(', language')} or visibility changed while visible on either side.
          WITH changed AS MATERIALIZED (
            SELECT o.space_id AS old_space,${lang(' o.language AS old_language,')} o.tsv AS old_tsv, o.state = 'VISIBLE' AS was_visible,
                   n.space_id AS new_space,${lang(' n.language AS new_language,')} n.tsv AS new_tsv, n.state = 'VISIBLE' AS is_visible
              FROM old_documents o JOIN new_documents n ON n.id = o.id
             WHERE (o.state = 'VISIBLE' OR n.state = 'VISIBLE')
               AND ((o.state = 'VISIBLE') <> (n.state = 'VISIBLE') OR o.space_id <> n.space_id${lang(' OR o.language <> n.language')} OR o.tsv <> n.tsv)
          )
          SELECT coalesce(array_agg(old_space) FILTER (WHERE was_visible), '{}'),${lang(` coalesce(array_agg(old_language) FILTER (WHERE was_visible), '{}'),`)} coalesce(array_agg(old_tsv) FILTER (WHERE was_visible), '{}'),
                 coalesce(array_agg(new_space) FILTER (WHERE is_visible), '{}'),${lang(` coalesce(array_agg(new_language) FILTER (WHERE is_visible), '{}'),`)} coalesce(array_agg(new_tsv) FILTER (WHERE is_visible), '{}')
            INTO removed_spaces,${lang(' removed_languages,')} removed, added_spaces,${lang(' added_languages,')} added
            FROM changed;
        END IF;
        IF cardinality(removed) > 0 OR cardinality(added) > 0 THEN
          PERFORM search_counts_queue(removed_spaces,${lang(' removed_languages,')} removed, added_spaces,${lang(' added_languages,')} added);
        END IF;
        RETURN NULL;
      END $$;`;
}

/**
 * The fold of the queued changes into the counts (`search_counts_fold`), with or without each
 * document's language; with `documentsGo` (the migration search-space-documents-emptied) a space's
 * count of documents of a language that reaches zero goes, as a lexeme's count does. Its text
 * begins with a line break, and countFunctions adds none before it: search-counts-per-language's
 * statements stay byte for byte as they ran before the fold was shared (a test, migrations.e2e-spec).
 */
export function countsFoldFunction(perLanguage: boolean, documentsGo = false): string {
  const lang = (sql: string) => (perLanguage ? sql : '');
  return `
      CREATE OR REPLACE FUNCTION search_counts_fold(batch integer) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        folded integer;
        gone_spaces uuid[];${lang(`
        gone_languages text[];`)}
        gone_lexemes text[];${documentsGo ? `
        emptied_spaces uuid[];${lang(`
        emptied_languages text[];`)}` : ''}
      BEGIN
        WITH taken AS (
          DELETE FROM search_lexeme_deltas
           WHERE id IN (SELECT id FROM search_lexeme_deltas ORDER BY id LIMIT batch FOR UPDATE SKIP LOCKED)
          RETURNING spaces,${lang(' languages,')} lexemes, deltas, document_spaces,${lang(' document_languages,')} document_deltas
        ), counted AS (
          INSERT INTO search_lexeme_counts AS c (space_id,${lang(' language,')} lexeme, docs)
          SELECT u.space_id,${lang(' u.language,')} u.lexeme, sum(u.n)::int FROM taken t, unnest(t.spaces,${lang(' t.languages,')} t.lexemes, t.deltas) AS u(space_id,${lang(' language,')} lexeme, n)
           GROUP BY u.space_id,${lang(' u.language,')} u.lexeme HAVING sum(u.n) <> 0
           ORDER BY u.space_id,${lang(' u.language,')} u.lexeme
          ON CONFLICT (space_id,${lang(' language,')} lexeme) DO UPDATE SET docs = c.docs + EXCLUDED.docs
          RETURNING c.space_id,${lang(' c.language,')} c.lexeme, c.docs
        ), documents AS (
          INSERT INTO search_space_documents AS c (space_id,${lang(' language,')} docs)
          SELECT u.space_id,${lang(' u.language,')} sum(u.n)::int FROM taken t, unnest(t.document_spaces,${lang(' t.document_languages,')} t.document_deltas) AS u(space_id,${lang(' language,')} n)
           GROUP BY u.space_id${lang(', u.language')} HAVING sum(u.n) <> 0
           ORDER BY u.space_id${lang(', u.language')}
          ON CONFLICT (space_id${lang(', language')}) DO UPDATE SET docs = c.docs + EXCLUDED.docs
          RETURNING ${documentsGo ? `c.space_id,${lang(' c.language,')} c.docs` : '1'}
        )
        SELECT (SELECT count(*) FROM taken), array_agg(g.space_id),${lang(' array_agg(g.language),')} array_agg(g.lexeme)${documentsGo ? `,
               (SELECT array_agg(e.space_id) FROM documents e WHERE e.docs = 0)${lang(', (SELECT array_agg(e.language) FROM documents e WHERE e.docs = 0)')}` : ''}
          INTO folded, gone_spaces,${lang(' gone_languages,')} gone_lexemes${documentsGo ? `, emptied_spaces${lang(', emptied_languages')}` : ''}
          FROM (SELECT space_id,${lang(' language,')} lexeme FROM counted WHERE docs = 0) g, (SELECT count(*) FROM documents) d;
        IF gone_spaces IS NOT NULL THEN
          DELETE FROM search_lexeme_counts c USING unnest(gone_spaces,${lang(' gone_languages,')} gone_lexemes) AS g(space_id,${lang(' language,')} lexeme)
           WHERE c.space_id = g.space_id${lang(' AND c.language = g.language')} AND c.lexeme = g.lexeme AND c.docs = 0;
        END IF;${documentsGo ? `
        IF emptied_spaces IS NOT NULL THEN
          DELETE FROM search_space_documents c USING unnest(emptied_spaces${lang(', emptied_languages')}) AS g(space_id${lang(', language')})
           WHERE c.space_id = g.space_id${lang(' AND c.language = g.language')} AND c.docs = 0;
        END IF;` : ''}
        RETURN folded;
      END $$;`;
}

/** The counts of the visible documents as they are, with or without their language. */
function recount(perLanguage: boolean): string {
  const lang = (column: string) => (perLanguage ? ` ${column},` : '');
  return `
      INSERT INTO search_lexeme_counts (space_id,${lang('language')} lexeme, docs)
      SELECT d.space_id,${lang('d.language')} l.lexeme, count(*)::int
        FROM search_documents d, unnest(tsvector_to_array(d.tsv)) AS l(lexeme)
       WHERE d.state = 'VISIBLE'
       GROUP BY d.space_id,${lang('d.language')} l.lexeme;
      INSERT INTO search_space_documents (space_id,${lang('language')} docs)
      SELECT space_id,${lang('language')} count(*)::int FROM search_documents WHERE state = 'VISIBLE' GROUP BY${lang('language')} space_id;`;
}

/**
 * The lexeme counts (`search_lexeme_counts`) and document counts (`search_space_documents`) of the
 * migration search-lexeme-counts are kept per space AND language of the documents: a space whose
 * language changed is stemmed anew batch by batch (`SearchIndexer.relanguage`), and until it is
 * done holds documents of both. A query read every document of a space as of the language of its
 * newest one (one probe of search_documents per space and search), and its lexemes for that
 * language's query: the French posts of a space going from English to French counted as English
 * ones holding none of the English query's stems. Now each language's query is weighed by the
 * documents of that language, from the counts alone (docs/architecture.md, Search).
 *
 * The trigger passes each document's language with its space (and a document whose language
 * changed while its vector did not moves its counts too); the queue's rows carry them. The counts
 * are counted anew from the visible documents, holding search_documents in SHARE ROW EXCLUSIVE mode
 * (indexing waits; searches go on, those weighed by the counts waiting for them), and the changes
 * queued before are dropped: what they changed is in the documents counted. A fold under way
 * finishes first (TRUNCATE waits for it).
 *
 * Nodes of the release before go on reading the counts as theirs, summed over languages, and
 * folding with the new function (same signature) until they are replaced.
 */
export class SearchCountsPerLanguage1765242000000 implements MigrationInterface {
  name = 'SearchCountsPerLanguage1765242000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(countsBy(true));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(countsBy(false));
  }
}

/**
 * The counts kept per space and language (`perLanguage`), or per space alone as the migration
 * search-lexeme-counts kept them: the tables and functions switched, the counts counted anew. The
 * trigger and fold functions keep their signatures and are replaced in place, so the triggers stay:
 * dropping one takes search_documents ACCESS EXCLUSIVE (where writes alone wait for SHARE ROW
 * EXCLUSIVE), every search waiting until the migration commits, and one holding the table while it
 * waited for the counts this had truncated deadlocked with it.
 */
function countsBy(perLanguage: boolean): string {
  const queueWas = perLanguage ? 'uuid[], tsvector[], uuid[], tsvector[]' : 'uuid[], text[], tsvector[], uuid[], text[], tsvector[]';
  const tables = perLanguage
    ? `ALTER TABLE search_lexeme_deltas ADD COLUMN languages text[] NOT NULL, ADD COLUMN document_languages text[] NOT NULL;
      ALTER TABLE search_lexeme_counts ADD COLUMN language text NOT NULL, DROP CONSTRAINT search_lexeme_counts_pkey,
        ADD CONSTRAINT search_lexeme_counts_pkey PRIMARY KEY (space_id, language, lexeme);
      ALTER TABLE search_space_documents ADD COLUMN language text NOT NULL, DROP CONSTRAINT search_space_documents_pkey,
        ADD CONSTRAINT search_space_documents_pkey PRIMARY KEY (space_id, language);`
    : `ALTER TABLE search_lexeme_deltas DROP COLUMN languages, DROP COLUMN document_languages;
      ALTER TABLE search_lexeme_counts DROP CONSTRAINT search_lexeme_counts_pkey, DROP COLUMN language,
        ADD CONSTRAINT search_lexeme_counts_pkey PRIMARY KEY (space_id, lexeme);
      ALTER TABLE search_space_documents DROP CONSTRAINT search_space_documents_pkey, DROP COLUMN language,
        ADD CONSTRAINT search_space_documents_pkey PRIMARY KEY (space_id);`;
  return `
      LOCK TABLE search_documents IN SHARE ROW EXCLUSIVE MODE;
      TRUNCATE search_lexeme_deltas, search_lexeme_counts, search_space_documents;
      DROP FUNCTION search_counts_queue(${queueWas});
      ${tables}
      ${countFunctions(perLanguage)}
      ${recount(perLanguage)}`;
}
