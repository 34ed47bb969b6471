import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { testRedisPrefix } from '../support/redis-clients';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

/**
 * The live gateway's reads for a board's room on a node with REDIS_URL set: its emits reach the
 * readers of every node, so it reads for a board's room whoever listens on it (`mayBeHeard`).
 * A move and an unmerge then cost what they cost on a node without Redis where nobody listens:
 * one read of their topic each. Runs when REDIS_URL is set, like the two-node suite.
 */
const maybe = process.env.REDIS_URL ? describe : describe.skip;

maybe('live board pushes on a node with Redis: one read of the topic per move and per unmerge', () => {
  /** A node with Redis, and one without (where nobody listens on any board). */
  let [redis, alone]: TestApp[] = [];
  beforeAll(async () => {
    redis = await bootTestApp({ REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: testRedisPrefix() });
    alone = await bootTestApp();
  });
  afterAll(async () => {
    await redis?.close();
    await alone?.close();
  });

  /**
   * The gateway's reads of a topic by its id: its first post with it (an arrival), what the board
   * it moved off hears (until 2026-12-07), its idea (`pushIdea`), its settings (`pushTopic`).
   */
  const TOPIC_READS = [/p\.topic_id = \$1 AND p\.number = 1/, /AND t\.board_id <> \$2$/, /FROM ideas i JOIN topics t ON t\.id = i\.topic_id WHERE i\.topic_id = \$1$/, /^SELECT id, board_id, title,[\s\S]* FROM topics WHERE id = \$1$/];
  const reads = (statements: string[]) => statements.filter((q) => TOPIC_READS.some((r) => r.test(q.trim()))).length;

  /** What `change` costs on each node, a fresh admin and author there, in statements and in the gateway's reads of topics. */
  async function onBoth(change: (t: TestApp, admin: TestUser, author: TestUser) => Promise<() => Promise<unknown>>) {
    const costs = [];
    for (const t of [redis, alone]) {
      const run = await change(t, await makeUser(t, { role: 'ADMIN' }), await makeUser(t));
      const { count, statements } = await t.countStatements(run);
      costs.push({ count, reads: reads(statements) });
    }
    return costs;
  }

  it('a move reads its topic once: what the board it left hears (`topic:moved`) from the read of its arrival', async () => {
    const [withRedis, without] = await onBoth(async (t, admin, author) => {
      const space = (await makeSpace(t, 'PUBLIC')).id;
      const [from, to] = [await makeBoard(t, space), await makeBoard(t, space)];
      const topic = await createTopic(t, author.token, from);
      return async () => expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: to } }, { token: admin.token }));
    });
    // Until 2026-12-07 what the board it left hears was read apart, one statement more.
    expect(withRedis).toEqual(without);
    expect(withRedis.reads).toBe(1);
  });

  it('an unmerge reads its idea once: its arrival on its board and its `idea:updated` from one read (and one of the idea it was merged into)', async () => {
    const [withRedis, without] = await onBoth(async (t, admin, author) => {
      const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'IDEAS');
      const [source, target] = [await createTopic(t, author.token, board, { kind: 'IDEA' }), await createTopic(t, author.token, board, { kind: 'IDEA' })];
      expectOk(await t.gql(`mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`, { input: { sourceId: source.id, targetId: target.id } }, { token: admin.token }));
      return async () => expectOk(await t.gql(`mutation($id: ID!) { unmergeIdea(topicId: $id) { id } }`, { id: source.id }, { token: admin.token }));
    });
    // Until 2026-12-07 the idea was read again for its `idea:updated` (`pushIdea`), one statement more.
    expect(withRedis).toEqual(without);
    expect(withRedis.reads).toBe(2);
  });
});
