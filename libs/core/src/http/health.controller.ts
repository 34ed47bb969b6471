import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';

/** Liveness and the database's state, for load balancers and operators. */
@Controller('health')
export class HealthController {
  constructor(private readonly ds: DataSource) {}

  @Get()
  async health(@Res() res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      await this.ds.query('SELECT 1');
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      res.status(200).json({ status: 'ok', database: { status: 'up', latencyMs: Math.round(latencyMs * 100) / 100 } });
    } catch {
      res.status(503).json({ status: 'error', database: { status: 'down' } });
    }
  }
}
