import { MigrationInterface, QueryRunner } from 'typeorm';

const BEFORE = `'topic.moved', 'topic.hidden', 'topic.deleted', 'topic.pending', 'post.hidden', 'post.deleted', 'post.pending'`;

/**
 * movePosts emits `post.moved`, an audience change (a post may leave a public topic for an
 * internal one): searches leave the topic it left out until the indexer has filed it anew,
 * as for the other audience events. The partial index's predicate is the query's word for
 * word (AUDIENCE_EVENT_TYPES), so it is made again with the new type.
 */
export class MovedPostsAudience1764878400000 implements MigrationInterface {
  name = 'MovedPostsAudience1764878400000';

  async up(q: QueryRunner): Promise<void> {
    await this.index(q, `${BEFORE}, 'post.moved'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await this.index(q, BEFORE);
  }

  private async index(q: QueryRunner, types: string): Promise<void> {
    await q.query(`DROP INDEX outbox_pending_audience_idx`);
    await q.query(`CREATE INDEX outbox_pending_audience_idx ON outbox ((payload->>'topicId')) WHERE processed_at IS NULL AND type IN (${types})`);
  }
}
