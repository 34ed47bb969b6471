import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { LIVE_RELAY_CHANNEL } from '../../libs/core/src/database/live-relay';
import { ChannelListener, PgListener } from '../../libs/core/src/database/pg-listener';
import { DomainEvent, EventBus } from '../../libs/core/src/events';
import { newId } from '../../libs/core/src/ids';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { NOTIFY_CHANNEL } from '../../libs/notifications/src/notifications';
import { LiveRelayConsumer } from '../../libs/realtime/src/live-relay.consumer';
import { makeUser } from '../factories';
import { connectLive, heardLive } from '../support/live-client';
import { bootTestApp, TestApp } from '../support/test-app';
import { recordUnhandledRejections } from '../support/unhandled-rejections';

describe('PgListener', () => {
  let t: TestApp;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const until = async (check: () => boolean | Promise<boolean>, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return check();
  };

  /** A channel's owner that keeps what it hears. */
  const owner = () => {
    const heard = { messages: [] as string[], reconnects: 0 };
    const listener: ChannelListener = { message: (p) => heard.messages.push(p ?? ''), reconnected: () => heard.reconnects++ };
    return { heard, listener };
  };

  it('serves several channels on one connection, and listens on each again after it is killed, telling each', async () => {
    const listener = new PgListener(t.db.url);
    const one = owner();
    const two = owner();
    try {
      expect(await listener.listen('parvis_test_one', one.listener)).toBe(true);
      const pid = listener.pid;
      expect(await listener.listen('parvis_test_two', two.listener)).toBe(true);
      expect(listener.pid).toBe(pid);
      await t.sql(`SELECT pg_notify('parvis_test_one', 'a'), pg_notify('parvis_test_two', 'b')`);
      expect(await until(() => one.heard.messages.includes('a') && two.heard.messages.includes('b'))).toBe(true);
      expect(one.heard.messages).toEqual(['a']);
      expect(two.heard.messages).toEqual(['b']);

      await t.sql(`SELECT pg_terminate_backend($1)`, [pid]);
      expect(await until(() => one.heard.reconnects === 1 && two.heard.reconnects === 1 && listener.pid !== undefined && listener.pid !== pid)).toBe(true);
      await t.sql(`SELECT pg_notify('parvis_test_one', 'c'), pg_notify('parvis_test_two', 'd')`);
      expect(await until(() => one.heard.messages.includes('c') && two.heard.messages.includes('d'))).toBe(true);

      // A channel given up is no longer heard; the others are.
      await listener.unlisten('parvis_test_one', one.listener);
      await t.sql(`SELECT pg_notify('parvis_test_one', 'e'), pg_notify('parvis_test_two', 'f')`);
      expect(await until(() => two.heard.messages.includes('f'))).toBe(true);
      expect(one.heard.messages).toEqual(['a', 'c']);
    } finally {
      await listener.stop();
    }
    expect(listener.pid).toBeUndefined();
  });

  it('tells every owner of its reconnection though one of them fails, leaving no unhandled rejection', async () => {
    const listener = new PgListener(t.db.url);
    const failing: ChannelListener = {
      message: () => undefined,
      reconnected: () => {
        throw new Error('an owner that fails to catch up');
      },
    };
    const after = owner();
    const rejections = recordUnhandledRejections();
    try {
      expect(await listener.listen('parvis_test_one', failing)).toBe(true);
      expect(await listener.listen('parvis_test_two', after.listener)).toBe(true);
      const pid = listener.pid;
      await t.sql(`SELECT pg_terminate_backend($1)`, [pid]);
      expect(await until(() => after.heard.reconnects === 1 && listener.pid !== undefined && listener.pid !== pid)).toBe(true);
    } finally {
      await listener.stop();
      await rejections.stop();
    }
    expect(rejections.reasons).toEqual([]);
  });

  describe('on an API node', () => {
    /** The node's connections that LISTEN (their last statement a LISTEN). */
    const listening = async () => (await t.sql<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ~ '^LISTEN '`)).map((r) => r.pid);
    const relayed: DomainEvent[] = [];
    // Relay probes: of a type the live gateway acts on (the relay carries no other), about no idea, so pushed nowhere.
    beforeAll(() => t.get(EventBus).subscribe((e) => void (e.type === 'idea.voted' && e.aggregateType === 'test' && relayed.push(e))));

    /** Notifications reach a socket on the node (a read mark, as `markRead` sends it), and the live relay's rows reach its bus. */
    async function bothChannelsWork(s: Socket, userId: string, missed?: string) {
      // Marked read under an id of this call's own, so an earlier call's push is not taken for this one's.
      const read = heardLive<{ ids: string[] }>(s, 'notifications:read');
      const mark = newId();
      await t.sql(`SELECT pg_notify($1, $2)`, [NOTIFY_CHANNEL, JSON.stringify({ userId, read: [mark] })]);
      expect(await read.first((e) => e.ids?.includes(mark))).toEqual({ ids: [mark] });
      const id = newId();
      await t.sql(`WITH r AS (INSERT INTO live_relay (event) VALUES ($1)) SELECT pg_notify($2, '')`, [{ type: 'idea.voted', aggregateType: 'test', aggregateId: id, payload: { topicId: id } }, LIVE_RELAY_CHANNEL]);
      expect(await until(() => relayed.some((e) => e.aggregateId === id))).toBe(true);
      await t.get(LiveRelayConsumer).idle();
      expect(relayed.map((e) => e.aggregateId)).toEqual([...(missed ? [missed] : []), id]);
      relayed.length = 0;
    }

    it('holds one LISTEN connection for its notifications, its live relay and its outbox worker, and both channels work after it is killed', async () => {
      const user = await makeUser(t);
      const s = await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, user.token);
      const worker = t.get(OutboxWorker);
      await worker.start({ listen: true });
      try {
        const [pid] = await listening();
        expect(await listening()).toEqual([t.get(PgListener).pid]);
        await bothChannelsWork(s, user.id);

        await t.sql(`SELECT pg_terminate_backend($1)`, [pid]);
        // Written while nothing listens: no wake-up reaches the node, which claims it once it listens again.
        const missed = newId();
        await t.sql(`INSERT INTO live_relay (event) VALUES ($1)`, [{ type: 'idea.voted', aggregateType: 'test', aggregateId: missed, payload: { topicId: missed } }]);
        expect(await until(async () => (await listening()).length === 1 && !(await listening()).includes(pid))).toBe(true);
        expect(await listening()).toEqual([t.get(PgListener).pid]);
        expect(await until(() => relayed.length === 1)).toBe(true);
        await bothChannelsWork(s, user.id, missed);
      } finally {
        await worker.stop();
      }
    });
  });
});
