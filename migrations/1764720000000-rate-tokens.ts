import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Throttles for frequent actions (searches), shared by every API node: one row per limited
 * key, holding when the key's budget is whole again (a generic cell rate algorithm). UNLOGGED:
 * written on every search, and losing them in a crash only forgives recent searches.
 */
export class RateTokens1764720000000 implements MigrationInterface {
  name = 'RateTokens1764720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE rate_tokens (
        bucket text NOT NULL,
        key text NOT NULL,
        tat timestamptz NOT NULL,
        burst_seconds double precision NOT NULL CHECK (burst_seconds > 0),
        PRIMARY KEY (bucket, key)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_tokens`);
  }
}
