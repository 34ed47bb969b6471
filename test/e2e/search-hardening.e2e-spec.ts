import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { newId } from '../../libs/core/src/ids';
import { PostgresSearchEngine } from '../../libs/search/src/postgres/postgres.engine';
import { SearchEngine, SearchRequest } from '../../libs/search/src/search-engine';
import { SearchEngines } from '../../libs/search/src/search-engines';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { searchDocument } from '../support/search-contract';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

const SEARCH = `query($q: String!) { search(query: $q) { totalCount edges { node { snippetHtml } } } }`;

/** Text that could break the index or forge its markup, and writes arriving out of order. */
describe('search: text the index must survive', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await bootTestApp({ POSTING_LIMITS: 'false' });
    admin = await makeUser(t, { role: 'ADMIN' });
  });
  afterAll(() => t.close());

  const drain = () => t.get(OutboxWorker).drain();

  it('indexes a body whose cut would split a character in two, and keeps indexing its topic', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const topic = await createTopic(t, admin.token, await makeBoard(t, space.id), { title: 'Surrogate edge', body: 'vexqualtrine' });
    const long = await reply(t, admin.token, topic.id, `${'x'.repeat(99_999)}😀`);
    await drain();
    expect(await t.sql(`SELECT 1 FROM search_documents WHERE id = $1`, [long.id])).toHaveLength(1);
    // A change to the whole topic re-indexes every post of it, the long one included.
    const restricted = await makeBoard(t, (await makeSpace(t, 'RESTRICTED')).id);
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: restricted } }, { token: admin.token }));
    await drain();
    expect(await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE last_error IS NOT NULL`)).toEqual([{ n: 0 }]);
    const customer = await makeUser(t);
    expect(expectOk(await t.gql(SEARCH, { q: 'vexqualtrine' }, { token: customer.token })).search.totalCount).toBe(0);
  });

  it('never lets a post forge highlight markup in its own snippet', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    await createTopic(t, admin.token, await makeBoard(t, space.id), { title: 'Marker edge', body: 'quokkaword \u0001 start \u0002 end \u0001 tail quokkaword' });
    await drain();
    const [hit] = expectOk(await t.gql(SEARCH, { q: 'quokkaword' }, { token: admin.token })).search.edges;
    const snippet: string = hit.node.snippetHtml;
    expect((snippet.match(/<mark>/g) ?? []).length).toBe((snippet.match(/<\/mark>/g) ?? []).length);
    expect(snippet.replace(/<\/?mark>/g, '')).not.toMatch(/[<>]/);
  });

  it('with an external engine, leaves out of its totals the topics its sync has not yet taken out of sight', async () => {
    const engines = t.get(SearchEngines) as unknown as { external: SearchEngine | null };
    const asked: SearchRequest[] = [];
    // A stand-in external engine that answers from what it was sent last (stale), recording what it was asked.
    const external: SearchEngine = {
      name: 'stand-in',
      format: 1,
      prepare: async () => undefined,
      upsert: async () => undefined,
      remove: async () => undefined,
      documentIds: async () => ({ ids: [], next: null }),
      count: async () => 0,
      clear: async () => undefined,
      search: async (req) => {
        asked.push(req);
        return { hits: [], total: 0, facets: null, engine: 'stand-in' };
      },
    };
    engines.external = external;
    try {
      const topic = await createTopic(t, admin.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id), { title: 'Synced later', body: 'zorptangle' });
      await drain();
      await t.sql(`DELETE FROM search_sync_queue`); // the engine took it, public
      const restricted = await makeBoard(t, (await makeSpace(t, 'RESTRICTED')).id);
      expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: restricted } }, { token: admin.token }));
      await drain(); // PostgreSQL knows; the engine's copy waits in the sync queue
      const customer = await makeUser(t);
      expectOk(await t.gql(SEARCH, { q: 'zorptangle' }, { token: customer.token }));
      expect(asked.at(-1)!.filters.excludeTopicIds).toContain(topic.id);
      await t.sql(`DELETE FROM search_sync_queue`); // synced
      expectOk(await t.gql(SEARCH, { q: 'zorptangle' }, { token: customer.token }));
      expect(asked.at(-1)!.filters.excludeTopicIds ?? []).not.toContain(topic.id);
      // A change that moves nobody's sight (a pin) re-queues a topic's posts, a hidden one among
      // them, without leaving the topic out meanwhile.
      const visible = await createTopic(t, admin.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id), { title: 'Pinned later', body: 'glimmerquartz' });
      const hidden = await reply(t, admin.token, visible.id, 'a reply hidden long ago');
      expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: hidden.id, action: 'HIDE' } }, { token: admin.token }));
      await drain();
      await t.sql(`DELETE FROM search_sync_queue`);
      expectOk(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: visible.id, pinned: true } }, { token: admin.token }));
      await drain();
      expect(await t.sql(`SELECT count(*)::int AS n FROM search_sync_queue`)).not.toEqual([{ n: 0 }]);
      expectOk(await t.gql(SEARCH, { q: 'glimmerquartz' }, { token: customer.token }));
      expect(asked.at(-1)!.filters.excludeTopicIds ?? []).not.toContain(visible.id);
      // When the external engine fails, PostgreSQL (up to date) answers without that list.
      const moved = await createTopic(t, admin.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id), { title: 'Fallback', body: 'plonkwhistle' });
      await drain();
      await t.sql(`DELETE FROM search_sync_queue`);
      expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: (await reply(t, admin.token, moved.id, 'plonkwhistle again')).id, action: 'HIDE' } }, { token: admin.token }));
      await drain();
      // The hidden reply's topic is left out for a member, not for a moderator of its space.
      expectOk(await t.gql(SEARCH, { q: 'plonkwhistle' }, { token: customer.token }));
      expect(asked.at(-1)!.filters.excludeTopicIds).toContain(moved.id);
      expectOk(await t.gql(`query($q: String!) { search(query: $q, filter: { includeModerated: true }) { totalCount } }`, { q: 'plonkwhistle' }, { token: admin.token }));
      expect(asked.at(-1)!.filters.excludeTopicIds ?? []).not.toContain(moved.id);
      external.search = async () => {
        throw new Error('engine down');
      };
      expect(expectOk(await t.gql(SEARCH, { q: 'plonkwhistle' }, { token: customer.token })).search.totalCount).toBe(1);
    } finally {
      engines.external = null;
      await t.sql(`DELETE FROM search_sync_queue`);
    }
  });

  it('ignores a last word that is a stop word, as it is typed, rather than requiring its completions', async () => {
    const engine = new PostgresSearchEngine(t.ds);
    const space = newId();
    // Enough documents holding every word that those holding some are not listed after them.
    const themes = Array.from({ length: 120 }, (_, i) => searchDocument({ spaceId: space, title: `Fix theme colours ${i}`, body: 'The palette is off.' }));
    const grinder = searchDocument({ spaceId: space, title: 'How to fix the grinder', body: 'It jams.' });
    await engine.upsert([...themes, grinder]);
    const total = async (query: string) => (await engine.search({ query, filters: { spaceIds: [space] }, limit: 10, offset: 0 })).total;
    expect(await total('fix the ')).toBe(121);
    expect(await total('fix the')).toBe(121); // was 120: "the" required as "theme"
    expect(await total('fix them')).toBe(121);
    expect(await total('fix colo')).toBe(120); // not a stop word: completed, and required
  });

  it('adds no words to the vocabulary from a late, older version of a document hidden since', async () => {
    const engine = new PostgresSearchEngine(t.ds);
    const space = newId();
    const doc = searchDocument({ spaceId: space, title: 'Hidden words', body: 'qwxzorbflint secret', version: 2, state: 'HIDDEN' });
    await engine.upsert([doc]);
    await engine.upsert([{ ...doc, version: 1, state: 'VISIBLE' }]);
    expect(await t.sql(`SELECT term FROM search_terms WHERE space_id = $1 AND term = 'qwxzorbflint'`, [space])).toEqual([]);
  });
});
