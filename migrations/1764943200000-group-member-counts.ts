import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `Group.memberCount` as a counter (`group_member_counts`), so a list of groups reads one row
 * per group instead of counting every membership of an automatic group of thousands.
 *
 * Triggers keep it, so no way into or out of a group (the services, the automatic rule's bulk
 * statements, account deletion, a cascade, a hand-written statement) can miss it. The counter
 * sits beside `groups`, not in it: changing members holds the group's row FOR SHARE, and an
 * UPDATE of that row by two joins at once would deadlock. A membership statement only stages
 * its change per group (`group_member_count_changes`, seen by its own transaction alone); a
 * deferred trigger folds what the transaction staged into the counters as it commits, locking
 * them last and in group order. A counter row is then never held while anything else is waited
 * for (the moderation log's lock, the next group of an invitation), so counters add no deadlock,
 * and hold a busy group's joins up for a commit's length only.
 */
export class GroupMemberCounts1764943200000 implements MigrationInterface {
  name = 'GroupMemberCounts1764943200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE group_member_counts (
        group_id uuid PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
        member_count int NOT NULL CHECK (member_count >= 0)
      );
      -- Changes a transaction made, folded into the counters as it commits (and gone with that).
      CREATE TABLE group_member_count_changes (
        group_id uuid NOT NULL,
        delta int NOT NULL
      );

      CREATE FUNCTION group_member_counts_stage() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO group_member_count_changes (group_id, delta)
          SELECT group_id, CASE TG_OP WHEN 'INSERT' THEN count(*) ELSE -count(*) END FROM changed GROUP BY group_id;
        RETURN NULL;
      END $$;

      CREATE FUNCTION group_member_counts_fold() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- The first firing of a commit folds every change the transaction staged; the rest find none.
        -- A group's first member gives it its counter (not a group deleted meanwhile, whose went with it).
        INSERT INTO group_member_counts (group_id, member_count)
          SELECT DISTINCT group_id, 0 FROM group_member_count_changes ch WHERE EXISTS (SELECT 1 FROM groups g WHERE g.id = ch.group_id)
           ORDER BY group_id ON CONFLICT DO NOTHING;
        -- In group order, so two commits that touch the same groups lock them in the same order.
        PERFORM 1 FROM group_member_counts WHERE group_id IN (SELECT group_id FROM group_member_count_changes) ORDER BY group_id FOR UPDATE;
        UPDATE group_member_counts c SET member_count = c.member_count + d.delta
          FROM (SELECT group_id, sum(delta) AS delta FROM group_member_count_changes GROUP BY group_id) d WHERE c.group_id = d.group_id;
        DELETE FROM group_member_count_changes;
        RETURN NULL;
      END $$;

      CREATE TRIGGER group_members_count_insert AFTER INSERT ON group_members
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION group_member_counts_stage();
      CREATE TRIGGER group_members_count_delete AFTER DELETE ON group_members
        REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION group_member_counts_stage();
      CREATE CONSTRAINT TRIGGER group_member_count_changes_fold AFTER INSERT ON group_member_count_changes
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION group_member_counts_fold();

      -- The triggers hold writes to group_members off until this commits: nothing is counted twice or missed.
      INSERT INTO group_member_counts (group_id, member_count)
        SELECT g.id, (SELECT count(*) FROM group_members gm WHERE gm.group_id = g.id) FROM groups g;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER group_member_count_changes_fold ON group_member_count_changes;
      DROP TRIGGER group_members_count_delete ON group_members;
      DROP TRIGGER group_members_count_insert ON group_members;
      DROP FUNCTION group_member_counts_fold();
      DROP FUNCTION group_member_counts_stage();
      DROP TABLE group_member_count_changes;
      DROP TABLE group_member_counts;
    `);
  }
}
