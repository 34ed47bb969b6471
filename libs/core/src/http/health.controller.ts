import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { isPoolWaitTimeout } from '../database/data-source';

/** Liveness and the database's state, for load balancers and operators. */
@Controller('health')
export class HealthController {
  constructor(private readonly ds: DataSource) {}

  /**
   * 200 with the database `up`; 503 with it `busy` when no pool connection came free within
   * DB_CONNECTION_TIMEOUT_MS (every one held: the process is saturated, the database may be
   * fine), `down` when it did not answer.
   */
  @Get()
  async health(@Res() res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      await this.ds.query('SELECT 1');
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      res.status(200).json({ status: 'ok', database: { status: 'up', latencyMs: Math.round(latencyMs * 100) / 100 } });
    } catch (err) {
      res.status(503).json({ status: 'error', database: { status: isPoolWaitTimeout(err) ? 'busy' : 'down' } });
    }
  }
}
