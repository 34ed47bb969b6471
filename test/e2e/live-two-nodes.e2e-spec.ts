import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { io, Socket } from 'socket.io-client';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootSecondNode, bootTestApp, expectOk, TestApp } from '../support/test-app';

/**
 * Two API processes on one database and one Redis. Runs when REDIS_URL is set
 * (e.g. REDIS_URL=redis://127.0.0.1:6379 npm test); without Redis a single node
 * needs no extra service and the other live suites cover it.
 */
const maybe = process.env.REDIS_URL ? describe : describe.skip;

maybe('live updates across two API nodes (Redis adapter)', () => {
  let a: TestApp;
  let b: TestApp;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const env = { REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: `parvis-test-${randomBytes(4).toString('hex')}` };
    a = await bootTestApp(env);
    b = await bootSecondNode(a, env);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await b.close();
    await a.close();
  });

  function connect(node: TestApp, token: string): Promise<Socket> {
    const url = `http://127.0.0.1:${(node.http.address() as AddressInfo).port}`;
    return new Promise((resolve, reject) => {
      const s = io(url, { path: '/socket.io', transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
      sockets.push(s);
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
  }
  const next = <T = any>(s: Socket, event: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event}`)), 5000);
      s.once(event, (d: T) => {
        clearTimeout(timer);
        resolve(d);
      });
    });

  it('delivers a post created through node B to a client on node A, and a ban on B disconnects on A', async () => {
    const author = await makeUser(a);
    const watcher = await makeUser(a);
    const board = await makeBoard(a, (await makeSpace(a, 'PUBLIC')).id);
    const topic = await createTopic(a, author.token, board);
    const onA = await connect(a, watcher.token);
    expect(await onA.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });
    const received = next(onA, 'post:created');
    const r = await reply(b, author.token, topic.id, 'through node B');
    expect((await received).post.id).toBe(r.id);

    const revoked = next(onA, 'session:revoked');
    const gone = next(onA, 'disconnect');
    const mod = await makeUser(b, { role: 'MODERATOR' });
    expectOk(await b.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: watcher.id, kind: 'BAN', reason: 'Raid' } }, { token: mod.token }));
    await revoked;
    await gone;
  });
});
