import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `space_tags` follows a statement's inserted or deleted topics all at once. The row triggers
 * locked each topic's tag counters as that topic came, so two multi-row statements (two bulk
 * imports, two seeding connections) could lock the same counters in crossing orders and
 * deadlock. Statement triggers read the statement's rows (transition tables), count them per
 * space and tag (VISIBLE topics with tags only, a tag once per topic), and lock the counters
 * in (space_id, tag) order: inserts in one upsert taking the rows in that order; deletes by
 * locking the rows in that order (SELECT ... ORDER BY ... FOR UPDATE) before lowering them,
 * an upsert being unable to carry a negative count past the CHECK, then dropping the rows
 * that reach zero. Any one statement thus locks counters in the same global order.
 *
 * Updates stay row by row (space_tags_follow, space_tags_count): PostgreSQL refuses transition
 * tables on a trigger with a column list (UPDATE OF tags, state, space_id), and a statement
 * trigger without it would run, and scan its transition tables, on every topic update, the
 * reply path's counter updates included. An update statement touching many topics' tags is
 * rare (moderation, a move); a row's own tags are still taken in order.
 */
export class SpaceTagsPerStatement1764979200000 implements MigrationInterface {
  name = 'SpaceTagsPerStatement1764979200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER topics_space_tags_insert ON topics;
      DROP TRIGGER topics_space_tags_delete ON topics;

      CREATE FUNCTION space_tags_follow_statement() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        spaces uuid[];
        tags text[];
        counts int[];
      BEGIN
        -- The transition table is named after the event; the query is the same for both.
        EXECUTE format($q$
          SELECT array_agg(space_id ORDER BY space_id, tag), array_agg(tag ORDER BY space_id, tag), array_agg(n ORDER BY space_id, tag)
            FROM (SELECT t.space_id, u.tag, count(*)::int AS n
                    FROM %I t, LATERAL (SELECT DISTINCT unnest(t.tags)) AS u(tag)
                   WHERE t.state = 'VISIBLE' AND t.space_id IS NOT NULL
                   GROUP BY t.space_id, u.tag) d$q$,
          CASE TG_OP WHEN 'INSERT' THEN 'new_topics' ELSE 'old_topics' END)
          INTO spaces, tags, counts;
        IF spaces IS NULL THEN RETURN NULL; END IF;
        IF TG_OP = 'INSERT' THEN
          INSERT INTO space_tags AS s (space_id, tag, topic_count)
            SELECT d.space_id, d.tag, d.n FROM unnest(spaces, tags, counts) AS d(space_id, tag, n) ORDER BY d.space_id, d.tag
            ON CONFLICT (space_id, tag) DO UPDATE SET topic_count = s.topic_count + EXCLUDED.topic_count;
        ELSE
          PERFORM FROM space_tags s JOIN unnest(spaces, tags) AS d(space_id, tag) ON s.space_id = d.space_id AND s.tag = d.tag
            ORDER BY s.space_id, s.tag FOR UPDATE OF s;
          UPDATE space_tags s SET topic_count = greatest(s.topic_count - d.n, 0)
            FROM unnest(spaces, tags, counts) AS d(space_id, tag, n) WHERE s.space_id = d.space_id AND s.tag = d.tag;
          DELETE FROM space_tags s USING unnest(spaces, tags) AS d(space_id, tag)
            WHERE s.space_id = d.space_id AND s.tag = d.tag AND s.topic_count = 0;
        END IF;
        RETURN NULL;
      END $$;

      CREATE TRIGGER topics_space_tags_insert AFTER INSERT ON topics
        REFERENCING NEW TABLE AS new_topics FOR EACH STATEMENT EXECUTE FUNCTION space_tags_follow_statement();
      CREATE TRIGGER topics_space_tags_delete AFTER DELETE ON topics
        REFERENCING OLD TABLE AS old_topics FOR EACH STATEMENT EXECUTE FUNCTION space_tags_follow_statement();
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER topics_space_tags_delete ON topics;
      DROP TRIGGER topics_space_tags_insert ON topics;
      DROP FUNCTION space_tags_follow_statement();
      CREATE TRIGGER topics_space_tags_insert AFTER INSERT ON topics
        FOR EACH ROW WHEN (NEW.state = 'VISIBLE' AND cardinality(NEW.tags) > 0) EXECUTE FUNCTION space_tags_follow();
      CREATE TRIGGER topics_space_tags_delete AFTER DELETE ON topics
        FOR EACH ROW WHEN (OLD.state = 'VISIBLE' AND cardinality(OLD.tags) > 0) EXECUTE FUNCTION space_tags_follow();
    `);
  }
}
