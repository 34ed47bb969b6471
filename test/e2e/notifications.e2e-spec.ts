import { AddressInfo } from 'node:net';
import { io, Socket } from 'socket.io-client';
import { OutboxEvent, OutboxHandlers, OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { NotificationDraft, NotificationsHandler } from '../../libs/notifications/src/notifications.handler';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState, setTopicState } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { ReactionsActorStillReacting1764813600000 } from '../../migrations/1764813600000-reactions-actor-still-reacting';
import { TopicRemovalNotices1764946800000 } from '../../migrations/1764946800000-topic-removal-notices';
import { NotificationSubjectIds1765008000000 } from '../../migrations/1765008000000-notification-subject-ids';
import { redoMigration } from '../support/migrations';
import { holdLock } from '../support/row-locks';
import { heardLive, pushedSoFar } from '../support/live-client';

const LIST = `query($u: Boolean) { notifications(first: 50, unreadOnly: $u) { totalCount edges { node { id kind data readAt topic { id } post { id } actor { id } } } } }`;

describe('notifications and watching', () => {
  let t: TestApp;
  let board: string;
  let author: TestUser;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    author = await makeUser(t);
    board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const drain = () => t.get(OutboxWorker).drain();
  // The statements the handler runs on a batch, what it pushes live left out.
  const handleCost = async (events: OutboxEvent[]) => {
    const unpushed = jest.spyOn(t.get(LiveGateway) as unknown as { pushNotification: () => Promise<void> }, 'pushNotification').mockResolvedValue(undefined);
    try {
      return await t.countStatements(() => t.get(NotificationsHandler).handle(events));
    } finally {
      unpushed.mockRestore();
    }
  };
  const kinds = async (u: TestUser) =>
    expectOk(await t.gql(LIST, {}, { token: u.token })).notifications.edges.map((e: any) => e.node.kind);

  it('notifies mentions, replies to your post, and watchers — once each, never the actor', async () => {
    const mentioned = await makeUser(t);
    const replier = await makeUser(t);
    const topic = await createTopic(t, author.token, board);
    await drain(); // the author now watches the topic
    const first = await reply(t, replier.token, topic.id, 'first reply');
    await reply(t, replier.token, topic.id, `@${mentioned.handle} look`, first.id);
    await drain();
    await drain();
    expect(await kinds(author)).toEqual(['WATCHED_REPLY', 'WATCHED_REPLY']);
    expect(await kinds(mentioned)).toEqual(['MENTION']);
    expect(await kinds(replier)).toEqual([]);
    // Redelivery of the same events creates nothing new.
    await t.sql(`UPDATE outbox SET processed_at = NULL`);
    await drain();
    expect(await kinds(author)).toHaveLength(2);
  });

  it('tells an imported author’s placeholder nothing: its mention still links, but no mention, reply, reaction, watched reply or sanction is stored for it', async () => {
    const [placeholder, friend, writer, admin] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t, { role: 'ADMIN' })];
    // Its topic, which it watches (as its author; an import writes no watch, but nothing stops one).
    const topic = await createTopic(t, placeholder.token, board);
    await drain();
    await t.sql(`UPDATE users SET is_placeholder = true WHERE id = $1`, [placeholder.id]);
    const mention = await reply(t, writer.token, topic.id, `@${placeholder.handle} and @${friend.handle}, look`);
    await reply(t, writer.token, topic.id, 'an answer to the imported post', topic.firstPostId);
    await reply(t, writer.token, topic.id, 'news in the topic it watches');
    expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: friend.token }));
    const input = { userId: placeholder.id, kind: 'SILENCE', reason: 'Imported spam', durationHours: 1 };
    expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input }, { token: admin.token }));
    await drain();
    await drain();
    expect(mention.bodyHtml).toContain(`href="/u/${placeholder.handle.toLowerCase()}"`);
    expect(await t.sql(`SELECT kind FROM notifications WHERE user_id = $1`, [placeholder.id])).toEqual([]);
    expect(await kinds(friend)).toEqual(['MENTION']);
  });

  it('tells people an edit mentions, once, unless they heard of the post already or muted its topic', async () => {
    const writer = await makeUser(t);
    const [before, added, muting] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const topic = await createTopic(t, author.token, board);
    const r = await reply(t, writer.token, topic.id, `@${before.handle} first`);
    await drain();
    expect(await kinds(before)).toEqual(['MENTION']);
    expectOk(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: topic.id, level: 'MUTED' } }, { token: muting.token }));
    // Muting the board mutes its topics too.
    const boardMuting = await makeUser(t);
    expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: board, level: 'MUTED' } }, { token: boardMuting.token }));
    const edit = (body: string) => t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body } }, { token: writer.token });
    expectOk(await edit(`@${before.handle} and @${added.handle} and @${muting.handle} and @${boardMuting.handle} and @${writer.handle}`));
    await drain();
    expect(await kinds(added)).toEqual(['MENTION']);
    expect(await kinds(before)).toEqual(['MENTION']);
    expect(await kinds(muting)).toEqual([]);
    expect(await kinds(boardMuting)).toEqual([]);
    expect(await kinds(writer)).toEqual([]);
    // Edited again (still mentioning them): nobody hears twice.
    expectOk(await edit(`@${before.handle} and @${added.handle}, typo fixed`));
    await drain();
    expect(await kinds(added)).toEqual(['MENTION']);
    const [n] = expectOk(await t.gql(LIST, {}, { token: added.token })).notifications.edges;
    expect(n.node).toMatchObject({ kind: 'MENTION', post: { id: r.id }, actor: { id: writer.id } });
    // A moderator's edit that names someone: the moderator is who mentioned them.
    const mod = await makeUser(t, { role: 'MODERATOR' });
    const namedByMod = await makeUser(t);
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body: `@${namedByMod.handle} and @${mod.handle} and @${writer.handle} tidied`, reason: 'tidy' } }, { token: mod.token }));
    await drain();
    const [m] = expectOk(await t.gql(LIST, {}, { token: namedByMod.token })).notifications.edges;
    expect(m.node).toMatchObject({ kind: 'MENTION', post: { id: r.id }, actor: { id: mod.id } });
    expect(await kinds(mod)).toEqual([]); // not told of their own mention
    // The post's author named in another's edit of it hears of the edit, not of a mention (an
    // article's author is told of a teammate's mention: that rule is the knowledge base's alone).
    expect(await kinds(writer)).toEqual(['POST_EDITED']);
  });

  it('counts news of a post edited since its reader last read up to their mark unread, though they read an earlier post since', async () => {
    const writer = await makeUser(t);
    const [back, again, past] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const topic = await createTopic(t, author.token, board);
    await drain();
    // News of the reply waits for the worker; all read up to it as it was first written, one of
    // them on to a later reply, which is held for approval again afterwards.
    const r = await reply(t, writer.token, topic.id, `@${back.handle} @${again.handle} @${past.handle}, a first draft`);
    const later = await reply(t, writer.token, topic.id, 'A later reply');
    const MARK = `mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`;
    const mark = async (u: TestUser, postNumber: number) => expectOk(await t.gql(MARK, { input: { topicId: topic.id, postNumber } }, { token: u.token }));
    for (const u of [back, again]) await mark(u, r.number);
    await mark(past, later.number);
    await setPostState(t, later.id, 'PENDING');
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body: `@${back.handle} @${again.handle} @${past.handle}, a second draft` } }, { token: writer.token }));
    // One goes back to the first post: the edited reply is no more read than before (before: the
    // mark's time was taken anew, and the edit counted read). Another reads up to it again; the
    // third to the last post they are shown, before their mark (the held one).
    await mark(back, 1);
    await mark(again, r.number);
    await mark(past, later.number);
    await drain();
    const unread = async (u: TestUser) => expectOk(await t.gql(LIST, { u: true }, { token: u.token })).notifications.edges.map((e: any) => e.node.kind);
    expect([await unread(back), await unread(again), await unread(past)]).toEqual([['MENTION'], [], []]);
    // Their marks stay where they were.
    const marks = await t.sql(`SELECT user_id, last_read_number FROM topic_reads WHERE topic_id = $1 AND user_id = ANY($2::uuid[])`, [topic.id, [back.id, again.id, past.id]]);
    expect(Object.fromEntries(marks.map((m: any) => [m.user_id, m.last_read_number]))).toEqual({ [back.id]: r.number, [again.id]: r.number, [past.id]: later.number });
  });

  it('respects watch levels: MUTED hears nothing, WATCHING a board hears every reply', async () => {
    const follower = await makeUser(t);
    const owner = await makeUser(t);
    const topic = await createTopic(t, owner.token, board);
    await drain();
    expect(expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: board, level: 'WATCHING' } }, { token: follower.token })));
    const muted = expectOk(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { viewerWatchLevel } }`, { input: { topicId: topic.id, level: 'MUTED' } }, { token: owner.token }));
    expect(muted.watchTopic.viewerWatchLevel).toBe('MUTED');
    await reply(t, (await makeUser(t)).token, topic.id, 'hello');
    await drain();
    expect(await kinds(owner)).toEqual([]);
    expect(await kinds(follower)).toEqual(['WATCHED_REPLY']);
    expectError(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: topic.id, level: 'LOUD' } }, { token: owner.token }), 'BAD_USER_INPUT');
  });

  it('tells a board’s watchers of its new topics, and keeps them hearing replies after they reply themselves', async () => {
    const own = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const follower = await makeUser(t);
    expectOk(await t.gql(`mutation($input: WatchBoardInput!) { watchBoard(input: $input) { id } }`, { input: { boardId: own, level: 'WATCHING' } }, { token: follower.token }));
    const topic = await createTopic(t, author.token, own);
    await drain();
    expect(await kinds(follower)).toEqual(['NEW_TOPIC']);
    await reply(t, follower.token, topic.id, 'my own reply');
    await drain();
    await reply(t, (await makeUser(t)).token, topic.id, 'and another reply');
    await drain();
    expect(await kinds(follower)).toEqual(['WATCHED_REPLY', 'NEW_TOPIC']);
    const level = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { viewerWatchLevel } }`, { id: topic.id }, { token: follower.token })).topic.viewerWatchLevel;
    expect(level).toBe('WATCHING');
  });

  it('tells people they were quoted, and nobody that they accepted their own answer', async () => {
    const quoted = await makeUser(t);
    const asker = await makeUser(t);
    const question = await createTopic(t, asker.token, board, { kind: 'QUESTION', title: 'Quote me' });
    const original = await reply(t, quoted.token, question.id, 'the original words');
    await drain();
    await reply(t, (await makeUser(t)).token, question.id, `[quote post=${original.id}]\nthe original words\n[/quote]\n\nAgreed.`);
    const own = await reply(t, asker.token, question.id, 'found it myself');
    expectOk(await t.gql(`mutation($p: ID!) { acceptAnswer(postId: $p) { id } }`, { p: own.id }, { token: asker.token }));
    await drain();
    expect(await kinds(quoted)).toEqual(['QUOTED']);
    expect(await kinds(asker)).not.toContain('ANSWER_ACCEPTED');
    // A reply to the post that also quotes it is a reply (its e-mail setting applies).
    await reply(t, (await makeUser(t)).token, question.id, `[quote post=${original.id}]\nthe original words\n[/quote]\n\nReplying.`, original.id);
    await drain();
    expect(await kinds(quoted)).toEqual(['REPLY', 'QUOTED']);
  });

  it('never notifies about content the recipient may not read', async () => {
    const staff = await makeGroup(t);
    const insider = await makeUser(t, { groups: [staff] });
    const customer = await makeUser(t);
    const internalBoard = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id);
    const topic = await createTopic(t, insider.token, internalBoard, { body: `hey @${customer.handle}, secret plans` });
    await drain();
    expect(await kinds(customer)).toEqual([]);
    expect((await t.sql(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1`, [customer.id]))[0].n).toBe(0);
    // Let in later, they are not told of that old mention by an edit that only fixes a typo:
    // an edit tells of the mentions it adds.
    await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [staff, customer.id]);
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: topic.firstPostId, body: `hey @${customer.handle}, secret plans (typo)` } }, { token: insider.token }));
    await drain();
    expect(await kinds(customer)).toEqual([]);
  });

  it('checks a notification again as it is pushed live: one about a post hidden since it was written does not go out', async () => {
    const reader = await makeUser(t);
    const topic = await createTopic(t, author.token, board);
    const hidden = await reply(t, author.token, topic.id, 'soon hidden');
    const shown = await reply(t, author.token, topic.id, 'still there');
    await setPostState(t, hidden.id, 'HIDDEN');
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const s = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: reader.token }, reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const got: string[] = [];
    s.on('notification', (n: any) => got.push(n.postId));
    // Written as delivery would have written them a moment before the post was hidden, and
    // announced on the channel: the hidden one's push is refused, the other goes out.
    for (const post of [hidden, shown]) {
      await t.sql(
        `WITH n AS (INSERT INTO notifications (id, user_id, kind, topic_id, post_id, actor_id, data, source)
                    VALUES (gen_random_uuid(), $1, 'WATCHED_REPLY', $2, $3::uuid, $4, '{}', 'push-check:' || $3::text) RETURNING id, user_id)
         SELECT pg_notify('parvis_notifications', json_build_object('userId', n.user_id, 'id', n.id)::text) FROM n`,
        [reader.id, topic.id, post.id, author.id],
      );
    }
    // Everything pushed for them has arrived (no fixed wait: it proved less the slower the machine).
    await pushedSoFar(t, [s]);
    expect(got).toEqual([shown.id]);
  });

  it('pushes a notification live once, however often its outbox batch is tried again after another handler failed', async () => {
    const [owner, replier, fan] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const topic = await createTopic(t, owner.token, board);
    await drain();
    const s = io(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, { path: '/socket.io', transports: ['websocket'], auth: { token: owner.token }, reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const pushed: Array<{ id: string; kind: string; postId: string | null }> = [];
    s.on('notification', (n: any) => pushed.push({ id: n.id, kind: n.kind, postId: n.postId }));
    // A handler after the notifications' that fails on a reply's and a reaction's events: their
    // batch fails, is tried again event by event, then later again, each time with every handler.
    let failing = true;
    let failures = 0;
    t.get(OutboxHandlers).register({
      name: 'test-flaky-after-notifications',
      handles: (type) => type === 'post.created' || type === 'reaction.updated',
      handle: async () => {
        if (!failing) return;
        failures++;
        throw new Error('flaky');
      },
    });
    let r: { id: string };
    try {
      r = await reply(t, replier.token, topic.id, 'a reply');
      expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: fan.token }));
      await drain();
      await t.sql(`UPDATE outbox SET available_at = now() WHERE processed_at IS NULL`);
      await drain();
      failing = false;
      await t.sql(`UPDATE outbox SET available_at = now() WHERE processed_at IS NULL`);
      await drain();
    } finally {
      failing = false;
    }
    // Twice the batch of the two, then each event alone: the notifications' handler ran five times on each.
    expect(failures).toBe(6);
    expect(await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE processed_at IS NULL`)).toEqual([{ n: 0 }]);
    // A later notice, whose NOTIFY comes after every earlier one: once it is pushed, and the pushes
    // under way are done, and the server answered an acknowledged message on the same connection,
    // every push that was coming has come.
    const later = await reply(t, replier.token, topic.id, 'a later reply');
    await drain();
    for (let i = 0; !pushed.some((n) => n.postId === later.id); i++) {
      if (i > 100) throw new Error('the later notice was never pushed');
      await new Promise((done) => s.once('notification', done));
    }
    await t.get(LiveGateway).settled();
    await new Promise((done) => s.emit('topic:join', { topicId: topic.id }, done));
    // Each notice once. The order they arrive in is not the point: two notices' pushes run side by
    // side (each reads what the user may see first), so the reply's and the reaction's can swap.
    const byPost = (x: [string, string | null], y: [string, string | null]) => `${x[0]} ${x[1]}`.localeCompare(`${y[0]} ${y[1]}`);
    expect(pushed.map((n): [string, string | null] => [n.kind, n.postId]).sort(byPost)).toEqual(
      ([['WATCHED_REPLY', r.id], ['REACTIONS', topic.firstPostId], ['WATCHED_REPLY', later.id]] as Array<[string, string | null]>).sort(byPost),
    );
    expect(new Set(pushed.map((n) => n.id)).size).toBe(3);
  });

  it('batches reactions, marks read, and pushes live to the user’s room', async () => {
    const fan = await makeUser(t);
    const topic = await createTopic(t, author.token, board);
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const s = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: author.token }, reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const pushed = heardLive(s, 'notification');
    for (const kind of ['LIKE', 'THANKS']) {
      expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind } }, { token: fan.token }));
    }
    await drain();
    // The notice of the topic's first post (the author, shared by the suite, may hear of others).
    expect((await pushed.first((n) => n.postId === topic.firstPostId)).kind).toBe('REACTIONS');
    const list = expectOk(await t.gql(LIST, { u: true }, { token: author.token })).notifications;
    const reactions = list.edges.filter((e: any) => e.node.kind === 'REACTIONS');
    expect(reactions).toHaveLength(1);
    // It counts people: the fan's two reactions are one; a second fan makes two.
    expect(JSON.parse(reactions[0].node.data).count).toBe(1);
    const react = (token: string, kind = 'LIKE', on = true) =>
      t.gql(`mutation($input: ReactionInput!) { ${on ? 'react' : 'unreact'}(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind } }, { token });
    expectOk(await react((await makeUser(t)).token));
    await drain();
    const reactionsData = async () =>
      JSON.parse(expectOk(await t.gql(LIST, {}, { token: author.token })).notifications.edges.find((e: any) => e.node.kind === 'REACTIONS').node.data);
    expect((await reactionsData()).count).toBe(2);
    // Redelivered reaction events are not counted again.
    await t.sql(`UPDATE outbox SET processed_at = NULL WHERE type = 'reaction.updated'`);
    await drain();
    expect((await reactionsData()).count).toBe(2);
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: author.token })).markNotificationsRead).toBe(list.totalCount);
    expect(expectOk(await t.gql(LIST, { u: true }, { token: author.token })).notifications.totalCount).toBe(0);
    // Taking a reaction back and giving it again neither counts again nor marks it unread.
    for (let i = 0; i < 3; i++) {
      expectOk(await react(fan.token, 'LIKE', false));
      expectOk(await react(fan.token, 'LIKE', true));
    }
    await drain();
    expect(expectOk(await t.gql(LIST, { u: true }, { token: author.token })).notifications.totalCount).toBe(0);
    expect((await reactionsData()).count).toBe(2);
    expectError(await t.gql(LIST, {}), 'UNAUTHENTICATED');
    expectError(await t.gql(`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`, { ids: ['not-an-id'] }, { token: author.token }), 'BAD_USER_INPUT');
    // Someone else's notification ids change nothing.
    const theirs = (await t.sql(`SELECT id FROM notifications WHERE user_id = $1`, [author.id])).map((r) => r.id);
    await t.sql(`UPDATE notifications SET read_at = NULL WHERE user_id = $1`, [author.id]);
    expect(expectOk(await t.gql(`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`, { ids: theirs }, { token: fan.token })).markNotificationsRead).toBe(0);
    expect(expectOk(await t.gql(LIST, { u: true }, { token: author.token })).notifications.totalCount).toBe(theirs.length);
  });

  it('tells every live tab of the user which notifications were just read, by the bell or by reading the topic', async () => {
    const reader = await makeUser(t);
    const topic = await createTopic(t, author.token, board);
    await reply(t, author.token, topic.id, `@${reader.handle} first`);
    await reply(t, author.token, topic.id, `@${reader.handle} second`);
    await drain();
    const ids = (await t.sql(`SELECT id FROM notifications WHERE user_id = $1 ORDER BY created_at`, [reader.id])).map((r) => r.id);
    expect(ids).toHaveLength(2);
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const tab = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: reader.token }, reconnection: false, forceNew: true });
    const stranger = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: author.token }, reconnection: false, forceNew: true });
    sockets.push(tab, stranger);
    await Promise.all([tab, stranger].map((s) => new Promise<void>((r) => s.once('connect', () => r()))));
    const heardByStranger: unknown[] = [];
    stranger.on('notifications:read', (p) => heardByStranger.push(p));
    // Read in the bell (another tab): the ids read.
    // Each step's push picked by the notice it reads (the bell's push of the first is not taken for the topic's of the second).
    const read = heardLive<{ ids: string[] }>(tab, 'notifications:read');
    expect(expectOk(await t.gql(`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`, { ids: [ids[0]] }, { token: reader.token })).markNotificationsRead).toBe(1);
    expect(await read.first((e) => e.ids.includes(ids[0]))).toEqual({ ids: [ids[0]] });
    // Read by reading the topic past the post.
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId: topic.id, postNumber: 3 } }, { token: reader.token }));
    expect(await read.first((e) => e.ids.includes(ids[1]))).toEqual({ ids: [ids[1]] });
    // Nothing left to read: nothing to tell.
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: reader.token })).markNotificationsRead).toBe(0);
    await pushedSoFar(t, [tab, stranger]);
    expect(read.soFar()).toEqual([{ ids: [ids[0]] }, { ids: [ids[1]] }]);
    expect(heardByStranger).toEqual([]);
  });

  it('takes a reactor back out of the batch when they take their last reaction back, and the batch away when nobody is left', async () => {
    const topic = await createTopic(t, author.token, board);
    const [fan, other] = [await makeUser(t), await makeUser(t)];
    const react = async (token: string, on: boolean) =>
      expectOk(await t.gql(`mutation($input: ReactionInput!) { ${on ? 'react' : 'unreact'}(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind: 'LIKE' } }, { token }));
    const batches = async () =>
      (await t.sql(`SELECT data FROM notifications WHERE user_id = $1 AND post_id = $2 AND kind = 'REACTIONS'`, [author.id, topic.firstPostId])).map((r) => r.data);
    await react(fan.token, true);
    await drain();
    // Already e-mailed, and an hour old: a second reactor makes it news again, on top and due.
    await t.sql(`UPDATE notifications SET emailed_at = now(), created_at = now() - interval '50 minutes' WHERE user_id = $1 AND post_id = $2`, [author.id, topic.firstPostId]);
    await react(other.token, true);
    await drain();
    expect(await batches()).toEqual([{ count: 2, reactors: [fan.id, other.id] }]);
    expect(await t.sql(`SELECT emailed_at, created_at > now() - interval '1 minute' AS fresh FROM notifications WHERE user_id = $1 AND post_id = $2`, [author.id, topic.firstPostId])).toEqual([{ emailed_at: null, fresh: true }]);
    await react(other.token, false);
    await drain();
    expect(await batches()).toEqual([{ count: 1, reactors: [fan.id] }]);
    await react(fan.token, false);
    await drain();
    expect(await batches()).toEqual([]);
    // Given and taken back before the worker ran: nothing to tell.
    await react(fan.token, true);
    await react(fan.token, false);
    await drain();
    expect(await batches()).toEqual([]);
  });

  it('names someone who still reacts: when the one named takes their reaction back, the next reactor is named, in the list and in the e-mail', async () => {
    const writer = await makeUser(t);
    const topic = await createTopic(t, writer.token, board, { title: 'Reacted to, then not' });
    const [alice, bob, carol] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const react = async (u: TestUser, on: boolean) =>
      expectOk(await t.gql(`mutation($input: ReactionInput!) { ${on ? 'react' : 'unreact'}(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: u.token }));
    const named = async () => {
      const node = expectOk(await t.gql(LIST, {}, { token: writer.token })).notifications.edges.find((e: any) => e.node.kind === 'REACTIONS').node;
      return [node.actor?.id, JSON.parse(node.data).count];
    };
    for (const u of [alice, bob, carol]) await react(u, true);
    await drain();
    expect(await named()).toEqual([alice.id, 3]);
    await react(alice, false);
    await drain();
    expect(await named()).toEqual([bob.id, 2]);
    // Someone else leaving changes the count, not who is named.
    await react(carol, false);
    await drain();
    expect(await named()).toEqual([bob.id, 1]);
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [writer.id]);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === writer.email);
    expect(mail.text.split('\n').filter((line) => line.includes('reacted'))).toEqual([expect.stringMatching(new RegExp(`^• @${bob.handle} reacted to your post — “Reacted to, then not” `))]);
  });

  it('has batches stored naming someone who took their reaction back name the first reactor left (migration)', async () => {
    const writer = await makeUser(t);
    const topic = await createTopic(t, writer.token, board);
    const [gone, still] = [await makeUser(t), await makeUser(t)];
    const batch = async (source: string, actorId: string, data: object) => {
      const [{ id }] = await t.sql(`INSERT INTO notifications (id, user_id, kind, topic_id, post_id, actor_id, data, source) VALUES (gen_random_uuid(), $1, 'REACTIONS', $2, $3, $4, $5, $6) RETURNING id`, [
        writer.id, topic.id, topic.firstPostId, actorId, JSON.stringify(data), source,
      ]);
      return id as string;
    };
    const stale = await batch('reactions:stale', gone.id, { count: 1, reactors: [still.id] });
    const right = await batch('reactions:right', still.id, { count: 2, reactors: [gone.id, still.id] });
    const older = await batch('reactions:older', gone.id, { count: 1 }); // before batches listed reactors: nothing to go by
    const runner = t.ds.createQueryRunner();
    try {
      await new ReactionsActorStillReacting1764813600000().up(runner);
    } finally {
      await runner.release();
    }
    const actors = new Map((await t.sql(`SELECT id, actor_id FROM notifications WHERE user_id = $1`, [writer.id])).map((r) => [r.id, r.actor_id]));
    expect([actors.get(stale), actors.get(right), actors.get(older)]).toEqual([still.id, still.id, gone.id]);
  });

  it('tells users about moderation outcomes: sanctions, approvals, hidden posts, resolved reports, decided appeals', async () => {
    const member = await makeUser(t);
    const mod = await makeUser(t, { role: 'MODERATOR' });
    expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'WARNING', reason: 'Mind the tone' } }, { token: mod.token }));
    await drain();
    expect(await kinds(member)).toEqual(['SANCTION']);

    const held = await makeSpace(t, 'PUBLIC');
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [held.id]);
    const heldBoard = await makeBoard(t, held.id);
    const writer = await makeUser(t);
    const topic = await createTopic(t, writer.token, heldBoard);
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: topic.firstPostId, action: 'APPROVE' } }, { token: mod.token }));
    await drain();
    expect(await kinds(writer)).toEqual(['POST_APPROVED']);

    // Removed by a moderator, or rejected while it waited: the author is told; deleting your own post tells nobody.
    const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    const open = await createTopic(t, writer.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id));
    const removed = await reply(t, writer.token, open.id, 'to be removed');
    const rejected = await createTopic(t, writer.token, heldBoard, { title: 'Held and rejected' });
    const ownDelete = await reply(t, writer.token, open.id, 'deleted by its author');
    expectOk(await t.gql(MODERATE, { input: { postId: removed.id, action: 'DELETE', reason: 'Spam link' } }, { token: mod.token }));
    expectOk(await t.gql(MODERATE, { input: { postId: rejected.firstPostId, action: 'REJECT' } }, { token: mod.token }));
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: ownDelete.id }, { token: writer.token }));
    await drain();
    const removals = expectOk(await t.gql(LIST, {}, { token: writer.token })).notifications.edges.map((e: any) => e.node).filter((n: any) => n.kind === 'POST_REMOVED');
    // A removed topic is not the author's to open (topic: null): the notice names it, as it is titled now.
    expect(removals.map((n: any) => [n.topic?.id ?? null, JSON.parse(n.data)]).sort()).toEqual(
      [[null, { rejected: true, number: 1, title: 'Held and rejected' }], [open.id, { rejected: false, number: 2 }]].sort(),
    );
    await t.sql(`DELETE FROM notifications WHERE user_id = $1 AND kind = 'POST_REMOVED'`, [writer.id]);

    // A report upheld: the reporter hears it was resolved, the author that their post was hidden.
    const reporter = await makeUser(t);
    const rude = await createTopic(t, writer.token, board, { title: 'A rude topic', body: 'rude words' });
    expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: rude.firstPostId, reason: 'ABUSE' } }, { token: reporter.token }));
    // The moderator who settles it reported it too: they are not told what they decided.
    const modsOwn = await makeUser(t, { role: 'MODERATOR' });
    expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'TOPIC', targetId: rude.id, reason: 'ABUSE' } }, { token: modsOwn.token }));
    const item = expectOk(await t.gql(`{ reviewQueue(first: 100) { edges { node { id targetId } } } }`, {}, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === rude.id).node; // a first post is reported as its topic
    expectOk(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id } }`, { input: { id: item.id, decision: 'APPROVE', action: 'HIDE', note: 'Uncivil' } }, { token: modsOwn.token }));
    await drain();
    expect(await kinds(reporter)).toEqual(['REPORT_RESOLVED']);
    expect(await kinds(modsOwn)).toEqual([]);
    expect(await kinds(writer)).toEqual(['POST_HIDDEN', 'POST_APPROVED']);

    // An appeal decided: its author hears the outcome (a silenced member still gets notifications).
    const judge = await makeUser(t, { role: 'MODERATOR' });
    const silence = expectOk(
      await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'SILENCE', reason: 'Heated', durationHours: 24 } }, { token: mod.token }),
    ).sanctionUser;
    expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: silence.id, message: 'I was quoting the other thread' } }, { token: member.token }));
    const appeal = expectOk(await t.gql(`{ reviewQueue(first: 100) { edges { node { id kind targetId } } } }`, {}, { token: judge.token })).reviewQueue.edges.find(
      (e: any) => e.node.kind === 'APPEAL' && e.node.targetId === silence.id,
    ).node;
    expectOk(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id } }`, { input: { id: appeal.id, decision: 'APPROVE', note: 'Fair point' } }, { token: judge.token }));
    await drain();
    expect(await kinds(member)).toEqual(['APPEAL_DECIDED', 'SANCTION', 'SANCTION']);
  });

  it('names a removed topic as it is titled now, and only while its author may still read its space: list, count, push and e-mail', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const writer = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const topic = await createTopic(t, writer.token, await makeBoard(t, space.id), { title: 'A title with my phone number' });
    const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    const remove = async () => {
      expectOk(await t.gql(MODERATE, { input: { postId: topic.firstPostId, action: 'DELETE', reason: 'Off-topic' } }, { token: admin.token }));
      await drain();
    };
    const removals = async (unreadOnly = false) => {
      const list = expectOk(await t.gql(LIST, { u: unreadOnly }, { token: writer.token })).notifications;
      return { total: list.totalCount, data: list.edges.filter((e: any) => e.node.kind === 'POST_REMOVED').map((e: any) => JSON.parse(e.node.data)) };
    };
    await remove();
    expect(await removals()).toEqual({ total: 1, data: [{ rejected: false, number: 1, title: 'A title with my phone number' }] });
    // Brought back, retitled by the moderator (the number taken out), removed again: both notices
    // name it as it is now, the first one too, pushed live as it is read.
    const s = io(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, { path: '/socket.io', transports: ['websocket'], auth: { token: writer.token }, reconnection: false, forceNew: true });
    sockets.push(s);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const pushed: any[] = [];
    s.on('notification', (n: any) => pushed.push(n));
    const next = () => new Promise<void>((r) => s.once('notification', () => r()));
    expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: admin.token }));
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: topic.firstPostId, body: 'The body', title: 'A title without it' } }, { token: admin.token }));
    let arrived = next();
    await remove();
    await arrived;
    const retitled = { rejected: false, number: 1, title: 'A title without it' };
    expect(pushed.map((n) => [n.kind, n.topicId, n.data])).toEqual([['POST_REMOVED', topic.id, retitled]]);
    expect(await removals(true)).toEqual({ total: 2, data: [retitled, retitled] });
    // The e-mail names it too, without a link it would not open.
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [writer.id]);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === writer.email);
    expect(mail.text.split('\n').filter((line) => line.startsWith('•'))).toEqual(Array(2).fill('• Your post was removed by moderation — “A title without it”'));

    // Moved to a space the writer may not read: neither listed nor counted, marked read
    // uncounted, e-mailed or pushed again.
    const hidden = await makeSpace(t, 'RESTRICTED', [{ userId: admin.id, level: 'ADMIN' }]);
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: await makeBoard(t, hidden.id) } }, { token: admin.token }));
    expect(await removals()).toEqual({ total: 0, data: [] });
    expect(await removals(true)).toEqual({ total: 0, data: [] });
    await t.sql(`UPDATE notifications SET emailed_at = NULL WHERE user_id = $1`, [writer.id]);
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [writer.id]);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === writer.email)).toEqual([]);
    // Announced again as delivery announces one, then another notification: only that one goes out.
    const [first] = await t.sql(`SELECT id FROM notifications WHERE user_id = $1 AND kind = 'POST_REMOVED' LIMIT 1`, [writer.id]);
    await t.sql(`SELECT pg_notify('parvis_notifications', json_build_object('userId', $1::uuid, 'id', $2::uuid)::text)`, [writer.id, first.id]);
    const other = await createTopic(t, author.token, board);
    arrived = next();
    await t.sql(
      `WITH n AS (INSERT INTO notifications (id, user_id, kind, topic_id, post_id, actor_id, data, source)
                  VALUES (gen_random_uuid(), $1, 'MENTION', $2, $3, $4, '{}', 'removed-topic-control') RETURNING id, user_id)
       SELECT pg_notify('parvis_notifications', json_build_object('userId', n.user_id, 'id', n.id)::text) FROM n`,
      [writer.id, other.id, other.firstPostId, author.id],
    );
    await arrived;
    expect(pushed.slice(1).map((n) => n.kind)).toEqual(['MENTION']);
    await t.sql(`UPDATE notifications SET read_at = now() WHERE user_id = $1 AND kind = 'MENTION'`, [writer.id]);
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: writer.token })).markNotificationsRead).toBe(0);
  });

  it('shows the topic of a removal notice once its recipient may read it again (restored), as its e-mail links it; none, nor its title, while it is removed or out of reach; a page costs the same whatever it holds', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    const PAGE = `{ notifications(first: 50) { edges { node { kind data topic { id title } } } } }`;
    const hidden = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ userId: admin.id, level: 'ADMIN' }])).id);
    /** A writer with `n` removed topics, their removals' news delivered: every other one restored; of those, with `outOfReach`, the last moved to a space the writer may not read. */
    const removedTopicsOf = async (n: number, outOfReach = false) => {
      const writer = await makeUser(t);
      const topics = [];
      for (let i = 0; i < n; i++) {
        const title = `Removed topic ${i} of ${n}`;
        topics.push({ ...(await createTopic(t, writer.token, board, { title })), title });
      }
      for (const topic of topics) expectOk(await t.gql(MODERATE, { input: { postId: topic.firstPostId, action: 'DELETE', reason: 'Off-topic' } }, { token: admin.token }));
      await drain();
      const restored = topics.filter((_, i) => i % 2 === 0);
      for (const topic of restored) expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: admin.token }));
      if (outOfReach) {
        expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: restored.at(-1)!.id, boardId: hidden } }, { token: admin.token }));
      }
      await drain();
      return { writer, topics, restored };
    };
    const removals = async (writer: TestUser) =>
      expectOk(await t.gql(PAGE, {}, { token: writer.token }))
        .notifications.edges.map((e: any) => e.node)
        .filter((n: any) => n.kind === 'POST_REMOVED')
        .map((n: any) => [JSON.parse(n.data).title, n.topic]);

    const { writer, topics } = await removedTopicsOf(5, true);
    const [back, still, backToo, stillToo, moved] = topics;
    expect((await removals(writer)).sort()).toEqual(
      [
        [back.title, { id: back.id, title: back.title }],
        [backToo.title, { id: backToo.id, title: backToo.title }],
        [still.title, null],
        [stillToo.title, null],
      ].sort(),
    );
    // The one restored then moved out of reach is not listed at all: neither its topic nor its title.
    expect(JSON.stringify(await removals(writer))).not.toContain(moved.id);
    expect(JSON.stringify(expectOk(await t.gql(PAGE, {}, { token: writer.token })))).not.toContain(moved.title);
    // The e-mail of the same notices links the very topics the app shows, and no other.
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [writer.id]);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === writer.email);
    expect([...mail.text.matchAll(/\/t\/([0-9a-f-]{36})/g)].map((m) => m[1]).sort()).toEqual([back.id, backToo.id].sort());

    // A page of such news costs the same number of statements, however many topics it shows or hides.
    const costFor = async (n: number) => {
      const { writer: w } = await removedTopicsOf(n);
      return (await t.countStatements(() => t.gql(PAGE, {}, { token: w.token }))).count;
    };
    await costFor(1);
    expect(await costFor(6)).toBe(await costFor(2));
  });

  it('shows the removed post of a removal notice once its recipient may read it in full (restored, or staff), as its e-mail links it; none, nor its words, while they may not; a page costs the same whatever it holds', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    const remove = async (postId: string) => expectOk(await t.gql(MODERATE, { input: { postId, action: 'DELETE', reason: 'Off-topic' } }, { token: admin.token }));
    const restore = async (id: string) => expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id }, { token: admin.token }));
    const PAGE = `{ notifications(first: 50) { edges { node { kind data topic { id } post { id number state bodyHtml } } } } }`;
    const removals = async (u: TestUser): Promise<Array<{ topic: string | null; number: number; post: any }>> =>
      expectOk(await t.gql(PAGE, {}, { token: u.token }))
        .notifications.edges.map((e: any) => e.node)
        .filter((n: any) => n.kind === 'POST_REMOVED')
        .map((n: any) => ({ topic: n.topic?.id ?? null, number: JSON.parse(n.data).number, post: n.post }));
    const byPlace = (a: { topic: string | null; number: number }, b: { topic: string | null; number: number }) => `${a.topic} ${a.number}`.localeCompare(`${b.topic} ${b.number}`);

    const writer = await makeUser(t);
    const host = await createTopic(t, admin.token, board, { title: 'Topic of removed replies' });
    const gone = await reply(t, writer.token, host.id, 'Removed for good, words nobody reads again');
    const back = await reply(t, writer.token, host.id, 'Removed, then restored');
    const moved = await reply(t, writer.token, host.id, 'Removed, restored, then moved to another topic');
    const [goneTopic, backTopic] = [await createTopic(t, writer.token, board, { title: 'A topic still removed', body: 'A removed first post nobody reads' }), await createTopic(t, writer.token, board, { title: 'A topic restored' })];
    for (const id of [gone.id, back.id, moved.id, goneTopic.firstPostId, backTopic.firstPostId]) await remove(id);
    await drain();
    for (const id of [back.id, moved.id, backTopic.firstPostId]) await restore(id);
    const other = await createTopic(t, admin.token, board, { title: 'Where a restored reply went' });
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [moved.id], toTopicId: other.id } }, { token: admin.token }));
    await drain();
    const shown = (await removals(writer)).sort(byPlace);
    expect(shown).toEqual(
      [
        // Restored: the post itself, as its author reads it.
        { topic: host.id, number: back.number, post: { id: back.id, number: back.number, state: 'VISIBLE', bodyHtml: expect.stringContaining('Removed, then restored') } },
        { topic: backTopic.id, number: 1, post: { id: backTopic.firstPostId, number: 1, state: 'VISIBLE', bodyHtml: expect.stringContaining('The body') } },
        // Still removed: nothing of it, not even a placeholder.
        { topic: host.id, number: gone.number, post: null },
        { topic: null, number: 1, post: null },
        // Restored, then moved: where it is now, the notice's topic and number following it (as every notice about a moved post).
        { topic: other.id, number: 2, post: { id: moved.id, number: 2, state: 'VISIBLE', bodyHtml: expect.stringContaining('then moved to another topic') } },
      ].sort(byPlace),
    );
    const page = JSON.stringify(expectOk(await t.gql(PAGE, {}, { token: writer.token })));
    for (const secret of ['words nobody reads', 'A removed first post', gone.id, goneTopic.firstPostId]) expect(page).not.toContain(secret);
    // The e-mail of the same notices links the very posts the app shows (a topic's first post as the topic), and their topics otherwise.
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [writer.id]);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === writer.email);
    const links = mail.text
      .split('\n')
      .filter((line) => line.startsWith('• Your post was removed'))
      .map((line) => /\s\S+(\/t\/\S+)$/.exec(line)?.[1] ?? null);
    expect(links.sort()).toEqual(
      [
        // The posts the app shows, and no other:
        `/t/${host.id}#post-${back.number}`,
        `/t/${backTopic.id}`,
        `/t/${other.id}#post-2`,
        // where it shows none, the topic it shows,
        `/t/${host.id}`,
        // and nothing for a topic still removed.
        null,
      ].sort(),
    );

    // Staff read a removed post in full: a moderator's own removed reply shows while it is removed.
    const moderator = await makeUser(t, { role: 'MODERATOR' });
    const theirs = await reply(t, moderator.token, host.id, 'A moderator’s reply, removed by an admin');
    await remove(theirs.id);
    await drain();
    expect(await removals(moderator)).toEqual([
      { topic: host.id, number: theirs.number, post: { id: theirs.id, number: theirs.number, state: 'DELETED', bodyHtml: expect.stringContaining('removed by an admin') } },
    ]);

    // A page of such news costs the same number of statements, however many posts it shows or hides.
    const costFor = async (n: number) => {
      const w = await makeUser(t);
      const topic = await createTopic(t, admin.token, board, { title: `Removals ${n}` });
      const replies = [];
      for (let i = 0; i < n; i++) replies.push(await reply(t, w.token, topic.id, `removed reply ${i} of ${n}`));
      for (const r of replies) await remove(r.id);
      await drain();
      for (const r of replies.filter((_, i) => i % 2 === 0)) await restore(r.id);
      expect((await removals(w)).filter((r) => r.post).length).toBe(Math.ceil(n / 2));
      return (await t.countStatements(() => t.gql(PAGE, {}, { token: w.token }))).count;
    };
    await costFor(1);
    expect(await costFor(6)).toBe(await costFor(2));
  });

  it('gives removal notices stored without their post the post of their source, where it is still there (migration, down and up)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const writer = await makeUser(t);
    const host = await createTopic(t, admin.token, board, { title: 'Replies removed before notices kept them' });
    const back = await reply(t, writer.token, host.id, 'Removed before the notices kept their post, restored since');
    const old = (source: string) =>
      t.sql(`INSERT INTO notifications (id, user_id, kind, topic_id, data, source) VALUES (gen_random_uuid(), $1, 'POST_REMOVED', $2, jsonb_build_object('rejected', false, 'number', $3::int), $4)`, [
        writer.id,
        host.id,
        back.number,
        source,
      ]);
    await old(`removed:${back.id}:3`);
    await old('removed:01a207d7-22e1-733a-9303-5a2047c59e37:1');
    await old('removed:not-a-post:1');
    await redoMigration(t, new NotificationSubjectIds1765008000000());
    expect(await t.sql(`SELECT source, removed_post_id FROM notifications WHERE user_id = $1 ORDER BY source`, [writer.id])).toEqual([
      { source: 'removed:01a207d7-22e1-733a-9303-5a2047c59e37:1', removed_post_id: null },
      { source: `removed:${back.id}:3`, removed_post_id: back.id },
      { source: 'removed:not-a-post:1', removed_post_id: null },
    ]);
    const posts = expectOk(await t.gql(LIST, {}, { token: writer.token })).notifications.edges.map((e: any) => e.node.post?.id ?? null);
    expect(posts.sort()).toEqual([back.id, null, null].sort());
  });

  it('finds the topic of a removal notice stored with its title, and keeps no stored title (migration)', async () => {
    const writer = await makeUser(t);
    const topic = await createTopic(t, writer.token, board, { title: 'Titled now' });
    await setTopicState(t, topic.id, 'DELETED');
    await setPostState(t, topic.firstPostId, 'DELETED');
    const old = (source: string) =>
      t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'POST_REMOVED', '{"rejected": false, "title": "Titled then"}', $2)`, [writer.id, source]);
    await old(`removed:${topic.firstPostId}:3`);
    await old('removed:01a207d7-22e1-733a-9303-5a2047c59e37:1');
    const runner = t.ds.createQueryRunner();
    try {
      await new TopicRemovalNotices1764946800000().up(runner);
    } finally {
      await runner.release();
    }
    expect(await t.sql(`SELECT topic_id, data FROM notifications WHERE user_id = $1 ORDER BY topic_id NULLS LAST`, [writer.id])).toEqual([
      { topic_id: topic.id, data: { rejected: false, number: 1 } },
      { topic_id: null, data: { rejected: false } },
    ]);
    const listed = expectOk(await t.gql(LIST, {}, { token: writer.token })).notifications.edges.map((e: any) => JSON.parse(e.node.data));
    expect(listed).toEqual(expect.arrayContaining([{ rejected: false, number: 1, title: 'Titled now' }, { rejected: false }]));
    expect(listed).toHaveLength(2);
  });

  it('leads to where a post is now when a move came between its delivery’s read and its write: the list, the count, a push and the e-mail name its topic and number as they are, and nothing of a place its recipient may not read', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const insiders = await makeGroup(t);
    const [writer, insider, outsider] = [await makeUser(t), await makeUser(t, { groups: [insiders] }), await makeUser(t)];
    const closed = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: insiders, level: 'PARTICIPATE' }])).id);
    const was = await createTopic(t, writer.token, board, { title: 'Where it was said' });
    const now = await createTopic(t, admin.token, board, { title: 'Where it is now' });
    for (let i = 0; i < 3; i++) await reply(t, admin.token, now.id, `filler ${i}`);
    const few = await createTopic(t, admin.token, closed, { title: 'Where few read' });
    await drain();
    const told = await reply(t, writer.token, was.id, `@${insider.handle} @${outsider.handle} told where everyone reads`);
    const hushed = await reply(t, writer.token, was.id, `@${insider.handle} @${outsider.handle} told, then taken where few read`);
    // Each reply is moved once its mentions were read and found readable where it was, before
    // they are written: the rows keep the topic and number it had (movePosts updates none of them).
    const MOVE = `mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`;
    const handler = t.get(NotificationsHandler) as unknown as { readableDrafts: (d: Array<{ postId?: string }>) => Promise<unknown> };
    const readable = handler.readableDrafts.bind(handler);
    const moves = new Map([[told.id, now.id], [hushed.id, few.id]]);
    const raced = jest.spyOn(handler, 'readableDrafts').mockImplementation(async (drafts) => {
      const ready = await readable(drafts);
      for (const [postId, toTopicId] of moves) {
        if (!drafts.some((d) => d.postId === postId)) continue;
        moves.delete(postId);
        expectOk(await t.gql(MOVE, { input: { postIds: [postId], toTopicId } }, { token: admin.token }));
      }
      return ready;
    });
    try {
      await drain();
    } finally {
      raced.mockRestore();
    }
    expect(moves.size).toBe(0);
    const at = async (postId: string) => (await t.sql(`SELECT topic_id, number FROM posts WHERE id = $1`, [postId]))[0] as { topic_id: string; number: number };
    const [toldAt, hushedAt] = [await at(told.id), await at(hushed.id)];
    expect([toldAt.topic_id, hushedAt.topic_id]).toEqual([now.id, few.id]);
    expect(toldAt.number).not.toBe(told.number);
    const PAGE = `{ notifications(first: 50) { totalCount edges { node { kind data topic { id title } post { id number } } } } }`;
    const shown = async (u: TestUser) => {
      const c = expectOk(await t.gql(PAGE, {}, { token: u.token })).notifications;
      return { count: c.totalCount, items: c.edges.map((e: any) => ({ topic: e.node.topic?.id, title: e.node.topic?.title, number: JSON.parse(e.node.data).number, post: e.node.post?.id })) };
    };
    // Listed and counted where the posts are now: the insider reads both places, the outsider only one.
    expect(await shown(insider)).toEqual({
      count: 2,
      items: [
        { topic: few.id, title: 'Where few read', number: hushedAt.number, post: hushed.id },
        { topic: now.id, title: 'Where it is now', number: toldAt.number, post: told.id },
      ],
    });
    expect(await shown(outsider)).toEqual({ count: 1, items: [{ topic: now.id, title: 'Where it is now', number: toldAt.number, post: told.id }] });

    // Pushed again live (as a burst would push them): each as it is now, none to who may not read it.
    const url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    const pushed = new Map<string, any[]>();
    const theirs: Socket[] = [];
    for (const u of [insider, outsider]) {
      const s = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: u.token }, reconnection: false, forceNew: true });
      sockets.push(s);
      theirs.push(s);
      await new Promise<void>((r) => s.once('connect', () => r()));
      pushed.set(u.id, []);
      s.on('notification', (n: any) => pushed.get(u.id)!.push({ topicId: n.topicId, postId: n.postId, number: n.data.number }));
    }
    await t.sql(
      `SELECT pg_notify('parvis_notifications', json_build_object('userId', user_id, 'id', id)::text) FROM notifications WHERE user_id = ANY($1::uuid[]) ORDER BY created_at, post_id`,
      [[insider.id, outsider.id]],
    );
    await pushedSoFar(t, theirs);
    const sortByPost = (a: any[]) => [...a].sort((x, y) => (x.postId < y.postId ? -1 : 1));
    expect(sortByPost(pushed.get(insider.id)!)).toEqual(
      sortByPost([
        { topicId: now.id, postId: told.id, number: toldAt.number },
        { topicId: few.id, postId: hushed.id, number: hushedAt.number },
      ]),
    );
    expect(pushed.get(outsider.id)).toEqual([{ topicId: now.id, postId: told.id, number: toldAt.number }]);

    // E-mailed so too: the topic as it is titled now, the link to the post where it is.
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = ANY($1::uuid[])`, [[insider.id, outsider.id]]);
    const mails = await t.get(EmailDigest).sendDue();
    const lines = (u: TestUser) => mails.filter((m) => m.to === u.email).flatMap((m) => m.text.split('\n').filter((line) => line.startsWith('•'))).sort();
    const line = (title: string, path: string) => expect.stringMatching(new RegExp(`^• @${writer.handle} mentioned you — “${title}” \\S+${path}$`));
    expect(lines(insider)).toEqual([line('Where few read', `/t/${few.id}#post-${hushedAt.number}`), line('Where it is now', `/t/${now.id}#post-${toldAt.number}`)]);
    expect(lines(outsider)).toEqual([line('Where it is now', `/t/${now.id}#post-${toldAt.number}`)]);
    const outsiderMail = JSON.stringify(mails.filter((m) => m.to === outsider.email));
    for (const secret of ['Where few read', few.id, 'Where it was said', was.id]) expect(outsiderMail).not.toContain(secret);
  });

  it('drafts a new post moved between its read and its authors’ watches as if delivered before the move: the watch where it was (a move carries none), its news stored where it is now, to none who may not read it there', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const insiders = await makeGroup(t);
    const [writer, watcher, insider, outsider] = [await makeUser(t), await makeUser(t), await makeUser(t, { groups: [insiders] }), await makeUser(t)];
    const keeper = await makeUser(t, { groups: [insiders] });
    const closed = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: insiders, level: 'PARTICIPATE' }])).id);
    const was = await createTopic(t, admin.token, board, { title: 'Where it was written' });
    // Its author, the keeper, watches the topic the reply goes to; the admin the one it is written in.
    const few = await createTopic(t, keeper.token, closed, { title: 'Where few read' });
    await t.sql(`INSERT INTO topic_watches (user_id, topic_id, level) VALUES ($1, $2, 'WATCHING')`, [watcher.id, was.id]);
    await drain();
    const r = await reply(t, writer.token, was.id, `@${insider.handle} @${outsider.handle} have a look`);
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
    const event = { id: '1', type: 'post.created', aggregateType: 'post', aggregateId: r.id, version: 1, payload: { postId: r.id }, createdAt: new Date(), attempts: 0 };
    // The post and everyone's levels on its topic read, the post is moved just before its authors'
    // watches are written (the statement held back until the move has committed).
    const query = t.ds.query.bind(t.ds);
    let moved = false;
    const raced = jest.spyOn(t.ds, 'query').mockImplementation(async (sql: string, params?: unknown[], runner?: unknown) => {
      if (!moved && /INSERT INTO topic_watches/.test(sql)) {
        moved = true;
        expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [r.id], toTopicId: few.id } }, { token: admin.token }));
      }
      return query(sql, params, runner as never);
    });
    try {
      await t.get(NotificationsHandler).handle([event]);
    } finally {
      raced.mockRestore();
    }
    expect(moved).toBe(true);
    const [at] = await t.sql(`SELECT topic_id, number FROM posts WHERE id = $1`, [r.id]);
    expect(at.topic_id).toBe(few.id);
    // As a delivery before the move left it: the writer tracks the topic they replied in, which the move leaves as it is.
    expect(await t.sql(`SELECT topic_id, level FROM topic_watches WHERE user_id = $1`, [writer.id])).toEqual([{ topic_id: was.id, level: 'TRACKING' }]);
    // The news, drafted by the levels on the topic it was written in (as before the move: not the
    // keeper of the topic it went to), judged and stored where the post is now, with its number
    // there: the insider's mention, and the admin's reply in the topic they watch (its author), who
    // reads it there too; nothing stored for the outsider it mentioned, nor for the other watcher of
    // the topic it left, who may not read it there.
    const news = await t.sql(`SELECT user_id, kind, topic_id, (data->>'number')::int AS number FROM notifications WHERE post_id = $1 AND kind <> 'POST_MOVED'`, [r.id]);
    expect(news.sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      { user_id: insider.id, kind: 'MENTION', topic_id: few.id, number: at.number },
      { user_id: admin.id, kind: 'WATCHED_REPLY', topic_id: few.id, number: at.number },
    ]);
  });

  it('neither lists nor counts notifications about content the recipient can no longer read', async () => {
    const owner = await makeUser(t);
    const replier = await makeUser(t);
    const topic = await createTopic(t, owner.token, board, { title: 'Soon to be hidden elsewhere' });
    await drain();
    const kept = await reply(t, replier.token, topic.id, 'a reply that stays');
    const hidden = await reply(t, replier.token, topic.id, 'a reply a moderator will hide');
    await drain();
    // A notification about a topic alone (as knowledge verification reminders are), on a topic the owner cannot read.
    const other = await createTopic(t, replier.token, board, { title: 'Another topic' });
    await t.sql(`INSERT INTO notifications (id, user_id, kind, topic_id, data, source) VALUES (gen_random_uuid(), $1, 'VERIFICATION_DUE', $2, '{}', $3)`, [owner.id, other.id, `test:${other.id}`]);
    const before = expectOk(await t.gql(LIST, {}, { token: owner.token })).notifications;
    expect(before.totalCount).toBe(3);
    await setPostState(t, hidden.id, 'HIDDEN');
    await setTopicState(t, other.id, 'HIDDEN');
    for (const unreadOnly of [false, true]) {
      const after = expectOk(await t.gql(LIST, { u: unreadOnly }, { token: owner.token })).notifications;
      expect(after.edges.map((e: any) => e.node.post?.id ?? e.node.kind)).toEqual([kept.id]);
      expect(after.totalCount).toBe(1);
    }
    // Marking all read counts what the list shows.
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: owner.token })).markNotificationsRead).toBe(1);
  });

  it('tells a reporter the outcome of their report only while they read the space it was decided in', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [modB, insider, outsider] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const spaceB = await makeSpace(t, 'RESTRICTED', [{ userId: modB.id, level: 'MODERATE' }, { userId: insider.id, level: 'PARTICIPATE' }]);
    const staffTopic = await createTopic(t, modB.token, await makeBoard(t, spaceB.id), { title: 'Staff only' });
    const topic = await createTopic(t, author.token, board, { title: 'Where the rude reply was' });
    const rude = await reply(t, (await makeUser(t)).token, topic.id, 'a rude reply');
    for (const u of [insider, outsider]) {
      expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: rude.id, reason: 'ABUSE' } }, { token: u.token }));
    }
    // Moved into a space the outsider does not read, and decided there by its moderator.
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [rude.id], toTopicId: staffTopic.id } }, { token: admin.token }));
    const item = expectOk(await t.gql(`query($s: ID) { reviewQueue(spaceId: $s) { edges { node { id targetId } } } }`, { s: spaceB.id }, { token: modB.token })).reviewQueue.edges.find((e: any) => e.node.targetId === rude.id).node;
    expectOk(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id } }`, { input: { id: item.id, decision: 'APPROVE', action: 'HIDE' } }, { token: modB.token }));
    await drain();
    expect(await kinds(outsider)).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM notifications WHERE user_id = $1`, [outsider.id])).toEqual([]);
    expect(await kinds(insider)).toEqual(['REPORT_RESOLVED']);
    // Told, then out of the space: neither listed nor counted any more.
    await t.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [spaceB.id, insider.id]);
    for (const unreadOnly of [false, true]) {
      const after = expectOk(await t.gql(LIST, { u: unreadOnly }, { token: insider.token })).notifications;
      expect([after.edges, after.totalCount]).toEqual([[], 0]);
    }
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: insider.token })).markNotificationsRead).toBe(0);
  });

  it('shows a report’s outcome by one rule in the list (check) and its count and marking (SQL): every outcome, decided where its reporter reads, where they do not, site-wide, or gone', async () => {
    const reporter = await makeUser(t);
    const [readable, unread] = [await makeSpace(t, 'PUBLIC'), await makeSpace(t, 'RESTRICTED')];
    const expected: string[] = [];
    const told = async (itemId: string, status: string) =>
      t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'REPORT_RESOLVED', jsonb_build_object('reviewItemId', $2::text, 'status', $3::text), $4)`, [
        reporter.id, itemId, status, `test:${itemId}`,
      ]);
    for (const status of ['APPROVED', 'REJECTED', 'IGNORED']) {
      for (const spaceId of [readable.id, unread.id, null]) {
        const [{ id }] = await t.sql(`INSERT INTO review_items (id, space_id, target_type, target_id, kind, status) VALUES (gen_random_uuid(), $1, 'POST', gen_random_uuid(), 'REPORTS', $2) RETURNING id`, [spaceId, status]);
        await told(id, status);
        if (spaceId !== unread.id) expected.push(id);
      }
    }
    const [{ id: gone }] = await t.sql(`SELECT gen_random_uuid() AS id`);
    await told(gone, 'APPROVED');
    expected.push(gone);
    for (const unreadOnly of [false, true]) {
      const listed = expectOk(await t.gql(LIST, { u: unreadOnly }, { token: reporter.token })).notifications;
      expect(listed.edges.map((e: any) => JSON.parse(e.node.data).reviewItemId).sort()).toEqual([...expected].sort());
      expect(listed.totalCount).toBe(expected.length);
    }
    expect(expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: reporter.token })).markNotificationsRead).toBe(expected.length);
  });

  it('does not deliver a notification about a topic alone to someone who cannot read the topic', async () => {
    const recipient = await makeUser(t);
    const readable = await createTopic(t, author.token, board, { title: 'Open to all' });
    const hidden = await createTopic(t, author.token, board, { title: 'Hidden since' });
    await setTopicState(t, hidden.id, 'HIDDEN');
    await t.get(NotificationsHandler).deliver(
      [readable.id, hidden.id].map((topicId) => ({ userId: recipient.id, kind: 'VERIFICATION_DUE', topicId, source: `test:${topicId}` })),
    );
    const stored = await t.sql(`SELECT topic_id FROM notifications WHERE user_id = $1`, [recipient.id]);
    expect(stored).toEqual([{ topic_id: readable.id }]);
  });

  it('delivers news about no post in one statement, holding no topic: only a post, which a move holds after its topic, needs them held first', async () => {
    const recipient = await makeUser(t);
    const topic = await createTopic(t, author.token, board);
    const deliver = (d: NotificationDraft) => t.countStatements(() => t.get(NotificationsHandler).deliver([d]));
    // About a topic alone, and about nothing in the forum.
    const aboutTopic = await deliver({ userId: recipient.id, kind: 'NEW_TOPIC', topicId: topic.id, actorId: author.id, data: {}, source: `hold-test:topic:${topic.id}` });
    const aboutNothing = await deliver({ userId: recipient.id, kind: 'SANCTION', data: { kind: 'SILENCE' }, source: `hold-test:none:${recipient.id}` });
    for (const cost of [aboutTopic, aboutNothing]) {
      expect(cost.statements.filter((x) => /INSERT INTO notifications/.test(x))).toHaveLength(1);
      expect(cost.statements.filter((x) => /START TRANSACTION|BEGIN|COMMIT|FOR KEY SHARE/i.test(x))).toEqual([]);
    }
    expect((await t.sql(`SELECT kind FROM notifications WHERE user_id = $1 ORDER BY kind`, [recipient.id])).map((r) => r.kind)).toEqual(['NEW_TOPIC', 'SANCTION']);
  });

  it('delivers a batch of new posts in a fixed number of statements, whatever its size, each post’s news as alone', async () => {
    const batchCost = async (topics: number) => {
      const made: Array<{ writer: TestUser; replier: TestUser; watcher: TestUser; mentioned: TestUser; echoed: TestUser; muter: TestUser; topicId: string; replyId: string; laterId: string }> = [];
      for (let i = 0; i < topics; i++) {
        const [writer, replier, watcher, mentioned, echoed, muter] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t)];
        // One who muted the board, mentioned in the first post, and who replies later in the batch.
        await t.sql(`INSERT INTO board_watches (user_id, board_id, level) VALUES ($1, $2, 'MUTED')`, [muter.id, board]);
        const topic = await createTopic(t, writer.token, board, { body: `@${mentioned.handle} @${muter.handle} have a look` });
        await t.sql(`INSERT INTO topic_watches (user_id, topic_id, level) VALUES ($1, $2, 'WATCHING')`, [watcher.id, topic.id]);
        // A reply to the first post, by someone who mentions the one the first post mentioned too.
        const r = await reply(t, replier.token, topic.id, `@${mentioned.handle} @${echoed.handle} agreed`, topic.firstPostId);
        const later = await reply(t, muter.token, topic.id, 'Me too.');
        made.push({ writer, replier, watcher, mentioned, echoed, muter, topicId: topic.id, replyId: r.id, laterId: later.id });
      }
      // The batch the outbox worker hands the handler: every post.created of those topics, in order.
      const rows: Array<{ id: string; type: string; aggregate_type: string; aggregate_id: string; version: number; payload: Record<string, unknown>; created_at: Date; attempts: number }> = await t.sql(
        `SELECT o.* FROM outbox o JOIN posts p ON p.id = o.aggregate_id WHERE o.type = 'post.created' AND p.topic_id = ANY($1::uuid[]) ORDER BY o.id`,
        [made.map((m) => m.topicId)],
      );
      expect(rows).toHaveLength(3 * topics);
      const events = rows.map((r) => ({ id: r.id, type: r.type, aggregateType: r.aggregate_type, aggregateId: r.aggregate_id, version: r.version, payload: r.payload, createdAt: r.created_at, attempts: r.attempts }));
      const cost = await handleCost(events);
      const told = async (u: TestUser) => (await t.sql(`SELECT kind, post_id FROM notifications WHERE user_id = $1 ORDER BY kind, post_id`, [u.id])).map((n) => [n.kind, n.post_id]);
      const watches = async (u: TestUser, topicId: string) => (await t.sql(`SELECT level FROM topic_watches WHERE user_id = $1 AND topic_id = $2`, [u.id, topicId])).map((w) => w.level);
      for (const m of made) {
        const firstPostId = (await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [m.topicId]))[0].id;
        // Mentioned in both posts: told of each (the first post's id is the lower).
        expect(await told(m.mentioned)).toEqual([['MENTION', firstPostId], ['MENTION', m.replyId]]);
        expect(await told(m.echoed)).toEqual([['MENTION', m.replyId]]);
        // The writer watches their topic (so hears the replies, the one to their post as such); the repliers track it.
        expect(await told(m.writer)).toEqual([['REPLY', m.replyId], ['WATCHED_REPLY', m.laterId]]);
        expect(await watches(m.writer, m.topicId)).toEqual(['WATCHING']);
        expect(await watches(m.replier, m.topicId)).toEqual(['TRACKING']);
        expect(await told(m.replier)).toEqual([]);
        expect(await told(m.watcher)).toEqual([['NEW_TOPIC', firstPostId], ['WATCHED_REPLY', m.replyId], ['WATCHED_REPLY', m.laterId]]);
        // Muted when the first post came: its mention unheard, as when each post was drafted in turn,
        // though their own reply, later in the batch, has them track the topic now.
        expect(await told(m.muter)).toEqual([]);
        expect(await watches(m.muter, m.topicId)).toEqual(['TRACKING']);
      }
      return cost.count;
    };
    // Over two topics at least, which the authors' watches' write holds in id order.
    expect(await batchCost(4)).toBe(await batchCost(2));
  });

  it('keeps a batch’s new posts in their place among its other events: a member’s watch their later reply writes is not read by an approval before it', async () => {
    const [writer, muter, other] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const ownBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    await t.sql(`INSERT INTO board_watches (user_id, board_id, level) VALUES ($1, $2, 'MUTED')`, [muter.id, ownBoard]);
    const topic = await createTopic(t, author.token, ownBoard);
    const elsewhere = await createTopic(t, author.token, ownBoard);
    await drain();
    // A reply that mentions the member who muted the board, approved after they replied in its topic.
    const approved = await reply(t, writer.token, topic.id, `@${muter.handle} have a look`);
    const news = await reply(t, other.token, elsewhere.id, 'Elsewhere.');
    const theirs = await reply(t, muter.token, topic.id, 'Me too.');
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
    const event = (type: string, postId: string, i: number) => ({ id: String(i), type, aggregateType: 'post', aggregateId: postId, version: 1, payload: { postId }, createdAt: new Date(), attempts: 0 });
    // One at a time, the approval reads the member's level before their reply makes them track the topic: muted.
    await t.get(NotificationsHandler).handle([event('post.created', news.id, 1), event('post.approved', approved.id, 2), event('post.created', theirs.id, 3)]);
    expect(await t.sql(`SELECT kind, post_id FROM notifications WHERE user_id = $1`, [muter.id])).toEqual([]);
    expect(await t.sql(`SELECT level FROM topic_watches WHERE user_id = $1 AND topic_id = $2`, [muter.id, topic.id])).toEqual([{ level: 'TRACKING' }]);
    expect(await t.sql(`SELECT kind FROM notifications WHERE user_id = $1`, [writer.id])).toEqual([{ kind: 'POST_APPROVED' }]);
  });

  it('keeps a batch’s other events in their place around its runs of new posts: an edit before a reply reads no watch the reply writes, an edit after a post finds its news delivered', async () => {
    const [writer, muter, mentioned] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const ownBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    await t.sql(`INSERT INTO board_watches (user_id, board_id, level) VALUES ($1, $2, 'MUTED')`, [muter.id, ownBoard]);
    const topic = await createTopic(t, author.token, ownBoard);
    await drain();
    const theirs = await reply(t, muter.token, topic.id, 'Me too.');
    const post = await reply(t, writer.token, topic.id, `@${mentioned.handle} have a look`);
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
    const event = (type: string, postId: string, i: number, more: Record<string, unknown> = {}) => ({ id: String(i), type, aggregateType: 'post', aggregateId: postId, version: 1, payload: { postId, ...more }, createdAt: new Date(), attempts: 0 });
    await t.get(NotificationsHandler).handle([
      // An edit of the first post mentioning the member who muted the board, before their reply has them track the topic: unheard.
      event('post.updated', topic.firstPostId, 1, { mentionedUserIds: [muter.id], editorId: author.id }),
      event('post.created', theirs.id, 2),
      event('post.created', post.id, 3),
      // An edit of a post mentioning whom it mentioned already: they heard of the post, not of an edit.
      event('post.updated', post.id, 4, { mentionedUserIds: [mentioned.id], editorId: writer.id }),
    ]);
    expect(await t.sql(`SELECT kind FROM notifications WHERE user_id = $1`, [muter.id])).toEqual([]);
    expect(await t.sql(`SELECT level FROM topic_watches WHERE user_id = $1 AND topic_id = $2`, [muter.id, topic.id])).toEqual([{ level: 'TRACKING' }]);
    expect(await t.sql(`SELECT kind, post_id, data->>'edited' AS edited FROM notifications WHERE user_id = $1`, [mentioned.id])).toEqual([{ kind: 'MENTION', post_id: post.id, edited: null }]);
  });

  it('delivers a batch of approvals and publications in a fixed number of statements, whatever its size, each post’s news as alone', async () => {
    const batchCost = async (topics: number) => {
      const made: Array<{ writer: TestUser; replier: TestUser; mentioned: TestUser; firstPostId: string; replyId: string }> = [];
      const events: OutboxEvent[] = [];
      for (let i = 0; i < topics; i++) {
        const [writer, replier, mentioned] = [await makeUser(t), await makeUser(t), await makeUser(t)];
        const topic = await createTopic(t, writer.token, board, { body: `@${mentioned.handle} have a look` });
        const r = await reply(t, replier.token, topic.id, `@${mentioned.handle} agreed`);
        made.push({ writer, replier, mentioned, firstPostId: topic.firstPostId, replyId: r.id });
        // The topic published to the board, then the reply approved: as the outbox hands them over.
        events.push(
          { id: String(2 * i + 1), type: 'topic.published', aggregateType: 'topic', aggregateId: topic.id, version: 1, payload: { topicId: topic.id, postId: topic.firstPostId }, createdAt: new Date(), attempts: 0 },
          { id: String(2 * i + 2), type: 'post.approved', aggregateType: 'post', aggregateId: r.id, version: 1, payload: { postId: r.id }, createdAt: new Date(), attempts: 0 },
        );
      }
      // Their creations are not delivered: the batch alone tells of them.
      await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
      const cost = await handleCost(events);
      const told = async (u: TestUser) => (await t.sql(`SELECT kind, post_id, data->>'approved' AS approved FROM notifications WHERE user_id = $1 ORDER BY kind, post_id`, [u.id])).map((n) => [n.kind, n.post_id, n.approved]);
      for (const m of made) {
        expect(await told(m.mentioned)).toEqual([['MENTION', m.firstPostId, 'false'], ['MENTION', m.replyId, 'true']].sort((a, b) => (a[1]! < b[1]! ? -1 : 1)));
        // The writer watches their topic from its publication on, so hears of the reply approved after it.
        expect(await told(m.writer)).toEqual([['WATCHED_REPLY', m.replyId, 'true']]);
        expect(await told(m.replier)).toEqual([['POST_APPROVED', m.replyId, null]]);
      }
      return cost.count;
    };
    // Over two topics at least, as above.
    expect(await batchCost(4)).toBe(await batchCost(2));
  });

  it('holds a batch’s topics in id order before its authors’ watches are written, so a move holding two of them deadlocks with no batch', async () => {
    const [x, y] = [await createTopic(t, author.token, board), await createTopic(t, author.token, board)];
    const [low, high] = [x.id, y.id].sort();
    const [u1, u2] = [await makeUser(t), await makeUser(t)];
    const [first, second] = u1.id < u2.id ? [u1, u2] : [u2, u1];
    await drain();
    // The watches are inserted in their authors' id order: the higher topic's first, then the lower's.
    const posts = [await reply(t, first.token, high, 'In the higher.'), await reply(t, second.token, low, 'In the lower.')];
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
    const events = posts.map((p, i) => ({ id: String(i + 1), type: 'post.created', aggregateType: 'post', aggregateId: p.id, version: 1, payload: { postId: p.id }, createdAt: new Date(), attempts: 0 }));
    // A move holds both topics FOR UPDATE, in id order: the lower first.
    const move = await holdLock(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [low]);
    try {
      const handled = t.get(NotificationsHandler).handle(events).then(() => 'handled', (err: unknown) => err);
      await move.waiting(1);
      expect(await move.query(`SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [high]).then(() => 'held', (err: Error) => err.message)).toBe('held');
      await move.release();
      expect(await handled).toBe('handled');
    } finally {
      await move.release();
    }
    expect(await t.sql(`SELECT user_id, topic_id, level FROM topic_watches WHERE user_id = ANY($1::uuid[]) ORDER BY user_id`, [[first.id, second.id]])).toEqual([
      { user_id: first.id, topic_id: high, level: 'TRACKING' },
      { user_id: second.id, topic_id: low, level: 'TRACKING' },
    ]);
  });

  it('holds a run’s topics before any of its authors’ rows: its watches’ statement waiting for an author’s row already holds the topic (a one-time filter over `held`, run before the first row)', async () => {
    const topic = await createTopic(t, author.token, board);
    const writer = await makeUser(t);
    await drain();
    const r = await reply(t, writer.token, topic.id, 'In the one topic.');
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
    const event = { id: '1', type: 'post.created', aggregateType: 'post', aggregateId: r.id, version: 1, payload: { postId: r.id }, createdAt: new Date(), attempts: 0 };
    const statements = jest.spyOn(t.ds, 'query');
    let calls: unknown[][] = [];
    // The writer's account held: the watches' statement (FOR SHARE of its authors) waits there.
    const account = await holdLock(t, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, [writer.id]);
    try {
      const handled = t.get(NotificationsHandler).handle([event]).then(() => 'handled', (err: unknown) => err);
      await account.waiting(1);
      // The topic is held already (a move, FOR UPDATE, would wait): topics before users, whatever the run.
      expect(await t.sql(`SELECT 1 FROM topics WHERE id = $1 FOR UPDATE NOWAIT`, [topic.id]).then(() => 'free', (err: { code?: string }) => err.code)).toBe('55P03');
      await account.release();
      expect(await handled).toBe('handled');
    } finally {
      await account.release();
      calls = [...statements.mock.calls];
      statements.mockRestore();
    }
    const [sql, params] = calls.find(([q]) => /INSERT INTO topic_watches/.test(String(q))) as [string, unknown[]];
    // The hold is an InitPlan read by a one-time filter (a gating Result, run once before the rows
    // it gates are read) over the join of the authors, below the LockRows of their FOR SHARE, not a
    // per-row condition; and its CTE is run on its own (a locking clause keeps it from being inlined).
    const plan = (await t.sql(`EXPLAIN (COSTS OFF) ${sql}`, params)).map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/CTE held\s+->  LockRows/);
    expect(plan).toMatch(/Insert on topic_watches[\s\S]*?->  LockRows[\s\S]*?->  Result\s+One-Time Filter: \((\$\d+|\(InitPlan \d+\)\.col1) >= 0\)\s+->  (Hash Join|Nested Loop|Merge Join)/);
  });

  it('writes the watches of a run of new posts in one statement, its topics held in id order first, with no transaction: a run over two topics costs what a run in one does', async () => {
    // Four new posts, in one topic or two: each topic's first post and replies by members of their own.
    const runCost = async (topics: number) => {
      const made: Array<{ writer: TestUser; repliers: TestUser[]; topicId: string }> = [];
      const postIds: string[] = [];
      for (let i = 0; i < topics; i++) {
        const writer = await makeUser(t);
        const topic = await createTopic(t, writer.token, board);
        postIds.push(topic.firstPostId);
        const repliers: TestUser[] = [];
        for (let j = 0; j < 4 / topics - 1; j++) {
          const replier = await makeUser(t);
          repliers.push(replier);
          postIds.push((await reply(t, replier.token, topic.id, 'Agreed.')).id);
        }
        made.push({ writer, repliers, topicId: topic.id });
      }
      await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
      const events = postIds.map((postId, i) => ({ id: String(i + 1), type: 'post.created', aggregateType: 'post', aggregateId: postId, version: 1, payload: { postId }, createdAt: new Date(), attempts: 0 }));
      const cost = await handleCost(events);
      // The watches are written all the same: the writer watches their topic, the repliers track it.
      for (const m of made) {
        const levels = await t.sql(`SELECT user_id, level FROM topic_watches WHERE topic_id = $1 ORDER BY user_id`, [m.topicId]);
        const expected = [{ user_id: m.writer.id, level: 'WATCHING' }, ...m.repliers.map((r) => ({ user_id: r.id, level: 'TRACKING' }))];
        expect(levels).toEqual(expected.sort((a, b) => (a.user_id < b.user_id ? -1 : 1)));
      }
      return cost;
    };
    const [one, two] = [await runCost(1), await runCost(2)];
    const transactions = (cost: { statements: string[] }) => cost.statements.filter((x) => /START TRANSACTION|BEGIN|COMMIT/i.test(x));
    const watches = (cost: { statements: string[] }) => cost.statements.filter((x) => /INSERT INTO topic_watches/.test(x));
    // The delivery's round alone is a transaction (it holds its posts' topics: a move holds a topic
    // before its posts); the watches are one statement holding the run's topics itself.
    for (const cost of [one, two]) {
      expect(transactions(cost)).toHaveLength(2);
      expect(watches(cost)).toEqual([expect.stringMatching(/FOR KEY SHARE/)]);
    }
    expect(two.count).toBe(one.count);
  });

  it('delivers a reply to any number of watchers in a fixed number of statements', async () => {
    const deliveryCost = async (watchers: number) => {
      const topic = await createTopic(t, author.token, board);
      await drain();
      const users = [];
      for (let i = 0; i < watchers; i++) users.push(await makeUser(t));
      await t.sql(`INSERT INTO topic_watches (user_id, topic_id, level) SELECT unnest($1::uuid[]), $2, 'WATCHING'`, [users.map((u) => u.id), topic.id]);
      // One watcher can no longer read the space's content: a site-wide suspension.
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SUSPEND', 'test', now() + interval '1 day')`, [users[0].id]);
      const replier = await makeUser(t);
      // The notifications' live pushes (on their NOTIFY, for recipients with a socket open, who
      // read them through the access checks) come whenever PostgreSQL delivers the NOTIFY, which
      // under load can be inside the count: held back here, as they are no part of delivery.
      // (The reply's own pushes are over before the count starts: `countStatements` waits.)
      const unpushed = jest.spyOn(t.get(LiveGateway) as unknown as { pushNotification: () => Promise<void> }, 'pushNotification').mockResolvedValue(undefined);
      let cost: Awaited<ReturnType<typeof t.countStatements>>;
      try {
        await reply(t, replier.token, topic.id, 'news for every watcher');
        cost = await t.countStatements(() => drain());
      } finally {
        unpushed.mockRestore();
      }
      const got = await t.sql(`SELECT user_id FROM notifications WHERE topic_id = $1 AND kind = 'WATCHED_REPLY'`, [topic.id]);
      // (Watchers of the board from earlier tests hear about it too.)
      const ids = new Set(got.map((r) => r.user_id));
      expect(users.slice(1).filter((u) => !ids.has(u.id))).toEqual([]);
      expect(ids.has(users[0].id)).toBe(false);
      // Left out: the search vocabulary's write of the reply's words, which the indexing process
      // skips while it remembers writing them (it forgets after a prune anywhere, or in time).
      return cost.statements.filter((x) => !/INSERT INTO search_terms /.test(x)).length;
    };
    await deliveryCost(2); // the first run also writes the reply's new words to the search vocabulary
    expect(await deliveryCost(12)).toBe(await deliveryCost(3));
  });
});

