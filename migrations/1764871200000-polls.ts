import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Polls in posts (Discourse's poll): at most one per post, its options in order, and one row
 * per member and chosen option. The counts (each option's votes, the poll's voters) are kept
 * in the vote's transaction, under the poll's row lock, so a page reads them without counting.
 * A poll goes with its post's row; an option with its poll. A poll is closed once closed_at is
 * set or closes_at has passed (read at query time: no job closes it).
 */
export class Polls1764871200000 implements MigrationInterface {
  name = 'Polls1764871200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE polls (
        id uuid PRIMARY KEY,
        post_id uuid NOT NULL UNIQUE REFERENCES posts(id) ON DELETE CASCADE,
        question text NOT NULL CHECK (char_length(question) BETWEEN 1 AND 300),
        kind text NOT NULL CHECK (kind IN ('SINGLE', 'MULTIPLE')),
        min_choices int NOT NULL,
        max_choices int NOT NULL,
        results text NOT NULL CHECK (results IN ('ALWAYS', 'ON_VOTE', 'ON_CLOSE', 'MODERATORS')),
        public_voters boolean NOT NULL DEFAULT false,
        closes_at timestamptz,
        closed_at timestamptz,
        voter_count int NOT NULL DEFAULT 0 CHECK (voter_count >= 0),
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT polls_choices CHECK (1 <= min_choices AND min_choices <= max_choices AND max_choices <= 20
          AND (kind = 'MULTIPLE' OR (min_choices = 1 AND max_choices = 1)))
      );
      CREATE TABLE poll_options (
        id uuid PRIMARY KEY,
        poll_id uuid NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
        position int NOT NULL,
        text text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 200),
        vote_count int NOT NULL DEFAULT 0 CHECK (vote_count >= 0),
        UNIQUE (poll_id, position)
      );
      CREATE TABLE poll_votes (
        poll_id uuid NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
        option_id uuid NOT NULL REFERENCES poll_options(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT poll_votes_unique UNIQUE (poll_id, user_id, option_id)
      );
      -- An option's voters in the order they voted (Poll.options.voters); the cascade from an option.
      CREATE INDEX poll_votes_option_idx ON poll_votes (option_id, created_at, user_id);
      -- A member's votes (account deletion keeps them; a user row's removal cascades).
      CREATE INDEX poll_votes_user_idx ON poll_votes (user_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE poll_votes; DROP TABLE poll_options; DROP TABLE polls`);
  }
}
