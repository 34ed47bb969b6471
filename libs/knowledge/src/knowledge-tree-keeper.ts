import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../../core/src/database/unit-of-work';
import { OutboxEvent, OutboxHandler } from '../../core/src/outbox/outbox';
import { KnowledgeBoard } from './knowledge-board';

/**
 * A safety net behind KnowledgeBoard.beforeMove, which places a moved article in its new
 * board's tree inside moveTopic's transaction: a `topic.moved` event whose article still sits
 * in another board than its topic (a move made before that hook existed, its event delivered
 * after an upgrade) is placed the same way. Idempotent: an article in its topic's board is left alone.
 */
@Injectable()
export class KnowledgeTreeKeeper implements OutboxHandler {
  readonly name = 'knowledge-tree';

  constructor(
    private readonly uow: UnitOfWork,
    private readonly board: KnowledgeBoard,
  ) {}

  handles(type: string): boolean {
    return type === 'topic.moved';
  }

  async handle(events: OutboxEvent[]): Promise<void> {
    for (const e of events) {
      await this.uow.run(async (tx) => {
        // The topic's row locked first, as moveTopic locks it before placing the article
        // (topics, then boards, then articles): only a move (moveTopic, or this handler on
        // another worker) changes an article's board, and each now waits here for the other.
        // Read unlocked, a move committed before beforeMove took its locks was undone (the
        // article put back in the board its topic had left) or shifted the old board's tree a
        // second time. NO KEY UPDATE waits for moveTopic's FOR UPDATE and for itself, not for
        // those holding the topic FOR KEY SHARE (a publication, moderation). Where the article is
        // is read after, in a statement of its own: one that waited for the lock would read the
        // articles as they were before the other move committed.
        await tx.query(`SELECT 1 FROM topics WHERE id = $1 FOR NO KEY UPDATE`, [e.aggregateId]);
        const stranded = await tx.one<{ old_board: string; old_space: string; new_board: string; new_space: string }>(
          `SELECT a.board_id AS old_board, b.space_id AS old_space, t.board_id AS new_board, t.space_id AS new_space
             FROM articles a JOIN topics t ON t.id = a.topic_id JOIN boards b ON b.id = a.board_id
            WHERE a.topic_id = $1 AND a.board_id <> t.board_id`,
          [e.aggregateId],
        );
        if (!stranded) return;
        await this.board.beforeMove(tx, {
          topicId: e.aggregateId, fromBoardId: stranded.old_board, toBoardId: stranded.new_board, fromSpaceId: stranded.old_space, toSpaceId: stranded.new_space,
        });
      });
    }
  }
}
