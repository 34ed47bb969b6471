import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { JobScheduler } from '../../libs/core/src/jobs';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { BookmarksService } from '../../libs/forum/src/bookmarks/bookmarks.service';
import { EmailDigest } from '../../libs/notifications/src/email';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { connectLive, heardLive } from '../support/live-client';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const BOOKMARK = `mutation($input: BookmarkPostInput!) { bookmarkPost(input: $input) { id bookmarked } }`;
const REMOVE = `mutation($id: ID!) { removeBookmark(postId: $id) }`;
const LIST = `query($withReminder: Boolean, $first: Int, $after: String) { bookmarks(withReminder: $withReminder, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { note remindAt bookmarkedAt node { id } } } }`;
const NOTIFICATIONS = `{ notifications(first: 50) { totalCount edges { node { kind data readAt post { id number } topic { id } actor { id } } } } }`;

/** A time `ms` from now, as the API takes it. */
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

/**
 * Bookmark reminders: a bookmark's time at which the worker tells its owner of the post, once,
 * if they may still read it then.
 */
describe('bookmark reminders', () => {
  let t: TestApp;
  let author: TestUser;
  let admin: TestUser;
  let spaceId: string;
  let boardId: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    admin = await makeUser(t, { role: 'ADMIN' });
    spaceId = (await makeSpace(t, 'PUBLIC')).id;
    boardId = await makeBoard(t, spaceId);
  });
  // Firing handles every due reminder of the database: each test starts with none.
  afterEach(() => t.sql(`UPDATE post_bookmarks SET remind_at = NULL WHERE remind_at IS NOT NULL`));
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const bookmark = (u: TestUser, input: Record<string, unknown>) => t.gql(BOOKMARK, { input }, { token: u.token });
  const list = async (u: TestUser, withReminder?: boolean) => expectOk(await t.gql(LIST, { withReminder, first: 100 }, { token: u.token })).bookmarks;
  const stored = async (u: TestUser) =>
    (await t.sql(`SELECT post_id, note, remind_at FROM post_bookmarks WHERE user_id = $1 ORDER BY created_at, post_id`, [u.id])) as Array<{ post_id: string; note: string | null; remind_at: Date | null }>;
  /** Fires what is due `ms` from now, as the job will then, and delivers what that announced. */
  const fire = async (ms: number) => {
    const fired = await t.get(BookmarksService).fireReminders(new Date(Date.now() + ms));
    await t.get(OutboxWorker).drain();
    return fired;
  };
  const notifications = async (u: TestUser) => expectOk(await t.gql(NOTIFICATIONS, {}, { token: u.token })).notifications;
  const rowsFor = async (u: TestUser) => (await t.sql(`SELECT kind, post_id, data FROM notifications WHERE user_id = $1`, [u.id])) as Array<{ kind: string; post_id: string; data: unknown }>;

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

    it('takes a time a few seconds past (clocks differ) and one a year ahead, and the first fires at the next run', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'far ahead');
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: inMs(-20_000) }));
      expectOk(await bookmark(u, { postId: r.id, remindAt: inMs(365 * DAY - 60_000) }));
      expect(await fire(0)).toBe(1);
      expect((await rowsFor(u)).map((n) => n.post_id)).toEqual([topic.firstPostId]);
    });
  });

  describe('firing', () => {
    it('fires only due reminders, once, as a BOOKMARK_REMINDER the owner lists with the post, its topic and the note; the bookmark stays', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'come back to this');
      const later = await reply(t, author.token, topic.id, 'and this, later');
      expectOk(await bookmark(u, { postId: r.id, note: 'check the numbers', remindAt: inMs(HOUR) }));
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: inMs(HOUR) }));
      expectOk(await bookmark(u, { postId: later.id, note: 'not yet', remindAt: inMs(5 * HOUR) }));

      expect(await fire(0)).toBe(0);
      expect((await notifications(u)).totalCount).toBe(0);
      expect(await fire(2 * HOUR)).toBe(2);
      const got = await notifications(u);
      expect(got.totalCount).toBe(2);
      const byPost = new Map(got.edges.map((e: any) => [e.node.post.id, e.node]));
      expect(byPost.get(r.id)).toMatchObject({ kind: 'BOOKMARK_REMINDER', readAt: null, post: { id: r.id, number: 2 }, topic: { id: topic.id }, actor: null });
      expect(JSON.parse((byPost.get(r.id) as any).data)).toEqual({ number: 2, note: 'check the numbers' });
      expect(JSON.parse((byPost.get(topic.firstPostId) as any).data)).toEqual({ number: 1 });

      // Cleared, the bookmarks kept; the one not due keeps its time.
      const edges = (await list(u)).edges.map((e: any) => [e.node.id, e.remindAt]);
      expect(edges).toEqual(expect.arrayContaining([[r.id, null], [topic.firstPostId, null], [later.id, expect.any(String)]]));
      expect(edges).toHaveLength(3);

      // Run again (and the events delivered again): nothing new.
      expect(await fire(2 * HOUR)).toBe(0);
      await t.sql(`UPDATE outbox SET processed_at = NULL WHERE type = 'bookmark.reminder_due'`);
      await t.get(OutboxWorker).drain();
      expect((await notifications(u)).totalCount).toBe(2);
      // Nobody else heard: the author of the posts included.
      expect(await rowsFor(author)).toEqual([]);

      // The later one fires at its time; a reminder set again fires again.
      expect(await fire(6 * HOUR)).toBe(1);
      expectOk(await bookmark(u, { postId: r.id, remindAt: inMs(HOUR) }));
      expect(await fire(2 * HOUR)).toBe(1);
      expect((await rowsFor(u)).filter((n) => n.post_id === r.id)).toHaveLength(2);
    });

    it('fires each reminder once when two runs go at once', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const ids = [topic.firstPostId];
      for (let i = 0; i < 9; i++) ids.push((await reply(t, author.token, topic.id, `reply ${i}`)).id);
      for (const id of ids) expectOk(await bookmark(u, { postId: id, remindAt: inMs(HOUR) }));
      const at = new Date(Date.now() + 2 * HOUR);
      const runs = await Promise.all([t.get(BookmarksService).fireReminders(at), t.get(BookmarksService).fireReminders(at)]);
      expect(runs[0] + runs[1]).toBe(ids.length);
      expect((await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'bookmark.reminder_due' AND payload->>'userId' = $1`, [u.id]))[0].n).toBe(ids.length);
      await t.get(OutboxWorker).drain();
      expect((await rowsFor(u)).map((n) => n.post_id).sort()).toEqual([...ids].sort());
    });

    it('runs as the fire-bookmark-reminders job, every minute (each tick, no job_runs record)', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: inMs(HOUR) }));
      const jobs = t.get(JobScheduler);
      expect(jobs.names()).toContain('fire-bookmark-reminders');
      expect(await jobs.runNow('fire-bookmark-reminders')).toBe(true);
      await t.get(OutboxWorker).drain();
      expect(await rowsFor(u)).toEqual([]); // not due yet
      await t.sql(`UPDATE post_bookmarks SET remind_at = now() - interval '1 second' WHERE user_id = $1`, [u.id]);
      expect(await jobs.runNow('fire-bookmark-reminders')).toBe(true);
      await t.get(OutboxWorker).drain();
      expect((await rowsFor(u)).map((n) => n.kind)).toEqual(['BOOKMARK_REMINDER']);
      expect(await t.sql(`SELECT 1 FROM job_runs WHERE name = 'fire-bookmark-reminders'`)).toEqual([]);
    });

    it('never fires a reminder of a bookmark removed, before or after it came due', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      const r = await reply(t, author.token, topic.id, 'removed after firing');
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: inMs(HOUR) }));
      expectOk(await bookmark(u, { postId: r.id, remindAt: inMs(HOUR) }));
      expect(expectOk(await t.gql(REMOVE, { id: topic.firstPostId }, { token: u.token })).removeBookmark).toBe(true);
      // The other fires, and is removed before the worker delivers it.
      expect(await t.get(BookmarksService).fireReminders(new Date(Date.now() + 2 * HOUR))).toBe(1);
      expect(expectOk(await t.gql(REMOVE, { id: r.id }, { token: u.token })).removeBookmark).toBe(true);
      await t.get(OutboxWorker).drain();
      expect(await rowsFor(u)).toEqual([]);
      expect(await stored(u)).toEqual([]);
    });

    it('pushes the notification live to the owner, and e-mails it if it stays unread', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId, { title: 'A topic to come back to' });
      const r = await reply(t, author.token, topic.id, 'the post');
      expectOk(await bookmark(u, { postId: r.id, note: 'private words', remindAt: inMs(HOUR) }));
      const s = await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, u.token);
      const pushed = heardLive(s, 'notification');
      expect(await fire(2 * HOUR)).toBe(1);
      expect(await pushed.first((n) => n.kind === 'BOOKMARK_REMINDER' && n.postId === r.id)).toMatchObject({ kind: 'BOOKMARK_REMINDER', postId: r.id });

      await t.sql(`UPDATE notifications SET created_at = now() - interval '30 minutes' WHERE user_id = $1`, [u.id]);
      const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === u.email);
      expect(mail.text).toContain(`• A reminder you set on a bookmark is due — “A topic to come back to” ${t.config.publicUrl}/t/${topic.id}#post-2`);
      // The note is the member's own, in the app: the e-mail does not carry it.
      expect(mail.text).not.toContain('private words');

      // Its e-mail can be turned off on its own, as every kind's.
      const PREFERENCE = `mutation($input: EmailPreferenceInput!) { setEmailPreference(input: $input) { kind enabled } }`;
      const prefs = expectOk(await t.gql(PREFERENCE, { input: { kind: 'BOOKMARK_REMINDER', enabled: false } }, { token: u.token })).setEmailPreference;
      expect(prefs).toContainEqual({ kind: 'BOOKMARK_REMINDER', enabled: false });
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: inMs(HOUR) }));
      expect(await fire(2 * HOUR)).toBe(1);
      await t.sql(`UPDATE notifications SET created_at = now() - interval '30 minutes' WHERE user_id = $1 AND emailed_at IS NULL`, [u.id]);
      await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [u.id]);
      expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === u.email)).toEqual([]);
      expect((await rowsFor(u)).map((n) => n.post_id).sort()).toEqual([r.id, topic.firstPostId].sort());
    });
  });

  describe('access when it comes due', () => {
    const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    const UPDATE_SPACE = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`;
    const MOVE = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;

    it('tells nothing, and clears the reminder, when the owner may no longer read the post', async () => {
      const u = await makeUser(t);
      const mod = await makeUser(t, { role: 'MODERATOR' });
      const space = await makeSpace(t, 'MEMBERS');
      const inSpace = await createTopic(t, author.token, await makeBoard(t, space.id));
      const closed = await makeBoard(t, (await makeSpace(t, 'RESTRICTED')).id);
      const moving = await createTopic(t, author.token, boardId);
      const other = await createTopic(t, author.token, boardId);
      const hidden = (await reply(t, author.token, other.id, 'to be hidden')).id;
      const deleted = (await reply(t, author.token, other.id, 'to be deleted')).id;
      const pending = (await reply(t, author.token, other.id, 'to be held')).id;
      const lost = [inSpace.firstPostId, moving.firstPostId, hidden, deleted, pending];
      for (const id of lost) expectOk(await bookmark(u, { postId: id, note: `secret note ${id}`, remindAt: inMs(HOUR) }));

      expectOk(await t.gql(UPDATE_SPACE, { input: { spaceId: space.id, visibility: 'RESTRICTED' } }, { token: admin.token }));
      expectOk(await t.gql(MOVE, { input: { topicId: moving.id, boardId: closed } }, { token: admin.token }));
      expectOk(await t.gql(MODERATE, { input: { postId: hidden, action: 'HIDE', reason: 'off topic' } }, { token: mod.token }));
      expectOk(await t.gql(MODERATE, { input: { postId: deleted, action: 'DELETE', reason: 'spam' } }, { token: mod.token }));
      await setPostState(t, pending, 'PENDING');

      expect(await fire(2 * HOUR)).toBe(lost.length);
      expect(await rowsFor(u)).toEqual([]);
      expect((await notifications(u)).totalCount).toBe(0);
      // Cleared, not kept for when access comes back; the bookmarks stay, notes and all.
      expect((await stored(u)).map((b) => [b.post_id, b.remind_at]).sort()).toEqual(lost.map((id) => [id, null]).sort());
      expect((await stored(u)).every((b) => b.note?.startsWith('secret note'))).toBe(true);
      expectOk(await t.gql(UPDATE_SPACE, { input: { spaceId: space.id, visibility: 'MEMBERS' } }, { token: admin.token }));
      expectOk(await t.gql(MODERATE, { input: { postId: hidden, action: 'UNHIDE' } }, { token: mod.token }));
      expect(await fire(2 * HOUR)).toBe(0);
      expect(await rowsFor(u)).toEqual([]);
    });

    it('tells the owner of their own hidden post, which they still read', async () => {
      const topic = await createTopic(t, author.token, boardId);
      const own = (await reply(t, author.token, topic.id, 'my own, hidden')).id;
      expectOk(await bookmark(author, { postId: own, remindAt: inMs(HOUR) }));
      await setPostState(t, own, 'HIDDEN');
      expect(await fire(2 * HOUR)).toBe(1);
      expect((await rowsFor(author)).filter((n) => n.kind === 'BOOKMARK_REMINDER').map((n) => n.post_id)).toEqual([own]);
    });

    it('tells nobody suspended, site-wide or from the post’s space, nor one whose access went with a group', async () => {
      const staff = await makeGroup(t);
      const [suspended, spaceSuspended, leaver, stays] = [await makeUser(t), await makeUser(t), await makeUser(t, { groups: [staff] }), await makeUser(t, { groups: [staff] })];
      const restricted = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }]);
      const inner = await createTopic(t, stays.token, await makeBoard(t, restricted.id));
      const topic = await createTopic(t, author.token, boardId);
      for (const u of [suspended, spaceSuspended]) expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: inMs(HOUR) }));
      for (const u of [leaver, stays]) expectOk(await bookmark(u, { postId: inner.firstPostId, remindAt: inMs(HOUR) }));
      const sanction = (userId: string, spaceOf: string | null) =>
        t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at) VALUES (gen_random_uuid(), $1, 'SUSPEND', 'test', $2, now() + interval '1 day')`, [userId, spaceOf]);
      await sanction(suspended.id, null);
      await sanction(spaceSuspended.id, spaceId);
      await t.sql(`DELETE FROM group_members WHERE user_id = $1`, [leaver.id]);

      expect(await fire(2 * HOUR)).toBe(4);
      for (const u of [suspended, spaceSuspended, leaver]) expect(await rowsFor(u)).toEqual([]);
      expect((await rowsFor(stays)).map((n) => [n.kind, n.post_id])).toEqual([['BOOKMARK_REMINDER', inner.firstPostId]]);
      for (const u of [suspended, spaceSuspended, leaver]) expect((await stored(u))[0].remind_at).toBeNull();
    });

    it('go with the account', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      expectOk(await bookmark(u, { postId: topic.firstPostId, remindAt: inMs(HOUR) }));
      expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: u.id }, { token: admin.token }));
      expect(await fire(2 * HOUR)).toBe(0);
      expect(await t.sql(`SELECT 1 FROM notifications WHERE user_id = $1`, [u.id])).toEqual([]);
    });
  });

  describe('statement counts', () => {
    /** `n` members each with a due reminder on a post of their own topic. */
    async function due(n: number): Promise<TestUser[]> {
      const members: TestUser[] = [];
      for (let i = 0; i < n; i++) {
        const u = await makeUser(t);
        const topic = await createTopic(t, author.token, boardId);
        expectOk(await bookmark(u, { postId: topic.firstPostId, note: i % 2 ? `note ${i}` : null, remindAt: inMs(HOUR) }));
        members.push(u);
      }
      return members;
    }
    const cost = async (n: number) => {
      const members = await due(n);
      // What making the topics announced is delivered first: the delivery counted is the reminders'.
      await t.get(OutboxWorker).drain();
      let fired = 0;
      const firing = await t.countStatements(async () => (fired = await t.get(BookmarksService).fireReminders(new Date(Date.now() + 2 * HOUR))));
      const delivery = await t.countStatements(() => t.get(OutboxWorker).drain());
      expect(fired).toBe(n);
      for (const u of members) expect((await rowsFor(u)).map((r) => r.kind)).toEqual(['BOOKMARK_REMINDER']);
      return { firing: firing.count, delivery: delivery.count };
    };

    it('fires and delivers a batch of reminders in a fixed number of statements, whatever its size', async () => {
      const few = await cost(3);
      const many = await cost(15);
      expect(few.firing).toBe(1);
      expect(many.firing).toBe(1);
      expect(many.delivery).toBe(few.delivery);
      // 16 since deliver holds the posts' topics before their posts (c463a65, no deadlock with a
      // move): its own transaction (START, COMMIT), the topics held, and read again under the hold.
      expect(many.delivery).toBeLessThanOrEqual(16);
    });

    it('takes a run past one batch of 500 in one statement more', async () => {
      const u = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId);
      await t.sql(
        `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html)
         SELECT gen_random_uuid(), $1, $2, 1 + g, $3, 'filler', '<p>filler</p>' FROM generate_series(1, 501) g`,
        [topic.id, spaceId, author.id],
      );
      await t.sql(`INSERT INTO post_bookmarks (user_id, post_id, remind_at) SELECT $1, id, now() FROM posts WHERE topic_id = $2 AND number > 1`, [u.id, topic.id]);
      let fired = 0;
      const firing = await t.countStatements(async () => (fired = await t.get(BookmarksService).fireReminders()));
      expect(fired).toBe(501);
      expect(firing.count).toBe(2);
      await t.get(OutboxWorker).drain();
      expect((await rowsFor(u)).length).toBe(501);
    });
  });
});
