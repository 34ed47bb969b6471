import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `users.last_visit_on` may be behind on existing rows: the triggers of migration
 * `mention-order-by-last-visit` take the member's row SKIP LOCKED, so a visit written while
 * it was held left the day before on it, and nothing caught it up until another day's visit.
 * Sign-ins and session touches now catch a row up (`visitDayCaughtUp`); this catches up those
 * already behind, once: each member's row takes their latest visit day. Rows are changed only
 * where they differ, so the statement writes nothing on a database that was never behind.
 */
export class LastVisitCatchUp1765069200000 implements MigrationInterface {
  name = 'LastVisitCatchUp1765069200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE users u SET last_visit_on = v.day
        FROM (SELECT l.id, (SELECT max(uv.day) FROM user_visits uv WHERE uv.user_id = l.id) AS day FROM users l) v
       WHERE v.id = u.id AND u.last_visit_on IS DISTINCT FROM v.day
    `);
  }

  async down(): Promise<void> {
    // Nothing to undo: the days it wrote are the ones the visits hold.
  }
}
