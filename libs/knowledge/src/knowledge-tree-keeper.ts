import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../../core/src/database/unit-of-work';
import { OutboxEvent, OutboxHandler } from '../../core/src/outbox/outbox';
import { ArticleWrites } from './articles/article-writes';

/**
 * Keeps the tree right when a moderator moves an article's topic to another knowledge board
 * (moveTopic, a forum feature): the article becomes a top-level article of its new board with
 * a slug there (its old links still resolve), and its children stay behind under its former
 * parent. Idempotent: an article already in its topic's board is left alone.
 */
@Injectable()
export class KnowledgeTreeKeeper implements OutboxHandler {
  readonly name = 'knowledge-tree';

  constructor(
    private readonly uow: UnitOfWork,
    private readonly writes: ArticleWrites,
  ) {}

  handles(type: string): boolean {
    return type === 'topic.moved';
  }

  async handle(events: OutboxEvent[]): Promise<void> {
    for (const e of events) {
      await this.uow.run(async (tx) => {
        const moved = await tx.one<{ topic_id: string; old_board: string; new_board: string; parent_id: string | null; title: string }>(
          `SELECT a.topic_id, a.board_id AS old_board, t.board_id AS new_board, a.parent_id, t.title
             FROM articles a JOIN topics t ON t.id = a.topic_id WHERE a.topic_id = $1 AND a.board_id <> t.board_id`,
          [e.aggregateId],
        );
        if (!moved) return;
        // Both boards, in a fixed order (no deadlock with a move the other way).
        for (const b of [moved.old_board, moved.new_board].sort()) await this.writes.lockBoard(tx, b);
        await tx.query(`UPDATE articles SET parent_id = $2 WHERE parent_id = $1`, [moved.topic_id, moved.parent_id]);
        const position = await this.writes.nextPosition(tx, moved.new_board, null);
        await tx.query(
          `UPDATE articles SET board_id = $2, parent_id = NULL, position = $3, version = version + 1, updated_at = now() WHERE topic_id = $1`,
          [moved.topic_id, moved.new_board, position],
        );
        await this.writes.reslug(tx, moved.topic_id, moved.new_board, moved.title);
      });
    }
  }
}
