import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `space_tags` follows a statement's updated topics all at once, as it does inserted and
 * deleted ones (migration `space-tags-per-statement`). The row trigger took each topic's
 * counters as that topic came, so two multi-row updates (a ban hiding many topics, a move)
 * could lock the same counters in crossing orders and deadlock.
 *
 * PostgreSQL allows no transition tables on `UPDATE OF tags, state, space_id`, so the trigger
 * runs after every update of topics, and first pairs the statement's old and new rows by id,
 * keeping only those whose tags, state or space changed while visible on either side: on the
 * reply path's counter updates that is one row read twice and nothing else. What is left is
 * counted per space and tag (a tag once per topic, minus for the old row, plus for the new),
 * a tag whose count does not move is dropped, and the counters are changed one by one in
 * (space_id, tag) order: an increase by an upsert (a new counter), a decrease by an update
 * (an upsert cannot carry a negative count past the CHECK). Then those that reach zero go.
 */
export class SpaceTagsUpdatesPerStatement1765029600000 implements MigrationInterface {
  name = 'SpaceTagsUpdatesPerStatement1765029600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER topics_space_tags_update ON topics;

      CREATE FUNCTION space_tags_follow_update() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        d record;
        spaces uuid[] := '{}';
        tags text[] := '{}';
      BEGIN
        FOR d IN
          WITH changed AS (
            SELECT o.space_id AS old_space, o.tags AS old_tags, o.state = 'VISIBLE' AS was_visible,
                   n.space_id AS new_space, n.tags AS new_tags, n.state = 'VISIBLE' AS is_visible
              FROM old_topics o JOIN new_topics n ON n.id = o.id
             WHERE (o.state = 'VISIBLE' OR n.state = 'VISIBLE')
               AND (o.tags IS DISTINCT FROM n.tags OR o.state IS DISTINCT FROM n.state OR o.space_id IS DISTINCT FROM n.space_id)
          )
          SELECT x.space_id, x.tag, sum(x.n)::int AS n
            FROM (SELECT c.old_space, u.tag, -1 FROM changed c, LATERAL (SELECT DISTINCT unnest(c.old_tags)) AS u(tag) WHERE c.was_visible
                  UNION ALL
                  SELECT c.new_space, u.tag, 1 FROM changed c, LATERAL (SELECT DISTINCT unnest(c.new_tags)) AS u(tag) WHERE c.is_visible
                 ) AS x(space_id, tag, n)
           WHERE x.space_id IS NOT NULL
           GROUP BY x.space_id, x.tag HAVING sum(x.n) <> 0
           ORDER BY x.space_id, x.tag
        LOOP
          IF d.n > 0 THEN
            INSERT INTO space_tags AS s (space_id, tag, topic_count) VALUES (d.space_id, d.tag, d.n)
              ON CONFLICT (space_id, tag) DO UPDATE SET topic_count = s.topic_count + d.n;
          ELSE
            UPDATE space_tags SET topic_count = greatest(topic_count + d.n, 0) WHERE space_id = d.space_id AND tag = d.tag;
            spaces := spaces || d.space_id;
            tags := tags || d.tag;
          END IF;
        END LOOP;
        DELETE FROM space_tags s USING unnest(spaces, tags) AS z(space_id, tag)
          WHERE s.space_id = z.space_id AND s.tag = z.tag AND s.topic_count = 0;
        RETURN NULL;
      END $$;

      CREATE TRIGGER topics_space_tags_update AFTER UPDATE ON topics
        REFERENCING OLD TABLE AS old_topics NEW TABLE AS new_topics FOR EACH STATEMENT EXECUTE FUNCTION space_tags_follow_update();
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER topics_space_tags_update ON topics;
      DROP FUNCTION space_tags_follow_update();
      CREATE TRIGGER topics_space_tags_update AFTER UPDATE OF tags, state, space_id ON topics
        FOR EACH ROW WHEN ((OLD.state = 'VISIBLE' OR NEW.state = 'VISIBLE')
          AND (OLD.tags IS DISTINCT FROM NEW.tags OR OLD.state IS DISTINCT FROM NEW.state OR OLD.space_id IS DISTINCT FROM NEW.space_id))
        EXECUTE FUNCTION space_tags_follow();
    `);
  }
}
