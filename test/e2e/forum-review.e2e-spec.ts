import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { connectLive } from '../support/live-client';
import { backendPid, waitForLockWaits } from '../support/lock-waits';

/** Paths of the forum and its live gateway that the main suites do not walk. */
describe('forum: edits through automod, presence and sync', () => {
  let t: TestApp;
  let url: string;
  const sockets: Socket[] = [];
  let mod: TestUser;
  let member: TestUser;
  let spaceId: string;
  let boardId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    mod = await makeUser(t);
    member = await makeUser(t);
    spaceId = (await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }])).id;
    boardId = await makeBoard(t, spaceId);
    const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
    for (const [pattern, action, publicReason] of [
      ['refund', 'FLAG', 'Refund requests go to support'],
      ['darn', 'CENSOR', 'Mind your language'],
      ['competitor', 'REQUIRE_APPROVAL', 'Mentions of competitors are reviewed'],
    ]) {
      expectOk(await t.gql(RULE, { input: { spaceId, pattern, kind: 'WORD', action, publicReason } }, { token: mod.token }));
    }
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id state bodyHtml } }`;
  const reviewItems = (postId: string) => t.sql(`SELECT kind FROM review_items WHERE target_id = $1 ORDER BY kind`, [postId]);
  const logged = async (postId: string) =>
    (await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 ORDER BY id`, [postId])).map((r) => r.action as string);

  describe('edits', () => {
    it('are flagged into the review queue when they bring in a FLAG word, as new posts are', async () => {
      const topic = await createTopic(t, member.token, boardId, { body: 'All good here' });
      const r = await reply(t, member.token, topic.id, 'A harmless reply');
      expect(await reviewItems(r.id)).toEqual([]);
      const edited = expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'Actually, I want a refund' } }, { token: member.token })).editPost;
      expect(edited.state).toBe('VISIBLE');
      expect(await reviewItems(r.id)).toEqual([{ kind: 'AUTOMOD' }]);
      expect(await logged(r.id)).toContain('automod.flag');
    });

    it('log the censoring they get', async () => {
      const topic = await createTopic(t, member.token, boardId, { body: 'Clean words' });
      const edited = expectOk(await t.gql(EDIT, { input: { postId: topic.firstPostId, body: 'Well darn' } }, { token: member.token })).editPost;
      expect(edited.bodyHtml).toBe('<p>Well ■■■■</p>\n');
      expect(await logged(topic.firstPostId)).toContain('automod.censor');
    });

    it('of a hidden post held by automod leave it hidden, with no approval item that would unhide it', async () => {
      const topic = await createTopic(t, member.token, boardId, { body: 'First' });
      const r = await reply(t, member.token, topic.id, 'Some reply');
      await setPostState(t, r.id, 'HIDDEN');
      const edited = expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'What about the competitor?' } }, { token: member.token })).editPost;
      expect(edited.state).toBe('HIDDEN');
      expect(await reviewItems(r.id)).toEqual([]);
    });

    it('of a visible post held by automod wait for approval while the post keeps its text', async () => {
      const topic = await createTopic(t, member.token, boardId, { body: 'First' });
      const r = await reply(t, member.token, topic.id, 'Some reply');
      const edited = expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'The competitor does it better' } }, { token: member.token })).editPost;
      expect(edited).toMatchObject({ state: 'VISIBLE', bodyHtml: '<p>Some reply</p>\n' });
      expect(await reviewItems(r.id)).toEqual([{ kind: 'PENDING_CONTENT' }]);
      expect(await t.sql(`SELECT body_source FROM post_pending_edits WHERE post_id = $1`, [r.id])).toEqual([{ body_source: 'The competitor does it better' }]);
    });
  });

  describe('held content', () => {
    const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    // Each by an author of their own: an upheld flag counts against its author on the ladder.
    const held = async () => {
      const author = await makeUser(t);
      const topic = await createTopic(t, author.token, boardId, { body: 'First' });
      const r = await reply(t, author.token, topic.id, 'The competitor gave me a refund');
      expect(await reviewItems(r.id)).toEqual([{ kind: 'AUTOMOD' }, { kind: 'PENDING_CONTENT' }]);
      return { topic, postId: r.id };
    };
    const seenBy = async (u: TestUser, topicId: string) =>
      expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts(first: 10) { totalCount edges { node { number } } } } }`, { id: topicId }, { token: u.token })).topic.posts;
    const status = async (postId: string, kind: string) => (await t.sql(`SELECT status FROM review_items WHERE target_id = $1 AND kind = $2`, [postId, kind]))[0].status;

    it('is never hidden (which would show others a placeholder, and unhiding publish it unapproved): only approved, rejected or deleted', async () => {
      const { topic, postId } = await held();
      const other = await makeUser(t);
      expect((await seenBy(other, topic.id)).totalCount).toBe(1);
      expectError(await t.gql(MODERATE, { input: { postId, action: 'HIDE' } }, { token: mod.token }), 'CONFLICT');
      // Upholding the automod flag leaves it held, for its PENDING_CONTENT item to decide.
      const [flag] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'AUTOMOD'`, [postId]);
      expect(expectOk(await t.gql(RESOLVE, { input: { id: flag.id, decision: 'APPROVE' } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
      const [post] = await t.sql(`SELECT state FROM posts WHERE id = $1`, [postId]);
      expect(post.state).toBe('PENDING');
      expect(await seenBy(other, topic.id)).toEqual({ totalCount: 1, edges: [{ node: { number: 1 } }] });
      expect(await status(postId, 'PENDING_CONTENT')).toBe('PENDING');
      expect(await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 AND type = 'post.hidden'`, [postId])).toHaveLength(0);
    });

    it('deleted by a moderator takes its held item with it', async () => {
      const { postId } = await held();
      expect(expectOk(await t.gql(MODERATE, { input: { postId, action: 'DELETE' } }, { token: mod.token })).moderatePost.state).toBe('DELETED');
      expect(await status(postId, 'PENDING_CONTENT')).toBe('REJECTED');
      // Likewise through its automod flag upheld with DELETE.
      const other = await held();
      const [flag] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'AUTOMOD'`, [other.postId]);
      expectOk(await t.gql(RESOLVE, { input: { id: flag.id, decision: 'APPROVE', action: 'DELETE' } }, { token: mod.token }));
      expect((await t.sql(`SELECT state FROM posts WHERE id = $1`, [other.postId]))[0].state).toBe('DELETED');
      expect(await status(other.postId, 'PENDING_CONTENT')).toBe('REJECTED');
    });

    it('decided with moderatePost, settles its held item as the queue and publishing settle theirs: the reason is the item’s decision note', async () => {
      const QUEUE = `query($s: ID, $status: ReviewStatus) { reviewQueue(spaceId: $s, status: $status, first: 100) {
        edges { node { targetId kind decisionNote history { action note } } } } }`;
      const item = async (postId: string, status: string) =>
        expectOk(await t.gql(QUEUE, { s: spaceId, status }, { token: mod.token })).reviewQueue.edges.map((e: any) => e.node).find((n: any) => n.targetId === postId && n.kind === 'PENDING_CONTENT');
      const approved = await held();
      expect(expectOk(await t.gql(MODERATE, { input: { postId: approved.postId, action: 'APPROVE', reason: 'fine after all' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
      expect(await item(approved.postId, 'APPROVED')).toMatchObject({ decisionNote: 'fine after all', history: expect.arrayContaining([{ action: 'resolved: approve (moderatePost)', note: 'fine after all' }]) });
      const deleted = await held();
      expect(expectOk(await t.gql(MODERATE, { input: { postId: deleted.postId, action: 'DELETE', reason: 'off topic' } }, { token: mod.token })).moderatePost.state).toBe('DELETED');
      expect(await item(deleted.postId, 'REJECTED')).toMatchObject({ decisionNote: 'off topic', history: expect.arrayContaining([{ action: 'resolved: delete (moderatePost)', note: 'off topic' }]) });
    });
  });

  describe('live', () => {
    const connect = (token?: string) => connectLive(url, sockets, token);
    const ask = (s: Socket, event: string, body: unknown) => s.timeout(5000).emitWithAck(event, body);
    /** The next `presence` event whose count is `count`. */
    const presence = (s: Socket, count: number, ms = 3000) =>
      new Promise<{ count: number; users: Array<{ id: string }> }>((resolve, reject) => {
        const timer = setTimeout(() => {
          s.off('presence', on);
          reject(new Error(`no presence with count ${count} within ${ms} ms`));
        }, ms);
        const on = (p: { count: number; users: Array<{ id: string }> }) => {
          if (p.count !== count) return;
          clearTimeout(timer);
          s.off('presence', on);
          resolve(p);
        };
        s.on('presence', on);
      });

    it('updates presence when a reader closes the connection', async () => {
      const topic = await createTopic(t, member.token, boardId);
      const reader = await makeUser(t);
      const a = await connect(member.token);
      const b = await connect(reader.token);
      expect(await ask(a, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      const both = presence(a, 2);
      expect(await ask(b, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      expect((await both).users.map((u) => u.id).sort()).toEqual([member.id, reader.id].sort());
      const alone = presence(a, 1);
      b.disconnect();
      expect((await alone).users).toEqual([{ id: member.id, handle: member.handle }]);
    });

    it('updates presence when a reader loses access to the topic', async () => {
      const admin = await makeUser(t, { role: 'ADMIN' });
      const insider = await makeUser(t);
      const space = await makeSpace(t, 'RESTRICTED', [{ userId: insider.id, level: 'PARTICIPATE' }]);
      const topic = await createTopic(t, admin.token, await makeBoard(t, space.id));
      const a = await connect(admin.token);
      const b = await connect(insider.token);
      await ask(a, 'topic:join', { topicId: topic.id });
      const both = presence(a, 2);
      await ask(b, 'topic:join', { topicId: topic.id });
      await both;
      const alone = presence(a, 1);
      expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: insider.id } }, { token: admin.token }));
      expect((await alone).users.map((u) => u.id)).toEqual([admin.id]);
    });

    it('answers topic:sync only for readable topics, with placeholders for hidden posts', async () => {
      const insider = await makeUser(t);
      const internal = await makeSpace(t, 'RESTRICTED', [{ userId: insider.id, level: 'PARTICIPATE' }]);
      const secret = await createTopic(t, insider.token, await makeBoard(t, internal.id), { body: 'internal words' });
      const anon = await connect();
      expect(await ask(anon, 'topic:sync', { topicId: secret.id, afterNumber: 0 })).toEqual({ ok: false, code: 'NOT_FOUND' });
      expect(await ask(anon, 'topic:sync', { topicId: 'nope', afterNumber: 0 })).toEqual({ ok: false, code: 'BAD_USER_INPUT' });

      const topic = await createTopic(t, member.token, boardId);
      const hidden = await reply(t, member.token, topic.id, 'hidden words');
      const pending = await reply(t, member.token, topic.id, 'pending words');
      await setPostState(t, hidden.id, 'HIDDEN');
      await setPostState(t, pending.id, 'PENDING');
      const res = await ask(anon, 'topic:sync', { topicId: topic.id, afterNumber: 1 });
      const placeholder = expect.objectContaining({ id: hidden.id, number: 2, state: 'HIDDEN', bodyHtml: null, placeholder: 'This post was hidden by a moderator.' });
      expect(res).toEqual({ ok: true, hasMore: false, posts: [placeholder], changed: [], changesHaveMore: false, syncMark: expect.any(String) });
      // Changes since a mark follow the same rule (marks overlap, so these recent posts count as changed).
      const again = await ask(anon, 'topic:sync', { topicId: topic.id, afterNumber: 3, since: res.syncMark });
      expect(again).toMatchObject({ ok: true, posts: [], changed: [expect.objectContaining({ number: 1 }), placeholder] });
      expect(JSON.stringify([res, again])).not.toMatch(/hidden words|pending words/);
    });
  });

  it('two moderators deleting the same post at once delete it once: one log entry, one event', async () => {
    const topic = await createTopic(t, member.token, boardId);
    const r = await reply(t, member.token, topic.id, 'delete me twice');
    const other = await makeUser(t, { role: 'MODERATOR' });
    const DELETE = `mutation($id: ID!) { deletePost(id: $id) { id } }`;
    const results = await Promise.all([mod, other, mod, other].map((m) => t.gql(DELETE, { id: r.id }, { token: m.token })));
    results.forEach((res) => expectOk(res));
    const [log] = await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'post.delete' AND target_id = $1`, [r.id]);
    const [events] = await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'post.deleted' AND aggregate_id = $1`, [r.id]);
    expect([log.n, events.n]).toEqual([1, 1]);
    const [{ reply_count }] = await t.sql(`SELECT reply_count FROM topics WHERE id = $1`, [topic.id]);
    expect(reply_count).toBe(0);
  });

  it('refuses to accept an answer deleted while the acceptance waited for it', async () => {
    const asker = await makeUser(t);
    const topic = await createTopic(t, asker.token, boardId, { kind: 'QUESTION', title: 'Which grinder?' });
    const answer = await reply(t, member.token, topic.id, 'This one.');
    const holder = t.ds.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(`UPDATE posts SET state = 'DELETED', deleted_at = now() WHERE id = $1`, [answer.id]);
      const pending = t.gql(`mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`, { id: answer.id }, { token: asker.token });
      await waitForLockWaits(t, 1, await backendPid(holder));
      await holder.commitTransaction();
      expectError(await pending, 'BAD_USER_INPUT');
    } finally {
      await holder.release();
    }
    const [{ accepted_post_id }] = await t.sql(`SELECT accepted_post_id FROM topics WHERE id = $1`, [topic.id]);
    expect(accepted_post_id).toBeNull();
  });
});
