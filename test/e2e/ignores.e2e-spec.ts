import { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { newId } from '../../libs/core/src/ids';
import { MAX_IGNORED } from '../../libs/identity/src/users/ignores';
import { EmailDigest } from '../../libs/notifications/src/email';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { kb, publishedArticle, topicOf } from '../factories/knowledge';
import { IgnoresOfDeletedAccounts1765137600000 } from '../../migrations/1765137600000-ignores-of-deleted-accounts';
import { redoMigration } from '../support/migrations';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const IGNORE = `mutation($id: ID!) { ignoreUser(userId: $id) { id ignoredByMe } }`;
const UNIGNORE = `mutation($id: ID!) { unignoreUser(userId: $id) { id ignoredByMe } }`;

describe('ignoring a member', () => {
  let t: TestApp;
  let board: string;
  beforeAll(async () => {
    t = await bootTestApp();
    board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(() => t.close());

  const drain = () => t.get(OutboxWorker).drain();
  const kinds = async (u: TestUser) => (await t.sql(`SELECT kind FROM notifications WHERE user_id = $1 ORDER BY created_at, id`, [u.id])).map((r) => r.kind);

  it('keeps everything they do from notifying you, and tells only you, post by post, that you ignore them', async () => {
    const [me, pest, friend] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const mine = await createTopic(t, me.token, board);
    await drain(); // I watch my topic
    expect(expectOk(await t.gql(IGNORE, { id: pest.id }, { token: me.token })).ignoreUser).toEqual({ id: pest.id, ignoredByMe: true });
    const pestReply = await reply(t, pest.token, mine.id, `@${me.handle} listen to me`);
    expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: mine.firstPostId, kind: 'LIKE' } }, { token: pest.token }));
    await reply(t, friend.token, mine.id, 'a friendly reply');
    await drain();
    expect(await kinds(me)).toEqual(['WATCHED_REPLY']);
    // Their posts are marked for me to fold away; not for anyone else, nor for the signed out.
    const PAGE = `query($id: ID!) { topic(id: $id) { posts(first: 10) { edges { node { id fromIgnoredUser author { id ignoredByMe } } } } } }`;
    const flags = async (token?: string) =>
      expectOk(await t.gql(PAGE, { id: mine.id }, { token })).topic.posts.edges.map((e: any) => [e.node.id === pestReply.id, e.node.fromIgnoredUser, e.node.author.ignoredByMe]);
    expect(await flags(me.token)).toEqual([[false, false, false], [true, true, true], [false, false, false]]);
    expect(await flags(friend.token)).toEqual([[false, false, false], [true, false, false], [false, false, false]]);
    expect(await flags(undefined)).toEqual([[false, false, null], [true, false, null], [false, false, null]]);
    expect(expectOk(await t.gql(`{ ignoredUsers { id } }`, {}, { token: me.token })).ignoredUsers).toEqual([{ id: pest.id }]);
    expect(expectOk(await t.gql(`{ ignoredUsers { id } }`, {}, { token: friend.token })).ignoredUsers).toEqual([]);
    // No longer ignored: heard again.
    expect(expectOk(await t.gql(UNIGNORE, { id: pest.id }, { token: me.token })).unignoreUser.ignoredByMe).toBe(false);
    await reply(t, pest.token, mine.id, `@${me.handle} hello again`);
    await drain();
    expect(await kinds(me)).toEqual(['WATCHED_REPLY', 'MENTION']);
  });

  const LIST = `query($unread: Boolean) { notifications(first: 10, unreadOnly: $unread) { totalCount edges { node { kind actor { handle } } } } }`;
  const listed = async (u: TestUser, unread = false) => {
    const list = expectOk(await t.gql(LIST, { unread }, { token: u.token })).notifications;
    return { total: list.totalCount, actors: list.edges.map((e: any) => `${e.node.kind} @${e.node.actor.handle}`) };
  };

  it('leaves out what they did before you ignored them, in the list, its counts and the e-mail; unignoring brings it back to the list', async () => {
    const [me, pest, friend] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    await createTopic(t, pest.token, board, { title: 'Before the ignore', body: `@${me.handle} look at this` });
    await createTopic(t, friend.token, board, { title: 'From a friend', body: `@${me.handle} and this` });
    await drain();
    expect((await listed(me)).actors).toEqual([`MENTION @${friend.handle}`, `MENTION @${pest.handle}`]);
    expectOk(await t.gql(IGNORE, { id: pest.id }, { token: me.token }));
    expect(await listed(me)).toEqual({ total: 1, actors: [`MENTION @${friend.handle}`] });
    expect(await listed(me, true)).toEqual({ total: 1, actors: [`MENTION @${friend.handle}`] });
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [me.id]);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === me.email);
    expect(mail.subject).toBe('1 new notification on Parvis');
    expect(mail.text).toContain(`@${friend.handle} mentioned you`);
    expect(mail.text).not.toContain(pest.handle);
    expect(mail.text).not.toContain('Before the ignore');
    // Counted as the list counts: theirs is marked read too, but not counted.
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: me.token })).markNotificationsRead).toBe(1);
    expectOk(await t.gql(UNIGNORE, { id: pest.id }, { token: me.token }));
    expect(await listed(me)).toEqual({ total: 2, actors: [`MENTION @${friend.handle}`, `MENTION @${pest.handle}`] });
    // Old news by then: it is back in the list, not e-mailed late.
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [me.id]);
    await t.sql(`UPDATE notifications SET read_at = NULL WHERE user_id = $1`, [me.id]);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === me.email)).toEqual([]);
  });

  const react = async (u: TestUser, postId: string) =>
    expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId, kind: 'LIKE' } }, { token: u.token }));
  const BATCHES = `query($unread: Boolean) { notifications(first: 10, unreadOnly: $unread) { totalCount edges { node { kind data topic { title } actor { handle } } } } }`;
  /** The recipient's reaction batches as they see them, by topic title: who is named, how many, and who. */
  const batches = async (u: TestUser, unread = false) => {
    const list = expectOk(await t.gql(BATCHES, { unread }, { token: u.token })).notifications;
    const seen = list.edges
      .filter((e: any) => e.node.kind === 'REACTIONS')
      .map((e: any) => {
        const data = JSON.parse(e.node.data);
        return [e.node.topic.title, `@${e.node.actor?.handle}`, data.count, data.reactors];
      })
      .sort((a: string[], b: string[]) => (a[0] < b[0] ? -1 : 1));
    return { total: list.totalCount, seen };
  };

  it('shows a batch of reactions that holds someone you do not ignore as if the ignored had not reacted: named after the first other reactor and counted without them, in the list, its counts, markNotificationsRead and the e-mail', async () => {
    const [me, pest, friend, other] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t)];
    const pestFirst = await createTopic(t, me.token, board, { title: 'Liked by a pest first' });
    const friendFirst = await createTopic(t, me.token, board, { title: 'Liked by a friend first' });
    const pestAlone = await createTopic(t, me.token, board, { title: 'Liked by the pest alone' });
    // All before the ignore: the pest is in each batch, and names the first and the last.
    for (const u of [pest, friend, other]) await react(u, pestFirst.firstPostId);
    for (const u of [friend, pest]) await react(u, friendFirst.firstPostId);
    await react(pest, pestAlone.firstPostId);
    await drain();
    expect((await batches(me)).seen).toEqual([
      ['Liked by a friend first', `@${friend.handle}`, 2, [friend.id, pest.id]],
      ['Liked by a pest first', `@${pest.handle}`, 3, [pest.id, friend.id, other.id]],
      ['Liked by the pest alone', `@${pest.handle}`, 1, [pest.id]],
    ]);
    expectOk(await t.gql(IGNORE, { id: pest.id }, { token: me.token }));
    const seen = [
      ['Liked by a friend first', `@${friend.handle}`, 1, [friend.id]],
      ['Liked by a pest first', `@${friend.handle}`, 2, [friend.id, other.id]],
    ];
    expect(await batches(me)).toEqual({ total: 2, seen });
    expect(await batches(me, true)).toEqual({ total: 2, seen });
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [me.id]);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === me.email);
    expect(mail.subject).toBe('2 new notifications on Parvis');
    expect(mail.text.split('\n').filter((line) => line.includes('reacted')).sort()).toEqual([
      expect.stringMatching(new RegExp(`^• @${friend.handle} and 1 other reacted to your post — “Liked by a pest first” `)),
      expect.stringMatching(new RegExp(`^• @${friend.handle} reacted to your post — “Liked by a friend first” `)),
    ]);
    expect(mail.text).not.toContain(pest.handle);
    expect(mail.text).not.toContain('Liked by the pest alone');
    // Counted as the list counts: the pest's own batch is marked read too, but not counted.
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: me.token })).markNotificationsRead).toBe(2);
    expect(await batches(me, true)).toEqual({ total: 0, seen: [] });
    // Nothing was rewritten: unignoring shows the batches as they were.
    expectOk(await t.gql(UNIGNORE, { id: pest.id }, { token: me.token }));
    expect((await batches(me)).seen).toEqual([
      ['Liked by a friend first', `@${friend.handle}`, 2, [friend.id, pest.id]],
      ['Liked by a pest first', `@${pest.handle}`, 3, [pest.id, friend.id, other.id]],
      ['Liked by the pest alone', `@${pest.handle}`, 1, [pest.id]],
    ]);
  });

  it('keeps a batch of reactions hidden when you ignore everyone in it, and goes by its actor alone for one from before batches listed their reactors', async () => {
    const [me, pest, pest2, friend] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t)];
    const pests = await createTopic(t, me.token, board, { title: 'Liked by two pests' });
    for (const u of [pest, pest2]) await react(u, pests.firstPostId);
    await drain();
    for (const u of [pest, pest2]) expectOk(await t.gql(IGNORE, { id: u.id }, { token: me.token }));
    // Older batches: a count and an actor, no list of reactors.
    const older = await createTopic(t, me.token, board, { title: 'Older batches' });
    for (const [source, actor] of [['reactions:older-pest', pest], ['reactions:older-friend', friend]] as const) {
      await t.sql(`INSERT INTO notifications (id, user_id, kind, topic_id, post_id, actor_id, data, source) VALUES (gen_random_uuid(), $1, 'REACTIONS', $2, $3, $4, '{"count": 3}', $5)`, [
        me.id, older.id, older.firstPostId, actor.id, source,
      ]);
    }
    const seen = [['Older batches', `@${friend.handle}`, 3, undefined]];
    expect(await batches(me)).toEqual({ total: 1, seen });
    expect(await batches(me, true)).toEqual({ total: 1, seen });
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [me.id]);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === me.email);
    expect(mail.subject).toBe('1 new notification on Parvis');
    expect(mail.text).toContain(`@${friend.handle} and 2 others reacted to your post — “Older batches”`);
    expect(mail.text).not.toContain('Liked by two pests');
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: me.token })).markNotificationsRead).toBe(1);
  });

  it('pushes a batch of reactions live as you see it: without the reactors you ignore, and not at all when you ignore them all', async () => {
    const [me, pest, friend] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const topic = await createTopic(t, me.token, board, { title: 'Liked live' });
    await react(pest, topic.firstPostId);
    await drain();
    expectOk(await t.gql(IGNORE, { id: pest.id }, { token: me.token }));
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const s = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: me.token }, reconnection: false, forceNew: true });
    try {
      await new Promise<void>((r) => s.once('connect', () => r()));
      const pushed: any[] = [];
      s.on('notification', (n: any) => pushed.push(n));
      const next = () => new Promise<void>((r) => s.once('notification', () => r()));
      // The friend's reaction joins the batch the pest started: it comes as the friend's alone.
      let arrived = next();
      await react(friend, topic.firstPostId);
      await drain();
      await arrived;
      expect(pushed.map((n) => [n.kind, n.actorId, n.data])).toEqual([['REACTIONS', friend.id, { count: 1, reactors: [friend.id] }]]);
      // A batch of the pest's alone (ignored between its delivery and its push), then another
      // notification, each announced as delivery announces it: only the other one goes out.
      const other = await createTopic(t, me.token, board, { title: 'Liked by the pest alone, live' });
      const announce = (kind: string, actor: TestUser, data: object, source: string) =>
        t.sql(
          `WITH n AS (INSERT INTO notifications (id, user_id, kind, topic_id, post_id, actor_id, data, source)
                      VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7) RETURNING id, user_id)
           SELECT pg_notify('parvis_notifications', json_build_object('userId', n.user_id, 'id', n.id)::text) FROM n`,
          [me.id, kind, other.id, other.firstPostId, actor.id, JSON.stringify(data), source],
        );
      arrived = next();
      await announce('REACTIONS', pest, { count: 1, reactors: [pest.id] }, 'reactions:live-pest');
      await announce('WATCHED_REPLY', friend, {}, 'live-friend');
      await arrived;
      expect(pushed.slice(1).map((n) => [n.kind, n.actorId])).toEqual([['WATCHED_REPLY', friend.id]]);
    } finally {
      s.disconnect();
    }
  });

  it('shows again what someone you ignore did before, once they are made staff', async () => {
    const [me, later, admin] = [await makeUser(t), await makeUser(t), await makeUser(t, { role: 'ADMIN' })];
    await createTopic(t, later.token, board, { body: `@${me.handle} a word before` });
    await drain();
    expectOk(await t.gql(IGNORE, { id: later.id }, { token: me.token }));
    expect(await listed(me)).toEqual({ total: 0, actors: [] });
    expectOk(await t.gql(`mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id } }`, { input: { userId: later.id, role: 'MODERATOR' } }, { token: admin.token }));
    expect(await listed(me)).toEqual({ total: 1, actors: [`MENTION @${later.handle}`] });
  });

  it('still brings the steps they take as a space moderator (an idea’s status), not their words', async () => {
    const [voter, spaceMod] = [await makeUser(t), await makeUser(t)];
    const ideas = await makeBoard(t, (await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }])).id, 'IDEAS');
    const idea = await createTopic(t, voter.token, ideas, { kind: 'IDEA', title: 'Dark mode please' });
    await drain();
    expectOk(await t.gql(IGNORE, { id: spaceMod.id }, { token: voter.token }));
    await reply(t, spaceMod.token, idea.id, 'a comment from the moderator');
    expectOk(await t.gql(`mutation($input: SetIdeaStatusInput!) { setIdeaStatus(input: $input) { id } }`, { input: { topicId: idea.id, status: 'PLANNED' } }, { token: spaceMod.token }));
    await drain();
    expect(await kinds(voter)).toEqual(['IDEA_STATUS']);
  });

  it('keeps what they write about your article (not-helpful feedback) from you too', async () => {
    const [owner, critic, editor] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const kbBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id, 'KNOWLEDGE');
    const article = await publishedArticle(t, owner.token, editor.token, kbBoard, { title: 'Ignored feedback' });
    await drain();
    expectOk(await t.gql(IGNORE, { id: critic.id }, { token: owner.token }));
    topicOf(await kb(t).rate(critic.token, { topicId: article, helpful: false, comment: 'This is all wrong, fix it' }));
    await drain();
    expect((await kinds(owner)).filter((k) => k === 'ARTICLE_FEEDBACK')).toEqual([]);
  });

  it('stops ignoring someone once they are made staff: their notices reach you', async () => {
    const [me, admin] = [await makeUser(t), await makeUser(t, { role: 'ADMIN' })];
    const later = await makeUser(t);
    const mine = await createTopic(t, me.token, board);
    await drain();
    expectOk(await t.gql(IGNORE, { id: later.id }, { token: me.token }));
    expectOk(await t.gql(`mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id } }`, { input: { userId: later.id, role: 'MODERATOR' } }, { token: admin.token }));
    await reply(t, later.token, mine.id, `@${me.handle} a moderator's notice`);
    await drain();
    expect(await kinds(me)).toEqual(['MENTION']);
    expect(expectOk(await t.gql(`query($h: String!) { user(handle: $h) { ignoredByMe } }`, { h: later.handle }, { token: me.token })).user.ignoredByMe).toBe(false);
  });

  it('refuses yourself, staff, unknown people and the signed out', async () => {
    const me = await makeUser(t);
    expectError(await t.gql(IGNORE, { id: me.id }, { token: me.token }), 'BAD_USER_INPUT');
    // Their id in capitals is theirs too (an ID argument is read as the API writes ids).
    expect(expectError(await t.gql(IGNORE, { id: me.id.toUpperCase() }, { token: me.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'userId', message: 'you cannot ignore yourself' }]);
    expectError(await t.gql(IGNORE, { id: (await makeUser(t, { role: 'MODERATOR' })).id }, { token: me.token }), 'FORBIDDEN');
    expectError(await t.gql(IGNORE, { id: newId() }, { token: me.token }), 'NOT_FOUND');
    expectError(await t.gql(IGNORE, { id: 'nobody' }, { token: me.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(IGNORE, { id: me.id }), 'UNAUTHENTICATED');
    expectError(await t.gql(`{ ignoredUsers { id } }`), 'UNAUTHENTICATED');
    expect(await t.sql(`SELECT 1 FROM user_ignores WHERE user_id = $1`, [me.id])).toEqual([]);
  });

  it('answers NOT_FOUND for a deleted account, ignored or unignored, writing nothing', async () => {
    const [me, admin, gone] = [await makeUser(t), await makeUser(t, { role: 'ADMIN' }), await makeUser(t)];
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, { token: admin.token }));
    expectError(await t.gql(IGNORE, { id: gone.id }, { token: me.token }), 'NOT_FOUND');
    expectError(await t.gql(UNIGNORE, { id: gone.id }, { token: me.token }), 'NOT_FOUND');
    expect(await t.sql(`SELECT 1 FROM user_ignores WHERE user_id = $1`, [me.id])).toEqual([]);
  });

  it('ignores an imported author (a placeholder) as anyone: their posts fold away, they are listed, and unignoring them works', async () => {
    const [me, author] = [await makeUser(t), await makeUser(t)];
    const imported = await createTopic(t, author.token, board);
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [author.id]);
    const POST = `query($id: ID!) { post(id: $id) { fromIgnoredUser author { ignoredByMe } } }`;
    const folded = async () => expectOk(await t.gql(POST, { id: imported.firstPostId }, { token: me.token })).post;
    expect(expectOk(await t.gql(IGNORE, { id: author.id }, { token: me.token })).ignoreUser).toEqual({ id: author.id, ignoredByMe: true });
    expect(await folded()).toEqual({ fromIgnoredUser: true, author: { ignoredByMe: true } });
    expect(expectOk(await t.gql(`{ ignoredUsers { id } }`, {}, { token: me.token })).ignoredUsers).toEqual([{ id: author.id }]);
    expect(expectOk(await t.gql(UNIGNORE, { id: author.id }, { token: me.token })).unignoreUser).toEqual({ id: author.id, ignoredByMe: false });
    expect(await folded()).toEqual({ fromIgnoredUser: false, author: { ignoredByMe: false } });
    expect(await t.sql(`SELECT 1 FROM user_ignores WHERE user_id = $1`, [me.id])).toEqual([]);
  });

  it('drops, by migration, the ignores of or by deleted accounts earlier releases could leave, and keeps the others', async () => {
    const [me, admin, gone, goneToo, kept] = [await makeUser(t), await makeUser(t, { role: 'ADMIN' }), await makeUser(t), await makeUser(t), await makeUser(t)];
    expectOk(await t.gql(IGNORE, { id: kept.id }, { token: me.token }));
    for (const u of [gone, goneToo]) expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: u.id }, { token: admin.token }));
    // As an earlier release could leave them: an ignore of a deleted account, and one by another.
    await t.sql(`INSERT INTO user_ignores (user_id, ignored_user_id) VALUES ($1, $2), ($3, $1)`, [me.id, gone.id, goneToo.id]);
    await redoMigration(t, new IgnoresOfDeletedAccounts1765137600000());
    const rows = await t.sql(`SELECT user_id, ignored_user_id FROM user_ignores WHERE $1 IN (user_id, ignored_user_id) ORDER BY 1, 2`, [me.id]);
    expect(rows).toEqual([{ user_id: me.id, ignored_user_id: kept.id }]);
    expect(expectOk(await t.gql(`{ ignoredUsers { id } }`, {}, { token: me.token })).ignoredUsers).toEqual([{ id: kept.id }]);
  });

  it(`ignores at most ${MAX_IGNORED} people; ignoring one again is harmless`, async () => {
    const me = await makeUser(t);
    const last = await makeUser(t);
    const first = await makeUser(t);
    expectOk(await t.gql(IGNORE, { id: first.id }, { token: me.token }));
    await t.sql(
      `WITH made AS (INSERT INTO users (id, email, handle, display_name) SELECT gen_random_uuid(), 'x' || i || $2, 'x' || i || $2, 'x' FROM generate_series(2, $3) i RETURNING id)
       INSERT INTO user_ignores (user_id, ignored_user_id) SELECT $1, id FROM made`,
      [me.id, me.handle, MAX_IGNORED],
    );
    expectOk(await t.gql(IGNORE, { id: first.id }, { token: me.token }));
    expect(expectError(await t.gql(IGNORE, { id: last.id }, { token: me.token }), 'BAD_USER_INPUT').message).toMatch(new RegExp(`${MAX_IGNORED} people`));
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM user_ignores WHERE user_id = $1`, [me.id]);
    expect(n).toBe(MAX_IGNORED);
  });
});
