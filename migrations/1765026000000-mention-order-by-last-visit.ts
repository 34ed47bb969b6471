import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * @mention suggestions order members by their last visit day, which the query read per
 * matching member from `user_visits` (a one-letter prefix at 200,000 members: some 20,000
 * look-ups and a sort, whatever the page). The day now sits on the member's row,
 * `users.last_visit_on`, and two indexes hold the order itself, last visit first then handle:
 * as members see it (a hidden profile as never seen) and as staff see it. Each of the
 * query's branches walks one in order and stops at a page of matches.
 *
 * Statement triggers on `user_visits` keep the day: the users a statement's rows name are
 * locked in id order and their latest day read again (an insert, a delete, an account
 * deletion's, alike). SKIP LOCKED: the session touch that inserts a day's visit holds the
 * session's row, and a password change or an account deletion holds the member's row before
 * it revokes that member's sessions; waiting there could deadlock them. A member's row held
 * at that instant keeps the day before until their next day's visit, a hint's lag.
 */
export class MentionOrderByLastVisit1765026000000 implements MigrationInterface {
  name = 'MentionOrderByLastVisit1765026000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users ADD COLUMN last_visit_on date;
      UPDATE users u SET last_visit_on = v.day FROM (SELECT user_id, max(day) AS day FROM user_visits GROUP BY user_id) v WHERE v.user_id = u.id;

      CREATE FUNCTION users_follow_visits() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        ids uuid[];
      BEGIN
        -- The transition table is named after the event; the query is the same for both.
        EXECUTE format('SELECT array_agg(DISTINCT user_id) FROM %I', CASE TG_OP WHEN 'INSERT' THEN 'new_visits' ELSE 'old_visits' END) INTO ids;
        IF ids IS NULL THEN RETURN NULL; END IF;
        UPDATE users u SET last_visit_on = (SELECT max(v.day) FROM user_visits v WHERE v.user_id = u.id)
          FROM (SELECT l.id FROM users l WHERE l.id = ANY(ids) ORDER BY l.id FOR NO KEY UPDATE SKIP LOCKED) l
         WHERE u.id = l.id AND u.last_visit_on IS DISTINCT FROM (SELECT max(v.day) FROM user_visits v WHERE v.user_id = u.id);
        RETURN NULL;
      END $$;

      CREATE TRIGGER user_visits_last_visit_insert AFTER INSERT ON user_visits
        REFERENCING NEW TABLE AS new_visits FOR EACH STATEMENT EXECUTE FUNCTION users_follow_visits();
      CREATE TRIGGER user_visits_last_visit_delete AFTER DELETE ON user_visits
        REFERENCING OLD TABLE AS old_visits FOR EACH STATEMENT EXECUTE FUNCTION users_follow_visits();

      CREATE INDEX users_mention_visit_idx ON users ((CASE WHEN hide_profile THEN NULL ELSE last_visit_on END) DESC NULLS LAST, handle)
        WHERE deleted_at IS NULL AND NOT is_placeholder;
      CREATE INDEX users_mention_visit_staff_idx ON users (last_visit_on DESC NULLS LAST, handle)
        WHERE deleted_at IS NULL AND NOT is_placeholder;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER user_visits_last_visit_delete ON user_visits;
      DROP TRIGGER user_visits_last_visit_insert ON user_visits;
      DROP FUNCTION users_follow_visits();
      ALTER TABLE users DROP COLUMN last_visit_on;
    `);
  }
}
