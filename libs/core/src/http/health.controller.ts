import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { isPoolWaitTimeout } from '../database/data-source';

/**
 * How long /health waits for one of the pool's connections, whatever DB_CONNECTION_TIMEOUT_MS
 * (10 s by default) lets a statement wait: well below the 5 s timeout of the image's HEALTHCHECK
 * (docker/Dockerfile, docker/compose.yml), so the check reads the pool `busy` rather than timing out.
 */
export const HEALTH_POOL_WAIT_MS = 2000;

/** Liveness and the database's state, for load balancers and operators. */
@Controller('health')
export class HealthController {
  constructor(private readonly ds: DataSource) {}

  /**
   * 200 with the database `up`; 503 with it `busy` when no pool connection came free within
   * HEALTH_POOL_WAIT_MS or DB_CONNECTION_TIMEOUT_MS, whichever is shorter (every one held: the
   * process is saturated, the database may be fine), `down` when it did not answer (nor opened a
   * new connection within that bound).
   */
  @Get()
  async health(@Res() res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    const pool = (this.ds.driver as unknown as { master: Pool }).master;
    // Every connection handed out: this check waits in the pool's queue for one to come back.
    const queued = pool.idleCount === 0 && pool.totalCount >= (pool.options.max ?? Infinity);
    const runner = this.ds.createQueryRunner();
    const connecting = runner.connect();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), HEALTH_POOL_WAIT_MS)));
    try {
      if ((await Promise.race([connecting, late])) === 'late') {
        // Still in the pool's queue (it takes no one out): the connection it is handed later goes back at once.
        connecting.then(() => runner.release(), () => undefined);
        res.status(503).json({ status: 'error', database: { status: queued ? 'busy' : 'down' } });
        return;
      }
      try {
        await runner.query('SELECT 1');
      } finally {
        await runner.release();
      }
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      res.status(200).json({ status: 'ok', database: { status: 'up', latencyMs: Math.round(latencyMs * 100) / 100 } });
    } catch (err) {
      res.status(503).json({ status: 'error', database: { status: isPoolWaitTimeout(err) ? 'busy' : 'down' } });
    } finally {
      clearTimeout(timer);
    }
  }
}
