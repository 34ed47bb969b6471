import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every search asks which topics have an audience change waiting for the indexer
 * (SearchService.topicsInFlux). Read down the index of all pending events, that would walk a
 * whole backlog (an import queues one event per post); this partial index holds only the
 * pending events of that kind, a handful. Its predicate is the query's, word for word.
 */
export class OutboxAudienceIndex1764774000000 implements MigrationInterface {
  name = 'OutboxAudienceIndex1764774000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX outbox_pending_audience_idx ON outbox ((payload->>'topicId'))
        WHERE processed_at IS NULL AND type IN ('topic.moved', 'topic.hidden', 'topic.deleted', 'topic.pending', 'post.hidden', 'post.deleted', 'post.pending')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX outbox_pending_audience_idx`);
  }
}
