import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * @mention autocomplete (Query.userSuggestions) looks members up by the start of their handle
 * or of any word of their display name: a pattern index for the handles (lower-case by
 * their CHECK), a trigram index for the names, both without deleted accounts.
 */
export class UserSuggestions1764864000000 implements MigrationInterface {
  name = 'UserSuggestions1764864000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX users_handle_prefix_idx ON users (handle text_pattern_ops) WHERE deleted_at IS NULL;
      CREATE INDEX users_display_name_trgm_idx ON users USING gin (lower(display_name) gin_trgm_ops) WHERE deleted_at IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users_display_name_trgm_idx; DROP INDEX users_handle_prefix_idx;`);
  }
}
