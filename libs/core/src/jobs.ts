import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

interface Job {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
}

/**
 * Periodic background jobs (pruning rate-limit events, recomputing trust levels...).
 * Modules register them; whichever process runs the worker starts them. A job never
 * overlaps itself, in this process or in another one (several workers share the schedule
 * through an advisory lock per job), and a failure is logged and retried at the next tick.
 */
@Injectable()
export class JobScheduler {
  private readonly log = new Logger('Jobs');
  private readonly jobs: Job[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly ds: DataSource) {}

  register(name: string, everyMs: number, run: () => Promise<unknown>): void {
    if (!this.jobs.some((j) => j.name === name)) this.jobs.push({ name, everyMs, run });
  }

  start(): void {
    for (const job of this.jobs) {
      let busy = false;
      const tick = async () => {
        if (busy) return;
        busy = true;
        try {
          await this.runNow(job.name);
        } catch (err) {
          this.log.warn({ err, job: job.name }, 'scheduled job failed');
        } finally {
          busy = false;
        }
      };
      this.timers.push(setInterval(() => void tick(), job.everyMs));
    }
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  /**
   * Runs a job now unless another process is running it (then returns false). The lock is a
   * session advisory lock on one pooled connection, held for the run and released after; a
   * process that dies mid-run drops it with its connection.
   */
  async runNow(name: string): Promise<boolean> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new Error(`Unknown job "${name}"`);
    const key = `parvis:job:${name}`;
    const holder = this.ds.createQueryRunner();
    await holder.connect();
    try {
      const [{ locked }] = await holder.query(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`, [key]);
      if (!locked) return false;
      try {
        await job.run();
      } finally {
        await holder.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [key]);
      }
      return true;
    } finally {
      await holder.release();
    }
  }

  names(): string[] {
    return this.jobs.map((j) => j.name);
  }
}
