import { createTopic, reply } from '../factories/forum';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { admin } from '../setup/test-database';
import { bootTestAppOn, expectOk, TestApp } from '../support/test-app';
import { types } from 'pg';
import { PG_TYPES } from '../../libs/core/src/database/timestamps';

/**
 * Cursors carry timestamps in PostgreSQL's text form and pg reads dates from text: both need
 * ISO output, whatever DateStyle and time zone the database gives new sessions.
 */
describe('a database whose sessions default to another DateStyle and time zone', () => {
  let t: TestApp;
  let author: TestUser;
  let boardId: string;
  beforeAll(async () => {
    t = await bootTestAppOn((db) =>
      admin(async (c) => {
        await c.query(`ALTER DATABASE ${c.escapeIdentifier(db.name)} SET datestyle = 'SQL, DMY'`);
        await c.query(`ALTER DATABASE ${c.escapeIdentifier(db.name)} SET timezone = 'America/St_Johns'`);
      }),
    );
    author = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    boardId = await makeBoard(t, space.id);
  });
  afterAll(() => t.close());

  /** Every item of a list, one per page, following the cursors the API hands out. */
  async function pageThrough(query: string, vars: Record<string, unknown>, at: (data: any) => any): Promise<string[]> {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = at(expectOk(await t.gql(query, { ...vars, after }, { token: author.token })));
      seen.push(...page.edges.map((e: any) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    return seen;
  }

  it('pages keyset lists through their own cursors and reads dates right', async () => {
    const started = Date.now();
    const topics = [];
    for (const title of ['First topic', 'Second topic', 'Third topic']) topics.push(await createTopic(t, author.token, boardId, { title }));
    await reply(t, author.token, topics[0].id); // the first topic is now the latest active
    const newest = [topics[2].id, topics[1].id, topics[0].id];

    const BOARD = `query($b: ID!, $sort: TopicSort, $after: String) { board(id: $b) { topics(first: 1, sort: $sort, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { id } } } } }`;
    expect(await pageThrough(BOARD, { b: boardId, sort: 'NEWEST' }, (d) => d.board.topics)).toEqual(newest);
    expect(await pageThrough(BOARD, { b: boardId, sort: 'LATEST_ACTIVITY' }, (d) => d.board.topics)).toEqual([topics[0].id, topics[2].id, topics[1].id]);

    const PROFILE = `query($h: String!, $after: String) { user(handle: $h) { posts(first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } } }`;
    expect(await pageThrough(PROFILE, { h: author.handle }, (d) => d.user.posts)).toHaveLength(4);

    // Dates come back as the instants they are, not misread from another format.
    const { topic } = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { createdAt } }`, { id: topics[2].id }));
    const createdAt = new Date(topic.createdAt).getTime();
    expect(createdAt).toBeGreaterThanOrEqual(started - 1000);
    expect(createdAt).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it("reads timestamptz through the pool's own parser as pg's general one reads the same text", async () => {
    expect((t.ds.options.extra as { types?: unknown }).types).toBe(PG_TYPES);
    const rows: { d: Date | number; s: string }[] = await t.ds.query(
      `SELECT x AS d, x::text AS s FROM unnest(ARRAY[now(), '2026-12-04 19:20:59.559012+00', '2026-12-04 19:20:59+00', '1000-01-01 00:00:00.5+00',
              '9999-12-31 23:59:59.999999+00', '0099-05-01 10:00:00+00', '0001-01-01 00:00:00+00 BC', 'infinity', '-infinity']::timestamptz[]) x`,
    );
    const pgParse = types.getTypeParser(1184, 'text') as (s: string) => Date | number;
    expect(rows.map((r) => r.s)[1]).toBe('2026-12-04 19:20:59.559012+00');
    for (const r of rows) expect([r.s, r.d instanceof Date ? r.d.getTime() : r.d]).toEqual([r.s, ((v) => (v instanceof Date ? v.getTime() : v))(pgParse(r.s))]);
  });
});

/** A transaction left open doing nothing (a bug's await that never settles) must not hold its locks for good. */
describe('a transaction left idle', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestAppOn(async () => undefined, { DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '300' });
  });
  afterAll(() => t.close());

  it('has its session ended by PostgreSQL, its row locks with it, and the pool carries on', async () => {
    const author = await makeUser(t);
    expect(await t.sql(`SHOW idle_in_transaction_session_timeout`)).toEqual([{ idle_in_transaction_session_timeout: '300ms' }]);
    const stuck = t.ds.transaction(async (m) => {
      await m.query(`SELECT id FROM users WHERE id = $1 FOR UPDATE`, [author.id]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await m.query(`SELECT 1`);
    });
    await expect(stuck).rejects.toThrow();
    // The row it locked is free again, and the API answers.
    await t.sql(`UPDATE users SET display_name = display_name WHERE id = $1`, [author.id]);
    expectOk(await t.gql(`{ me { id } }`, {}, { token: author.token }));
  });
});
