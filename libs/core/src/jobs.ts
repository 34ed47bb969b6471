import { Injectable, Logger } from '@nestjs/common';

interface Job {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
}

/**
 * Periodic background jobs (pruning rate-limit events, recomputing trust levels...).
 * Modules register them; whichever process runs the worker starts them. A job never
 * overlaps itself, and a failure is logged and retried at the next tick.
 */
@Injectable()
export class JobScheduler {
  private readonly log = new Logger('Jobs');
  private readonly jobs: Job[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

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
          await job.run();
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

  names(): string[] {
    return this.jobs.map((j) => j.name);
  }
}
