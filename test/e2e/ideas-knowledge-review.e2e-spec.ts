import { QueryRunner } from 'typeorm';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { kb, publishedArticle } from '../factories/knowledge';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

const MERGE = `mutation($input: MergeIdeaInput!) { mergeIdea(input: $input) { id } }`;
const UNMERGE = `mutation($id: ID!) { unmergeIdea(topicId: $id) { id idea { status mergedInto { id } } } }`;

describe('ideas and knowledge: locks found in review', () => {
  let t: TestApp;
  let moderator: TestUser;
  let admin: TestUser;
  let space: { id: string };

  /** A connection of the test's own, holding row locks as a racing request would. */
  const holder = async (): Promise<QueryRunner> => {
    const qr = t.ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    await qr.query(`SET LOCAL lock_timeout = '10s'`);
    return qr;
  };
  /** Waits until some statement waits for a lock (the request under test has reached its lock). */
  const waitForLockWaiter = async () => {
    for (let i = 0; i < 200; i++) {
      const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`);
      if (n > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('nothing waited for a lock');
  };

  beforeAll(async () => {
    t = await bootTestApp();
    moderator = await makeUser(t);
    admin = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }, { userId: admin.id, level: 'ADMIN' }]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('ideas: an unmerge takes both rows in id order, like merges, so it cannot deadlock with one', async () => {
    const board = await makeBoard(t, space.id, 'IDEAS');
    const author = await makeUser(t);
    // Ids are time-ordered: the target sorts before the source.
    const target = (await createTopic(t, author.token, board, { title: 'Lock order target', body: 'x' })).id;
    const source = (await createTopic(t, author.token, board, { title: 'Lock order source', body: 'x' })).id;
    expectOk(await t.gql(MERGE, { input: { sourceId: source, targetId: target } }, { token: moderator.token }));

    // A merge of the pair holds the target's row and is about to lock the source's (as mergeIdea does, in id order).
    const qr = await holder();
    await qr.query(`SELECT 1 FROM ideas WHERE topic_id = $1 FOR UPDATE`, [target]);
    const unmerge = t.gql(UNMERGE, { id: source }, { token: admin.token });
    await waitForLockWaiter();
    let second: unknown = null;
    try {
      await qr.query(`SELECT 1 FROM ideas WHERE topic_id = $1 FOR UPDATE`, [source]);
    } catch (e) {
      second = e;
    } finally {
      await qr.commitTransaction().catch(() => qr.rollbackTransaction());
      await qr.release();
    }
    const res: GqlResult = await unmerge;
    expect({ second, errors: res.errors ?? null }).toEqual({ second: null, errors: null });
    expect(res.data!.unmergeIdea.idea).toEqual({ status: 'NEW', mergedInto: null });
  });

  it('knowledge: an article archived while a rating waited for its row takes no rating', async () => {
    const board = await makeBoard(t, space.id, 'KNOWLEDGE');
    const author = await makeUser(t);
    const reader = await makeUser(t);
    const id = await publishedArticle(t, author.token, moderator.token, board);

    const qr = await holder();
    await qr.query(`SELECT 1 FROM articles WHERE topic_id = $1 FOR UPDATE`, [id]);
    const rating = kb(t).rate(reader.token, { topicId: id, helpful: true });
    await waitForLockWaiter();
    await qr.query(`UPDATE articles SET state = 'ARCHIVED' WHERE topic_id = $1`, [id]);
    await qr.commitTransaction();
    await qr.release();

    expect(expectError(await rating, 'BAD_USER_INPUT').extensions.fields![0].message).toMatch(/archived/);
    const [row] = await t.sql(`SELECT helpful_yes, (SELECT count(*)::int FROM article_ratings WHERE topic_id = $1) AS ratings FROM articles WHERE topic_id = $1`, [id]);
    expect(row).toEqual({ helpful_yes: 0, ratings: 0 });
  });
});
