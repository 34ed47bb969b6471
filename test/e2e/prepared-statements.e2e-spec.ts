import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../libs/core/src/database/data-source';
import { prepared, preparedName } from '../../libs/core/src/database/prepared-statements';
import { speculating } from '../../libs/core/src/graphql/speculation';
import { createTopic } from '../factories/forum';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';
import { createTestDatabase } from '../setup/test-database';

const PAGE = `query($id: ID!) { topic(id: $id) { id posts(first: 50) { edges { node { id author { handle } myReactions } } } } }`;

/**
 * With one connection in the pool, `t.sql` runs on the same PostgreSQL session as the
 * API's own queries, so pg_prepared_statements shows what that session prepared.
 */
const namedStatements = async (t: TestApp): Promise<string[]> =>
  (await t.sql<{ name: string }>(`SELECT name FROM pg_prepared_statements ORDER BY name`)).map((r) => r.name);

async function readTopicPage(t: TestApp): Promise<void> {
  const user = await makeUser(t);
  const space = await makeSpace(t, 'PUBLIC');
  const boardId = await makeBoard(t, space.id);
  const topic = await createTopic(t, user.token, boardId);
  for (let i = 0; i < 3; i++) {
    const page = expectOk(await t.gql(PAGE, { id: topic.id }, { token: user.token }));
    expect(page.topic.posts.edges[0].node.author.handle).toBe(user.handle);
  }
}

describe('prepared statements for the hottest reads', () => {
  describe('by default', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await bootTestApp({ DB_POOL_SIZE: '1' });
    });
    afterAll(() => t.close());

    it('prepares the session look-up and the topic page once per connection, and only those registered', async () => {
      await readTopicPage(t);
      const names = await namedStatements(t);
      expect(names).toEqual(expect.arrayContaining(['parvis.sessions.viewer', 'parvis.topics.by_id', 'parvis.posts.topic_page']));
      // Every named statement is a registered one: ad-hoc texts stay unnamed.
      expect(names.every((n) => n.startsWith('parvis.'))).toBe(true);
      const before = names.length;
      await readTopicPage(t);
      expect((await namedStatements(t)).length).toBe(before);
    });

    it('plans the topic page’s statements once per connection: they settle on generic plans', async () => {
      // PostgreSQL plans a prepared statement afresh (a custom plan) for its first five runs,
      // then keeps a generic plan unless it costs more than the custom ones did; a text
      // whose generic plan always costs more is planned again at every run, prepared or not.
      const user = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC');
      const topic = await createTopic(t, user.token, await makeBoard(t, space.id));
      for (let i = 0; i < 8; i++) expectOk(await t.gql(PAGE, { id: topic.id }, { token: user.token }));
      const names = ['parvis.posts.topic_page', 'parvis.sessions.viewer', 'parvis.topics.by_id'];
      const plans = await t.sql<{ name: string; generic: boolean }>(
        `SELECT name, generic_plans > 0 AS generic FROM pg_prepared_statements WHERE name = ANY($1) ORDER BY name`,
        [names],
      );
      expect(plans).toEqual(names.map((name) => ({ name, generic: true })));
    });
  });

  describe('with DB_PREPARED_STATEMENTS=false (behind a pooler in transaction mode)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await bootTestApp({ DB_POOL_SIZE: '1', DB_PREPARED_STATEMENTS: 'false' });
    });
    afterAll(() => t.close());

    it('runs the same texts as plain queries', async () => {
      await readTopicPage(t);
      expect(await namedStatements(t)).toEqual([]);
    });
  });

  it('prepares and guards writes as the pool’s options say, each with or without the other (GRAPHQL_JIT on or off)', async () => {
    const text = prepared('test.client_options', `SELECT 1 AS "set"`); // a read the write guard's word match refuses
    // A database of the run's own: DATABASE_URL is unset on the embedded PostgreSQL (CI's case).
    const db = await createTestDatabase();
    try {
      for (const preparedStatements of [true, false]) {
        for (const guardSpeculativeWrites of [true, false]) {
          await expectClientOptions(db.url, text, preparedStatements, guardSpeculativeWrites);
        }
      }
    } finally {
      await db.drop();
    }
  });

  it('keeps one name per text and one text per name', () => {
    const sql = `SELECT 1 AS registry_test`;
    expect(prepared('test.registry', sql)).toBe(sql);
    expect(prepared('test.registry', sql)).toBe(sql);
    expect(preparedName(sql)).toBe('test.registry');
    expect(() => prepared('test.other_name', sql)).toThrow(/registered as "test.registry"/);
    expect(() => prepared('test.registry', `SELECT 2`)).toThrow(/registered twice/);
    expect(() => prepared('Bad Name', `SELECT 3`)).toThrow(/identifier/);
  });
});

/** A one-connection pool made with these options prepares `text` (or not) and refuses it while speculating (or not). */
async function expectClientOptions(url: string, text: string, preparedStatements: boolean, guardSpeculativeWrites: boolean): Promise<void> {
  const ds = new DataSource(dataSourceOptions({ url, poolSize: 1, preparedStatements, guardSpeculativeWrites }));
  await ds.initialize();
  try {
    expect(await ds.query(text)).toEqual([{ set: 1 }]);
    const names = (await ds.query(`SELECT name FROM pg_prepared_statements`)).map((r: { name: string }) => r.name);
    expect([preparedStatements, guardSpeculativeWrites, names]).toEqual([preparedStatements, guardSpeculativeWrites, preparedStatements ? ['parvis.test.client_options'] : []]);
    const speculative = speculating.run({}, () => ds.query(text));
    if (guardSpeculativeWrites) await expect(speculative).rejects.toThrow(/may write/);
    else expect(await speculative).toEqual([{ set: 1 }]);
  } finally {
    await ds.destroy();
  }
}
