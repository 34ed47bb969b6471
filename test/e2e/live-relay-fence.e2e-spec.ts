import { INestApplicationContext } from '@nestjs/common';
import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { createWorkerContext } from '../../apps/worker/src/worker.module';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { EventBus } from '../../libs/core/src/events';
import { LiveRelayConsumer } from '../../libs/realtime/src/live-relay.consumer';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { connectLive, heardLive } from '../support/live-client';
import { HeldRedis, holdableRedis } from '../support/redis-proxy';
import { testRedisPrefix } from '../support/redis-clients';
import { bootSecondNode, bootTestApp, expectOk, TestApp } from '../support/test-app';

/**
 * An access change committed outside the API (the separate worker, a CLI command) with two API
 * nodes over Redis: it reaches the nodes through the live relay, and one node takes it. Runs
 * when REDIS_URL is set, like the other two-node suites.
 */
const maybe = process.env.REDIS_URL ? describe : describe.skip;

maybe('an access change the worker commits, with two API nodes', () => {
  let a: TestApp;
  let b: TestApp;
  /** Node B's way to Redis, which the test can hold. */
  let bRedis: HeldRedis;
  let worker: INestApplicationContext;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const prefix = testRedisPrefix();
    a = await bootTestApp({ REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: prefix });
    bRedis = await holdableRedis(process.env.REDIS_URL!);
    b = await bootSecondNode(a, { REDIS_URL: bRedis.url, REDIS_KEY_PREFIX: prefix });
    worker = await createWorkerContext(a.config, a.db.url);
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    bRedis?.release();
    await worker?.close();
    await b?.close();
    await bRedis?.close();
    await a?.close();
  });

  it('holds a reply committed through the node that did not take it until its re-check, though that node hears from Redis late: it never reaches the reader who lost access', async () => {
    const admin = await makeUser(a, { role: 'ADMIN' });
    const member = await makeUser(a);
    const space = await makeSpace(a, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    const topic = await createTopic(a, admin.token, await makeBoard(a, space.id));
    // The member, and a reader who keeps access (once they have the reply, it has been pushed), both on node B.
    const bUrl = `http://127.0.0.1:${(b.http.address() as AddressInfo).port}`;
    const reader = await connectLive(bUrl, sockets, member.token);
    const keeper = await connectLive(bUrl, sockets, admin.token);
    for (const s of [reader, keeper]) expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const heard: string[] = [];
    reader.on('post:created', () => heard.push('post:created'));
    reader.on('access:lost', () => heard.push('access:lost'));
    const lost = heardLive(reader, 'access:lost');

    // Node A takes the change: node B's claim waits until node A has published it.
    let aTook!: () => void;
    const taken = new Promise<void>((resolve) => (aTook = resolve));
    const unsubscribe = a.get(EventBus).subscribe((e) => e.type === 'space.access_changed' && (e.payload as { spaceId?: string }).spaceId === space.id && aTook());
    const consumerB = b.get(LiveRelayConsumer);
    const drain = consumerB.drain.bind(consumerB);
    const spy = jest.spyOn(consumerB, 'drain').mockImplementation(async () => {
      await taken;
      return drain();
    });
    // Node B has heard the access change's wake-up once it holds its pushes for the claim answering
    // it. A call of its drain alone does not say so: its boot-time claim, or a wake-up for the
    // worker's other rows, may come late on a loaded machine, after the spy is in place, and the
    // reply then went out before node B heard of the change at all (seen once in a full run).
    const gatewayB = b.get(LiveGateway);
    const hold = gatewayB.holdPushesUntil.bind(gatewayB);
    let bHolds!: () => void;
    const holding = new Promise<void>((resolve) => (bHolds = resolve));
    const holdSpy = jest.spyOn(gatewayB, 'holdPushesUntil').mockImplementation((work, waitMs) => {
      hold(work, waitMs);
      bHolds();
    });
    // Node B hears from Redis late (a busy Redis, a slow link): node A's news of the change comes after the reply.
    bRedis.hold();
    try {
      // The worker revokes the member's grant, as its jobs commit changes (relayed to the API nodes).
      await worker.get(UnitOfWork).run(async (tx) => {
        await tx.query(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [space.id, member.id]);
        await tx.emit({ type: 'space.access_changed', aggregateType: 'space', aggregateId: space.id, payload: { spaceId: space.id } });
      });
      await holding;
      await taken;
      // The reply's own push, by its id: an earlier one of the topic's could still be on its way.
      const pushed = heardLive(keeper, 'post:created');
      const replied = expectOk(await b.gql(`mutation($i: ReplyInput!) { replyToTopic(input: $i) { id } }`, { i: { topicId: topic.id, body: 'secret, through node B' } }, { token: admin.token })).replyToTopic.id;
      bRedis.release();
      expect(await lost.first((e) => e.room === `topic:${topic.id}`, 15_000)).toEqual({ room: `topic:${topic.id}` });
      await pushed.first((e) => e.post?.id === replied, 15_000);
    } finally {
      bRedis.release();
      spy.mockRestore();
      holdSpy.mockRestore();
      unsubscribe();
    }
    expect(heard).toEqual(['access:lost']);
  }, 30_000);
});
