import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { io, Socket } from 'socket.io-client';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { createClient } from 'redis';
import { ANONYMOUS_ROOM_OPS_PACE, FENCE_DONE, LiveGateway, PRESENCE_ASK, ROOM_OPS_PACE, ROOM_OPS_PER_WINDOW } from '../../libs/realtime/src/live.gateway';
import { UsersRepository } from '../../libs/identity/src/users/users.repository';
import { TopicTimersService } from '../../libs/forum/src/timers/topic-timers.service';
import { gateCalls } from '../support/gates';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';
import { buildDistOnce } from '../support/dist';
import { freePort } from '../support/free-port';
import { HeldRedis, holdableRedis } from '../support/redis-proxy';
import { connectLive, heardLive, heardRoom, holdPace, holdTypingWindow, pacesStopped, revocation } from '../support/live-client';
import { askRoomsOverAndOver, killRedisClients, nodeRedis, redisClientIds, testRedisPrefix } from '../support/redis-clients';
import { recordUnhandledRejections } from '../support/unhandled-rejections';

/**
 * Two API processes on one database and one Redis: node A is this test's app, node B a
 * separate `node` process running the built server. Runs when REDIS_URL is set (e.g.
 * REDIS_URL=redis://127.0.0.1:6379 npm test); without Redis a single node needs no extra
 * service and the other live suites cover it.
 */
const maybe = process.env.REDIS_URL ? describe : describe.skip;
const ROOT = path.join(__dirname, '../..');


maybe('live updates across two API processes (Redis adapter)', () => {
  let a: TestApp;
  let b: ChildProcess;
  let bUrl: string;
  /** Node B's way to Redis, which a test can hold. */
  let bRedis: HeldRedis;
  let prefix: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    prefix = testRedisPrefix();
    a = await bootTestApp({ REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: prefix });
    await buildDistOnce();
    const port = await freePort();
    bUrl = `http://127.0.0.1:${port}`;
    bRedis = await holdableRedis(process.env.REDIS_URL!);
    b = spawn(process.execPath, [path.join(ROOT, 'dist/apps/api/src/main.js')], {
      env: {
        ...process.env, NODE_ENV: 'test', DATABASE_URL: a.db.url, REDIS_URL: bRedis.url, REDIS_KEY_PREFIX: prefix, PORT: String(port), HOST: '127.0.0.1',
        LOG_LEVEL: 'warn', LOG_REQUESTS: 'false', MIGRATE_ON_START: 'false', WORKER_IN_PROCESS: 'false', POSTING_LIMITS: 'false', TRUST_PROXY: 'loopback',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${bUrl}/health`)).ok) return;
      } catch {
        /* starting */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('node B did not start');
  }, 120_000);
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    // Node B has 5 s to stop; the wait ends with it, leaving no timer behind to hold this worker.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      b?.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      b?.kill('SIGTERM');
    });
    await bRedis?.close();
    await a.close();
  });

  const gqlB = async (query: string, variables: Record<string, unknown>, token: string) => {
    const res = await fetch(`${bUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: any; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const connect = (token: string) => connectLive(`http://127.0.0.1:${(a.http.address() as AddressInfo).port}`, sockets, token);

  it('delivers a post created through node B to a client on node A, and a ban on B disconnects on A', async () => {
    const author = await makeUser(a);
    const watcher = await makeUser(a);
    const board = await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id);
    const topic = await createTopic(a, author.token, board);
    const onA = await connect(watcher.token);
    expect(await onA.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const received = heardLive(onA, 'post:created');
    const r = await gqlB(`mutation($i: ReplyInput!) { replyToTopic(input: $i) { id } }`, { i: { topicId: topic.id, body: 'through node B' } }, author.token);
    expect(await received.first((e) => e.post?.id === r.replyToTopic.id)).toMatchObject({ topicId: topic.id, post: { id: r.replyToTopic.id } });

    const revoked = revocation(onA);
    const mod = await makeUser(a, { role: 'MODERATOR' });
    await gqlB(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: watcher.id, kind: 'BAN', reason: 'Raid' } }, mod.token);
    expect(await revoked).toEqual([{ reason: 'banned' }]);
  });

  it('tells a board’s readers on node A of a topic moved onto it and off it, and of its first post hidden, all through node B, which has no reader in those rooms', async () => {
    const [author, admin] = [await makeUser(a), await makeUser(a, { role: 'ADMIN' })];
    const [from, to] = [await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id), await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id)];
    const topic = await createTopic(a, author.token, from);
    const [onFrom, onTo] = [await connect((await makeUser(a)).token), await connect((await makeUser(a)).token)];
    expect(await onFrom.timeout(5000).emitWithAck('board:join', { boardId: from })).toEqual({ ok: true });
    expect(await onTo.timeout(5000).emitWithAck('board:join', { boardId: to })).toEqual({ ok: true });
    const [left, arrived, removed] = [heardLive(onFrom, 'topic:moved'), heardLive(onTo, 'topic:created'), heardLive(onTo, 'topic:removed')];
    // Node B handles what is committed through it, and its emits reach node A's sockets through
    // Redis: its reads for them are not skipped for want of a reader of its own there (until
    // 2026-12-07 they were, and the board the topic went to heard nothing of its arrival).
    await gqlB(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: to } }, admin.token);
    const [{ version: moved }] = await a.sql(`SELECT version FROM topics WHERE id = $1`, [topic.id]);
    expect(await left.first((e) => e.topicId === topic.id)).toEqual({ topicId: topic.id, version: Number(moved) });
    expect(await arrived.first((e) => e.topic?.id === topic.id)).toMatchObject({ boardId: to, topic: { id: topic.id }, version: Number(moved) });
    await gqlB(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: topic.firstPostId, action: 'HIDE' } }, admin.token);
    const [{ version: hidden }] = await a.sql(`SELECT version FROM topics WHERE id = $1`, [topic.id]);
    expect(await removed.first((e) => e.topicId === topic.id)).toEqual({ topicId: topic.id, version: Number(hidden) });
  });

  it('tells a board’s readers on node A of an idea unmerged through node B, which has no reader in that room', async () => {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const board = await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id, 'IDEAS');
    const [idea, into] = [await createTopic(a, admin.token, board, { kind: 'IDEA' }), await createTopic(a, admin.token, board, { kind: 'IDEA' })];
    await gqlB(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId: idea.id, targetId: into.id } }, admin.token);
    const reader = await connect((await makeUser(a)).token);
    expect(await reader.timeout(5000).emitWithAck('board:join', { boardId: board })).toEqual({ ok: true });
    const arrived = heardLive(reader, 'topic:created');
    // Its arrival is read by node B, which handles the unmerge, for node A's reader (`mayBeHeard`).
    await gqlB(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: idea.id }, admin.token);
    const [{ version }] = await a.sql(`SELECT version FROM topics WHERE id = $1`, [idea.id]);
    expect(await arrived.first((e) => e.topic?.id === idea.id)).toMatchObject({ boardId: board, topic: { id: idea.id }, version: Number(version) });
  });

  it('an idea unmerged through node A, merged again through node B while A’s arrival waits: the merge’s `idea:updated` carries the topic’s version, and a client ordering by it (README, *Order*) drops the late arrival', async () => {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const board = await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id, 'IDEAS');
    const [idea, into] = [await createTopic(a, admin.token, board, { kind: 'IDEA' }), await createTopic(a, admin.token, board, { kind: 'IDEA' })];
    const MERGE = `mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`;
    expectOk(await a.gql(MERGE, { input: { sourceId: idea.id, targetId: into.id } }, { token: admin.token }));
    await a.get(LiveGateway).settled();
    // A member on node A, its board's list kept by the rule the README gives a client: per topic,
    // the highest version applied of its `topic:created`, `topic:removed` and `topic:moved` and
    // of a merged idea's `idea:updated` (`topicVersion`); anything below it dropped.
    const reader = await connect((await makeUser(a)).token);
    expect(await reader.timeout(5000).emitWithAck('board:join', { boardId: board })).toEqual({ ok: true });
    const heard: Array<[string, any]> = [];
    const list = new Map<string, { version: number; listed: boolean }>();
    const apply = (topicId: string, version: number, listed: boolean) => {
      if ((list.get(topicId)?.version ?? -Infinity) <= version) list.set(topicId, { version, listed });
    };
    reader.onAny((name: string, e: any) => {
      if (e?.topicId !== idea.id && e?.topic?.id !== idea.id) return;
      heard.push([name, e]);
      if (name === 'topic:created') apply(e.topic.id, e.version, true);
      if (name === 'topic:removed' || name === 'topic:moved') apply(e.topicId, e.version, false);
      if (name === 'idea:updated' && e.status === 'MERGED') apply(e.topicId, e.topicVersion, false);
    });
    const merged = heardLive(reader, 'idea:updated');
    // Node A's arrival of the unmerged idea (its first post read with the topic) held once read.
    let picked = false;
    const gate = gateCalls(a.ds, 'query', (sql: unknown) => !picked && typeof sql === 'string' && /p\.topic_id = \$1 AND p\.number = 1/.test(sql) && (picked = true), 'after');
    let mergedAt = 0;
    try {
      expectOk(await a.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: idea.id }, { token: admin.token }));
      await gate.begun;
      // Merged again through node B, which pushes it through Redis to node A's reader.
      await gqlB(MERGE, { input: { sourceId: idea.id, targetId: into.id } }, admin.token);
      mergedAt = Number((await a.sql(`SELECT version FROM topics WHERE id = $1`, [idea.id]))[0].version);
      // The version the merge raised (until 2026-12-07 none: only the idea's own `version`).
      expect(await merged.first((e) => e.topicId === idea.id && e.status === 'MERGED')).toMatchObject({ topicId: idea.id, status: 'MERGED', topicVersion: mergedAt });
    } finally {
      gate.restore();
    }
    await a.get(LiveGateway).settled();
    expect(await reader.timeout(5000).emitWithAck('board:join', { boardId: board })).toEqual({ ok: true });
    // Node A read the arrival before the merge and, not having handled the merge itself, sent it
    // after the merge’s news: older than it, which the client’s rule drops.
    const arrivals = heard.filter(([name]) => name === 'topic:created').map(([, e]) => e);
    expect(arrivals).toEqual([expect.objectContaining({ boardId: board, version: expect.any(Number) })]);
    expect(arrivals[0].version).toBeLessThan(mergedAt);
    expect(heard.findIndex(([name]) => name === 'topic:created')).toBeGreaterThan(heard.findIndex(([name, e]) => name === 'idea:updated' && e.status === 'MERGED'));
    expect(list.get(idea.id)).toEqual({ version: mergedAt, listed: false });
  });

  it('tells a topic’s readers on both nodes who reads it: each node sends presence to its own readers after any node’s joins and leaves, read from the whole cluster', async () => {
    const [x, y] = [await makeUser(a), await makeUser(a)];
    const topic = await createTopic(a, x.token, await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id));
    /** The next presence counting `n` readers, as ids. */
    const counting = (s: Socket, n: number) =>
      new Promise<string[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no presence counting ${n}`)), 5000);
        const on = (p: { count: number; users: Array<{ id: string }> }) => {
          if (p.count !== n) return;
          clearTimeout(timer);
          s.off('presence', on);
          resolve(p.users.map((u) => u.id).sort());
        };
        s.on('presence', on);
      });
    const onA = await connect(x.token);
    const onB = await connectLive(bUrl, sockets, y.token);
    expect(await onA.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const both = [counting(onA, 2), counting(onB, 2)];
    expect(await onB.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    for (const ids of await Promise.all(both)) expect(ids).toEqual([x.id, y.id].sort());
    // Closed on node B: node B tells the reader on node A.
    const alone = counting(onA, 1);
    onB.disconnect();
    expect(await alone).toEqual([x.id]);
  });

  it('limits a member’s typing across nodes: their tab on node B is refused within the window of their ping through node A', async () => {
    const writer = await makeUser(a);
    const topic = await createTopic(a, writer.token, await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id));
    const onA = await connect(writer.token);
    const onB = await connectLive(bUrl, sockets, writer.token);
    for (const s of [onA, onB]) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    expect(await onA.timeout(5000).emitWithAck('typing', { topicId: topic.id })).toEqual({ ok: true });
    // Node B has no record of its own: it is refused by the count node A's ping left, held open however long B's ping takes to come.
    await holdTypingWindow(a.sql.bind(a), writer.id);
    expect(await onB.timeout(5000).emitWithAck('typing', { topicId: topic.id })).toEqual({ ok: false, code: 'RATE_LIMITED' });
  });

  it('never leaves a reader listed after they left through the other node, though a run of this node read the room before they left and sends late', async () => {
    const [x, o] = [await makeUser(a), await makeUser(a)];
    const topic = await createTopic(a, x.token, await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id));
    type Presence = { topicId: string; count: number; users: Array<{ id: string }> };
    const onB = await connectLive(bUrl, sockets, x.token);
    const first = heardLive<Presence>(onB, 'presence');
    expect(await onB.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    expect((await first.first((p) => p.topicId === topic.id && p.users.some((u) => u.id === x.id))).count).toBe(1);
    // What the reader on node A hears, in order; and whether its run's list has gone out yet.
    const onA = await connect(o.token);
    const heard: Presence[] = [];
    let released = false;
    let afterRelease!: () => void;
    const caughtUp = new Promise<void>((resolve, reject) => {
      afterRelease = resolve;
      setTimeout(() => reject(new Error(`no presence without x after node A's held run; heard ${JSON.stringify(heard)}`)), 10_000).unref();
    });
    caughtUp.catch(() => undefined);
    let gotOne!: () => void;
    const toldOne = new Promise<void>((resolve) => (gotOne = resolve));
    onA.on('presence', (p: Presence) => {
      heard.push(p);
      if (p.count !== 1) return;
      gotOne();
      if (released) afterRelease();
    });
    // Node B asking the other nodes for the room's presence, seen on Redis.
    const watcher = createClient({ url: process.env.REDIS_URL });
    await watcher.connect();
    let asked!: () => void;
    const askSeen = new Promise<void>((resolve) => (asked = resolve));
    let left = false;
    // (A pattern: a subscriber of the channel itself would count as a node the adapter waits for.)
    await watcher.pSubscribe(`${prefix}:socket.io-request#/#`, (m) => left && m.includes(JSON.stringify(PRESENCE_ASK)) && m.includes(topic.id) && asked());
    // Node A's run for the join below reads the room (x still in it), then waits at its read of who hides their profile.
    const users = a.get(UsersRepository);
    const read = users.presenceFacts.bind(users);
    let entered!: () => void;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let calls = 0;
    const held = jest.spyOn(users, 'presenceFacts').mockImplementation(async (...args: Parameters<typeof read>) => {
      if (++calls === 1) {
        entered();
        await gate;
      }
      return read(...args);
    });
    try {
      expect(await onA.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      await holding;
      // x leaves through node B while node A's run holds a list with them in it.
      left = true;
      expect(await onB.timeout(5000).emitWithAck('topic:leave', { topicId: topic.id })).toEqual({ ok: true });
      // Node B's word of the leave is out: its own list (sent to the whole room, before), or its ask to node A.
      await Promise.race([toldOne, askSeen]);
      released = true;
      open();
      // Whatever node A's held run sends, a list without x comes after it.
      await caughtUp;
      await a.get(LiveGateway).settled();
      // Anything node A sent to this reader has arrived before the answer to a later request.
      expect(await onA.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      expect(heard[heard.length - 1]).toEqual({ topicId: topic.id, count: 1, users: [{ id: o.id, handle: expect.any(String) }] });
    } finally {
      open();
      held.mockRestore();
      await watcher.quit();
    }
  });

  it('tells no socket of the other node that left the room while this node judged its readers: a reader sent away through node B hears nothing of the topic’s timers', async () => {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const [leaver, stayer] = [await makeUser(a), await makeUser(a)];
    const space = await makeSpace(a, 'RESTRICTED', [{ userId: leaver.id, level: 'PARTICIPATE' }, { userId: stayer.id, level: 'PARTICIPATE' }]);
    const topic = await createTopic(a, admin.token, await makeBoard(a, space.id));
    await a.get(LiveGateway).settled();
    const [goes, stays] = [await connectLive(bUrl, sockets, leaver.token), await connectLive(bUrl, sockets, stayer.token)];
    for (const s of [goes, stays]) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const heard: unknown[] = [];
    goes.on('topic:timers', (p: unknown) => heard.push(p));
    const toStayer = heardLive(stays, 'topic:timers');
    // Node A's push of the timers has read the room (both readers, on node B) and judged them
    // (both read the topic), and waits before it sends.
    const gate = gateCalls(a.get(TopicTimersService), 'forReaders', (_topicId: string, ids: string[]) => ids.includes(leaver.id), 'after');
    try {
      const SET = `mutation($i: SetTopicTimerInput!) { setTopicTimer(input: $i) { id } }`;
      expectOk(await a.gql(SET, { i: { topicId: topic.id, kind: 'CLOSE', afterHours: 2 } }, { token: admin.token }));
      await gate.begun;
      // The leaver loses the space through node B, which takes them out of the room.
      const lost = heardLive(goes, 'access:lost');
      await gqlB(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: leaver.id } }, admin.token);
      await heardRoom(lost, `topic:${topic.id}`);
      gate.open();
      await a.get(LiveGateway).settled();
      expect((await toStayer.first((e) => e.topicId === topic.id)).timers.map((x: { kind: string }) => x.kind)).toEqual(['CLOSE']);
      // Node A's sends reach node B through Redis in the order node A made them: anything it sent
      // the leaver arrived before this.
      const flushed = heardLive(goes, 'test:flushed');
      const mark = randomUUID();
      a.get(LiveGateway).server.to(`user:${leaver.id}`).emit('test:flushed', { mark });
      await flushed.first((e) => e.mark === mark);
      expect(heard).toEqual([]);
    } finally {
      gate.restore();
    }
  });

  /** Replies through node A and resolves once `s` has heard that reply: not the first post:created, which may be an earlier write's. */
  const hearsReply = async (s: Socket, topicId: string, token: string, body: string) => {
    const created = heardLive(s, 'post:created');
    const { replyToTopic } = expectOk(await a.gql(`mutation($i: ReplyInput!) { replyToTopic(input: $i) { id } }`, { i: { topicId, body } }, { token }));
    expect(await created.first((e) => e.post?.id === replyToTopic.id)).toMatchObject({ topicId, post: { id: replyToTopic.id } });
  };

  /** A connection of `token`'s user on node B, in the topic's room, once the topic's own pushes are over. */
  const inTopicOnB = async (token: string, topicId: string) => {
    await a.get(LiveGateway).settled();
    const onB = await connectLive(bUrl, sockets, token);
    expect(await onB.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    return onB;
  };

  it('puts a member’s connection on node B back in the room it was sent away from when their suspension in the space is lifted through node A', async () => {
    const mod = await makeUser(a);
    const member = await makeUser(a);
    const space = await makeSpace(a, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const topic = await createTopic(a, mod.token, await makeBoard(a, space.id));
    const onB = await inTopicOnB(member.token, topic.id);
    const lost = heardLive(onB, 'access:lost');
    const { sanctionUser } = expectOk(
      await a.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'SUSPEND', reason: 'Heated', durationHours: 24, spaceId: space.id } }, { token: mod.token }),
    );
    await heardRoom(lost, `topic:${topic.id}`);
    const [told, restored] = [heardLive(onB, 'sanction:lifted'), heardLive(onB, 'access:restored')];
    expectOk(await a.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id: sanctionUser.id }, { token: mod.token }));
    expect(await told.first((e) => e.sanctionId === sanctionUser.id)).toMatchObject({ sanctionId: sanctionUser.id, expired: false });
    await heardRoom(restored, `topic:${topic.id}`);
    await hearsReply(onB, topic.id, mod.token, 'welcome back, through node A');
  });

  it('puts a member’s connection on node B back in the room it was sent away from when their grant on the space is given back through node A', async () => {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const member = await makeUser(a);
    const space = await makeSpace(a, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    const topic = await createTopic(a, admin.token, await makeBoard(a, space.id));
    const onB = await inTopicOnB(member.token, topic.id);
    const lost = heardLive(onB, 'access:lost');
    const grantee = { spaceId: space.id, userId: member.id };
    expectOk(await a.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: grantee }, { token: admin.token }));
    await heardRoom(lost, `topic:${topic.id}`);
    const restored = heardLive(onB, 'access:restored');
    expectOk(await a.gql(`mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`, { input: { ...grantee, level: 'READ' } }, { token: admin.token }));
    await heardRoom(restored, `topic:${topic.id}`);
    await hearsReply(onB, topic.id, admin.token, 'welcome back, through node A');
  });

  it('puts a reader’s connection on node B back in a topic’s room when the topic, hidden through node A, is unhidden there', async () => {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const topic = await createTopic(a, admin.token, await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id));
    const onB = await inTopicOnB((await makeUser(a)).token, topic.id);
    const moderate = async (action: string) =>
      expectOk(await a.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: topic.firstPostId, action } }, { token: admin.token }));
    const lost = heardLive(onB, 'access:lost');
    await moderate('HIDE');
    await heardRoom(lost, `topic:${topic.id}`);
    const restored = heardLive(onB, 'access:restored');
    await moderate('UNHIDE');
    await heardRoom(restored, `topic:${topic.id}`);
    await hearsReply(onB, topic.id, admin.token, 'back in sight, through node A');
  });

  it('counts a member’s joins, leaves and syncs across nodes: once spent through node A, their tab on node B is slowed down too', async () => {
    const member = await makeUser(a);
    const topic = await createTopic(a, member.token, await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id));
    const onA = await connect(member.token);
    const onB = await connectLive(bUrl, sockets, member.token);
    // Node A's own window counts by its stopped clock (pacesStopped), as the single-node limit tests' do: all of node A's ops
    // fall in one window, however slowly a loaded machine sends them.
    await pacesStopped(a, async () => {
      for (let i = 0; i < ROOM_OPS_PER_WINDOW; i++) expect(await onA.timeout(5000).emitWithAck(i % 2 ? 'topic:leave' : 'topic:join', { topicId: topic.id })).toEqual({ ok: true });
      // The count across nodes lets a spent budget back at its pace (a twelfth of it a second), so
      // node B would let through what came back meanwhile, all of it on a slow machine: held spent,
      // node B, which has no window of its own for the member, refuses the tab's first op.
      await holdPace(a.sql.bind(a), ROOM_OPS_PACE, member.id);
      expect(await onB.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: false, code: 'RATE_LIMITED' });
    });
  });

  it('counts an anonymous client’s joins, leaves and syncs per client address across connections and nodes: once spent through node A, its other connections are slowed down too', async () => {
    const topic = await createTopic(a, (await makeUser(a)).token, await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id));
    // Both nodes trust their loopback proxy (TRUST_PROXY=loopback): the address is the one it forwards.
    const from = (url: string) =>
      new Promise<Socket>((resolve, reject) => {
        const s = io(url, { path: '/socket.io', transports: ['websocket'], extraHeaders: { 'x-forwarded-for': '198.51.100.77' }, reconnection: false, forceNew: true });
        sockets.push(s);
        s.once('connect', () => resolve(s));
        s.once('connect_error', reject);
      });
    const first = await from(`http://127.0.0.1:${(a.http.address() as AddressInfo).port}`);
    const second = await from(`http://127.0.0.1:${(a.http.address() as AddressInfo).port}`);
    const onB = await from(bUrl);
    const op = (s: Socket, i: number) => s.timeout(5000).emitWithAck(i % 2 ? 'topic:leave' : 'topic:join', { topicId: topic.id });
    // Node A's window by its stopped clock, as in the member's case above.
    await pacesStopped(a, async () => {
      for (let i = 0; i < ROOM_OPS_PER_WINDOW; i++) expect(await op(first, i)).toEqual({ ok: true });
      // Counted across nodes under the address, and held spent (see the member's case above).
      await holdPace(a.sql.bind(a), ANONYMOUS_ROOM_OPS_PACE, '198.51.100.77');
      // Another connection from the same address, on the same node, is refused: it is the same client's budget.
      expect(await op(second, 0)).toEqual({ ok: false, code: 'RATE_LIMITED' });
      // So is one on node B, which has no window of its own for the address.
      expect(await op(onB, 0)).toEqual({ ok: false, code: 'RATE_LIMITED' });
    });
    // Another address has a budget of its own.
    const elsewhere = await connectLive(bUrl, sockets);
    expect(await op(elsewhere, 0)).toEqual({ ok: true });
  });

  /** A member of a RESTRICTED space, its admin, and the member's socket on node A in one of its topics' rooms. */
  async function readerOnA() {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const member = await makeUser(a);
    const space = await makeSpace(a, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    const topic = await createTopic(a, admin.token, await makeBoard(a, space.id));
    const onA = await connect(member.token);
    expect(await onA.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    return { admin, member, space, topic, onA };
  }

  it('holds a reply committed through node B while node A re-checks a revocation, though node B hears from Redis late: it never reaches the reader who lost access', async () => {
    const { admin, member, space, topic, onA } = await readerOnA();
    // A reader who keeps access, on node A too: once they have the reply, it has been pushed.
    const keeper = await connect(admin.token);
    expect(await keeper.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const heard: string[] = [];
    onA.on('post:created', () => heard.push('post:created'));
    onA.on('access:lost', () => heard.push('access:lost'));
    const lost = heardLive(onA, 'access:lost');
    // Node A's re-check waits until the reply through node B is answered (as with many sockets in the space's rooms).
    let recheckNow!: () => void;
    const gate = new Promise<void>((resolve) => (recheckNow = resolve));
    const gateway = a.get(LiveGateway) as unknown as { recheck: (...args: unknown[]) => Promise<void> };
    const original = gateway.recheck;
    gateway.recheck = async (...args: unknown[]) => {
      await gate;
      return original.apply(gateway, args);
    };
    // Node B hears from Redis a second late (a busy Redis, a slow link): a revocation answered at
    // once would leave it pushing the reply before it knows of the re-check.
    bRedis.hold();
    const late = setTimeout(() => bRedis.release(), 1000);
    try {
      expect(expectOk(await a.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: member.id } }, { token: admin.token }))).toBeTruthy();
      const pushed = heardLive(keeper, 'post:created');
      const r = await gqlB(`mutation($i: ReplyInput!) { replyToTopic(input: $i) { id } }`, { i: { topicId: topic.id, body: 'secret, through node B' } }, admin.token);
      recheckNow();
      await heardRoom(lost, `topic:${topic.id}`);
      await pushed.first((e) => e.post?.id === r.replyToTopic.id);
    } finally {
      clearTimeout(late);
      bRedis.release();
      recheckNow();
      gateway.recheck = original;
    }
    expect(heard).toEqual(['access:lost']);
  });

  it('sends a reader away on their own node though another node of the cluster never answers', async () => {
    // A third "node" that listens for the cluster's requests and never answers one (frozen, or going down).
    const frozen = createClient({ url: process.env.REDIS_URL });
    await frozen.connect();
    let revoked = false;
    let lifted!: () => void;
    const fenceLifted = new Promise<void>((resolve) => (lifted = resolve));
    await frozen.subscribe(`${prefix}:socket.io-request#/#`, (message) => revoked && message.includes(JSON.stringify(FENCE_DONE)) && lifted());
    try {
      const { admin, member, space, topic, onA } = await readerOnA();
      const lost = heardLive(onA, 'access:lost');
      // Revoked through node B: node A re-checks its own connections at once.
      revoked = true;
      await gqlB(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: member.id } }, admin.token);
      await heardRoom(lost, `topic:${topic.id}`);
      // Every node holds its pushes until node B's re-check is over, which waits for the frozen
      // node's answer as long as the adapter does (5 s): over before the next test pushes anything.
      await fenceLifted;
    } finally {
      await frozen.quit();
    }
  }, 20_000);

  it('checks its connections again once its Redis subscription comes back: what it missed meanwhile is not missed', async () => {
    const url = process.env.REDIS_URL!;
    const { space, topic, onA, member } = await readerOnA();
    // Another subscriber of the same Redis (another suite, another developer's run): left alone.
    const bystander = createClient({ url, name: `${prefix}-bystander` });
    bystander.on('error', () => undefined);
    await bystander.connect();
    try {
      await bystander.subscribe(`${prefix}:bystander`, () => undefined);
      const [bystanderId] = await redisClientIds(url, `${prefix}-bystander`, 'PUBSUB');
      expect(bystanderId).toBeDefined();
      // Lost while cut off: the grant goes with no re-check reaching node A.
      await a.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [space.id, member.id]);
      const lost = heardLive(onA, 'access:lost');
      // Node A's subscriber connection dropped by Redis, and no other; it reconnects on its own.
      expect(await killRedisClients(url, nodeRedis(a.get(LiveGateway).server).name, 'PUBSUB')).toHaveLength(1);
      await heardRoom(lost, `topic:${topic.id}`);
      // The same connection, never dropped (a client reconnecting gets a new id).
      expect(await redisClientIds(url, `${prefix}-bystander`, 'PUBSUB')).toEqual([bystanderId]);
    } finally {
      await bystander.close();
    }
  }, 20_000);

  it('keeps running when Redis drops its publisher with answers under way, and publishes again once it is back', async () => {
    const url = process.env.REDIS_URL!;
    const author = await makeUser(a);
    const topic = await createTopic(a, author.token, await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id));
    const onB = await connectLive(bUrl, sockets, (await makeUser(a)).token);
    expect(await onB.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const { name, publisher } = nodeRedis(a.get(LiveGateway).server);
    const unhandled = recordUnhandledRejections();
    try {
      // Node A answers another node's requests, one after another, through its publisher.
      const asker = await askRoomsOverAndOver(url, prefix);
      try {
        // (Not `events.once`, which fails on the 'error' a drop emits first.)
        const back = new Promise((resolve) => publisher.once('ready', resolve));
        expect(await killRedisClients(url, name, 'NORMAL')).toHaveLength(1);
        // Reconnected: the connection lost, and the publishes under way with it, are behind it.
        await back;
      } finally {
        await asker.stop();
      }
    } finally {
      await unhandled.stop();
    }
    expect(unhandled.reasons.map(String)).toEqual([]);
    // A reply through node A reaches the reader on node B.
    await hearsReply(onB, topic.id, author.token, 'after the drop');
  }, 20_000);
});
