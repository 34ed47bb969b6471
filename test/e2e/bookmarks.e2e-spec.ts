import { encodeCursor } from '../../libs/core/src/graphql/pagination';
import { MAX_BOOKMARKS } from '../../libs/forum/src/bookmarks/bookmarks.service';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { bootTestApp, expectError, expectNotFound, expectOk, TestApp } from '../support/test-app';

const BOOKMARK = `mutation($input: BookmarkPostInput!) { bookmarkPost(input: $input) { id bookmarked } }`;
const REMOVE = `mutation($id: ID!) { removeBookmark(postId: $id) }`;
const LIST = `query($first: Int, $after: String) { bookmarks(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { cursor note bookmarkedAt node { id number bookmarked topic { id } } } } }`;
const POST = `query($id: ID!) { post(id: $id) { id bookmarked } }`;
const TOPIC_PAGE = (withBookmarked: boolean) => `query($id: ID!) { topic(id: $id) { posts(first: 50) {
  edges { node { id author { handle } reactions { kind count } myReactions ${withBookmarked ? 'bookmarked' : ''} } } } } }`;

/**
 * Bookmarks: private, of what the member may read, listed only while they may read it.
 */
describe('bookmarks', () => {
  let t: TestApp;
  let author: TestUser;
  let member: TestUser;
  let admin: TestUser;
  let spaceId: string;
  let boardId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    member = await makeUser(t);
    admin = await makeUser(t, { role: 'ADMIN' });
    spaceId = (await makeSpace(t, 'PUBLIC')).id;
    boardId = await makeBoard(t, spaceId);
  });
  afterAll(() => t.close());

  const bookmark = (u: TestUser, postId: string, note?: string | null) =>
    t.gql(BOOKMARK, { input: note === undefined ? { postId } : { postId, note } }, { token: u.token });
  const remove = (u: TestUser, id: string) => t.gql(REMOVE, { id }, { token: u.token });
  const list = async (u: TestUser, first = 100, after?: string) => expectOk(await t.gql(LIST, { first, after }, { token: u.token })).bookmarks;
  const listed = async (u: TestUser) => (await list(u)).edges.map((e: any) => e.node.id as string);
  const stored = async (u: TestUser) =>
    (await t.sql(`SELECT post_id, note FROM post_bookmarks WHERE user_id = $1 ORDER BY created_at, post_id`, [u.id])) as Array<{ post_id: string; note: string | null }>;
  const allRows = async () => (await t.sql(`SELECT count(*)::int AS n FROM post_bookmarks`))[0].n as number;

  describe('bookmarking', () => {
    it('bookmarks a post with a note, changes the note in place, and removes the bookmark', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'worth coming back to');
      expect(expectOk(await t.gql(POST, { id: r.id }, { token: u.token })).post.bookmarked).toBe(false);

      expect(expectOk(await bookmark(u, r.id, '  read after the meeting ')).bookmarkPost).toEqual({ id: r.id, bookmarked: true });
      let page = await list(u);
      expect(page.totalCount).toBe(1);
      expect(page.edges[0]).toMatchObject({ note: 'read after the meeting', node: { id: r.id, number: 2, bookmarked: true, topic: { id: topic.id } } });
      const at = page.edges[0].bookmarkedAt;

      // Again, with another note: the same bookmark, the same time, the new note.
      expectOk(await bookmark(u, r.id, 'second thoughts'));
      page = await list(u);
      expect(page.edges.map((e: any) => [e.node.id, e.note, e.bookmarkedAt])).toEqual([[r.id, 'second thoughts', at]]);
      // Left out, the note stays; null or blank removes it.
      expectOk(await bookmark(u, r.id));
      expect(await stored(u)).toEqual([{ post_id: r.id, note: 'second thoughts' }]);
      expectOk(await bookmark(u, r.id, ' \n '));
      expect(await stored(u)).toEqual([{ post_id: r.id, note: null }]);
      expectOk(await bookmark(u, r.id, 'again'));
      expectOk(await bookmark(u, r.id, null));
      expect(await stored(u)).toEqual([{ post_id: r.id, note: null }]);

      // A topic is bookmarked through its first post.
      expectOk(await bookmark(u, topic.firstPostId));
      expect((await list(u)).edges.map((e: any) => [e.node.number, e.node.topic.id])).toEqual([[1, topic.id], [2, topic.id]]);

      expect(expectOk(await remove(u, r.id)).removeBookmark).toBe(true);
      expect(expectOk(await remove(u, r.id)).removeBookmark).toBe(false);
      expect(expectOk(await t.gql(POST, { id: r.id }, { token: u.token })).post.bookmarked).toBe(false);
      expect(await listed(u)).toEqual([topic.firstPostId]);
      expect((await list(u)).totalCount).toBe(1);
    });

    it('is idempotent: bookmarking again keeps one bookmark, and the same note again writes nothing', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      expectOk(await bookmark(u, topic.firstPostId, 'keep'));
      expectOk(await bookmark(u, topic.firstPostId, 'keep'));
      const same = await t.countStatements(async () => expect(expectOk(await bookmark(u, topic.firstPostId, 'keep')).bookmarkPost.bookmarked).toBe(true));
      expect(same.statements.join('\n')).not.toMatch(/INSERT INTO post_bookmarks/);
      expect(await stored(u)).toEqual([{ post_id: topic.firstPostId, note: 'keep' }]);
    });

    it('is for signed-in members only', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const before = await allRows();
      expectError(await t.gql(BOOKMARK, { input: { postId: topic.firstPostId } }), 'UNAUTHENTICATED');
      expectError(await t.gql(REMOVE, { id: topic.firstPostId }), 'UNAUTHENTICATED');
      expectError(await t.gql(LIST, {}), 'UNAUTHENTICATED');
      expect(expectOk(await t.gql(POST, { id: topic.firstPostId })).post.bookmarked).toBe(false);
      expect(await allRows()).toBe(before);
    });

    it('answers NOT_FOUND for posts the member may not read, as for missing ones, and writes nothing', async () => {
      const staff = await makeGroup(t);
      const insider = await makeUser(t, { groups: [staff] });
      const restricted = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }]);
      const secret = await createTopic(t, insider.token, await makeBoard(t, restricted.id));
      const topic = await createTopic(t, author.token, boardId);
      const hidden = (await reply(t, author.token, topic.id, 'to be hidden')).id;
      await setPostState(t, hidden, 'HIDDEN');
      const deleted = (await reply(t, author.token, topic.id, 'to be deleted')).id;
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted }, { token: author.token }));
      const u = await makeUser(t);
      const before = await allRows();
      for (const id of [secret.firstPostId, hidden, deleted, '01a207d7-22e1-733a-9303-5a2047c59e37']) {
        expectNotFound(await bookmark(u, id, 'peek'), 'bookmarkPost');
        expectError(await remove(u, id), 'NOT_FOUND');
      }
      expect(await allRows()).toBe(before);
      // Those who may read them may keep them: the insider their space's post, the author their own hidden post.
      expectOk(await bookmark(insider, secret.firstPostId));
      expect(expectOk(await bookmark(author, hidden)).bookmarkPost.bookmarked).toBe(true);
      expect(await listed(author)).toEqual([hidden]);
    });

    it('lets a silenced member bookmark: it is private', async () => {
      const silenced = await makeUser(t);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [silenced.id]);
      const topic = await createTopic(t, author.token, boardId);
      expectError(await t.gql(`mutation($i: ReactionInput!) { react(input: $i) { id } }`, { i: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: silenced.token }), 'FORBIDDEN');
      expect(expectOk(await bookmark(silenced, topic.firstPostId, 'for later')).bookmarkPost.bookmarked).toBe(true);
      expect(expectOk(await remove(silenced, topic.firstPostId)).removeBookmark).toBe(true);
    });

    it.each([
      [{ postId: 'not-a-uuid' }, 'postId'],
      [{ note: 'x'.repeat(501) }, 'note'],
      // 600 characters as PostgreSQL counts them (each heart carries U+FE0F): refused, not an internal error.
      [{ note: '\u2764\ufe0f'.repeat(300) }, 'note'],
    ])('refuses bad input %# with BAD_USER_INPUT and writes nothing', async (patch, field) => {
      const topic = await createTopic(t, author.token, boardId);
      const before = await allRows();
      const err = expectError(await t.gql(BOOKMARK, { input: { postId: topic.firstPostId, ...patch } }, { token: member.token }), 'BAD_USER_INPUT');
      expect(err.extensions.fields!.map((f) => f.field)).toContain(field);
      expect(await allRows()).toBe(before);
    });

    it('takes a note of exactly 500 characters, and refuses a removal by a bad id', async () => {
      const topic = await createTopic(t, author.token, boardId);
      expectOk(await bookmark(member, topic.firstPostId, 'é'.repeat(500)));
      expect((await stored(member)).find((b) => b.post_id === topic.firstPostId)?.note).toHaveLength(500);
      expect(expectError(await remove(member, 'not-a-uuid'), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'postId', message: expect.any(String) }]);
    });
  });

  describe('the list', () => {
    it('lists newest first, pages by keyset with its own cursors, and counts the whole list', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const ids: string[] = [topic.firstPostId];
      for (let i = 0; i < 4; i++) ids.push((await reply(t, author.token, topic.id, `reply ${i}`)).id);
      for (const id of ids) expectOk(await bookmark(u, id));
      // A changed note does not move a bookmark up.
      expectOk(await bookmark(u, ids[0], 'the oldest'));
      const newestFirst = [...ids].reverse();

      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await list(u, 2, after);
        expect(page.totalCount).toBe(5);
        seen.push(...page.edges.map((e: any) => e.node.id));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
        pages++;
      } while (after);
      expect(seen).toEqual(newestFirst);
      expect(pages).toBe(3);
      expect((await list(u)).edges.at(-1).note).toBe('the oldest');

      // Another list's cursor, a forged one, or a page too large: BAD_USER_INPUT.
      const postsCursor = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts(first: 1) { pageInfo { endCursor } } } }`, { id: topic.id })).topic.posts.pageInfo.endCursor;
      const activityCursor = encodeCursor('user-posts', ['2026-01-01 00:00:00+00', ids[0]]);
      for (const bad of [postsCursor, activityCursor, encodeCursor('bookmarks', ['not a time', ids[0]]), encodeCursor('bookmarks', ['2026-01-01 00:00:00+00', 'x']), 'garbage']) {
        const err = expectError(await t.gql(LIST, { first: 2, after: bad }, { token: u.token }), 'BAD_USER_INPUT');
        expect(err.extensions.fields).toEqual([{ field: 'after', message: 'is not a valid cursor' }]);
      }
      expectError(await t.gql(LIST, { first: 101 }, { token: u.token }), 'BAD_USER_INPUT');
      expectError(await t.gql(LIST, { first: 0 }, { token: u.token }), 'BAD_USER_INPUT');
    });

    it('shows each member their own bookmarks only', async () => {
      const [a, b] = [await makeUser(t), await makeUser(t)];
      const topic = await createTopic(t, author.token, boardId);
      expectOk(await bookmark(a, topic.firstPostId, 'mine'));
      expect((await list(b)).totalCount).toBe(0);
      expect(expectOk(await t.gql(POST, { id: topic.firstPostId }, { token: b.token })).post.bookmarked).toBe(false);
    });

    it('leaves out of the list and its count what the member can no longer read, keeps it stored, and brings it back with access', async () => {
      const u = await makeUser(t);
      const mod = await makeUser(t, { role: 'MODERATOR' });
      const space = await makeSpace(t, 'MEMBERS');
      const board = await makeBoard(t, space.id);
      const elsewhere = await makeSpace(t, 'PUBLIC');
      const elsewhereBoard = await makeBoard(t, elsewhere.id);
      const closed = await makeBoard(t, (await makeSpace(t, 'RESTRICTED')).id);
      const inSpace = await createTopic(t, author.token, board);
      const moving = await createTopic(t, author.token, elsewhereBoard);
      const movingReply = (await reply(t, author.token, moving.id, 'a reply that moves with its topic')).id;
      const other = await createTopic(t, author.token, elsewhereBoard);
      const toHide = (await reply(t, author.token, other.id, 'to be hidden')).id;
      const toDelete = (await reply(t, author.token, other.id, 'to be deleted')).id;
      const all = [inSpace.firstPostId, moving.firstPostId, movingReply, toHide, toDelete];
      for (const id of all) expectOk(await bookmark(u, id, `note on ${id}`));
      const everything = [...all].reverse();
      expect(await listed(u)).toEqual(everything);

      const UPDATE_SPACE = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`;
      const MOVE = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
      const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
      expectOk(await t.gql(UPDATE_SPACE, { input: { spaceId: space.id, visibility: 'RESTRICTED' } }, { token: admin.token }));
      expectOk(await t.gql(MOVE, { input: { topicId: moving.id, boardId: closed } }, { token: admin.token }));
      expectOk(await t.gql(MODERATE, { input: { postId: toHide, action: 'HIDE', reason: 'off topic' } }, { token: mod.token }));
      expectOk(await t.gql(MODERATE, { input: { postId: toDelete, action: 'DELETE', reason: 'spam' } }, { token: mod.token }));

      const lost = await list(u);
      expect(lost.totalCount).toBe(0);
      expect(lost.edges).toEqual([]);
      // Stored all the same, and out of reach: nothing of them reaches the member, not even their own note.
      expect((await stored(u)).map((b) => b.post_id).sort()).toEqual([...all].sort());
      for (const id of all) expectError(await remove(u, id), 'NOT_FOUND');
      expect(JSON.stringify(await list(u))).not.toContain('note on');
      // The hidden post is a placeholder on its topic's page: not shown as bookmarked either.
      const page = expectOk(await t.gql(TOPIC_PAGE(true), { id: other.id }, { token: u.token })).topic.posts.edges.map((e: any) => e.node);
      expect(page.find((p: any) => p.id === toHide)).toMatchObject({ bookmarked: false });

      // Access back, the bookmarks come back, as they were.
      expectOk(await t.gql(UPDATE_SPACE, { input: { spaceId: space.id, visibility: 'MEMBERS' } }, { token: admin.token }));
      expectOk(await t.gql(MOVE, { input: { topicId: moving.id, boardId: elsewhereBoard } }, { token: admin.token }));
      expectOk(await t.gql(MODERATE, { input: { postId: toHide, action: 'UNHIDE' } }, { token: mod.token }));
      expectOk(await t.gql(MODERATE, { input: { postId: toDelete, action: 'RESTORE' } }, { token: mod.token }));
      const back = await list(u);
      expect(back.totalCount).toBe(5);
      expect(back.edges.map((e: any) => [e.node.id, e.note])).toEqual(everything.map((id) => [id, `note on ${id}`]));
    });

    it('leaves out the replies of a topic hidden through its first post', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const r = (await reply(t, author.token, topic.id, 'in a topic about to be hidden')).id;
      expectOk(await bookmark(u, r));
      await t.sql(`UPDATE topics SET state = 'HIDDEN' WHERE id = $1`, [topic.id]);
      await setPostState(t, topic.firstPostId, 'HIDDEN');
      expect(await list(u)).toMatchObject({ totalCount: 0, edges: [] });
      await t.sql(`UPDATE topics SET state = 'VISIBLE' WHERE id = $1`, [topic.id]);
      await setPostState(t, topic.firstPostId, 'VISIBLE');
      expect(await listed(u)).toEqual([r]);
    });

    it(`holds at most ${MAX_BOOKMARKS} bookmarks, counting only those the member sees`, async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      // MAX_BOOKMARKS posts, bookmarked a second apart, written directly.
      await t.sql(
        `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html)
         SELECT gen_random_uuid(), $1, $2, 100 + g, $3, 'filler', '<p>filler</p>' FROM generate_series(1, $4::int) g`,
        [topic.id, spaceId, author.id, MAX_BOOKMARKS],
      );
      await t.sql(
        `INSERT INTO post_bookmarks (user_id, post_id, created_at) SELECT $1, id, now() - (number || ' seconds')::interval FROM posts WHERE topic_id = $2 AND number > 100`,
        [u.id, topic.id],
      );
      expect((await list(u, 1)).totalCount).toBe(MAX_BOOKMARKS);
      const err = expectError(await bookmark(u, topic.firstPostId), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'postId', message: `you have ${MAX_BOOKMARKS.toLocaleString('en')} bookmarks already: remove some first` }]);
      expect(await t.sql(`SELECT 1 FROM post_bookmarks WHERE user_id = $1 AND post_id = $2`, [u.id, topic.firstPostId])).toEqual([]);
      // A note still changes on a bookmark the member has.
      const newest = (await list(u, 1)).edges[0].node.id;
      expectOk(await bookmark(u, newest, 'still editable'));
      // One removed (or out of sight) makes room for one more.
      expect(expectOk(await remove(u, newest)).removeBookmark).toBe(true);
      expectOk(await bookmark(u, topic.firstPostId));
      expectError(await bookmark(u, newest), 'BAD_USER_INPUT');
      const [{ id: hidden }] = await t.sql(`SELECT post_id AS id FROM post_bookmarks WHERE user_id = $1 AND post_id <> $2 LIMIT 1`, [u.id, topic.firstPostId]);
      await setPostState(t, hidden, 'HIDDEN');
      expectOk(await bookmark(u, newest));
      expect((await list(u, 1)).totalCount).toBe(MAX_BOOKMARKS);

      // One place left and four bookmarks asked for at once: one gets it.
      expect(expectOk(await remove(u, newest)).removeBookmark).toBe(true);
      const fresh = (await t.sql(
        `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html)
         SELECT gen_random_uuid(), $1, $2, 5000 + g, $3, 'more', '<p>more</p>' FROM generate_series(1, 4) g RETURNING id`,
        [topic.id, spaceId, author.id],
      )).map((r) => r.id as string);
      const answers = await Promise.all(fresh.map((id) => bookmark(u, id)));
      expect(answers.filter((a) => !a.errors).length).toBe(1);
      for (const a of answers.filter((a) => a.errors)) expectError(a, 'BAD_USER_INPUT');
      expect((await list(u, 1)).totalCount).toBe(MAX_BOOKMARKS);
    });
  });

  describe('statement counts', () => {
    /** A topic of `posts` posts, the viewer bookmarking one in `every`. */
    async function topicWith(posts: number, viewer: TestUser, every = 3): Promise<string> {
      const topic = await createTopic(t, author.token, boardId);
      const ids = [topic.firstPostId];
      for (let i = 1; i < posts; i++) ids.push((await reply(t, author.token, topic.id, `reply ${i}`)).id);
      for (const id of ids.filter((_, i) => i % every === 0)) expectOk(await bookmark(viewer, id));
      return topic.id;
    }

    it('answers Post.bookmarked on the topic page with one statement more, whatever the page size', async () => {
      const viewer = await makeUser(t);
      const [small, large] = [await topicWith(5, viewer), await topicWith(50, viewer)];
      const plain = await t.countStatements(() => t.gql(TOPIC_PAGE(false), { id: large }, { token: viewer.token }));
      const cost = async (id: string) => {
        let nodes: any[] = [];
        const c = await t.countStatements(async () => (nodes = expectOk(await t.gql(TOPIC_PAGE(true), { id }, { token: viewer.token })).topic.posts.edges.map((e: any) => e.node)));
        return { count: c.count, bookmarked: nodes.map((n) => n.bookmarked) };
      };
      const [few, many] = [await cost(small), await cost(large)];
      expect(many.bookmarked).toHaveLength(50);
      expect(many.bookmarked).toEqual(many.bookmarked.map((_, i) => i % 3 === 0));
      expect(few.bookmarked).toEqual([true, false, false, true, false]);
      expect(many.count).toBe(few.count);
      expect(many.count).toBeLessThanOrEqual(plain.count + 1);
      expect(many.count).toBeLessThanOrEqual(8);
      // Signed out, it is false and costs nothing.
      const anonymousPlain = await t.countStatements(() => t.gql(TOPIC_PAGE(false), { id: large }));
      let anonymous: any[] = [];
      const anonymousCost = await t.countStatements(async () => (anonymous = expectOk(await t.gql(TOPIC_PAGE(true), { id: large })).topic.posts.edges));
      expect(anonymous.every((e: any) => e.node.bookmarked === false)).toBe(true);
      expect(anonymousCost.count).toBe(anonymousPlain.count);
    });

    it('lists bookmarks with their posts, topics and authors in a fixed number of statements', async () => {
      const [few, many] = [await makeUser(t), await makeUser(t)];
      await topicWith(5, few, 1);
      await topicWith(50, many, 1);
      const q = `{ bookmarks(first: 100) { totalCount edges { note node { id bookmarked author { handle } topic { id title } } } } }`;
      let answer: any;
      const small = await t.countStatements(() => t.gql(q, {}, { token: few.token }));
      const large = await t.countStatements(async () => (answer = expectOk(await t.gql(q, {}, { token: many.token }))));
      expect(answer.bookmarks.totalCount).toBe(50);
      expect(answer.bookmarks.edges.every((e: any) => e.node.bookmarked)).toBe(true);
      expect(large.count).toBe(small.count);
    });
  });

  it('are deleted with the account', async () => {
    const u = await makeUser(t);
    const topic = await createTopic(t, author.token, boardId);
    expectOk(await bookmark(u, topic.firstPostId, 'personal'));
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: u.id }, { token: admin.token }));
    expect(await stored(u)).toEqual([]);
  });
});

describe('bookmarks under the posting limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ POSTING_LIMITS: 'true' });
  });
  afterAll(() => t.close());

  it('paces bookmark writes: a burst of 60, then RATE_LIMITED with the wait', async () => {
    const author = await makeUser(t);
    const u = await makeUser(t);
    const topic = await createTopic(t, author.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id));
    // Adding and removing alike; the budget refills one a second meanwhile, so the refusal comes
    // after 60 writes or a few more, never fewer.
    let written = 0;
    let refused: Awaited<ReturnType<TestApp['gql']>> | undefined;
    while (!refused && written < 200) {
      const res = written % 2 === 0 ? await t.gql(BOOKMARK, { input: { postId: topic.firstPostId, note: `note ${written}` } }, { token: u.token }) : await t.gql(REMOVE, { id: topic.firstPostId }, { token: u.token });
      if (res.errors) refused = res;
      else written++;
    }
    expect(written).toBeGreaterThanOrEqual(60);
    const err = expectError(refused!, 'RATE_LIMITED');
    expect(err.extensions.retryAfterSeconds).toBeGreaterThan(0);
    // The refused write wrote nothing.
    expect(await t.sql(`SELECT count(*)::int AS n FROM post_bookmarks WHERE user_id = $1`, [u.id])).toEqual([{ n: written % 2 }]);
    // Someone else's pace is their own.
    expectOk(await t.gql(BOOKMARK, { input: { postId: topic.firstPostId } }, { token: author.token }));
  });
});
