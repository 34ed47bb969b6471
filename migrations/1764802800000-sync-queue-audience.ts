import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which documents waiting for the external engine changed audience (moved, hidden, deleted,
 * held): until the engine has them, searches it answers leave their topics out of totals and
 * facets (`SearchService`), and only theirs: a pin or a title edit re-queues a topic's posts
 * without hiding the topic from anyone meanwhile.
 */
export class SyncQueueAudience1764802800000 implements MigrationInterface {
  name = 'SyncQueueAudience1764802800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE search_sync_queue ADD COLUMN audience boolean NOT NULL DEFAULT false;
      CREATE INDEX search_sync_queue_audience_idx ON search_sync_queue (post_id) WHERE audience;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE search_sync_queue DROP COLUMN audience`);
  }
}
