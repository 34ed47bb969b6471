import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { AccessLevel, ContentState, LEVEL_RANK } from '../../access/src/access-level';
import { AccessService } from '../../access/src/access.service';
import { ContentRenderer } from '../../content/src/renderer';
import { AuditLog } from '../../core/src/audit/audit-log';
import { csvRow } from '../../core/src/csv';
import { Queryable, Tx, UnitOfWork } from '../../core/src/database/unit-of-work';
import { AppError } from '../../core/src/errors';
import { Connection, decodeCursor, emptyConnection, OffsetList, offsetFromCursor, pageSize, toConnection, toOffsetConnection } from '../../core/src/graphql/pagination';
import { nestedCount, nestedPage } from '../../core/src/graphql/nested-pages';
import { Viewer } from '../../core/src/graphql/viewer';
import { isUuid, newId } from '../../core/src/ids';
import { BoardKindBehaviour, NewTopic, TopicMove } from '../../forum/src/board-kinds';
import { topicRefuses } from '../../forum/src/posts/posts.service';
import { TRENDING_TOPICS, validKeyValue } from '../../forum/src/cursors';
import { Pacing, VOTES_PACE } from '../../forum/src/pacing';
import { ForumLoaders } from '../../forum/src/forum.loaders';
import { TopicKind } from '../../forum/src/forum.enums';
import { TopicModel, TopicRow, toTopicModel } from '../../forum/src/topics/topic.model';
import { readableTopicSql, TOPIC_COLUMNS } from '../../forum/src/topics/topics.repository';
import { TopicsService } from '../../forum/src/topics/topics.service';
import { BoardKind, BoardModel } from '../../spaces/src/boards/board.model';
import { SpacesLoader } from '../../spaces/src/spaces.loader';
import { seesGroupSql } from '../../identity/src/groups/group-visibility';
import { SessionsService } from '../../identity/src/sessions/sessions.service';
import {
  CLOSED_STATUSES,
  DEFAULT_STATUS_LABELS,
  IdeaBoardSettingsModel,
  IdeaListArgs,
  IdeaModel,
  IdeaRow,
  IdeaSort,
  IdeaStatus,
  IdeaStatusChangeModel,
  IdeasCsvArgs,
  MergeIdeaInput,
  ROADMAP_LIMIT,
  RoadmapModel,
  SegmentCountModel,
  SetIdeaStatusInput,
  UpdateIdeaBoardInput,
} from './idea.model';

/** The name of Board.ideas' cursors in one sort (see encodeCursor). */
const ideaListCursor = (sort: IdeaSort): string => `ideas:${sort}`;
/** Board.ideas(sort: TRENDING): paged by position, 10,000 deep. */
const TRENDING_IDEAS: OffsetList = { list: ideaListCursor(IdeaSort.TRENDING), max: 10_000 };

/**
 * The ideas that count together: an idea and, transitively, every visible idea merged into it
 * (a duplicate hidden or deleted after its merge no longer brings its votes, nor do the ideas
 * merged into it). `$1` is an array of idea ids; yields (root, member) pairs.
 */
const GROUPS = `
  WITH RECURSIVE grp(root, member) AS (
    SELECT topic_id, topic_id FROM ideas WHERE topic_id = ANY($1::uuid[])
    UNION ALL
    SELECT g.root, i.topic_id FROM grp g JOIN ideas i ON i.merged_into = g.member JOIN topics mt ON mt.id = i.topic_id AND mt.state = 'VISIBLE'
  )`;

/**
 * A CTE (`seen_groups(id, slug)`): the groups whose votes a viewer may count by, those they see
 * (`seesGroupSql`; `viewer` and `admin` are SQL of their id and whether they are an admin). A
 * hidden group is no segment: its members' votes count under their other groups, or `other`,
 * and its slug never shows.
 */
const seenGroupsSql = (viewer: string, admin: string) => `seen_groups AS (
  SELECT g.id, g.slug FROM groups g WHERE ${seesGroupSql('g', { viewer, admin })})`;

/** As GROUPS, with every idea merged in, visible or not: what a member's withdrawal takes back. */
const WHOLE_GROUPS = `
  WITH RECURSIVE grp(root, member) AS (
    SELECT topic_id, topic_id FROM ideas WHERE topic_id = ANY($1::uuid[])
    UNION ALL
    SELECT g.root, i.topic_id FROM grp g JOIN ideas i ON i.merged_into = g.member
  )`;

/**
 * The votes a member's vote budget counts, per board. A vote counts for the idea its chain
 * of merges ends in (the idea itself when it is not merged), as that idea's `vote_count` and
 * `viewerHasVoted` do: against the budget of that idea's board, while that idea is open
 * (not in CLOSED_STATUSES) and visible. Votes whose chains end in the same idea count once.
 * `$1` is the user, `$2` an array of board ids, `$3` an idea to leave out (or null), `$4`
 * CLOSED_STATUSES; yields (board_id, n) for the boards with any. Only votes in the boards'
 * spaces are followed: merges stay within one space (`beforeMove` keeps them there).
 */
const BUDGET_VOTES = `
  WITH RECURSIVE up(id, next, depth) AS (
    SELECT i.topic_id, i.merged_into, 0 FROM idea_votes v JOIN ideas i ON i.topic_id = v.topic_id JOIN topics vt ON vt.id = v.topic_id
     WHERE v.user_id = $1 AND vt.space_id IN (SELECT space_id FROM boards WHERE id = ANY($2::uuid[])) AND vt.state = 'VISIBLE'
    UNION ALL
    -- A hidden idea on the way stops the walk, as it stops GROUPS: its votes count nowhere.
    SELECT i.topic_id, i.merged_into, up.depth + 1 FROM up JOIN ideas i ON i.topic_id = up.next JOIN topics nt ON nt.id = i.topic_id AND nt.state = 'VISIBLE'
     WHERE up.depth < 100
  )
  SELECT t.board_id, count(DISTINCT t.id)::int AS n
    FROM up JOIN ideas i ON i.topic_id = up.id JOIN topics t ON t.id = up.id
   WHERE up.next IS NULL AND t.board_id = ANY($2::uuid[]) AND i.status <> ALL($4::text[]) AND t.state = 'VISIBLE'
     AND ($3::uuid IS NULL OR t.id <> $3)
   GROUP BY t.board_id`;

/**
 * TRENDING, in SQL (see IdeaSort's description): recent activity weighs e^(-days ago / 7)
 * per vote and half that per visible reply within 30 days; the sum (plus one) is divided
 * by the square root of (2 + the idea's age in days), so fresh activity lifts an idea and
 * age slowly lowers it. Votes are the group's, as its count is (those of ideas merged into
 * it too), each voter once, at their latest vote.
 */
const TRENDING = `
  (1 + COALESCE((SELECT sum(exp(-extract(epoch FROM now() - v.at) / 604800.0))
                   FROM (SELECT max(v.created_at) AS at FROM idea_votes v
                          WHERE v.created_at > now() - interval '30 days'
                            AND v.topic_id IN (WITH RECURSIVE g(id) AS (SELECT t.id UNION ALL SELECT m.topic_id FROM g JOIN ideas m ON m.merged_into = g.id
                                                                                           JOIN topics mt ON mt.id = m.topic_id AND mt.state = 'VISIBLE')
                                               SELECT id FROM g)
                          GROUP BY v.user_id) v), 0)
     + 0.5 * COALESCE((SELECT sum(exp(-extract(epoch FROM now() - p.created_at) / 604800.0)) FROM posts p
                  WHERE p.topic_id = t.id AND p.number > 1 AND p.state = 'VISIBLE' AND p.created_at > now() - interval '30 days'), 0))
  / sqrt(2 + extract(epoch FROM now() - t.created_at) / 86400.0)`;

/**
 * The sorts whose order holds still, paged by keyset: the key's SQL expressions (all
 * descending, the topic id last), with the type each takes back from a cursor.
 */
const KEYSETS: Record<Exclude<IdeaSort, IdeaSort.TRENDING>, Array<[sql: string, type: 'int' | 'timestamptz' | 'uuid']>> = {
  TOP: [['i.vote_count', 'int'], ['t.created_at', 'timestamptz'], ['t.id', 'uuid']],
  NEWEST: [['t.created_at', 'timestamptz'], ['t.id', 'uuid']],
  RECENTLY_UPDATED: [['GREATEST(t.last_activity_at, i.status_changed_at)', 'timestamptz'], ['t.id', 'uuid']],
};

/** An idea's row as a vote or a status change locks it, with its topic's flags, state and author. */
type LockedIdea = Pick<IdeaRow, 'topic_id' | 'status' | 'vote_count' | 'merged_into' | 'space_id' | 'board_id'> & { closed: boolean; locked: boolean; state: ContentState; author_id: string };

interface BoardSettings {
  voteBudget: number | null;
  labels: Record<IdeaStatus, string>;
}

/** BUDGET_VOTES for some boards: the votes each board's budget counts (boards with none are left out). */
async function budgetVotes(q: Queryable, userId: string, boardIds: readonly string[], except?: string): Promise<Map<string, number>> {
  const rows: Array<{ board_id: string; n: number }> = await q.query(BUDGET_VOTES, [userId, boardIds, except ?? null, CLOSED_STATUSES]);
  return new Map(rows.map((r) => [r.board_id, r.n]));
}

export function ideaSettingsOf(board: { settings: Record<string, unknown> }): BoardSettings {
  const raw = (board.settings?.ideas ?? {}) as { voteBudget?: number | null; labels?: Partial<Record<IdeaStatus, string>> };
  return { voteBudget: raw.voteBudget || null, labels: { ...DEFAULT_STATUS_LABELS, ...(raw.labels ?? {}) } };
}

/**
 * Idea boards: an idea is a topic of an IDEAS board. Votes, budgets, the status workflow
 * with official responses, merges, lists and the roadmap. Every read goes through the
 * forum's loaders first, so an idea is visible exactly when its topic is.
 */
@Injectable()
export class IdeasService implements BoardKindBehaviour {
  readonly boardKind = BoardKind.IDEAS;
  /** A merged idea lives on in its target: board lists leave it out, as the idea lists do. */
  readonly listedSql = `NOT EXISTS (SELECT 1 FROM ideas mi WHERE mi.topic_id = t.id AND mi.status = 'MERGED')`;
  readonly topicKind = TopicKind.IDEA;
  private readonly renderer = new ContentRenderer();

  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly access: AccessService,
    private readonly forum: ForumLoaders,
    private readonly topics: TopicsService,
    private readonly spaces: SpacesLoader,
    private readonly audit: AuditLog,
    private readonly pacing: Pacing,
    private readonly sessions: SessionsService,
  ) {}

  /**
   * Board-kind hook: a new idea starts NEW with its author's vote, which counts against the
   * board's vote budget like any other: an author with none left proposes without voting.
   */
  async created(tx: Tx, topic: NewTopic): Promise<void> {
    const budget = await this.budgetNow(tx, topic.board.id, topic.viewer.id!);
    const vote = !budget || (await this.activeVotes(tx, topic.viewer.id!, topic.board.id)) < budget;
    await tx.query(`INSERT INTO ideas (topic_id, vote_count) VALUES ($1, $2)`, [topic.topicId, vote ? 1 : 0]);
    if (vote) await tx.query(`INSERT INTO idea_votes (topic_id, user_id) VALUES ($1, $2)`, [topic.topicId, topic.viewer.id]);
  }

  /**
   * The board's vote budget as it is now, for one member's vote, with that member's votes in the
   * board taken one at a time (racing votes on different ideas would each see room). The lock is
   * taken whatever the budget, and the budget read after it, in a statement of its own (one
   * statement's snapshot is taken before it waits): read before, with the board's row unlocked, a
   * vote that found no budget took no lock and counted nothing, so a budget set meanwhile let it
   * land beside a vote judged on that budget, which had not counted it.
   */
  private async budgetNow(tx: Tx, boardId: string, userId: string): Promise<number | null> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('parvis:idea-budget:' || $1::text || ':' || $2::text, 0))`, [boardId, userId]);
    const [board] = await tx.query<{ settings: Record<string, unknown> }>(`SELECT settings FROM boards WHERE id = $1`, [boardId]);
    return ideaSettingsOf(board).voteBudget;
  }

  // ---------------------------------------------------------------- reads

  private rows(viewer: Viewer): DataLoader<string, IdeaRow | null> {
    return viewer.memoize('loader:ideas', () => new DataLoader<string, IdeaRow | null>(async (ids) => {
      const rows: IdeaRow[] = await this.ds.query(
        `SELECT i.topic_id, i.status, i.vote_count, i.merged_into, i.response_html, i.response_author_id, i.response_at, i.status_changed_at, i.version,
                t.space_id, t.board_id, b.settings AS board_settings
           FROM ideas i JOIN topics t ON t.id = i.topic_id JOIN boards b ON b.id = t.board_id
          WHERE i.topic_id = ANY($1::uuid[])`,
        [ids],
      );
      const byId = new Map(rows.map((r) => [r.topic_id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }));
  }

  /** The idea of a topic the viewer can see; null for topics of other boards. */
  async idea(viewer: Viewer, topic: TopicModel): Promise<IdeaModel | null> {
    if (topic.kind !== TopicKind.IDEA) return null;
    const row = await this.rows(viewer).load(topic.id);
    return row ? toIdea(row, topic.viewerRank) : null;
  }

  async viewerHasVoted(viewer: Viewer, topicId: string): Promise<boolean> {
    if (!viewer.id) return false;
    const loader = viewer.memoize('loader:ideaVoted', () => new DataLoader<string, boolean>(async (ids) => {
      const rows: Array<{ root: string }> = await this.ds.query(
        `${GROUPS} SELECT DISTINCT g.root FROM grp g JOIN idea_votes v ON v.topic_id = g.member AND v.user_id = $2`,
        [ids, viewer.id],
      );
      const voted = new Set(rows.map((r) => r.root));
      return ids.map((id) => voted.has(id));
    }));
    return loader.load(topicId);
  }

  /** Votes by the voters' groups they see (`seenGroupsSql`): for the space's moderators and admins only (null otherwise). */
  async votesBySegment(viewer: Viewer, idea: IdeaModel): Promise<SegmentCountModel[] | null> {
    if (idea.viewerRank < LEVEL_RANK.MODERATE) return null;
    const loader = viewer.memoize('loader:ideaSegments', () => new DataLoader<string, SegmentCountModel[]>(async (ids) => {
      const rows: Array<{ root: string; segment: string; count: number }> = await this.ds.query(
        `${GROUPS}, voters AS (SELECT DISTINCT g.root, v.user_id FROM grp g JOIN idea_votes v ON v.topic_id = g.member), ${seenGroupsSql('$2::uuid', '$3::boolean')}
         SELECT vo.root, COALESCE(gr.slug, 'other') AS segment, count(*)::int AS count
           FROM voters vo
           LEFT JOIN (group_members gm JOIN seen_groups gr ON gr.id = gm.group_id) ON gm.user_id = vo.user_id
          GROUP BY vo.root, COALESCE(gr.slug, 'other')
          ORDER BY vo.root, count DESC, segment`,
        [ids, viewer.id, viewer.isAdmin],
      );
      return ids.map((id) => rows.filter((r) => r.root === id).map((r) => ({ segment: r.segment, count: r.count })));
    }));
    return loader.load(idea.topicId);
  }

  async statusHistory(viewer: Viewer, topicId: string): Promise<IdeaStatusChangeModel[]> {
    const loader = viewer.memoize('loader:ideaHistory', () => new DataLoader<string, IdeaStatusChangeModel[]>(async (ids) => {
      const rows: Array<{ topic_id: string; from_status: IdeaStatus; to_status: IdeaStatus; at: Date; response_html: string | null; actor_id: string | null }> =
        await this.ds.query(
          `SELECT topic_id, from_status, to_status, at, response_html, actor_id FROM idea_status_changes WHERE topic_id = ANY($1::uuid[]) ORDER BY at, id`,
          [ids],
        );
      return ids.map((id) =>
        rows
          .filter((r) => r.topic_id === id)
          .map((r) => Object.assign(new IdeaStatusChangeModel(), { from: r.from_status, to: r.to_status, at: r.at, response: r.response_html, actorId: r.actor_id, actor: null })),
      );
    }));
    return loader.load(topicId);
  }

  async mergedInto(viewer: Viewer, idea: IdeaModel): Promise<TopicModel | null> {
    return idea.mergedIntoId ? this.forum.topic(viewer, idea.mergedIntoId) : null;
  }

  async boardSettings(viewer: Viewer, board: BoardModel): Promise<IdeaBoardSettingsModel | null> {
    if (board.kind !== BoardKind.IDEAS) return null;
    const s = ideaSettingsOf(board);
    let left: number | null = null;
    if (s.voteBudget && viewer.id) {
      // Batched per request: a page listing several idea boards counts the viewer's votes once.
      const userId = viewer.id;
      const loader = viewer.memoize('loader:ideaActiveVotes', () => new DataLoader<string, number>(async (boardIds) => {
        const counts = await budgetVotes(this.ds, userId, boardIds);
        return boardIds.map((id) => counts.get(id) ?? 0);
      }));
      left = Math.max(0, s.voteBudget - (await loader.load(board.id)));
    }
    return {
      voteBudget: s.voteBudget,
      statusLabels: Object.values(IdeaStatus).map((status) => ({ status, label: s.labels[status] })),
      viewerVotesLeft: left,
    };
  }

  /** Board-kind hook: merges stay within one space, so an idea merged with others does not leave its space. */
  async beforeMove(tx: Tx, move: TopicMove): Promise<void> {
    if (move.fromSpaceId === move.toSpaceId) return;
    const [row] = await tx.query<{ linked: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ideas WHERE (topic_id = $1 AND merged_into IS NOT NULL) OR merged_into = $1) AS linked`,
      [move.topicId],
    );
    if (row?.linked) throw AppError.badField('boardId', 'this idea is merged with others: unmerge them before moving it to another space');
  }

  /**
   * Board-kind hook: `Board.topics(sort: TRENDING)` on an idea board is its trending list
   * (merged ideas left out), pinned ideas first as every list of a board's topics has them.
   */
  trending(viewer: Viewer, board: BoardModel, args: { first?: number; after?: string; tag?: string }): Promise<Connection<TopicModel>> {
    return this.list(viewer, board, Object.assign(new IdeaListArgs(), { ...args, sort: IdeaSort.TRENDING }), { pinnedFirst: true });
  }

  /**
   * A board's ideas as the viewer may see them, filtered and sorted. TRENDING moves with time,
   * so it pages by position (`pinnedFirst` puts pinned ideas before it); the other sorts page
   * by keyset and count only when asked.
   */
  async list(viewer: Viewer, board: BoardModel, args: IdeaListArgs, opts: { pinnedFirst?: boolean } = {}): Promise<Connection<TopicModel>> {
    const size = pageSize(args.first);
    const sortBy = args.sort ?? IdeaSort.TRENDING;
    const key = sortBy === IdeaSort.TRENDING ? null : KEYSETS[sortBy];
    // Pinned first, the trending list is Board.topics(sort: TRENDING)'s: its cursors are that list's.
    const trending = opts.pinnedFirst ? TRENDING_TOPICS : TRENDING_IDEAS;
    const cursorName = key ? ideaListCursor(sortBy) : trending.list;
    const after = key ? decodeCursor(args.after, cursorName, key.length) : undefined;
    if (key && after && !after.every((v, i) => validKeyValue(v, key[i][1]))) throw AppError.badField('after', 'is not a valid cursor');
    const offset = key ? 0 : offsetFromCursor(args.after, trending);
    const rank = await this.access.rankOn(viewer, board.spaceId);
    if (board.kind !== BoardKind.IDEAS || rank < LEVEL_RANK.READ) return emptyConnection();
    const moderator = rank >= LEVEL_RANK.MODERATE;
    // Boards that ask alike are read in one statement (nestedPage): $1 is those boards, given at each read.
    const params: unknown[] = [null];
    const where = [readableTopicSql(moderator, viewer.id, params)];
    if (args.statuses?.length) {
      params.push(args.statuses);
      where.push(`i.status = ANY($${params.length}::text[])`);
    } else {
      where.push(`i.status <> 'MERGED'`);
    }
    if (args.tag) {
      params.push([args.tag]);
      where.push(`t.tags @> $${params.length}::text[]`);
    }
    const filter = where.join(' AND ');
    const listKey = (...page: unknown[]) => JSON.stringify(['ideas', moderator, args.statuses ?? null, args.tag ?? null, ...page]);
    const count = () => nestedCount(viewer, listKey(), board.id, async (ids) => {
      const rows: Array<{ board_id: string; n: number }> = await this.ds.query(
        `SELECT t.board_id, count(*)::int AS n FROM topics t JOIN ideas i ON i.topic_id = t.id
          WHERE t.board_id = ANY($1::uuid[]) AND ${filter} GROUP BY t.board_id`,
        [ids, ...params.slice(1)],
      );
      return new Map(rows.map((r) => [r.board_id, r.n]));
    });
    if (key) {
      const pageParams = [...params];
      let keyset = '';
      if (after) {
        const at = after.map((v) => {
          pageParams.push(v);
          return `$${pageParams.length}`;
        });
        keyset = ` AND (${key.map(([sql]) => sql).join(', ')}) < (${at.map((p, i) => `${p}::${key[i][1]}`).join(', ')})`;
      }
      const rows = await nestedPage(viewer, listKey(sortBy, size, args.after ?? null), board.id, (ids) => this.ds.query<Array<TopicRow & { k: unknown[] }>>(
        // The key travels as PostgreSQL's text of each value, which is what cursors are checked against.
        `SELECT page.* FROM unnest($1::uuid[]) AS b(id) CROSS JOIN LATERAL (
           SELECT ${TOPIC_COLUMNS}, ARRAY[${key.map(([sql]) => `(${sql})::text`).join(', ')}] AS k FROM topics t JOIN ideas i ON i.topic_id = t.id
            WHERE t.board_id = b.id AND ${filter}${keyset} ORDER BY ${key.map(([sql]) => `${sql} DESC`).join(', ')} LIMIT ${size + 1}) page`,
        [ids, ...pageParams.slice(1)],
      ), (r) => r.board_id);
      return toConnection(rows, size, cursorName, (r) => r.k, (r) => toTopicModel(r, rank), count);
    }
    const pinned = opts.pinnedFirst ? 't.pinned DESC, ' : '';
    const rows = await nestedPage(viewer, listKey(sortBy, size, offset, !!opts.pinnedFirst), board.id, (ids) => this.ds.query<Array<TopicRow & { total: number }>>(
      `SELECT page.* FROM unnest($1::uuid[]) AS b(id) CROSS JOIN LATERAL (
         SELECT ${TOPIC_COLUMNS}, count(*) OVER ()::int AS total FROM topics t JOIN ideas i ON i.topic_id = t.id
          WHERE t.board_id = b.id AND ${filter} ORDER BY ${pinned}${TRENDING} DESC, t.id DESC LIMIT ${size + 1} OFFSET ${offset}) page`,
      [ids, ...params.slice(1)],
    ), (r) => r.board_id);
    return toOffsetConnection(rows, size, offset, trending, (r) => toTopicModel(r, rank), count);
  }

  async roadmap(viewer: Viewer, spaceId: string): Promise<RoadmapModel> {
    const space = isUuid(spaceId) ? await this.spaces.space(viewer, spaceId) : null;
    if (!space) throw AppError.notFound('Space not found');
    const rank = await this.access.rankOn(viewer, space.id);
    const rows: Array<TopicRow & { status: IdeaStatus }> = await this.ds.query(
      `(SELECT ${TOPIC_COLUMNS}, i.status FROM topics t JOIN ideas i ON i.topic_id = t.id
         WHERE t.space_id = $1 AND t.state = 'VISIBLE' AND i.status = 'PLANNED' ORDER BY i.vote_count DESC, t.id LIMIT ${ROADMAP_LIMIT})
       UNION ALL
       (SELECT ${TOPIC_COLUMNS}, i.status FROM topics t JOIN ideas i ON i.topic_id = t.id
         WHERE t.space_id = $1 AND t.state = 'VISIBLE' AND i.status = 'IN_PROGRESS' ORDER BY i.vote_count DESC, t.id LIMIT ${ROADMAP_LIMIT})
       UNION ALL
       (SELECT ${TOPIC_COLUMNS}, i.status FROM topics t JOIN ideas i ON i.topic_id = t.id
         WHERE t.space_id = $1 AND t.state = 'VISIBLE' AND i.status = 'COMPLETED' AND i.status_changed_at > now() - interval '90 days'
         ORDER BY i.status_changed_at DESC, t.id LIMIT ${ROADMAP_LIMIT})`,
      [space.id],
    );
    const of = (s: IdeaStatus) => rows.filter((r) => r.status === s).map((r) => toTopicModel(r, rank));
    return { planned: of(IdeaStatus.PLANNED), inProgress: of(IdeaStatus.IN_PROGRESS), completed: of(IdeaStatus.COMPLETED) };
  }

  /** Moderators: a board's ideas as CSV (title, status, votes, votes by segment, created, last status change). */
  async csv(viewer: Viewer, args: IdeasCsvArgs): Promise<string> {
    const board = await this.spaces.board(viewer, args.boardId);
    if (!board || board.kind !== BoardKind.IDEAS) throw AppError.notFound('Board not found');
    await this.access.require(viewer, board.spaceId, AccessLevel.MODERATE, 'Board not found');
    const rows: Array<{ id: string; title: string; status: IdeaStatus; vote_count: number; created_at: Date; status_changed_at: Date; segments: Record<string, number> | null }> =
      await this.ds.query(
        `WITH RECURSIVE board_ideas AS (
           SELECT t.id, t.title, i.status, i.vote_count, t.created_at, i.status_changed_at FROM topics t JOIN ideas i ON i.topic_id = t.id
            WHERE t.board_id = $1 AND t.state <> 'DELETED' AND ($2::text[] IS NULL OR i.status = ANY($2::text[]))
         ), grp(root, member) AS (
           SELECT id, id FROM board_ideas
           UNION ALL
           -- Visible merged ideas only, as GROUPS (and so the votes column) count them.
           SELECT g.root, i.topic_id FROM grp g JOIN ideas i ON i.merged_into = g.member JOIN topics mt ON mt.id = i.topic_id AND mt.state = 'VISIBLE'
         ), voters AS (SELECT DISTINCT g.root, v.user_id FROM grp g JOIN idea_votes v ON v.topic_id = g.member),
         ${seenGroupsSql('$3::uuid', '$4::boolean')},
         segments AS (
           SELECT root, jsonb_object_agg(segment, n) AS segments FROM (
             SELECT vo.root, COALESCE(gr.slug, 'other') AS segment, count(*) AS n FROM voters vo
               LEFT JOIN (group_members gm JOIN seen_groups gr ON gr.id = gm.group_id) ON gm.user_id = vo.user_id
              GROUP BY vo.root, COALESCE(gr.slug, 'other')) x GROUP BY root
         )
         SELECT b.*, s.segments FROM board_ideas b LEFT JOIN segments s ON s.root = b.id ORDER BY b.vote_count DESC, b.created_at, b.id`,
        [board.id, args.statuses?.length ? args.statuses : null, viewer.id, viewer.isAdmin],
      );
    const labels = ideaSettingsOf(board).labels;
    const lines = [csvRow(['id', 'title', 'status', 'votes', 'votes_by_segment', 'created_at', 'status_changed_at'])];
    for (const r of rows) {
      const segments = Object.entries(r.segments ?? {})
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([k, n]) => `${k}=${n}`)
        .join('; ');
      lines.push(csvRow([r.id, r.title, labels[r.status], r.vote_count, segments, r.created_at, r.status_changed_at]));
    }
    return `${lines.join('\r\n')}\r\n`;
  }

  // ---------------------------------------------------------------- votes

  /**
   * One vote per user and idea: the row's primary key makes racing votes count once, and the
   * idea's row lock orders votes against merges and status changes. A vote that commits
   * before a merge is carried by it; one that comes after finds the idea merged and is
   * refused, saying where to vote instead: none is silently lost. A locked topic takes no
   * votes nor withdrawals from members, as it takes no edits (the forum's `topicRefuses`; a
   * closed one only stops replies, so it still takes votes); its moderators pass. Everything is
   * judged again once the idea's row is held: the topic as it is then (hidden, deleted or locked
   * meanwhile), and the voter's access read on the vote's connection (silenced, suspended or
   * their grant revoked meanwhile), so a vote never lands where the voter may no longer vote.
   */
  async vote(viewer: Viewer, topicId: string, on: boolean): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const topic = await this.ideaTopic(viewer, topicId);
    const rank = await this.access.require(viewer, topic.spaceId, AccessLevel.PARTICIPATE);
    const refusal = topicRefuses(topic, rank, 'edit');
    if (refusal) throw AppError.forbidden(refusal);
    if (topic.state !== 'VISIBLE') throw AppError.badField('topicId', 'this idea is not open for votes');
    const pace = await this.pacing.guard(viewer, VOTES_PACE, { lookFirst: false });
    const votedOn = await this.uow.run(async (tx) => {
      // Counted in the vote's transaction: a vote refused below (closed, merged, over budget) spends nothing.
      await pace.count(tx);
      const idea = await this.lockIdea(tx, topic.id);
      // Again as things stand now the idea's row and its topic's are held: the topic may have been
      // hidden, deleted or locked since the checks above, and the voter silenced, suspended or
      // their grant revoked (read on this connection, as a poll's vote reads its voter).
      const voter = await this.sessions.viewerNow(viewer, tx);
      const rankNow = await this.access.rankOn(voter, idea.space_id);
      if (this.access.contentView(voter, rankNow, { state: idea.state, authorId: idea.author_id, deletedFrom: null }) !== 'full') throw AppError.notFound('Idea not found');
      await this.access.require(voter, idea.space_id, AccessLevel.PARTICIPATE);
      const lockedSince = topicRefuses(idea, rankNow, 'edit');
      if (lockedSince) throw AppError.forbidden(lockedSince);
      if (idea.state !== 'VISIBLE') throw AppError.badField('topicId', 'this idea is not open for votes');
      if (idea.status === IdeaStatus.MERGED) throw AppError.badField('topicId', 'voting is closed: this idea was merged into another one, vote there');
      if (CLOSED_STATUSES.includes(idea.status)) throw AppError.badField('topicId', `voting is closed: this idea is ${idea.status.toLowerCase()}`);
      let changed: boolean;
      let counts: Map<string, number> | undefined;
      if (on) {
        const budget = await this.budgetNow(tx, idea.board_id, viewer.id!);
        if (budget && (await this.activeVotes(tx, viewer.id!, idea.board_id, idea.topic_id)) >= budget) {
          throw AppError.badField('topicId', `you have used all ${budget} votes of this board: withdraw one, or wait for one of your ideas to close`);
        }
        changed = (await tx.query(`INSERT INTO idea_votes (topic_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`, [idea.topic_id, viewer.id])).length > 0;
      } else {
        // Withdrawing removes the viewer's support from the whole group (their votes on merged ideas too).
        const members = (await tx.query<{ member: string }>(`${WHOLE_GROUPS} SELECT member FROM grp`, [[idea.topic_id]])).map((m) => m.member);
        const removed = await tx.query(`DELETE FROM idea_votes WHERE user_id = $2 AND topic_id = ANY($1::uuid[]) RETURNING topic_id`, [members, viewer.id]);
        changed = removed.length > 0;
        // Every merged idea of the group keeps its own count right too (an unmerge shows them): one
        // in the middle of a chain counts the votes of those merged into it, even if it had none.
        if (changed) counts = await this.recountAll(tx, members);
      }
      if (changed) {
        const count = counts?.get(idea.topic_id) ?? (await this.recount(tx, idea.topic_id));
        await tx.emit({ type: 'idea.voted', aggregateType: 'topic', aggregateId: idea.topic_id, payload: { topicId: idea.topic_id, spaceId: idea.space_id, boardId: idea.board_id, voteCount: count } });
      }
      return idea.topic_id;
    });
    this.forget(viewer, votedOn);
    return this.topics.get(viewer, votedOn);
  }

  /** Votes the user holds on open ideas of the board (the budget counts these, see BUDGET_VOTES), other than for `except`. */
  private async activeVotes(q: Queryable, userId: string, boardId: string, except?: string): Promise<number> {
    return (await budgetVotes(q, userId, [boardId], except)).get(boardId) ?? 0;
  }

  // ---------------------------------------------------------------- workflow

  async setStatus(viewer: Viewer, input: SetIdeaStatusInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const topic = await this.ideaTopic(viewer, input.topicId);
    await this.access.require(viewer, topic.spaceId, AccessLevel.MODERATE);
    // Its voters and watchers would be told of an idea they can no longer open.
    if (topic.state === 'DELETED') throw AppError.badField('topicId', 'this idea was deleted: restore it first');
    const response = input.response ? this.renderer.render(input.response).html : null;
    await this.uow.run(async (tx) => {
      const idea = await this.lockIdea(tx, topic.id);
      // Again as things stand with the idea's row held: the mover demoted, or the idea deleted, while this waited.
      await this.stillMay(tx, viewer, idea.space_id, AccessLevel.MODERATE);
      if (idea.state === 'DELETED') throw AppError.badField('topicId', 'this idea was deleted: restore it first');
      if (idea.status === IdeaStatus.MERGED) throw AppError.badField('topicId', 'this idea is merged: unmerge it first');
      if (idea.status === input.status && !response) throw AppError.badField('status', 'the idea already has this status; give a response to update it');
      const changeId = newId();
      await tx.query(
        // The official response is the one given with the status the idea has: a new status without one clears it.
        `UPDATE ideas SET status = $2, status_changed_at = CASE WHEN status = $2 THEN status_changed_at ELSE now() END,
                response_html = CASE WHEN $3::text IS NOT NULL THEN $3 WHEN status = $2 THEN response_html END,
                response_source = CASE WHEN $3::text IS NOT NULL THEN $4 WHEN status = $2 THEN response_source END,
                response_author_id = CASE WHEN $3::text IS NOT NULL THEN $5::uuid WHEN status = $2 THEN response_author_id END,
                response_at = CASE WHEN $3::text IS NOT NULL THEN now() WHEN status = $2 THEN response_at END,
                version = next_version(version)
          WHERE topic_id = $1`,
        [topic.id, input.status, response, input.response ?? null, viewer.id],
      );
      await tx.query(
        `INSERT INTO idea_status_changes (id, topic_id, from_status, to_status, response_html, actor_id) VALUES ($1, $2, $3, $4, $5, $6)`,
        [changeId, topic.id, idea.status, input.status, response, viewer.id],
      );
      await tx.emit({
        type: 'idea.status_changed',
        aggregateType: 'topic',
        aggregateId: topic.id,
        // Where the idea is now, as its row lock read it: one moved while the change waited is
        // logged and announced in the space it went to, not in the one the request first read.
        payload: { topicId: topic.id, spaceId: idea.space_id, boardId: idea.board_id, changeId, from: idea.status, to: input.status, actorId: viewer.id },
      });
      await this.audit.append(tx, {
        actorId: viewer.id, action: 'idea.status', targetType: 'topic', targetId: topic.id, spaceId: idea.space_id,
        before: { status: idea.status }, after: { status: input.status, response: input.response ?? null },
      });
    });
    this.forget(viewer, topic.id);
    return this.topics.get(viewer, topic.id);
  }

  /**
   * Merges a duplicate into another idea of the same space. The source keeps its votes and
   * points at the target, whose count becomes the distinct voters of both: nobody counts
   * twice, and an unmerge restores each count exactly. The source's watchers follow the target.
   */
  async merge(viewer: Viewer, input: MergeIdeaInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (input.sourceId === input.targetId) throw AppError.badField('targetId', 'an idea cannot be merged into itself');
    const source = await this.ideaTopic(viewer, input.sourceId, 'sourceId');
    const target = await this.ideaTopic(viewer, input.targetId, 'targetId');
    await this.access.require(viewer, source.spaceId, AccessLevel.MODERATE);
    if (target.spaceId !== source.spaceId) throw AppError.badField('targetId', 'ideas merge only within one space');
    if (target.state !== 'VISIBLE') throw AppError.badField('targetId', 'the target idea is not visible');
    // A hidden or deleted duplicate's votes would count on the target: it is restored first, or left alone.
    if (source.state !== 'VISIBLE') throw AppError.badField('sourceId', 'the idea to merge is not visible');
    await this.uow.run(async (tx) => {
      // Both rows, in a fixed order, so two merges (or a merge and a vote) cannot deadlock.
      const locked: IdeaRow[] = await tx.query(
        `SELECT i.topic_id, i.status, i.merged_into FROM ideas i WHERE i.topic_id = ANY($1::uuid[]) ORDER BY i.topic_id FOR UPDATE`,
        [[source.id, target.id]],
      );
      const s = locked.find((r) => r.topic_id === source.id);
      const t = locked.find((r) => r.topic_id === target.id);
      // Each idea topic's row is made with it and goes only with it: one missing is NOT_FOUND,
      // as `raiseTopicVersion`'s, not a TypeError here (INTERNAL to the client; until 2026-12-07: ideas e2e).
      if (!s || !t) throw AppError.notFound('Idea not found');
      if (s.status === IdeaStatus.MERGED) throw AppError.badField('sourceId', 'this idea is already merged');
      if (t.status === IdeaStatus.MERGED) throw AppError.badField('targetId', 'the target is itself merged into another idea');
      // Again under the locks (shared on the topic, so a hide waits for the merge): the target may have been hidden since the first check.
      // Their spaces too: one may have moved to another space since (a move locks its topic first).
      const states = await tx.query<{ id: string; state: string; space_id: string; board_id: string }>(
        `SELECT id, state, space_id, board_id FROM topics WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`,
        [[source.id, target.id]],
      );
      const rowOf = (id: string) => states.find((r) => r.id === id);
      if (rowOf(target.id)?.state !== 'VISIBLE') throw AppError.badField('targetId', 'the target idea is not visible');
      if (rowOf(source.id)?.state !== 'VISIBLE') throw AppError.badField('sourceId', 'the idea to merge is not visible');
      if (rowOf(source.id)?.space_id !== rowOf(target.id)?.space_id) throw AppError.badField('targetId', 'ideas merge only within one space');
      // Where both are now (they may have moved together since the first read): the change is judged, logged and announced there.
      const [at, targetAt] = [rowOf(source.id)!, rowOf(target.id)!];
      await this.stillMay(tx, viewer, at.space_id, AccessLevel.MODERATE);
      await tx.query(
        `UPDATE ideas SET status = 'MERGED', status_before_merge = status, status_changed_before_merge = status_changed_at, merged_into = $2, status_changed_at = now(),
                version = next_version(version)
          WHERE topic_id = $1`,
        [source.id, target.id],
      );
      // Off its board's lists: the topic's version is raised, as an unmerge raises it, and the
      // event carries it (`topicVersion`), so the live gateway sends no arrival of the idea read
      // before the merge (an unmerge's) after it (until 2026-12-07 it raised none, and the board
      // listed the merged idea again: live-order e2e). Its row's share lock above becomes an
      // update's: its other sharers (a vote, a status change) hold the idea's row first, held here.
      const { version: topicVersion } = await this.raiseTopicVersion(tx, source.id);
      const changeId = newId();
      await tx.query(`INSERT INTO idea_status_changes (id, topic_id, from_status, to_status, actor_id) VALUES ($1, $2, $3, 'MERGED', $4)`, [changeId, source.id, s.status, viewer.id]);
      await this.recount(tx, target.id);
      // Marked as the merge's (via_merge_of), so an unmerge takes back exactly these. Each
      // watcher's account held FOR SHARE (as UsersRepository.holdMember holds one, in id order):
      // a deletion under way waits and takes the copy, or came first and its watch is not copied.
      await tx.query(
        `INSERT INTO topic_watches (user_id, topic_id, level, via_merge_of)
         SELECT w.user_id, $2, w.level, $1 FROM topic_watches w JOIN users u ON u.id = w.user_id AND u.deleted_at IS NULL
          WHERE w.topic_id = $1 AND w.level IN ('WATCHING', 'TRACKING')
          ORDER BY w.user_id FOR SHARE OF u
         ON CONFLICT (user_id, topic_id) DO NOTHING`,
        [source.id, target.id],
      );
      await tx.emit({
        type: 'idea.merged',
        aggregateType: 'topic',
        aggregateId: source.id,
        payload: { topicId: source.id, targetId: target.id, spaceId: at.space_id, boardId: at.board_id, targetBoardId: targetAt.board_id, changeId, actorId: viewer.id, topicVersion },
      });
      await this.audit.append(tx, {
        actorId: viewer.id, action: 'idea.merge', targetType: 'topic', targetId: source.id, spaceId: at.space_id,
        before: { status: s.status }, after: { status: 'MERGED', mergedInto: target.id },
      });
    });
    this.forget(viewer, source.id, target.id);
    return this.topics.get(viewer, target.id);
  }

  /** Admins undo a merge: the source gets back its status, and both counts are recomputed from the votes. */
  async unmerge(viewer: Viewer, topicId: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const source = await this.ideaTopic(viewer, topicId);
    await this.access.require(viewer, source.spaceId, AccessLevel.ADMIN);
    let targetId: string | null = null;
    await this.uow.run(async (tx) => {
      // The source and every idea its chain passes through (each counts the source's voters),
      // locked in id order as merges take them (locking the source first could deadlock with a
      // merge of the same pair), then decided under the locks: of two racing unmerges, the
      // second finds the idea no longer merged.
      const [peek] = await tx.query<{ merged_into: string | null }>(`SELECT merged_into FROM ideas WHERE topic_id = $1`, [source.id]);
      const chain = peek?.merged_into ? await this.chainFrom(tx, peek.merged_into) : [];
      const locked = await tx.query<{ topic_id: string; merged_into: string | null; status_before_merge: IdeaStatus | null }>(
        `SELECT topic_id, merged_into, status_before_merge FROM ideas WHERE topic_id = ANY($1::uuid[]) ORDER BY topic_id FOR UPDATE`,
        [[source.id, ...chain]],
      );
      const row = locked.find((r) => r.topic_id === source.id);
      if (!row?.merged_into) throw AppError.badField('topicId', 'this idea is not merged');
      // Merged elsewhere since the first read (unmerged, then merged again): try again rather than lock out of order.
      if (row.merged_into !== peek?.merged_into) throw AppError.conflict('This idea was merged again meanwhile: try again');
      // Likewise when the chain itself moved on between its read and the locks.
      const next = new Map(locked.map((r) => [r.topic_id, r.merged_into]));
      if (chain.some((id, i) => next.get(id) !== (chain[i + 1] ?? null))) throw AppError.conflict('These ideas were merged meanwhile: try again');
      await this.stillMay(tx, viewer, source.spaceId, AccessLevel.ADMIN);
      targetId = row.merged_into;
      const restored = row.status_before_merge ?? IdeaStatus.NEW;
      // As it was before the merge: its status, since when, and who followed the target.
      await tx.query(
        `UPDATE ideas SET status = $2, merged_into = NULL, status_before_merge = NULL,
                status_changed_at = COALESCE(status_changed_before_merge, now()), status_changed_before_merge = NULL, version = next_version(version)
          WHERE topic_id = $1`,
        [source.id, restored],
      );
      // Back on its board's lists: the topic's version is raised, as a move's or a first post's
      // hiding or restoring raises it, and the event carries it (`topicVersion`) with the board it
      // is on under this lock, so the live gateway orders its arrival there against the topic's
      // removals and moves (until 2026-12-07 an unmerge raised none, and its arrival carried the
      // version of the topic's last such change before the merge). The topic's row is taken after
      // the ideas' rows, as a merge takes it; hiding or deleting the idea's first post takes them
      // the other way round (the topic, then its chain's ideas: `firstPostStateChanged`), so the
      // two can deadlock: PostgreSQL ends one, which the unit of work runs again (`retryable`), at
      // worst a CONFLICT to retry. Taking the topic first here would cycle with a merge instead.
      const { board_id: boardId, version: topicVersion } = await this.raiseTopicVersion(tx, source.id);
      await tx.query(`DELETE FROM topic_watches WHERE topic_id = $1 AND via_merge_of = $2`, [targetId, source.id]);
      await tx.query(`INSERT INTO idea_status_changes (id, topic_id, from_status, to_status, actor_id) VALUES ($1, $2, 'MERGED', $3, $4)`, [newId(), source.id, restored, viewer.id]);
      const counts = await this.recountAll(tx, [source.id, ...chain]);
      // The ideas its chain runs through past its target counted its voters too: their pages are
      // told their new counts (until 2026-12-07 only the target's were, by the unmerge's own push).
      // (`chain` starts at the target, whose count the unmerge's own push carries.)
      const pastTarget = new Set(chain.slice(1));
      await this.announceCounts(tx, new Map([...counts].filter(([id]) => pastTarget.has(id))));
      await tx.emit({ type: 'idea.unmerged', aggregateType: 'topic', aggregateId: source.id, payload: { topicId: source.id, targetId, spaceId: source.spaceId, boardId, topicVersion } });
      await this.audit.append(tx, {
        actorId: viewer.id, action: 'idea.unmerge', targetType: 'topic', targetId: source.id, spaceId: source.spaceId,
        before: { status: 'MERGED', mergedInto: targetId }, after: { status: restored },
      });
    });
    this.forget(viewer, source.id, targetId!);
    return this.topics.get(viewer, source.id);
  }

  async updateBoard(viewer: Viewer, input: UpdateIdeaBoardInput): Promise<BoardModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const board = await this.spaces.board(viewer, input.boardId);
    if (!board) throw AppError.notFound('Board not found');
    await this.access.require(viewer, board.spaceId, AccessLevel.ADMIN, 'Board not found');
    if (board.kind !== BoardKind.IDEAS) throw AppError.badField('boardId', 'must be an ideas board');
    // A budget given as null changes nothing, as an absent one (0 removes the limit).
    if (input.voteBudget == null && !input.statusLabels?.length) throw AppError.badField('voteBudget', 'give a vote budget or status labels');
    const labels = Object.fromEntries((input.statusLabels ?? []).map((l) => [l.status, l.label]));
    const budget = input.voteBudget == null ? {} : { voteBudget: input.voteBudget || null };
    const [row] = await this.uow.run(async (tx) => {
      // The board's row held, then the admin's access read again as it is now (`stillMay`), not as
      // the request's session had it: an admin whose grant was revoked, or who was demoted, after
      // the check above changes nothing.
      await tx.query(`SELECT 1 FROM boards WHERE id = $1 FOR NO KEY UPDATE`, [board.id]);
      await this.stillMay(tx, viewer, board.spaceId, AccessLevel.ADMIN, 'Board not found');
      // Merged into the settings as the row is updated, not into a copy read before: two admins
      // changing labels (or one the budget, one labels) at once would each write back the copy
      // they read, and the later one undo the other's change.
      return tx.query<{ settings: Record<string, unknown> }>(
        `UPDATE boards SET settings = settings || jsonb_build_object('ideas', COALESCE(settings->'ideas', '{}') || $3::jsonb
                || jsonb_build_object('labels', COALESCE(settings->'ideas'->'labels', '{}') || $2::jsonb))
          WHERE id = $1 RETURNING settings`,
        [board.id, JSON.stringify(labels), JSON.stringify(budget)],
      );
    });
    viewer.forget('loader:boards');
    return Object.assign(new BoardModel(), board, { settings: row.settings });
  }

  // ---------------------------------------------------------------- helpers

  private async ideaTopic(viewer: Viewer, id: string, field = 'topicId'): Promise<TopicModel> {
    const topic = isUuid(id) ? await this.forum.topic(viewer, id) : null;
    if (!topic) throw AppError.notFound('Idea not found');
    if (topic.kind !== TopicKind.IDEA) throw AppError.badField(field, 'must be an idea');
    return topic;
  }

  /**
   * Whether the viewer may still act on the space at `level`, with their access read now on the
   * transaction's connection (`viewerForUser`), once the rows they act on are locked: a
   * moderator demoted, silenced or suspended while the change waited for them is refused as they
   * are now (NOT_FOUND, FORBIDDEN or UNAUTHENTICATED, as `AccessService.require` answers).
   */
  private async stillMay(tx: Tx, viewer: Viewer, spaceId: string, level: AccessLevel, notFound?: string): Promise<Viewer> {
    const now = await this.sessions.viewerNow(viewer, tx);
    await this.access.require(now, spaceId, level, notFound);
    return now;
  }

  /**
   * The idea's row, locked, with its topic's closed and locked flags, state and author as they
   * are now; the topic's row is shared (in the order merges take them), so locking or hiding the
   * topic (a non-key update of its row) waits for a vote that found it open, and a vote waits
   * for one under way and reads the topic as it committed.
   */
  private async lockIdea(tx: Tx, topicId: string): Promise<LockedIdea> {
    const [row] = await tx.query<LockedIdea>(
      `SELECT i.topic_id, i.status, i.vote_count, i.merged_into, t.space_id, t.board_id, t.closed, t.locked, t.state, t.author_id
         FROM ideas i JOIN topics t ON t.id = i.topic_id
        WHERE i.topic_id = $1 FOR UPDATE OF i FOR SHARE OF t`,
      [topicId],
    );
    if (!row) throw AppError.notFound('Idea not found');
    return row;
  }

  /**
   * Board-kind hook: a merged idea hidden, deleted or brought back changes what the ideas its
   * chain runs through count (GROUPS counts visible ideas only): they are counted again.
   */
  async firstPostStateChanged(tx: Tx, change: { topicId: string; from: string; to: string }): Promise<void> {
    if ((change.from === 'VISIBLE') === (change.to === 'VISIBLE')) return;
    const [row] = await tx.query<{ merged_into: string | null }>(`SELECT merged_into FROM ideas WHERE topic_id = $1`, [change.topicId]);
    if (!row?.merged_into) return;
    // The chain's rows are locked first (in id order, as merges and votes take them): a vote
    // committing meanwhile is then counted by the recount's fresh snapshot, not lost.
    const chain = await this.chainFrom(tx, row.merged_into);
    await tx.query(`SELECT topic_id FROM ideas WHERE topic_id = ANY($1::uuid[]) ORDER BY topic_id FOR UPDATE`, [chain]);
    await this.announceCounts(tx, await this.recountAll(tx, chain));
  }

  /** Live pages of these recounted ideas show their new counts: an `idea.voted` for each. */
  private async announceCounts(tx: Tx, counts: ReadonlyMap<string, number>): Promise<void> {
    if (counts.size === 0) return;
    const topics = await tx.query<{ id: string; space_id: string; board_id: string }>(`SELECT id, space_id, board_id FROM topics WHERE id = ANY($1::uuid[])`, [[...counts.keys()]]);
    for (const t of topics) {
      await tx.emit({ type: 'idea.voted', aggregateType: 'topic', aggregateId: t.id, payload: { topicId: t.id, spaceId: t.space_id, boardId: t.board_id, voteCount: counts.get(t.id) } });
    }
  }

  /**
   * Raises the topic's version for a merge or an unmerge, which take an idea off its board's lists
   * or put it back (as a move or a first post's hiding raises it): the live gateway orders the
   * board's arrivals and leavings of it by that version. Answers the board it is on and the version.
   * The idea's row, locked, references the topic's (its foreign key cascades, and nothing deletes
   * topics), so a row not written is NOT_FOUND, which ends the merge or unmerge's transaction,
   * not a TypeError of its caller's (INTERNAL to the client; until 2026-12-07: ideas e2e).
   */
  private async raiseTopicVersion(tx: Tx, topicId: string): Promise<{ board_id: string; version: number }> {
    const row = await tx.one<{ board_id: string; version: number }>(
      `UPDATE topics SET version = next_version(version), updated_at = now() WHERE id = $1 RETURNING board_id, version`,
      [topicId],
    );
    if (!row) throw AppError.notFound('Idea not found');
    return row;
  }

  /** An idea and the ideas it is merged into, up to the one its chain ends in. */
  private async chainFrom(tx: Tx, topicId: string): Promise<string[]> {
    const rows = await tx.query<{ id: string }>(
      `WITH RECURSIVE up(id, next, depth) AS (
         SELECT topic_id, merged_into, 0 FROM ideas WHERE topic_id = $1
         UNION ALL SELECT i.topic_id, i.merged_into, up.depth + 1 FROM up JOIN ideas i ON i.topic_id = up.next WHERE up.depth < 100
       ) SELECT id FROM up ORDER BY depth`,
      [topicId],
    );
    return rows.map((r) => r.id);
  }

  /** Counts each idea's voters again (its merged ideas' included), in one statement however many ideas. */
  private async recountAll(tx: Tx, topicIds: readonly string[]): Promise<Map<string, number>> {
    if (topicIds.length === 0) return new Map();
    const rows = await tx.query<{ topic_id: string; vote_count: number }>(
      `${GROUPS} UPDATE ideas i SET vote_count = (SELECT count(DISTINCT v.user_id) FROM grp g JOIN idea_votes v ON v.topic_id = g.member WHERE g.root = i.topic_id)::int,
              version = next_version(i.version)
        WHERE i.topic_id = ANY($1::uuid[]) RETURNING i.topic_id, i.vote_count`,
      [[...new Set(topicIds)]],
    );
    return new Map(rows.map((r) => [r.topic_id, r.vote_count]));
  }

  private async recount(tx: Tx, topicId: string): Promise<number> {
    return (await this.recountAll(tx, [topicId])).get(topicId)!;
  }

  private forget(viewer: Viewer, ...topicIds: string[]): void {
    for (const topicId of topicIds) this.forum.forget(viewer, { topicId });
    for (const key of ['loader:ideas', 'loader:ideaVoted', 'loader:ideaSegments', 'loader:ideaHistory', 'loader:ideaActiveVotes']) viewer.forget(key);
  }
}

export function toIdea(row: IdeaRow, viewerRank: number): IdeaModel {
  const m = new IdeaModel();
  m.topicId = row.topic_id;
  m.status = row.status;
  m.statusLabel = ideaSettingsOf({ settings: row.board_settings }).labels[row.status];
  m.voteCount = row.vote_count;
  m.statusChangedAt = row.status_changed_at;
  m.version = row.version;
  m.mergedIntoId = row.merged_into;
  m.spaceId = row.space_id;
  m.boardId = row.board_id;
  m.viewerRank = viewerRank;
  m.officialResponse = row.response_html
    ? { body: row.response_html, at: row.response_at!, authorId: row.response_author_id, author: null }
    : null;
  return m;
}
