import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessService } from '../../access/src/access.service';
import { AppConfig } from '../../core/src/config/config';
import { AppError } from '../../core/src/errors';
import { networkOf } from '../../core/src/http/client-address';
import { RateLimiter, RateRule } from '../../core/src/rate-limit';
import { emptyConnection, encodeCursor, offsetFromCursor, pageSize } from '../../core/src/graphql/pagination';
import { Viewer } from '../../core/src/graphql/viewer';
import { ForumLoaders } from '../../forum/src/forum.loaders';
import { TopicModel } from '../../forum/src/topics/topic.model';
import { TopicsService } from '../../forum/src/topics/topics.service';
import { UsersRepository } from '../../identity/src/users/users.repository';
import { SpacesLoader } from '../../spaces/src/spaces.loader';
import { FoldingUnavailableError } from './postgres/unaccent-folding';
import { hasPositiveTerms, parseQuery, titleTerms } from './query-parser';
import { SearchFilters, SearchRequest, SearchResult } from './search-engine';
import { SearchEngines } from './search-engines';
import { AUDIENCE_EVENT_TYPES } from './search-indexer';
import { SEARCH_OFFSET_MAX, SearchArgs, SearchConnectionModel, SearchHitModel, SearchSort, SimilarTopicsArgs } from './search.model';

/** Pages of hits similarTopics reads at most when board kinds leave some of their topics out of its suggestions. */
const SIMILAR_ROUNDS = 4;

/** Most topics in flux a search leaves out (see `topicsInFlux`). */
const TOPICS_IN_FLUX_MAX = 1000;

/**
 * Outbox events that change who may see a topic (or one of its posts), as SQL: see
 * `topicsInFlux`. The list is the predicate of the partial index `outbox_pending_audience_idx`,
 * word for word (search.e2e-spec checks a search's plan goes down it).
 */
export const AUDIENCE_EVENTS_SQL = AUDIENCE_EVENT_TYPES.map((t) => `'${t}'`).join(', ');

/**
 * Queries go to the primary engine with the viewer's readable spaces as a filter; when
 * an external engine fails or times out, PostgreSQL answers instead (the response says
 * which). Hits are then loaded through the forum's own access checks, a second line of
 * defence: a hit the viewer may not see is dropped.
 */
@Injectable()
export class SearchService {
  private readonly log = new Logger('Search');
  private readonly perUser: RateRule;
  private readonly perIp: RateRule;

  constructor(
    private readonly engines: SearchEngines,
    private readonly access: AccessService,
    private readonly forum: ForumLoaders,
    private readonly users: UsersRepository,
    private readonly limiter: RateLimiter,
    private readonly topics: TopicsService,
    private readonly spaces: SpacesLoader,
    private readonly ds: DataSource,
    config: AppConfig,
  ) {
    this.perUser = { bucket: 'search:user', limit: config.SEARCH_RATE_PER_MINUTE, windowSeconds: 60 };
    this.perIp = { bucket: 'search:ip', limit: config.SEARCH_RATE_PER_MINUTE * 2, windowSeconds: 60 };
  }

  async search(viewer: Viewer, args: SearchArgs, opts: { facets: boolean }): Promise<SearchConnectionModel> {
    this.checkQuery(args.query, 'query');
    await this.charge(viewer);
    const first = pageSize(args.first);
    const sort = args.sort === SearchSort.NEWEST ? 'NEWEST' : 'RELEVANCE';
    const list = `search:${sort}`;
    const offset = offsetFromCursor(args.after, { list, max: SEARCH_OFFSET_MAX });
    const filters = await this.filtersFor(viewer, args);
    const emptyFacets = { kinds: [], spaces: [], tags: [] };
    if (!filters) return { ...emptyConnection<SearchHitModel>(), totalCount: 0, totalCountIsEstimate: false, facets: emptyFacets, engine: this.engines.primary.name };
    const result = await this.query({
      query: args.query,
      filters,
      sort,
      limit: first,
      offset,
      facets: opts.facets,
    });
    const edges: SearchConnectionModel['edges'] = [];
    const loaded = await Promise.all(
      result.hits.map(async (h) => {
        const [topic, post] = await Promise.all([this.forum.topic(viewer, h.topicId), this.forum.post(viewer, h.id)]);
        return { h, topic, post };
      }),
    );
    loaded.forEach(({ h, topic, post }, i) => {
      if (!topic || !post || post.view !== 'full') return;
      // Kind and title from the topic as it is now: the index may lag a moment behind an edit.
      const node: SearchHitModel = { kind: topic.kind, topic, post, title: topic.title, snippetHtml: h.snippetHtml, score: h.score };
      edges.push({ cursor: encodeCursor(list, [offset + i + 1]), node });
    });
    const end = offset + result.hits.length;
    // Built here, not with pageInfoOf or toOffsetConnection (core/graphql/pagination): the page
    // ends where the engine's hits end, the ones dropped above included. pageInfoOf would take
    // endCursor from the last edge, so the next page would read the dropped hits again, and a page
    // whose hits were all dropped would have no endCursor though hasNextPage is true (the reader
    // stuck). toOffsetConnection wants size + 1 rows carrying a window count, where the engine
    // answers with `first` hits and its own total (an estimate past 1,000).
    return {
      edges,
      pageInfo: {
        hasNextPage: end < Math.min(result.total, SEARCH_OFFSET_MAX),
        endCursor: result.hits.length ? encodeCursor(list, [end]) : null,
        hasPreviousPage: offset > 0,
        startCursor: edges.length ? edges[0].cursor : null,
      },
      totalCount: result.total,
      totalCountIsEstimate: result.totalIsEstimate ?? false,
      facets: result.facets ?? emptyFacets,
      engine: result.engine,
    };
  }

  /**
   * Topics whose title or opening post resemble a title being typed, to head off duplicates.
   * With a board, only that board's topics, as its lists show them (an idea board's lists
   * leave merged ideas out: suggesting one would send the writer to an idea taking no votes),
   * and as its kind suggests them (a knowledge board's archived articles are not). Without a
   * board, topics of every board, each as its board's kind suggests it (no archived articles;
   * merged ideas are, lists not being asked).
   */
  async similarTopics(viewer: Viewer, args: SimilarTopicsArgs): Promise<TopicModel[]> {
    this.checkQuery(args.title, 'title');
    await this.charge(viewer);
    const readable = await this.access.readableSpaceIds(viewer);
    const board = args.boardId ? await this.spaces.board(viewer, args.boardId) : null;
    if (args.boardId && !board) throw AppError.notFound('Board not found');
    const spaceIds = readable.filter((id) => (!args.spaceId || id === args.spaceId) && (!board || id === board.spaceId));
    if (spaceIds.length === 0) return [];
    // Every word counts but none is required: a title is rarely typed the same way twice.
    const words = titleTerms(args.title);
    if (words.length === 0) return [];
    const limit = args.first ?? 5;
    // A board's kind may leave some of its topics out of its lists (merged ideas) or its
    // suggestions (archived articles), and those may fill the best hits, duplicates being what
    // merged ideas are: look a few pages further.
    const found = new Map<string, TopicModel>();
    for (let round = 0, offset = 0; round < SIMILAR_ROUNDS && found.size < limit; round++) {
      const result = await this.query({
        query: `${words.join(' ')} `,
        filters: { spaceIds, boardIds: board ? [board.id] : undefined, topicsOnly: true },
        sort: 'RELEVANCE',
        limit,
        offset,
      });
      const topics = await Promise.all(result.hits.map((h) => this.forum.topic(viewer, h.topicId)));
      // The board as the topic is now: the index may lag a moment behind a move.
      const visible = topics.filter((t): t is TopicModel => t !== null && t.state === 'VISIBLE' && (!board || t.boardId === board.id));
      const ids = visible.map((t) => t.id);
      const suggested = board ? await this.topics.suggestedOn(board, ids) : await this.topics.suggestedAnywhere(ids);
      for (const t of visible) if (suggested.has(t.id)) found.set(t.id, t);
      offset += result.hits.length;
      if (result.hits.length < limit || offset >= result.total) break;
    }
    return [...found.values()].slice(0, limit);
  }

  /** Runs a request on the primary engine, PostgreSQL answering when an external one fails (other modules' suggestions use it too). */
  async query(req: SearchRequest): Promise<SearchResult> {
    const primary = this.engines.primary;
    if (primary === this.engines.postgres) return primary.search(req);
    const unsynced = await this.unsyncedOutOfSight(req.filters.spaceIds, req.filters.moderatedSpaceIds ?? []);
    const external = unsynced.length ? { ...req, filters: { ...req.filters, excludeTopicIds: [...(req.filters.excludeTopicIds ?? []), ...unsynced] } } : req;
    try {
      return await primary.search(external);
    } catch (err) {
      // Not the external engine's failure: PostgreSQL's engine needs the same folding, and would
      // only wait for another read of it. The client gets INTERNAL with a correlation id (API.md).
      if (err instanceof FoldingUnavailableError) throw err;
      this.log.warn({ err }, `${primary.name} failed; PostgreSQL answers this query`);
      return this.engines.postgres.search(req);
    }
  }

  private checkQuery(text: string, field: string): void {
    if (text.length === 0) throw AppError.badField(field, 'must not be empty');
    if (!hasPositiveTerms(parseQuery(text))) throw AppError.badField(field, 'must contain at least one word to look for');
  }

  /**
   * Counts one search against the viewer's (and their address's) search rate; RATE_LIMITED past
   * it. Per user and per IP: one account cannot go faster from many addresses, nor one address
   * with many accounts (at twice a user's rate, for shared networks).
   */
  async charge(viewer: Viewer): Promise<void> {
    const checks: Array<[RateRule, string]> = [[this.perIp, networkOf(viewer.ip)]];
    if (viewer.id) checks.push([this.perUser, viewer.id]);
    await this.limiter.pace(checks, 'Too many searches, try again shortly');
  }

  /** The permission filter and the asked-for filters; null when nothing can match. */
  private async filtersFor(viewer: Viewer, args: SearchArgs): Promise<SearchFilters | null> {
    const f = args.filter ?? {};
    const readable = await this.access.readableSpaceIds(viewer);
    const spaceIds = f.spaceIds ? readable.filter((id) => f.spaceIds!.includes(id)) : readable;
    if (spaceIds.length === 0) return null;
    let moderatedSpaceIds: string[] = [];
    if (f.includeModerated) {
      const moderated = new Set(await this.access.moderatedSpaceIds(viewer));
      moderatedSpaceIds = spaceIds.filter((id) => moderated.has(id));
      if (moderatedSpaceIds.length === 0) throw AppError.forbidden('Only moderators include pending, hidden and deleted contributions');
    }
    let authorId: string | undefined;
    if (f.authorHandle) {
      const author = await this.users.findByHandle(f.authorHandle);
      if (!author) return null;
      authorId = author.id;
    }
    return { spaceIds, moderatedSpaceIds, boardIds: f.boardIds, kinds: f.kinds, tags: f.tags, authorId, excludeTopicIds: await this.topicsInFlux() };
  }

  /**
   * With an external engine, the seconds between PostgreSQL's index and the sync's (longer
   * while the engine is away): the topics of posts still waiting for the sync because their
   * audience changed (moved, hidden, deleted, held: `search_sync_queue.audience`) that the
   * PostgreSQL index, already up to date, puts out of this viewer's sight. The external engine
   * still holds them as they were; left out of what it answers, its totals and facets do not
   * count them. Only for the external engine (PostgreSQL is up to date). Bounded as
   * topicsInFlux is.
   */
  private async unsyncedOutOfSight(spaceIds: string[], moderatedSpaceIds: string[]): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.ds.query(
      `SELECT DISTINCT p.topic_id AS id FROM search_sync_queue q JOIN posts p ON p.id = q.post_id
         LEFT JOIN search_documents d ON d.id = q.post_id
        WHERE q.audience AND (d.id IS NULL OR NOT (d.space_id = ANY($1::uuid[]) AND (d.state = 'VISIBLE' OR d.space_id = ANY($2::uuid[]))))
        LIMIT ${TOPICS_IN_FLUX_MAX}`,
      [spaceIds, moderatedSpaceIds],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Topics whose audience changed (moved, or a post of theirs hidden, deleted or held) in a
   * transaction whose outbox event the indexer has not taken yet: until it has, the index
   * holds them as they were, and counting them in totals or facets would tell a viewer who
   * may no longer see them that they exist. Hits are loaded again through the access checks
   * in any case. Read down a partial index of those pending events alone: a handful, or none.
   */
  private async topicsInFlux(): Promise<string[]> {
    // Not a parked event (one that failed too often waits for `outbox:retry`): it would keep
    // its topic out of every search until then. A bounded list: a mass move is over in seconds.
    const rows: Array<{ id: string }> = await this.ds.query(
      `SELECT DISTINCT payload->>'topicId' AS id FROM outbox
        WHERE processed_at IS NULL AND type IN (${AUDIENCE_EVENTS_SQL}) AND payload->>'topicId' IS NOT NULL
          AND available_at < 'infinity'
        LIMIT ${TOPICS_IN_FLUX_MAX}`,
    );
    return rows.map((r) => r.id);
  }
}
