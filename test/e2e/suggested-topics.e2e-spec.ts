import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const SUGGESTED = `query($id: ID!, $first: Int) { topic(id: $id) { id suggestedTopics(first: $first) { id title } } }`;

describe('suggested topics (Topic.suggestedTopics)', () => {
  let t: TestApp;
  let reader: TestUser;
  let other: TestUser;
  let employee: TestUser;
  let boardA: string;
  let boardB: string;
  let current: string;
  const ids: Record<string, string> = {};

  const markRead = async (user: TestUser, topicId: string, postNumber: number) =>
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId, postNumber } }, { token: user.token }));
  const suggested = async (token: string | undefined, id: string, first = 10) =>
    (expectOk(await t.gql(SUGGESTED, { id, first }, { token })).topic.suggestedTopics as Array<{ id: string }>).map((s) => s.id);
  const names = (list: string[]) => list.map((id) => Object.keys(ids).find((k) => ids[k] === id) ?? id);

  beforeAll(async () => {
    t = await bootTestApp();
    reader = await makeUser(t);
    other = await makeUser(t);
    const staff = await makeGroup(t);
    employee = await makeUser(t, { groups: [staff] });
    const space = await makeSpace(t, 'PUBLIC');
    boardA = await makeBoard(t, space.id);
    boardB = await makeBoard(t, space.id);
    const internal = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }])).id);
    const make = async (name: string, board: string, author: TestUser) => (ids[name] = (await createTopic(t, author.token, board, { title: `Topic ${name}` })).id);
    current = await make('current', boardA, other);
    await make('readA', boardA, other); // opened and read to the end
    await make('unreadA', boardA, other); // opened, with a reply since
    await make('newA', boardA, other); // never opened
    await make('mineA', boardA, reader); // the reader's own
    await make('unreadB', boardB, other);
    await make('newB', boardB, other);
    await make('internal', internal, employee);
    for (const name of ['readA', 'unreadA', 'unreadB']) await markRead(reader, ids[name], 1);
    await reply(t, other.token, ids.unreadA, 'Something new here');
    await reply(t, other.token, ids.unreadB, 'Something new there');
    // Distinct activity times, oldest first in this order, so each step's order is known.
    const order = ['current', 'readA', 'mineA', 'newB', 'newA', 'unreadB', 'unreadA', 'internal'];
    for (const [i, name] of order.entries()) {
      await t.sql(`UPDATE topics SET last_activity_at = now() - make_interval(mins => $2), created_at = now() - make_interval(mins => $2) WHERE id = $1`, [ids[name], 100 - i]);
    }
  });
  afterAll(() => t.close());

  it('suggests unread, then new, each from the board first, then the board’s latest: never this topic, nor what the reader may not read', async () => {
    expect(names(await suggested(reader.token, current))).toEqual(['unreadA', 'unreadB', 'newA', 'newB', 'mineA', 'readA']);
    expect(names(await suggested(reader.token, current, 3))).toEqual(['unreadA', 'unreadB', 'newA']);
  });

  it('gives a signed-out reader the latest of the board', async () => {
    expect(names(await suggested(undefined, current))).toEqual(['unreadA', 'newA', 'mineA', 'readA']);
  });

  it('leaves out what the reader muted', async () => {
    const muter = await makeUser(t);
    await markRead(muter, ids.unreadB, 1);
    expectOk(await t.gql(`mutation($input: WatchInput!) { watchTopic(input: $input) { id } }`, { input: { topicId: ids.unreadB, level: 'MUTED' } }, { token: muter.token }));
    expect(names(await suggested(muter.token, current))).not.toContain('unreadB');
    expect(names(await suggested(muter.token, current))).toContain('newB');
  });

  it('runs a step only while the list is short', async () => {
    const one = await t.countStatements(() => suggested(reader.token, current, 1));
    const all = await t.countStatements(() => suggested(reader.token, current, 10));
    const feedSteps = (s: string[]) => s.filter((q) => /FROM topics t/.test(q) && /ORDER BY t\.(last_activity_at|created_at) DESC/.test(q)).length;
    expect(feedSteps(one.statements)).toBe(1);
    expect(feedSteps(all.statements)).toBe(5);
  });

  it('is asked of one topic at a time, within bounds; ideas get none', async () => {
    const list = await t.gql(`query($b: ID!) { board(id: $b) { topics(first: 2) { edges { node { suggestedTopics { id } } } } } }`, { b: boardA }, { token: reader.token });
    expect([...new Set(list.errors?.map((e) => e.extensions?.code))]).toEqual(['BAD_USER_INPUT']);
    for (const first of [0, 11]) expectError(await t.gql(SUGGESTED, { id: current, first }, { token: reader.token }), 'BAD_USER_INPUT');
    const ideas = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id, 'IDEAS');
    const idea = await createTopic(t, other.token, ideas, { title: 'An idea of mine' });
    expect(await suggested(reader.token, idea.id)).toEqual([]);
  });
});
