import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { redoMigration } from '../support/migrations';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { ReadMarksPastHeldReplies1765362600000 } from '../../migrations/1765362600000-read-marks-past-held-replies';

const POSTS = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $near: Int) {
  topic(id: $id) { posts(first: $first, after: $after, last: $last, before: $before, near: $near) {
    edges { cursor node { number } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;

interface Page {
  numbers: number[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/**
 * A long topic read as Discourse readers read one: opened at a post (a notification, a link,
 * where they left off), scrolled back towards its start, or opened at its end.
 */
describe('paging a topic: opened at a post, backwards, and where the reader left off', () => {
  let t: TestApp;
  let author: TestUser;
  let reader: TestUser;
  let mod: TestUser;
  let boardId: string;
  let topicId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    reader = await makeUser(t);
    mod = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    boardId = await makeBoard(t, space.id);
    topicId = (await createTopic(t, author.token, boardId)).id;
    const replies = [];
    for (let i = 2; i <= 30; i++) replies.push(await reply(t, author.token, topicId, `Reply number ${i}`));
    // Post 10 waits for approval: moderators are shown it, others are not.
    await setPostState(t, replies.find((r) => r.number === 10)!.id, 'PENDING');
  });
  afterAll(() => t.close());

  const page = async (args: Record<string, unknown>, token = reader.token): Promise<Page> => {
    const { posts } = expectOk(await t.gql(POSTS, { id: topicId, ...args }, { token })).topic;
    return { numbers: posts.edges.map((e: { node: { number: number } }) => e.node.number), ...posts.pageInfo };
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('opens at a post number, and leads back from there', async () => {
    const opened = await page({ near: 12, first: 5 });
    expect(opened).toMatchObject({ numbers: range(12, 16), hasPreviousPage: true, hasNextPage: true });
    const back = await page({ last: 5, before: opened.startCursor });
    expect(back).toMatchObject({ numbers: [6, 7, 8, 9, 11], hasPreviousPage: true, hasNextPage: true });
    const start = await page({ last: 5, before: back.startCursor });
    expect(start).toMatchObject({ numbers: range(1, 5), hasPreviousPage: false, hasNextPage: true });
    // And forwards again from where it opened, with the cursors any page hands out.
    expect(await page({ first: 3, after: opened.endCursor })).toMatchObject({ numbers: [17, 18, 19], hasPreviousPage: true, hasNextPage: true });
  });

  it('opens at the next post shown when the one asked for is not, and as moderators see it', async () => {
    expect((await page({ near: 10, first: 3 })).numbers).toEqual([11, 12, 13]);
    expect((await page({ near: 10, first: 3 }, mod.token)).numbers).toEqual([10, 11, 12]);
    expect((await page({ last: 3, before: (await page({ near: 11, first: 1 })).startCursor }, mod.token)).numbers).toEqual([8, 9, 10]);
  });

  it('opens at the end: `last` alone, or a number past the last post', async () => {
    expect(await page({ last: 4 })).toMatchObject({ numbers: range(27, 30), hasPreviousPage: true, hasNextPage: false });
    expect(await page({ near: 500, first: 4 })).toMatchObject({ numbers: range(27, 30), hasPreviousPage: true, hasNextPage: false });
    expect(await page({ near: 1, first: 2 })).toMatchObject({ numbers: [1, 2], hasPreviousPage: false, hasNextPage: true });
    expect(await page({ last: 100 })).toMatchObject({ numbers: range(1, 30).filter((n) => n !== 10), hasPreviousPage: false, hasNextPage: false });
  });

  it('says whether a page read forwards has posts ahead of it', async () => {
    const first = await page({ first: 5 });
    expect(first).toMatchObject({ numbers: range(1, 5), hasPreviousPage: false, startCursor: expect.any(String) });
    expect(await page({ first: 5, after: first.endCursor })).toMatchObject({ numbers: [6, 7, 8, 9, 11], hasPreviousPage: true });
  });

  it('refuses arguments that pull two ways, and cursors that are not one', async () => {
    const first = await page({ first: 2 });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ first: 2, last: 2 }, 'last'],
      [{ after: first.endCursor, before: first.endCursor }, 'before'],
      [{ near: 3, after: first.endCursor }, 'after'],
      [{ near: 3, last: 2 }, 'last'],
      [{ near: 3, before: first.endCursor }, 'before'],
      [{ after: first.endCursor, last: 2 }, 'last'],
      [{ first: 2, before: first.endCursor }, 'before'],
      [{ last: 2, before: 'bm90IGEgY3Vyc29y' }, 'before'],
      [{ last: 0 }, 'last'],
      [{ last: 101 }, 'last'],
      [{ near: 0 }, 'near'],
    ];
    for (const [args, field] of cases) {
      const err = expectError(await t.gql(POSTS, { id: topicId, ...args }, { token: reader.token }), 'BAD_USER_INPUT');
      expect([JSON.stringify(args), err.extensions.fields?.map((f) => f.field)]).toEqual([JSON.stringify(args), [field]]);
    }
  });

  it('is opened or read backwards one topic at a time, not under a list, where reading forwards still batches', async () => {
    const LISTED = `query($b: ID!) { board(id: $b) { topics(first: 5) { edges { node { posts(last: 1) { edges { node { number } } } } } } } }`;
    const err = expectError(await t.gql(LISTED, { b: boardId }, { token: reader.token }), 'BAD_USER_INPUT');
    expect(err.extensions.fields).toEqual([{ field: 'posts', message: expect.stringContaining('one topic at a time') }]);
    const forwards = expectOk(await t.gql(LISTED.replace('posts(last: 1)', 'posts(first: 1)'), { b: boardId }, { token: reader.token }));
    expect(forwards.board.topics.edges[0].node.posts.edges).toEqual([{ node: { number: 1 } }]);
  });

  it('reads a page opened at a post in one statement, as the first page is', async () => {
    const ask = (args: string) => t.countStatements(() => t.gql(`query($id: ID!) { topic(id: $id) { posts(${args}) { edges { node { number author { handle } myReactions } } pageInfo { hasPreviousPage } } } }`, { id: topicId }, { token: reader.token }));
    const plain = await ask('first: 10');
    expect((await ask('near: 15, first: 10')).count).toBe(plain.count);
    expect((await ask('last: 10')).count).toBe(plain.count);
  });

  it('tells where the reader left off, with the unread count in the same statement', async () => {
    const newcomer = await makeUser(t);
    const READING = `query($id: ID!) { topic(id: $id) { unreadCount lastReadNumber } }`;
    expect(expectOk(await t.gql(READING, { id: topicId }, { token: newcomer.token })).topic).toEqual({ unreadCount: 29, lastReadNumber: null });
    expectOk(await t.gql(`mutation($i: MarkReadInput!) { markRead(input: $i) { id } }`, { i: { topicId, postNumber: 18 } }, { token: newcomer.token }));
    expect(expectOk(await t.gql(READING, { id: topicId }, { token: newcomer.token })).topic).toEqual({ unreadCount: 12, lastReadNumber: 18 });
    expect(expectOk(await t.gql(READING, { id: topicId })).topic).toEqual({ unreadCount: null, lastReadNumber: null });
    const both = await t.countStatements(() => t.gql(READING, { id: topicId }, { token: newcomer.token }));
    const one = await t.countStatements(() => t.gql(`query($id: ID!) { topic(id: $id) { unreadCount } }`, { id: topicId }, { token: newcomer.token }));
    expect(both.count).toBe(one.count);
  });

  it('keeps a read mark past the end to the last post the reader is shown: a held reply at the end is neither told of nor passed', async () => {
    const own = (await createTopic(t, author.token, boardId)).id;
    await reply(t, author.token, own, 'Shown to all');
    const held = await reply(t, author.token, own, 'Waiting for approval');
    await setPostState(t, held.id, 'PENDING');
    const newcomer = await makeUser(t);
    const MARK = `mutation($i: MarkReadInput!) { markRead(input: $i) { lastReadNumber unreadCount } }`;
    const markEnd = async (token: string) => expectOk(await t.gql(MARK, { i: { topicId: own, postNumber: 500 } }, { token })).markRead;
    // Before: the mark stopped at the topic's last number (3), telling a reader a post they are not shown ends the topic.
    expect(await markEnd(newcomer.token)).toEqual({ lastReadNumber: 2, unreadCount: 0 });
    // Its author and the moderators are shown it: their mark reaches it.
    expect(await markEnd(mod.token)).toEqual({ lastReadNumber: 3, unreadCount: 0 });
    expect((await markEnd(author.token)).lastReadNumber).toBe(3);
    // Approved, it is unread for the reader who had marked the end (before, the mark had passed it).
    await setPostState(t, held.id, 'VISIBLE');
    expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { unreadCount lastReadNumber } }`, { id: own }, { token: newcomer.token })).topic).toEqual({ unreadCount: 1, lastReadNumber: 2 });
    // The limit is read in markRead's own statement: marking a topic takes 7 statements, the mark
    // one of them, which holds the account and the topic itself (a movePosts under way is waited
    // for, move-posts e2e) and reads the topic's last number there (before: 8, a statement of its
    // own holding them first).
    const another = await makeUser(t);
    const mark = await t.countStatements(() => t.gql(MARK, { i: { topicId: own, postNumber: 500 } }, { token: another.token }));
    expect(mark.count).toBe(7);
    // In its transaction: the mark's one statement, then the news it passed marked read (NotificationsHandler).
    const inTx = mark.statements.slice(mark.statements.indexOf('START TRANSACTION') + 1, mark.statements.indexOf('COMMIT'));
    expect(inTx).toHaveLength(2);
    expect(inTx[0]).toMatch(/FOR SHARE[\s\S]*FOR KEY SHARE[\s\S]*INSERT INTO topic_reads/);
  });

  it('keeps a read mark past the end past hidden and deleted posts, which readers are shown as placeholders, but not past a reply rejected while it waited', async () => {
    const own = (await createTopic(t, author.token, boardId)).id;
    await reply(t, author.token, own, 'Shown to all');
    const hidden = await reply(t, author.token, own, 'Hidden by a moderator');
    const deleted = await reply(t, author.token, own, 'Deleted by its author');
    const rejected = await reply(t, author.token, own, 'Rejected while it waited');
    await setPostState(t, hidden.id, 'HIDDEN');
    await t.sql(`UPDATE posts SET state = 'DELETED', deleted_from = $2 WHERE id = $1`, [deleted.id, 'VISIBLE']);
    await t.sql(`UPDATE posts SET state = 'DELETED', deleted_from = $2 WHERE id = $1`, [rejected.id, 'PENDING']);
    const MARK = `mutation($i: MarkReadInput!) { markRead(input: $i) { lastReadNumber } }`;
    const markEnd = async (u: TestUser) => expectOk(await t.gql(MARK, { i: { topicId: own, postNumber: 500 } }, { token: u.token })).markRead.lastReadNumber;
    expect(await markEnd(await makeUser(t))).toBe(4);
    expect(await markEnd(mod)).toBe(5);
  });

  it('sets marks stored past a held reply back to the last post their reader is shown, and no other (migration 1765362600000)', async () => {
    const own = (await createTopic(t, author.token, boardId)).id;
    await reply(t, author.token, own, 'Shown to all');
    const other = await makeUser(t);
    const held = await reply(t, other.token, own, 'Waiting for approval');
    const rejected = await reply(t, author.token, own, 'Rejected while it waited');
    await setPostState(t, held.id, 'PENDING');
    await t.sql(`UPDATE posts SET state = 'DELETED', deleted_from = 'PENDING' WHERE id = $1`, [rejected.id]);
    const [newcomer, early] = [await makeUser(t), await makeUser(t)];
    // As releases before stored them: marks at the topic's last number, past what some readers are shown.
    const marks: Array<[TestUser, number]> = [[newcomer, 4], [other, 4], [author, 4], [early, 2], [mod, 4]];
    for (const [u, n] of marks) {
      await t.sql(`INSERT INTO topic_reads (user_id, topic_id, last_read_number) VALUES ($1, $2, $3) ON CONFLICT (user_id, topic_id) DO UPDATE SET last_read_number = $3`, [u.id, own, n]);
    }
    const stored = async () => (await t.sql(`SELECT user_id, last_read_number FROM topic_reads WHERE topic_id = $1`, [own])).map((r: any) => [r.user_id, r.last_read_number]).sort();
    await redoMigration(t, new ReadMarksPastHeldReplies1765362600000());
    // The newcomer is shown posts 1 and 2; the held reply's author theirs too (3); the author their rejected one (4);
    // a moderator is set back as a reader is.
    const expected = [[newcomer.id, 2], [other.id, 3], [author.id, 4], [early.id, 2], [mod.id, 2]].sort();
    expect(await stored()).toEqual(expected);
    const READ = `query($id: ID!) { topic(id: $id) { unreadCount lastReadNumber } }`;
    expect(expectOk(await t.gql(READ, { id: own }, { token: newcomer.token })).topic).toEqual({ unreadCount: 0, lastReadNumber: 2 });
    // Approved, the held reply is news to the newcomer, not read already.
    await setPostState(t, held.id, 'VISIBLE');
    expect(expectOk(await t.gql(READ, { id: own }, { token: newcomer.token })).topic).toEqual({ unreadCount: 1, lastReadNumber: 2 });
    // Again: nothing changes (the reply shown now is where the marks were set back past it, and stays unread).
    await redoMigration(t, new ReadMarksPastHeldReplies1765362600000());
    expect(await stored()).toEqual(expected);
  });
});
