import { DomainEvent, EventBus } from '../../libs/core/src/events';
import { newId } from '../../libs/core/src/ids';
import { SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { UsersRepository } from '../../libs/identity/src/users/users.repository';
import { LiveGateway, PRESENCE_RUNS_AT_ONCE, presenceRunsAtOnce, ROOM_OPS_PER_WINDOW } from '../../libs/realtime/src/live.gateway';
import { ForumLoaders } from '../../libs/forum/src/forum.loaders';
import { TopicsService } from '../../libs/forum/src/topics/topics.service';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { BoardKind } from '../../libs/spaces/src/boards/board.model';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { Socket } from 'socket.io-client';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { draftArticle, kb, topicOf } from '../factories/knowledge';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { closedByServer, connectLive, heardAfter, heardLive, heardRoom, holdTypingWindow, nextLiveEvent, pacesStopped, pushedSoFar, revocation } from '../support/live-client';
import { countCalls, gateCalls } from '../support/gates';

describe('live updates over Socket.IO', () => {
  let t: TestApp;
  let url: string;
  const sockets: Socket[] = [];
  let author: TestUser;
  let publicBoard: string;
  let internalBoard: string;
  let insider: TestUser;

  beforeAll(async () => {
    t = await bootTestApp();
    url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
    author = await makeUser(t);
    const staff = await makeGroup(t);
    insider = await makeUser(t, { groups: [staff] });
    publicBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    internalBoard = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const connect = (token?: string) => connectLive(url, sockets, token);
  const ask = (s: Socket, event: string, body: unknown) => s.timeout(5000).emitWithAck(event, body);
  const next = nextLiveEvent;
  /** Moderator and member actions the rooms are expected to hear about. */
  const moderatePost = async (postId: string, action: string, token: string) =>
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId, action } }, { token }));
  const mergeIdea = async (sourceId: string, targetId: string, token: string) =>
    expectOk(await t.gql(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId, targetId } }, { token }));
  const react = async (postId: string, kind: string, token: string) =>
    expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId, kind } }, { token }));
  const setClosed = async (topicId: string, closed: boolean, token: string) =>
    expectOk(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId, closed } }, { token }));
  /**
   * Reports a target as a new member; the review item the report was gathered on, which the review rooms' `review:updated`
   * names: a test picks its own push by it (`heardLive(...).first`), not the first of the name, which may be an earlier write's.
   */
  const reportItem = async (targetType: string, targetId: string, reason = 'SPAM'): Promise<string> => {
    const { report } = expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType, targetId, reason } }, { token: (await makeUser(t)).token }));
    return (await t.sql(`SELECT review_item_id FROM reports WHERE id = $1`, [report.id]))[0].review_item_id;
  };
  /** The one review item a held topic waits in (its item is on the topic or on its first post). */
  const heldItem = async (topic: { id: string; firstPostId: string }): Promise<string> => {
    const items = await t.sql(`SELECT id FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = ANY($1::uuid[])`, [[topic.id, topic.firstPostId]]);
    if (items.length !== 1) throw new Error(`${items.length} review items hold topic ${topic.id}`);
    return items[0].id;
  };
  /**
   * Starts keeping the `event`s `s` hears; the function returned waits until everything pushed so far has reached `s`
   * (pushedSoFar), then throws if one came. No fixed wait (it was 400 ms), which proved less the slower the machine.
   */
  const nothing = (s: Socket, event: string) => {
    const heard: unknown[] = [];
    const onEvent = (data: unknown) => heard.push(data);
    s.on(event, onEvent);
    return async () => {
      try {
        await pushedSoFar(t, [s]);
      } finally {
        s.off(event, onEvent);
      }
      if (heard.length) throw new Error(`unexpected ${event}: ${JSON.stringify(heard[0])}`);
    };
  };

  it('refuses a bad token at connect, and lets anonymous visitors into public topics only', async () => {
    await expect(connect('not-a-real-token')).rejects.toThrow(/UNAUTHENTICATED/);
    const anon = await connect();
    const pub = await createTopic(t, author.token, publicBoard);
    const internal = await createTopic(t, insider.token, internalBoard);
    expect(await ask(anon, 'topic:join', { topicId: pub.id })).toEqual({ ok: true });
    expect(await ask(anon, 'topic:join', { topicId: internal.id })).toEqual({ ok: false, code: 'NOT_FOUND' });
    expect(await ask(anon, 'topic:join', { topicId: 'nope' })).toEqual({ ok: false, code: 'BAD_USER_INPUT' });
  });

  it('answers BAD_USER_INPUT to every room event whose id is not a UUID, first: joining nothing, costing no statement (nor room op)', async () => {
    const gateway = t.get(LiveGateway);
    const member = await makeUser(t, { role: 'ADMIN' });
    const s = await connect(member.token);
    const topic = await createTopic(t, author.token, publicBoard);
    const valid = { topicId: topic.id, boardId: publicBoard, spaceId: (await t.sql(`SELECT space_id FROM boards WHERE id = $1`, [publicBoard]))[0].space_id };
    // The last two are shaped as UUIDs but of version 0 and of variant c: what an input's @IsUUID refuses, refused here too (isUuid, ids.ts).
    const bad = ['nope', '', 42, null, ['a'], { id: topic.id }, `${topic.id} `, `${topic.id}'--`, 'x'.repeat(36), '12345678-1234-0234-8234-123456789012', '12345678-1234-7234-c234-123456789012'];
    const events: Array<[string, 'topicId' | 'boardId' | 'spaceId', Record<string, unknown>]> = [
      ['topic:join', 'topicId', {}],
      ['topic:leave', 'topicId', {}],
      ['board:join', 'boardId', {}],
      ['board:leave', 'boardId', {}],
      ['review:join', 'spaceId', {}],
      ['review:leave', 'spaceId', {}],
      ['typing', 'topicId', {}],
      ['topic:sync', 'topicId', { afterNumber: 0 }],
    ];
    const before = [...gateway.server.sockets.sockets.get(s.id!)!.rooms].sort();
    const { count } = await t.countStatements(async () => {
      for (const [event, key, rest] of events) {
        for (const id of bad) expect([event, id, await ask(s, event, { ...rest, [key]: id })]).toEqual([event, id, { ok: false, code: 'BAD_USER_INPUT' }]);
        // Nor a body that is no object (the site-wide review room takes an object without spaceId).
        for (const body of ['text', 7, null]) expect([event, body, await ask(s, event, body)]).toEqual([event, body, { ok: false, code: 'BAD_USER_INPUT' }]);
      }
    });
    expect(count).toBe(0);
    expect([...gateway.server.sockets.sockets.get(s.id!)!.rooms].sort()).toEqual(before);
    // The same events with good ids are let in.
    for (const [event, key] of [['topic:join', 'topicId'], ['board:join', 'boardId'], ['review:join', 'spaceId']] as const) {
      expect(await ask(s, event, { [key]: valid[key] })).toEqual({ ok: true });
    }
  });

  it('takes a room’s id in capitals as the same id: the socket joins the room its pushes go to', async () => {
    const gateway = t.get(LiveGateway);
    const s = await connect((await makeUser(t, { role: 'ADMIN' })).token);
    const topic = await createTopic(t, author.token, publicBoard);
    const spaceId = (await t.sql(`SELECT space_id FROM boards WHERE id = $1`, [publicBoard]))[0].space_id as string;
    expect(await ask(s, 'topic:join', { topicId: topic.id.toUpperCase() })).toEqual({ ok: true });
    expect(await ask(s, 'board:join', { boardId: publicBoard.toUpperCase() })).toEqual({ ok: true });
    expect(await ask(s, 'review:join', { spaceId: spaceId.toUpperCase() })).toEqual({ ok: true });
    const rooms = [...gateway.server.sockets.sockets.get(s.id!)!.rooms];
    expect(rooms.filter((r) => /^(topic|board|modqueue):/.test(r)).sort()).toEqual([`board:${publicBoard}`, `modqueue:${spaceId}`, `topic:${topic.id}`]);
    const received = heardLive(s, 'post:created');
    const r = await reply(t, author.token, topic.id, 'heard in capitals');
    expect(await received.first((e) => e.post?.id === r.id)).toMatchObject({ topicId: topic.id, post: { id: r.id } });
    expect(await ask(s, 'topic:leave', { topicId: topic.id.toUpperCase() })).toEqual({ ok: true });
    expect([...gateway.server.sockets.sockets.get(s.id!)!.rooms]).not.toContain(`topic:${topic.id}`);
  });

  it('pushes new replies to the topic room after commit, with rendered HTML and author', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const watcher = await connect((await makeUser(t)).token);
    expect(await ask(watcher, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const received = heardLive(watcher, 'post:created');
    const r = await reply(t, author.token, topic.id, 'live **reply**');
    const event = await received.first((e) => e.post?.id === r.id);
    expect(event).toMatchObject({ topicId: topic.id, post: { id: r.id, number: 2, bodyHtml: '<p>live <strong>reply</strong></p>\n', author: { id: author.id } } });
  });

  it('never sends a customer anything from an internal space, nor others a pending post', async () => {
    const customer = await connect((await makeUser(t)).token);
    const internal = await createTopic(t, insider.token, internalBoard);
    // Refused at the door, as a topic that does not exist is: a reply's push checks each reader again, so the silence
    // below would hold even if the join let the customer in, and does not by itself show the join's check.
    expect(await ask(customer, 'topic:join', { topicId: internal.id })).toEqual({ ok: false, code: 'NOT_FOUND' });
    const silence = nothing(customer, 'post:created');
    await reply(t, insider.token, internal.id, 'internal only');
    await silence();

    const topic = await createTopic(t, author.token, publicBoard);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = (SELECT space_id FROM topics WHERE id = $1)`, [topic.id]);
    const newcomer = await makeUser(t);
    const other = await connect((await makeUser(t)).token);
    const own = await connect(newcomer.token);
    await ask(other, 'topic:join', { topicId: topic.id });
    await ask(own, 'topic:join', { topicId: topic.id });
    // Nor anything of the topic that moved with it: not its activity, nor its version.
    expect(await ask(other, 'board:join', { boardId: publicBoard })).toEqual({ ok: true });
    const ownGetsIt = heardLive(own, 'post:created');
    const othersDoNot = ['post:created', 'topic:activity', 'topic:updated'].map((event) => nothing(other, event));
    const r = await reply(t, newcomer.token, topic.id, 'held for review');
    expect((await ownGetsIt.first((e) => e.post?.id === r.id)).post.state).toBe('PENDING');
    for (const silence of othersDoNot) await silence();
    await t.sql(`UPDATE spaces SET moderation = '{}' WHERE id = (SELECT space_id FROM topics WHERE id = $1)`, [topic.id]);
  });

  it('refuses oversized payloads and caps the rooms of one connection', async () => {
    const s = await connect();
    // Closed for it: the transport, at once, not a close for another cause (a ping timeout on a loaded machine).
    const gone = heardLive<string>(s, 'disconnect');
    s.emit('topic:join', { topicId: 'x'.repeat(64 * 1024) });
    expect(await gone.first(() => true)).toBe('transport close');
    const c = await connect();
    const topics = [];
    for (let i = 0; i < 51; i++) topics.push((await createTopic(t, author.token, publicBoard)).id);
    for (let i = 0; i < 50; i++) expect(await ask(c, 'topic:join', { topicId: topics[i] })).toEqual({ ok: true });
    expect(await ask(c, 'topic:join', { topicId: topics[50] })).toEqual({ ok: false, code: 'RATE_LIMITED' });
  });

  it('runs the presence of every room a member hiding their profile reads a few at a time, and sends each', async () => {
    const member = await makeUser(t);
    const topics: string[] = [];
    for (let i = 0; i < PRESENCE_RUNS_AT_ONCE * 2 + 1; i++) topics.push((await createTopic(t, author.token, publicBoard)).id);
    const s = await connectLive(url, sockets, member.token);
    for (const topicId of topics) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    const live = t.get(LiveGateway);
    await live.settled();
    // How many presence runs are under way at once, and for which rooms.
    const runs = countCalls(live, 'sendPresence');
    try {
      const HIDE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { hideProfile } }`;
      expect(expectOk(await t.gql(HIDE, { input: { hideProfile: true } }, { token: member.token })).updateProfile).toEqual({ hideProfile: true });
      while (runs.firstArgs.size < topics.length) await new Promise((resolve) => setTimeout(resolve, 20));
      await live.settled();
    } finally {
      runs.restore();
    }
    // Half the pool's connections (five here), the rest left to requests.
    expect(runs.most).toBe(presenceRunsAtOnce(t.config.DB_POOL_SIZE));
    expect(runs.most).toBe(2);
    expect([...runs.firstArgs].sort()).toEqual(topics.map((id) => `topic:${id}`).sort());
  });

  it('keeps to presenceRunsAtOnce across the node: a closed tab in many rooms takes no more of the pool than a hide', async () => {
    const leaver = await makeUser(t);
    const stayer = await makeUser(t);
    const topics: string[] = [];
    for (let i = 0; i < PRESENCE_RUNS_AT_ONCE * 2 + 1; i++) topics.push((await createTopic(t, author.token, publicBoard)).id);
    const gone = await connectLive(url, sockets, leaver.token);
    // A signed-in reader stays in every room: each room's run reads who hides (a pool connection).
    const stays = await connectLive(url, sockets, stayer.token);
    for (const topicId of topics) {
      expect(await gone.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
      expect(await stays.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    }
    const live = t.get(LiveGateway);
    await live.settled();
    const runs = countCalls(live, 'sendPresence');
    try {
      // The closed tab leaves every room at once; each room's presence is sent again.
      gone.disconnect();
      while (runs.firstArgs.size < topics.length) await new Promise((resolve) => setTimeout(resolve, 20));
      await live.settled();
    } finally {
      runs.restore();
    }
    expect(runs.most).toBe(presenceRunsAtOnce(t.config.DB_POOL_SIZE));
    expect([...runs.firstArgs].sort()).toEqual(topics.map((id) => `topic:${id}`).sort());
  });

  it('shows presence and typing, throttled', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const a = await connect(author.token);
    const reader = await makeUser(t);
    const b = await connect(reader.token);
    // Presence follows a join (it reads who hides their profile first), so the ack may come before it.
    // Each is picked by the room and the reader its join names; a join that names nobody new
    // (a second tab, an anonymous reader) by the room, among what was pushed after every earlier push arrived.
    const presence = heardLive<Presence & { topicId: string }>(a, 'presence');
    const naming = (id: string) => presence.first((p) => p.topicId === topic.id && p.users.some((u) => u.id === id));
    await ask(a, 'topic:join', { topicId: topic.id });
    expect((await naming(author.id)).count).toBe(1);
    await ask(b, 'topic:join', { topicId: topic.id });
    expect((await naming(reader.id)).count).toBe(2);
    // A second tab of the same person is still one reader; an anonymous reader counts too.
    const again = await heardAfter<Presence & { topicId: string }>(t, a, 'presence');
    await ask(await connect(author.token), 'topic:join', { topicId: topic.id });
    expect(await again.first((p) => p.topicId === topic.id)).toMatchObject({ count: 2, users: expect.arrayContaining([expect.objectContaining({ id: author.id })]) });
    const withAnonymous = await heardAfter<Presence & { topicId: string }>(t, a, 'presence');
    await ask(await connect(), 'topic:join', { topicId: topic.id });
    expect((await withAnonymous.first((p) => p.topicId === topic.id)).count).toBe(3);
    // The reader types (the author, shared with other tests, is not held back for the hour).
    const typing = heardLive(a, 'typing');
    expect(await ask(b, 'typing', { topicId: topic.id })).toEqual({ ok: true });
    expect(await typing.first((p) => p.topicId === topic.id && p.user.id === reader.id)).toMatchObject({ topicId: topic.id, user: { id: reader.id } });
    // Their next ping falls in the window of this one, however long it takes to get there.
    await holdTypingWindow(t.sql.bind(t), reader.id);
    expect(await ask(b, 'typing', { topicId: topic.id })).toEqual({ ok: false, code: 'RATE_LIMITED' });
  });

  it('limits typing per member, not per connection: a second tab of the same member is refused within the window', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const writer = await makeUser(t);
    const [tab1, tab2] = [await connect(writer.token), await connect(writer.token)];
    const reader = await connect((await makeUser(t)).token);
    for (const s of [tab1, tab2, reader]) expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const heard: string[] = [];
    reader.on('typing', (p: { user: { id: string } }) => heard.push(p.user.id));
    expect(await ask(tab1, 'typing', { topicId: topic.id })).toEqual({ ok: true });
    await holdTypingWindow(t.sql.bind(t), writer.id);
    expect(await ask(tab2, 'typing', { topicId: topic.id })).toEqual({ ok: false, code: 'RATE_LIMITED' });
    // Another member is not held back by it; once their typing arrives, the writer's one ping has too (same node, same room).
    const someoneElse = await makeUser(t);
    const other = await connect(someoneElse.token);
    expect(await ask(other, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const theirs = heardLive(reader, 'typing');
    expect(await ask(other, 'typing', { topicId: topic.id })).toEqual({ ok: true });
    await theirs.first((p) => p.topicId === topic.id && p.user.id === someoneElse.id);
    expect(heard).toEqual([writer.id, someoneElse.id]);
  });

  type Presence = { count: number; users: Array<{ id: string; handle: string }> };

  /**
   * Holds the gateway's first presence run in the room of `holder` (at its read of who hides
   * their profile, `presenceFacts`) until `release`, and counts the room's runs: those whose
   * readers include `holder`, who stays in the room.
   */
  function holdPresence(holder: string) {
    const users = (t.get(LiveGateway) as unknown as { users: { presenceFacts: (ids: readonly string[], ...rest: unknown[]) => Promise<unknown> } }).users;
    const original = users.presenceFacts;
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const held = new Promise<void>((r) => (entered = r));
    users.presenceFacts = async (ids, ...rest) => {
      const run = ids.includes(holder) ? ++runs : 0;
      const facts = await original.call(users, ids, ...rest);
      if (run === 1) {
        entered();
        await gate;
      }
      return facts;
    };
    return { held, release, runs: () => runs, undo: () => void (users.presenceFacts = original) };
  }

  /** The client's `presence` events from now on, the last one first seen when `settled` answers. */
  function presenceOf(s: Socket) {
    let last: Presence | undefined;
    const waiting: Array<{ ok: (p: Presence) => boolean; resolve: (p: Presence) => void }> = [];
    s.on('presence', (p: Presence) => {
      last = p;
      for (const w of waiting.filter((w) => w.ok(p))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(p);
      }
    });
    return {
      /** The first presence from now on that `ok` accepts; rejects when none comes within 5 s. */
      until: (ok: (p: Presence) => boolean) =>
        new Promise<Presence>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no such presence; last ${JSON.stringify(last)}`)), 5000);
          waiting.push({ ok, resolve: (p) => (clearTimeout(timer), resolve(p)) });
        }),
      /** The last presence received, once the server has answered one more ack (so what it sent before is in). */
      settled: async (topicId: string) => {
        expect(await ask(s, 'topic:join', { topicId })).toEqual({ ok: true });
        return last;
      },
    };
  }

  const sameReaders = (p: Presence | undefined, count: number, ids: string[]) => p?.count === count && p.users.map((u) => u.id).sort().join() === [...ids].sort().join();

  it('coalesces presence while a room fills: one run under way, one after it, and the last tells everyone who is there', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const holder = await makeUser(t);
    const readers: TestUser[] = [];
    for (let i = 0; i < 18; i++) readers.push(await makeUser(t));
    const first = await connect(holder.token);
    // Twenty arrivals: eighteen members and two anonymous readers.
    const arrivals = [...(await Promise.all(readers.map((r) => connect(r.token)))), await connect(), await connect()];
    const all = [first, ...arrivals];
    const logs = all.map(presenceOf);
    const ids = [holder, ...readers].map((u) => u.id);
    const hold = holdPresence(holder.id);
    try {
      expect(await ask(first, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      await hold.held;
      // All twenty arrive while the first run is held: each ack comes after its join asked for presence.
      const full = logs.map((l) => l.until((p) => p.count === 21));
      expect(await Promise.all(arrivals.map((s) => ask(s, 'topic:join', { topicId: topic.id })))).toEqual(arrivals.map(() => ({ ok: true })));
      hold.release();
      for (const p of await Promise.all(full)) expect(sameReaders(p, 21, ids)).toBe(true);
      for (const l of logs) expect(sameReaders(await l.settled(topic.id), 21, ids)).toBe(true);
      // The held run and one more: not one per arrival.
      expect(hold.runs()).toBe(2);
    } finally {
      hold.undo();
    }
  });

  it('ends with the right presence when readers leave or close their connection while a run is held', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const [holder, stays, leaves, closes, late] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t)];
    const [h, a, b, c, d] = await Promise.all([holder, stays, leaves, closes, late].map((u) => connect(u.token)));
    for (const s of [a, b, c]) expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const logs = [h, a, d].map(presenceOf);
    const hold = holdPresence(holder.id);
    try {
      // The holder's join starts the run that is held (it read four readers).
      expect(await ask(h, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      await hold.held;
      const expected = [holder, stays, late].map((u) => u.id);
      const final = logs.map((l) => l.until((p) => sameReaders(p, 3, expected)));
      expect(await ask(b, 'topic:leave', { topicId: topic.id })).toEqual({ ok: true });
      // The server has handled the close (and asked for presence) once its socket's `disconnect` fired.
      const closed = new Promise<void>((resolve) => t.get(LiveGateway).server.sockets.sockets.get(c.id!)!.once('disconnect', () => resolve()));
      c.disconnect();
      await closed;
      expect(await ask(d, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      hold.release();
      await Promise.all(final);
      // Nothing older came after it: the held run's list (four readers) went first.
      for (const l of logs) expect(sameReaders(await l.settled(topic.id), 3, expected)).toBe(true);
      expect(hold.runs()).toBe(2);
    } finally {
      hold.undo();
    }
  });

  it('gives up on a presence read that blocks, so the room’s next run goes ahead', async () => {
    const gateway = t.get(LiveGateway);
    const bound = gateway.presenceStatementTimeoutMs;
    gateway.presenceStatementTimeoutMs = 500;
    const topic = await createTopic(t, author.token, publicBoard);
    const reader = await connect((await makeUser(t)).token);
    const log = presenceOf(reader);
    expect(await ask(reader, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    await log.until((p) => p.count === 1);
    // Another connection holds a lock that no read of the users table gets past.
    const locker = new Client({ connectionString: t.db.url });
    await locker.connect();
    try {
      await locker.query(`BEGIN`);
      await locker.query(`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`);
      // An anonymous reader's join reads no user; the presence run it starts reads the signed-in one, and blocks.
      expect(await ask(await connect(), 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      // With the lock still held, the run can only end by giving up.
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('the presence run is still blocked'), 15_000)));
      expect(await Promise.race([gateway.settled().then(() => 'ended'), stuck])).toBe('ended');
      clearTimeout(timer);
    } finally {
      await locker.query(`ROLLBACK`);
      await locker.end();
      gateway.presenceStatementTimeoutMs = bound;
    }
    // The room is not held: the next arrival's run tells everyone.
    const three = log.until((p) => p.count === 3);
    expect(await ask(await connect(), 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    await three;
  });

  it('counts a hidden member’s typing, sent on after its answer to those who see them, among the fan-outs settled() waits for', async () => {
    const gateway = t.get(LiveGateway);
    const topic = await createTopic(t, author.token, publicBoard);
    const hidden = await makeUser(t);
    await t.sql(`UPDATE users SET hide_profile = true WHERE id = $1`, [hidden.id]);
    const writer = await connect(hidden.token);
    const admin = await connect((await makeUser(t, { role: 'ADMIN' })).token);
    for (const s of [writer, admin]) expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    await gateway.settled();
    // Its sending (a read of the room and of who sees hidden members) waits at a gate once begun.
    const gate = gateCalls(gateway, 'typingToThoseWhoSee');
    try {
      const heard = heardLive(admin, 'typing');
      expect(await ask(writer, 'typing', { topicId: topic.id })).toEqual({ ok: true });
      await gate.begun;
      // Asked while the sending is held, settled() ends only after it: had the typing not been
      // counted among the fan-outs, it would end at once, the sending still at its gate.
      const settling = gateway.settled().then(() => gate.ended);
      gate.open();
      expect(await settling).toBe(1);
      await heard.first((p) => p.topicId === topic.id && p.user.id === hidden.id);
    } finally {
      gate.restore();
    }
  });

  it('sends a hidden member’s typing to no socket that left the room while those who see them were read', async () => {
    const gateway = t.get(LiveGateway);
    const topic = await createTopic(t, author.token, publicBoard);
    const hidden = await makeUser(t);
    await t.sql(`UPDATE users SET hide_profile = true WHERE id = $1`, [hidden.id]);
    const leaver = await makeUser(t, { role: 'ADMIN' });
    const writer = await connect(hidden.token);
    const gone = await connect(leaver.token);
    const stays = await connect((await makeUser(t, { role: 'MODERATOR' })).token);
    for (const s of [writer, gone, stays]) expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    await gateway.settled();
    // The sending's read of who sees hidden members (the room's users, the leaver among them) waits at a gate.
    const users = (gateway as unknown as { users: UsersRepository }).users;
    const gate = gateCalls(users, 'presenceFacts', (ids: string[], q: unknown) => q === undefined && ids.includes(leaver.id));
    try {
      const heard: unknown[] = [];
      gone.on('typing', (p: unknown) => heard.push(p));
      const staffHears = heardLive(stays, 'typing');
      expect(await ask(writer, 'typing', { topicId: topic.id })).toEqual({ ok: true });
      await gate.begun;
      // Out of the room after it was read, before the typing goes out.
      expect(await ask(gone, 'topic:leave', { topicId: topic.id })).toEqual({ ok: true });
      gate.open();
      await gateway.settled();
      await staffHears.first((p) => p.topicId === topic.id && p.user.id === hidden.id);
      // One more answer on the same connection: a typing sent before it would have arrived first.
      expect(await ask(gone, 'topic:leave', { topicId: topic.id })).toEqual({ ok: true });
      expect(heard).toEqual([]);
    } finally {
      gate.restore();
    }
  });

  it('lets only those who may reply say they are typing; leaving a room one is not in tells nobody', async () => {
    const readers = await makeGroup(t);
    const reader = await makeUser(t, { groups: [readers] });
    const space = await makeSpace(t, 'RESTRICTED', [{ groupId: readers, level: 'READ' }, { userId: author.id, level: 'PARTICIPATE' }]);
    const topic = await createTopic(t, author.token, await makeBoard(t, space.id));
    const a = await connect(author.token);
    const r = await connect(reader.token);
    await ask(a, 'topic:join', { topicId: topic.id });
    expect(await ask(r, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const quiet = nothing(a, 'typing');
    expect(await ask(r, 'typing', { topicId: topic.id })).toEqual({ ok: false, code: 'FORBIDDEN' });
    await quiet();
    // Nor in a closed topic, which takes no replies (its moderators excepted).
    const closed = await createTopic(t, author.token, publicBoard);
    await t.sql(`UPDATE topics SET closed = true WHERE id = $1`, [closed.id]);
    const writer = await connect((await makeUser(t)).token);
    expect(await ask(writer, 'topic:join', { topicId: closed.id })).toEqual({ ok: true });
    expect(await ask(writer, 'typing', { topicId: closed.id })).toEqual({ ok: false, code: 'FORBIDDEN' });
    // An outsider "leaving" the room sends its members no presence.
    const noPresence = nothing(a, 'presence');
    expect(await ask(await connect(), 'topic:leave', { topicId: topic.id })).toEqual({ ok: true });
    await noPresence();
  });

  it('answers topic:sync with the posts a client missed', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    for (let i = 0; i < 3; i++) await reply(t, author.token, topic.id, `missed ${i}`);
    const s = await connect();
    const res = await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: 2 });
    expect(res.ok).toBe(true);
    expect(res.posts.map((p: { number: number }) => p.number)).toEqual([3, 4]);
    // Each with the post's version, as the page answers it, which a client orders the pushes it hears against (README, *Order*).
    const page = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts { edges { node { number version } } } } }`, { id: topic.id }));
    const versions = page.topic.posts.edges.map((e: { node: { number: number; version: number } }) => [e.node.number, e.node.version]).filter(([n]: number[]) => n > 2);
    expect(versions.every(([, v]: number[]) => typeof v === 'number')).toBe(true);
    expect(res.posts.map((p: { number: number; version: number }) => [p.number, p.version])).toEqual(versions);
    expect(await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: -1 })).toEqual({ ok: false, code: 'BAD_USER_INPUT' });
    expect(await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: 2 ** 40 })).toEqual({ ok: false, code: 'BAD_USER_INPUT' });
    // A mark in year 0, which JavaScript reads and PostgreSQL does not.
    expect(await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: 0, since: '0000-01-01T00:00:00.000000Z' })).toEqual({ ok: false, code: 'BAD_USER_INPUT' });
  });

  it('still acknowledges an event whose handler failed: INTERNAL with a correlation id, nothing of the error', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const s = await connect();
    const loaders = t.get(ForumLoaders);
    const original = loaders.topic;
    loaders.topic = async () => {
      throw new Error('the database went away (with a secret detail)');
    };
    try {
      const ack = await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: 0 });
      expect(ack).toEqual({ ok: false, code: 'INTERNAL', correlationId: expect.any(String) });
    } finally {
      loaders.topic = original;
    }
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
  });

  it('answers topic:sync with what changed below afterNumber since the last sync: a held reply approved, a post hidden', async () => {
    const mod = await makeUser(t, { role: 'MODERATOR' });
    const topic = await createTopic(t, author.token, publicBoard);
    const held = await reply(t, author.token, topic.id, 'held for review');
    await setPostState(t, held.id, 'PENDING');
    const visible = await reply(t, author.token, topic.id, 'visible at once');
    // Written well before the first sync (marks overlap by a minute, for transactions under way).
    await t.sql(`UPDATE posts SET updated_at = now() - interval '10 minutes' WHERE topic_id = $1`, [topic.id]);
    const s = await connect();
    const first = await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: 1 });
    expect(first).toMatchObject({ ok: true, changed: [], changesHaveMore: false });
    expect(first.posts.map((p: { number: number }) => p.number)).toEqual([visible.number]);
    await moderatePost(held.id, 'APPROVE', mod.token);
    await moderatePost(visible.id, 'HIDE', mod.token);
    const second = await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: visible.number, since: first.syncMark });
    expect(second.posts).toEqual([]);
    expect(second.changed.map((p: any) => [p.number, p.state, p.placeholder !== null])).toEqual([
      [held.number, 'VISIBLE', false],
      [visible.number, 'HIDDEN', true],
    ]);
    expect(second.changed[0].bodyHtml).toContain('held for review');
    // Each with its version as `Post.version` answers the same reader: the approved one its post's,
    // the hidden one's placeholder what a page's placeholder answers (its removal's version).
    const page = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts { edges { node { number version } } } } }`, { id: topic.id }));
    const asPage = new Map(page.topic.posts.edges.map((e: { node: { number: number; version: number | null } }) => [e.node.number, e.node.version]));
    expect(typeof second.changed[0].version).toBe('number');
    expect(second.changed.map((p: any) => [p.number, p.version])).toEqual(second.changed.map((p: any) => [p.number, asPage.get(p.number)]));
    expect(second.syncMark >= first.syncMark).toBe(true);
    for (const since of ['yesterday', 42, '2026-13-45T99:99:99.000000Z', '2026-02-30T00:00:00.000000Z']) {
      expect(await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: 1, since })).toEqual({ ok: false, code: 'BAD_USER_INPUT' });
    }
  });

  it('revokes a suspended user’s sockets at once', async () => {
    const member = await makeUser(t);
    const s = await connect(member.token);
    const revoked = revocation(s);
    const mod = await makeUser(t, { role: 'MODERATOR' });
    expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'SUSPEND', reason: 'Raid', durationHours: 24 } }, { token: mod.token }));
    expect(await revoked).toEqual([{ reason: 'suspended' }]);
  });

  /** A space whose every post is held, its board, and its moderator's socket (not yet in the review room). */
  async function premoderatedSpace(kind?: 'IDEAS'): Promise<{ mod: TestUser; space: { id: string }; board: string; m: Socket }> {
    const mod = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [space.id]);
    return { mod, space, board: await makeBoard(t, space.id, kind), m: await connect(mod.token) };
  }

  it('gives moderators a review room where held posts and queue changes arrive', async () => {
    const { space, board, m } = await premoderatedSpace();
    const outsider = await connect((await makeUser(t)).token);
    expect(await ask(outsider, 'review:join', { spaceId: space.id })).toEqual({ ok: false, code: 'NOT_FOUND' });
    expect(await ask(m, 'review:join', { spaceId: space.id })).toEqual({ ok: true });
    const held = heardLive(m, 'post:created');
    const queue = heardLive(m, 'review:updated');
    const topic = await createTopic(t, (await makeUser(t)).token, board, { body: 'please approve me' });
    expect((await held.first((e) => e.topicId === topic.id)).post.state).toBe('PENDING');
    const item = await heldItem(topic);
    expect(await queue.first((e) => e.reviewItemId === item)).toEqual({ reviewItemId: item, spaceId: space.id });
    // Leaving the room: nothing more arrives, and it no longer counts against the connection's rooms.
    expect(await ask(m, 'review:leave', { spaceId: space.id })).toEqual({ ok: true });
    const silence = nothing(m, 'review:updated');
    await createTopic(t, (await makeUser(t)).token, board, { body: 'another one to approve' });
    await silence();
    // Leaving the site-wide room takes no space; a malformed one is bad input.
    expect(await ask(m, 'review:leave', {})).toEqual({ ok: true });
    for (const body of [{ spaceId: 'nope' }, { spaceId: 42 }, 'text']) expect(await ask(m, 'review:leave', body)).toEqual({ ok: false, code: 'BAD_USER_INPUT' });
  });

  it('tells a topic’s room nothing of a held reply rejected before anyone saw it; its author and the moderators see it go', async () => {
    const { mod, space, board, m } = await premoderatedSpace();
    expect(await ask(m, 'review:join', { spaceId: space.id })).toEqual({ ok: true });
    const topic = await createTopic(t, mod.token, board, { body: 'a staff topic' });
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const writer = await makeUser(t, { trustLevel: 3 });
    const writerSocket = await connect(writer.token);
    const held = await reply(t, writer.token, topic.id, 'held, then rejected');
    const silence = nothing(reader, 'post:removed');
    const toAuthor = heardLive(writerSocket, 'post:removed');
    const toModerators = heardLive(m, 'post:removed');
    await moderatePost(held.id, 'REJECT', mod.token);
    await silence();
    // In the words its author's page shows in its place (until 2026-12-07 'This post is not available.'), with the
    // version the rejection left it with (until 2026-12-07 none), and nothing more.
    const [{ version }] = await t.sql(`SELECT version FROM posts WHERE id = $1`, [held.id]);
    const gone = { topicId: topic.id, postId: held.id, placeholder: 'This post was deleted.', version };
    expect(await toAuthor.first((e) => e.postId === held.id)).toEqual(gone);
    expect(await toModerators.first((e) => e.postId === held.id)).toEqual(gone);
    const authorsPage = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts { edges { node { id placeholder } } } } }`, { id: topic.id }, { token: writer.token }));
    expect(authorsPage.topic.posts.edges.find((e: { node: { id: string } }) => e.node.id === held.id).node.placeholder).toBe(gone.placeholder);
    // A reader's page load agrees with the room's silence: the rejected reply is not there.
    const sync = await ask(reader, 'topic:sync', { topicId: topic.id, afterNumber: 0 });
    expect(sync.posts.map((p: { id: string }) => p.id)).not.toContain(held.id);
  });

  it('tells the review room when automod flags a post into the queue', async () => {
    const mod = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const board = await makeBoard(t, space.id);
    expectOk(
      await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, {
        input: { spaceId: space.id, pattern: 'refund', kind: 'WORD', action: 'FLAG', publicReason: 'Refunds go to support' },
      }, { token: mod.token }),
    );
    const m = await connect(mod.token);
    expect(await ask(m, 'review:join', { spaceId: space.id })).toEqual({ ok: true });
    const queue = heardLive(m, 'review:updated');
    await createTopic(t, (await makeUser(t)).token, board, { body: 'I want a refund' });
    const [item] = await t.sql(`SELECT id FROM review_items WHERE space_id = $1 AND kind = 'AUTOMOD'`, [space.id]);
    expect(await queue.first((e) => e.reviewItemId === item.id)).toEqual({ reviewItemId: item.id, spaceId: space.id });
  });

  it('keeps review rooms current: claims, decisions on held posts, and a site-wide room for global moderators', async () => {
    const { mod, space, board, m } = await premoderatedSpace();
    expect(await ask(m, 'review:join', { spaceId: space.id })).toEqual({ ok: true });
    const held = heardLive(m, 'review:updated');
    const topic = await createTopic(t, (await makeUser(t)).token, board, { body: 'hold me' });
    const reviewItemId = await heldItem(topic);
    expect(await held.first((e) => e.reviewItemId === reviewItemId)).toEqual({ reviewItemId, spaceId: space.id });
    // A claim's push and a decision's say the same (the item and its space): each is heard by a listener that began once the
    // item's earlier pushes had all arrived (pushedSoFar), so neither is taken for the other.
    await pushedSoFar(t, [m]);
    const claimed = heardLive(m, 'review:updated');
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: reviewItemId }, { token: mod.token }));
    expect(await claimed.first((e) => e.reviewItemId === reviewItemId)).toEqual({ reviewItemId, spaceId: space.id });
    await pushedSoFar(t, [m]);
    const settled = heardLive(m, 'review:updated');
    await moderatePost(topic.firstPostId, 'APPROVE', mod.token);
    expect(await settled.first((e) => e.reviewItemId === reviewItemId)).toEqual({ reviewItemId, spaceId: space.id });

    // Items of no space (a report on a user) reach the global moderators' room, and only theirs.
    const globalMod = await connect((await makeUser(t, { role: 'MODERATOR' })).token);
    const member = await connect((await makeUser(t)).token);
    expect(await ask(member, 'review:join', {})).toEqual({ ok: false, code: 'NOT_FOUND' });
    expect(await ask(globalMod, 'review:join', {})).toEqual({ ok: true });
    const siteWide = heardLive(globalMod, 'review:updated');
    const silence = nothing(m, 'review:updated');
    const userItem = await reportItem('USER', (await makeUser(t)).id);
    expect(await siteWide.first((e) => e.reviewItemId === userItem)).toEqual({ reviewItemId: userItem, spaceId: null });
    await silence();
  });

  it('tells both spaces’ review rooms of open items that follow moved content: the old one that it left, the new one that it arrived', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [fromMod, toMod] = [await makeUser(t), await makeUser(t)];
    const from = await makeSpace(t, 'PUBLIC', [{ userId: fromMod.id, level: 'MODERATE' }]);
    const to = await makeSpace(t, 'RESTRICTED', [{ userId: toMod.id, level: 'MODERATE' }]);
    const [fromBoard, toBoard] = [await makeBoard(t, from.id), await makeBoard(t, to.id)];
    const [fm, tm] = [await connect(fromMod.token), await connect(toMod.token)];
    expect(await ask(fm, 'review:join', { spaceId: from.id })).toEqual({ ok: true });
    expect(await ask(tm, 'review:join', { spaceId: to.id })).toEqual({ ok: true });
    // An item's report and its move out of a space say the same to the old space's room: each move's pushes are heard by
    // listeners that began once every earlier push had arrived (pushedSoFar), so the report's is not taken for the move's.
    const report = async (targetType: string, targetId: string) => {
      const queued = heardLive(fm, 'review:updated');
      const item = await reportItem(targetType, targetId, 'ABUSE');
      expect(await queued.first((e) => e.reviewItemId === item)).toEqual({ reviewItemId: item, spaceId: from.id });
      return item;
    };
    const topic = await createTopic(t, author.token, fromBoard);
    const rude = await reply(t, author.token, topic.id, 'a rude reply');
    const replyItem = await report('POST', rude.id);
    const into = await createTopic(t, admin.token, toBoard);
    await pushedSoFar(t, [fm, tm]);
    let left = heardLive(fm, 'review:updated');
    let arrived = heardLive(tm, 'review:updated');
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [rude.id], toTopicId: into.id } }, { token: admin.token }));
    // Ids alone, each room its own space's: the old space's moderators learn nothing of where it went.
    expect(await left.first((e) => e.reviewItemId === replyItem)).toEqual({ reviewItemId: replyItem, spaceId: from.id });
    expect(await arrived.first((e) => e.reviewItemId === replyItem)).toEqual({ reviewItemId: replyItem, spaceId: to.id });

    const topicItem = await report('TOPIC', topic.id);
    await pushedSoFar(t, [fm, tm]);
    left = heardLive(fm, 'review:updated');
    arrived = heardLive(tm, 'review:updated');
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: toBoard } }, { token: admin.token }));
    expect(await left.first((e) => e.reviewItemId === topicItem)).toEqual({ reviewItemId: topicItem, spaceId: from.id });
    expect(await arrived.first((e) => e.reviewItemId === topicItem)).toEqual({ reviewItemId: topicItem, spaceId: to.id });

    // A move of several items (one review.moved): each room hears of each, in id order, with its own space's id alone
    // (what it hears of other items, an earlier write's, is not this move's).
    const other = await createTopic(t, author.token, fromBoard);
    const several = [await report('TOPIC', other.id), await report('POST', (await reply(t, author.token, other.id, 'rude again')).id)].sort();
    await pushedSoFar(t, [fm, tm]);
    const heard = (s: Socket) => {
      const got: unknown[] = [];
      s.on('review:updated', (d: { reviewItemId: string }) => several.includes(d.reviewItemId) && got.push(d));
      return got;
    };
    const [fromHeard, toHeard] = [heard(fm), heard(tm)];
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: other.id, boardId: toBoard } }, { token: admin.token }));
    await new Promise<void>((resolve) => {
      const tick = () => (fromHeard.length >= 2 && toHeard.length >= 2 ? resolve() : setTimeout(tick, 20));
      tick();
    });
    expect(fromHeard).toEqual(several.map((reviewItemId) => ({ reviewItemId, spaceId: from.id })));
    expect(toHeard).toEqual(several.map((reviewItemId) => ({ reviewItemId, spaceId: to.id })));
  });

  it('tells a board’s room about new topics and replies, never about held ones, until it leaves', async () => {
    const { mod, board } = await premoderatedSpace();
    const openBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: openBoard })).toEqual({ ok: true });
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    const created = heardLive(reader, 'topic:created');
    const topic = await createTopic(t, author.token, openBoard, { title: 'Fresh on the board' });
    expect(await created.first((e) => e.topic?.id === topic.id)).toMatchObject({ boardId: openBoard, topic: { id: topic.id, title: 'Fresh on the board', kind: 'DISCUSSION', author: { id: author.id } } });
    const activity = heardLive(reader, 'topic:activity');
    await reply(t, insider.token, topic.id, 'First!');
    expect(await activity.first((e) => e.topicId === topic.id)).toMatchObject({ boardId: openBoard, topicId: topic.id, lastPostNumber: 2 });
    // A held topic stays out of the board's room until a moderator approves it.
    const silence = nothing(reader, 'topic:created');
    const held = await createTopic(t, author.token, board, { title: 'Waiting for review' });
    await silence();
    const approved = heardLive(reader, 'topic:created');
    await moderatePost(held.firstPostId, 'APPROVE', mod.token);
    expect(await approved.first((e) => e.topic?.id === held.id)).toMatchObject({ boardId: board, topic: { id: held.id, title: 'Waiting for review' } });
    expect(await ask(reader, 'board:leave', { boardId: openBoard })).toEqual({ ok: true });
    const quiet = nothing(reader, 'topic:created');
    await createTopic(t, author.token, openBoard);
    await quiet();
  });

  it('tells a board’s room when a topic it was shown leaves it without a move, by its id and version alone, and announces it again once it is back', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    const created = heardLive(reader, 'topic:created');
    const topic = await createTopic(t, author.token, board, { title: 'Soon gone from the list' });
    const first = await created.first((e) => e.topic?.id === topic.id);
    const topicVersion = async () => Number((await t.sql(`SELECT version FROM topics WHERE id = $1`, [topic.id]))[0].version);
    expect(first).toMatchObject({ boardId: board, topic: { id: topic.id, title: 'Soon gone from the list' }, version: await topicVersion() });
    let newest: number = first.version;
    // Hidden, then unhidden; deleted (by its author), then restored: each removal tells the room
    // the topic's id and the version the removal left it with, nothing else (no title); each return
    // is the topic's arrival again, with its title, above the removal.
    const steps: Array<[() => Promise<unknown>, () => Promise<unknown>]> = [
      [() => moderatePost(topic.firstPostId, 'HIDE', admin.token), () => moderatePost(topic.firstPostId, 'UNHIDE', admin.token)],
      [
        async () => expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: author.token })),
        () => moderatePost(topic.firstPostId, 'RESTORE', admin.token),
      ],
    ];
    for (const [take, give] of steps) {
      const removed = heardLive(reader, 'topic:removed');
      await take();
      const gone = await removed.first((e) => e.topicId === topic.id);
      expect(gone).toEqual({ topicId: topic.id, version: await topicVersion() });
      expect(gone.version).toBeGreaterThan(newest);
      const back = heardLive(reader, 'topic:created');
      await give();
      const again = await back.first((e) => e.topic?.id === topic.id);
      expect(again).toMatchObject({ boardId: board, topic: { id: topic.id, title: 'Soon gone from the list', author: { id: author.id } }, version: await topicVersion() });
      expect(again.version).toBeGreaterThan(gone.version);
      newest = again.version;
    }
    // Gone once, told once: deleting the hidden topic tells the room nothing more (it was not shown
    // it), nor does restoring it back to hidden announce it.
    const once = heardLive(reader, 'topic:removed');
    await moderatePost(topic.firstPostId, 'HIDE', admin.token);
    await once.first((e) => e.topicId === topic.id);
    const quietRemoval = nothing(reader, 'topic:removed');
    const quietArrival = nothing(reader, 'topic:created');
    await moderatePost(topic.firstPostId, 'DELETE', admin.token);
    await moderatePost(topic.firstPostId, 'RESTORE', admin.token);
    await quietRemoval();
    await quietArrival();
    expect((await t.sql(`SELECT state FROM posts WHERE id = $1`, [topic.firstPostId]))[0].state).toBe('HIDDEN');
  });

  it('tells a board nothing of a merged idea hidden, nor announces it when it is back: the board’s lists no longer show it', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'IDEAS');
    const [source, target] = [await createTopic(t, author.token, board), await createTopic(t, author.token, board)];
    await mergeIdea(source.id, target.id, admin.token);
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    // Nor its hiding: the board never listed it, so its readers are told nothing of it, its id
    // included (until 2026-12-07 they heard `topic:removed`).
    const quietRemoval = nothing(reader, 'topic:removed');
    await moderatePost(source.firstPostId, 'HIDE', admin.token);
    await quietRemoval();
    const quiet = nothing(reader, 'topic:created');
    await moderatePost(source.firstPostId, 'UNHIDE', admin.token);
    await quiet();
    // Visible again, and still merged: a page of the board leaves it out.
    expect((await t.sql(`SELECT p.state, i.status FROM posts p JOIN ideas i ON i.topic_id = p.topic_id WHERE p.id = $1`, [source.firstPostId]))[0]).toEqual({ state: 'VISIBLE', status: 'MERGED' });
  });

  it('announces an unmerged idea on its board as a new topic, the board’s lists showing it again; never a hidden one', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'IDEAS');
    const [source, hidden, target] = [await createTopic(t, author.token, board, { title: 'Back on the list', kind: 'IDEA' }), await createTopic(t, author.token, board), await createTopic(t, author.token, board)];
    for (const s of [source, hidden]) {
      await mergeIdea(s.id, target.id, admin.token);
    }
    await moderatePost(hidden.firstPostId, 'HIDE', admin.token);
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const arrived = heardLive(reader, 'topic:created');
    const unmerge = `mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`;
    expectOk(await t.gql(unmerge, { id: source.id }, { token: admin.token }));
    const [{ version, created_at: createdAt }] = await t.sql(`SELECT t.version, p.created_at FROM topics t JOIN posts p ON p.topic_id = t.id AND p.number = 1 WHERE t.id = $1`, [source.id]);
    // Until 2026-12-07 only `idea:updated`, which a board list ignores for a topic it does not list.
    expect(await arrived.first((e) => e.topic?.id === source.id)).toEqual({
      boardId: board,
      topic: { id: source.id, title: 'Back on the list', kind: 'IDEA', createdAt: createdAt.toISOString(), author: { id: author.id, handle: author.handle, displayName: expect.any(String) } },
      version: Number(version),
    });
    // A hidden one unmerged is listed to nobody the room holds: not announced, its title included.
    const quiet = nothing(reader, 'topic:created');
    expectOk(await t.gql(unmerge, { id: hidden.id }, { token: admin.token }));
    await t.get(LiveGateway).settled();
    await quiet();
  });

  it('reads a moved topic once for its arrival on its new board, what the board it left hears, and its `topic:updated`: a reader on either board costs the move no statement', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const space = (await makeSpace(t, 'PUBLIC')).id;
    const [from, to] = [await makeBoard(t, space), await makeBoard(t, space)];
    const move = (topicId: string) => t.countStatements(async () => expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId, boardId: to } }, { token: admin.token })));
    // Nobody on either board: the push reads the topic once, for `topic:updated` (its own room's).
    const unheard = await move((await createTopic(t, author.token, from)).id);
    const reader = await connect((await makeUser(t)).token);
    for (const boardId of [from, to]) expect(await ask(reader, 'board:join', { boardId })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const [arrived, left, updated] = [heardLive(reader, 'topic:created'), heardLive(reader, 'topic:moved'), heardLive(reader, 'topic:updated')];
    const topic = await createTopic(t, author.token, from, { title: 'Read once' });
    const heard = await move(topic.id);
    const [{ version }] = await t.sql(`SELECT version FROM topics WHERE id = $1`, [topic.id]);
    expect(await arrived.first((e) => e.topic?.id === topic.id && e.boardId === to)).toMatchObject({ boardId: to, topic: { title: 'Read once' }, version: Number(version) });
    expect(await left.first((e) => e.topicId === topic.id)).toEqual({ topicId: topic.id, version: Number(version) });
    expect(await updated.first((e) => e.topicId === topic.id)).toMatchObject({ title: 'Read once', pinned: false, closed: false, locked: false, acceptedPostId: null, slowModeSeconds: 0, version: Number(version) });
    // The arrival's read, the topic with its first post, serves all three (until 2026-12-07 the
    // topic was read again for its `topic:updated`, and for the board it left: two more).
    expect(heard.count).toBe(unheard.count);
    expect(heard.statements.filter((q) => /^SELECT id, board_id, title,[\s\S]* FROM topics WHERE id = \$1$/.test(q.trim()))).toEqual([]);
  });

  it('reads no idea columns for a moved topic but an idea arriving on an idea board someone may hear it on, then in its one read; an unmerge’s read joins them too', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const space = (await makeSpace(t, 'PUBLIC')).id;
    const [from, to, ideasFrom, ideasTo, ideasQuiet] = [await makeBoard(t, space), await makeBoard(t, space), await makeBoard(t, space, 'IDEAS'), await makeBoard(t, space, 'IDEAS'), await makeBoard(t, space, 'IDEAS')];
    const reader = await connect((await makeUser(t)).token);
    for (const boardId of [from, to, ideasFrom, ideasTo]) expect(await ask(reader, 'board:join', { boardId })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const FIRST_POST_READ = /p\.topic_id = \$1 AND p\.number = 1/;
    const IDEA_READ = /JOIN ideas i\b|i\.vote_count/;
    const firstPostReads = async (write: () => Promise<unknown>) => (await t.countStatements(write)).statements.filter((q) => FIRST_POST_READ.test(q));
    const move = (topicId: string, boardId: string) => firstPostReads(async () => expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId, boardId } }, { token: admin.token })));
    // A plain topic moved between forum boards, and an idea moved onto an idea board nobody hears
    // (its old board's reader alone): the move's read of its first post serves its arrival, the
    // board it left and its `topic:updated`, none of which carries the idea (until 2026-12-07
    // every move's read joined the idea and its merge target, sending nothing of it).
    for (const [topicId, boardId] of [[(await createTopic(t, author.token, from)).id, to], [(await createTopic(t, author.token, ideasFrom, { kind: 'IDEA' })).id, ideasQuiet]]) {
      const reads = await move(topicId, boardId);
      expect(reads).toHaveLength(1);
      expect(reads.filter((q) => IDEA_READ.test(q))).toEqual([]);
    }
    // An idea moved onto an idea board its reader hears: the same one read, with its idea, for
    // that board's `idea:updated` (until 2026-12-07 none, and the board showed it without votes).
    const reads = await move((await createTopic(t, author.token, ideasFrom, { kind: 'IDEA' })).id, ideasTo);
    expect(reads).toHaveLength(1);
    expect(reads.filter((q) => IDEA_READ.test(q))).toHaveLength(1);
    // An unmerge's arrival is read with its idea, for its `idea:updated`.
    const [source, target] = [await createTopic(t, author.token, ideasTo, { kind: 'IDEA' }), await createTopic(t, author.token, ideasTo, { kind: 'IDEA' })];
    await mergeIdea(source.id, target.id, admin.token);
    const unmerged = await firstPostReads(async () => expectOk(await t.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: source.id }, { token: admin.token })));
    expect(unmerged).toHaveLength(1);
    expect(unmerged.filter((q) => IDEA_READ.test(q))).toHaveLength(1);
  });

  it('tells an idea board an idea moved onto it of its votes and status, after its arrival and read with it; nobody who may not read it there, and no statement more when nobody hears it', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const staff = await makeGroup(t);
    const member = await makeUser(t, { groups: [staff] });
    const [open, closed] = [(await makeSpace(t, 'PUBLIC')).id, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id];
    const [from, to, elsewhere] = [await makeBoard(t, open, 'IDEAS'), await makeBoard(t, closed, 'IDEAS'), await makeBoard(t, closed, 'IDEAS')];
    const moveTo = (topicId: string, boardId: string) =>
      t.countStatements(async () => expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId, boardId } }, { token: admin.token })));
    /** An idea on `from` with its author's vote and a second one. */
    const voted = async (title: string) => {
      const idea = await createTopic(t, author.token, from, { title, kind: 'IDEA' });
      expectOk(await t.gql(`mutation($id: ID!) { voteIdea(topicId: $id) { id } }`, { id: idea.id }, { token: (await makeUser(t)).token }));
      return idea;
    };
    // Nobody on either board: its idea is not read (nor its first post: `topic:updated` reads the topic alone).
    const unheard = await moveTo((await voted('Nobody there')).id, elsewhere);
    const there = await connect(member.token);
    expect(await ask(there, 'board:join', { boardId: to })).toEqual({ ok: true });
    const [idea, hidden] = [await voted('Arrives with its votes'), await voted('Arrives hidden')];
    await moderatePost(hidden.firstPostId, 'HIDE', admin.token);
    await pushedSoFar(t, [there]);
    const heard: Array<[string, any]> = [];
    const keep = (event: string) => (data: any) => heard.push([event, data]);
    const listeners = ['topic:created', 'idea:updated'].map((event) => [event, keep(event)] as const);
    for (const [event, on] of listeners) there.on(event, on);
    const of = (id: string) => heard.filter(([, e]) => e.topicId === id || e.topic?.id === id);
    try {
      const moved = await moveTo(idea.id, to);
      await moveTo(hidden.id, to);
      await pushedSoFar(t, [there]);
      const [now] = await t.sql(`SELECT t.version, i.vote_count, i.version AS idea_version, i.status FROM topics t JOIN ideas i ON i.topic_id = t.id WHERE t.id = $1`, [idea.id]);
      expect(now).toMatchObject({ vote_count: 2, status: 'NEW' });
      // Its arrival, then its idea as it is (until 2026-12-07 the arrival alone); the hidden one's neither.
      expect(of(idea.id)).toEqual([
        ['topic:created', expect.objectContaining({ boardId: to, topic: expect.objectContaining({ title: 'Arrives with its votes' }), version: Number(now.version) })],
        ['idea:updated', { topicId: idea.id, status: 'NEW', voteCount: 2, mergedIntoId: null, version: Number(now.idea_version), topicVersion: Number(now.version) }],
      ]);
      expect(of(hidden.id)).toEqual([]);
      // Read with its arrival: no statement more than with nobody there.
      expect(moved.count).toBe(unheard.count);
      // A reader who may not read the board it goes to is not let listen there; on the board it
      // leaves and in its room, they hear it go (`topic:moved`, `access:lost`), nothing of its idea.
      const outsider = await connect((await makeUser(t)).token);
      expect(await ask(outsider, 'board:join', { boardId: to })).toEqual({ ok: false, code: 'NOT_FOUND' });
      const away = await voted('Out of an outsider’s sight');
      expect(await ask(outsider, 'board:join', { boardId: from })).toEqual({ ok: true });
      expect(await ask(outsider, 'topic:join', { topicId: away.id })).toEqual({ ok: true });
      await pushedSoFar(t, [there, outsider]);
      const [left, quietIdea, quietArrival] = [heardLive(outsider, 'topic:moved'), nothing(outsider, 'idea:updated'), nothing(outsider, 'topic:created')];
      await moveTo(away.id, to);
      expect(await left.first((e) => e.topicId === away.id)).toMatchObject({ topicId: away.id });
      await pushedSoFar(t, [there, outsider]);
      await quietIdea();
      await quietArrival();
      expect(of(away.id).map(([event]) => event)).toEqual(['topic:created', 'idea:updated']);
    } finally {
      for (const [event, on] of listeners) there.off(event, on);
    }
  });

  it('says where an idea’s push went: nowhere when, to its board alone, the topic has left that board since the read; refused when older', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const space = (await makeSpace(t, 'PUBLIC')).id;
    const [board, other] = [await makeBoard(t, space, 'IDEAS'), await makeBoard(t, space, 'IDEAS')];
    const idea = await createTopic(t, author.token, board, { title: 'Read before it moved on', kind: 'IDEA' });
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    // The idea as `pushIdea` reads it, on the board it then leaves.
    const [row] = await t.sql(
      `SELECT t.id AS topic_id, t.board_id, t.state AS topic_state, t.version AS topic_version, i.status AS idea_status, i.vote_count AS idea_vote_count,
              i.version AS idea_version, NULL AS idea_merged_into
         FROM ideas i JOIN topics t ON t.id = i.topic_id WHERE i.topic_id = $1`,
      [idea.id],
    );
    const before = { ...row, topic_version: Number(row.topic_version), idea_version: Number(row.idea_version) };
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: idea.id, boardId: other } }, { token: admin.token }));
    await t.get(LiveGateway).settled();
    await pushedSoFar(t, [reader]);
    const quiet = nothing(reader, 'idea:updated');
    const gateway = t.get(LiveGateway) as unknown as { sendIdea: (i: typeof before, boardOnly?: boolean) => unknown };
    // To that board alone, which it has left: nobody hears it, and it says so (until 2026-12-07 it
    // said it was sent, and a move's arrival took that for its idea told).
    expect(gateway.sendIdea(before, true)).toBe('nowhere');
    await quiet();
    // To its topic's room as well, it goes there; a version older than that one is refused.
    expect(gateway.sendIdea(before)).toBe('sent');
    expect(gateway.sendIdea({ ...before, idea_version: before.idea_version - 1 })).toBe('older');
  });

  it('sends nothing of an idea moved onto a forum board there: its arrival alone', async () => {
    const space = (await makeSpace(t, 'PUBLIC')).id;
    const [ideas, forum] = [await makeBoard(t, space, 'IDEAS'), await makeBoard(t, space)];
    const idea = await createTopic(t, author.token, ideas, { title: 'Now a discussion’s neighbour', kind: 'IDEA' });
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: forum })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const arrived = heardLive(reader, 'topic:created');
    const quiet = nothing(reader, 'idea:updated');
    // moveTopic keeps a topic to boards of its own kind; the move's write itself, as a caller that
    // did not would make it, says where it went (`boardKind`), and the gateway judges by that.
    await t.get(UnitOfWork).run((tx) => t.get(TopicsService).writeMove(tx, null, { id: idea.id, spaceId: space, boardId: ideas }, { id: forum, spaceId: space, kind: BoardKind.FORUM }, BoardKind.IDEAS));
    expect(await arrived.first((e) => e.topic?.id === idea.id)).toMatchObject({ boardId: forum });
    await t.get(LiveGateway).settled();
    await quiet();
  });

  it('tells an unmerged idea’s rooms of its idea though its arrival’s read finds no first post, and nothing of one hidden since, on any path', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'IDEAS');
    const live = t.get(LiveGateway) as any;
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    const unmerged = async (hideFirst: boolean) => {
      const [source, target] = [await createTopic(t, author.token, board, { kind: 'IDEA' }), await createTopic(t, author.token, board, { kind: 'IDEA' })];
      await mergeIdea(source.id, target.id, admin.token);
      expect(await ask(reader, 'topic:join', { topicId: source.id })).toEqual({ ok: true });
      await pushedSoFar(t, [reader]);
      const heard: Array<{ event: string; data: any }> = [];
      const keep = (event: string) => (data: any) => heard.push({ event, data });
      const listeners = ['idea:updated', 'topic:created'].map((event) => [event, keep(event)] as const);
      for (const [event, on] of listeners) reader.on(event, on);
      // The arrival's read, held until the idea's first post is hidden (`hideFirst`), or finding no row:
      // no first post to read, which no write leaves today (post 1 is never moved nor deleted for good).
      const gate = gateCalls(live, 'readArrival', (id: string) => id === source.id);
      const read = jest.spyOn(live, 'readArrival');
      if (!hideFirst) read.mockImplementationOnce(async () => undefined);
      try {
        expectOk(await t.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: source.id }, { token: admin.token }));
        if (hideFirst) {
          await gate.begun;
          await moderatePost(source.firstPostId, 'HIDE', admin.token);
        }
        gate.open();
        await t.get(LiveGateway).settled();
        await pushedSoFar(t, [reader]);
      } finally {
        read.mockRestore();
        gate.restore();
        for (const [event, on] of listeners) reader.off(event, on);
      }
      return heard.filter((h) => h.data.topicId === source.id || h.data.topic?.id === source.id);
    };
    // No row read with its first post: its idea is read by its own row, as when nobody hears its
    // board (until 2026-12-07 nothing was sent, and its page kept showing it merged).
    expect(await unmerged(false)).toEqual([{ event: 'idea:updated', data: expect.objectContaining({ status: 'NEW', mergedIntoId: null }) }]);
    // Hidden before its push read it: neither its arrival nor its idea goes to anyone in the rooms.
    expect(await unmerged(true)).toEqual([]);
  });

  it('tells the rooms of every idea an unmerge recounts of its new count, the ideas its chain runs through past its target included', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'IDEAS');
    // first -> middle -> last, each with its author's vote: last counts all three.
    const [first, middle, last] = [await createTopic(t, author.token, board, { kind: 'IDEA' }), await createTopic(t, (await makeUser(t)).token, board, { kind: 'IDEA' }), await createTopic(t, (await makeUser(t)).token, board, { kind: 'IDEA' })];
    await mergeIdea(first.id, middle.id, admin.token);
    await mergeIdea(middle.id, last.id, admin.token);
    const reader = await connect((await makeUser(t)).token);
    for (const topicId of [middle.id, last.id]) expect(await ask(reader, 'topic:join', { topicId })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const updated = heardLive(reader, 'idea:updated');
    expectOk(await t.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: first.id }, { token: admin.token }));
    const counts = new Map((await t.sql(`SELECT topic_id, vote_count, version FROM ideas WHERE topic_id = ANY($1::uuid[])`, [[middle.id, last.id]])).map((r) => [r.topic_id, r]));
    expect(counts.get(last.id)).toMatchObject({ vote_count: 2 });
    // Until 2026-12-07 only its target's room heard of it: last's kept showing three votes.
    for (const id of [middle.id, last.id]) {
      expect(await updated.first((e) => e.topicId === id && e.version === Number(counts.get(id).version))).toMatchObject({ voteCount: counts.get(id).vote_count, mergedIntoId: id === middle.id ? last.id : null });
    }
  });

  it('raises an unmerged idea’s topic version, which its arrival carries, and reads that arrival, with the idea, only when someone may hear it on its board', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'IDEAS');
    const versionOf = async (id: string) => Number((await t.sql(`SELECT version FROM topics WHERE id = $1`, [id]))[0].version);
    const merged = async (title: string) => {
      const [source, target] = [await createTopic(t, author.token, board, { title, kind: 'IDEA' }), await createTopic(t, author.token, board, { kind: 'IDEA' })];
      await mergeIdea(source.id, target.id, admin.token);
      return { id: source.id, before: await versionOf(source.id) };
    };
    const FIRST_POST_READ = /p\.topic_id = \$1 AND p\.number = 1/;
    const unmerge = async (id: string) => {
      const { count, statements } = await t.countStatements(async () => expectOk(await t.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id }, { token: admin.token })));
      return { count, reads: statements.filter((q) => FIRST_POST_READ.test(q)).length };
    };
    // Nobody on the board: its arrival is not read (until 2026-12-07 it was, whoever listened).
    const quiet = await merged('Nobody hears it');
    const unheard = await unmerge(quiet.id);
    expect(unheard.reads).toBe(0);
    expect(await versionOf(quiet.id)).toBeGreaterThan(quiet.before);
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const back = await merged('Heard back');
    await pushedSoFar(t, [reader]);
    const arrived = heardLive(reader, 'topic:created');
    const heard = await unmerge(back.id);
    // The arrival's read, the idea with its first post, serves its `idea:updated` too (until
    // 2026-12-07 the idea was read again: one statement more for the reader there).
    expect(heard).toEqual({ count: unheard.count, reads: 1 });
    // Raised by the unmerge, as a move or a first post's hiding raises it (until 2026-12-07 the
    // arrival carried the version the topic had before the merge).
    const after = await versionOf(back.id);
    expect(after).toBeGreaterThan(back.before);
    expect(await arrived.first((e) => e.topic?.id === back.id)).toMatchObject({ boardId: board, topic: { title: 'Heard back' }, version: after });
  });

  it('announces a topic moved onto a board there as a new topic, with its version; the board it left hears `topic:moved` with the same', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [from, to] = [await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id), await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id)];
    const topic = await createTopic(t, author.token, from, { title: 'On its way over' });
    const [there, here] = [await connect((await makeUser(t)).token), await connect((await makeUser(t)).token)];
    expect(await ask(there, 'board:join', { boardId: to })).toEqual({ ok: true });
    expect(await ask(here, 'board:join', { boardId: from })).toEqual({ ok: true });
    await pushedSoFar(t, [there, here]);
    const [arrived, left] = [heardLive(there, 'topic:created'), heardLive(here, 'topic:moved')];
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: to } }, { token: admin.token }));
    const [{ version, created_at: createdAt }] = await t.sql(`SELECT t.version, p.created_at FROM topics t JOIN posts p ON p.topic_id = t.id AND p.number = 1 WHERE t.id = $1`, [topic.id]);
    // What a new topic's arrival carries, no more: read with the version the move left it with.
    expect(await arrived.first((e) => e.topic?.id === topic.id)).toEqual({
      boardId: to,
      topic: { id: topic.id, title: 'On its way over', kind: 'DISCUSSION', createdAt: createdAt.toISOString(), author: { id: author.id, handle: author.handle, displayName: expect.any(String) } },
      version: Number(version),
    });
    expect(await left.first((e) => e.topicId === topic.id)).toEqual({ topicId: topic.id, version: Number(version) });
  });

  it('announces nothing on the board a hidden or held topic is moved onto, nor its title', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [from, to] = [await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id), await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id)];
    const [hidden, held] = [await createTopic(t, author.token, from), await createTopic(t, author.token, from)];
    await moderatePost(hidden.firstPostId, 'HIDE', admin.token);
    await setPostState(t, held.firstPostId, 'PENDING');
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: to })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const quiet = nothing(reader, 'topic:created');
    for (const topic of [hidden, held]) {
      expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: to } }, { token: admin.token }));
    }
    await t.get(LiveGateway).settled();
    await quiet();
  });

  it('tells an ordinary member nothing of a hidden or a held idea moved onto another idea board, on any path; the moderators of the space it goes to see its review item arrive', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const toMod = await makeUser(t);
    const { board: heldFrom } = await premoderatedSpace('IDEAS');
    const openSpace = (await makeSpace(t, 'PUBLIC')).id;
    const toSpace = (await makeSpace(t, 'PUBLIC', [{ userId: toMod.id, level: 'MODERATE' }])).id;
    const [hiddenFrom, to] = [await makeBoard(t, openSpace, 'IDEAS'), await makeBoard(t, toSpace, 'IDEAS')];
    // A hidden idea with votes, and one held for review as its author posted it (premoderation).
    const hidden = await createTopic(t, author.token, hiddenFrom, { title: 'Hidden idea on its way', kind: 'IDEA' });
    expectOk(await t.gql(`mutation($id: ID!) { voteIdea(topicId: $id) { id } }`, { id: hidden.id }, { token: (await makeUser(t)).token }));
    await moderatePost(hidden.firstPostId, 'HIDE', admin.token);
    const held = await createTopic(t, author.token, heldFrom, { title: 'Held idea on its way', kind: 'IDEA' });
    const item = await heldItem(held);
    const ids = [hidden.id, held.id, hidden.firstPostId, held.firstPostId, item];
    const about = (args: unknown[]) => ids.some((id) => JSON.stringify(args).includes(id)) || /idea on its way/.test(JSON.stringify(args));
    // An ordinary member on every board either idea is on or goes to, refused the rooms of both ideas.
    const member = await connect((await makeUser(t)).token);
    for (const boardId of [hiddenFrom, heldFrom, to]) expect(await ask(member, 'board:join', { boardId })).toEqual({ ok: true });
    for (const topic of [hidden, held]) expect(await ask(member, 'topic:join', { topicId: topic.id })).toEqual({ ok: false, code: 'NOT_FOUND' });
    // The moderators of the space they go to, on its board and in its review room.
    const moderator = await connect(toMod.token);
    expect(await ask(moderator, 'board:join', { boardId: to })).toEqual({ ok: true });
    expect(await ask(moderator, 'review:join', { spaceId: toSpace })).toEqual({ ok: true });
    await pushedSoFar(t, [member, moderator]);
    const heard = new Map<Socket, Array<[string, unknown]>>([[member, []], [moderator, []]]);
    for (const [s, got] of heard) s.onAny((event: string, ...args: unknown[]) => about(args) && got.push([event, args[0]]));
    for (const topic of [hidden, held]) {
      expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: to } }, { token: admin.token }));
    }
    await t.get(LiveGateway).settled();
    await pushedSoFar(t, [member, moderator]);
    // Moved, still hidden and held, their votes kept: nothing the member heard names either (no
    // `topic:moved` on the boards they left, no arrival, no `idea:updated` with their counts).
    expect((await t.sql(`SELECT t.id, t.board_id, t.state FROM topics t WHERE t.id = ANY($1::uuid[]) ORDER BY t.title`, [[hidden.id, held.id]]))).toEqual([
      { id: held.id, board_id: to, state: 'PENDING' },
      { id: hidden.id, board_id: to, state: 'HIDDEN' },
    ]);
    expect(heard.get(member)).toEqual([]);
    // The moderators see the held idea's review item arrive in their space's queue, by its id and their space's alone;
    // on the board, as its lists show them, neither idea (a board's pushes list only what every reader there may see).
    expect(heard.get(moderator)).toEqual([['review:updated', { reviewItemId: item, spaceId: toSpace }]]);
  });

  it('announces no merged idea moved onto a board: the board’s lists leave it out', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const space = (await makeSpace(t, 'PUBLIC')).id;
    const [board, other] = [await makeBoard(t, space, 'IDEAS'), await makeBoard(t, space, 'IDEAS')];
    const [source, target] = [await createTopic(t, author.token, board), await createTopic(t, author.token, board)];
    await mergeIdea(source.id, target.id, admin.token);
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: other })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const quiet = nothing(reader, 'topic:created');
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: source.id, boardId: other } }, { token: admin.token }));
    await t.get(LiveGateway).settled();
    await quiet();
    // Moved, visible and still merged: a page of the board leaves it out.
    expect((await t.sql(`SELECT t.board_id, p.state, i.status FROM topics t JOIN posts p ON p.topic_id = t.id AND p.number = 1 JOIN ideas i ON i.topic_id = t.id WHERE t.id = $1`, [source.id]))[0]).toEqual({ board_id: other, state: 'VISIBLE', status: 'MERGED' });
  });

  it('tells a board’s room nothing of a held topic rejected: it was never shown it, its id included', async () => {
    const { mod, board } = await premoderatedSpace();
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    const held = await createTopic(t, author.token, board, { title: 'Never shown' });
    const quiet = nothing(reader, 'topic:removed');
    await moderatePost(held.firstPostId, 'REJECT', mod.token);
    await quiet();
  });

  it('tells a board’s room the last post number its readers are shown, not that of a reply still held after it', async () => {
    const { mod, board } = await premoderatedSpace();
    const topic = await createTopic(t, mod.token, board);
    const newcomer = await makeUser(t);
    const first = await reply(t, newcomer.token, topic.id, 'held, then approved');
    const second = await reply(t, newcomer.token, topic.id, 'held, and still waiting');
    expect([first.number, second.number]).toEqual([2, 3]);
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'board:join', { boardId: board })).toEqual({ ok: true });
    const activity = heardLive(reader, 'topic:activity');
    await moderatePost(first.id, 'APPROVE', mod.token);
    // Before: lastPostNumber 3, the number of the reply still held, which readers are not shown.
    expect(await activity.first((e) => e.topicId === topic.id)).toMatchObject({ boardId: board, topicId: topic.id, lastPostNumber: 2 });
    const later = heardLive(reader, 'topic:activity');
    await moderatePost(second.id, 'APPROVE', mod.token);
    expect(await later.first((e) => e.topicId === topic.id && e.lastPostNumber !== 2)).toMatchObject({ topicId: topic.id, lastPostNumber: 3 });
  });

  it('reads the last post a board’s readers are shown in a post’s one push statement, only for topic:activity, once per topic', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    /** The statements that read posts to push them (`pushPosts`). */
    const pushes = (statements: string[]) => statements.filter((sql) => sql.includes('AS topic_state'));
    /** Whether a statement reads a topic's last post (a max() of post numbers). */
    const readsLastShown = (sql: string) => /max\(\w+\.number\)/.test(sql);
    // A reply arrives: its board hears topic:activity, the last post read in the push's one statement.
    const created = pushes((await t.countStatements(() => reply(t, author.token, topic.id, 'A reply'))).statements);
    expect(created).toHaveLength(1);
    expect(readsLastShown(created[0])).toBe(true);
    // An edit (post:updated, nothing for the board): the push reads no last post.
    const r = await reply(t, author.token, topic.id, 'To be edited');
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    const edited = pushes((await t.countStatements(async () => expectOk(await t.gql(EDIT, { input: { postId: r.id, body: 'Edited' } }, { token: author.token })))).statements);
    expect(edited).toHaveLength(1);
    // Before: every pushed row read it, this one too.
    expect(readsLastShown(edited[0])).toBe(false);
    // Several posts of one topic pushed by the statement that reads the last post: it is read once
    // for the topic, not once for each post (before: a correlated max() per row, three loops).
    const more = [await reply(t, author.token, topic.id, 'one'), await reply(t, author.token, topic.id, 'two'), await reply(t, author.token, topic.id, 'three')];
    const [plan] = await t.sql(`EXPLAIN (ANALYZE, FORMAT JSON) ${created[0]}`, [more.map((m) => m.id)]);
    const loops: number[] = [];
    const walk = (node: any) => {
      // A scan of a topic's posts (by topic_id): the last post's read, the push's own posts being read by id.
      if (node['Relation Name'] === 'posts' && `${node['Index Cond'] ?? ''} ${node.Filter ?? ''}`.includes('topic_id =')) loops.push(node['Actual Loops']);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(plan['QUERY PLAN'][0].Plan);
    expect(loops).toEqual([1]);
  });

  it('pushes edits of state, topic changes and reactions to the topic room, until it leaves', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const topic = await createTopic(t, author.token, publicBoard);
    const r = await reply(t, insider.token, topic.id, 'to be hidden');
    const s = await connect((await makeUser(t)).token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const reacted = heardLive(s, 'reaction:updated');
    await react(r.id, 'THANKS', author.token);
    expect(await reacted.first((e) => e.postId === r.id)).toMatchObject({ topicId: topic.id, postId: r.id });
    const updated = heardLive(s, 'topic:updated');
    await setClosed(topic.id, true, admin.token);
    expect(await updated.first((e) => e.topicId === topic.id && e.closed === true)).toMatchObject({ topicId: topic.id, closed: true });
    const removed = heardLive(s, 'post:removed');
    await moderatePost(r.id, 'HIDE', admin.token);
    const gone = await removed.first((e) => e.postId === r.id);
    expect(gone).toMatchObject({ topicId: topic.id, postId: r.id });
    expect(JSON.stringify(gone)).not.toContain('to be hidden');
    // A reaction committed just before the hide, whose event arrives after it, stays out of the room.
    const noReactions = nothing(s, 'reaction:updated');
    t.get(EventBus).publish({ type: 'reaction.updated', aggregateType: 'post', aggregateId: r.id, payload: { topicId: topic.id, postId: r.id, counts: [{ kind: 'THANKS', count: 1 }] } });
    await noReactions();
    expect(await ask(s, 'topic:leave', { topicId: topic.id })).toEqual({ ok: true });
    const quiet = nothing(s, 'topic:updated');
    await setClosed(topic.id, false, admin.token);
    await quiet();
  });

  it('pushes a hidden or deleted post’s removal with the placeholder the topic’s page shows in its place, its version, and nothing of what was removed', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const topic = await createTopic(t, author.token, publicBoard, { title: 'Titled removalsecret' });
    const hidden = await reply(t, insider.token, topic.id, 'to be hidden, removalsecret one');
    const deleted = await reply(t, insider.token, topic.id, 'to be deleted, removalsecret two');
    const reader = await makeUser(t);
    const s = await connect(reader.token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const everything: unknown[] = [];
    s.onAny((_name, e) => everything.push(e));
    const versionOf = async (id: string) => (await t.sql(`SELECT version FROM posts WHERE id = $1`, [id]))[0].version as number;
    const removed = heardLive(s, 'post:removed');
    const updated = heardLive(s, 'post:updated');
    // An edit pushed before the hide: the removal comes after it, so its version is higher.
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: hidden.id, body: 'edited, removalsecret three' } }, { token: insider.token }));
    const edit = await updated.first((e) => e.post?.id === hidden.id);
    await moderatePost(hidden.id, 'HIDE', admin.token);
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.id }, { token: insider.token }));
    const pushed = [await removed.first((e) => e.postId === hidden.id), await removed.first((e) => e.postId === deleted.id)];
    // Ids, the placeholder, the version the removal left the post with: nothing else (until 2026-12-07 no version,
    // so a client could not tell a removal from an edit or a restore that raced it).
    expect(pushed).toEqual([
      { topicId: topic.id, postId: hidden.id, placeholder: 'This post was hidden by a moderator.', version: await versionOf(hidden.id) },
      { topicId: topic.id, postId: deleted.id, placeholder: 'This post was deleted.', version: await versionOf(deleted.id) },
    ]);
    expect(pushed[0].version).toBeGreaterThan(edit.post.version);
    // The page a reader loads afterwards: the same words in the posts' place (until 2026-12-07 a deletion was pushed as
    // 'This post is not available.' while the page said 'This post was deleted.').
    const page = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { posts { edges { node { id placeholder } } } } }`, { id: topic.id }, { token: reader.token }));
    const shown = new Map(page.topic.posts.edges.map((e: { node: { id: string; placeholder: string | null } }) => [e.node.id, e.node.placeholder]));
    expect(pushed.map((e) => e.placeholder)).toEqual([shown.get(hidden.id), shown.get(deleted.id)]);
    // Unhidden, it comes back with a higher version still: a client applying the highest it heard shows the post,
    // whichever of the two pushes reached it first.
    await moderatePost(hidden.id, 'UNHIDE', admin.token);
    expect((await updated.first((e) => e.post?.id === hidden.id && e.post.version > edit.post.version)).post.version).toBeGreaterThan(pushed[0].version);
    // The removals carried nothing of what was removed: neither body, nor the edit, nor the topic's title.
    const removals = everything.filter((e: any) => e?.postId === hidden.id || e?.postId === deleted.id);
    expect(removals).toHaveLength(2);
    expect(JSON.stringify(removals)).not.toContain('removalsecret');
  });

  it('pushes a reaction’s news to the topic its post is in now: an event arriving after movePosts took the post to a restricted space reaches its old room not at all', async () => {
    const [admin, mod] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t)];
    const restricted = await makeSpace(t, 'RESTRICTED', [{ userId: mod.id, level: 'MODERATE' }]);
    const topic = await createTopic(t, author.token, publicBoard);
    const r = await reply(t, insider.token, topic.id, 'a reply that moves away');
    await react(r.id, 'THANKS', author.token);
    const split = expectOk(
      await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [r.id], newTopic: { boardId: await makeBoard(t, restricted.id), title: 'Moved where few read', tags: [] } } }, { token: admin.token }),
    ).movePosts;
    await t.get(LiveGateway).settled();
    const [outsider, reader] = [await connect((await makeUser(t)).token), await connect(mod.token)];
    expect(await ask(outsider, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    expect(await ask(reader, 'topic:join', { topicId: split.id })).toEqual({ ok: true });
    const quiet = nothing(outsider, 'reaction:updated');
    const arrived = heardLive(reader, 'reaction:updated');
    // The reaction's event (naming the topic the post was in when it committed) handled only after the move.
    t.get(EventBus).publish({ type: 'reaction.updated', aggregateType: 'post', aggregateId: r.id, payload: { topicId: topic.id, postId: r.id, counts: { THANKS: 1 } } });
    // The counts as the push reads them with the post's version (the author's one THANKS), not the event's.
    expect(await arrived.first((e) => e.postId === r.id)).toEqual({ topicId: split.id, postId: r.id, counts: { THANKS: 1 }, version: expect.any(Number) });
    await quiet();
  });

  it('tells a topic’s room of a reply left behind by movePosts, answering nothing now, with a newer version than the one it had', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const topic = await createTopic(t, author.token, publicBoard);
    const moving = await reply(t, insider.token, topic.id, 'a reply that moves away');
    const answer = await reply(t, author.token, topic.id, 'a reply to it that stays', moving.id);
    const into = await createTopic(t, admin.token, publicBoard);
    const version = async () => (await t.sql(`SELECT version FROM posts WHERE id = $1`, [answer.id]))[0].version as number;
    const before = await version();
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const updated = heardLive(reader, 'post:updated');
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [moving.id], toTopicId: into.id } }, { token: admin.token }));
    // Its version grew with what changed (a client keeping the one it had would drop the push as the same state).
    const pushed = await updated.first((d) => d.post.id === answer.id);
    expect(pushed).toMatchObject({ topicId: topic.id, post: { id: answer.id, replyToPostId: null } });
    expect(pushed.post.version).toBeGreaterThan(before);
    expect(pushed.post.version).toBe(await version());
  });

  it('takes readers out of a topic’s room when the topic is hidden, and tells them', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const topic = await createTopic(t, author.token, publicBoard);
    const r = await reply(t, insider.token, topic.id, 'a reply');
    const reader = await connect((await makeUser(t)).token);
    const watchingAuthor = await connect(author.token);
    for (const s of [reader, watchingAuthor]) expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const lost = heardLive(reader, 'access:lost');
    await moderatePost(topic.firstPostId, 'HIDE', admin.token);
    await heardRoom(lost, `topic:${topic.id}`);
    // Its author still reads their hidden topic and stays; the reader hears nothing more.
    const readerQuiet = nothing(reader, 'reaction:updated');
    const authorHears = heardLive(watchingAuthor, 'reaction:updated');
    await react(r.id, 'LIKE', admin.token);
    await readerQuiet();
    expect(await authorHears.first((e) => e.postId === r.id)).toMatchObject({ topicId: topic.id, postId: r.id, counts: { LIKE: 1 } });
  });

  it('checks every connection again on demand (after a node missed re-checks): rooms no longer readable are left', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const board = await makeBoard(t, space.id);
    const topic = await createTopic(t, author.token, board);
    const reader = await connect((await makeUser(t)).token);
    const admin = await makeUser(t, { role: 'ADMIN' });
    const staying = await connect(admin.token);
    for (const s of [reader, staying]) {
      expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      expect(await ask(s, 'board:join', { boardId: board })).toEqual({ ok: true });
    }
    // As if the change's re-check never reached this node: no event, only the new rule.
    await t.sql(`UPDATE spaces SET visibility = 'RESTRICTED' WHERE id = $1`, [space.id]);
    const lost: string[] = [];
    reader.on('access:lost', (e: { room: string }) => lost.push(e.room));
    const adminLost: string[] = [];
    staying.on('access:lost', (e: { room: string }) => adminLost.push(e.room));
    expect(await t.get(LiveGateway).recheckAll()).toBe(2);
    // Everything pushed so far has arrived (no fixed wait: it proved less the slower the machine).
    await pushedSoFar(t, [reader, staying]);
    expect(lost.sort()).toEqual([`board:${board}`, `topic:${topic.id}`].sort());
    expect(adminLost).toEqual([]);
  });

  it('holds pushes while it checks every connection again: a reply during it never reaches a reader it sends away', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const topic = await createTopic(t, author.token, await makeBoard(t, space.id));
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    await t.sql(`UPDATE spaces SET visibility = 'RESTRICTED' WHERE id = $1`, [space.id]);
    // Whatever was pushed before has arrived (the topic's first post: its push, slowed down or held, can reach the room after
    // this join and would be heard here as if it came after the change: see the revocation test), so only what follows is heard.
    await pushedSoFar(t, [reader]);
    const heard: string[] = [];
    reader.on('post:created', () => heard.push('post:created'));
    reader.on('access:lost', () => heard.push('access:lost'));
    // The reader's own re-check waits at a gate until the reply's push has come to it and either waits for the holds on pushes or
    // (without the hold) has been sent, so a push that did not wait for the re-check reaches them, whatever the number of
    // connections and the machine's speed. (Opened once the reply was answered, the gate let the re-check end before the
    // reply's event even reached the node, and the test passed with the hold disabled.) The cap on how long pushes wait for a
    // re-check is raised for the test, as a loaded machine may take its 5 s; it has tests of its own.
    const gateway = t.get(LiveGateway);
    const cap = gateway.recheckWaitMs;
    gateway.recheckWaitMs = 60_000;
    const gate = gateCalls(gateway, 'recheck', (socket: { id: string }) => socket.id === reader.id);
    const push = followPush(gateway, (e) => e.type === 'post.created' && (e.payload as { topicId?: string }).topicId === topic.id);
    try {
      const all = gateway.recheckAll();
      await gate.begun;
      const admin = await makeUser(t, { role: 'ADMIN' });
      await reply(t, admin.token, topic.id, 'written while the node catches up');
      await push.decided;
      gate.open();
      await all;
      await pushedSoFar(t, [reader]);
    } finally {
      push.restore();
      gate.restore();
      gateway.recheckWaitMs = cap;
    }
    expect(heard).toEqual(['access:lost']);
  });

  /**
   * Follows the push of the first event `pushOf` picks (`onEvent`): `decided` resolves 'waiting' once that push waits for the
   * holds on pushes (`afterRechecks`, still waiting a turn of the event loop later), or 'sent' once it is done without having
   * waited. A test holding a re-check at a gate opens it only then: however late the event reaches the node (the outbox and the
   * relay, after the change's request was answered), a push that does not wait for the re-check has been sent to the room by
   * then, while the reader is still in it.
   */
  function followPush(gateway: LiveGateway, pushOf: (e: DomainEvent) => boolean): { decided: Promise<'waiting' | 'sent'>; restore: () => void } {
    const inside = gateway as unknown as { onEvent(e: DomainEvent): Promise<void>; afterRechecks(): Promise<void> };
    const realWait = inside.afterRechecks.bind(gateway);
    const realOnEvent = inside.onEvent.bind(gateway);
    let decide!: (d: 'waiting' | 'sent') => void;
    const decided = new Promise<'waiting' | 'sent'>((resolve) => (decide = resolve));
    // The last wait begun, each its own: another push's wait ending says nothing of the followed one's.
    let lastWait: { ended: boolean } | undefined;
    let followed = false;
    const waits = jest.spyOn(inside, 'afterRechecks').mockImplementation(() => {
      const wait = { ended: false };
      lastWait = wait;
      return realWait().finally(() => (wait.ended = true));
    });
    const events = jest.spyOn(inside, 'onEvent').mockImplementation((e: DomainEvent) => {
      if (followed || !pushOf(e)) return realOnEvent(e);
      followed = true;
      lastWait = undefined;
      // The wait, when there is one, begins before the handler first yields: it is this push's.
      const pushed = realOnEvent(e);
      const wait = lastWait as { ended: boolean } | undefined;
      // Settled either way (a failed push is the gateway's to log, as without the spy).
      const sent = () => void pushed.then(() => decide('sent'), () => decide('sent'));
      if (!wait) sent();
      else setImmediate(() => (wait.ended ? sent() : decide('waiting')));
      return pushed;
    });
    return {
      decided,
      restore: () => {
        events.mockRestore();
        waits.mockRestore();
      },
    };
  }

  /**
   * Runs `fn` with the re-checks of `s` held at a gate (and the cap on how long pushes wait for a re-check raised: a loaded machine
   * may reach its 5 s meanwhile; it has tests of its own), waits until the push of the event `pushOf` picks, which `fn` causes, is
   * waiting for the holds on pushes or has been sent without (`followPush`), then lets the re-checks go and waits until
   * everything pushed so far has reached `s` (pushedSoFar). A push that did not wait for the re-check reaches `s` while it is
   * still in the room, however fast the machine. (The gate opened once `fn`'s requests were
   * answered let the re-check end before their events reached the node, and the move's test passed with the hold disabled; a
   * re-check merely slowed, or a fixed 300 ms after access:lost, proved less the slower the machine.)
   */
  async function withRecheckHeld(s: Socket, pushOf: (e: DomainEvent) => boolean, fn: () => Promise<void>): Promise<void> {
    const gateway = t.get(LiveGateway);
    const cap = gateway.recheckWaitMs;
    gateway.recheckWaitMs = 60_000;
    const gate = gateCalls(gateway, 'recheck', (socket: { id: string }) => socket.id === s.id);
    const push = followPush(gateway, pushOf);
    try {
      await fn();
      await push.decided;
      gate.open();
      await pushedSoFar(t, [s]);
    } finally {
      push.restore();
      gate.restore();
      gateway.recheckWaitMs = cap;
    }
  }

  /** Picks a push's event: `type`'s, whose payload's `field` is `id`. */
  const eventOf = (type: string, field: string, id: string) => (e: DomainEvent) => e.type === type && (e.payload as Record<string, unknown>)[field] === id;

  it('holds back what follows a hidden topic until its room is re-checked: no reaction reaches a reader being sent away', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const topic = await createTopic(t, author.token, publicBoard);
    const r = await reply(t, insider.token, topic.id, 'a reply');
    const reader = await connect((await makeUser(t)).token);
    expect(await ask(reader, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const heard: string[] = [];
    reader.on('reaction:updated', () => heard.push('reaction:updated'));
    reader.on('access:lost', () => heard.push('access:lost'));
    await withRecheckHeld(reader, eventOf('reaction.updated', 'postId', r.id), async () => {
      await moderatePost(topic.firstPostId, 'HIDE', admin.token);
      await react(r.id, 'LIKE', admin.token);
    });
    expect(heard).toEqual(['access:lost']);
  });

  it('fences a first post’s removal before it reads whether its board listed the topic: a reaction meanwhile waits for the re-check', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const gateway = t.get(LiveGateway);
    const topic = await createTopic(t, author.token, publicBoard);
    const r = await reply(t, insider.token, topic.id, 'a reply');
    const reader = await connect((await makeUser(t)).token);
    // In its board's room too, so the removal reads whether that board listed it (`listedNow`) with one node as with several.
    expect(await ask(reader, 'board:join', { boardId: publicBoard })).toEqual({ ok: true });
    expect(await ask(reader, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const heard: string[] = [];
    reader.on('reaction:updated', () => heard.push('reaction:updated'));
    reader.on('access:lost', () => heard.push('access:lost'));
    // That read held until the reaction's push has decided: until 2026-12-07 the re-check was
    // fenced only after it, so the push went out to the reader the re-check then sent away
    // (this spec's case above failed so now and then on a busy machine).
    const cap = gateway.recheckWaitMs;
    gateway.recheckWaitMs = 60_000;
    const listedRead = gateCalls(gateway, 'listedNow', (id: string) => id === topic.id);
    const push = followPush(gateway, eventOf('reaction.updated', 'postId', r.id));
    try {
      await moderatePost(topic.firstPostId, 'HIDE', admin.token);
      await listedRead.begun;
      await react(r.id, 'LIKE', admin.token);
      expect(await push.decided).toBe('waiting');
      listedRead.open();
      await pushedSoFar(t, [reader]);
    } finally {
      push.restore();
      listedRead.restore();
      gateway.recheckWaitMs = cap;
    }
    expect(heard).toEqual(['access:lost']);
  });

  it('re-checks a first post’s removal’s topic room though a read of what its rooms hear fails: the reader who lost access is sent away all the same', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const gateway = t.get(LiveGateway);
    const topic = await createTopic(t, author.token, publicBoard);
    const reader = await connect((await makeUser(t)).token);
    // In its board's room too, so the removal reads whether that board listed it (`listedNow`), the read made to fail.
    expect(await ask(reader, 'board:join', { boardId: publicBoard })).toEqual({ ok: true });
    expect(await ask(reader, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    await pushedSoFar(t, [reader]);
    const lost = heardLive(reader, 'access:lost');
    const target = gateway as unknown as { listedNow: (id: string) => Promise<boolean>; log: { error: (...args: unknown[]) => void } };
    const real = target.listedNow.bind(gateway);
    const broken = new Error('the read of whether the board listed the topic failed');
    const read = jest.spyOn(target, 'listedNow').mockImplementation(async (id: string) => (id === topic.id ? Promise.reject(broken) : real(id)));
    const failed = jest.spyOn(target.log, 'error').mockImplementation(() => undefined);
    try {
      await moderatePost(topic.firstPostId, 'HIDE', admin.token);
      await gateway.settled();
      // Until 2026-12-07 the failed read skipped the re-check: the reader stayed in the room of a topic it may no longer open.
      expect(failed).toHaveBeenCalledWith({ err: broken, type: 'post.hidden' }, 'live fan-out failed');
    } finally {
      read.mockRestore();
      failed.mockRestore();
    }
    await heardRoom(lost, `topic:${topic.id}`);
  });

  it('slows down a connection that joins, leaves or syncs too often', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const s = await connect((await makeUser(t)).token);
    await pacesStopped(t, async () => {
      const acks: Array<{ ok: boolean; code?: string }> = [];
      for (let i = 0; i < ROOM_OPS_PER_WINDOW + 5; i++) acks.push(await ask(s, i % 2 ? 'topic:leave' : 'topic:join', { topicId: topic.id }));
      expect(acks.slice(0, ROOM_OPS_PER_WINDOW).every((a) => a.ok)).toBe(true);
      expect(acks.slice(ROOM_OPS_PER_WINDOW)).toEqual(Array(5).fill({ ok: false, code: 'RATE_LIMITED' }));
      expect(await ask(s, 'topic:sync', { topicId: topic.id, afterNumber: 0 })).toEqual({ ok: false, code: 'RATE_LIMITED' });
    });
  });

  it('holds a push that is waiting for a hold on pushes for one registered meanwhile too, until that one is done, past the first one’s wait', async () => {
    const gateway = t.get(LiveGateway);
    const inside = gateway as unknown as { onEvent(e: DomainEvent): Promise<void>; afterRechecks(): Promise<void> };
    const topic = await createTopic(t, author.token, publicBoard);
    const s = await connect((await makeUser(t)).token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const heard: string[] = [];
    s.on('post:created', () => heard.push('post:created'));
    // The first hold's wait over (it is dropped, and said so).
    let firstWaitOver!: () => void;
    const firstOver = new Promise<void>((resolve) => (firstWaitOver = resolve));
    const warned = jest.spyOn((gateway as unknown as { log: { warn: (...args: unknown[]) => void } }).log, 'warn').mockImplementation((...args: unknown[]) => {
      if (String(args[0]).includes('after 300 ms')) firstWaitOver();
    });
    // Whether the push's wait for the holds (`afterRechecks`) has ended.
    const realWait = inside.afterRechecks.bind(gateway);
    let waitEnded = false;
    const waits = jest.spyOn(inside, 'afterRechecks').mockImplementation(() => realWait().finally(() => (waitEnded = true)));
    const realOnEvent = inside.onEvent.bind(gateway);
    let release!: () => void;
    // The reply's push, as it starts: a hold that never ends, waited for 300 ms, which the push
    // begins to wait for, then (the push waiting) another, waited for far longer. Both in the
    // push's first step, however long the reply took to get there.
    const events = jest.spyOn(inside, 'onEvent').mockImplementation((e: DomainEvent) => {
      if (e.type !== 'post.created' || (e.payload as { topicId?: string }).topicId !== topic.id) return realOnEvent(e);
      gateway.holdPushesUntil(new Promise(() => undefined), 300);
      const pushed = realOnEvent(e);
      gateway.holdPushesUntil(new Promise<void>((resolve) => (release = resolve)), 20_000);
      return pushed;
    });
    try {
      await reply(t, author.token, topic.id);
      await firstOver;
      // Past the first one's wait (the push's look at its holds once it passed has run): the push still waits for the second.
      await new Promise((resolve) => setImmediate(resolve));
      expect(waitEnded).toBe(false);
      heard.push('released');
      const created = next(s, 'post:created');
      release();
      await created;
      expect(heard).toEqual(['released', 'post:created']);
    } finally {
      events.mockRestore();
      waits.mockRestore();
      release?.();
      warned.mockRestore();
    }
  });

  it('fails loudly, rather than act on the id "undefined", on an event whose payload lacks an id it needs', async () => {
    const gateway = t.get(LiveGateway);
    const failed = jest.spyOn((gateway as unknown as { log: { error: (...args: unknown[]) => void } }).log, 'error');
    try {
      // Otherwise whole (a visible topic and reply), so each would have gone to a room of "undefined".
      const topic = await createTopic(t, author.token, publicBoard);
      const r = await reply(t, author.token, topic.id);
      const [{ space_id: spaceId }] = await t.sql(`SELECT space_id FROM boards WHERE id = $1`, [publicBoard]);
      const removal = { topicId: topic.id, postId: r.id, boardId: publicBoard, spaceId, number: 2, authorId: author.id, from: 'VISIBLE' };
      const without = (payload: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(payload).filter(([k]) => k !== key));
      const events = [
        { type: 'user.profile_hidden', payload: { hidden: true }, missing: 'userId' },
        { type: 'topic.moved', payload: { fromBoardId: publicBoard }, missing: 'topicId' },
        { type: 'user.sanctioned', payload: { kind: 'SILENCE', spaceId: null }, missing: 'userId' },
        { type: 'topic.moved', payload: { topicId: topic.id, boardId: publicBoard, spaceId, fromSpaceId: spaceId }, missing: 'fromBoardId' },
        { type: 'post.hidden', payload: without(removal, 'topicId'), missing: 'topicId' },
        { type: 'post.rejected', payload: { ...without(removal, 'authorId'), from: 'PENDING' }, missing: 'authorId' },
        { type: 'post.deleted', payload: { ...without(removal, 'spaceId'), from: 'PENDING' }, missing: 'spaceId' },
        { type: 'post.moved', payload: { topicId: topic.id, posts: [{ postId: r.id, state: 'PENDING', authorId: author.id }] }, missing: 'fromSpaceId' },
        { type: 'reaction.updated', payload: { postId: r.id, counts: { THANKS: 1 } }, missing: 'topicId' },
        { type: 'poll.deleted', payload: { pollId: r.id, postId: r.id }, missing: 'topicId' },
        { type: 'review.moved', payload: { reviewItemIds: [r.id], spaceId }, missing: 'fromSpaceId' },
      ];
      for (const e of events) t.get(EventBus).publish({ type: e.type, aggregateType: 'test', aggregateId: author.id, payload: e.payload });
      await gateway.settled();
      for (const e of events) expect(failed).toHaveBeenCalledWith({ err: new Error(`the event's payload has no ${e.missing}`), type: e.type }, 'live fan-out failed');
    } finally {
      failed.mockRestore();
    }
  });

  it('counts joins, leaves and syncs per member, not per connection: a second tab of a member who spent the window is slowed down too', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const member = await makeUser(t);
    const [tab1, tab2] = [await connect(member.token), await connect(member.token)];
    await pacesStopped(t, async () => {
      for (let i = 0; i < ROOM_OPS_PER_WINDOW; i++) expect(await ask(tab1, i % 2 ? 'topic:leave' : 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      expect(await ask(tab2, 'topic:join', { topicId: topic.id })).toEqual({ ok: false, code: 'RATE_LIMITED' });
      expect(await ask(tab2, 'topic:sync', { topicId: topic.id, afterNumber: 0 })).toEqual({ ok: false, code: 'RATE_LIMITED' });
    });
    // Someone else is not held back by it.
    expect(await ask(await connect((await makeUser(t)).token), 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
  });

  /** A member's socket, connected, and a topic of a RESTRICTED space they read until an admin revokes their grant. */
  async function memberOfRestricted(): Promise<{ admin: TestUser; member: TestUser; space: { id: string }; topic: { id: string }; s: Socket }> {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const space = await makeSpace(t, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    const topic = await createTopic(t, admin.token, await makeBoard(t, space.id));
    return { admin, member, space, topic, s: await connect(member.token) };
  }
  const revoke = async (space: { id: string }, member: TestUser, admin: TestUser) =>
    expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: member.id } }, { token: admin.token }));

  it('sends no presence to a hidden member taken out of the room while a run that read them in it was held', async () => {
    const { admin, member, space, topic, s } = await memberOfRestricted();
    await t.sql(`UPDATE users SET hide_profile = true WHERE id = $1`, [member.id]);
    const heard: string[] = [];
    s.on('presence', (p: { topicId: string }) => heard.push(`presence ${p.topicId}`));
    s.on('access:lost', (p: { room: string }) => heard.push(`lost ${p.room}`));
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    await t.get(LiveGateway).settled();
    const a = await connect(admin.token);
    const hold = holdPresence(admin.id);
    try {
      // The admin's join starts a run that read the member in the room (hidden: sent their own list), held.
      expect(await ask(a, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      await hold.held;
      const lost = heardLive(s, 'access:lost');
      await revoke(space, member, admin);
      await heardRoom(lost, `topic:${topic.id}`);
      hold.release();
      await t.get(LiveGateway).settled();
      // Whatever the server sent the member before this answer has arrived.
      expect(await ask(s, 'topic:leave', { topicId: topic.id })).toEqual({ ok: true });
      expect(heard.slice(heard.indexOf(`lost topic:${topic.id}`))).toEqual([`lost topic:${topic.id}`]);
    } finally {
      hold.release();
      hold.undo();
    }
  });

  it('removes a user from a space’s rooms when they lose access to it', async () => {
    const { admin, member, space, topic, s } = await memberOfRestricted();
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const lost = heardLive(s, 'access:lost');
    await revoke(space, member, admin);
    await heardRoom(lost, `topic:${topic.id}`);
    const silence = nothing(s, 'post:created');
    await reply(t, admin.token, topic.id, 'after the revocation');
    await silence();
  });

  it('keeps no socket in a room whose access was revoked while its join was being checked', async () => {
    const { admin, member, space, topic, s } = await memberOfRestricted();
    // The join's access check waits, the revocation lands (and re-checks the room, which the socket is not in yet).
    const loaders = t.get(ForumLoaders);
    const original = loaders.topic;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let checking = false;
    loaders.topic = async (...args: Parameters<ForumLoaders['topic']>) => {
      if (!checking) {
        checking = true;
        await gate;
      }
      return original.apply(loaders, args);
    };
    try {
      const joining = ask(s, 'topic:join', { topicId: topic.id });
      while (!checking) await new Promise((r) => setTimeout(r, 10));
      await revoke(space, member, admin);
      await new Promise((r) => setTimeout(r, 200));
      release();
      expect(await joining).toEqual({ ok: false, code: 'NOT_FOUND' });
    } finally {
      loaders.topic = original;
    }
    const silence = nothing(s, 'post:created');
    await reply(t, admin.token, topic.id, 'secret, after the revocation');
    await silence();
  });

  it('holds content back while a revocation is still re-checking rooms: nothing reaches the reader who lost access', async () => {
    const { admin, member, space, topic, s } = await memberOfRestricted();
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    // Whatever was pushed before has arrived, so only what follows is heard. The topic's first post, pushed while the member
    // still reads the space, can reach the room after this join when its push is slowed down or held (a hold on pushes under
    // way as the topic was created): heard after the listeners below, it failed the test as ['post:created', 'access:lost'].
    await pushedSoFar(t, [s]);
    const heard: string[] = [];
    s.on('post:created', () => heard.push('post:created'));
    s.on('access:lost', () => heard.push('access:lost'));
    // The reader's re-check held until the reply is written, as a slow one (many sockets in the space's rooms) may be.
    await withRecheckHeld(s, eventOf('post.created', 'topicId', topic.id), async () => {
      await revoke(space, member, admin);
      await reply(t, admin.token, topic.id, 'secret, right after the revocation');
    });
    expect(heard).toEqual(['access:lost']);
  });

  it('announces an article to its board’s room when it is first published, not when it is republished', async () => {
    const editor = await makeUser(t);
    const kbBoard = await makeBoard(t, (await makeSpace(t, 'PUBLIC', [{ userId: editor.id, level: 'MODERATE' }])).id, 'KNOWLEDGE');
    const id = await draftArticle(t, editor.token, kbBoard, { title: 'Pairing a hub' });
    const s = await connect((await makeUser(t)).token);
    expect(await ask(s, 'board:join', { boardId: kbBoard })).toEqual({ ok: true });
    const created = heardLive(s, 'topic:created');
    topicOf(await kb(t).publish(editor.token, id));
    expect(await created.first((e) => e.topic?.id === id)).toMatchObject({ boardId: kbBoard, topic: { id, title: 'Pairing a hub' } });
    topicOf(await kb(t).update(editor.token, { topicId: id, body: 'second version' }));
    const again = nothing(s, 'topic:created');
    topicOf(await kb(t).publish(editor.token, id));
    await again();
  });

  it('does not let a re-check that hangs stop every push (they wait a few seconds at most)', async () => {
    const { admin, member, space, topic } = await memberOfRestricted();
    const reader = await connect(admin.token);
    expect(await ask(reader, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const gateway = t.get(LiveGateway) as unknown as { recheck: (...args: unknown[]) => Promise<void> };
    const original = gateway.recheck;
    // Never settles while the test runs; ended after it, so the later tests' `settled()` do not wait for it.
    const hung: Array<() => void> = [];
    gateway.recheck = () => new Promise<void>((resolve) => hung.push(resolve));
    try {
      await revoke(space, member, admin);
      const arrived = heardLive(reader, 'post:created');
      const r = await reply(t, admin.token, topic.id, 'still delivered');
      expect((await arrived.first((e) => e.post?.id === r.id, 8000)).post.bodyHtml).toContain('still delivered');
    } finally {
      gateway.recheck = original;
      hung.forEach((end) => end());
    }
  });

  it('closes connections whose session has expired', async () => {
    const expiring = await makeUser(t);
    const staying = await makeUser(t);
    const [gone, kept] = [await connect(expiring.token), await connect(staying.token)];
    await t.sql(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [expiring.id]);
    const told = revocation(gone);
    expect(await t.get(LiveGateway).closeExpired()).toBe(1);
    expect(await told).toEqual([{ reason: 'expired' }]);
    expect(kept.connected).toBe(true);
  });

  it('closes the connections of a member barred site-wide, even with a session nobody revoked', async () => {
    const barred = await makeUser(t);
    const socket = await connect(barred.token);
    // A ban written without revoking sessions (as a ban proposal's decision or an import could leave it).
    await t.sql(`INSERT INTO sanctions (id, user_id, kind, space_id, reason) VALUES (gen_random_uuid(), $1, 'BAN', NULL, 'spam')`, [barred.id]);
    const closed = closedByServer(socket);
    expect(await t.get(LiveGateway).closeExpired()).toBe(1);
    await closed;
  });

  it('counts joins still being checked against the rooms of a connection', async () => {
    const c = await connect();
    const topics: string[] = [];
    for (let i = 0; i < 60; i++) topics.push((await createTopic(t, author.token, publicBoard)).id);
    const acks = await Promise.all(topics.map((topicId) => ask(c, 'topic:join', { topicId })));
    expect(acks.filter((a) => a.ok)).toHaveLength(50);
    expect(acks.filter((a) => !a.ok).map((a) => a.code)).toEqual(Array(10).fill('RATE_LIMITED'));
  });

  it('removes readers from a topic’s room when it moves to a space they cannot read', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const reader = await makeUser(t);
    const from = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const to = await makeBoard(t, (await makeSpace(t, 'RESTRICTED')).id);
    const topic = await createTopic(t, admin.token, from);
    const s = await connect(reader.token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    expect(await ask(s, 'board:join', { boardId: from })).toEqual({ ok: true });
    const lost = heardLive(s, 'access:lost');
    const moved = heardLive(s, 'topic:moved');
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: to } }, { token: admin.token }));
    await heardRoom(lost, `topic:${topic.id}`);
    const [{ version }] = await t.sql(`SELECT version FROM topics WHERE id = $1`, [topic.id]);
    expect(await moved.first((e) => e.topicId === topic.id)).toEqual({ topicId: topic.id, version: Number(version) });
    const silence = nothing(s, 'post:created');
    await reply(t, admin.token, topic.id, 'after the move');
    await silence();
  });

  it('holds back a reply that follows a move until the room is re-checked: it never reaches a reader left behind', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const reader = await makeUser(t);
    const topic = await createTopic(t, admin.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id));
    const to = await makeBoard(t, (await makeSpace(t, 'RESTRICTED')).id);
    const s = await connect(reader.token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    // Whatever was pushed before has arrived (the topic's first post: its push, slowed down or held, can reach the room after
    // this join and would be heard here as if it came after the change: see the revocation test), so only what follows is heard.
    await pushedSoFar(t, [s]);
    const heard: string[] = [];
    s.on('post:created', () => heard.push('post:created'));
    s.on('access:lost', () => heard.push('access:lost'));
    await withRecheckHeld(s, eventOf('post.created', 'topicId', topic.id), async () => {
      expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: to } }, { token: admin.token }));
      await reply(t, admin.token, topic.id, 'secret, right after the move');
    });
    expect(heard).toEqual(['access:lost']);
  });

  it('closes the connection of a session signed out or revoked, and only that one', async () => {
    const user = await makeUser(t);
    const other = await t.get(SessionsService).issue(user.id, {});
    const a = await connect(user.token);
    const b = await connect(other);
    const revoked = revocation(a);
    const quiet = nothing(b, 'session:revoked');
    expectOk(await t.gql(`mutation { signOut }`, {}, { token: user.token }));
    expect(await revoked).toEqual([{ reason: 'signed out or revoked' }]);
    await quiet();
    expect(b.connected).toBe(true);
    // Revoking every session (from a new one) closes the rest.
    const third = await t.get(SessionsService).issue(user.id, {});
    const closed = revocation(b);
    expectOk(await t.gql(`mutation { revokeSessions }`, {}, { token: third }));
    expect(await closed).toEqual([{ reason: 'signed out or revoked' }]);
  });

  it('picks the push its step caused past a push of the same name heard first, which nextLiveEvent takes', async () => {
    const topic = await createTopic(t, author.token, publicBoard);
    const elsewhere = await createTopic(t, author.token, publicBoard);
    const [member, typist] = [await makeUser(t), await makeUser(t)];
    const s = await connect(member.token);
    // Each decoy is sent to the socket before its step, as an earlier step's push still on its way would arrive.
    const decoy = (event: string, payload: unknown) => t.get(LiveGateway).server.to(s.id!).emit(event, payload);
    type Room = Presence & { topicId: string };

    // A join's presence: by its room and the reader it names.
    let old = next<Room>(s, 'presence');
    const presence = heardLive<Room>(s, 'presence');
    decoy('presence', { topicId: elsewhere.id, count: 9, users: [] });
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    expect((await old).topicId).toBe(elsewhere.id);
    expect(await presence.first((p) => p.topicId === topic.id && p.users.some((u) => u.id === member.id))).toMatchObject({ count: 1 });

    // A second tab's join names nobody new: by its room, among what came once every earlier push had arrived.
    old = next<Room>(s, 'presence');
    decoy('presence', { topicId: topic.id, count: 7, users: [] });
    const after = await heardAfter<Room>(t, s, 'presence');
    expect(await ask(await connect(member.token), 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    expect((await old).count).toBe(7);
    expect(await after.first((p) => p.topicId === topic.id)).toMatchObject({ count: 1, users: [{ id: member.id }] });

    // Typing: by its room and its writer.
    const t2 = await connect(typist.token);
    expect(await ask(t2, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const oldTyping = next(s, 'typing');
    const typing = heardLive(s, 'typing');
    decoy('typing', { topicId: topic.id, user: { id: author.id, handle: author.handle }, expiresInMs: 5000 });
    expect(await ask(t2, 'typing', { topicId: topic.id })).toEqual({ ok: true });
    expect((await oldTyping).user.id).toBe(author.id);
    expect(await typing.first((p) => p.topicId === topic.id && p.user.id === typist.id)).toMatchObject({ user: { id: typist.id } });

    // A revocation: every session:revoked the socket heard before the server closed it, the decoy shown, not taken for the step's.
    const oldRevoked = next(s, 'session:revoked');
    const revoked = revocation(s);
    decoy('session:revoked', { reason: 'banned' });
    expectOk(await t.gql(`mutation { signOut }`, {}, { token: member.token }));
    expect(await oldRevoked).toEqual({ reason: 'banned' });
    expect(await revoked).toEqual([{ reason: 'banned' }, { reason: 'signed out or revoked' }]);

    // A close for another cause (here the client's own) is a disconnect, not the server's.
    const other = await connect(typist.token);
    const oldGone = next<string>(other, 'disconnect');
    const byServer = closedByServer(other, 1000);
    other.disconnect();
    expect(await oldGone).toBe('io client disconnect');
    await expect(byServer).rejects.toThrow(/no such disconnect among 1 heard: \["io client disconnect"\]/);
  });

  it('takes a demoted moderator out of the review rooms the role let them into', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const mod = await makeUser(t, { role: 'MODERATOR' });
    const space = await makeSpace(t, 'PUBLIC');
    const s = await connect(mod.token);
    expect(await ask(s, 'review:join', { spaceId: space.id })).toEqual({ ok: true });
    const lost = heardLive(s, 'access:lost');
    expectOk(await t.gql(`mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id role } }`, { input: { userId: mod.id, role: 'MEMBER' } }, { token: admin.token }));
    await heardRoom(lost, `modqueue:${space.id}`);
  });

  it('puts a moderator whose role is given back into the review rooms it sent them away from, but one they left since, and the queue’s news reaches them again', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const mod = await makeUser(t, { role: 'MODERATOR' });
    const [space, left] = [await makeSpace(t, 'PUBLIC'), await makeSpace(t, 'PUBLIC')];
    const topic = await createTopic(t, (await makeUser(t)).token, await makeBoard(t, space.id));
    await t.get(LiveGateway).settled();
    const s = await connect(mod.token);
    for (const body of [{ spaceId: space.id }, { spaceId: left.id }, {}]) expect(await ask(s, 'review:join', body)).toEqual({ ok: true });
    const role = (to: string) => t.gql(`mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id role } }`, { input: { userId: mod.id, role: to } }, { token: admin.token });
    expectOk(await role('MEMBER'));
    await t.get(LiveGateway).settled();
    expect(roomsOf(s)).toEqual([]);
    // Its reader closed one queue's page meanwhile: that room is not put back.
    expect(await ask(s, 'review:leave', { spaceId: left.id })).toEqual({ ok: true });
    const restored: unknown[] = [];
    s.on('access:restored', (r: unknown) => restored.push(r));
    expectOk(await role('MODERATOR'));
    await t.get(LiveGateway).settled();
    expect(roomsOf(s)).toEqual(['modqueue:global', `modqueue:${space.id}`].sort());
    // Once the server's answer to a later request has come, so has everything sent before it.
    expect(await ask(s, 'topic:leave', { topicId: newId() })).toEqual({ ok: true });
    expect(restored).toEqual(expect.arrayContaining([{ room: 'modqueue:global' }, { room: `modqueue:${space.id}` }]));
    expect(restored).toHaveLength(2);
    const news = heardLive(s, 'review:updated');
    const item = await reportItem('TOPIC', topic.id);
    expect(await news.first((e) => e.reviewItemId === item)).toEqual({ reviewItemId: item, spaceId: space.id });
  });

  it('takes a space moderator out of its review room when their grant is revoked or a silence there comes, and the queue’s news stops reaching them', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const revoked = await makeUser(t);
    const silenced = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: revoked.id, level: 'MODERATE' }, { userId: silenced.id, level: 'MODERATE' }]);
    const board = await makeBoard(t, space.id);
    const topic = await createTopic(t, (await makeUser(t)).token, board);
    const [r, s] = [await connect(revoked.token), await connect(silenced.token)];
    for (const socket of [r, s]) expect(await ask(socket, 'review:join', { spaceId: space.id })).toEqual({ ok: true });
    const lost = [heardLive(r, 'access:lost'), heardLive(s, 'access:lost')];
    expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: revoked.id } }, { token: admin.token }));
    expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: silenced.id, kind: 'SILENCE', reason: 'Cooling off for a day', durationHours: 24, spaceId: space.id } }, { token: admin.token }));
    for (const heard of lost) await heardRoom(heard, `modqueue:${space.id}`);
    // A report since reaches neither, live or by asking; a room they ask for again is refused.
    const quiet = [nothing(r, 'review:updated'), nothing(s, 'review:updated')];
    const item = await reportItem('TOPIC', topic.id);
    await Promise.all(quiet.map((q) => q()));
    for (const [u, socket] of [[revoked, r], [silenced, s]] as const) {
      expect(await ask(socket, 'review:join', { spaceId: space.id })).toEqual({ ok: false, code: 'NOT_FOUND' });
      expectError(await t.gql(`query($s: ID) { reviewQueue(spaceId: $s) { totalCount } }`, { s: space.id }, { token: u.token }), 'FORBIDDEN');
      expectError(await t.gql(`query { reviewQueue { totalCount } }`, {}, { token: u.token }), 'FORBIDDEN');
      expectError(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item }, { token: u.token }), 'NOT_FOUND');
    }
    expect(await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1`, [item])).toEqual([{ action: 'reported' }]);
  });

  const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;
  const LIFT = `mutation($id: ID!) { liftSanction(id: $id) { id } }`;
  /** The rooms a socket of this node is in, its own (by id, and its user's) aside. */
  const grant = `mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`;
  const roomsOf = (s: Socket) => [...t.get(LiveGateway).server.sockets.sockets.get(s.id!)!.rooms].filter((r) => r !== s.id && !r.startsWith('user:')).sort();
  /**
   * Once `give` has given access back, the connection is in `rooms` again and no other, was told
   * `access:restored` for each, and hears the replies `token` writes in the topic again.
   */
  const expectPutBack = async (s: Socket, give: () => Promise<unknown>, rooms: string[], topicId: string, token: string) => {
    const restored: unknown[] = [];
    const heard = (r: unknown) => restored.push(r);
    s.on('access:restored', heard);
    try {
      await give();
      await t.get(LiveGateway).settled();
      expect(roomsOf(s)).toEqual([...rooms].sort());
      // Once the server's answer to a later request has come, so has everything sent before it.
      expect(await ask(s, 'topic:leave', { topicId: newId() })).toEqual({ ok: true });
      expect(restored).toEqual(expect.arrayContaining(rooms.map((room) => ({ room }))));
      expect(restored).toHaveLength(rooms.length);
    } finally {
      s.off('access:restored', heard);
    }
    const created = heardLive(s, 'post:created');
    const r = await reply(t, token, topicId, 'welcome back');
    expect((await created.first((e) => e.post?.id === r.id)).topicId).toBe(topicId);
  };

  it('tells a member whose suspension in a space is lifted, and puts their connection back in the rooms it was sent away from, but one it left since', async () => {
    const mod = await makeUser(t);
    const member = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const board = await makeBoard(t, space.id);
    const topic = await createTopic(t, mod.token, board);
    const s = await connect(member.token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    expect(await ask(s, 'board:join', { boardId: board })).toEqual({ ok: true });
    const lost: unknown[] = [];
    s.on('access:lost', (l: unknown) => lost.push(l));
    const { sanctionUser } = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SUSPEND', reason: 'Heated', durationHours: 24, spaceId: space.id } }, { token: mod.token }));
    await t.get(LiveGateway).settled();
    expect(roomsOf(s)).toEqual([]);
    // Its reader went elsewhere meanwhile: the board's room, left by the client, is not put back.
    expect(await ask(s, 'board:leave', { boardId: board })).toEqual({ ok: true });
    expect(lost).toHaveLength(2);
    const restored: unknown[] = [];
    s.on('access:restored', (r: unknown) => restored.push(r));
    const told = heardLive(s, 'sanction:lifted');
    expectOk(await t.gql(LIFT, { id: sanctionUser.id }, { token: mod.token }));
    expect(await told.first((e) => e.sanctionId === sanctionUser.id)).toEqual({ sanctionId: sanctionUser.id, kind: 'SUSPEND', spaceId: space.id, expired: false });
    await t.get(LiveGateway).settled();
    expect(roomsOf(s)).toEqual([`topic:${topic.id}`]);
    // Once the server's answer to a later request has come, so has everything sent before it.
    expect(await ask(s, 'topic:leave', { topicId: newId() })).toEqual({ ok: true });
    expect(restored).toEqual([{ room: `topic:${topic.id}` }]);
    // Back in the topic's room: its replies reach them again.
    const created = heardLive(s, 'post:created');
    const r = await reply(t, mod.token, topic.id, 'welcome back');
    expect((await created.first((e) => e.post?.id === r.id)).topicId).toBe(topic.id);
  });

  it('puts a member whose grant on a space is given back into the rooms there their connection was sent away from, but one it left since', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const space = await makeSpace(t, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    const board = await makeBoard(t, space.id);
    const topic = await createTopic(t, admin.token, board);
    const other = await createTopic(t, admin.token, board);
    await t.get(LiveGateway).settled();
    const s = await connect(member.token);
    for (const topicId of [topic.id, other.id]) expect(await ask(s, 'topic:join', { topicId })).toEqual({ ok: true });
    expect(await ask(s, 'board:join', { boardId: board })).toEqual({ ok: true });
    const lost: unknown[] = [];
    s.on('access:lost', (l: unknown) => lost.push(l));
    await revoke(space, member, admin);
    await t.get(LiveGateway).settled();
    expect(roomsOf(s)).toEqual([]);
    // Its reader left one topic's page meanwhile: that room is not put back.
    expect(await ask(s, 'topic:leave', { topicId: other.id })).toEqual({ ok: true });
    expect(lost).toHaveLength(3);
    const given = async () => expectOk(await t.gql(grant, { input: { spaceId: space.id, userId: member.id, level: 'READ' } }, { token: admin.token }));
    await expectPutBack(s, given, [`board:${board}`, `topic:${topic.id}`], topic.id, admin.token);
  });

  it('puts a member added back to a group that holds a grant into the rooms there their connection was sent away from, by an admin or by the group’s domains, and one whose group is given its grant back', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const group = await makeGroup(t);
    const member = await makeUser(t, { groups: [group] });
    const space = await makeSpace(t, 'RESTRICTED', [{ groupId: group, level: 'PARTICIPATE' }]);
    const board = await makeBoard(t, space.id);
    const topic = await createTopic(t, admin.token, board);
    await t.get(LiveGateway).settled();
    const s = await connect(member.token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    expect(await ask(s, 'board:join', { boardId: board })).toEqual({ ok: true });
    const membership = (mutation: string) =>
      t.gql(`mutation($input: GroupMemberInput!) { ${mutation}(input: $input) { id } }`, { input: { groupId: group, userId: member.id } }, { token: admin.token });
    /** Access taken by `take` and given back by `give`: the connection is out of both rooms between, then back in both. */
    const outAndBack = async (take: () => Promise<unknown>, give: () => Promise<unknown>) => {
      await take();
      await t.get(LiveGateway).settled();
      expect(roomsOf(s)).toEqual([]);
      await expectPutBack(s, give, [`board:${board}`, `topic:${topic.id}`], topic.id, admin.token);
    };
    await outAndBack(async () => expectOk(await membership('removeGroupMember')), async () => expectOk(await membership('addGroupMember')));
    await outAndBack(
      async () => expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, groupId: group } }, { token: admin.token })),
      async () => expectOk(await t.gql(grant, { input: { spaceId: space.id, groupId: group, level: 'READ' } }, { token: admin.token })),
    );
    // Put back in by the group's automatic rule: its list of domains given theirs.
    const domain = `${newId()}.example`;
    await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [member.id, `member@${domain}`]);
    const domains = `mutation($input: SetGroupAutomaticDomainsInput!) { setGroupAutomaticDomains(input: $input) { id } }`;
    await outAndBack(
      async () => expectOk(await membership('removeGroupMember')),
      async () => expectOk(await t.gql(domains, { input: { groupId: group, domains: [domain] } }, { token: admin.token })),
    );
  });

  it('puts readers back in a topic’s room once the topic is theirs to read again: unhidden, restored, or moved back to a space they read', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const from = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const away = await makeBoard(t, (await makeSpace(t, 'RESTRICTED')).id);
    const topic = await createTopic(t, author.token, from);
    await t.get(LiveGateway).settled();
    const s = await connect((await makeUser(t)).token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const move = (boardId: string) => t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId } }, { token: admin.token });
    for (const [take, give] of [['HIDE', 'UNHIDE'], ['DELETE', 'RESTORE'], [away, from]]) {
      const lost = heardLive(s, 'access:lost');
      if (take === away) expectOk(await move(away));
      else await moderatePost(topic.firstPostId, take, admin.token);
      await heardRoom(lost, `topic:${topic.id}`);
      await t.get(LiveGateway).settled();
      expect(roomsOf(s)).toEqual([]);
      const given = async () => (give === from ? expectOk(await move(from)) : moderatePost(topic.firstPostId, give, admin.token));
      await expectPutBack(s, given, [`topic:${topic.id}`], topic.id, admin.token);
    }
  });

  it('keeps a room to put back when access is taken again while the connection is put back in it', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const space = await makeSpace(t, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    const board = await makeBoard(t, space.id);
    const topic = await createTopic(t, admin.token, board);
    await t.get(LiveGateway).settled();
    const s = await connect(member.token);
    expect(await ask(s, 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const lostFirst = heardLive(s, 'access:lost');
    await revoke(space, member, admin);
    await heardRoom(lostFirst, `topic:${topic.id}`);
    await t.get(LiveGateway).settled();
    const restored: unknown[] = [];
    s.on('access:restored', (r: unknown) => restored.push(r));
    // The restore's second check (once the connection is in the room) answers as access stood
    // before it was taken again: its answer held until the revoke's re-check sent it away.
    let checks = 0;
    const gate = gateCalls((t.get(LiveGateway) as any).forum, 'topic', (_v: unknown, id: string) => id === topic.id && ++checks === 2, 'after');
    try {
      expectOk(await t.gql(grant, { input: { spaceId: space.id, userId: member.id, level: 'READ' } }, { token: admin.token }));
      await gate.begun;
      const lostAgain = heardLive(s, 'access:lost');
      await revoke(space, member, admin);
      await heardRoom(lostAgain, `topic:${topic.id}`);
    } finally {
      gate.restore();
    }
    await t.get(LiveGateway).settled();
    expect(roomsOf(s)).toEqual([]);
    // Once the server's answer to a later request has come, so has everything sent before it.
    expect(await ask(s, 'board:leave', { boardId: newId() })).toEqual({ ok: true });
    // Not told it is back where it is not, and the room is still one to put back.
    expect(restored).toEqual([]);
    const back = heardLive(s, 'access:restored');
    expectOk(await t.gql(grant, { input: { spaceId: space.id, userId: member.id, level: 'READ' } }, { token: admin.token }));
    await heardRoom(back, `topic:${topic.id}`);
    await t.get(LiveGateway).settled();
    expect(roomsOf(s)).toEqual([`topic:${topic.id}`]);
  });

  it('lets a member made moderator join the review room on the connection they had, which never joined it: nothing is joined for them unasked', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const s = await connect(member.token);
    expect(await ask(s, 'review:join', {})).toEqual({ ok: false, code: 'NOT_FOUND' });
    expectOk(await t.gql(`mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id } }`, { input: { userId: member.id, role: 'MODERATOR' } }, { token: admin.token }));
    await t.get(LiveGateway).settled();
    // A room is the client's to ask for (access:restored puts back only rooms it was sent away from): none was joined for it.
    expect(roomsOf(s)).toEqual([]);
    // Asked for on the same connection, it is checked with the role as it is now.
    expect(await ask(s, 'review:join', {})).toEqual({ ok: true });
    const siteWide = heardLive(s, 'review:updated');
    const item = await reportItem('USER', (await makeUser(t)).id);
    expect(await siteWide.first((e) => e.reviewItemId === item)).toEqual({ reviewItemId: item, spaceId: null });
  });

  it('takes a global moderator silenced site-wide out of the site-wide review room, and once the silence runs out tells them and puts them back', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const mod = await makeUser(t, { role: 'MODERATOR' });
    const s = await connect(mod.token);
    expect(await ask(s, 'review:join', {})).toEqual({ ok: true });
    const lost = heardLive(s, 'access:lost');
    const { sanctionUser } = expectOk(await t.gql(SANCTION, { input: { userId: mod.id, kind: 'SILENCE', reason: 'Cooling off for a day', durationHours: 24 } }, { token: admin.token }));
    await heardRoom(lost, 'modqueue:global');
    await t.sql(`UPDATE sanctions SET expires_at = now() - interval '1 second' WHERE id = $1`, [sanctionUser.id]);
    const [told, restored] = [heardLive(s, 'sanction:lifted'), heardLive(s, 'access:restored')];
    // The worker's job (here run at once): the expiry is told as a lift is.
    await t.get(SanctionsService).handleExpired();
    expect(await told.first((e) => e.sanctionId === sanctionUser.id)).toEqual({ sanctionId: sanctionUser.id, kind: 'SILENCE', spaceId: null, expired: true });
    await heardRoom(restored, 'modqueue:global');
    await t.get(LiveGateway).settled();
    expect(roomsOf(s)).toEqual(['modqueue:global']);
  });
});
