import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Live pushes of what processes without a live gateway commit (the separate worker, the CLI):
 * they write their committed events here in the same transaction, and one API node claims each
 * row and pushes from it. UNLOGGED: a live push is worth nothing after a crash (clients catch up
 * with `topic:sync` and their next read), so the rows skip the write-ahead log.
 */
export class LiveRelay1764910800000 implements MigrationInterface {
  name = 'LiveRelay1764910800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE live_relay (
        id bigserial PRIMARY KEY,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE live_relay`);
  }
}
