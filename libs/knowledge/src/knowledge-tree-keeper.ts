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
