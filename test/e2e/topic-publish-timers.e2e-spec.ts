import { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Socket } from 'socket.io-client';
import { LEVEL_RANK } from '../../libs/access/src/access-level';
import { newId } from '../../libs/core/src/ids';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { TopicTimersService } from '../../libs/forum/src/timers/topic-timers.service';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState, setTopicState } from '../factories/forum';
import { connectLive, heardLive } from '../support/live-client';
import { poolStatementsOf } from '../support/pool-statements';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

const HOUR = 3600_000;
const SET = `mutation($i: SetTopicTimerInput!) { setTopicTimer(input: $i) { id timers { kind at board { id } } } }`;
const REMOVE = `mutation($i: RemoveTopicTimerInput!) { removeTopicTimer(input: $i) { id timers { kind } } }`;
const TOPIC = `query($id: ID!) { topic(id: $id) { createdAt lastActivityAt board { id } space { id } timers { kind board { id } setBy { id } } } }`;
const NOTIFICATIONS = `{ notifications(first: 50) { edges { node { kind topic { id } } } } }`;
const WATCH_BOARD = `mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`;
const WATCH_TAG = `mutation($input: WatchTagInput!) { watchTag(input: $input) { tag } }`;
const SEARCH = `query($q: String!) { search(query: $q) { totalCount edges { node { topic { id board { id } } } } } }`;
const FEED = `{ topics(first: 5) { edges { node { id } } } }`;

/**
 * PUBLISH_TO_BOARD timers (Discourse's "publish to category"): the community manager writes a
 * topic in a staff-only space and a timer publishes it to a public board, where it is new.
 */
describe('topic timers: publishing to a board', () => {
  let t: TestApp;
  /** The community manager: moderates the staff space, the public one and the partners' one. */
  let manager: TestUser;
  /** A member of the staff group (participates in the staff space). */
  let staffer: TestUser;
  /** Moderates the staff space alone: may not read the partners' space. */
  let staffMod: TestUser;
  let member: TestUser;
  let staffSpace: string;
  let publicSpace: string;
  let staffBoard: string;
  let publicBoard: string;
  let partnersBoard: string;
  /** A public space's board the manager reads but does not moderate. */
  let unmoderatedBoard: string;
  /** A board in a space the manager may not read. */
  let secretBoard: string;
  let publicIdeas: string;
  let publicKnowledge: string;
  let staffIdeas: string;
  let staffGroup: string;

  beforeAll(async () => {
    t = await bootTestApp();
    [manager, staffer, staffMod, member] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t)];
    staffGroup = await makeGroup(t);
    await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [staffGroup, staffer.id]);
    staffSpace = (await makeSpace(t, 'RESTRICTED', [{ groupId: staffGroup, level: 'PARTICIPATE' }, { userId: manager.id, level: 'MODERATE' }, { userId: staffMod.id, level: 'MODERATE' }])).id;
    publicSpace = (await makeSpace(t, 'PUBLIC', [{ userId: manager.id, level: 'MODERATE' }])).id;
    const partnersSpace = (await makeSpace(t, 'RESTRICTED', [{ userId: manager.id, level: 'MODERATE' }])).id;
    staffBoard = await makeBoard(t, staffSpace);
    staffIdeas = await makeBoard(t, staffSpace, 'IDEAS');
    publicBoard = await makeBoard(t, publicSpace);
    publicIdeas = await makeBoard(t, publicSpace, 'IDEAS');
    publicKnowledge = await makeBoard(t, publicSpace, 'KNOWLEDGE');
    partnersBoard = await makeBoard(t, partnersSpace);
    unmoderatedBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    secretBoard = await makeBoard(t, (await makeSpace(t, 'RESTRICTED')).id);
  });
  // Firing handles every due timer of the database: each test starts with none.
  afterEach(() => t.sql(`DELETE FROM topic_timers`));
  afterAll(() => t.close());

  const timers = () => t.get(TopicTimersService);
  const drain = () => t.get(OutboxWorker).drain();
  /** Fires what is due `hours` from now, as the job will then. */
  const fire = (hours: number) => timers().fireDue(new Date(Date.now() + hours * HOUR));
  const publish = (topicId: string, boardId: string | undefined, extra: Record<string, unknown> = { afterHours: 2 }, token = manager.token) =>
    t.gql(SET, { i: { topicId, kind: 'PUBLISH_TO_BOARD', boardId, ...extra } }, { token });
  const read = async (topicId: string, token = manager.token) => expectOk(await t.gql(TOPIC, { id: topicId }, { token })).topic;
  const heard = async (u: TestUser) =>
    expectOk(await t.gql(NOTIFICATIONS, {}, { token: u.token })).notifications.edges.map((e: any) => `${e.node.kind} ${e.node.topic?.id ?? '-'}`);
  const written = async () =>
    (await t.sql(`SELECT (SELECT count(*) FROM topic_timers)::int AS timers, (SELECT count(*) FROM moderation_log)::int AS log, (SELECT count(*) FROM outbox)::int AS outbox, (SELECT coalesce(sum(version), 0) FROM topics)::int AS versions`))[0];
  const logOf = (topicId: string) => t.sql(`SELECT action, actor_id, space_id, reason, before, after FROM moderation_log WHERE target_id = $1 ORDER BY id`, [topicId]);
  const word = () => `zq${randomBytes(5).toString('hex')}`;
  /** Edits a post as `u`. */
  const edit = async (u: TestUser, postId: string, body: string, reason: string) =>
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId, body, reason } }, { token: u.token }));
  /** Reads these fields of a post, as `u` reads it. */
  const postAs = (fields: string) => async (postId: string, u: TestUser) => expectOk(await t.gql(`query($id: ID!) { post(id: $id) { ${fields} } }`, { id: postId }, { token: u.token })).post;
  /** A member given MODERATE in a space (to be demoted later). */
  const moderatorOf = async (...spaceIds: string[]) => {
    const user = await makeUser(t);
    for (const spaceId of spaceIds) await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES ($1, $2, $3, $4)`, [newId(), spaceId, user.id, LEVEL_RANK.MODERATE]);
    return user;
  };
  /** Moves a topic's dates back, as if it was written days ago. */
  const age = async (topicId: string, days: number) => {
    await t.sql(`UPDATE topics SET created_at = created_at - make_interval(days => $2), last_activity_at = last_activity_at - make_interval(days => $2) WHERE id = $1`, [topicId, days]);
    await t.sql(`UPDATE posts SET created_at = created_at - make_interval(days => $2) WHERE topic_id = $1`, [topicId, days]);
  };

  it('gives an imported author’s placeholder no watch of the topic of theirs it publishes', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, publicBoard);
    await drain();
    // As the importer leaves one: a placeholder (no address, no password, no session) watching nothing.
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [author.id]);
    await t.sql(`UPDATE sessions SET revoked_at = now() WHERE user_id = $1`, [author.id]);
    await t.sql(`DELETE FROM topic_watches WHERE user_id = $1`, [author.id]);
    const news = await makeBoard(t, publicSpace);
    expectOk(await publish(topic.id, news));
    await fire(3);
    await drain();
    expect((await read(topic.id)).board).toEqual({ id: news });
    expect(await t.sql(`SELECT topic_id FROM topic_watches WHERE user_id = $1`, [author.id])).toEqual([]);
    // An author who signs in still watches what is published of theirs.
    const other = await createTopic(t, member.token, publicBoard);
    await drain();
    await t.sql(`DELETE FROM topic_watches WHERE user_id = $1 AND topic_id = $2`, [member.id, other.id]);
    expectOk(await publish(other.id, news));
    await fire(3);
    await drain();
    expect(await t.sql(`SELECT level FROM topic_watches WHERE user_id = $1 AND topic_id = $2`, [member.id, other.id])).toEqual([{ level: 'WATCHING' }]);
  });

  it('is set by a moderator of both the topic and the board, shown with its board to the topic’s moderators only, beside the status timer', async () => {
    const topic = await createTopic(t, staffer.token, staffBoard);
    const at = new Date(Date.now() + 5 * HOUR).toISOString();
    const set = expectOk(await publish(topic.id, partnersBoard, { at })).setTopicTimer;
    expect(set.timers).toEqual([{ kind: 'PUBLISH_TO_BOARD', at, board: { id: partnersBoard } }]);
    // A status timer stands beside it; setting it again replaces it (logged as replacing it).
    expectOk(await t.gql(SET, { i: { topicId: topic.id, kind: 'CLOSE', afterHours: 8 } }, { token: manager.token }));
    const again = expectOk(await publish(topic.id, publicBoard, { afterHours: 3 })).setTopicTimer;
    expect(again.timers.map((x: { kind: string; board: { id: string } | null }) => [x.kind, x.board?.id ?? null])).toEqual([['PUBLISH_TO_BOARD', publicBoard], ['CLOSE', null]]);
    expect(await t.sql(`SELECT kind, board_id, set_by FROM topic_timers WHERE topic_id = $1 ORDER BY kind`, [topic.id])).toEqual([
      { kind: 'CLOSE', board_id: null, set_by: manager.id },
      { kind: 'PUBLISH_TO_BOARD', board_id: publicBoard, set_by: manager.id },
    ]);
    // Its moderators see it; one who may not read the board it was aimed at first sees no board.
    expect((await read(topic.id)).timers).toEqual([
      { kind: 'PUBLISH_TO_BOARD', board: { id: publicBoard }, setBy: { id: manager.id } },
      { kind: 'CLOSE', board: null, setBy: { id: manager.id } },
    ]);
    // Readers who do not moderate it are not told of it at all.
    expect((await read(topic.id, staffer.token)).timers).toEqual([{ kind: 'CLOSE', board: null, setBy: null }]);
    // The log names a board of the topic's own space; one elsewhere is another space's (as moves log).
    const sameSpace = await makeBoard(t, staffSpace);
    expectOk(await publish(topic.id, sameSpace));
    expect((await read(topic.id, staffMod.token)).timers[0]).toEqual({ kind: 'PUBLISH_TO_BOARD', board: { id: sameSpace }, setBy: { id: manager.id } });
    expectOk(await publish(topic.id, partnersBoard));
    expect((await read(topic.id, staffMod.token)).timers[0]).toEqual({ kind: 'PUBLISH_TO_BOARD', board: null, setBy: { id: manager.id } });
    const log = (await logOf(topic.id)).filter((e) => e.before?.kind === 'PUBLISH_TO_BOARD' || e.after?.kind === 'PUBLISH_TO_BOARD');
    expect(log.map((e) => [e.action, e.before?.board ?? null, e.after?.board ?? null])).toEqual([
      ['topic.timer_set', null, { anotherSpace: true }],
      ['topic.timer_set', { anotherSpace: true }, { anotherSpace: true }],
      ['topic.timer_set', { anotherSpace: true }, { boardId: sameSpace }],
      ['topic.timer_set', { boardId: sameSpace }, { anotherSpace: true }],
    ]);
    // Removed as the other kinds are.
    const removed = expectOk(await t.gql(REMOVE, { i: { topicId: topic.id, kind: 'PUBLISH_TO_BOARD' } }, { token: manager.token })).removeTopicTimer;
    expect(removed.timers).toEqual([{ kind: 'CLOSE' }]);
  });

  it.each([
    ['no board', () => undefined, {}, 'BAD_USER_INPUT', 'boardId'],
    ['the topic’s own board', () => staffBoard, {}, 'BAD_USER_INPUT', 'boardId'],
    ['a board in a space the setter reads but does not moderate', () => unmoderatedBoard, {}, 'BAD_USER_INPUT', 'boardId'],
    ['an idea board', () => publicIdeas, {}, 'BAD_USER_INPUT', 'boardId'],
    ['a knowledge base', () => publicKnowledge, {}, 'BAD_USER_INPUT', 'boardId'],
    ['a board the setter may not read', () => secretBoard, {}, 'NOT_FOUND', null],
    ['a board that does not exist', () => newId(), {}, 'NOT_FOUND', null],
    ['a time past', () => publicBoard, { afterHours: undefined, at: new Date(Date.now() - 60_000).toISOString() }, 'BAD_USER_INPUT', 'at'],
    ['a board with another kind', () => publicBoard, { kind: 'CLOSE' }, 'BAD_USER_INPUT', 'boardId'],
  ])('refuses %s, writing nothing', async (_what, board, extra, code, field) => {
    const topic = await createTopic(t, staffer.token, staffBoard);
    const before = await written();
    const err = expectError(await publish(topic.id, board(), { afterHours: 2, ...extra }), code);
    expect(err.extensions.fields?.map((f) => f.field) ?? null).toEqual(field && [field]);
    expect(await written()).toEqual(before);
  });

  it('refuses an idea (it has its own way to readers), and anyone who may not moderate the topic as setTopicStatus does', async () => {
    const idea = await createTopic(t, staffer.token, staffIdeas);
    expect(expectError(await publish(idea.id, publicBoard), 'BAD_USER_INPUT').extensions.fields?.map((f) => f.field)).toEqual(['kind']);
    const topic = await createTopic(t, staffer.token, staffBoard);
    const publicOnly = await moderatorOf(publicSpace);
    const codeOf = (res: GqlResult) => res.errors?.[0]?.extensions.code;
    expect(codeOf(await publish(topic.id, publicBoard, undefined, staffer.token))).toBe('FORBIDDEN');
    expect(codeOf(await publish(topic.id, publicBoard, undefined, publicOnly.token))).toBe('NOT_FOUND');
    // A moderator of the topic who does not moderate the board's space.
    expect(expectError(await publish(topic.id, publicBoard, undefined, staffMod.token), 'BAD_USER_INPUT').extensions.fields?.map((f) => f.field)).toEqual(['boardId']);
    expect(await t.sql(`SELECT 1 FROM topic_timers`)).toEqual([]);
  });

  it('publishes when due: moved as moveTopic moves it, dated anew, announced to the board’s watchers as a new topic, re-indexed, pushed and logged', async () => {
    const tag = `launch-${randomBytes(3).toString('hex')}`;
    // Boards of its own, so their watchers hear of this topic alone.
    const [drafts, news] = [await makeBoard(t, staffSpace), await makeBoard(t, publicSpace)];
    const title = `Spring launch ${word()}`;
    const [privateWatcher, bothWatcher] = [await makeUser(t, { groups: [staffGroup] }), await makeUser(t, { groups: [staffGroup] })];
    const [boardWatcher, tagWatcher, barredWatcher, mentioned] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t)];
    for (const u of [privateWatcher, bothWatcher]) expectOk(await t.gql(WATCH_BOARD, { input: { boardId: drafts, level: 'WATCHING' } }, { token: u.token }));
    for (const u of [bothWatcher, barredWatcher]) expectOk(await t.gql(WATCH_BOARD, { input: { boardId: news, level: 'WATCHING' } }, { token: u.token }));
    expectOk(await t.gql(WATCH_BOARD, { input: { boardId: news, level: 'WATCHING_FIRST_POST' } }, { token: boardWatcher.token }));
    expectOk(await t.gql(WATCH_TAG, { input: { tag, level: 'WATCHING' } }, { token: tagWatcher.token }));
    // Barred from the public space: told of nothing there.
    await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at, space_id) VALUES (gen_random_uuid(), $1, 'SUSPEND', 'test', now() + interval '1 day', $2)`, [barredWatcher.id, publicSpace]);

    const topic = await createTopic(t, manager.token, drafts, { title, body: `Coming soon, @${mentioned.handle}`, tags: [tag] });
    const staffReply = await reply(t, staffer.token, topic.id, 'Looks good to me');
    await drain();
    const toldThen = [`WATCHED_REPLY ${topic.id}`, `NEW_TOPIC ${topic.id}`];
    expect(await heard(privateWatcher)).toEqual(toldThen);
    expect(await heard(bothWatcher)).toEqual(toldThen);
    for (const u of [boardWatcher, tagWatcher, barredWatcher, mentioned]) expect(await heard(u)).toEqual([]);
    // Written days ago, while nobody outside the staff could find it.
    await age(topic.id, 3);
    const [{ reply_at: replyAt }] = await t.sql(`SELECT created_at AS reply_at FROM posts WHERE id = $1`, [staffReply.id]);
    expect((await t.gql(SEARCH, { q: title.split(' ')[2] }, { token: member.token })).data.search.totalCount).toBe(0);
    const newer = await createTopic(t, member.token, publicBoard);
    expect(expectOk(await t.gql(FEED, {}, { token: member.token })).topics.edges[0].node.id).toBe(newer.id);

    expectOk(await publish(topic.id, news, { afterHours: 2 }));
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const sockets: Socket[] = [];
    try {
      const [publicReader, staffReader] = await Promise.all([connectLive(url, sockets, member.token), connectLive(url, sockets, staffer.token)]);
      expect(await publicReader.timeout(5000).emitWithAck('board:join', { boardId: news })).toEqual({ ok: true });
      expect(await staffReader.timeout(5000).emitWithAck('board:join', { boardId: drafts })).toEqual({ ok: true });
      const heardCreated = heardLive(publicReader, 'topic:created');
      const left = heardLive(staffReader, 'topic:moved');
      const toBoard: string[] = [];
      publicReader.onAny((event: string) => toBoard.push(event));

      expect(await fire(1)).toEqual({ fired: 0, dropped: 0, postponed: 0 });
      const [{ now: beforeFiring }] = await t.sql(`SELECT now()`);
      expect(await fire(3)).toEqual({ fired: 1, dropped: 0, postponed: 0 });
      const [{ now: afterFiring }] = await t.sql(`SELECT now()`);

      // The board's live room sees it arrive as a new topic, the private board's see it leave.
      const created = await heardCreated.first((e) => e.topic?.id === topic.id);
      expect(created).toEqual({ boardId: news, topic: expect.objectContaining({ id: topic.id, title, createdAt: expect.any(String) }), version: expect.any(Number) });
      // With the version the move left it with: no newer than its arrival, which the firing's dating raised after it.
      const gone = await left.first((e) => e.topicId === topic.id);
      expect(gone).toEqual({ topicId: topic.id, version: expect.any(Number) });
      expect(gone.version).toBeLessThanOrEqual(created.version);
      // Once every push of the firing went out, and a round trip on the socket brought whatever
      // was sent before it: the board's room heard of the topic once, as new, not as updated too.
      await t.get(LiveGateway).settled();
      expect(await publicReader.timeout(5000).emitWithAck('board:join', { boardId: news })).toEqual({ ok: true });
      expect(toBoard).toEqual(['topic:created']);
      const published = await read(topic.id);
      expect(created.topic.createdAt).toBe(published.createdAt);

      // Moved, with its posts, and dated as new: the topic and its first post, not the reply.
      expect(published).toMatchObject({ board: { id: news }, space: { id: publicSpace }, timers: [] });
      expect(Date.parse(published.createdAt)).toBeGreaterThanOrEqual(beforeFiring.getTime());
      expect(Date.parse(published.createdAt)).toBeLessThanOrEqual(afterFiring.getTime());
      expect(published.lastActivityAt).toBe(published.createdAt);
      expect(await t.sql(`SELECT number, space_id, created_at FROM posts WHERE topic_id = $1 ORDER BY number`, [topic.id])).toEqual([
        { number: 1, space_id: publicSpace, created_at: new Date(published.createdAt) },
        { number: 2, space_id: publicSpace, created_at: replyAt },
      ]);
      // At the top of the latest.
      expect(expectOk(await t.gql(FEED, {}, { token: member.token })).topics.edges[0].node.id).toBe(topic.id);

      await drain();
      // Announced as a new topic where it is now: its board's and tag's watchers, and whoever it
      // mentions who could not read it before; nobody who heard of it then again, nobody barred.
      expect(await heard(boardWatcher)).toEqual([`NEW_TOPIC ${topic.id}`]);
      expect(await heard(tagWatcher)).toEqual([`NEW_TOPIC ${topic.id}`]);
      expect(await heard(mentioned)).toEqual([`MENTION ${topic.id}`]);
      expect(await heard(privateWatcher)).toEqual(toldThen);
      expect(await heard(bothWatcher)).toEqual(toldThen);
      expect(await heard(barredWatcher)).toEqual([]);
      // Found where it is now.
      const found = expectOk(await t.gql(SEARCH, { q: title.split(' ')[2] }, { token: member.token })).search;
      expect(found.edges.map((e: any) => e.node.topic)).toEqual([{ id: topic.id, board: { id: news } }, { id: topic.id, board: { id: news } }]);

      // Logged as a timer's move by its setter, in each space its own side.
      const log = (await logOf(topic.id)).filter((e) => e.action === 'topic.move');
      expect(log.map((e) => [e.actor_id, e.space_id, e.reason, e.before, e.after])).toEqual([
        [manager.id, staffSpace, 'topic timer: PUBLISH_TO_BOARD', { boardId: drafts, spaceId: staffSpace }, { anotherSpace: true }],
        [manager.id, publicSpace, 'topic timer: PUBLISH_TO_BOARD', { anotherSpace: true }, { boardId: news, spaceId: publicSpace }],
      ]);
      // A redelivered announcement tells nobody twice.
      await t.sql(`UPDATE outbox SET processed_at = NULL WHERE type = 'topic.published'`);
      await drain();
      expect(await heard(boardWatcher)).toEqual([`NEW_TOPIC ${topic.id}`]);
    } finally {
      sockets.forEach((s) => s.disconnect());
    }
  });

  it('pushes its first post dated anew with a higher version than before: a client keeping the newest version of each post takes the new date', async () => {
    const topic = await createTopic(t, manager.token, staffBoard);
    const [{ version: before }] = await t.sql(`SELECT version FROM posts WHERE id = $1`, [topic.firstPostId]);
    expectOk(await publish(topic.id, publicBoard));
    const sockets: Socket[] = [];
    try {
      const reader = await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, staffer.token);
      expect(await reader.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      const updated = new Promise<any>((resolve) => reader.on('post:updated', (e: any) => e.post.id === topic.firstPostId && resolve(e.post)));
      expect(await fire(3)).toEqual({ fired: 1, dropped: 0, postponed: 0 });
      const pushed = await updated;
      expect(pushed.createdAt).toBe((await read(topic.id)).createdAt);
      // Its date changed: the same version would be the same state (README, *Order*), and the new date dropped.
      expect(pushed.version).toBeGreaterThan(before);
    } finally {
      sockets.forEach((s) => s.disconnect());
    }
  });

  it('publishes a topic as it reads then: its posts’ edits before are no edits to readers, their versions before for their authors and moderators alone', async () => {
    const post = postAs(`createdAt editedAt revisions { number reason createdAt bodySource editor { id } }`);
    const topic = await createTopic(t, staffer.token, staffBoard, { body: 'First draft' });
    const staffReply = await reply(t, manager.token, topic.id, 'A note on the draft');
    await edit(staffer, topic.firstPostId, 'Second draft', 'checked with legal');
    await edit(staffer, topic.firstPostId, 'The announcement', 'final wording');
    await edit(manager, staffReply.id, 'A better note', 'rephrased');
    expectOk(await publish(topic.id, publicBoard));
    expect(await fire(3)).toEqual({ fired: 1, dropped: 0, postponed: 0 });

    // A reader of the public board: the first post reads as new and unedited, its history one
    // version, the one published (dated with the post, no private reason); the reply likewise.
    const first = await post(topic.firstPostId, member);
    expect(first).toEqual({ createdAt: first.createdAt, editedAt: null, revisions: [{ number: 1, reason: null, createdAt: first.createdAt, bodySource: null, editor: { id: staffer.id } }] });
    const replied = await post(staffReply.id, member);
    expect(replied).toEqual({ createdAt: replied.createdAt, editedAt: null, revisions: [{ number: 1, reason: null, createdAt: replied.createdAt, bodySource: null, editor: { id: manager.id } }] });
    // Its author and the moderators keep the whole history, as it happened (before the post's date).
    for (const u of [staffer, manager]) {
      const full = await post(topic.firstPostId, u);
      expect(full.editedAt).toBeNull();
      expect(full.revisions.map((r: any) => [r.number, r.reason, r.bodySource])).toEqual([[1, null, 'First draft'], [2, 'checked with legal', 'Second draft'], [3, 'final wording', 'The announcement']]);
      expect(full.revisions.every((r: any) => Date.parse(r.createdAt) < Date.parse(full.createdAt))).toBe(true);
    }
    expect((await post(staffReply.id, manager)).revisions.map((r: any) => r.reason)).toEqual([null, 'rephrased']);

    // Edited once published: an edit to everyone, numbered on from the published version.
    await edit(staffer, topic.firstPostId, 'The announcement, corrected', 'a typo');
    const later = await post(topic.firstPostId, member);
    expect(Date.parse(later.editedAt)).toBeGreaterThanOrEqual(Date.parse(later.createdAt));
    expect(later.revisions.map((r: any) => [r.number, r.reason])).toEqual([[1, null], [2, 'a typo']]);
    expect((await post(topic.firstPostId, manager)).revisions.map((r: any) => r.number)).toEqual([1, 2, 3, 4]);
  });

  it('never shows readers who edited a post before its publication: the version it was published with is its author’s, though a moderator wrote it', async () => {
    const post = postAs(`editedAt revisions { number reason editor { id } }`);
    const topic = await createTopic(t, staffer.token, staffBoard, { body: 'A draft by the staffer' });
    const staffReply = await reply(t, staffer.token, topic.id, 'A reply by the staffer');
    // The staff space's moderators put the last hand to both, privately: the versions published are theirs.
    await edit(manager, topic.firstPostId, 'The announcement, as the manager worded it', 'house style');
    await edit(staffMod, staffReply.id, 'A reply, as the moderator worded it', 'tone');
    expectOk(await publish(topic.id, publicBoard));
    expect(await fire(3)).toEqual({ fired: 1, dropped: 0, postponed: 0 });

    // A reader of the public board: one version of each, by its author, unedited.
    expect(await post(topic.firstPostId, member)).toEqual({ editedAt: null, revisions: [{ number: 1, reason: null, editor: { id: staffer.id } }] });
    expect(await post(staffReply.id, member)).toEqual({ editedAt: null, revisions: [{ number: 1, reason: null, editor: { id: staffer.id } }] });
    // Its author and the moderators keep the history as it happened, with its editors.
    for (const u of [staffer, manager]) {
      expect((await post(topic.firstPostId, u)).revisions).toEqual([{ number: 1, reason: null, editor: { id: staffer.id } }, { number: 2, reason: 'house style', editor: { id: manager.id } }]);
      expect((await post(staffReply.id, u)).revisions.map((r: any) => r.editor.id)).toEqual([staffer.id, staffMod.id]);
    }
    // A moderator's edit once published is an edit to everyone, by whom it was.
    await edit(manager, topic.firstPostId, 'The announcement, corrected', 'a typo');
    expect((await post(topic.firstPostId, member)).revisions).toEqual([{ number: 1, reason: null, editor: { id: staffer.id } }, { number: 2, reason: 'a typo', editor: { id: manager.id } }]);
  });

  it('publishes a topic held for review, announcing it only once it is approved, as a held new topic is', async () => {
    const news = await makeBoard(t, publicSpace);
    const watcher = await makeUser(t);
    expectOk(await t.gql(WATCH_BOARD, { input: { boardId: news, level: 'WATCHING_FIRST_POST' } }, { token: watcher.token }));
    const held = await createTopic(t, staffer.token, staffBoard);
    await setTopicState(t, held.id, 'PENDING');
    await setPostState(t, held.firstPostId, 'PENDING');
    expectOk(await publish(held.id, news));
    expect(await fire(3)).toEqual({ fired: 1, dropped: 0, postponed: 0 });
    await drain();
    expect(await t.sql(`SELECT board_id FROM topics WHERE id = $1`, [held.id])).toEqual([{ board_id: news }]);
    expect(await heard(watcher)).toEqual([]);
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: held.firstPostId, action: 'APPROVE' } }, { token: manager.token }));
    await drain();
    expect(await heard(watcher)).toEqual([`NEW_TOPIC ${held.id}`]);
  });

  it('tells the topic’s live room of it as Topic.timers does: its board to the moderators who may read it, nothing to other readers', async () => {
    const topic = await createTopic(t, staffer.token, staffBoard);
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const sockets: Socket[] = [];
    try {
      const [mine, otherMod, reader] = await Promise.all([connectLive(url, sockets, manager.token), connectLive(url, sockets, staffMod.token), connectLive(url, sockets, staffer.token)]);
      for (const s of [mine, otherMod, reader]) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      const told: unknown[] = [];
      reader.on('topic:timers', (p: unknown) => told.push(p));
      const [setterHears, otherModHears] = [heardLive(mine, 'topic:timers'), heardLive(otherMod, 'topic:timers')];
      expectOk(await publish(topic.id, partnersBoard));
      const published = (e: { topicId: string; timers: Array<{ kind: string }> }) => e.topicId === topic.id && e.timers.some((x) => x.kind === 'PUBLISH_TO_BOARD');
      const [toSetter, toOtherMod] = await Promise.all([setterHears.first(published), otherModHears.first(published)]);
      const timer = { kind: 'PUBLISH_TO_BOARD', at: expect.any(String), afterHours: null, setById: manager.id };
      // The moderators' version: one change, none a status timer's (live-order e2e).
      expect(toSetter).toEqual({ topicId: topic.id, timers: [{ ...timer, boardId: partnersBoard }], version: 1 });
      expect(toOtherMod).toEqual({ topicId: topic.id, timers: [{ ...timer, boardId: null }], version: 1 });
      // A status timer set next reaches the reader too, without the publication.
      const next = heardLive(reader, 'topic:timers');
      expectOk(await t.gql(SET, { i: { topicId: topic.id, kind: 'CLOSE', afterHours: 9 } }, { token: manager.token }));
      expect((await next.first((e) => e.topicId === topic.id)).timers.map((x: { kind: string }) => x.kind)).toEqual(['CLOSE']);
      expect(told).toHaveLength(1);
    } finally {
      sockets.forEach((s) => s.disconnect());
    }
  });

  it('is dropped when its setter may no longer moderate either side, or the topic is already there; until then it reads as gone', async () => {
    const exPublic = await moderatorOf(staffSpace, publicSpace);
    const exStaff = await moderatorOf(staffSpace, publicSpace);
    const demotedThere = await createTopic(t, staffer.token, staffBoard);
    const demotedHere = await createTopic(t, staffer.token, staffBoard);
    const movedMeanwhile = await createTopic(t, staffer.token, staffBoard);
    expectOk(await publish(demotedThere.id, publicBoard, undefined, exPublic.token));
    expectOk(await publish(demotedHere.id, publicBoard, undefined, exStaff.token));
    expectOk(await publish(movedMeanwhile.id, publicBoard));
    await t.sql(`DELETE FROM space_grants WHERE user_id = $1 AND space_id = $2`, [exPublic.id, publicSpace]);
    await t.sql(`DELETE FROM space_grants WHERE user_id = $1 AND space_id = $2`, [exStaff.id, staffSpace]);
    expectOk(await t.gql(`mutation($i: MoveTopicInput!) { moveTopic(input: $i) { id } }`, { i: { topicId: movedMeanwhile.id, boardId: publicBoard } }, { token: manager.token }));
    for (const topic of [demotedThere, demotedHere, movedMeanwhile]) expect((await read(topic.id)).timers).toEqual([]);
    const before = await written();
    expect(await fire(3)).toEqual({ fired: 0, dropped: 3, postponed: 0 });
    // Nothing but the removals (and their rooms' news of them).
    expect(await written()).toEqual({ ...before, timers: before.timers - 3, outbox: before.outbox + 3 });
    expect(await t.sql(`SELECT board_id FROM topics WHERE id = ANY($1::uuid[])`, [[demotedThere.id, demotedHere.id]])).toEqual([{ board_id: staffBoard }, { board_id: staffBoard }]);
  });

  it('fires on the claiming transaction’s one connection, in statements that do not grow with the topic’s posts', async () => {
    const short = await createTopic(t, staffer.token, staffBoard);
    const long = await createTopic(t, staffer.token, staffBoard);
    for (let i = 0; i < 8; i++) await reply(t, staffer.token, long.id, `reply ${i}`);
    const cost = async (topicId: string) => {
      expectOk(await publish(topicId, publicBoard));
      // A statement run on the pool while the timer's transaction is open takes a second connection.
      let count = 0;
      const outside = await poolStatementsOf(t, async () => {
        ({ count } = await t.countStatements(async () => expect(await fire(3)).toEqual({ fired: 1, dropped: 0, postponed: 0 })));
      });
      expect(outside).toEqual([]);
      return count;
    };
    expect(await cost(long.id)).toBe(await cost(short.id));
    expect(await t.sql(`SELECT count(*)::int AS n FROM posts WHERE topic_id = $1 AND space_id = $2`, [long.id, publicSpace])).toEqual([{ n: 9 }]);
  });
});
