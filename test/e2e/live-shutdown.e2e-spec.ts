import { spawn } from 'node:child_process';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createClient } from 'redis';
import { io, Socket } from 'socket.io-client';
import { EventBus } from '../../libs/core/src/events';
import { ForumLoaders } from '../../libs/forum/src/forum.loaders';
import { LiveGateway, PRESENCE_RUNS_AT_ONCE, presenceRunsAtOnce } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { buildDistOnce } from '../support/dist';
import { freePort } from '../support/free-port';
import { countCalls } from '../support/gates';
import { connectLive } from '../support/live-client';
import { logSink } from '../support/log-sink';
import { askRoomsOverAndOver, testRedisPrefix } from '../support/redis-clients';
import { holdableRedis } from '../support/redis-proxy';
import { bootSecondNode, bootTestApp, TestApp } from '../support/test-app';
import { recordUnhandledRejections } from '../support/unhandled-rejections';

/**
 * A node shutting down: the live gateway's fan-outs under way read their last statements
 * before the pool closes, and its closing starts none. (A suite of its own: its first node is
 * the first of the process, whose logger takes every log line written outside a request, the
 * later nodes' too.)
 */
/** Two nodes on one Redis, under a key prefix of their own: the one that stays and the one that goes. */
async function bootTwoNodes(): Promise<{ staying: TestApp; going: TestApp }> {
  const redis = { REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: testRedisPrefix() };
  const staying = await bootTestApp(redis);
  try {
    return { staying, going: await bootSecondNode(staying, redis) };
  } catch (err) {
    await staying.close();
    throw err;
  }
}

describe('live updates as a node shuts down', () => {
  const { lines, sink } = logSink();
  const sockets: Socket[] = [];
  beforeEach(() => void (lines.length = 0));
  afterAll(() => sockets.forEach((s) => s.disconnect()));

  it('waits for the pushes under way: none reads after the pool is closed', async () => {
    const node = await bootTestApp({ LOG_LEVEL: 'info' }, sink);
    const author = await makeUser(node);
    const topic = await createTopic(node, author.token, await makeBoard(node, (await makeSpace(node, 'PUBLIC')).id));
    const live = node.get(LiveGateway);
    await live.settled();
    // The node's push of an edit waits at a gate before it reads its post.
    const gateway = live as unknown as { pushPosts: (...args: unknown[]) => Promise<void> };
    const pushPosts = gateway.pushPosts.bind(gateway);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let read = false;
    jest.spyOn(gateway, 'pushPosts').mockImplementation(async (...args: unknown[]) => {
      await gate;
      await pushPosts(...args);
      read = true;
    });
    node.get(EventBus).publish({ type: 'post.updated', aggregateType: 'post', aggregateId: topic.firstPostId, payload: { postId: topic.firstPostId } });

    let closed = false;
    const closing = node.close().finally(() => (closed = true));
    // The gate opens once the node says it waits for the push (or once it is closed, if it never does).
    const waits = () => lines.some((l) => l.includes('waiting for the live pushes under way'));
    while (!waits() && !closed) await new Promise((r) => setTimeout(r, 20));
    const waited = waits();
    open();
    await closing;
    await live.settled();
    expect(waited).toBe(true);
    expect(read).toBe(true);
    expect(lines.filter((l) => l.includes('live fan-out failed'))).toEqual([]);
  });

  /**
   * A long-polling connection always has a request under way (its poll, answered at the next
   * ping, 25 s on): Apollo's drain waited its whole ten seconds for it, then cut it, and the
   * process's cleanups have ten seconds in all, so every shutdown with such a reader was ended
   * by the deadline (exit 1), before the gateway's hand-off, the Redis clients' close and the
   * database's. The gateway closes its connections as the drain begins: the reader is told
   * (`io server disconnect`), not cut (`transport close`). Its poll answered with that, the
   * connection's close waited for the next poll to carry Engine.IO's own close packet, which a
   * client told to go never sends: the connection stayed closing, its ping and close timers
   * (25 and 30 s) holding the process after the node had closed (Jest's "worker failed to
   * exit"), and Socket.IO's own close cannot end a connection already closing.
   */
  it('closes its long-polling connections as the HTTP drain begins, rather than have it wait for their polls', async () => {
    const node = await bootTestApp();
    const topic = await createTopic(node, (await makeUser(node)).token, await makeBoard(node, (await makeSpace(node, 'PUBLIC')).id));
    const polling = io(`http://127.0.0.1:${(node.http.address() as AddressInfo).port}`, { path: '/socket.io', transports: ['polling'], reconnection: false, forceNew: true });
    sockets.push(polling);
    await new Promise<void>((resolve, reject) => {
      polling.once('connect', () => resolve());
      polling.once('connect_error', reject);
    });
    expect(await polling.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const live = node.get(LiveGateway);
    await live.settled();
    // Its poll is under way: the server holds it (nothing to send), writable until the next ping.
    const conn = () => live.server.sockets.sockets.get(polling.id!)?.conn as unknown as { transport: { name: string; writable: boolean } } | undefined;
    while (!conn()?.transport.writable) await new Promise((r) => setTimeout(r, 20));
    expect(conn()?.transport.name).toBe('polling');
    const reason = new Promise<string>((resolve) => polling.once('disconnect', (r: string) => resolve(r)));
    const engine = live.server.engine;
    const onServer = live.server.sockets.sockets.get(polling.id!)!.conn;
    await node.close();
    expect(await reason).toBe('io server disconnect');
    // Closed with the node, its timers cleared: nothing of it is left to hold the process.
    expect(onServer.readyState).toBe('closed');
    expect(engine.clientsCount).toBe(0);
  }, 30_000);

  /**
   * Apollo's drain ended every connection with no HTTP request under way, the live ones
   * included, before the gateway heard the node was closing (it now closes them itself as the
   * drain begins, `closeConnections`, closing first): each reader's leaving asked for a
   * presence run, which with Redis reads the room on every node. Against a node that does not
   * answer, such a run waits five seconds, and another was due after it: it outlived the node,
   * its request's timer holding the process, and read a pool (or a Redis client) closed meanwhile.
   */
  (process.env.REDIS_URL ? it : it.skip)('leaves no presence run behind it as its connections close, even with a node that does not answer', async () => {
    const prefix = testRedisPrefix();
    const node = await bootTestApp({ LOG_LEVEL: 'info', REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: prefix }, sink);
    const readers = [await makeUser(node), await makeUser(node)];
    const topic = await createTopic(node, readers[0].token, await makeBoard(node, (await makeSpace(node, 'PUBLIC')).id));
    const url = `http://127.0.0.1:${(node.http.address() as AddressInfo).port}`;
    const connected = await Promise.all(readers.map((r) => connectLive(url, sockets, r.token)));
    for (const s of connected) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const live = node.get(LiveGateway);
    await live.settled();
    // Another "node" of the cluster that never answers a request (frozen, or going down too).
    const frozen = createClient({ url: process.env.REDIS_URL });
    frozen.on('error', () => undefined);
    await frozen.connect();
    let closedAt = 0;
    try {
      await frozen.subscribe(`${prefix}:socket.io-request#/#`, () => undefined);
      // Both readers are still in the room as the node goes: the first to go leaves the other to be told.
      const gone = connected.map((s) => new Promise<void>((resolve) => s.once('disconnect', () => resolve())));
      await node.close();
      closedAt = lines.length;
      await Promise.all(gone);
      // Whatever was still under way (nothing, if the node waited for it) ends now.
      await live.settled();
    } finally {
      await frozen.quit().catch(() => undefined);
    }
    expect(lines.slice(closedAt).filter((l) => l.includes('presence not sent'))).toEqual([]);
  }, 30_000);

  /**
   * A node's readers leave every topic room as it goes: the other nodes' readers must not go on
   * seeing them there until some later join or leave. Those still connected once the gateway
   * was closing told the other nodes nothing as their connections closed. (Apollo's drain, which
   * ran first, ended the WebSocket ones before; but each of their leavings then had the other
   * nodes read the room through the node as it went, and a read it no longer answered sent
   * nothing. Here the gateway hears of the shutdown first, as it now does as the drain begins.)
   */
  (process.env.REDIS_URL ? it : it.skip)('tells the other nodes its readers left as it shuts down: their readers’ presence drops them', async () => {
    const { staying, ...second } = await bootTwoNodes();
    let going: TestApp | undefined = second.going;
    try {
      const [x, y] = [await makeUser(staying), await makeUser(staying)];
      const topic = await createTopic(staying, x.token, await makeBoard(staying, (await makeSpace(staying, 'PUBLIC')).id));
      const urlOf = (n: TestApp) => `http://127.0.0.1:${(n.http.address() as AddressInfo).port}`;
      type Presence = { count: number; users: Array<{ id: string }> };
      const onStaying = await connectLive(urlOf(staying), sockets, x.token);
      expect(await onStaying.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      // Two readers on the node that goes (one signed in, one anonymous), both listed on the node that stays.
      const three = new Promise<Presence>((resolve) => onStaying.on('presence', (p: Presence) => p.count === 3 && resolve(p)));
      for (const s of [await connectLive(urlOf(going), sockets, y.token), await connectLive(urlOf(going), sockets)]) {
        expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      }
      expect((await three).users.map((u) => u.id).sort()).toEqual([x.id, y.id].sort());
      await staying.get(LiveGateway).settled();
      // Every list heard from here on; the last must be without the readers of the node that goes.
      const heard: Presence[] = [];
      const alone = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no presence without the readers of the node that went; heard ${JSON.stringify(heard)}`)), 10_000);
        onStaying.on('presence', (p: Presence) => {
          heard.push(p);
          if (p.count !== 1) return;
          clearTimeout(timer);
          resolve();
        });
      });
      await going.get(LiveGateway).onModuleDestroy();
      await alone;
      await going.close();
      going = undefined;
      await staying.get(LiveGateway).settled();
      // Anything the node sent this reader has arrived before the answer to a later request.
      expect(await onStaying.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      expect(heard[heard.length - 1]).toEqual({ topicId: topic.id, count: 1, users: [{ id: x.id, handle: expect.any(String) }] });
    } finally {
      await going?.close();
      await staying.close();
    }
  }, 30_000);

  /**
   * A node handing over thousands of rooms had every other node run presence for all of them at
   * once, each a read of the room through every node and a transaction: a burst on each node's
   * pool as the nodes restart one after the other. The receiving node runs them a few at a time
   * (`presenceRunsAtOnce`: half its pool), and every room's presence is still sent.
   */
  (process.env.REDIS_URL ? it : it.skip)('runs the presence of the rooms a node hands over as it goes a few at a time, and sends each', async () => {
    const { staying, ...second } = await bootTwoNodes();
    let going: TestApp | undefined = second.going;
    try {
      const [x, y] = [await makeUser(staying), await makeUser(staying)];
      const board = await makeBoard(staying, (await makeSpace(staying, 'PUBLIC')).id);
      const topics: string[] = [];
      for (let i = 0; i < PRESENCE_RUNS_AT_ONCE * 3 + 1; i++) topics.push((await createTopic(staying, x.token, board)).id);
      const urlOf = (n: TestApp) => `http://127.0.0.1:${(n.http.address() as AddressInfo).port}`;
      type Presence = { topicId: string; count: number; users: Array<{ id: string }> };
      // A reader on each node in every room; the last list each room sent the one that stays.
      const onStaying = await connectLive(urlOf(staying), sockets, x.token);
      const onGoing = await connectLive(urlOf(going), sockets, y.token);
      const last = new Map<string, Presence>();
      onStaying.on('presence', (p: Presence) => last.set(p.topicId, p));
      for (const topicId of topics) {
        for (const s of [onStaying, onGoing]) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
      }
      await going.get(LiveGateway).settled();
      await staying.get(LiveGateway).settled();
      // How many presence runs the node that stays has under way at once.
      const runs = countCalls(staying.get(LiveGateway), 'sendPresence');
      await going.get(LiveGateway).onModuleDestroy();
      // Half the pool's connections (five here), the rest left to requests.
      expect(runs.most).toBe(presenceRunsAtOnce(staying.config.DB_POOL_SIZE));
      expect(runs.most).toBe(2);
      expect([...runs.firstArgs].sort()).toEqual(topics.map((id) => `topic:${id}`).sort());
      await going.close();
      going = undefined;
      await staying.get(LiveGateway).settled();
      // Anything the node sent this reader has arrived before the answer to a later request.
      expect(await onStaying.timeout(5000).emitWithAck('topic:join', { topicId: topics[0] })).toEqual({ ok: true });
      for (const topicId of topics) expect(last.get(topicId)).toEqual({ topicId, count: 1, users: [{ id: x.id, handle: expect.any(String) }] });
    } finally {
      await going?.close();
      await staying.close();
    }
  }, 60_000);

  /**
   * A join checked while the node hands its readers over put its socket back in the topic room
   * after the hand-off took every connection out: the other nodes' later reads of the room went
   * on listing that reader, who left nothing to say otherwise as the node went (its leaving runs
   * no presence once the gateway is closing). A join the node has not put in the room by then
   * is refused instead; the client joins again once it has reconnected to another node.
   */
  (process.env.REDIS_URL ? it : it.skip)('puts no connection back in a topic room once it has handed its readers over', async () => {
    const { staying, ...second } = await bootTwoNodes();
    let going: TestApp | undefined = second.going;
    let open: () => void = () => undefined;
    try {
      const [x, y, z] = [await makeUser(staying), await makeUser(staying), await makeUser(staying)];
      const topic = await createTopic(staying, x.token, await makeBoard(staying, (await makeSpace(staying, 'PUBLIC')).id));
      const urlOf = (n: TestApp) => `http://127.0.0.1:${(n.http.address() as AddressInfo).port}`;
      type Presence = { count: number; users: Array<{ id: string }> };
      const onStaying = await connectLive(urlOf(staying), sockets, x.token);
      expect(await onStaying.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      await staying.get(LiveGateway).settled();
      // y's join on the node that goes waits at a gate in its access check.
      const forum = going.get(ForumLoaders);
      const topicOf = forum.topic.bind(forum);
      let entered!: () => void;
      const checking = new Promise<void>((resolve) => (entered = resolve));
      const gate = new Promise<void>((resolve) => (open = resolve));
      jest.spyOn(forum, 'topic').mockImplementation(async (...args: Parameters<ForumLoaders['topic']>) => {
        entered();
        await gate;
        return topicOf(...args);
      });
      const onGoing = await connectLive(urlOf(going), sockets, y.token);
      const joined = onGoing.timeout(5000).emitWithAck('topic:join', { topicId: topic.id });
      await checking;
      await going.get(LiveGateway).onModuleDestroy();
      open();
      expect(await joined).toEqual({ ok: false, code: 'UNAVAILABLE' });
      // A later run on the node that stays reads the room through the node that goes, still up.
      const withZ = new Promise<Presence>((resolve) => onStaying.on('presence', (p: Presence) => p.users.some((u) => u.id === z.id) && resolve(p)));
      const onStayingToo = await connectLive(urlOf(staying), sockets, z.token);
      expect(await onStayingToo.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      const heard = await withZ;
      expect(heard.users.map((u) => u.id).sort()).toEqual([x.id, z.id].sort());
      expect(heard.count).toBe(2);
    } finally {
      open();
      await going?.close();
      await staying.close();
    }
  }, 30_000);

  /**
   * Other nodes' requests keep coming as a node closes: Socket.IO's close unsubscribes, but
   * Redis still delivers what was sent before it answers the unsubscribe, and the adapter
   * answers each through the node's other connection, the publisher, without handling the
   * reply. The publisher closed first, every such answer was a rejection no one handled
   * (`ClientClosedError`), which ends a Node process instead of its clean exit.
   */
  (process.env.REDIS_URL ? it : it.skip)('answers or drops the requests still coming in as it closes: none is left an unhandled rejection', async () => {
    const url = process.env.REDIS_URL!;
    const prefix = testRedisPrefix();
    const node = await bootTestApp({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix });
    const unhandled = recordUnhandledRejections();
    let closing: Promise<void> | undefined;
    try {
      const asker = await askRoomsOverAndOver(url, prefix);
      try {
        await (closing = node.close());
      } finally {
        await asker.stop();
      }
    } finally {
      await unhandled.stop();
      if (!closing) await node.close();
    }
    expect(unhandled.reasons.map(String)).toEqual([]);
  }, 30_000);

  /**
   * The process's cleanups have ten seconds in all (CLEANUP_DEADLINE_MS). With Redis no longer
   * answering, the gateway's hand-off waited its six seconds for the other nodes, then the
   * subscriber's close two for its unsubscribes and the publisher's two more for its publishes:
   * ten, and the deadline ended the process (exit 1) before the database's cleanup (the
   * listener's connection, the pool). The two closes now share one wait.
   */
  (process.env.REDIS_URL ? it : it.skip)('runs every cleanup within the process’s deadline when Redis stops answering as it goes, the database’s last', async () => {
    const app = await bootTestApp();
    const redis = await holdableRedis(process.env.REDIS_URL!);
    let exited: Promise<number | null> | undefined;
    let api: ReturnType<typeof spawn> | undefined;
    try {
      await buildDistOnce();
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      api = spawn(process.execPath, [path.join(__dirname, '../../dist/apps/api/src/main.js')], {
        env: {
          ...process.env, NODE_ENV: 'test', DATABASE_URL: app.db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: testRedisPrefix(), PORT: String(port), HOST: '127.0.0.1',
          LOG_LEVEL: 'info', LOG_REQUESTS: 'false', MIGRATE_ON_START: 'false', WORKER_IN_PROCESS: 'false', POSTING_LIMITS: 'false', TRUST_PROXY: 'loopback',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      api.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      api.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      exited = new Promise((resolve) => api!.once('exit', (code) => resolve(code)));
      while (!out.includes('is listening')) {
        if (api.exitCode !== null) throw new Error(`the API did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // A reader in a topic room, whose presence the node hands over as it goes.
      const writer = await makeUser(app);
      const topic = await createTopic(app, writer.token, await makeBoard(app, (await makeSpace(app, 'PUBLIC')).id));
      const reader = await connectLive(url, sockets, writer.token);
      expect(await reader.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
      // Redis answers nothing from here on: the typing ping's publish, the hand-off, the unsubscribes.
      redis.hold();
      expect(await reader.timeout(5000).emitWithAck('typing', { topicId: topic.id })).toEqual({ ok: true });
      api.kill('SIGTERM');
      expect(await exited).toBe(0);
      const said = out.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);
      // Each step waited for Redis, and gave up, in this order; the process was not cut short.
      const waited = [
        said.findIndex((m) => m.startsWith('some API nodes did not send presence again')),
        said.findIndex((m) => m.startsWith("Redis did not answer the subscriber's last commands")),
        said.findIndex((m) => m.startsWith("Redis did not answer the publisher's last commands")),
      ];
      expect(waited.every((i) => i >= 0)).toBe(true);
      expect([...waited].sort((x, y) => x - y)).toEqual(waited);
      expect(said.filter((m) => /took longer|error while shutting down/.test(m))).toEqual([]);
    } finally {
      if (api && api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
      await exited;
      redis.release();
      await redis.close();
      await app.close();
    }
  }, 120_000);

  /**
   * Socket.IO's close has the adapter unsubscribe, and the node's Redis clients closed once their
   * commands under way were answered: with Redis no longer answering (a network cut that drops
   * packets, a Redis stuck), nothing ever was, and the node's shutdown waited until the process's
   * deadline killed it, its other cleanups (the database's) never run.
   */
  (process.env.REDIS_URL ? it : it.skip)('closes though Redis no longer answers its unsubscribes, leaving no rejection unhandled', async () => {
    // The node's way to Redis, whose answers the test can hold back (no other client of the shared Redis is touched).
    const redis = await holdableRedis(process.env.REDIS_URL!);
    const node = await bootTestApp({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: testRedisPrefix() });
    const unhandled = recordUnhandledRejections();
    try {
      redis.hold();
      await node.close();
    } finally {
      await unhandled.stop();
      redis.release();
      await redis.close();
    }
    expect(unhandled.reasons.map(String)).toEqual([]);
  }, 30_000);
});
