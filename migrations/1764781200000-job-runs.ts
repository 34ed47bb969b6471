import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When each scheduled job last started, whichever process ran it (JobScheduler): a process
 * that restarts more often than a job's interval would otherwise never run it, and several
 * processes would each run it on their own clock.
 */
export class JobRuns1764781200000 implements MigrationInterface {
  name = 'JobRuns1764781200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE job_runs (name text PRIMARY KEY, last_run_at timestamptz NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE job_runs`);
  }
}
