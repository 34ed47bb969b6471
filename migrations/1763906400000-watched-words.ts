import { MigrationInterface, QueryRunner } from 'typeorm';

/** Automod: watched words and patterns per space or site-wide. */
export class WatchedWords1763906400000 implements MigrationInterface {
  name = 'WatchedWords1763906400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE watched_words (
        id uuid PRIMARY KEY,
        space_id uuid REFERENCES spaces(id) ON DELETE CASCADE,
        pattern text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('WORD', 'REGEX')),
        action text NOT NULL CHECK (action IN ('BLOCK', 'CENSOR', 'REQUIRE_APPROVAL', 'FLAG')),
        public_reason text NOT NULL,
        created_by uuid REFERENCES users(id),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX watched_words_space_idx ON watched_words (space_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE watched_words`);
  }
}
