import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { PostingPolicy } from '../../libs/forum/src/posting-policy';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { connectLive, heardLive } from '../support/live-client';
import { withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectNotFound, expectOk, GqlResult, TestApp } from '../support/test-app';

const WIKI = `mutation($postId: ID!, $wiki: Boolean!) { setPostWiki(postId: $postId, wiki: $wiki) { id wiki bodyHtml } }`;
const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id bodyHtml } }`;
const POST = `query($id: ID!) { post(id: $id) { id wiki bodyHtml revisions { editor { id } } } }`;

/**
 * Wiki posts (Discourse's): a moderator, or the author from trust level 3, makes a post a
 * wiki, which members from trust level 1 who may post in its topic then edit as its author does.
 */
describe('wiki posts', () => {
  let t: TestApp;
  let author: TestUser;
  let mod: TestUser;
  let boardId: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t, { trustLevel: 1 });
    mod = await makeUser(t, { role: 'MODERATOR' });
    boardId = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const setWiki = (u: TestUser | undefined, postId: string, wiki: boolean) => t.gql(WIKI, { postId, wiki }, { token: u?.token });
  const edit = (u: TestUser, postId: string, body: string) => t.gql(EDIT, { input: { postId, body } }, { token: u.token });
  const post = async (id: string, u: TestUser = mod) => expectOk(await t.gql(POST, { id }, { token: u.token })).post;
  const wikiRow = async (id: string) => (await t.sql(`SELECT wiki, version FROM posts WHERE id = $1`, [id]))[0];
  const denied = async (res: GqlResult, code: string, postId: string) => {
    const before = await wikiRow(postId);
    expectError(res, code);
    expect(await wikiRow(postId)).toEqual(before);
  };

  it('lets members from trust level 1 edit a wiki post as its author does, each edit a revision, until it is a post again', async () => {
    const topic = await createTopic(t, author.token, boardId, { title: 'How we set up the VPN' });
    const member = await makeUser(t, { trustLevel: 1 });
    const newcomer = await makeUser(t, { trustLevel: 0 });
    expectError(await edit(member, topic.firstPostId, 'Not mine to change'), 'FORBIDDEN');

    expect(expectOk(await setWiki(mod, topic.firstPostId, true)).setPostWiki).toMatchObject({ id: topic.firstPostId, wiki: true });
    expect(expectOk(await edit(member, topic.firstPostId, 'Step 1: install the **client**')).editPost.bodyHtml).toContain('<strong>client</strong>');
    expect(expectOk(await edit(author, topic.firstPostId, 'Step 1: install the client. Step 2: sign in')).editPost.id).toBe(topic.firstPostId);
    const read = await post(topic.firstPostId, member);
    expect(read.wiki).toBe(true);
    expect(read.revisions.map((r: { editor: { id: string } }) => r.editor.id)).toEqual([author.id, member.id, author.id]);
    // Below trust level 1, a wiki is read-only, as a post is.
    expectError(await edit(newcomer, topic.firstPostId, 'Vandalism'), 'FORBIDDEN');
    // A member's edit of a wiki is no moderation: the log holds the moderator's wiki switch only.
    expect(await t.sql(`SELECT action, actor_id FROM moderation_log WHERE target_id = $1 ORDER BY id`, [topic.firstPostId])).toEqual([{ action: 'post.wiki', actor_id: mod.id }]);

    expect(expectOk(await setWiki(mod, topic.firstPostId, false)).setPostWiki.wiki).toBe(false);
    expectError(await edit(member, topic.firstPostId, 'Too late'), 'FORBIDDEN');
    expect((await post(topic.firstPostId)).bodyHtml).toContain('Step 2: sign in');
  });

  it('lets authors make their own posts wikis from trust level 3, moderators anyone’s, and nobody else; idempotent', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const veteran = await makeUser(t, { trustLevel: 3 });
    const own = await reply(t, veteran.token, topic.id, 'My own how-to');
    const other = await makeUser(t, { trustLevel: 4 });

    await denied(await setWiki(undefined, topic.firstPostId, true), 'UNAUTHENTICATED', topic.firstPostId);
    await denied(await setWiki(author, topic.firstPostId, true), 'FORBIDDEN', topic.firstPostId);
    await denied(await setWiki(other, own.id, true), 'FORBIDDEN', own.id);
    expect(expectOk(await setWiki(veteran, own.id, true)).setPostWiki.wiki).toBe(true);
    const once = await wikiRow(own.id);
    expect(expectOk(await setWiki(veteran, own.id, true)).setPostWiki.wiki).toBe(true);
    expect(await wikiRow(own.id)).toEqual(once);
    // The author's own switch is not a moderation action.
    expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1`, [own.id])).toEqual([]);
    // Once a wiki, another member edits it; still not theirs to switch back.
    expectOk(await edit(other, own.id, 'Improved how-to'));
    await denied(await setWiki(other, own.id, false), 'FORBIDDEN', own.id);
  });

  it('refuses what may not be edited, writing nothing: unreadable, deleted, an article, a locked topic, a silenced member', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const deleted = await reply(t, author.token, topic.id, 'Gone');
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: author.token }));
    await denied(await setWiki(mod, deleted.id, true), 'CONFLICT', deleted.id);

    const admin = await makeUser(t, { role: 'ADMIN' });
    const secret = await makeSpace(t, 'RESTRICTED');
    const hiddenTopic = await createTopic(t, admin.token, await makeBoard(t, secret.id));
    const member = await makeUser(t, { trustLevel: 4 });
    const res = await setWiki(member, hiddenTopic.firstPostId, true);
    expectNotFound(res, 'setPostWiki');
    expect(JSON.stringify(res)).not.toContain(hiddenTopic.id);
    expect(expectError(await setWiki(mod, 'not-an-id', true), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'postId', message: 'must be a post id' }]);

    const kb = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'KNOWLEDGE');
    const article = expectOk(
      await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { firstPost { id } } }`, { input: { boardId: kb, title: 'An article', body: 'Its text' } }, { token: admin.token }),
    ).createTopic.firstPost.id;
    await denied(await setWiki(admin, article, true), 'BAD_USER_INPUT', article);

    // A wiki in a topic locked since, or for a silenced member: read-only to them.
    const wiki = await createTopic(t, author.token, boardId);
    expectOk(await setWiki(mod, wiki.firstPostId, true));
    const silenced = await makeUser(t, { trustLevel: 2 });
    await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [silenced.id]);
    expectError(await edit(silenced, wiki.firstPostId, 'Silenced words'), 'FORBIDDEN');
    expectOk(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: wiki.id, locked: true } }, { token: mod.token }));
    expectError(await edit(member, wiki.firstPostId, 'Locked words'), 'FORBIDDEN');
    // Nor may its author, even from trust level 3, switch it in the locked topic; a moderator may.
    const veteran = await makeUser(t, { trustLevel: 3 });
    const own = await createTopic(t, veteran.token, boardId);
    expectOk(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: own.id, locked: true } }, { token: mod.token }));
    await denied(await setWiki(veteran, own.firstPostId, true), 'FORBIDDEN', own.firstPostId);
    expect(expectOk(await setWiki(mod, own.firstPostId, true)).setPostWiki.wiki).toBe(true);
    expect((await post(wiki.firstPostId)).bodyHtml).not.toMatch(/Silenced words|Locked words/);
  });

  it('leaves a wiki’s poll and held edits to its author and moderators', async () => {
    const topic = await createTopic(t, author.token, boardId);
    expectOk(await setWiki(mod, topic.firstPostId, true));
    const member = await makeUser(t, { trustLevel: 2 });
    const CREATE_POLL = `mutation($input: CreatePollInput!) { createPoll(input: $input) { id } }`;
    const poll = { postId: topic.firstPostId, question: 'Which day?', options: ['Monday', 'Friday'], kind: 'SINGLE', results: 'ALWAYS', publicVoters: false };
    expectError(await t.gql(CREATE_POLL, { input: poll }, { token: member.token }), 'FORBIDDEN');
    const pollId = expectOk(await t.gql(CREATE_POLL, { input: poll }, { token: author.token })).createPoll.id;
    expectError(await t.gql(`mutation($id: ID!) { closePoll(pollId: $id) { id } }`, { id: pollId }, { token: member.token }), 'FORBIDDEN');
    expectError(await t.gql(`mutation($id: ID!) { deletePoll(pollId: $id) }`, { id: pollId }, { token: member.token }), 'FORBIDDEN');
    expect(await t.sql(`SELECT closed_at FROM polls WHERE id = $1`, [pollId])).toEqual([{ closed_at: null }]);

    // An edit the posting checks would hold: the author's waits, a wiki editor's is refused and leaves the author's be.
    t.get(PostingPolicy).register({
      name: 'test-holds-wiki-edits',
      check: async (c, verdict) => {
        if (c.kind === 'edit' && c.body.includes('hold me')) {
          verdict.pending = true;
          verdict.reasons.push('held for the test');
        }
      },
    });
    const held = `mutation($input: EditPostInput!) { editPost(input: $input) { id pendingEdit { bodyHtml } } }`;
    expect(expectOk(await t.gql(held, { input: { postId: topic.firstPostId, body: 'The author’s edit, hold me' } }, { token: author.token })).editPost.pendingEdit.bodyHtml).toContain('author’s edit');
    const pending = await t.sql(`SELECT editor_id, body_source FROM post_pending_edits WHERE post_id = $1`, [topic.firstPostId]);
    expectError(await edit(member, topic.firstPostId, 'A member’s edit, hold me'), 'FORBIDDEN');
    expect(await t.sql(`SELECT editor_id, body_source FROM post_pending_edits WHERE post_id = $1`, [topic.firstPostId])).toEqual(pending);
  });

  it('keeps a hidden wiki to those who may see it: others neither read it as a wiki nor edit it', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const r = await reply(t, author.token, topic.id, 'A wiki soon hidden');
    expectOk(await setWiki(mod, r.id, true));
    await setPostState(t, r.id, 'HIDDEN');
    const member = await makeUser(t, { trustLevel: 2 });
    expect(await post(r.id, member)).toMatchObject({ wiki: false, bodyHtml: null });
    expectError(await edit(member, r.id, 'Edited while hidden'), 'FORBIDDEN');
    expect(await post(r.id, author)).toMatchObject({ wiki: true });
  });

  it('refuses a member’s edit of a wiki made a post again after the edit was checked, before its transaction locked the post', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const r = await reply(t, author.token, topic.id, 'A wiki about to be a post again');
    expectOk(await setWiki(mod, r.id, true));
    const member = await makeUser(t, { trustLevel: 1 });
    const draft = { target: { postId: r.id }, sequence: 0, body: 'Racing words' };
    expectOk(await t.gql(`mutation($input: SaveDraftInput!) { saveDraft(input: $input) { id } }`, { input: draft }, { token: member.token }));
    const before = await t.sql(`SELECT body_source, version, (SELECT count(*)::int FROM post_revisions WHERE post_id = $1) AS revisions FROM posts WHERE id = $1`, [r.id]);
    // The moderator's switch queues first behind a lock of the test's own, the member's edit
    // (checked already: the post is a wiki until the switch commits) second; both then go on in
    // that order, so the edit's transaction finds the post a post again.
    const [unwiked, edited] = await withLockHeld(t, `SELECT 1 FROM posts WHERE id = $1 FOR UPDATE`, [r.id], async (h) => {
      const unwiked = setWiki(mod, r.id, false);
      await h.waiting(1);
      const edited = edit(member, r.id, 'Racing words');
      await h.waiting(2);
      await h.release();
      return Promise.all([unwiked, edited]);
    });
    expect(expectOk(unwiked).setPostWiki.wiki).toBe(false);
    expectError(edited, 'FORBIDDEN');
    // Nothing of the edit: no text, no revision, its version moved by the switch alone (the one change
    // announced since, whose version it has); the member's draft of it stays.
    const [after] = await t.sql(`SELECT body_source, version, (SELECT count(*)::int FROM post_revisions WHERE post_id = $1) AS revisions FROM posts WHERE id = $1`, [r.id]);
    expect(after).toEqual({ ...before[0], version: after.version });
    const changes = await t.sql(`SELECT version FROM outbox WHERE aggregate_id = $1 AND type = 'post.updated' AND version > $2`, [r.id, before[0].version]);
    expect(changes).toEqual([{ version: after.version }]);
    expect(expectOk(await t.gql(`query($target: DraftTargetInput!) { draft(target: $target) { body } }`, { target: { postId: r.id } }, { token: member.token })).draft).toEqual({ body: 'Racing words' });
  });

  it('tells an author of others’ edits of their post, once an hour per post, not of their own, and of an ignored member’s too', async () => {
    const writer = await makeUser(t, { trustLevel: 1 });
    const [editorA, editorB, ignored] = [await makeUser(t, { trustLevel: 2 }), await makeUser(t, { trustLevel: 2 }), await makeUser(t, { trustLevel: 2 })];
    const topic = await createTopic(t, writer.token, boardId);
    const other = await reply(t, writer.token, topic.id, 'Another of the writer’s posts');
    expectOk(await setWiki(mod, topic.firstPostId, true));
    expectOk(await setWiki(mod, other.id, true));
    expectOk(await t.gql(`mutation($id: ID!) { ignoreUser(userId: $id) { id } }`, { id: ignored.id }, { token: writer.token }));
    const drain = () => t.get(OutboxWorker).drain();
    const edited = async () =>
      expectOk(await t.gql(`{ notifications(first: 50) { edges { node { kind actor { id } post { id } data } } } }`, {}, { token: writer.token }))
        .notifications.edges.map((e: any) => e.node)
        .filter((n: any) => n.kind === 'POST_EDITED');

    expectOk(await edit(writer, topic.firstPostId, 'The writer’s own change'));
    await drain();
    expect(await edited()).toEqual([]);

    expectOk(await edit(editorA, topic.firstPostId, 'A first improvement'));
    expectOk(await edit(editorB, topic.firstPostId, 'A second improvement, same hour'));
    // Ignoring someone does not hide that they changed one's post (a moderator may be a member one ignores).
    expectOk(await edit(ignored, other.id, 'An ignored member’s change'));
    expectOk(await edit(mod, other.id, 'A moderator’s fix, same hour'));
    await drain();
    const told = await edited();
    expect(told).toHaveLength(2);
    expect(told).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: { id: editorA.id }, post: { id: topic.firstPostId } }),
        expect.objectContaining({ actor: { id: ignored.id }, post: { id: other.id } }),
      ]),
    );
  });

  it('tells the topic’s room when a post becomes a wiki', async () => {
    const topic = await createTopic(t, author.token, boardId);
    const reader = await makeUser(t);
    const s = await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, reader.token);
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const updated = heardLive<{ topicId: string; post: { id: string; wiki: boolean } }>(s, 'post:updated');
    expectOk(await setWiki(mod, topic.firstPostId, true));
    await t.get(OutboxWorker).drain();
    // The post's push that says it is a wiki, not an earlier one of the room's (the topic's own creation still on its way).
    expect(await updated.first((e) => e.post?.id === topic.firstPostId && e.post.wiki === true)).toMatchObject({ topicId: topic.id, post: { id: topic.firstPostId, wiki: true } });
  });
});
