import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { pruneInBatches } from '../../../core/src/database/prune';
import { Queryable, rowsOf } from '../../../core/src/database/unit-of-work';
import { newId } from '../../../core/src/ids';
import { DraftRow } from './draft.model';

/** A draft's target as stored: the column that holds it and the board's, topic's or post's id. */
export type DraftKey = { column: 'board_id' | 'topic_id' | 'post_id'; id: string };

/** The draft for a new topic in a board, or for a reply in a topic. */
export const newTopicDraft = (boardId: string): DraftKey => ({ column: 'board_id', id: boardId });
export const replyDraft = (topicId: string): DraftKey => ({ column: 'topic_id', id: topicId });
/** The draft of an edit of a post. */
export const editDraft = (postId: string): DraftKey => ({ column: 'post_id', id: postId });

/** What a save writes. */
export interface DraftText {
  title: string | null;
  body: string;
  tags: string[];
  replyToPostId: string | null;
  /** A new topic's kind, when chosen. */
  kind: string | null;
  /**
   * An edit's draft: when the post was last edited (or written) as it stands now. Kept from the
   * draft's first save: later saves still grow from the text the member loaded then, and the
   * server cannot tell that they have read a newer version since, so a change meanwhile stays
   * told (`Draft.postEditedSince`) until the draft is posted or deleted and begun again.
   */
  baseEditedAt: Date | null;
}

const COLUMNS = `id, board_id, topic_id, post_id, reply_to_post_id, title, body, tags, kind, base_edited_at, sequence, created_at, updated_at`;
/** A draft being written (posted and deleted ones keep their row, without a body, for its sequence). */
const LIVE = `body IS NOT NULL`;

@Injectable()
export class DraftsRepository {
  constructor(private readonly ds: DataSource) {}

  /** The member's row at a target, live or not, locked for the save that decides on it. */
  async lockedRow(m: Queryable, userId: string, key: DraftKey): Promise<DraftRow | undefined> {
    const [row] = await m.query(`SELECT ${COLUMNS} FROM drafts WHERE user_id = $1 AND ${key.column} = $2 FOR UPDATE`, [userId, key.id]);
    return row;
  }

  /** The member's draft at a target, if they have one. */
  async live(userId: string, key: DraftKey): Promise<DraftRow | undefined> {
    const [row] = await this.ds.query(`SELECT ${COLUMNS} FROM drafts WHERE user_id = $1 AND ${key.column} = $2 AND ${LIVE}`, [userId, key.id]);
    return row;
  }

  /** A keyset page of the member's drafts, last saved first. */
  page(userId: string, limit: number, after?: [string, string]): Promise<Array<DraftRow & { k_ts: string }>> {
    const keyset = after ? ` AND (updated_at, id) < ($3::timestamptz, $4::uuid)` : '';
    return this.ds.query(
      `SELECT ${COLUMNS}, updated_at::text AS k_ts FROM drafts WHERE user_id = $1 AND ${LIVE}${keyset} ORDER BY updated_at DESC, id DESC LIMIT $2`,
      [userId, limit, ...(after ?? [])],
    );
  }

  /** How many drafts the member has (`m`: inside the transaction that decides on it). */
  async count(userId: string, m: Queryable = this.ds): Promise<number> {
    const [row]: Array<{ n: number }> = await m.query(`SELECT count(*)::int AS n FROM drafts WHERE user_id = $1 AND ${LIVE}`, [userId]);
    return row.n;
  }

  /**
   * Writes the member's draft at a target with the next sequence: a new row, or the one there
   * (a live draft, or what a posted or deleted one left, which starts afresh). An edit's draft
   * keeps the post's time it began from until it is posted or deleted.
   */
  async save(m: Queryable, userId: string, key: DraftKey, text: DraftText): Promise<DraftRow> {
    const [row] = await m.query(
      `INSERT INTO drafts AS d (id, user_id, ${key.column}, title, body, tags, reply_to_post_id, kind, base_edited_at, sequence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
       ON CONFLICT (user_id, ${key.column}) WHERE ${key.column} IS NOT NULL DO UPDATE
         SET title = excluded.title, body = excluded.body, tags = excluded.tags, reply_to_post_id = excluded.reply_to_post_id, kind = excluded.kind,
             base_edited_at = CASE WHEN d.body IS NULL THEN excluded.base_edited_at ELSE d.base_edited_at END,
             sequence = d.sequence + 1, updated_at = now(), created_at = CASE WHEN d.body IS NULL THEN now() ELSE d.created_at END
       RETURNING ${COLUMNS}`,
      [newId(), userId, key.id, text.title, text.body, text.tags, text.replyToPostId, text.kind, text.baseEditedAt],
    );
    return row;
  }

  /**
   * Ends the member's draft at a target (deleted, or posted in `m`'s transaction): its text
   * goes, its row stays with the sequence raised, so no tab that saw it can save over it.
   * Whether there was a draft.
   */
  async discard(userId: string, key: DraftKey, m: Queryable = this.ds): Promise<boolean> {
    const rows = await m.query(
      `UPDATE drafts SET body = NULL, title = NULL, tags = '{}', reply_to_post_id = NULL, kind = NULL, base_edited_at = NULL, sequence = sequence + 1, updated_at = now()
        WHERE user_id = $1 AND ${key.column} = $2 AND ${LIVE} RETURNING 1`,
      [userId, key.id],
    );
    return rowsOf(rows).length > 0;
  }

  /** Drafts (and what posted or deleted ones left) untouched for `days` days. */
  pruneOlderThan(days: number): Promise<number> {
    return pruneInBatches(this.ds, 'drafts', `SELECT id FROM drafts WHERE updated_at < now() - make_interval(days => $2) LIMIT $1`, [days]);
  }
}
