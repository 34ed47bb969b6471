import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { DataSource } from 'typeorm';
import { LIVE_RELAY_INSERT, relayWakeUp } from '../../libs/core/src/database/live-relay';
import { DomainEvent } from '../../libs/core/src/events';
import { newId } from '../../libs/core/src/ids';
import { ContentState } from '../../libs/forum/src/forum.enums';
import { placeholderText } from '../../libs/forum/src/posts/post.model';
import { LiveRelayConsumer } from '../../libs/realtime/src/live-relay.consumer';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { gateCalls } from '../support/gates';
import { connectLive, heardLive, pushedSoFar } from '../support/live-client';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

/** The gateway's read of the posts it pushes (`pushPosts`): a reply's arrival, a move's posts. */
const POSTS_READ = /WHERE p\.id = ANY\(\$1::uuid\[\]\) ORDER BY p\.topic_id, p\.number$/;

const MOVE_TOPIC = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
const MOVE_POSTS = `mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`;
const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
const POSTS = `query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { id state placeholder version } } } } }`;

/**
 * A rolling upgrade's events, as the live gateway of this release hears them: the only events of
 * another process that reach its bus come through the live relay (`live_relay`), written by a
 * worker, here one of the release before, which knows nothing of what this one added to the
 * events (`topicVersion` on a first post's removal) or to the rows (`posts.removed_version`,
 * migration 1765538800000). Each test commits what that worker would have (its rows, by SQL, and
 * its event, by the relay's own insert and wake-up) and checks what readers of this release hear.
 */
describe('live pushes during a rolling upgrade (events and rows of the release before)', () => {
  let t: TestApp;
  let url: string;
  let author: TestUser;
  let moderator: TestUser;
  let spaceId: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    author = await makeUser(t);
    moderator = await makeUser(t);
    spaceId = (await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }])).id;
  });
  afterAll(async () => {
    sockets.forEach((s) => s.disconnect());
    await t.close();
  });

  /**
   * `event` committed by a worker of the release before: written to the live relay as its
   * `UnitOfWork` writes it, then claimed and published by this node's relay, and what the gateway
   * pushed for it delivered to every socket of the suite (`pushedSoFar`), unless `settle` is false
   * (a push held at a gate meanwhile, which `pushedSoFar` would wait for).
   */
  async function relayedFromOlderWorker(event: DomainEvent, settle = true): Promise<void> {
    await t.sql(LIVE_RELAY_INSERT, [JSON.stringify([event]), relayWakeUp([event])]);
    for (let i = 0; i < 200 && (await t.sql(`SELECT 1 FROM live_relay`)).length; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await t.sql(`SELECT 1 FROM live_relay`)).toEqual([]);
    await t.get(LiveRelayConsumer).idle();
    if (settle) await pushedSoFar(t, sockets);
  }

  /** A reader (anonymous) in `room`: a board's (`{ boardId }`) or a topic's (its id). */
  async function readerIn(room: string | { boardId: string }): Promise<Socket> {
    const s = await connectLive(url, sockets);
    const [ask, body] = typeof room === 'string' ? ['topic:join', { topicId: room }] : ['board:join', room];
    expect(await s.timeout(5000).emitWithAck(ask, body)).toEqual({ ok: true });
    return s;
  }

  /**
   * A worker's hiding of a topic's first post on `boardId` (its rows, by SQL), `between` run while
   * it is hidden, then the topic shown again (that event never reaches this node); the hide's
   * `post.hidden` is relayed, late, only when the answer is called.
   */
  async function hiddenAndShownByWorker(topic: { id: string; firstPostId: string }, boardId: string, between: () => Promise<unknown> = async () => undefined): Promise<() => Promise<void>> {
    const [post] = await t.sql(
      `WITH u AS (UPDATE posts SET state = 'HIDDEN', version = next_version(version) WHERE id = $1 RETURNING version) SELECT version FROM u`,
      [topic.firstPostId],
    );
    const [hidden] = await t.sql(`WITH u AS (UPDATE topics SET state = 'HIDDEN', version = next_version(version) WHERE id = $1 RETURNING version) SELECT version FROM u`, [topic.id]);
    await between();
    await t.sql(`UPDATE posts SET state = 'VISIBLE', version = next_version(version) WHERE id = $1`, [topic.firstPostId]);
    await t.sql(`UPDATE topics SET state = 'VISIBLE', version = next_version(version) WHERE id = $1`, [topic.id]);
    return () => relayedFromOlderWorker({
      type: 'post.hidden', aggregateType: 'post', aggregateId: topic.firstPostId, version: post.version,
      payload: { postId: topic.firstPostId, topicId: topic.id, boardId, spaceId, number: 1, authorId: author.id, from: 'VISIBLE', to: 'HIDDEN', topicVersion: hidden.version },
    });
  }

  /** Every event `s` hears from now on about `topicId`, as [name, payload]. */
  function heardOf(s: Socket, topicId: string): Array<[string, any]> {
    const heard: Array<[string, any]> = [];
    s.onAny((name: string, e: any) => (e?.topicId === topicId || e?.topic?.id === topicId) && heard.push([name, e]));
    return heard;
  }

  const moveTopic = async (topicId: string, boardId: string) => expectOk(await t.gql(MOVE_TOPIC, { input: { topicId, boardId } }, { token: moderator.token }));

  /** A topic's move as the release before's worker commits it (a PUBLISH_TO_BOARD timer's): its row, and its version. */
  async function olderWorkerMovesTopic(topicId: string, boardId: string): Promise<number> {
    const [row] = await t.sql(`WITH u AS (UPDATE topics SET board_id = $2, version = next_version(version), updated_at = now() WHERE id = $1 RETURNING version) SELECT version FROM u`, [topicId, boardId]);
    return row.version;
  }

  it('a first post’s removal without `topicVersion`: its room hears it, and it does not undo the newer removal the board’s room is fenced by', async () => {
    const board = await makeBoard(t, spaceId);
    const topic = await createTopic(t, author.token, board);
    await t.get(LiveGateway).settled();
    const inBoard = heardOf(await readerIn({ boardId: board }), topic.id);
    const moderating = await connectLive(url, sockets, moderator.token);
    expect(await moderating.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const removed = heardLive(moderating, 'post:removed');
    // A reply's arrival read (its board's `topic:activity`, with the topic's version then), held
    // once it has read; meanwhile this release hides the topic's first post (its event's
    // `topicVersion` fences the board's room), then the release before's worker deletes it.
    let picked = false;
    const gate = gateCalls(t.get(DataSource), 'query', (sql: unknown) => !picked && typeof sql === 'string' && POSTS_READ.test(sql) && (picked = true), 'after');
    let deletedAt: number;
    try {
      await reply(t, author.token, topic.id);
      await gate.begun;
      expect(expectOk(await t.gql(MODERATE, { input: { postId: topic.firstPostId, action: 'HIDE' } }, { token: moderator.token })).moderatePost.state).toBe('HIDDEN');
      await removed.first((e) => e.postId === topic.firstPostId);
      // As its applyState wrote it: no removed_version, and an event without `topicVersion`.
      const [post] = await t.sql(
        `WITH u AS (UPDATE posts SET state = 'DELETED', deleted_from = 'HIDDEN', deleted_at = now(), version = next_version(version) WHERE id = $1 RETURNING version) SELECT version FROM u`,
        [topic.firstPostId],
      );
      await t.sql(`UPDATE topics SET state = 'DELETED', version = next_version(version) WHERE id = $1`, [topic.id]);
      deletedAt = post.version;
      await relayedFromOlderWorker({
        type: 'post.deleted', aggregateType: 'post', aggregateId: topic.firstPostId, version: deletedAt,
        payload: { postId: topic.firstPostId, topicId: topic.id, boardId: board, spaceId, number: 1, authorId: author.id, from: 'HIDDEN', to: 'DELETED' },
      }, false);
      // The topic's room (its moderator may still read it) hears the deletion, with its version:
      // handled, before the held read goes on.
      expect(await removed.first((e) => e.version === deletedAt)).toEqual({
        topicId: topic.id, postId: topic.firstPostId, placeholder: placeholderText(ContentState.DELETED), version: deletedAt,
      });
    } finally {
      gate.restore();
    }
    await pushedSoFar(t, sockets);
    // The board heard the hide (`topic:removed`) and nothing after: the reply's activity, read
    // before the hide, is still not sent, since the event without `topicVersion` noted nothing
    // there and left the hide's fence as it was. (Noting its missing version would have wiped the
    // fence, and the board heard of the hidden topic.) The older worker's deletion of a hidden
    // topic tells the board nothing: it was not listed there.
    expect(inBoard.map(([event]) => event)).toEqual(['topic:removed']);
  });

  it('a topic’s move without a version: the board it left hears `topic:moved`', async () => {
    const [from, to] = [await makeBoard(t, spaceId), await makeBoard(t, spaceId)];
    const topic = await createTopic(t, author.token, from);
    await t.get(LiveGateway).settled();
    const inOld = heardOf(await readerIn({ boardId: from }), topic.id);
    const inNew = heardOf(await readerIn({ boardId: to }), topic.id);
    await olderWorkerMovesTopic(topic.id, to);
    // An event with no version at all: nothing orders it, and it is announced as before the fence.
    await relayedFromOlderWorker({
      type: 'topic.moved', aggregateType: 'topic', aggregateId: topic.id,
      payload: { topicId: topic.id, fromBoardId: from, fromSpaceId: spaceId, boardId: to, spaceId },
    });
    expect(inOld).toEqual([['topic:moved', { topicId: topic.id }]]);
    // Its new board hears its settings, as of any move, and no arrival: an older release's move
    // does not say whether it publishes the topic (`publishing`), whose `topic.published`
    // announces it (twice, were this move announced too).
    expect(inNew.map(([name]) => name)).toEqual(['topic:updated']);
  });

  /**
   * A topic on a board of its own (`home`) with a reader of that board (`inHome`), moved to `other`
   * by the release before's worker (a timer's move), its relay row not yet claimed: `relayLate`
   * delivers it, late.
   */
  async function movedAwayByOlderWorker() {
    const [home, other] = [await makeBoard(t, spaceId), await makeBoard(t, spaceId)];
    const topic = await createTopic(t, author.token, home);
    await t.get(LiveGateway).settled();
    const inHome = heardOf(await readerIn({ boardId: home }), topic.id);
    const version = await olderWorkerMovesTopic(topic.id, other);
    const relayLate = () =>
      relayedFromOlderWorker({
        type: 'topic.moved', aggregateType: 'topic', aggregateId: topic.id, version,
        payload: { topicId: topic.id, fromBoardId: home, fromSpaceId: spaceId, boardId: other, spaceId },
      });
    return { home, other, topic, inHome, version, relayLate };
  }

  it('a topic’s move relayed after a newer leaving of the same board: that board hears no `topic:moved` for it', async () => {
    const { home, other, topic, inHome, version, relayLate } = await movedAwayByOlderWorker();
    // This release's moderators move it back and away again meanwhile, each heard at once.
    await moveTopic(topic.id, home);
    await moveTopic(topic.id, other);
    await pushedSoFar(t, sockets);
    const [now] = await t.sql(`SELECT version FROM topics WHERE id = $1`, [topic.id]);
    expect(inHome.filter(([name]) => name === 'topic:moved')).toEqual([['topic:moved', { topicId: topic.id, version: Number(now.version) }]]);
    expect(version).toBeLessThan(now.version);
    await relayLate();
    // Its leaving is older than the one the board heard last: held back (`leaving` false). The
    // rest of the move's handling still runs (its settings to its new board, by their own key).
    expect(inHome.filter(([name]) => name === 'topic:moved')).toEqual([['topic:moved', { topicId: topic.id, version: Number(now.version) }]]);
  });

  it('a worker’s hide relayed after the topic was moved back onto its board while nobody was in that board’s room: a reader who joined since hears no `topic:removed`', async () => {
    const [home, away] = [await makeBoard(t, spaceId), await makeBoard(t, spaceId)];
    const topic = await createTopic(t, author.token, home);
    await t.get(LiveGateway).settled();
    // A worker hides its first post and moves it away (a timer's move); neither event is relayed
    // yet. It is shown again (its event never reaches this node), then this node's moderator
    // moves it back while nobody is in its board's room.
    const relayHide = await hiddenAndShownByWorker(topic, home, () => olderWorkerMovesTopic(topic.id, away));
    await moveTopic(topic.id, home);
    await pushedSoFar(t, sockets);
    // A reader opens the board, which lists it; then the hide is relayed, late.
    const inHome = heardOf(await readerIn({ boardId: home }), topic.id);
    await relayHide();
    // Older than the move back, which noted its arrival there though nobody heard it: the board's
    // readers would drop a topic it lists (until 2026-12-07 they were told to).
    expect(inHome).toEqual([]);
  });

  it('a worker’s hide relayed after its idea was unmerged while nobody was in its board’s room: a reader who joined since hears no `topic:removed`', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const board = await makeBoard(t, spaceId, 'IDEAS');
    const [idea, into] = [await createTopic(t, author.token, board, { kind: 'IDEA' }), await createTopic(t, author.token, board, { kind: 'IDEA' })];
    expectOk(await t.gql(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId: idea.id, targetId: into.id } }, { token: admin.token }));
    await t.get(LiveGateway).settled();
    // A worker hides its first post while it is merged; the event is not relayed yet. It is shown
    // again (its event never reaches this node), then this node's admin unmerges it while nobody
    // is in its board's room.
    const relayHide = await hiddenAndShownByWorker(idea, board);
    expectOk(await t.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: idea.id }, { token: admin.token }));
    await pushedSoFar(t, sockets);
    // A reader opens the board, which lists it again; then the hide is relayed, late.
    const inBoard = heardOf(await readerIn({ boardId: board }), idea.id);
    await relayHide();
    // Older than the unmerge, whose push read nothing (nobody to hear it) but noted its arrival
    // there with the version it raised: the board's readers would drop a topic it lists.
    expect(inBoard).toEqual([]);
  });

  /** Two ideas on a new ideas board, and the topic's and idea's versions of one of them. */
  async function twoIdeas() {
    const board = await makeBoard(t, spaceId, 'IDEAS');
    const [idea, into] = [await createTopic(t, author.token, board, { kind: 'IDEA' }), await createTopic(t, author.token, board, { kind: 'IDEA' })];
    const versions = async (id: string) => {
      const [v] = await t.sql(`SELECT t.version AS topic, i.version AS idea FROM topics t JOIN ideas i ON i.topic_id = t.id WHERE t.id = $1`, [id]);
      return { topic: Number(v.topic), idea: Number(v.idea) };
    };
    return { board, idea, into, versions };
  }

  it('an idea merged by the release before (no `topicVersion`): its board hears it merged (`idea:updated` with the topic’s version as read), and nothing else of it', async () => {
    const { board, idea, into, versions } = await twoIdeas();
    await t.get(LiveGateway).settled();
    const inBoard = heardOf(await readerIn({ boardId: board }), idea.id);
    // Its rows as that release's merge wrote them: the idea merged, its topic's version not raised.
    await t.sql(`UPDATE ideas SET status = 'MERGED', status_before_merge = status, merged_into = $2, version = next_version(version) WHERE topic_id = $1`, [idea.id, into.id]);
    await relayedFromOlderWorker({
      type: 'idea.merged', aggregateType: 'topic', aggregateId: idea.id,
      payload: { topicId: idea.id, targetId: into.id, spaceId, boardId: board, targetBoardId: board, changeId: newId(), actorId: moderator.id },
    });
    // Noting nothing without the version (as a versionless removal notes nothing), its push goes
    // out as read, the topic's version (`topicVersion`) from the read: the client's rule holds.
    const now = await versions(idea.id);
    expect(inBoard).toEqual([['idea:updated', { topicId: idea.id, status: 'MERGED', voteCount: expect.any(Number), mergedIntoId: into.id, version: now.idea, topicVersion: now.topic }]]);
  });

  it('an idea unmerged by the release before (no `topicVersion`): its board hears it arrive, with the topic’s version as read (the merge’s, which this node noted), then its `idea:updated`', async () => {
    const { board, idea, into, versions } = await twoIdeas();
    expectOk(await t.gql(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId: idea.id, targetId: into.id } }, { token: moderator.token }));
    await t.get(LiveGateway).settled();
    const merged = await versions(idea.id);
    const inBoard = heardOf(await readerIn({ boardId: board }), idea.id);
    // Its rows as that release's unmerge wrote them: the idea back, its topic's version not raised.
    await t.sql(`UPDATE ideas SET status = COALESCE(status_before_merge, 'NEW'), merged_into = NULL, status_before_merge = NULL, version = next_version(version) WHERE topic_id = $1`, [idea.id]);
    await relayedFromOlderWorker({ type: 'idea.unmerged', aggregateType: 'topic', aggregateId: idea.id, payload: { topicId: idea.id, targetId: into.id, spaceId, boardId: board } });
    // Read at the version the merge raised and noted under `listed` here: an equal version is
    // admitted, so the board lists it again (and a client, ordering by it, applies it too).
    const now = await versions(idea.id);
    expect(now.topic).toBe(merged.topic);
    expect(inBoard.map(([name, e]) => [name, e.version, e.status])).toEqual([['topic:created', merged.topic, undefined], ['idea:updated', now.idea, 'NEW']]);
    expect(inBoard[1][1]).toMatchObject({ mergedIntoId: null, topicVersion: merged.topic });
  });

  it('an idea moved onto an idea board by the release before (no `boardKind`): the board it went to hears it arrive, then its votes and status (`idea:updated`)', async () => {
    const { board, idea } = await twoIdeas();
    const to = await makeBoard(t, spaceId, 'IDEAS');
    expectOk(await t.gql(`mutation($id: ID!) { voteIdea(topicId: $id) { id } }`, { id: idea.id }, { token: moderator.token }));
    await t.get(LiveGateway).settled();
    const inNew = heardOf(await readerIn({ boardId: to }), idea.id);
    const version = await olderWorkerMovesTopic(idea.id, to);
    // As that release's move says it (`publishing`, `visible`), but not where it went (`boardKind`).
    await relayedFromOlderWorker({
      type: 'topic.moved', aggregateType: 'topic', aggregateId: idea.id, version,
      payload: { topicId: idea.id, fromBoardId: board, fromSpaceId: spaceId, boardId: to, spaceId, publishing: false, visible: true },
    });
    // Read with its idea all the same (until then its arrival alone: the board listed it without its votes until a reload).
    const [now] = await t.sql(`SELECT i.vote_count, i.version FROM ideas i WHERE i.topic_id = $1`, [idea.id]);
    expect(inNew.filter(([name]) => name !== 'topic:updated').map(([name, e]) => [name, e.voteCount])).toEqual([['topic:created', undefined], ['idea:updated', now.vote_count]]);
    expect(inNew.find(([name]) => name === 'idea:updated')?.[1]).toMatchObject({ version: Number(now.version), topicVersion: version });
  });

  it('a topic’s move relayed after it was moved back to the board it left: that board, which lists it, hears no `topic:moved`', async () => {
    const { home, topic, inHome, relayLate } = await movedAwayByOlderWorker();
    // This release's moderator moves it back meanwhile, which the board hears at once (its arrival
    // there, which its readers apply by the topic's id to the row they still list, and its settings).
    await moveTopic(topic.id, home);
    await pushedSoFar(t, sockets);
    expect(inHome.map(([name]) => name)).toEqual(['topic:created', 'topic:updated']);
    await relayLate();
    // It is on that board: told it moved away, its readers would drop it from their list (until
    // 2026-12-07 they were). Its settings may come again, the same version as before.
    expect(inHome.slice(2).filter(([name]) => name !== 'topic:updated')).toEqual([]);
  });

  it('a topic’s move relayed after it was moved back and away again, that move not yet relayed: the board it left hears `topic:moved` from the newer move alone', async () => {
    const { home, topic, inHome, version, relayLate } = await movedAwayByOlderWorker();
    await moveTopic(topic.id, home);
    await pushedSoFar(t, sockets);
    // Back on the board: its readers heard it arrive, with a version above the late move's.
    const [[, arrival]] = inHome.filter(([name]) => name === 'topic:created');
    expect(arrival.version).toBeGreaterThan(version);
    // Away again, to a third board, by the release before's worker too: its event not yet claimed.
    const third = await makeBoard(t, spaceId);
    const again = await olderWorkerMovesTopic(topic.id, third);
    await relayLate();
    // Off the board again, but the late move is older than the arrival the board heard since:
    // held back (a client would drop it by its version; until 2026-12-07 the move back announced
    // no arrival there, and the late move told it).
    expect(inHome.filter(([name]) => name === 'topic:moved')).toEqual([]);
    await relayedFromOlderWorker({
      type: 'topic.moved', aggregateType: 'topic', aggregateId: topic.id, version: again,
      payload: { topicId: topic.id, fromBoardId: home, fromSpaceId: spaceId, boardId: third, spaceId },
    });
    // Its own move, newer than the arrival, tells it (not held back for naming another destination than the one it is on).
    expect(inHome.filter(([name]) => name === 'topic:moved')).toEqual([['topic:moved', { topicId: topic.id, version: again }]]);
  });

  it('a moved post hidden by the release before while its arrival’s push reads: its placeholder goes out without a version, as a page shows it', async () => {
    const board = await makeBoard(t, spaceId);
    const [source, dest] = [await createTopic(t, author.token, board), await createTopic(t, author.token, board)];
    const r = await reply(t, author.token, source.id);
    await t.get(LiveGateway).settled();
    const inDest = await readerIn(dest.id);
    const arrived = heardLive(inDest, 'post:created');
    const removed = heardLive(inDest, 'post:removed');
    // This release moves the reply (visible: no removed_version); before the arrival's push reads
    // it, the release before's worker hides it, writing no removed_version (the one path left to a
    // hidden post without one), and relays its removal.
    let picked = false;
    const gate = gateCalls(t.get(DataSource), 'query', (sql: unknown, params: unknown) =>
      !picked && typeof sql === 'string' && POSTS_READ.test(sql) && Array.isArray(params) && (params[0] as string[])?.includes?.(r.id) && (picked = true),
    );
    let hiddenAt: number;
    try {
      expectOk(await t.gql(MOVE_POSTS, { input: { postIds: [r.id], toTopicId: dest.id } }, { token: moderator.token }));
      await gate.begun;
      const [post] = await t.sql(
        `WITH u AS (UPDATE posts SET state = 'HIDDEN', version = next_version(version) WHERE id = $1 RETURNING version, removed_version) SELECT * FROM u`,
        [r.id],
      );
      expect(post.removed_version).toBeNull();
      hiddenAt = post.version;
      await relayedFromOlderWorker({
        type: 'post.hidden', aggregateType: 'post', aggregateId: r.id, version: hiddenAt,
        payload: { postId: r.id, topicId: dest.id, boardId: board, spaceId, number: 2, authorId: author.id, from: 'VISIBLE', to: 'HIDDEN' },
      }, false);
      expect(await removed.first((e) => e.postId === r.id)).toEqual({ topicId: dest.id, postId: r.id, placeholder: placeholderText(ContentState.HIDDEN), version: hiddenAt });
    } finally {
      gate.restore();
    }
    // The move's arrival, read now: the hidden post as its placeholder, with no version (its
    // removal wrote none), not held back by the removal's version it cannot be compared with.
    const placeholder = await arrived.first((e) => e.post.id === r.id);
    expect(placeholder).toMatchObject({ topicId: dest.id, post: { id: r.id, state: 'HIDDEN', placeholder: placeholderText(ContentState.HIDDEN), bodyHtml: null, version: null } });
    // What a page shows the reader: the same placeholder, versionless.
    const page = expectOk(await t.gql(POSTS, { id: dest.id })).topic.posts.edges.map((e: any) => e.node);
    expect(page.find((p: any) => p.id === r.id)).toEqual({ id: r.id, state: 'HIDDEN', placeholder: placeholderText(ContentState.HIDDEN), version: null });
  });
});
