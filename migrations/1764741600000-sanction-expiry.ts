import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sanctions end on their own when they expire. The worker now records each end in the
 * moderation log (an automatic action); `expiry_handled_at` says it did, so each expiry is
 * recorded once. Sanctions that expired before this change are recorded at its first run.
 */
export class SanctionExpiry1764741600000 implements MigrationInterface {
  name = 'SanctionExpiry1764741600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions ADD COLUMN expiry_handled_at timestamptz`);
    // Expiries the log already records (this migration undone and applied again) are not
    // recorded a second time in a log that cannot be edited.
    await q.query(`
      UPDATE sanctions s SET expiry_handled_at = l.at
        FROM (SELECT (before->>'sanctionId')::uuid AS sanction_id, max(at) AS at FROM moderation_log
               WHERE action = 'sanction.expire' AND before ? 'sanctionId' GROUP BY 1) l
       WHERE l.sanction_id = s.id`);
    await q.query(`CREATE INDEX sanctions_expiring_idx ON sanctions (expires_at) WHERE lifted_at IS NULL AND expiry_handled_at IS NULL AND expires_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions DROP COLUMN expiry_handled_at`);
  }
}
