import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { testRedisPrefix } from '../support/redis-clients';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';
import { connectLive, heardLive } from '../support/live-client';

/**
 * What an access change asks of the other API nodes (hold your pushes, re-check) is waited for,
 * but not for ever: Redis may not answer at all. Runs when REDIS_URL is set, like the two-node suite.
 */
const maybe = process.env.REDIS_URL ? describe : describe.skip;

maybe('access changes while Redis does not answer', () => {
  let t: TestApp;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    t = await bootTestApp({ REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: testRedisPrefix() });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  /** The adapter's count of the nodes never answers (node-redis queues it while its connection is down) during `work`. */
  async function redisSilent(work: () => Promise<void>): Promise<void> {
    const gateway = t.get(LiveGateway);
    const adapter = gateway.server.of('/').adapter as unknown as { serverCount: () => Promise<number> };
    const serverCount = adapter.serverCount;
    adapter.serverCount = () => new Promise<number>(() => undefined);
    const wait = gateway.nodesAnswerWaitMs;
    gateway.nodesAnswerWaitMs = 200;
    try {
      await work();
    } finally {
      adapter.serverCount = serverCount;
      gateway.nodesAnswerWaitMs = wait;
    }
  }

  it('answers a revocation though the other nodes are never asked to hold their pushes', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const space = await makeSpace(t, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    await redisSilent(async () => {
      const r = await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: member.id } }, { token: admin.token });
      expect(expectOk(r).revokeSpaceAccess.id).toBe(space.id);
    });
  }, 20_000);

  it('announces a moved topic on its old board after the re-check it asked the other nodes for, though they never answer', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const reader = await makeUser(t);
    const from = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const to = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const topic = await createTopic(t, admin.token, from);
    const socket = await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, reader.token);
    expect(await socket.timeout(5000).emitWithAck('board:join', { boardId: from })).toEqual({ ok: true });
    await redisSilent(async () => {
      const moved = heardLive(socket, 'topic:moved');
      expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: to } }, { token: admin.token }));
      expect(await moved.first((e) => e.topicId === topic.id, 10_000)).toEqual({ topicId: topic.id, version: expect.any(Number) });
    });
  }, 20_000);
});
