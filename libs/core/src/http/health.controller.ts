import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { HealthDatabase } from './health-database';

/**
 * How long /health waits for one of the API pool's connections, whatever DB_CONNECTION_TIMEOUT_MS
 * (10 s by default) lets a statement wait: well below the 5 s timeout of the image's HEALTHCHECK
 * (docker/Dockerfile, docker/compose.yml), so the check reads the pool `busy` rather than timing out.
 * Its own connection's bounds (HEALTH_CONNECT_MS, HEALTH_STATEMENT_MS) add up to no more.
 */
export const HEALTH_POOL_WAIT_MS = 2000;

/** Liveness and the database's state, for load balancers and operators. */
@Controller('health')
export class HealthController {
  /** The wait in the API pool's queue a check gave up on, until the pool hands it a connection (or fails it). */
  private queued: Promise<unknown> | undefined;

  constructor(
    private readonly ds: DataSource,
    private readonly db: HealthDatabase,
  ) {}

  /**
   * At once, the database on /health's own connection (HealthDatabase) and the API's pool for a
   * connection: 200 with the database `up` when both answered; 503 with it `down` when the
   * database did not answer on its own connection within its bounds, `busy` when it did but the
   * pool handed out no connection within HEALTH_POOL_WAIT_MS or DB_CONNECTION_TIMEOUT_MS,
   * whichever is shorter (every one held: the process is saturated, the database fine; or the
   * pool could not open a new one).
   */
  @Get()
  async health(@Res() res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    const [answers, pooled] = await Promise.all([this.db.answers(), this.poolHandsOne()]);
    if (!answers) {
      res.status(503).json({ status: 'error', database: { status: 'down' } });
      return;
    }
    if (!pooled) {
      res.status(503).json({ status: 'error', database: { status: 'busy' } });
      return;
    }
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    res.status(200).json({ status: 'ok', database: { status: 'up', latencyMs: Math.round(latencyMs * 100) / 100 } });
  }

  /**
   * Whether the API's pool hands this check a connection within HEALTH_POOL_WAIT_MS (given back at
   * once). pg's pool has one wait bound for every caller (DB_CONNECTION_TIMEOUT_MS) and none per
   * call, so the check stops waiting at its own bound and leaves its place in the queue: the
   * connection the pool hands it later goes straight back. While that wait is queued no connection
   * came free (the pool hands a freed one to the first in its queue), so a check meanwhile is
   * answered from it without queueing again: one abandoned wait per process at most, however
   * often the pool is checked.
   */
  private async poolHandsOne(): Promise<boolean> {
    if (this.queued) return false;
    const runner = this.ds.createQueryRunner();
    const connecting = runner.connect().then(
      () => runner.release().then(() => true),
      () => false,
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), HEALTH_POOL_WAIT_MS)));
    try {
      const got = await Promise.race([connecting, late]);
      if (got !== 'late') return got;
      const queued = connecting.finally(() => {
        if (this.queued === queued) this.queued = undefined;
      });
      this.queued = queued;
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
