import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many visible topics carry each tag, per space (Query.tags). Counting them on every
 * keystroke of a tag picker would read every topic of every readable space; a trigger keeps
 * the counts instead, in the transaction that changes a topic's tags, state or space. Only
 * VISIBLE topics count: anyone who reads the space sees those, so no count tells a reader of
 * a pending, hidden, deleted or unpublished (PENDING article) topic. Tags are taken in order
 * so two writers touching the same tags lock their rows in the same order; a count that falls
 * to zero takes its row with it.
 */
export class SpaceTags1764860400000 implements MigrationInterface {
  name = 'SpaceTags1764860400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE space_tags (
        space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
        tag text NOT NULL,
        topic_count int NOT NULL CHECK (topic_count >= 0),
        PRIMARY KEY (space_id, tag)
      );
      CREATE INDEX space_tags_prefix_idx ON space_tags (tag text_pattern_ops);

      CREATE FUNCTION space_tags_count(space uuid, tags text[], delta int) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        IF space IS NULL OR cardinality(tags) = 0 THEN RETURN; END IF;
        INSERT INTO space_tags AS s (space_id, tag, topic_count)
          SELECT space, tag, greatest(delta, 0) FROM (SELECT DISTINCT unnest(tags) AS tag) t ORDER BY tag
          ON CONFLICT (space_id, tag) DO UPDATE SET topic_count = greatest(s.topic_count + delta, 0);
        IF delta < 0 THEN
          DELETE FROM space_tags WHERE space_id = space AND tag = ANY (tags) AND topic_count = 0;
        END IF;
      END $$;

      CREATE FUNCTION space_tags_follow() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'VISIBLE' THEN
          PERFORM space_tags_count(OLD.space_id, OLD.tags, -1);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.state = 'VISIBLE' THEN
          PERFORM space_tags_count(NEW.space_id, NEW.tags, 1);
        END IF;
        RETURN NULL;
      END $$;

      CREATE TRIGGER topics_space_tags_insert AFTER INSERT ON topics
        FOR EACH ROW WHEN (NEW.state = 'VISIBLE' AND cardinality(NEW.tags) > 0) EXECUTE FUNCTION space_tags_follow();
      CREATE TRIGGER topics_space_tags_delete AFTER DELETE ON topics
        FOR EACH ROW WHEN (OLD.state = 'VISIBLE' AND cardinality(OLD.tags) > 0) EXECUTE FUNCTION space_tags_follow();
      CREATE TRIGGER topics_space_tags_update AFTER UPDATE OF tags, state, space_id ON topics
        FOR EACH ROW WHEN ((OLD.state = 'VISIBLE' OR NEW.state = 'VISIBLE')
          AND (OLD.tags IS DISTINCT FROM NEW.tags OR OLD.state IS DISTINCT FROM NEW.state OR OLD.space_id IS DISTINCT FROM NEW.space_id))
        EXECUTE FUNCTION space_tags_follow();

      INSERT INTO space_tags (space_id, tag, topic_count)
        SELECT t.space_id, tag, count(DISTINCT t.id) FROM topics t, unnest(t.tags) AS tag WHERE t.state = 'VISIBLE' GROUP BY t.space_id, tag;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER topics_space_tags_update ON topics;
      DROP TRIGGER topics_space_tags_delete ON topics;
      DROP TRIGGER topics_space_tags_insert ON topics;
      DROP FUNCTION space_tags_follow();
      DROP FUNCTION space_tags_count(uuid, text[], int);
      DROP TABLE space_tags;
    `);
  }
}
