import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const BOOKMARK = `mutation($input: BookmarkPostInput!) { bookmarkPost(input: $input) { id bookmarked } }`;
const LIST = `query($withReminder: Boolean, $first: Int, $after: String) { bookmarks(withReminder: $withReminder, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { note remindAt bookmarkedAt node { id } } } }`;

/** A time `ms` from now, as the API takes it. */
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

/**
 * Bookmark reminders: a bookmark's time at which its owner is to be reminded of the post.
 */
describe('bookmark reminders', () => {
  let t: TestApp;
  let author: TestUser;
  let spaceId: string;
  let boardId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    spaceId = (await makeSpace(t, 'PUBLIC')).id;
    boardId = await makeBoard(t, spaceId);
  });
  afterAll(() => t.close());

  const bookmark = (u: TestUser, input: Record<string, unknown>) => t.gql(BOOKMARK, { input }, { token: u.token });
  const list = async (u: TestUser, withReminder?: boolean) => expectOk(await t.gql(LIST, { withReminder, first: 100 }, { token: u.token })).bookmarks;
  const stored = async (u: TestUser) =>
    (await t.sql(`SELECT post_id, note, remind_at FROM post_bookmarks WHERE user_id = $1 ORDER BY created_at, post_id`, [u.id])) as Array<{ post_id: string; note: string | null; remind_at: Date | null }>;

  describe('setting a reminder', () => {
    it('sets, keeps, replaces and clears a reminder as the note is, shown on the owner’s edge only', async () => {
      const u = await makeUser(t);
      const other = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const soon = inMs(2 * HOUR);
      const later = inMs(3 * DAY);

      expect(expectOk(await bookmark(u, { postId: topic.firstPostId, note: 'read this', remindAt: soon })).bookmarkPost).toEqual({ id: topic.firstPostId, bookmarked: true });
      let [edge] = (await list(u)).edges;
      expect(edge).toMatchObject({ note: 'read this', remindAt: soon, node: { id: topic.firstPostId } });
      const at = edge.bookmarkedAt;

      // Left out, it stays (the note changes alone); given, it replaces; the bookmark keeps its time.
      expectOk(await bookmark(u, { postId: topic.firstPostId, note: 'changed' }));
      expect((await list(u)).edges[0]).toMatchObject({ note: 'changed', remindAt: soon, bookmarkedAt: at });
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: later }));
      expect((await list(u)).edges[0]).toMatchObject({ note: 'changed', remindAt: later, bookmarkedAt: at });
      // The same again writes nothing.
      const same = await t.countStatements(async () => expectOk(await bookmark(u, { postId: topic.firstPostId, note: 'changed', remindAt: later })));
      expect(same.statements.join('\n')).not.toMatch(/INSERT INTO post_bookmarks/);
      // null removes it, and the note stays.
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: null }));
      expect(await stored(u)).toEqual([{ post_id: topic.firstPostId, note: 'changed', remind_at: null }]);
      expect((await list(u)).edges[0]).toMatchObject({ note: 'changed', remindAt: null });

      // Nobody else sees it: their own list is theirs.
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: soon }));
      expect((await list(other)).totalCount).toBe(0);
    });

    it('filters the list by reminder, counting as it filters, and pages the filtered list', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const ids = [topic.firstPostId];
      for (let i = 0; i < 4; i++) ids.push((await reply(t, author.token, topic.id, `reply ${i}`)).id);
      for (const [i, id] of ids.entries()) expectOk(await bookmark(u, i % 2 === 0 ? { postId: id, remindAt: inMs((i + 1) * HOUR) } : { postId: id }));
      const withOne = [ids[4], ids[2], ids[0]];
      expect(await list(u, true)).toMatchObject({ totalCount: 3, edges: withOne.map((id) => ({ node: { id } })) });
      expect(await list(u, false)).toMatchObject({ totalCount: 2, edges: [ids[3], ids[1]].map((id) => ({ node: { id } })) });
      expect((await list(u)).totalCount).toBe(5);
      const first = expectOk(await t.gql(LIST, { withReminder: true, first: 2 }, { token: u.token })).bookmarks;
      expect(first.edges.map((e: any) => e.node.id)).toEqual(withOne.slice(0, 2));
      const second = expectOk(await t.gql(LIST, { withReminder: true, first: 2, after: first.pageInfo.endCursor }, { token: u.token })).bookmarks;
      expect(second).toMatchObject({ pageInfo: { hasNextPage: false }, edges: [{ node: { id: ids[0] } }] });
    });

    it.each([
      ['a time past', () => ({ remindAt: inMs(-5 * 60_000) }), 'must be in the future'],
      ['more than a year ahead', () => ({ remindAt: inMs(366 * DAY) }), 'must be at most 365 days ahead'],
    ])('refuses %s with BAD_USER_INPUT on remindAt, and writes nothing', async (_, patch, message) => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      // A new bookmark is not made...
      let err = expectError(await bookmark(u, { postId: topic.firstPostId, note: 'new', ...patch() }), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'remindAt', message }]);
      expect(await stored(u)).toEqual([]);
      // ...and one there is not changed, not even its note.
      const soon = inMs(HOUR);
      expectOk(await bookmark(u, { postId: topic.firstPostId, note: 'kept', remindAt: soon }));
      err = expectError(await bookmark(u, { postId: topic.firstPostId, note: 'changed', ...patch() }), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'remindAt', message }]);
      expect(await stored(u)).toEqual([{ post_id: topic.firstPostId, note: 'kept', remind_at: new Date(soon) }]);
    });

    it('refuses what is not a date and time, and writes nothing', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      for (const remindAt of ['tomorrow', '2026-13-45T00:00:00Z', 12]) {
        const res = await bookmark(u, { postId: topic.firstPostId, remindAt });
        expect(res.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      }
      expect(await stored(u)).toEqual([]);
    });

    it('takes a time a few seconds past (clocks differ) and one a year ahead', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'far ahead');
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: inMs(-20_000) }));
      expectOk(await bookmark(u, { postId: r.id, remindAt: inMs(365 * DAY - 60_000) }));
      expect((await stored(u)).map((b) => b.remind_at)).toEqual([expect.any(Date), expect.any(Date)]);
    });
  });
});
