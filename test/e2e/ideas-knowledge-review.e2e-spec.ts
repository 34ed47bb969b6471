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

  describe('ideas: a vote is judged as things stand once it holds the idea’s row', () => {
    const VOTE = `mutation($id: ID!) { voteIdea(topicId: $id) { id idea { voteCount } } }`;
    const UNVOTE = `mutation($id: ID!) { unvoteIdea(topicId: $id) { id idea { voteCount } } }`;
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    /** The idea's votes as rows and as its count. */
    const votesOf = async (id: string) =>
      (await t.sql(`SELECT (SELECT count(*)::int FROM idea_votes WHERE topic_id = $1) AS rows, (SELECT vote_count FROM ideas WHERE topic_id = $1) AS count`, [id]))[0];
    /** `mutation` sent while the idea's row is held (as a merge or a status change holds it), `meanwhile` run once it waits, then the row let go. */
    const whileRowHeld = async (id: string, mutation: () => Promise<GqlResult>, meanwhile: () => Promise<unknown>): Promise<GqlResult> => {
      const qr = await holder();
      await qr.query(`SELECT 1 FROM ideas WHERE topic_id = $1 FOR UPDATE`, [id]);
      const pending = mutation();
      try {
        await waitForLockWaiter();
        await meanwhile();
      } finally {
        await qr.commitTransaction();
        await qr.release();
      }
      return pending;
    };

    it('takes no vote on an idea hidden while the vote waited', async () => {
      const board = await makeBoard(t, space.id, 'IDEAS');
      const id = (await createTopic(t, (await makeUser(t)).token, board, { title: 'Hidden while voting', body: 'x' })).id;
      const [firstPost] = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [id]);
      const voter = await makeUser(t);
      const before = await votesOf(id);
      const res = await whileRowHeld(id, () => t.gql(VOTE, { id }, { token: voter.token }), async () =>
        expectOk(await t.gql(MOD, { input: { postId: firstPost.id, action: 'HIDE' } }, { token: moderator.token })),
      );
      expectError(res, 'NOT_FOUND');
      expect(await votesOf(id)).toEqual(before);
    });

    it('judges the voter’s access as it stands then: a grant revoked, or a silence, while the vote waited', async () => {
      const guest = await makeUser(t);
      const restricted = await makeSpace(t, 'RESTRICTED', [{ userId: guest.id, level: 'PARTICIPATE' }, { userId: moderator.id, level: 'MODERATE' }]);
      const board = await makeBoard(t, restricted.id, 'IDEAS');
      const id = (await createTopic(t, moderator.token, board, { title: 'Only for guests', body: 'x' })).id;
      const before = await votesOf(id);
      const revoked = await whileRowHeld(id, () => t.gql(VOTE, { id }, { token: guest.token }), () =>
        t.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [restricted.id, guest.id]),
      );
      expectError(revoked, 'NOT_FOUND');
      expect(await votesOf(id)).toEqual(before);

      // A member silenced while their withdrawal waited keeps their vote, as a silenced member's withdrawal is refused.
      const open = (await createTopic(t, moderator.token, await makeBoard(t, space.id, 'IDEAS'), { title: 'Silenced while withdrawing', body: 'x' })).id;
      const member = await makeUser(t);
      expectOk(await t.gql(VOTE, { id: open }, { token: member.token }));
      const voted = await votesOf(open);
      const silenced = await whileRowHeld(open, () => t.gql(UNVOTE, { id: open }, { token: member.token }), () =>
        t.sql(`INSERT INTO sanctions (id, user_id, kind, space_id, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', NULL, 'test', now() + interval '1 day')`, [member.id]),
      );
      expect(expectError(silenced, 'FORBIDDEN').message).toMatch(/silenced/);
      expect(await votesOf(open)).toEqual(voted);
    });

    it('judges a status change, a merge or an unmerge as things stand then: the idea deleted, or the moderator or admin demoted, while it waited', async () => {
      const SET_STATUS = `mutation($input: SetIdeaStatusInput!) { setIdeaStatus(input: $input) { id } }`;
      const deputy = await makeUser(t);
      const here = await makeSpace(t, 'PUBLIC', [{ userId: deputy.id, level: 'MODERATE' }, { userId: moderator.id, level: 'MODERATE' }]);
      const board = await makeBoard(t, here.id, 'IDEAS');
      const newIdea = async (title: string) => (await createTopic(t, (await makeUser(t)).token, board, { title, body: 'x' })).id;
      /** What a refused change must leave as it was. */
      const stateOf = async (ids: string[]) =>
        t.sql(`SELECT i.topic_id, i.status, i.merged_into, (SELECT count(*)::int FROM idea_status_changes c WHERE c.topic_id = i.topic_id) AS changes
                 FROM ideas i WHERE i.topic_id = ANY($1::uuid[]) ORDER BY i.topic_id`, [ids]);

      const deleted = await newIdea('Deleted while planned');
      const [firstPost] = await t.sql(`SELECT id FROM posts WHERE topic_id = $1 AND number = 1`, [deleted]);
      const before = await stateOf([deleted]);
      const planned = await whileRowHeld(deleted, () => t.gql(SET_STATUS, { input: { topicId: deleted, status: 'PLANNED' } }, { token: deputy.token }), async () =>
        expectOk(await t.gql(MOD, { input: { postId: firstPost.id, action: 'DELETE' } }, { token: moderator.token })),
      );
      expectError(planned, 'BAD_USER_INPUT');
      expect(await stateOf([deleted])).toEqual(before);

      const demote = () => t.sql(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [here.id, deputy.id]);
      const regrant = () => t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 3)`, [here.id, deputy.id]);
      const [a, b] = [await newIdea('Demoted while planning'), await newIdea('Demoted while merging')];
      const untouched = await stateOf([a, b]);
      expectError(await whileRowHeld(a, () => t.gql(SET_STATUS, { input: { topicId: a, status: 'PLANNED' } }, { token: deputy.token }), demote), 'FORBIDDEN');
      await regrant();
      expectError(await whileRowHeld(a, () => t.gql(MERGE, { input: { sourceId: b, targetId: a } }, { token: deputy.token }), demote), 'FORBIDDEN');
      expect(await stateOf([a, b])).toEqual(untouched);

      // An unmerge by a space admin whose grant was taken back while it waited.
      expectOk(await t.gql(MERGE, { input: { sourceId: b, targetId: a } }, { token: moderator.token }));
      await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 4)`, [here.id, deputy.id]);
      const merged = await stateOf([a, b]);
      expectError(await whileRowHeld(b, () => t.gql(UNMERGE, { id: b }, { token: deputy.token }), demote), 'FORBIDDEN');
      expect(await stateOf([a, b])).toEqual(merged);
    });
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
