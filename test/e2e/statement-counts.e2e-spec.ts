import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { EventBus } from '../../libs/core/src/events';
import { LiveRelayConsumer } from '../../libs/realtime/src/live-relay.consumer';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { connectLive, heardLive } from '../support/live-client';
import { bootTestApp, TestApp } from '../support/test-app';

/**
 * The suites' statement counts (`TestApp.countStatements`) hold whatever the live gateway does
 * on its own time to one rule: a push set off before the count is none of it, one set off
 * inside it is all of it, however late either gets round to its statements.
 */
describe('statement counts and live pushes', () => {
  let t: TestApp;
  let postId: string;
  /** Opens the gate the post pushes wait at. */
  let open: () => void = () => undefined;
  /** Opens the gate the presence runs wait at. */
  let openPresence: () => void = () => undefined;
  let reader: TestUser;
  /** Topics whose rooms the presence tests join (made before the gates: their own pushes would wait there). */
  const rooms: string[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    const author = await makeUser(t);
    reader = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    postId = (await createTopic(t, author.token, board)).firstPostId;
    for (let i = 0; i < 2; i++) rooms.push((await createTopic(t, author.token, board)).id);
    await t.get(LiveGateway).settled();
    // Each post push waits at the gate before it reads its post (one statement).
    const gateway = t.get(LiveGateway) as unknown as { pushPosts: (...args: unknown[]) => Promise<void> };
    const pushPosts = gateway.pushPosts.bind(gateway);
    jest.spyOn(gateway, 'pushPosts').mockImplementation(async (...args: unknown[]) => {
      await new Promise<void>((resolve) => (open = resolve));
      return pushPosts(...args);
    });
    // Each presence run waits at its gate before it reads who is in the room (a statement).
    const presence = t.get(LiveGateway) as unknown as { sendPresence: (room: string) => Promise<void> };
    const sendPresence = presence.sendPresence.bind(presence);
    jest.spyOn(presence, 'sendPresence').mockImplementation(async (room: string) => {
      await new Promise<void>((resolve) => (openPresence = resolve));
      return sendPresence(room);
    });
  });
  afterAll(async () => {
    // Closing connections asks for presence: not at a gate any more.
    jest.restoreAllMocks();
    openPresence();
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const edited = () => t.get(EventBus).publish({ type: 'post.updated', aggregateType: 'post', aggregateId: postId, payload: { postId } });
  /** Opens the gate once the push is waiting at it, after whatever runs now. */
  const openSoon = () => setTimeout(() => open(), 50);

  it('leaves out a push set off before the count, however late it reads', async () => {
    edited();
    openSoon();
    const cost = await t.countStatements(async () => undefined);
    expect(cost.statements).toEqual([]);
  });

  it('counts all of a push set off inside the count, however late it reads', async () => {
    const cost = await t.countStatements(async () => {
      edited();
      openSoon();
    });
    expect(cost.statements).toHaveLength(1);
    expect(cost.statements[0]).toMatch(/^SELECT p\.id, p\.topic_id/);
  });

  describe('presence', () => {
    const join = async (s: Socket, topicId: string) => expect(await s.timeout(5000).emitWithAck('topic:join', { topicId })).toEqual({ ok: true });
    const connect = () => connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, reader.token);
    const presenceRead = (statement: string) => /hide_profile/.test(statement);

    it('leaves out the presence run of a join answered before the count, however late it reads', async () => {
      const s = await connect();
      await join(s, rooms[0]);
      // The join is answered; its presence run waits at the gate, and the count waits for it.
      const sent = heardLive(s, 'presence').first((p) => p.topicId === rooms[0]);
      setTimeout(() => openPresence(), 50);
      const cost = await t.countStatements(() => sent);
      expect(cost.statements).toEqual([]);
    });

    it('counts the presence run of a join inside the count, however late it reads', async () => {
      const s = await connect();
      const cost = await t.countStatements(async () => {
        await join(s, rooms[1]);
        setTimeout(() => openPresence(), 50);
      });
      expect(cost.statements.filter(presenceRead)).toHaveLength(1);
    });
  });

  it('leaves out the session sweep, whenever its minute comes round inside a count', async () => {
    // A signed-in connection open, as suites that push to a member keep theirs to the end: the
    // sweep (every SESSION_SWEEP_MS) then reads their sessions, one statement, and a suite slower
    // than a minute saw it land inside a count now and then (a batch of notifications, 15 against 14).
    await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, reader.token);
    // The sweep, run now as its timer runs it rather than a minute from now.
    const cost = await t.countStatements(async () => t.get(LiveGateway).sweepSessions());
    expect(cost.statements).toEqual([]);
  });

  describe('the live relay', () => {
    /** Opens the gate the relay's claims wait at. */
    let openClaim: () => void = () => undefined;
    let relay: LiveRelayConsumer;
    beforeAll(async () => {
      relay = t.get(LiveRelayConsumer);
      // Each claim (three statements, with none waiting: START TRANSACTION, the claim, COMMIT)
      // waits at the gate first.
      const drain = relay.drain.bind(relay);
      jest.spyOn(relay, 'drain').mockImplementation(async () => {
        await new Promise<void>((resolve) => (openClaim = resolve));
        return drain();
      });
    });
    afterAll(() => jest.mocked(relay.drain).mockRestore());
    const claimed = (statements: string[]) => statements.filter((s) => /live_relay|^START TRANSACTION$|^COMMIT$/.test(s));

    // Every node claims once as it starts (and again when its LISTEN connection reconnects), on
    // its own time: a slow start's claim landed inside a suite's first counts.
    it('leaves out a claim set off before the count, however late it reads', async () => {
      void relay.kick();
      setTimeout(() => openClaim(), 50);
      const cost = await t.countStatements(() => relay.idle());
      expect(cost.statements).toEqual([]);
    });

    it('counts all of a claim set off inside the count, however late it reads', async () => {
      const cost = await t.countStatements(async () => {
        void relay.kick();
        setTimeout(() => openClaim(), 50);
      });
      expect(claimed(cost.statements)).toHaveLength(3);
    });
  });

  describe('a count inside a count', () => {
    const fireSweep = () => t.get(LiveGateway).sweepSessions();

    it('counts the inner count’s statements in the outer one too, and keeps the sweep off until the outer one ends', async () => {
      await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, reader.token);
      let inner: { count: number; statements: string[] } | undefined;
      const outer = await t.countStatements(async () => {
        await t.sql(`SELECT 'before the inner count'`);
        inner = await t.countStatements(() => t.sql(`SELECT 'inside the inner count'`));
        // The inner count has ended; the outer one still holds the sweep off.
        fireSweep();
        await t.sql(`SELECT 'after the inner count'`);
      });
      expect(inner).toEqual({ count: 1, statements: [`SELECT 'inside the inner count'`] });
      expect(outer).toEqual({ count: 3, statements: [`SELECT 'before the inner count'`, `SELECT 'inside the inner count'`, `SELECT 'after the inner count'`] });
    });

    it('leaves a test’s own spy on closeExpired as it was: held off by the count without calling it, then called', async () => {
      await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, reader.token);
      const live = t.get(LiveGateway);
      const spy = jest.spyOn(live, 'closeExpired');
      try {
        const cost = await t.countStatements(async () => fireSweep());
        expect(cost.statements).toEqual([]);
        expect(spy).not.toHaveBeenCalled();
        await live.closeExpired();
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
      }
    });
  });
});
