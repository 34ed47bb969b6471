import { EventBus } from '../../libs/core/src/events';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
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

  beforeAll(async () => {
    t = await bootTestApp();
    const author = await makeUser(t);
    postId = (await createTopic(t, author.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id))).firstPostId;
    // Each post push waits at the gate before it reads its post (one statement).
    const gateway = t.get(LiveGateway) as unknown as { pushPosts: (...args: unknown[]) => Promise<void> };
    const pushPosts = gateway.pushPosts.bind(gateway);
    jest.spyOn(gateway, 'pushPosts').mockImplementation(async (...args: unknown[]) => {
      await new Promise<void>((resolve) => (open = resolve));
      return pushPosts(...args);
    });
  });
  afterAll(() => t.close());

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
});
