import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const PARTICIPANTS = `query($id: ID!, $first: Int) { topic(id: $id) { participants(first: $first) { user { handle } posts } } }`;

describe('a topic’s participants (Topic.participants)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('lists the most frequent writers of visible posts, most posts first, then the latest to write', async () => {
    const [ann, ben, cat, dan] = await Promise.all([1, 2, 3, 4].map(() => makeUser(t)));
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const topic = await createTopic(t, ann.token, board, { title: 'Who writes here most' });
    await reply(t, ben.token, topic.id, 'Ben, once');
    await reply(t, ann.token, topic.id, 'Ann, again');
    await reply(t, cat.token, topic.id, 'Cat, once, after Ben');
    await reply(t, ben.token, topic.id, 'Ben, twice');
    const hidden = await reply(t, dan.token, topic.id, 'Dan, hidden');
    await reply(t, cat.token, topic.id, 'Cat, twice');
    await setPostState(t, hidden.id, 'HIDDEN');
    const list = async (first?: number) => expectOk(await t.gql(PARTICIPANTS, { id: topic.id, first })).topic.participants;
    // Ann, Ben and Cat wrote two each: Cat wrote last, then Ben, then Ann. Dan's post is hidden.
    expect(await list()).toEqual([
      { user: { handle: cat.handle }, posts: 2 },
      { user: { handle: ben.handle }, posts: 2 },
      { user: { handle: ann.handle }, posts: 2 },
    ]);
    expect(await list(1)).toEqual([{ user: { handle: cat.handle }, posts: 2 }]);
    for (const first of [0, 11]) expectError(await t.gql(PARTICIPANTS, { id: topic.id, first }), 'BAD_USER_INPUT');
  });

  it('reads them for a whole board page in as many statements for eight topics as for two', async () => {
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const writers = await Promise.all([1, 2, 3].map(() => makeUser(t)));
    for (let i = 0; i < 8; i++) {
      const topic = await createTopic(t, writers[i % 3].token, board, { title: `Busy topic ${i}` });
      await reply(t, writers[(i + 1) % 3].token, topic.id, 'A reply');
    }
    const page = `query($b: ID!, $first: Int) { board(id: $b) { topics(first: $first) { edges { node { participants { user { handle } posts } } } } } }`;
    const two = await t.countStatements(() => t.gql(page, { b: board, first: 2 }));
    const eight = await t.countStatements(async () => {
      const res = expectOk(await t.gql(page, { b: board, first: 8 }));
      expect(res.board.topics.edges.every((e: { node: { participants: unknown[] } }) => e.node.participants.length === 2)).toBe(true);
    });
    // One statement for every topic's participants, at most one for those of them the page's authors did not bring.
    for (const run of [two, eight]) {
      expect(run.statements.filter((q) => /AS topic_id, w\.user_id/.test(q))).toHaveLength(1);
      expect(run.statements.filter((q) => /FROM users WHERE id = ANY/.test(q)).length).toBeLessThanOrEqual(1);
    }
    expect(eight.count).toBeLessThanOrEqual(two.count);
  });
});
