import { randomBytes } from 'node:crypto';
import { makeSpace, makeUser } from '../factories';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

/**
 * An access change waits for the other API nodes to say they hold their pushes for its re-check,
 * but not for ever: Redis may not answer at all. Runs when REDIS_URL is set, like the two-node suite.
 */
const maybe = process.env.REDIS_URL ? describe : describe.skip;

maybe('an access change while Redis does not answer', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: `parvis-test-${randomBytes(4).toString('hex')}` });
  });
  afterAll(() => t.close());

  it('is answered though the adapter never counts the nodes to ask (Redis unreachable, its command queued)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const space = await makeSpace(t, 'RESTRICTED', [{ userId: member.id, level: 'PARTICIPATE' }]);
    const gateway = t.get(LiveGateway);
    const adapter = gateway.server.of('/').adapter as unknown as { serverCount: () => Promise<number> };
    const serverCount = adapter.serverCount;
    // The count node-redis queues while its connection is down: no answer, no error.
    adapter.serverCount = () => new Promise<number>(() => undefined);
    const wait = gateway.fenceAckWaitMs;
    gateway.fenceAckWaitMs = 200;
    try {
      const r = await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: member.id } }, { token: admin.token });
      expect(expectOk(r).revokeSpaceAccess.id).toBe(space.id);
    } finally {
      adapter.serverCount = serverCount;
      gateway.fenceAckWaitMs = wait;
    }
  }, 20_000);
});
