import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Queryable, rowsOf } from '../../../core/src/database/unit-of-work';
import { AccessService } from '../../../access/src/access.service';
import { ContentState, TopicKind } from '../forum.enums';
import { PollKind, PollResults, PollRow } from './poll.model';

/**
 * Its closing time passed (`pl`; null without one): by the clock, or told by the job
 * (`CLOSING_TOLD` wrote `closing_told_at`, checked against the time it told, under the row lock).
 *
 * The clock is `now()`, the reading transaction's start, as the job's is. A statement of a
 * transaction begun before the time reads the rows committed since, though: the job's telling
 * too (news counted, `NEWS` no longer adds it), which by its clock alone it would take for open,
 * at the very news the job's closed pushes carry, or as open to a vote or a reopening waiting
 * behind the job's lock. The told closing is therefore passed whatever the clock: a read that
 * sees the telling sees the poll closed, one that does not decides by its clock, one value of it
 * for every column of the row (`CLOSED` and `NEWS` agree). No other clock would do:
 * statement_timestamp() is the statement's start, which a lock's wait (the row then re-read as
 * committed since) leaves behind as well; clock_timestamp() is read anew at each call, so a row's
 * `closed` and `news` could straddle the time (and read once, in an initplan, it is not read
 * again with the row). The told mark is in the row, read with it.
 */
const PASSED = `(pl.closes_at <= now() OR pl.closing_told_at = pl.closes_at)`;

/**
 * Closed by hand, or past its closing time (`PASSED`): read at query time (a vote a moment after
 * the time is refused whether or not the passing was told yet: `CLOSING_UNTOLD`).
 */
const CLOSED = `(pl.closed_at IS NOT NULL OR COALESCE(${PASSED}, false))`;

export interface NewPoll {
  id: string;
  postId: string;
  question: string;
  kind: PollKind;
  minChoices: number;
  maxChoices: number;
  results: PollResults;
  publicVoters: boolean;
  closesAt: Date | null;
  options: Array<{ id: string; text: string }>;
}

/** A poll as a live push reads it: its counts, its post's and topic's states. */
export interface PollPushRow extends PollRow {
  topic_id: string;
  space_id: string;
  author_id: string;
  post_state: ContentState;
  topic_state: ContentState;
}

/**
 * The events a poll's changes emit, which decide who hears them (`LiveGateway.pushPoll`): NEWS,
 * a change every reader hears of, with or without the counts (its creation, an edit, a closing by
 * hand or by its time, a reopening), and VOTED, a vote, which only those who see the counts hear
 * of. Which a change emits is decided here alone, with what it writes (`PollChange`): a change
 * that raises `news` (`NEWS_CHANGE`, `CLOSING_TOLD`) emits NEWS, a vote (which never does) VOTED,
 * and a creation NEWS at `news`' first value (0); so every push to readers without counts carries
 * a news version no push before it carried with another state (live-order e2e checks it for
 * every kind of change).
 */
export const PollEvent = { NEWS: 'poll.updated', VOTED: 'poll.voted', DELETED: 'poll.deleted' } as const;
export type PollEvent = (typeof PollEvent)[keyof typeof PollEvent];

/** What a change of a poll wrote: its new version, and the event that tells of it (`PollEvent`). */
export interface PollChange {
  version: number;
  event: PollEvent;
}

/**
 * A closing time the poll's `news` does not count yet (`pl`): set, not preceded by a closing by
 * hand (which counted as news then), and not told (`closing_told_at`: the closing time whose
 * passing `news` counts, migration 1765350000000). Once it passes the poll is closed (`CLOSED`),
 * and until the job tells it (`CLOSING_TOLD`) the poll's pushes read its news one higher
 * (`NEWS`), so no push of the closed poll carries the news an open one was pushed with.
 */
const CLOSING_UNTOLD = `(pl.closed_at IS NULL AND pl.closes_at IS NOT NULL AND pl.closing_told_at IS DISTINCT FROM pl.closes_at)`;

/** The poll's news as its pushes carry it: `news`, and one more for a closing time passed and not told yet (`CLOSING_UNTOLD`). */
const NEWS = `pl.news + CASE WHEN ${CLOSING_UNTOLD} AND pl.closes_at <= now() THEN 1 ELSE 0 END`;

/** A poll as every read of it has it (`PollRow`): its versions (`version`, `news` as `NEWS`) read with its `closed`, in one statement. */
const POLL_COLUMNS = `pl.id, pl.post_id, pl.question, pl.kind, pl.min_choices, pl.max_choices, pl.results, pl.public_voters, pl.closes_at,
  ${CLOSED} AS closed, pl.voter_count, pl.version, ${NEWS} AS news,
  (SELECT json_agg(json_build_object('id', o.id, 'text', o.text, 'vote_count', o.vote_count) ORDER BY o.position)
     FROM poll_options o WHERE o.poll_id = pl.id) AS options`;

/**
 * What a change every reader of a poll hears of (an edit, a closing, a reopening) writes besides
 * its own columns, in its one UPDATE of `polls pl` under the poll's row lock: the version, and
 * the news with it; two news for a poll whose closing time is untold (`CLOSING_UNTOLD`), the
 * first that closing's: a push that read the poll past that time before this change committed
 * carried it (`NEWS`), closed, whatever this change makes of the poll. The job's telling of a
 * closing writes the one (`CLOSING_TOLD`).
 */
const NEWS_CHANGE = `version = pl.version + 1, news = pl.news + 1 + CASE WHEN ${CLOSING_UNTOLD} THEN 1 ELSE 0 END`;

/** What the job writes of a poll whose closing time passed (`tellClosings`): the news `NEWS` read for it, now counted, and the version. */
const CLOSING_TOLD = `version = pl.version + 1, news = pl.news + 1, closing_told_at = pl.closes_at`;

/** A poll as a vote reads it under its lock: with what decides whether the voter reads its post and topic, and whether they take votes. */
export interface PollVoteRow extends PollPushRow {
  post_deleted_from: ContentState | null;
  topic_author_id: string;
  topic_locked: boolean;
  topic_closed: boolean;
}

/** Where a poll is, or is to be added: its post and topic, with what decides who may manage a poll there (`PollsService.judge`). */
export interface PollPlaceRow {
  post_id: string;
  topic_id: string;
  space_id: string;
  author_id: string;
  post_state: ContentState;
  post_deleted_from: ContentState | null;
  post_number: number;
  post_wiki: boolean;
  topic_state: ContentState;
  topic_author_id: string;
  topic_locked: boolean;
  topic_closed: boolean;
  topic_kind: TopicKind;
}

/** A poll as its management (updatePoll, closePoll, reopenPoll, deletePoll) reads it: its state and its place. */
export interface ManagedPollRow extends PollPlaceRow {
  id: string;
  question: string;
  closed: boolean;
  voter_count: number;
}

/**
 * How a poll mutation locks its post's topic, first (topics before posts, as `movePosts` and
 * moves take them): KEY SHARE, the one lock that waits for a change of the topic's `locked` or
 * `closed` (`TopicsService.writeStatus` takes the row FOR UPDATE for it, as moves do) and for
 * nothing else, so the vote reads them as they are once any such change committed, and a
 * change waits for the votes that read them before it. A stronger share lock would also wait
 * for replies and reactions, which update the topic's row after locking their post: a vote
 * sharing the topic and then waiting for the post a reaction holds would deadlock with it.
 */
const TOPIC_LOCK = 'FOR KEY SHARE';

/**
 * A post (`p`) and its topic (`t`) as a poll's place; `topicState`, the SQL its `topic_state` is
 * read from (the topic's row, unless locked: `FIRST_POST_STATE`).
 */
const placeColumns = (topicState = 't.state') => `p.id AS post_id, p.topic_id, p.space_id, p.author_id, p.state AS post_state, p.deleted_from AS post_deleted_from,
  p.number AS post_number, p.wiki AS post_wiki, ${topicState} AS topic_state, t.author_id AS topic_author_id, t.locked AS topic_locked,
  t.closed AS topic_closed, t.kind AS topic_kind`;
const POLL_AND_PLACE = `SELECT pl.id, pl.question, ${CLOSED} AS closed, pl.voter_count`;
const MANAGED_POLL = `${POLL_AND_PLACE}, ${placeColumns()}
  FROM polls pl JOIN posts p ON p.id = pl.post_id JOIN topics t ON t.id = p.topic_id WHERE pl.id = $1`;

/**
 * A poll mutation's locks before its post's, each in a subquery of its own, locked as it is
 * scanned (so before the statement's own locks, and before an update's): the topic's row
 * (`TOPIC_LOCK`), as `t`, then, joined laterally on it (so always after it), its first post's
 * share lock, as `fp`, unless the post the poll is on (`postId`, SQL) is that first post: its
 * own lock then covers it, and a share lock taken before it would be upgraded by the NO KEY
 * UPDATE that `markPost` and `deletePoll` take on the post, which two of them could both hold
 * and deadlock on. The topic's state is then read from `fp`, or from the post itself when it is
 * the first (`FIRST_POST_STATE`): see `lockToManage`.
 */
const placeLocks = (topicId: string, postId: string) => `(SELECT id, author_id, locked, closed, kind FROM topics WHERE id = ${topicId} ${TOPIC_LOCK}) t
  LEFT JOIN LATERAL (SELECT state FROM posts WHERE topic_id = t.id AND number = 1 AND id <> ${postId} FOR SHARE) fp ON true`;
/** The topic's state as its first post has it, under that post's lock (`placeLocks`): `fp`'s, or the post's own when it is the first. */
const FIRST_POST_STATE = 'COALESCE(fp.state, p.state)';

/**
 * A poll (`pl`) with its post (`p`) and topic (`t`), their states and authors, and `more` columns;
 * `firstPost`: the topic's state read from its first post (`fp`, joined), which it mirrors.
 */
const withPlace = (more = '', firstPost = false) => `SELECT ${POLL_COLUMNS}, p.topic_id, p.space_id, p.author_id, p.state AS post_state,
  ${firstPost ? 'fp' : 't'}.state AS topic_state${more}
  FROM polls pl JOIN posts p ON p.id = pl.post_id JOIN topics t ON t.id = p.topic_id${firstPost ? ' JOIN posts fp ON fp.topic_id = t.id AND fp.number = 1' : ''}`;

@Injectable()
export class PollsRepository {
  constructor(private readonly ds: DataSource) {}

  /** The polls of these posts, with their options: one statement for a whole topic page. */
  byPostIds(postIds: readonly string[]): Promise<PollRow[]> {
    return this.ds.query(`SELECT ${POLL_COLUMNS} FROM polls pl WHERE pl.post_id = ANY($1::uuid[])`, [postIds]);
  }

  async byId(id: string, m: Queryable = this.ds): Promise<PollRow | undefined> {
    const [row] = await m.query(`SELECT ${POLL_COLUMNS} FROM polls pl WHERE pl.id = $1`, [id]);
    return row;
  }

  /** The user's chosen options, by poll, among these polls. */
  async choicesAmong(userId: string, pollIds: readonly string[]): Promise<Map<string, string[]>> {
    const rows: Array<{ poll_id: string; option_ids: string[] }> = await this.ds.query(
      `SELECT v.poll_id, array_agg(v.option_id ORDER BY o.position) AS option_ids
         FROM poll_votes v JOIN poll_options o ON o.id = v.option_id
        WHERE v.user_id = $1 AND v.poll_id = ANY($2::uuid[]) GROUP BY v.poll_id`,
      [userId, pollIds],
    );
    return new Map(rows.map((r) => [r.poll_id, r.option_ids]));
  }

  /** The first `first` voters of each option, in the order they voted: one statement for every option asked. */
  async votersOf(optionIds: readonly string[], first: number): Promise<Map<string, string[]>> {
    const rows: Array<{ option_id: string; user_id: string }> = await this.ds.query(
      `SELECT option_id, user_id FROM (
         SELECT v.option_id, v.user_id, row_number() OVER (PARTITION BY v.option_id ORDER BY v.created_at, v.user_id) AS n
           FROM poll_votes v WHERE v.option_id = ANY($1::uuid[])) x
        WHERE n <= $2 ORDER BY option_id, n`,
      [optionIds, first],
    );
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.option_id, [...(out.get(r.option_id) ?? []), r.user_id]);
    return out;
  }

  /** Adds the poll and its options; false when the post has one already. */
  async insert(m: Queryable, p: NewPoll): Promise<boolean> {
    const rows = await m.query(
      `INSERT INTO polls (id, post_id, question, kind, min_choices, max_choices, results, public_voters, closes_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (post_id) DO NOTHING RETURNING id`,
      [p.id, p.postId, p.question, p.kind, p.minChoices, p.maxChoices, p.results, p.publicVoters, p.closesAt],
    );
    if (rows.length === 0) return false;
    await this.insertOptions(m, p);
    return true;
  }

  /** Where a post is, for a poll to be added to it: createPoll's first look, unlocked, before it screens the texts. */
  async placeOfPost(postId: string): Promise<PollPlaceRow | undefined> {
    const [row] = await this.ds.query(`SELECT ${placeColumns()} FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = $1`, [postId]);
    return row;
  }

  /**
   * Marks the post as carrying a poll or not (`posts.has_poll`, which spares Post.poll its
   * statement on pages without one), taking the post's row lock (NO KEY UPDATE) after its
   * topic's (KEY SHARE, `TOPIC_LOCK`) and its topic's first post's (SHARE, unless it is that
   * post: `placeLocks`), as every poll mutation takes them; the post's place under those locks,
   * or undefined. The post's and the topic's columns are as they are now, the topic's state
   * read from its first post (`lockToManage` says why).
   */
  async markPost(m: Queryable, postId: string, hasPoll: boolean): Promise<PollPlaceRow | undefined> {
    const [row] = rowsOf<PollPlaceRow>(
      await m.query(
        // The topic and the first post locked in subqueries of their own, as they are scanned, before the update locks the post.
        `UPDATE posts p SET has_poll = $2
           FROM ${placeLocks('(SELECT topic_id FROM posts WHERE id = $1)', '$1')}
          WHERE p.id = $1 AND t.id = p.topic_id RETURNING ${placeColumns(FIRST_POST_STATE)}`,
        [postId, hasPoll],
      ),
    );
    return row;
  }

  /** Gives the poll (locked, with no votes) a new shape and new options: news (`NEWS_CHANGE`). */
  async replace(m: Queryable, p: Omit<NewPoll, 'postId'>): Promise<PollChange> {
    const change = await this.newsChange(
      m,
      `question = $2, kind = $3, min_choices = $4, max_choices = $5, results = $6, public_voters = $7, closes_at = $8`,
      [p.id, p.question, p.kind, p.minChoices, p.maxChoices, p.results, p.publicVoters, p.closesAt],
    );
    await m.query(`DELETE FROM poll_options WHERE poll_id = $1`, [p.id]);
    await this.insertOptions(m, p);
    return change;
  }

  /**
   * A change every reader hears of, `set` (its own columns; `$1` the poll's id) written with
   * `NEWS_CHANGE` in one UPDATE of the locked poll: its version, and NEWS to tell of it. Every
   * change that raises `news` by hand goes through here, so none emits another event.
   */
  private async newsChange(m: Queryable, set: string, params: unknown[]): Promise<PollChange> {
    const [row] = rowsOf<{ version: number }>(await m.query(`UPDATE polls pl SET ${set}, ${NEWS_CHANGE}, updated_at = now() WHERE pl.id = $1 RETURNING pl.version`, params));
    return { version: row.version, event: PollEvent.NEWS };
  }

  private async insertOptions(m: Queryable, p: Pick<NewPoll, 'id' | 'options'>): Promise<void> {
    await m.query(
      `INSERT INTO poll_options (id, poll_id, position, text) SELECT o.id, $1, o.n, o.text FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS o(id, text, n)`,
      [p.id, p.options.map((o) => o.id), p.options.map((o) => o.text)],
    );
  }

  /** The poll and its place as they stand, unlocked: updatePoll's first look, before it screens the texts. */
  async managedPoll(pollId: string): Promise<ManagedPollRow | undefined> {
    const [row] = await this.ds.query(MANAGED_POLL, [pollId]);
    return row;
  }

  /**
   * A poll's management reads the poll and its place as its transaction's first statement,
   * locking them in the order every poll mutation takes them (`lockForVote`, `markPost`): the
   * topic's row (`TOPIC_LOCK`), its first post's (SHARE) unless the poll is on it, the post's,
   * then the poll's. `post` is SHARE for a change that leaves the post be (updatePoll, closing,
   * reopening), which therefore queues on the poll's row with votes, and NO KEY UPDATE for
   * deletePoll, which clears the post's mark (taking it at once, not upgrading a share lock two
   * deletions could both hold: which is why the first post is not share-locked first when it is
   * the poll's own post, `placeLocks`). The topic's, the posts' and the poll's columns are as
   * they are now (undefined once the poll is gone, or its post moved to another topic meanwhile).
   *
   * The topic's state is read from its first post (`FIRST_POST_STATE`), as a vote reads it, not
   * from the topic's row: moderating the first post (`PostsService.applyState`) writes it there
   * under that post's lock with a non-key update the topic's KEY SHARE does not wait for, so the
   * topic's row could predate a hiding under way, or one that committed while this waited for
   * the post or the poll. The first post's lock (the post's own, when the poll is on it) waits
   * for a hiding under way and reads the post as it committed; one begun after waits for this
   * management: a management racing its topic's hiding acts before it, or is judged on the
   * hidden topic (NOT_FOUND to whoever may not read it), never acts in a topic hidden before it
   * commits. (When the post's or the poll's lock waits for a change of its row, PostgreSQL checks
   * the row as it is now against the subqueries' rows as they were locked: `t.id = p.topic_id`
   * then leaves out a post moved meanwhile, which a move under way could only do before this
   * statement locked the topic, as moves lock topics first.)
   */
  async lockToManage(m: Queryable, pollId: string, post: 'SHARE' | 'NO KEY UPDATE'): Promise<ManagedPollRow | undefined> {
    const [row] = await m.query(
      `${POLL_AND_PLACE}, ${placeColumns(FIRST_POST_STATE)}
         FROM polls pl JOIN posts p ON p.id = pl.post_id CROSS JOIN LATERAL ${placeLocks('p.topic_id', 'p.id')}
        WHERE pl.id = $1 AND t.id = p.topic_id FOR ${post} OF p FOR NO KEY UPDATE OF pl`,
      [pollId],
    );
    return row;
  }

  /**
   * A vote's one read of the poll: its shape, options and state, with its post's and topic's,
   * under the topic's lock (`TOPIC_LOCK`: a vote never lands in a topic locked or closed
   * meanwhile), the share lock of the topic's first post, then of the poll's post (a vote never
   * lands on a post hidden meanwhile, nor in a topic hidden meanwhile through its first post) and
   * the poll's row lock (votes on one poll are counted one after another), taken in that order.
   *
   * The topic's state is read from its first post (`withPlace`'s `firstPost`), not from the
   * topic's row: moderating the first post (`PostsService.applyState`: hiding, deleting, holding
   * it) writes the topic's `state` under the post's lock and with a non-key update, which the
   * topic's KEY SHARE does not wait for, so the topic's row as this statement locked it could
   * still be the one from before a hiding under way, or one that committed while the vote
   * waited for the poll (the row is not read again unless a lock waited for its own change).
   * The first post's share lock waits for such a moderation under way, and the post is then read
   * as it committed; one begun after waits for this vote. A vote on a reply's poll is therefore
   * counted before the topic is hidden, or judged on the hidden topic (NOT_FOUND to those who
   * may not read it), never counted in a topic hidden before it commits. (A poll on the first
   * post is the same row, locked once more.) The poll's, the posts' and the topic's `locked` and
   * `closed` are as they are now; the options are as the statement began, which a concurrent
   * updatePoll may have replaced (changeChoice checks the options it adds again).
   */
  async lockForVote(m: Queryable, pollId: string): Promise<PollVoteRow | undefined> {
    const [row] = await m.query(
      `${withPlace(', p.deleted_from AS post_deleted_from, t.author_id AS topic_author_id, t.locked AS topic_locked, t.closed AS topic_closed', true)}
        WHERE pl.id = $1 ${TOPIC_LOCK} OF t FOR SHARE OF fp FOR SHARE OF p FOR NO KEY UPDATE OF pl`,
      [pollId],
    );
    return row;
  }

  /** The options the user chose in the poll (read under its lock). */
  async choiceOf(m: Queryable, pollId: string, userId: string): Promise<string[]> {
    const rows: Array<{ option_id: string }> = await m.query(`SELECT option_id FROM poll_votes WHERE poll_id = $1 AND user_id = $2`, [pollId, userId]);
    return rows.map((r) => r.option_id);
  }

  /**
   * Moves the user's choice from `removed` to `added` options and the counts with it, under the
   * poll's lock (`lockForVote`); `voterDelta` is +1 for a first vote, -1 for a withdrawn one. The poll's new
   * version, told as VOTED (no news: `PollEvent`), or null (nothing written) when an added option
   * is no longer the poll's (updatePoll replaced them while the vote waited for the lock).
   */
  async changeChoice(m: Queryable, pollId: string, userId: string, removed: string[], added: string[], voterDelta: number): Promise<PollChange | null> {
    if (removed.length) await m.query(`DELETE FROM poll_votes WHERE poll_id = $1 AND user_id = $2 AND option_id = ANY($3::uuid[])`, [pollId, userId, removed]);
    if (added.length) {
      const inserted = await m.query(`INSERT INTO poll_votes (poll_id, option_id, user_id) SELECT $1, o.id, $2 FROM poll_options o WHERE o.poll_id = $1 AND o.id = ANY($3::uuid[]) RETURNING option_id`, [pollId, userId, added]);
      if (rowsOf(inserted).length !== added.length) return null;
    }
    await m.query(
      `UPDATE poll_options SET vote_count = vote_count + CASE WHEN id = ANY($2::uuid[]) THEN 1 ELSE -1 END WHERE poll_id = $1 AND id = ANY($2::uuid[] || $3::uuid[])`,
      [pollId, added, removed],
    );
    const [row] = await m.query(`UPDATE polls SET voter_count = voter_count + $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING version`, [pollId, voterDelta]);
    return { version: row.version, event: PollEvent.VOTED };
  }

  /** Closes or reopens the poll (reopening drops a closing time already past, or told: `PASSED`): news (`NEWS_CHANGE`). */
  setClosed(m: Queryable, pollId: string, closed: boolean): Promise<PollChange> {
    return this.newsChange(m, closed ? `closed_at = now()` : `closed_at = NULL, closes_at = CASE WHEN ${PASSED} THEN NULL ELSE pl.closes_at END`, [pollId]);
  }

  /**
   * Tells up to `limit` polls whose closing time passed and is not told yet (`CLOSING_UNTOLD`),
   * soonest first: `CLOSING_TOLD` written to each, under its row lock, in the caller's
   * transaction; their versions and places, for the NEWS each emits. Each is locked FOR NO KEY
   * UPDATE, as the UPDATE itself locks it (it changes no key): FOR UPDATE would also hold off, until
   * the batch commits, every insert of a row referencing the poll (a vote's, an option's: their
   * foreign keys' KEY SHARE), and skip a poll that such an insert had a share of. A poll another
   * transaction holds (a management, a vote, another node's job) is skipped (SKIP LOCKED), for the next run;
   * the condition is checked again on the row as locked, so a closing is told once, whichever
   * node's job comes first, and a poll reopened or given another time meanwhile is left alone.
   * Reads `now()`, the database's clock, as `CLOSED` does: a node's own clock never tells a
   * closing the polls' reads do not see passed yet. Its transaction's start, not a later clock:
   * each batch's UPDATE is its transaction's first statement, so the two differ by nothing that
   * matters, and a read from a transaction older than the telling finds it closed by the mark
   * (`PASSED`), not by any clock.
   */
  async tellClosings(m: Queryable, limit: number): Promise<Array<{ id: string; version: number; post_id: string; topic_id: string; space_id: string }>> {
    const due = `${CLOSING_UNTOLD} AND pl.closes_at <= now()`;
    return rowsOf(
      await m.query(
        `UPDATE polls pl SET ${CLOSING_TOLD}, updated_at = now() FROM posts p
          WHERE pl.id IN (SELECT pl.id FROM polls pl WHERE ${due} ORDER BY pl.closes_at LIMIT $1 FOR NO KEY UPDATE SKIP LOCKED)
            AND ${due} AND p.id = pl.post_id
          RETURNING pl.id, pl.version, p.id AS post_id, p.topic_id, p.space_id`,
        [limit],
      ),
    );
  }

  /** Whether there was a poll to delete (its options and votes go with it). */
  async remove(m: Queryable, pollId: string): Promise<boolean> {
    return rowsOf(await m.query(`DELETE FROM polls WHERE id = $1 RETURNING id`, [pollId])).length > 0;
  }

  /** For a live push: the poll's counts with its post's and topic's states, and its versions (`PollRow`'s `version` and `news`), in one statement. */
  async forPush(pollId: string): Promise<PollPushRow | undefined> {
    const [poll]: PollPushRow[] = await this.ds.query(`${withPlace()} WHERE pl.id = $1`, [pollId]);
    return poll;
  }

  /**
   * Among these users (not deleted, nor barred from the whole site), those who may see the poll's
   * hidden counts: `sure` when they do whatever their rank (its post's author; a voter when
   * `votersSee`, ON_VOTE's rule), otherwise those whose role or grants could make them the
   * space's moderators (`AccessService.mayModerateSql`), for their access to judge. Everyone
   * else is left out: one statement, whatever their number, that loads no one's access.
   */
  async resultsCandidates(poll: Pick<PollPushRow, 'id' | 'author_id' | 'space_id'>, userIds: readonly string[], votersSee: boolean): Promise<Array<{ id: string; sure: boolean }>> {
    return this.ds.query(
      `SELECT u.id, s.sure FROM users u
         CROSS JOIN LATERAL (SELECT u.id = $2 OR ($4 AND EXISTS (SELECT 1 FROM poll_votes v WHERE v.poll_id = $3 AND v.user_id = u.id)) AS sure) s
        WHERE u.id = ANY($1::uuid[]) AND u.deleted_at IS NULL AND NOT ${AccessService.barredSiteWideSql('u.id')}
          AND (s.sure OR ${AccessService.mayModerateSql('u.id', '$5::uuid')})`,
      [userIds, poll.author_id, poll.id, votersSee, poll.space_id],
    );
  }
}
