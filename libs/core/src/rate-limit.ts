import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError } from './errors';

export interface RateRule {
  bucket: string;
  limit: number;
  windowSeconds: number;
}

/**
 * Sliding-window limits kept in PostgreSQL, so every API node sees the same
 * counts. `check` refuses once `limit` events fell in the window and says when
 * the oldest of them leaves it.
 */
@Injectable()
export class RateLimiter {
  constructor(private readonly ds: DataSource) {}

  /** Seconds until another event is allowed, or 0 when allowed now. */
  async retryAfter(rule: RateRule, key: string): Promise<number> {
    const rows: Array<{ n: number; oldest: Date | null }> = await this.ds.query(
      `SELECT count(*)::int AS n, min(at) AS oldest FROM (
         SELECT at FROM rate_events
          WHERE bucket = $1 AND key = $2 AND at > now() - make_interval(secs => $3)
          ORDER BY at DESC LIMIT $4) recent`,
      [rule.bucket, key, rule.windowSeconds, rule.limit],
    );
    const { n, oldest } = rows[0];
    if (n < rule.limit || !oldest) return 0;
    return Math.max(1, Math.ceil((new Date(oldest).getTime() + rule.windowSeconds * 1000 - Date.now()) / 1000));
  }

  /** Throws RATE_LIMITED when any rule is exhausted for its key. */
  async check(checks: Array<[RateRule, string]>): Promise<void> {
    let wait = 0;
    for (const [rule, key] of checks) wait = Math.max(wait, await this.retryAfter(rule, key));
    if (wait > 0) throw AppError.rateLimited(wait);
  }

  async hit(rule: RateRule, key: string): Promise<void> {
    await this.ds.query(`INSERT INTO rate_events (bucket, key) VALUES ($1, $2)`, [rule.bucket, key]);
  }

  async clear(rule: RateRule, key: string): Promise<void> {
    await this.ds.query(`DELETE FROM rate_events WHERE bucket = $1 AND key = $2`, [rule.bucket, key]);
  }

  /** Drops events older than any window (called by the worker's housekeeping). */
  async prune(olderThanSeconds = 86400): Promise<void> {
    await this.ds.query(`DELETE FROM rate_events WHERE at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
  }
}
