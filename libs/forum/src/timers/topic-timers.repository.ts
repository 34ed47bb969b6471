import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Tx } from '../../../core/src/database/unit-of-work';
import { BoardKind } from '../../../spaces/src/boards/board.model';
import { ContentState } from '../forum.enums';
import { TopicTimerKind, TopicTimerRow, timerSlot } from './topic-timer.model';

/**
 * When a timer fires: its `due_at`, except that CLOSE_AFTER_LAST_POST waits for the topic's
 * last activity plus its hours (`due_at` is then only the earliest the job looks at it).
 */
const DUE_SQL = `CASE WHEN tt.after_hours IS NULL THEN tt.due_at ELSE greatest(tt.due_at, t.last_activity_at + make_interval(hours => tt.after_hours)) END`;

const TIMER_COLUMNS = `tt.id, tt.topic_id, tt.kind, ${DUE_SQL} AS due_at, tt.after_hours, tt.set_by, tt.created_at, tt.board_id`;

/**
 * Where a PUBLISH_TO_BOARD timer sends its topic (null for the other kinds): its board's space
 * and kind, joined on `b`, so whether the setter may still publish there costs nothing more.
 */
const TARGET_COLUMNS = `b.space_id AS board_space_id, b.kind AS board_kind`;
const TARGET_JOIN = `LEFT JOIN boards b ON b.id = tt.board_id`;

/** A PUBLISH_TO_BOARD timer's board, as TARGET_COLUMNS read it. */
export interface TimerTarget {
  board_space_id: string | null;
  board_kind: BoardKind | null;
}

/** A due timer as the job claims it. */
export interface DueTimerRow extends TopicTimerRow, TimerTarget {
  /** The stored lower bound, where DUE_SQL may be later (CLOSE_AFTER_LAST_POST after a reply). */
  stored_due_at: Date;
}

/** A timer as it is read, with its topic's space, board and state, and where it would publish the topic. */
export interface ListedTimerRow extends TopicTimerRow, TimerTarget {
  space_id: string;
  topic_board_id: string;
  topic_state: ContentState;
}

/**
 * What orders a topic's `topic:timers` pushes (`LiveGateway.pushTimers`) and its Topic.timers
 * answers (`Topic.timersVersion`): `version`, raised by every change of its timers, and `news`,
 * by those of a status timer (which every reader hears of): news-versions.ts' `fullVersion` and
 * `newsVersion`.
 */
export interface TimersVersion {
  version: number;
  news: number;
}

/** Every query for topic timers. */
@Injectable()
export class TopicTimersRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * The timers of these topics, soonest first, with where their topic is, its state and their
   * target (whether they would still be carried out), and each topic's timers' versions
   * (`TimersVersion`) read with them, in one statement: the version an answer or a push carries
   * is that of the list it sends. A topic that is gone is not in the map.
   */
  async byTopicIds(topicIds: readonly string[]): Promise<Map<string, { rows: ListedTimerRow[]; version: TimersVersion }>> {
    const rows: Array<ListedTimerRow & { tid: string; timers_version: number; timers_news: number }> = await this.ds.query(
      `SELECT ${TIMER_COLUMNS}, t.id AS tid, t.space_id, t.board_id AS topic_board_id, t.state AS topic_state, ${TARGET_COLUMNS},
              t.timers_version, t.timers_news
         FROM topics t LEFT JOIN topic_timers tt ON tt.topic_id = t.id ${TARGET_JOIN}
        WHERE t.id = ANY($1::uuid[]) ORDER BY due_at, tt.kind`,
      [topicIds],
    );
    const read = new Map<string, { rows: ListedTimerRow[]; version: TimersVersion }>();
    for (const { tid, timers_version, timers_news, ...row } of rows) {
      let topic = read.get(tid);
      if (!topic) read.set(tid, (topic = { rows: [], version: { version: timers_version, news: timers_news } }));
      // A topic without timers is one row, its timer's columns null.
      if (row.id !== null) topic.rows.push(row);
    }
    return read;
  }

  /**
   * Raises the topic's timers' versions (`TimersVersion`) for a change of its timers, `news` when
   * it is one every reader hears of, in one UPDATE of the topic's row: its lock, held until the
   * change commits, puts two changes' versions in the order they commit in.
   */
  async raiseVersion(tx: Tx, topicId: string, news: boolean): Promise<void> {
    const newsToo = news ? `, timers_news = timers_news + 1` : '';
    await tx.query(`UPDATE topics SET timers_version = timers_version + 1${newsToo} WHERE id = $1`, [topicId]);
  }

  /**
   * Raises the news version alone, for a transaction that raised `version` already and changes
   * a status timer after (`announceTimers`: one raise of each per transaction).
   */
  async raiseNews(tx: Tx, topicId: string): Promise<void> {
    await tx.query(`UPDATE topics SET timers_news = timers_news + 1 WHERE id = $1`, [topicId]);
  }

  /** The kinds of the topic's timers, in `tx` (`timersOfTopicChanged`: a move of their topic, `TopicsService.writeMove`; its deletion or restoration, `PostsService.applyState`). */
  async kindsOf(tx: Tx, topicId: string): Promise<TopicTimerKind[]> {
    const rows = await tx.query<{ kind: TopicTimerKind }>(`SELECT kind FROM topic_timers WHERE topic_id = $1 ORDER BY kind`, [topicId]);
    return rows.map((r) => r.kind);
  }

  /** The topic's timer of this kind, locked for the transaction (removing it). */
  lockOne(tx: Tx, topicId: string, kind: TopicTimerKind): Promise<(TopicTimerRow & TimerTarget) | undefined> {
    return this.lockWhere(tx, `tt.kind = $2`, [topicId, kind]);
  }

  /**
   * Holds, until the transaction ends, the right to set the topic's timers: a second set waits
   * for the first to commit, so it finds (`lockReplaced`) and logs as replaced what the first
   * wrote, where both would otherwise find nothing and the later one's upsert replace the
   * earlier's unlogged. Removing and firing lock the rows they change instead.
   */
  async lockForSetting(tx: Tx, topicId: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('parvis:topic-timers:' || $1::text, 0))`, [topicId]);
  }

  /**
   * The timer a new one of this kind replaces, locked for the transaction: the topic's timer in
   * the same slot (`timerSlot`: any status timer for a status kind, else one of that kind).
   */
  lockReplaced(tx: Tx, topicId: string, kind: TopicTimerKind): Promise<(TopicTimerRow & TimerTarget) | undefined> {
    return this.lockWhere(tx, `tt.slot = $2`, [topicId, timerSlot(kind)]);
  }

  /**
   * FOR UPDATE, here and in `claimDue`, not the weaker FOR NO KEY UPDATE polls' job takes: the
   * row locked is then deleted (`remove`: a removal, a firing, a drop; only a postponement keeps
   * a claimed one, and the job cannot tell which before it locks) or replaced by `upsert`,
   * whose ON CONFLICT DO UPDATE takes FOR UPDATE itself (it sets `kind`, which the unique `slot`
   * is generated from), so the weaker lock would only be raised within the transaction. And no
   * table references topic_timers: no foreign key's KEY SHARE, the one lock FOR NO KEY UPDATE
   * lets through, is ever taken on a timer, so it would hold off nothing less.
   */
  private lockWhere(tx: Tx, condition: string, params: [string, string]): Promise<(TopicTimerRow & TimerTarget) | undefined> {
    return tx.one<TopicTimerRow & TimerTarget>(
      `SELECT ${TIMER_COLUMNS}, ${TARGET_COLUMNS} FROM topic_timers tt JOIN topics t ON t.id = tt.topic_id ${TARGET_JOIN} WHERE tt.topic_id = $1 AND ${condition} FOR UPDATE OF tt`,
      params,
    );
  }

  /**
   * Sets the topic's timer of this kind, replacing the one in its slot (`lockReplaced`), of
   * whatever kind: at `at`, or for CLOSE_AFTER_LAST_POST (`afterHours`) at the topic's last
   * activity plus those hours; `boardId` for PUBLISH_TO_BOARD.
   */
  async upsert(
    tx: Tx,
    timer: { id: string; topicId: string; kind: TopicTimerKind; at: Date | null; afterHours: number | null; setBy: string; boardId: string | null },
  ): Promise<TopicTimerRow & TimerTarget> {
    // The row as written is the row as read: a CLOSE_AFTER_LAST_POST timer is stored at the
    // topic's last activity plus its hours, which is what DUE_SQL answers for it until a reply.
    // Its target is joined once on what the write returns, as the reads join it (TARGET_COLUMNS).
    const [row] = await tx.query<TopicTimerRow & TimerTarget>(
      `WITH tt AS (
         INSERT INTO topic_timers (id, topic_id, kind, due_at, after_hours, set_by, board_id)
         SELECT $1, t.id, $3, COALESCE($4::timestamptz, t.last_activity_at + make_interval(hours => $5::int)), $5::int, $6, $7 FROM topics t WHERE t.id = $2
         ON CONFLICT (topic_id, slot) DO UPDATE
           SET kind = EXCLUDED.kind, due_at = EXCLUDED.due_at, after_hours = EXCLUDED.after_hours, set_by = EXCLUDED.set_by, board_id = EXCLUDED.board_id, created_at = now()
         RETURNING id, topic_id, kind, due_at, after_hours, set_by, created_at, board_id)
       SELECT tt.*, ${TARGET_COLUMNS} FROM tt ${TARGET_JOIN}`,
      [timer.id, timer.topicId, timer.kind, timer.at, timer.afterHours, timer.setBy, timer.boardId],
    );
    return row;
  }

  async remove(tx: Tx, id: string): Promise<void> {
    await tx.query(`DELETE FROM topic_timers WHERE id = $1`, [id]);
  }

  /**
   * The soonest timer stored as due by `now`, locked; one another transaction holds is
   * skipped (SKIP LOCKED), so two workers never fire one twice. `skip`: timers that failed
   * in this run.
   */
  claimDue(tx: Tx, now: Date, skip: readonly string[]): Promise<DueTimerRow | undefined> {
    return tx.one<DueTimerRow>(
      `SELECT ${TIMER_COLUMNS}, tt.due_at AS stored_due_at, ${TARGET_COLUMNS}
         FROM topic_timers tt JOIN topics t ON t.id = tt.topic_id ${TARGET_JOIN}
        WHERE tt.due_at <= $1 AND tt.id <> ALL($2::uuid[])
        ORDER BY tt.due_at LIMIT 1
          FOR UPDATE OF tt SKIP LOCKED`,
      [now, skip],
    );
  }

  /** A CLOSE_AFTER_LAST_POST timer whose topic had a post since: stored at its time now, to be looked at again then. */
  async postpone(tx: Tx, id: string): Promise<void> {
    await tx.query(`UPDATE topic_timers tt SET due_at = ${DUE_SQL} FROM topics t WHERE tt.id = $1 AND t.id = tt.topic_id`, [id]);
  }
}
