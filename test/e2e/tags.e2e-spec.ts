import { newId } from '../../libs/core/src/ids';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, setTopicState } from '../factories/forum';
import { backendPid, doneOrWaiting, waitForLockWaits } from '../support/lock-waits';
import { withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const TAGS = `query($spaceIds: [ID!], $prefix: String, $first: Int) { tags(spaceIds: $spaceIds, prefix: $prefix, first: $first) { name topicCount } }`;

type Counts = Record<string, number>;

describe('tags in use (Query.tags)', () => {
  let t: TestApp;
  let employees: string;
  let customers: string;

  beforeAll(async () => {
    t = await bootTestApp();
    employees = await makeGroup(t, 'employees');
    customers = await makeGroup(t, 'customers');
  });
  afterAll(() => t.close());

  const tags = async (token: string | undefined, vars: { spaceIds?: string[]; prefix?: string; first?: number } = {}) =>
    expectOk(await t.gql(TAGS, vars, { token })).tags as Array<{ name: string; topicCount: number }>;
  const counts = async (token: string | undefined, spaceIds: string[]): Promise<Counts> =>
    Object.fromEntries((await tags(token, { spaceIds, first: 200 })).map((r) => [r.name, r.topicCount]));

  /**
   * What space_tags must hold for these spaces, counted from the topics themselves: topics, not
   * tags, so a tag a topic carries twice counts once (as the triggers count it).
   */
  async function recount(spaceIds: string[]): Promise<Array<{ space_id: string; tag: string; n: number }>> {
    return t.sql(
      `SELECT t.space_id, tag, count(DISTINCT t.id)::int AS n FROM topics t, unnest(t.tags) tag
        WHERE t.space_id = ANY($1::uuid[]) AND t.state = 'VISIBLE' GROUP BY 1, 2 ORDER BY 1, 2`,
      [spaceIds],
    );
  }
  const stored = (spaceIds: string[]) =>
    t.sql(`SELECT space_id, tag, topic_count AS n FROM space_tags WHERE space_id = ANY($1::uuid[]) ORDER BY 1, 2`, [spaceIds]);

  /** Two public spaces with a forum board each. */
  async function twoSpaces() {
    const a = await makeSpace(t, 'PUBLIC');
    const b = await makeSpace(t, 'PUBLIC');
    return { a, b, boardA: await makeBoard(t, a.id), boardB: await makeBoard(t, b.id), spaces: [a.id, b.id] };
  }

  type Row = { id?: string; board: string; tags: string[]; state?: string };
  /** Topics written in one INSERT statement (as an import writes them), in the order given; their ids in that order. */
  async function insertTopics(run: (q: string, p: unknown[]) => Promise<any>, authorId: string, rows: Row[]): Promise<string[]> {
    const inserted: Array<{ id: string }> = await run(
      `INSERT INTO topics (id, board_id, space_id, author_id, kind, title, tags, state)
       SELECT coalesce(x.id, gen_random_uuid()), b.id, b.space_id, $1, 'DISCUSSION', 'Imported topic ' || x.n, x.tags, coalesce(x.state, 'VISIBLE')
         FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, board uuid, tags text[], state text, n int) JOIN boards b ON b.id = x.board
        ORDER BY x.n RETURNING id`,
      [authorId, JSON.stringify(rows.map((r, n) => ({ ...r, n })))],
    );
    return inserted.map((r) => r.id);
  }

  describe('who counts what', () => {
    let author: TestUser;
    let employee: TestUser;
    let customer: TestUser;
    let pub: { id: string };
    let internal: { id: string };

    beforeAll(async () => {
      author = await makeUser(t, { groups: [employees] });
      employee = await makeUser(t, { groups: [employees] });
      customer = await makeUser(t, { groups: [customers] });
      pub = await makeSpace(t, 'PUBLIC');
      internal = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }]);
      const pubBoard = await makeBoard(t, pub.id);
      const internalBoard = await makeBoard(t, internal.id);
      await createTopic(t, author.token, pubBoard, { title: 'Grinding for espresso', tags: ['coffee', 'espresso'] });
      await createTopic(t, author.token, pubBoard, { title: 'Filter or French press', tags: ['coffee'] });
      await createTopic(t, author.token, internalBoard, { title: 'Next season’s blends', tags: ['coffee', 'roadmap-2027'] });
    });

    it('counts visible topics in the spaces each viewer reads, most used first: a customer never learns of an internal tag', async () => {
      const spaces = [pub.id, internal.id];
      expect(await tags(employee.token, { spaceIds: spaces })).toEqual([
        { name: 'coffee', topicCount: 3 },
        { name: 'espresso', topicCount: 1 },
        { name: 'roadmap-2027', topicCount: 1 },
      ]);
      expect(await tags(customer.token, { spaceIds: spaces })).toEqual([
        { name: 'coffee', topicCount: 2 },
        { name: 'espresso', topicCount: 1 },
      ]);
      expect(await counts(undefined, spaces)).toEqual({ coffee: 2, espresso: 1 });
      // Asking for the internal space alone changes nothing for a customer.
      expect(await tags(customer.token, { spaceIds: [internal.id], prefix: 'road' })).toEqual([]);
    });

    it('narrows by prefix (trimmed, lower-cased) and by count', async () => {
      expect((await tags(employee.token, { spaceIds: [pub.id, internal.id], prefix: '  ESP ' })).map((r) => r.name)).toEqual(['espresso']);
      expect((await tags(employee.token, { spaceIds: [pub.id, internal.id], prefix: 'co' })).map((r) => r.name)).toEqual(['coffee']);
      expect(await tags(employee.token, { spaceIds: [pub.id, internal.id], first: 1 })).toEqual([{ name: 'coffee', topicCount: 3 }]);
      // A blank prefix is no prefix.
      expect(await tags(employee.token, { spaceIds: [pub.id, internal.id], prefix: ' ' })).toHaveLength(3);
    });

    it('refuses bad input with BAD_USER_INPUT', async () => {
      for (const vars of [{ prefix: 'co%' }, { prefix: '_' }, { prefix: 'x'.repeat(31) }, { first: 0 }, { first: 201 }, { spaceIds: ['not-an-id'] }]) {
        expectError(await t.gql(TAGS, vars, { token: employee.token }), 'BAD_USER_INPUT');
      }
    });
  });

  it('follows topics as they are tagged, retagged, hidden, held, deleted, restored and moved, through the forum’s own mutations', async () => {
    const mod = await makeUser(t, { role: 'MODERATOR' });
    const author = await makeUser(t);
    const { a, b, boardA, boardB, spaces } = await twoSpaces();
    const one = await createTopic(t, author.token, boardA, { title: 'The first tagged topic', tags: ['alpha', 'beta'] });
    const two = await createTopic(t, author.token, boardA, { title: 'The second tagged topic', tags: ['alpha'] });
    expect(await counts(mod.token, spaces)).toEqual({ alpha: 2, beta: 1 });

    const edit = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    expectOk(await t.gql(edit, { input: { postId: one.firstPostId, body: 'Same words, new tags', tags: ['beta', 'gamma'] } }, { token: author.token }));
    expect(await counts(mod.token, spaces)).toEqual({ alpha: 1, beta: 1, gamma: 1 });

    const moderate = (postId: string, action: string) =>
      t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`, { input: { postId, action, reason: 'Testing tag counts' } }, { token: mod.token });
    expectOk(await moderate(two.firstPostId, 'HIDE'));
    expect(await counts(mod.token, spaces)).toEqual({ beta: 1, gamma: 1 });
    expectOk(await moderate(two.firstPostId, 'UNHIDE'));
    expect(await counts(mod.token, spaces)).toEqual({ alpha: 1, beta: 1, gamma: 1 });

    const move = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`;
    expectOk(await t.gql(move, { input: { topicId: one.id, boardId: boardB } }, { token: mod.token }));
    expect(await counts(mod.token, [a.id])).toEqual({ alpha: 1 });
    expect(await counts(mod.token, [b.id])).toEqual({ beta: 1, gamma: 1 });

    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: one.firstPostId }, { token: author.token }));
    expect(await counts(mod.token, [b.id])).toEqual({});
    expect(await stored([b.id])).toEqual([]);

    await setTopicState(t, two.id, 'PENDING');
    expect(await counts(mod.token, spaces)).toEqual({});
    await setTopicState(t, two.id, 'VISIBLE');
    expect(await stored(spaces)).toEqual(await recount(spaces));
    expect(await counts(mod.token, spaces)).toEqual({ alpha: 1 });
  });

  it('keeps the counts right under concurrent writers touching the same tags in different orders', async () => {
    const a = await makeSpace(t, 'PUBLIC');
    const board = await makeBoard(t, a.id);
    const writers = await Promise.all(Array.from({ length: 4 }, () => makeUser(t, { trustLevel: 3 })));
    const orders = [['one', 'two', 'three'], ['three', 'two', 'one'], ['two', 'three'], ['three', 'one']];
    await Promise.all(writers.map((w, i) => createTopic(t, w.token, board, { title: `Concurrent topic ${i}`, tags: orders[i] })));
    await Promise.all(writers.map((w, i) => createTopic(t, w.token, board, { title: `Concurrent topic again ${i}`, tags: orders[(i + 1) % 4] })));
    expect(await stored([a.id])).toEqual(await recount([a.id]));
    expect(await counts(undefined, [a.id])).toEqual({ one: 6, two: 6, three: 8 });
  });

  it('answers in the same two statements with one tag or fifty, in one space or many', async () => {
    const viewer = await makeUser(t);
    const small = await makeSpace(t, 'PUBLIC');
    const large = [await makeSpace(t, 'PUBLIC'), await makeSpace(t, 'MEMBERS'), await makeSpace(t, 'PUBLIC')];
    await createTopic(t, viewer.token, await makeBoard(t, small.id), { title: 'A single tag here', tags: ['lonely'] });
    for (const s of large) {
      const board = await makeBoard(t, s.id);
      for (let i = 0; i < 10; i++) await createTopic(t, viewer.token, board, { title: `Many tags ${i}`, tags: [1, 2, 3, 4, 5].map((k) => `tag-${i}-${k}`) });
    }
    const one = await t.countStatements(() => tags(viewer.token, { spaceIds: [small.id] }));
    const many = await t.countStatements(async () => expect(await tags(viewer.token, { spaceIds: large.map((s) => s.id), first: 100 })).toHaveLength(50));
    expect(many.count).toBe(one.count);
    expect(one.count).toBe(2);
    expect(many.statements.filter((s) => /space_tags/.test(s))).toHaveLength(1);
  });

  it('counts a multi-row insert and a multi-row delete of topics with overlapping tags exactly', async () => {
    const author = await makeUser(t);
    const { a, b, boardA, boardB, spaces } = await twoSpaces();
    await insertTopics((q, p) => t.sql(q, p), author.id, [{ board: boardA, tags: ['red'] }]);
    const ids = await insertTopics((q, p) => t.sql(q, p), author.id, [
      { board: boardA, tags: ['red', 'green'] },
      { board: boardA, tags: ['green', 'blue'] },
      { board: boardB, tags: ['red'] },
      { board: boardA, tags: ['blue', 'red', 'green'] },
      { board: boardB, tags: ['red', 'green'] },
      { board: boardA, tags: [] },
      { board: boardA, tags: ['red', 'violet'], state: 'PENDING' },
    ]);
    expect(await stored(spaces)).toEqual(await recount(spaces));
    expect(await counts(undefined, [a.id])).toEqual({ red: 3, green: 3, blue: 2 });
    expect(await counts(undefined, [b.id])).toEqual({ red: 2, green: 1 });

    // One DELETE: the first two, a topic of the other space, the untagged and the pending one.
    await t.sql(`DELETE FROM topics WHERE id = ANY($1::uuid[])`, [[ids[0], ids[1], ids[4], ids[5], ids[6]]]);
    expect(await stored(spaces)).toEqual(await recount(spaces));
    expect(await counts(undefined, [a.id])).toEqual({ red: 2, green: 1, blue: 1 });
    expect(await counts(undefined, [b.id])).toEqual({ red: 1 });
    await t.sql(`DELETE FROM topics WHERE space_id = ANY($1::uuid[])`, [spaces]);
    expect(await stored(spaces)).toEqual([]);
  });

  it('counts a tag a topic carries twice once, inserted, retagged, moved and deleted', async () => {
    const author = await makeUser(t);
    const { a, b, boardA, boardB, spaces } = await twoSpaces();
    const [twice, once] = await insertTopics((q, p) => t.sql(q, p), author.id, [
      { board: boardA, tags: ['red', 'red', 'green'] },
      { board: boardA, tags: ['red'] },
    ]);
    expect(await stored(spaces)).toEqual(await recount(spaces));
    expect(await counts(undefined, [a.id])).toEqual({ red: 2, green: 1 });
    await t.sql(`UPDATE topics SET tags = '{green,green,blue,green}' WHERE id = $1`, [twice]);
    expect(await stored(spaces)).toEqual(await recount(spaces));
    expect(await counts(undefined, [a.id])).toEqual({ red: 1, green: 1, blue: 1 });
    await t.sql(`UPDATE topics SET space_id = $2, board_id = $3 WHERE id = $1`, [twice, b.id, boardB]);
    expect(await stored(spaces)).toEqual(await recount(spaces));
    expect(await counts(undefined, [b.id])).toEqual({ green: 1, blue: 1 });
    await t.sql(`DELETE FROM topics WHERE id = ANY($1::uuid[])`, [[twice, once]]);
    expect(await stored(spaces)).toEqual([]);
  });

  it('counts a multi-row update of topics’ tags, states and spaces exactly, and leaves the counters alone when none of those changed', async () => {
    const author = await makeUser(t);
    const { a, b, boardA, boardB, spaces } = await twoSpaces();
    const ids = await insertTopics((q, p) => t.sql(q, p), author.id, [
      { board: boardA, tags: ['red', 'green'] },
      { board: boardA, tags: ['green', 'blue'] },
      { board: boardB, tags: ['red'] },
      { board: boardA, tags: ['blue'], state: 'PENDING' },
      { board: boardA, tags: ['red'] },
    ]);
    // One UPDATE: a retag (red kept), a hide, a move to the other space, a pending one shown, and one untouched.
    await t.sql(
      `UPDATE topics t SET tags = x.tags, state = x.state, space_id = b.space_id, board_id = b.id
         FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, tags text[], state text, board uuid) JOIN boards b ON b.id = x.board WHERE t.id = x.id`,
      [JSON.stringify([
        { id: ids[0], tags: ['red', 'violet'], state: 'VISIBLE', board: boardA },
        { id: ids[1], tags: ['green', 'blue'], state: 'HIDDEN', board: boardA },
        { id: ids[2], tags: ['red'], state: 'VISIBLE', board: boardA },
        { id: ids[3], tags: ['blue', 'amber'], state: 'VISIBLE', board: boardB },
        { id: ids[4], tags: ['red'], state: 'VISIBLE', board: boardA },
      ])],
    );
    expect(await stored(spaces)).toEqual(await recount(spaces));
    expect(await counts(undefined, [a.id])).toEqual({ red: 3, violet: 1 });
    expect(await counts(undefined, [b.id])).toEqual({ blue: 1, amber: 1 });

    // Held counters do not stop an update of other columns, nor one setting tags, state and space to what they were.
    await withLockHeld(t, `SELECT 1 FROM space_tags WHERE space_id = ANY($1::uuid[]) FOR UPDATE`, [spaces], async (h) => {
      const edit = t.sql(`UPDATE topics SET title = title || ' (edited)', tags = tags, state = state, space_id = space_id WHERE id = ANY($1::uuid[])`, [ids]);
      expect(await doneOrWaiting(t, edit, 1, h)).toBe('done');
    });
    expect(await stored(spaces)).toEqual(await recount(spaces));
  });

  type Run = (q: string, p: unknown[]) => Promise<any>;
  /**
   * Two writers whose statements cross: `first` runs in a transaction left open, `second` on
   * another connection until it waits for a lock, then `firstAgain` in the first transaction,
   * which commits. How `firstAgain` and `second` ended ('done' or the error's code).
   */
  async function crossing(first: (run: Run) => Promise<unknown>, second: (run: Run) => Promise<unknown>, firstAgain: (run: Run) => Promise<unknown>) {
    const outcome = (work: Promise<unknown>) => work.then(() => 'done', (e: { code?: string }) => e.code ?? String(e));
    const one = t.ds.createQueryRunner();
    const two = t.ds.createQueryRunner();
    try {
      await one.connect();
      await two.connect();
      await one.startTransaction();
      const runOne: Run = (q, p) => one.query(q, p);
      await first(runOne);
      const secondDone = outcome(second((q, p) => two.query(q, p)));
      await waitForLockWaits(t, 1, await backendPid(one));
      const again = await outcome(firstAgain(runOne));
      await one.commitTransaction();
      return [again, await secondDone];
    } finally {
      if (one.isTransactionActive) await one.rollbackTransaction();
      await one.release();
      await two.release();
    }
  }

  it('lets two multi-row inserts of the same tags in crossing row orders both go through: each statement locks its counters in tag order', async () => {
    const author = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const board = await makeBoard(t, space.id);
    const outcomes = await crossing(
      // The first import's transaction takes the counter of "xylem" and holds it.
      (run) => insertTopics(run, author.id, [{ board, tags: ['xylem'] }, { board, tags: ['xylem', 'amber'] }]),
      // The second writes "yarrow" then "xylem" in one statement, and must wait for the first's "xylem"...
      (run) => insertTopics(run, author.id, [{ board, tags: ['yarrow'] }, { board, tags: ['xylem'] }]),
      // ...then the first writes "yarrow": row by row, the second would hold it while waiting for
      // the first (a deadlock, 40P01); in tag order, the second holds nothing yet.
      (run) => insertTopics(run, author.id, [{ board, tags: ['yarrow'] }]),
    );
    expect(outcomes).toEqual(['done', 'done']);
    expect(await stored([space.id])).toEqual(await recount([space.id]));
    expect(await counts(undefined, [space.id])).toEqual({ amber: 1, xylem: 3, yarrow: 2 });
  });

  // Row by row, the update held "yarrow" while waiting for "xylem" (40P01), as the delete did.
  it.each([
    ['delete', `DELETE FROM topics WHERE id = ANY($1::uuid[])`],
    ['update hiding topics (as a ban does)', `UPDATE topics SET state = 'HIDDEN' WHERE id = ANY($1::uuid[])`],
  ])('lets a multi-row %s go through beside a writer taking its tags in the crossing order', async (_what, removal) => {
    const author = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const board = await makeBoard(t, space.id);
    // Ids in time order, written in that order: the statement meets the "yarrow" topic first, by id or by place.
    const gone = [newId(), newId()];
    await insertTopics((q, p) => t.sql(q, p), author.id, [
      { id: gone[0], board, tags: ['yarrow'] },
      { id: gone[1], board, tags: ['xylem'] },
      { board, tags: ['xylem', 'yarrow'] },
    ]);
    const outcomes = await crossing(
      (run) => insertTopics(run, author.id, [{ board, tags: ['xylem'] }]),
      (run) => run(removal, [gone]),
      (run) => insertTopics(run, author.id, [{ board, tags: ['yarrow'] }]),
    );
    expect(outcomes).toEqual(['done', 'done']);
    expect(await stored([space.id])).toEqual(await recount([space.id]));
    expect(await counts(undefined, [space.id])).toEqual({ xylem: 2, yarrow: 2 });
  });
});
