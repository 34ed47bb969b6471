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
        // The topic's row held first, as moveTopic locks it before placing the article (topics,
        // then boards, then articles): only a move (moveTopic, or this handler on another worker)
        // changes an article's board, and each now waits here for the other. Read unlocked, a
        // move committed before beforeMove took its locks was undone (the article put back in the
        // board its topic had left) or shifted the old board's tree a second time. FOR KEY SHARE
        // waits for moveTopic's FOR UPDATE; another run of this handler is waited for on a lock of
        // its own (a transaction-scoped advisory lock on the topic, which nothing else takes).
        // Not a stronger lock on the topic's row: a publication holds the topic FOR KEY SHARE, then
        // the board, then updates the topic's row (ArticleWrites.mirror), so a run holding the row
        // FOR NO KEY UPDATE while it waited for that board deadlocked with it. Where the article
        // is is read after, in a statement of its own: one that waited for the locks would read
        // the articles as they were before the other move committed.
        await tx.query(`SELECT 1 FROM topics WHERE id = $1 FOR KEY SHARE`, [e.aggregateId]);
        await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('parvis:knowledge-tree:' || $1::text, 0))`, [e.aggregateId]);
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
