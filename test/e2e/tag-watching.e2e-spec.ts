import { randomBytes } from 'node:crypto';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { TAG_WATCHES_MAX } from '../../libs/notifications/src/notifications';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

const LIST = `{ notifications(first: 50) { edges { node { kind topic { id } } } } }`;
const WATCH_TAG = `mutation($input: WatchTagInput!) { watchTag(input: $input) { tag level } }`;
const WATCH_BOARD = `mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id viewerWatchLevel } }`;
const WATCH_TOPIC = `mutation($input: WatchInput!) { watchTopic(input: $input) { id viewerWatchLevel } }`;

describe('watching tags, and watching first posts', () => {
  let t: TestApp;
  let board: string;
  let author: TestUser;

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(() => t.close());

  const drain = () => t.get(OutboxWorker).drain();
  /** Tags are site-wide: each test uses its own. */
  const tag = () => `tag-${randomBytes(4).toString('hex')}`;
  const heard = async (u: TestUser) =>
    expectOk(await t.gql(LIST, {}, { token: u.token })).notifications.edges.map((e: any) => `${e.node.kind} ${e.node.topic?.id ?? '-'}`);
  const watchTag = async (u: TestUser, name: string, level: string) => expectOk(await t.gql(WATCH_TAG, { input: { tag: name, level } }, { token: u.token })).watchTag;
  const watchBoard = async (u: TestUser, boardId: string, level: string) => expectOk(await t.gql(WATCH_BOARD, { input: { boardId, level } }, { token: u.token })).watchBoard;

  it('tells a tag’s watchers of its new topics and their replies, wherever the tag is used', async () => {
    const watched = tag();
    const follower = await makeUser(t);
    expect(await watchTag(follower, ` ${watched.toUpperCase()} `, 'WATCHING')).toEqual({ tag: watched, level: 'WATCHING' });
    const other = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const tagged = await createTopic(t, author.token, board, { tags: ['misc', watched] });
    const elsewhere = await createTopic(t, author.token, other, { tags: [watched] });
    const untagged = await createTopic(t, author.token, board, { tags: ['misc'] });
    await drain();
    await reply(t, (await makeUser(t)).token, tagged.id, 'a reply to the tagged topic');
    await reply(t, (await makeUser(t)).token, untagged.id, 'a reply to the other one');
    await drain();
    expect(await heard(follower)).toEqual([`WATCHED_REPLY ${tagged.id}`, `NEW_TOPIC ${elsewhere.id}`, `NEW_TOPIC ${tagged.id}`]);
    const level = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { viewerWatchLevel } }`, { id: tagged.id }, { token: follower.token })).topic.viewerWatchLevel;
    expect(level).toBe('WATCHING');
  });

  it('WATCHING_FIRST_POST on a board or a tag tells of new topics, not of their replies', async () => {
    const own = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const firstPosts = tag();
    const [boardFollower, tagFollower] = [await makeUser(t), await makeUser(t)];
    expect(await watchBoard(boardFollower, own, 'WATCHING_FIRST_POST')).toMatchObject({ id: own, viewerWatchLevel: 'WATCHING_FIRST_POST' });
    await watchTag(tagFollower, firstPosts, 'WATCHING_FIRST_POST');
    const topic = await createTopic(t, author.token, own, { tags: [firstPosts] });
    await drain();
    await reply(t, (await makeUser(t)).token, topic.id, 'a reply nobody following first posts hears of');
    await drain();
    expect(await heard(boardFollower)).toEqual([`NEW_TOPIC ${topic.id}`]);
    expect(await heard(tagFollower)).toEqual([`NEW_TOPIC ${topic.id}`]);
    // A topic has a single first post: the level is for boards and tags.
    const refused = expectError(await t.gql(WATCH_TOPIC, { input: { topicId: topic.id, level: 'WATCHING_FIRST_POST' } }, { token: tagFollower.token }), 'BAD_USER_INPUT');
    expect(JSON.stringify(refused)).toContain('level');
    expect(await t.sql(`SELECT 1 FROM topic_watches WHERE user_id = $1 AND topic_id = $2`, [tagFollower.id, topic.id])).toHaveLength(0);
  });

  it('a muted tag silences its topics whatever board or tag is watched, until the topic itself is watched', async () => {
    const own = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const [muted, watched] = [tag(), tag()];
    const member = await makeUser(t);
    await watchBoard(member, own, 'WATCHING');
    await watchTag(member, watched, 'WATCHING');
    await watchTag(member, muted, 'MUTED');
    const topic = await createTopic(t, author.token, own, { tags: [watched, muted], body: `@${member.handle} have a look` });
    await drain();
    expect(await heard(member)).toEqual([]); // not even the mention
    const asked = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { viewerWatchLevel } }`, { id: topic.id }, { token: member.token })).topic.viewerWatchLevel;
    expect(asked).toBe('MUTED');
    // The topic's own level comes first.
    expect(expectOk(await t.gql(WATCH_TOPIC, { input: { topicId: topic.id, level: 'WATCHING' } }, { token: member.token })).watchTopic.viewerWatchLevel).toBe('WATCHING');
    await reply(t, (await makeUser(t)).token, topic.id, 'heard now');
    await drain();
    expect(await heard(member)).toEqual([`WATCHED_REPLY ${topic.id}`]);
    // Unmuted (NORMAL removes the tag), the board's WATCHING applies again to its other topics.
    expect(await watchTag(member, muted, 'NORMAL')).toEqual({ tag: muted, level: 'NORMAL' });
    const next = await createTopic(t, author.token, own, { tags: [muted] });
    await drain();
    expect(await heard(member)).toEqual([`NEW_TOPIC ${next.id}`, `WATCHED_REPLY ${topic.id}`]);
    const list = expectOk(await t.gql(`{ tagWatches { tag level } }`, {}, { token: member.token })).tagWatches;
    expect(list).toEqual([{ tag: watched, level: 'WATCHING' }]);
  });

  it('a tag watcher who replies keeps hearing every reply (their reply does not turn the topic down to TRACKING)', async () => {
    const watched = tag();
    const follower = await makeUser(t);
    await watchTag(follower, watched, 'WATCHING');
    const topic = await createTopic(t, author.token, board, { tags: [watched] });
    await drain();
    await reply(t, follower.token, topic.id, 'my own reply');
    await drain();
    await reply(t, (await makeUser(t)).token, topic.id, 'and another');
    await drain();
    expect(await heard(follower)).toEqual([`WATCHED_REPLY ${topic.id}`, `NEW_TOPIC ${topic.id}`]);
    expect(await t.sql(`SELECT 1 FROM topic_watches WHERE user_id = $1 AND topic_id = $2`, [follower.id, topic.id])).toHaveLength(0);
  });

  it('never tells a tag’s watcher of a topic they may not read', async () => {
    const watched = tag();
    const outsider = await makeUser(t);
    await watchTag(outsider, watched, 'WATCHING');
    const insider = await makeUser(t);
    const restricted = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ userId: insider.id, level: 'PARTICIPATE' }])).id);
    const hidden = await createTopic(t, insider.token, restricted, { tags: [watched] });
    await drain();
    await reply(t, insider.token, hidden.id, 'still inside');
    await drain();
    expect(await heard(outsider)).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM notifications WHERE user_id = $1`, [outsider.id])).toHaveLength(0);
  });

  it('validates tag watches: the tag, the level, the caller, and at most TAG_WATCHES_MAX tags', async () => {
    const member = await makeUser(t);
    for (const bad of ['', 'Not a tag!', 'x'.repeat(31), '-leading']) {
      expectError(await t.gql(WATCH_TAG, { input: { tag: bad, level: 'WATCHING' } }, { token: member.token }), 'BAD_USER_INPUT');
    }
    expectError(await t.gql(WATCH_TAG, { input: { tag: 'fine', level: 'LOUD' } }, { token: member.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(WATCH_TAG, { input: { tag: 'fine', level: 'WATCHING' } }), 'UNAUTHENTICATED');
    expectError(await t.gql(`{ tagWatches { tag } }`), 'UNAUTHENTICATED');
    expect(await t.sql(`SELECT 1 FROM tag_watches WHERE user_id = $1`, [member.id])).toHaveLength(0);
    await t.sql(`INSERT INTO tag_watches (user_id, tag, level) SELECT $1, 'cap-' || n, 'WATCHING' FROM generate_series(1, $2::int) n`, [member.id, TAG_WATCHES_MAX]);
    expectError(await t.gql(WATCH_TAG, { input: { tag: 'one-too-many', level: 'MUTED' } }, { token: member.token }), 'BAD_USER_INPUT');
    // Changing a tag already set is not a new one; removing one makes room.
    expect(await watchTag(member, 'cap-1', 'MUTED')).toEqual({ tag: 'cap-1', level: 'MUTED' });
    await watchTag(member, 'cap-2', 'NORMAL');
    expect(await watchTag(member, 'one-too-many', 'MUTED')).toEqual({ tag: 'one-too-many', level: 'MUTED' });
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM tag_watches WHERE user_id = $1`, [member.id]);
    expect(n).toBe(TAG_WATCHES_MAX);
  });

  it('reads levels afresh after a change in the same request', async () => {
    const own = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    await createTopic(t, author.token, own);
    const member = await makeUser(t);
    const both = `mutation($b: ID!) {
      a: watchBoard(input: { boardId: $b, level: MUTED }) { topics(first: 5) { edges { node { viewerWatchLevel } } } }
      b: watchBoard(input: { boardId: $b, level: WATCHING }) { viewerWatchLevel topics(first: 5) { edges { node { viewerWatchLevel } } } } }`;
    const res = expectOk(await t.gql(both, { b: own }, { token: member.token }));
    expect(res.a.topics.edges.map((e: any) => e.node.viewerWatchLevel)).toEqual(['MUTED']);
    expect(res.b.viewerWatchLevel).toBe('WATCHING');
    expect(res.b.topics.edges.map((e: any) => e.node.viewerWatchLevel)).toEqual(['WATCHING']);
  });

  it('reads the board and topic levels of a whole list in a fixed number of statements', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const member = await makeUser(t);
    const watched = tag();
    await watchTag(member, watched, 'WATCHING_FIRST_POST');
    const count = async (n: number) => {
      const own = await makeBoard(t, space.id);
      await watchBoard(member, own, 'TRACKING');
      for (let i = 0; i < n; i++) await createTopic(t, author.token, own, { tags: [watched] });
      let result: GqlResult | undefined;
      const { count: statements } = await t.countStatements(async () => {
        result = await t.gql(`query($id: ID!) { board(id: $id) { viewerWatchLevel topics(first: 50) { edges { node { viewerWatchLevel } } } } }`, { id: own }, { token: member.token });
      });
      const board = expectOk(result!).board;
      expect(board.viewerWatchLevel).toBe('TRACKING');
      expect(board.topics.edges.map((e: any) => e.node.viewerWatchLevel)).toEqual(Array(n).fill('WATCHING_FIRST_POST'));
      return statements;
    };
    expect(await count(8)).toBe(await count(2));
  });
});
