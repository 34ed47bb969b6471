import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How many runs of a scheduled job have failed in a row since its last one that succeeded
 * (JobScheduler): a failed run is tried again after a minute, doubling with each failure up to the
 * job's own interval, in whichever process, rather than every minute forever. A plain ALTER in the
 * migration's transaction: a constant default rewrites nothing, and job_runs is written only by
 * single short statements, so its lock is had at once. Down drops the column.
 */
export class JobRunFailures1765423800000 implements MigrationInterface {
  name = 'JobRunFailures1765423800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE job_runs ADD COLUMN failures integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE job_runs DROP COLUMN failures`);
  }
}
