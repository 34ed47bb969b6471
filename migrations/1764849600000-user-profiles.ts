import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What members tell about themselves on their profile (`updateProfile`): a bio in markdown,
 * kept as written (its author edits it) and as rendered through the posts' content pipeline,
 * a location and a website. Empty means unset (NULL). A deleted account holds none of them,
 * as it holds no address. Sessions get an index by user and last use, for `User.lastSeenAt`
 * (the one by user covers live sessions only; ended ones count too).
 */
export class UserProfiles1764849600000 implements MigrationInterface {
  name = 'UserProfiles1764849600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users ADD COLUMN bio text CHECK (char_length(bio) <= 3000), ADD COLUMN bio_html text,
        ADD COLUMN location text CHECK (char_length(location) <= 100), ADD COLUMN website text CHECK (char_length(website) <= 300);
      ALTER TABLE users ADD CONSTRAINT users_bio_rendered CHECK ((bio IS NULL) = (bio_html IS NULL));
      ALTER TABLE users ADD CONSTRAINT users_deleted_tells_nothing CHECK (deleted_at IS NULL OR (bio IS NULL AND location IS NULL AND website IS NULL));
      CREATE INDEX sessions_user_last_used_idx ON sessions (user_id, last_used_at DESC);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX sessions_user_last_used_idx;
      ALTER TABLE users DROP CONSTRAINT users_deleted_tells_nothing, DROP CONSTRAINT users_bio_rendered;
      ALTER TABLE users DROP COLUMN website, DROP COLUMN location, DROP COLUMN bio_html, DROP COLUMN bio;
    `);
  }
}
