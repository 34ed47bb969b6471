import { DataSource } from 'typeorm';
import { AppConfig } from '../../libs/core/src/config/config';
import { newId } from '../../libs/core/src/ids';
import { JobScheduler } from '../../libs/core/src/jobs';
import { OutboxEvent, OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { RateLimiter } from '../../libs/core/src/rate-limit';
import { MeiliSearchEngine } from '../../libs/search/src/meili/meili.engine';
import { POSTGRES_INDEX_FORMAT, PostgresSearchEngine } from '../../libs/search/src/postgres/postgres.engine';
import { SearchEngine } from '../../libs/search/src/search-engine';
import { SearchAdmin } from '../../libs/search/src/search-admin';
import { SearchDocuments } from '../../libs/search/src/search-documents';
import { SearchEngines } from '../../libs/search/src/search-engines';
import { SearchIndexer } from '../../libs/search/src/search-indexer';
import { SearchSync } from '../../libs/search/src/search-sync';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootSecondNode, bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const SEARCH = `query($q: String!, $f: SearchFilter, $first: Int, $after: String, $sort: SearchSort) {
  search(query: $q, filter: $f, first: $first, after: $after, sort: $sort) {
    totalCount totalCountIsEstimate engine
    pageInfo { hasNextPage endCursor }
    facets { kinds { value count } spaces { value count } tags { value count } }
    edges { cursor node { kind title snippetHtml score topic { id title } post { id number } } }
  }
}`;

describe('search', () => {
  let t: TestApp;
  let employees: string;
  let employee: TestUser;
  let customer: TestUser;
  let moderator: TestUser;
  let publicSpace: { id: string };
  let internalSpace: { id: string };
  let publicBoard: string;
  let internalBoard: string;

  // Indexed, then the lexeme counts folded in, as the worker's job search-lexeme-counts does within seconds.
  const drain = async () => {
    await t.get(OutboxWorker).drain();
    await t.get(SearchEngines).postgres.foldCounts();
  };
  const search = async (q: string, user?: TestUser, extra: Record<string, unknown> = {}) =>
    expectOk(await t.gql(SEARCH, { q, ...extra }, { token: user?.token })).search;
  const topicIds = async (q: string, user?: TestUser, extra: Record<string, unknown> = {}) =>
    [...new Set((await search(q, user, extra)).edges.map((e: any) => e.node.topic.id))];

  beforeAll(async () => {
    t = await bootTestApp();
    employees = await makeGroup(t);
    employee = await makeUser(t, { groups: [employees] });
    customer = await makeUser(t);
    moderator = await makeUser(t);
    publicSpace = await makeSpace(t, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
    internalSpace = await makeSpace(t, 'RESTRICTED', [{ groupId: employees, level: 'PARTICIPATE' }]);
    publicBoard = await makeBoard(t, publicSpace.id);
    internalBoard = await makeBoard(t, internalSpace.id);
  });
  afterAll(() => t.close());

  it('indexes new topics and replies through the outbox and finds them with highlights', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Descaling the espresso machine', body: 'How often should I descale it?', kind: 'QUESTION', tags: ['espresso'] });
    const answer = await reply(t, employee.token, topic.id, 'Descale every month with **citric acid** <script>alert(1)</script>');
    expect(await topicIds('citric')).toEqual([]); // not indexed until the outbox runs
    await drain();
    const res = await search('citric acid', customer);
    expect(res.engine).toBe('postgres');
    expect([res.totalCount, res.totalCountIsEstimate]).toEqual([1, false]);
    const hit = res.edges[0].node;
    expect(hit).toMatchObject({ kind: 'QUESTION', title: 'Descaling the espresso machine', topic: { id: topic.id }, post: { id: answer.id, number: 2 } });
    expect(hit.snippetHtml).toContain('<mark>citric</mark> <mark>acid</mark>');
    expect(hit.snippetHtml).not.toContain('<script');
    // Anonymous readers search public spaces too.
    expect(await topicIds('descaling')).toEqual([topic.id]);
  });

  it("escapes every snippet but for its own <mark>s, whatever marks or markup a post's text holds", async () => {
    // In a space of its own that only its writer reads, so that the other tests' searches never meet these posts.
    const writer = await makeUser(t);
    const own = await makeSpace(t, 'RESTRICTED', [{ userId: writer.id, level: 'PARTICIPATE' }]);
    const topic = await createTopic(t, writer.token, await makeBoard(t, own.id), { title: 'Quokkalicious <mark>forged</mark> title', body: 'Quokkalicious starts here.' });
    const bodies = [
      'A <mark>forged</mark> mark around quokkalicious',
      'In code `<mark>forged</mark>` then quokkalicious',
      'As entities &lt;mark&gt;forged&lt;/mark&gt; then quokkalicious',
      'Escaped twice &amp;lt;mark&amp;gt;forged&amp;lt;/mark&amp;gt; then quokkalicious',
      'Script <script>alert(1)</script> and <img src=x onerror=alert(1)> then quokkalicious',
      // The engine's own highlight markers (SNIPPET_MARK) and cut, typed into a post.
      'Markers \u0001forged\u0002 and \u0007 cut then quokkalicious',
    ];
    for (const body of bodies) await reply(t, writer.token, topic.id, body);
    await drain();
    const res = await search('quokkalicious', writer, { first: 20 });
    expect(res.totalCount).toBe(bodies.length + 1);
    const snippets: string[] = res.edges.map((e: any) => e.node.snippetHtml);
    for (const snippet of snippets) {
      // Only ours: each <mark> wraps the word searched, and nothing else in the snippet is a tag.
      expect([...snippet.matchAll(/<mark>(.*?)<\/mark>/g)].map((m) => m[1].toLowerCase())).toEqual(['quokkalicious']);
      expect(snippet.replace(/<mark>quokkalicious<\/mark>/i, '')).not.toMatch(/[<>\u0001\u0002\u0007]/);
    }
    const shown = snippets.join('\n');
    expect(shown).toContain('&lt;mark&gt;forged&lt;/mark&gt;');
    expect(shown).toContain('&amp;lt;mark&amp;gt;forged&amp;lt;/mark&amp;gt;');
    expect(shown).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // A title is text (shown escaped by clients), never HTML the server made.
    expect(res.edges[0].node.title).toBe('Quokkalicious <mark>forged</mark> title');
  });

  it('never shows a customer an internal topic, by hit, count or facet', async () => {
    const internal = await createTopic(t, employee.token, internalBoard, { title: 'Confidential pricing for the grinder launch', body: 'Margins on the grinder', tags: ['pricing'] });
    const outside = await createTopic(t, customer.token, publicBoard, { title: 'Grinder noise', body: 'My grinder is loud', tags: ['grinders'] });
    await drain();
    const asCustomer = await search('grinder', customer);
    expect(asCustomer.edges.map((e: any) => e.node.topic.id)).toEqual([outside.id]);
    expect(asCustomer.totalCount).toBe(1);
    expect(asCustomer.facets.spaces).toEqual([{ value: publicSpace.id, count: 1 }]);
    expect(asCustomer.facets.tags.map((x: any) => x.value)).not.toContain('pricing');
    // Asking for the internal space by id changes nothing.
    expect((await search('confidential', customer, { f: { spaceIds: [internalSpace.id] } })).totalCount).toBe(0);
    expect(await topicIds('confidential')).toEqual([]);
    const asEmployee = await search('grinder', employee);
    expect(asEmployee.totalCount).toBe(2);
    expect(asEmployee.facets.spaces).toEqual(expect.arrayContaining([{ value: internalSpace.id, count: 1 }, { value: publicSpace.id, count: 1 }]));
    expect(await topicIds('confidential', employee)).toEqual([internal.id]);
  });

  it('counts nothing of a topic moved or hidden out of sight while the index still holds it as it was', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Zanzibarquux merger plans', body: 'Before the announcement', tags: ['projectfalcon'] });
    const r = await reply(t, customer.token, topic.id, 'The quuxfalcon figures are attached.');
    await drain();
    expect((await search('zanzibarquux', customer)).totalCount).toBe(2); // the reply carries the title
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: internalBoard } }, { token: admin.token }));
    // Not indexed again yet: neither the hit, nor the count, nor a facet tells the customer it exists.
    for (const viewer of [customer, undefined]) {
      const moved = await search('zanzibarquux', viewer);
      expect([moved.totalCount, moved.edges, moved.facets]).toEqual([0, [], { kinds: [], spaces: [], tags: [] }]);
    }
    await drain();
    expect((await search('zanzibarquux', customer)).totalCount).toBe(0);
    expect((await search('zanzibarquux', employee)).totalCount).toBe(2);
    // A reply hidden by a moderator, likewise.
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: publicBoard } }, { token: admin.token }));
    await drain();
    expect((await search('quuxfalcon', customer)).totalCount).toBe(1);
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: r.id, action: 'HIDE', reason: 'leak' } }, { token: admin.token }));
    expect((await search('quuxfalcon', customer)).totalCount).toBe(0);
    await drain();
    expect((await search('quuxfalcon', customer)).totalCount).toBe(0);
    expect((await search('zanzibarquux', customer)).totalCount).toBe(1);
    // A parked audience event (it failed too often; it waits for outbox:retry) hides nothing.
    await t.sql(
      `INSERT INTO outbox (type, aggregate_type, aggregate_id, version, payload, available_at, attempts)
       VALUES ('topic.moved', 'topic', $1::uuid, 99, jsonb_build_object('topicId', $1::text), 'infinity', 20)`,
      [topic.id],
    );
    expect((await search('zanzibarquux', customer)).totalCount).toBe(1);
    await t.sql(`DELETE FROM outbox WHERE aggregate_id = $1::uuid AND available_at = 'infinity'`, [topic.id]);
  });

  it('asks for the topics in flux down their own partial index, however long the outbox backlog', async () => {
    const { statements } = await t.countStatements(() => search('anything at all', customer));
    const inFlux = statements.find((sql) => /FROM outbox/.test(sql))!;
    expect(inFlux).toBeDefined();
    const runner = t.ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(`SET LOCAL enable_seqscan = off`);
      const plan = (await runner.query(`EXPLAIN ${inFlux}`)).map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('outbox_pending_audience_idx');
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });

  it('follows edits, hides, deletions and restores; moderators find hidden posts only when they ask', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Kettle temperature', body: 'Which temperature for green tea?' });
    const r = await reply(t, employee.token, topic.id, 'About eighty degrees, never boiling.');
    await drain();
    expect(await topicIds('eighty')).toEqual([topic.id]);
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: r.id, body: 'About seventy five degrees.' } }, { token: employee.token }));
    await drain();
    expect(await topicIds('eighty')).toEqual([]);
    expect(await topicIds('seventy')).toEqual([topic.id]);
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`, { input: { postId: r.id, action: 'HIDE', reason: 'test' } }, { token: moderator.token }));
    await drain();
    expect(await topicIds('seventy', customer)).toEqual([]);
    expect(await topicIds('seventy', moderator)).toEqual([]);
    expect(await topicIds('seventy', moderator, { f: { includeModerated: true } })).toEqual([topic.id]);
    expectError(await t.gql(SEARCH, { q: 'seventy', f: { includeModerated: true } }, { token: customer.token }), 'FORBIDDEN');
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: r.id, action: 'UNHIDE', reason: 'ok' } }, { token: moderator.token }));
    await drain();
    expect(await topicIds('seventy', customer)).toEqual([topic.id]);
    // Hiding the topic's first post hides the whole topic: its replies leave the index too.
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: topic.firstPostId, action: 'HIDE', reason: 'test' } }, { token: moderator.token }));
    await drain();
    expect(await topicIds('seventy', customer)).toEqual([]);
    expect(await topicIds('kettle', customer)).toEqual([]);
  });

  it('tolerates a moderator’s typo of a word only a hidden post holds when they ask for hidden posts, and nobody else’s', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Descaler brands', body: 'Which one works?' });
    const spam = await reply(t, customer.token, topic.id, 'Buy quibblefrotz tablets now');
    const named = await createTopic(t, customer.token, publicBoard, { title: 'Tablet names', body: 'We call ours quibblefrotx.' });
    await drain();
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: spam.id, action: 'HIDE', reason: 'spam' } }, { token: moderator.token }));
    await drain();
    // Typed in full (a space after it): as a prefix, its stem would match anyway.
    const moderating = { f: { includeModerated: true } };
    expect((await topicIds('quibblefrots ', moderator, moderating)).sort()).toEqual([topic.id, named.id].sort());
    // The hidden word itself finds the visible word close to it too: only a visible post makes a word known.
    expect((await topicIds('quibblefrotz ', moderator, moderating)).sort()).toEqual([topic.id, named.id].sort());
    // For anyone else (the moderator's own query without hidden posts included) the hidden word is
    // a typo like any other, widened to the visible word alone: were it known, it would not be.
    for (const viewer of [customer, undefined, employee, moderator]) {
      expect(await topicIds('quibblefrotz ', viewer)).toEqual([named.id]);
      expect(await topicIds('quibblefrots ', viewer)).toEqual([named.id]);
    }
  });

  describe('typo tolerance as Meilisearch counts typos (a swap of two neighbours is one; none under 5 letters, one from 5, two from 9)', () => {
    // Every query ends with a space: typed in full, a word is matched whole, not as a prefix.
    it('finds a word whose letters are swapped near its start, which trigram similarity put out of reach', async () => {
      const topic = await createTopic(t, customer.token, publicBoard, { title: 'Python packaging', body: 'Which database driver do you use?' });
      await drain();
      expect(await topicIds('pyhton ', customer)).toEqual([topic.id]);
      expect(await topicIds('databsae ', customer)).toEqual([topic.id]);
      expect(await topicIds('ptyhon packaging ', customer)).toEqual([topic.id]);
    });

    it('allows one typo from 5 letters and none under, two from 9 letters and one under', async () => {
      const topic = await createTopic(t, customer.token, publicBoard, { title: 'A lemur in a yurt', body: 'The saxophonist and the clarinet player.' });
      await drain();
      expect(await topicIds('lmeur ', customer)).toEqual([topic.id]);
      expect(await topicIds('lemru ', customer)).toEqual([topic.id]);
      expect(await topicIds('yrut ', customer)).toEqual([]);
      expect(await topicIds('yurr ', customer)).toEqual([]);
      expect(await topicIds('sxaophonsit ', customer)).toEqual([topic.id]);
      expect(await topicIds('saxophnoist ', customer)).toEqual([topic.id]);
      expect(await topicIds('sxaohponsit ', customer)).toEqual([]);
      expect(await topicIds('clarniet ', customer)).toEqual([topic.id]);
      expect(await topicIds('lcarinte ', customer)).toEqual([]);
    });

    it('finds a long word through a typo on its first letter (replaced, added before it, missing or swapped with the next), which counts two', async () => {
      const topic = await createTopic(t, customer.token, publicBoard, { title: 'Saccharimeter readings', body: 'Quinquennial calibration.' });
      await drain();
      for (const typed of ['xaccharimeter ', 'xsaccharimeter ', 'accharimeter ', 'asccharimeter ', 'xuinquennial ']) {
        expect(await topicIds(typed, customer)).toEqual([topic.id]);
      }
      // One more typo, anywhere, is three.
      expect(await topicIds('xaccharimetar ', customer)).toEqual([]);
    });

    it('indexes a vocabulary word under its first 7 letters with up to two of letters 2 to 7 deleted, and without its first letter', async () => {
      // 1 + 1 + 6 + 15 keys for a word of 7 different letters (29 when any letter could go).
      const [{ keys }] = await t.sql(`SELECT parvis_typo_keys_v2('calibration', 2) AS keys`);
      expect(keys).toHaveLength(23);
      expect(keys.filter((k: string) => !k.startsWith('c'))).toEqual(['alibra']);
      const [{ short }] = await t.sql(`SELECT parvis_typo_keys_v2('lemur', 1) AS short`);
      expect(short).toEqual(['lemr', 'lemu', 'lemur', 'leur', 'lmur']);
    });

    it('ranks a word typed as written above its close words', async () => {
      const typo = await createTopic(t, customer.token, publicBoard, { title: 'Quartzote countertops', body: 'Quartzote quartzote quartzote.' });
      const exact = await createTopic(t, customer.token, publicBoard, { title: 'Polished stone', body: 'A quartzite slab.' });
      await drain();
      expect((await topicIds('quartzite ', customer))[0]).toBe(exact.id);
      expect((await topicIds('quartzote ', customer))[0]).toBe(typo.id);
      // Neither typed as written: both are one typo away.
      expect((await topicIds('quartzate ', customer)).sort()).toEqual([typo.id, exact.id].sort());
    });

    it('ranks one typo ahead of two, as Meilisearch’s typo rule does, and widens no word some document holds', async () => {
      // Ahead by typos alone: the two-typo match is the newest and has it in its title.
      const one = await createTopic(t, customer.token, publicBoard, { title: 'Loom parts', body: 'A zephyrlom heddle.' });
      const two = await createTopic(t, customer.token, publicBoard, { title: 'Zepyhrlom', body: 'Warp and weft.' });
      await drain();
      expect(await topicIds('zephyrloom ', customer)).toEqual([one.id, two.id]);
      // Newest first when asked: the sort comes before typos.
      expect(await topicIds('zephyrloom ', customer, { sort: 'NEWEST' })).toEqual([two.id, one.id]);
      // With another word, which only the two-typo match lacks: it follows the one holding both.
      expect(await topicIds('zephyrloom loom ', customer)).toEqual([one.id, two.id]);
      // Once a document holds the word as typed, it is taken as written (a rare known word widened
      // cost rare-word queries on the search bench about 8 times their time at p99).
      const exact = await createTopic(t, customer.token, publicBoard, { title: 'Loom notes', body: 'Threading the zephyrloom.' });
      await drain();
      expect(await topicIds('zephyrloom ', customer)).toEqual([exact.id]);
      // A typo of all three finds them, the fewest typos first.
      expect((await topicIds('zephyrloon ', customer))[0]).toBe(exact.id);
    });

    it('never widens a typo to a word of content the searcher may not see', async () => {
      // Three words one typo from what is typed, in an internal topic (or a hidden post), would
      // take every place among the closest words, ahead of the public word two typos away: the
      // public topic would not be found, telling the searcher those words exist.
      const internal = await createTopic(t, employee.token, internalBoard, { title: 'Quillwork roadmap', body: 'quillworx and quilworks' });
      const quillwork = await createTopic(t, customer.token, publicBoard, { title: 'Quillwerkz kits', body: 'Any good ones?' });
      const tinderbox = await createTopic(t, customer.token, publicBoard, { title: 'Tindarbaxes', body: 'Old ones.' });
      const held = await createTopic(t, customer.token, publicBoard, { title: 'Fire starters', body: 'Which?' });
      const spam = await reply(t, customer.token, held.id, 'tinderboxe tinderboxez tindeboxes for sale');
      await drain();
      expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId: spam.id, action: 'HIDE', reason: 'spam' } }, { token: moderator.token }));
      await drain();
      for (const viewer of [customer, undefined, moderator]) {
        expect(await topicIds('quillworks ', viewer)).toEqual([quillwork.id]);
        expect(await topicIds('tinderboxes ', viewer)).toEqual([tinderbox.id]);
      }
      // Those who may see them find them, through the words one typo away.
      expect(await topicIds('quillworks ', employee)).toEqual([internal.id]);
      expect(await topicIds('tinderboxes ', moderator, { f: { includeModerated: true } })).toEqual([held.id]);
    });
  });

  it('follows title and tag edits on every post of the topic', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Milk frothing basics', body: 'Steam wand tips' });
    await reply(t, employee.token, topic.id, 'Purge the wand first.');
    await drain();
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: topic.firstPostId, body: 'Steam wand tips', title: 'Microfoam for latte art', tags: ['milk'] } }, { token: customer.token }));
    await drain();
    const res = await search('microfoam purge', customer);
    // The reply carries the new title, so it alone holds both words and comes first; the
    // opening post holds one of them and follows.
    expect(res.edges.map((e: any) => e.node.post.number)).toEqual([2, 1]);
    expect(res.edges[0].node.title).toBe('Microfoam for latte art');
    expect((await search('frothing', customer)).totalCount).toBe(0);
    expect((await search('milk', customer, { f: { tags: ['milk'] } })).totalCount).toBe(2);
  });

  it('follows a topic moved to another space: its posts take the new space’s audience', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Warranty claim steps', body: 'xylophoneword' });
    await reply(t, employee.token, topic.id, 'xylophoneword reply');
    await drain();
    expect((await search('xylophoneword', customer)).totalCount).toBe(2);
    const MOVE = `mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id space { id } board { id } } }`;
    // A moderator of the public space alone may not move it into a space they do not moderate.
    expectError(await t.gql(MOVE, { input: { topicId: topic.id, boardId: internalBoard } }, { token: moderator.token }), 'NOT_FOUND');
    const moved = expectOk(await t.gql(MOVE, { input: { topicId: topic.id, boardId: internalBoard } }, { token: admin.token })).moveTopic;
    expect(moved).toMatchObject({ space: { id: internalSpace.id }, board: { id: internalBoard } });
    await drain();
    expect((await search('xylophoneword', customer)).totalCount).toBe(0);
    const asEmployee = await search('xylophoneword', employee);
    expect(asEmployee.totalCount).toBe(2);
    expect(asEmployee.facets.spaces).toEqual([{ value: internalSpace.id, count: 2 }]);
    expectError(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: topic.id }, { token: customer.token }), 'NOT_FOUND');
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM posts WHERE topic_id = $1 AND space_id = $2`, [topic.id, internalSpace.id]);
    expect(n).toBe(2);
    expectError(await t.gql(MOVE, { input: { topicId: topic.id, boardId: internalBoard } }, { token: admin.token }), 'BAD_USER_INPUT');
    const ideas = await makeBoard(t, internalSpace.id, 'IDEAS');
    expectError(await t.gql(MOVE, { input: { topicId: topic.id, boardId: ideas } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(MOVE, { input: { topicId: topic.id, boardId: publicBoard } }, { token: customer.token }), 'NOT_FOUND');
  });

  it('filters, sorts, pages and facets', async () => {
    const board2 = await makeBoard(t, publicSpace.id);
    const q1 = await createTopic(t, customer.token, publicBoard, { title: 'Pour over ratio', body: 'What pour over ratio?', kind: 'QUESTION', tags: ['pourover'] });
    const d1 = await createTopic(t, employee.token, board2, { title: 'Pour over kettles compared', body: 'Gooseneck pour over kettles', tags: ['pourover', 'kettles'] });
    await drain();
    expect(await topicIds('pour over', customer, { f: { kinds: ['QUESTION'] } })).toEqual([q1.id]);
    expect(await topicIds('pour over', customer, { f: { boardIds: [board2] } })).toEqual([d1.id]);
    expect(await topicIds('pour over', customer, { f: { authorHandle: employee.handle } })).toEqual([d1.id]);
    expect(await topicIds('pour over', customer, { f: { authorHandle: 'nobody-here' } })).toEqual([]);
    expect(await topicIds('pour over', customer, { sort: 'NEWEST' })).toEqual([d1.id, q1.id]);
    const page1 = await search('pour over', customer, { first: 1 });
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = await search('pour over', customer, { first: 1, after: page1.pageInfo.endCursor });
    expect(page2.edges[0].node.topic.id).not.toBe(page1.edges[0].node.topic.id);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const facets = (await search('pour over', customer)).facets;
    expect(facets.kinds).toEqual([{ value: 'DISCUSSION', count: 1 }, { value: 'QUESTION', count: 1 }]);
    expect(facets.tags).toEqual([{ value: 'pourover', count: 2 }, { value: 'kettles', count: 1 }]);
  });

  it('pages past the hits its access check drops (the index a moment behind): the cursor counts them', async () => {
    const older = await createTopic(t, customer.token, publicBoard, { title: 'Gravelbikeword one', body: 'Tyres.' });
    const newer = await createTopic(t, customer.token, publicBoard, { title: 'Gravelbikeword two', body: 'Gears.' });
    await drain();
    // Hidden behind the index's back (no outbox event): the index still lists the newer post.
    await t.sql(`UPDATE posts SET state = 'HIDDEN' WHERE id = $1`, [newer.firstPostId]);
    try {
      const page1 = await search('gravelbikeword', employee, { first: 1, sort: 'NEWEST' });
      expect(page1.edges).toEqual([]);
      expect(page1.pageInfo.hasNextPage).toBe(true);
      const page2 = await search('gravelbikeword', employee, { first: 1, sort: 'NEWEST', after: page1.pageInfo.endCursor });
      expect(page2.edges.map((e: any) => e.node.topic.id)).toEqual([older.id]);
      expect(page2.pageInfo.hasNextPage).toBe(false);
    } finally {
      await t.sql(`UPDATE posts SET state = 'VISIBLE' WHERE id = $1`, [newer.firstPostId]);
    }
  });

  it('ranks accepted answers and title matches higher', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Sourdough starter', body: 'My starter smells odd', kind: 'QUESTION' });
    const plain = await reply(t, employee.token, topic.id, 'Feed the levain twice a day.');
    const good = await reply(t, moderator.token, topic.id, 'Feed the levain with rye flour twice a day.');
    expectOk(await t.gql(`mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`, { id: good.id }, { token: customer.token }));
    await drain();
    const hits = (await search('levain', customer)).edges.map((e: any) => e.node.post.id);
    expect(hits).toEqual([good.id, plain.id]);
  });

  it('suggests similar topics while a title is typed, within readable spaces', async () => {
    const existing = await createTopic(t, customer.token, publicBoard, { title: 'Cold brew concentrate dilution', body: 'How much water?' });
    await createTopic(t, employee.token, internalBoard, { title: 'Cold brew product launch', body: 'Internal' });
    await drain();
    const q = `query($title: String!, $space: ID) { similarTopics(title: $title, spaceId: $space) { id title } }`;
    const asCustomer = expectOk(await t.gql(q, { title: 'how to dilute cold brew concentrate?' }, { token: customer.token })).similarTopics;
    expect(asCustomer.map((x: any) => x.id)).toEqual([existing.id]);
    const asEmployee = expectOk(await t.gql(q, { title: 'cold brew', space: internalSpace.id }, { token: employee.token })).similarTopics;
    expect(asEmployee.map((x: any) => x.title)).toEqual(['Cold brew product launch']);
  });

  it('matches the last word as a prefix only while it is typed: a space after it says it is complete', async () => {
    const hand = await createTopic(t, customer.token, publicBoard, { title: 'Grinding flour with a quern', body: 'Slow but quiet.' });
    const stones = await createTopic(t, customer.token, publicBoard, { title: 'Dressing quernstones', body: 'Chisel the furrows.' });
    await drain();
    expect((await topicIds('quern', customer)).sort()).toEqual([hand.id, stones.id].sort());
    expect(await topicIds('quern ', customer)).toEqual([hand.id]);
    expect(await topicIds('  quernst', customer)).toEqual([stones.id]);
  });

  it('refuses empty, oversized and malformed queries', async () => {
    expectError(await t.gql(SEARCH, { q: '   ' }), 'BAD_USER_INPUT');
    expectError(await t.gql(SEARCH, { q: '!!! ---' }), 'BAD_USER_INPUT');
    expectError(await t.gql(SEARCH, { q: 'x'.repeat(301) }), 'BAD_USER_INPUT');
    expectError(await t.gql(SEARCH, { q: 'coffee', first: 101 }), 'BAD_USER_INPUT');
    expectOk(await t.gql(SEARCH, { q: 'coffee', first: 100 })); // API.md: at most 100, like every list
    expectError(await t.gql(SEARCH, { q: 'coffee', after: 'bm90LWEtY3Vyc29y' }), 'BAD_USER_INPUT');
    expectError(await t.gql(SEARCH, { q: 'coffee', f: { spaceIds: ['nope'] } }), 'BAD_USER_INPUT');
    expectError(await t.gql(SEARCH, { q: 'coffee', f: { tags: ['Not A Tag!'] } }), 'BAD_USER_INPUT');
  });

  /**
   * A query and a typed title are at most 300 characters as every text limit counts them (code
   * points, MaxCharacters): class-validator's MaxLength left variation selectors out, so 147 "❤️"
   * after a word (301 characters) passed as 154.
   */
  it('counts a query’s and a typed title’s characters as code points, as every text limit does', async () => {
    const SIMILAR = `query($title: String!) { similarTopics(title: $title) { id } }`;
    const fits = `coffee ${'😀'.repeat(293)}`;
    const over = `coffee ${'❤️'.repeat(147)}`;
    expect([[...fits].length, [...over].length]).toEqual([300, 301]);
    expectOk(await t.gql(SEARCH, { q: fits }));
    expectOk(await t.gql(SIMILAR, { title: fits }, { token: customer.token }));
    expectError(await t.gql(SEARCH, { q: over }), 'BAD_USER_INPUT');
    expectError(await t.gql(SIMILAR, { title: over }, { token: customer.token }), 'BAD_USER_INPUT');
  });

  it('states the statement count of a search page (no N+1 over hits)', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Tamper pressure', body: 'tamper tamper' });
    for (let i = 0; i < 6; i++) await reply(t, employee.token, topic.id, `tamper advice ${i}`);
    await drain();
    // The lexeme statistics are cached for a while (STATS_TTL_MS): whether an earlier search read
    // them is left to nothing; the page is counted with them cold (dropped) and warm, explicitly.
    const engine = t.get(SearchEngines).postgres as unknown as { lexemeStats: unknown };
    const page = async (first: number, cold: boolean) => {
      if (cold) engine.lexemeStats = null;
      return t.countStatements(() => search('tamper', customer, { first }));
    };
    const coldFew = await page(2, true);
    const coldMany = await page(7, true);
    const warmFew = await page(2, false);
    const warmMany = await page(7, false);
    expect(coldMany.count).toBe(coldFew.count);
    expect(warmMany.count).toBe(warmFew.count);
    // Cold, the page reads the statistics once more, and nothing else.
    expect(coldFew.statements.filter((sql) => sql.includes('pg_stats'))).toHaveLength(1);
    expect(warmFew.statements.filter((sql) => sql.includes('pg_stats'))).toHaveLength(0);
    expect(coldFew.count).toBe(warmFew.count + 1);
  });

  /**
   * When the cached statistics expire, every query then in flight needs them: they share one read
   * of pg_stats (single-flight), and a read that fails is not kept (the next query reads again).
   */
  it('reads the expired lexeme statistics once for all the searches needing them at once, and again after a failed read', async () => {
    await createTopic(t, customer.token, publicBoard, { title: 'Grinder burrs', body: 'burrs dull with time' });
    await drain();
    const engine = t.get(SearchEngines).postgres;
    const cache = engine as unknown as { lexemeStats: { at: number } | null };
    const request = { query: 'burrs', filters: { spaceIds: [publicSpace.id], moderatedSpaceIds: [] }, limit: 20, offset: 0 };
    await engine.search(request);
    const reads = (statements: string[]) => statements.filter((sql) => sql.includes('pg_stats')).length;
    const expire = () => (cache.lexemeStats!.at = 0);
    expire();
    const together = await t.countStatements(() => Promise.all(Array.from({ length: 6 }, () => engine.search(request))));
    expect(reads(together.statements)).toBe(1);
    // A read that fails is not kept: the next search reads again, and succeeds.
    expire();
    const ds = (engine as unknown as { ds: DataSource }).ds;
    const query = ds.query.bind(ds);
    const failing = jest.spyOn(ds, 'query').mockImplementation((sql: string, ...rest: unknown[]) =>
      sql.includes('pg_stats') ? (failing.mockRestore(), Promise.reject(new Error('pg_stats unreadable'))) : (query as (...a: unknown[]) => Promise<unknown>)(sql, ...rest),
    );
    try {
      await expect(engine.search(request)).rejects.toThrow('pg_stats unreadable');
    } finally {
      failing.mockRestore();
    }
    const again = await t.countStatements(() => engine.search(request));
    expect(reads(again.statements)).toBe(1);
    expect((await engine.search(request)).hits).toHaveLength(1);
  });

  /**
   * A shared read that fails fails every search waiting on it, once: none is left waiting, none
   * reads pg_stats again on its own, and the next search reads anew rather than reusing the
   * rejected read or the expired statistics; its statistics are then kept.
   */
  it('fails every search waiting on a failed read of the lexeme statistics, and reads them anew at the next', async () => {
    await createTopic(t, customer.token, publicBoard, { title: 'Tamper stations', body: 'a tamper station holds the portafilter' });
    await drain();
    const engine = t.get(SearchEngines).postgres;
    const cache = engine as unknown as { lexemeStats: { at: number } | null; statsRead: Promise<unknown> | null };
    const request = { query: 'portafilter', filters: { spaceIds: [publicSpace.id], moderatedSpaceIds: [] }, limit: 20, offset: 0 };
    await engine.search(request);
    const expired = cache.lexemeStats!;
    expired.at = 0;
    const ds = (engine as unknown as { ds: DataSource }).ds;
    const query = ds.query.bind(ds);
    // The read fails once all six searches wait on it (a read failing at once would be over before
    // the next search asks, which would then read on its own, as it should).
    let reads = 0;
    let fail!: () => void;
    const failed = new Promise<void>((resolve) => (fail = resolve));
    const failing = jest.spyOn(ds, 'query').mockImplementation((sql: string, ...rest: unknown[]) => {
      if (!sql.includes('pg_stats')) return (query as (...a: unknown[]) => Promise<unknown>)(sql, ...rest);
      reads++;
      return failed.then(() => Promise.reject(new Error('pg_stats unreadable')));
    });
    const holder = engine as unknown as { stats: () => Promise<unknown> };
    const stats = holder.stats;
    let asked = 0;
    const asking = jest.spyOn(holder, 'stats').mockImplementation(function (this: unknown) {
      if (++asked === 6) fail();
      return stats.call(this);
    });
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => engine.search(request)));
    } finally {
      failing.mockRestore();
      asking.mockRestore();
    }
    expect(reads).toBe(1);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.status))).toEqual(Array(6).fill('pg_stats unreadable'));
    // Neither the rejected read nor the expired statistics are kept for the next search.
    expect(cache.statsRead).toBeNull();
    expect(cache.lexemeStats).toBe(expired);
    const again = await t.countStatements(() => engine.search(request));
    expect(again.statements.filter((sql) => sql.includes('pg_stats'))).toHaveLength(1);
    expect(cache.lexemeStats).not.toBe(expired);
    expect(cache.lexemeStats!.at).toBeGreaterThan(0);
    const after = await t.countStatements(() => engine.search(request));
    expect(after.statements.filter((sql) => sql.includes('pg_stats'))).toHaveLength(0);
    expect((await engine.search(request)).hits).toHaveLength(1);
  });

  it('states the statement count of a typo and of a search-as-you-type query: planner settings cost no round trips of their own', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Calibrating the refractometer', body: 'Refractometer readings drift with temperature.' });
    await drain();
    const engine = t.get(SearchEngines).postgres;
    const request = (query: string) => ({ query, filters: { spaceIds: [publicSpace.id], moderatedSpaceIds: [] }, limit: 20, offset: 0, facets: true });
    // The letter folding and the lexeme statistics are read on first use, not for each search.
    await engine.search(request('refractometr '));
    // The typo's close words (one statement, whatever their number), the tsqueries, the
    // candidates (a transaction: begin, its planner settings in one, the read, commit), the page.
    // The settings keep the typo ranking's sub-selects hashed too (hash_mem_multiplier, see typosByIndex).
    const typo = await t.countStatements(() => engine.search(request('refractometr ')));
    expect(typo.statements.filter((sql) => /^\s*SET\b/i.test(sql))).toEqual([`SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; SET LOCAL hash_mem_multiplier = 64`]);
    expect(typo.count).toBe(7);
    expect((await engine.search(request('refractometr '))).hits.map((h) => h.topicId)).toEqual([topic.id]);
    // Completions and the typo check of the other word, the tsqueries, then every word required
    // (one match: too few), then any word: candidates and page each.
    const typing = await t.countStatements(() => engine.search(request('calibrating refra')));
    expect(typing.count).toBe(13);
  });

  it('weighs the words of a query some documents lack from counts read with the first pass’s page: no statement of their own', async () => {
    await createTopic(t, customer.token, publicBoard, { title: 'Calibrating the hydrometer', body: 'Hydrometer readings drift with temperature.' });
    await drain();
    const engine = t.get(SearchEngines).postgres;
    const request = (query: string) => ({ query, filters: { spaceIds: [publicSpace.id], moderatedSpaceIds: [] }, limit: 20, offset: 0 });
    await engine.search(request('hydrometer temperature salinity '));
    // One match holds every word but salinity: the second pass weighs them with the counts the
    // first pass's page read (one statement reads them: that page), and nothing else reads them.
    const { statements } = await t.countStatements(() => engine.search(request('hydrometer temperature salinity ')));
    const counting = statements.filter((sql) => sql.includes('search_lexeme_counts'));
    expect(counting).toHaveLength(1);
    expect(counting[0]).toContain('ts_headline');
    expect(statements.filter((sql) => sql.includes('pg_stats'))).toHaveLength(0);
  });

  it('folds what indexing changed into the lexeme counts per space with the job search-lexeme-counts', async () => {
    await createTopic(t, customer.token, publicBoard, { title: 'Saccharometer basics', body: 'The saccharometer floats.' });
    await t.get(OutboxWorker).drain();
    const counted = async () => (await t.sql(`SELECT docs FROM search_lexeme_counts WHERE space_id = $1 AND lexeme LIKE 'saccharomet%'`, [publicSpace.id]))[0]?.docs ?? 0;
    const pending = async () => (await t.sql(`SELECT count(*)::int AS n FROM search_lexeme_deltas`))[0].n;
    expect([await counted(), await pending() > 0]).toEqual([0, true]);
    expect(await t.get(JobScheduler).runNow('search-lexeme-counts')).toBe(true);
    expect([await counted(), await pending()]).toEqual([1, 0]);
  });

  it('indexes at least once: a worker killed mid-batch loses nothing', async () => {
    const indexer = t.get(SearchIndexer);
    const original = indexer.handle.bind(indexer);
    let calls = 0;
    // The first delivery dies after indexing part of the batch, as a killed worker would.
    indexer.handle = async (events: OutboxEvent[]) => {
      if (calls++ === 0) {
        await original(events.slice(0, 1));
        throw new Error('worker killed');
      }
      return original(events);
    };
    try {
      const topics = [];
      for (let i = 0; i < 3; i++) topics.push(await createTopic(t, customer.token, publicBoard, { title: `Crash recovery item ${i}`, body: `zephyrword ${i}` }));
      await drain();
      await t.sql(`UPDATE outbox SET available_at = now() WHERE processed_at IS NULL`);
      await drain();
      expect((await search('zephyrword', customer)).totalCount).toBe(3);
      const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE processed_at IS NULL`);
      expect(n).toBe(0);
    } finally {
      indexer.handle = original;
    }
  });

  it('falls back to PostgreSQL when the external engine fails, and writes keep succeeding', async () => {
    const engines = t.get(SearchEngines);
    const broken: SearchEngine = {
      name: 'meilisearch',
      format: 1,
      prepare: async () => undefined,
      upsert: async () => { throw new Error('connect ECONNREFUSED'); },
      remove: async () => { throw new Error('connect ECONNREFUSED'); },
      search: async () => { throw new Error('timeout'); },
      count: async () => { throw new Error('timeout'); },
      documentIds: async () => { throw new Error('timeout'); },
      clear: async () => undefined,
    };
    (engines as { external: SearchEngine | null }).external = broken;
    try {
      const topic = await createTopic(t, customer.token, publicBoard, { title: 'Fallback works', body: 'quetzalword' });
      await drain();
      const res = await search('quetzalword', customer);
      expect(res.engine).toBe('postgres');
      expect(res.edges[0].node.topic.id).toBe(topic.id);
      const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM search_sync_queue WHERE post_id = $1`, [topic.firstPostId]);
      expect(n).toBe(1); // waiting for the external engine to come back
      const status = await t.get(SearchAdmin).status();
      expect(status.engines.find((e) => e.name === 'meilisearch')!.documents).toBeNull();
      expect(status.externalQueue!.pending).toBeGreaterThan(0);
    } finally {
      (engines as { external: SearchEngine | null }).external = null;
      await t.sql(`DELETE FROM search_sync_queue`);
    }
  });

  it('answers INTERNAL rather than asking PostgreSQL when the letter folding a Meilisearch query needs cannot be read: PostgreSQL’s engine needs it as much', async () => {
    const engines = t.get(SearchEngines) as unknown as { external: SearchEngine | null };
    const folding = t.get(SearchEngines).folding;
    const held = folding as unknown as { lastRead: unknown };
    const lastRead = held.lastRead;
    // A process that holds no folding yet (PostgreSQL out of reach at start), whose read fails again.
    held.lastRead = null;
    // No Meilisearch there: a query that reached it would fail otherwise, and fall back.
    engines.external = new MeiliSearchEngine({ url: 'http://127.0.0.1:9', timeoutMs: 200 }, folding);
    const reads = foldingReads(() => Promise.reject(new Error('connection lost')));
    try {
      const res = await t.gql(SEARCH, { q: 'quetzalword' }, { token: (await makeUser(t)).token });
      expectError(res, 'INTERNAL');
      expect(res.errors![0].extensions.correlationId).toEqual(expect.any(String));
      // Meilisearch's read alone: PostgreSQL's engine was not sent the query, to read it again and fail.
      expect(reads.made()).toBe(1);
    } finally {
      reads.restore();
      engines.external = null;
      held.lastRead = lastRead;
    }
  });

  it('rebuilds the index from the database, dropping documents of posts that no longer exist', async () => {
    const postgres = t.get(SearchEngines).postgres;
    const [sample] = await t.sql(`SELECT id FROM posts LIMIT 1`);
    const { docs } = await t.get(SearchDocuments).load([sample.id]);
    const orphan = { ...docs[0], id: newId(), title: 'Orphaned zeppelin' };
    await postgres.upsert([orphan]);
    // Walked page by page, only the orphan goes.
    const before = await postgres.count();
    expect(await t.get(SearchAdmin).removeOrphans(postgres)).toBe(1);
    expect(await postgres.count()).toBe(before - 1);
    await postgres.upsert([{ ...orphan, version: orphan.version + 1 }]);
    await t.sql(`TRUNCATE search_documents CASCADE`);
    await postgres.upsert([{ ...orphan, version: orphan.version + 2 }]);
    expect((await search('citric', customer)).totalCount).toBe(0);
    const admin = t.get(SearchAdmin);
    const seen: number[] = [];
    const n = await admin.rebuild(admin.targets('postgres'), (done) => seen.push(done));
    const [{ posts }] = await t.sql(`SELECT count(*)::int AS posts FROM posts`);
    expect(n).toBe(posts);
    expect(seen[seen.length - 1]).toBe(posts);
    expect((await search('citric', customer)).totalCount).toBe(1);
    expect(await t.sql(`SELECT 1 FROM search_documents WHERE id = $1`, [orphan.id])).toEqual([]);
    expect(await postgres.count()).toBe(posts);
    expect(() => admin.targets('elastic')).toThrow(/Unknown or unconfigured engine/);
  });

  /**
   * After a bulk load, the statistics choosing a query's path (pg_class.reltuples, pg_stats) and
   * those the planner reads the lexeme counts with were the last autovacuum's: a table of a
   * thousand documents grown to a million sent common words through the GIN index, to read 20,000
   * matches before the date index. A rebuild folds in the counts it changed and analyses them with
   * the documents and the vocabularies.
   */
  it('folds in the lexeme counts and analyses the search tables at the end of a rebuild', async () => {
    const tables = ['search_documents', 'search_terms', 'search_terms_moderated', 'search_lexeme_counts', 'search_space_documents'];
    const analysed = async () =>
      Object.fromEntries(
        (await t.sql(`SELECT relname, analyze_count::int AS n FROM pg_stat_user_tables WHERE relname = ANY($1::text[])`, [tables])).map((r) => [r.relname, r.n]),
      );
    const before = await analysed();
    const admin = t.get(SearchAdmin);
    await admin.rebuild(admin.targets('postgres'));
    const after = await analysed();
    expect(tables.filter((table) => !(after[table] > (before[table] ?? 0)))).toEqual([]);
    expect(await t.sql(`SELECT id FROM search_lexeme_deltas`)).toEqual([]);
  });

  /**
   * The server's letter folding read (the only statement with unaccent over chunks of letters)
   * answered by `read` instead (made as it is without one), every other statement as it is: how
   * many were made, and the undo.
   */
  const foldingReads = (read?: () => Promise<never>) => {
    const ds = t.get(DataSource);
    const query = ds.query.bind(ds);
    let made = 0;
    const spy = jest.spyOn(ds, 'query').mockImplementation(((sql: string, params?: unknown[]) => {
      if (!sql.includes('unaccent(chunk.written)')) return query(sql, params);
      made++;
      return read ? read() : query(sql, params);
    }) as typeof ds.query);
    return { made: () => made, restore: () => spy.mockRestore() };
  };

  it('rebuilds the index once after an upgrade changed what its documents hold', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Proxy upgrade', body: 'Edit /etc/nginx/nginx.conf first.' });
    await drain();
    // As an older release wrote it: the path one lexeme, no format recorded.
    const older = () =>
      t.sql(`UPDATE search_documents SET tsv = to_tsvector('parvis_en', title || ' Edit /etc/nginx/nginx.conf first.') WHERE id = $1`, [topic.firstPostId]);
    await older();
    await t.sql(`DELETE FROM search_index_formats`);
    expect((await search('nginx.conf', customer)).totalCount).toBe(0);
    // The job (as the worker runs it soon after start) rebuilds, and records the format. The server's
    // letter folding (a statement over every letter) is not read for it: the one its process holds,
    // which its writes use, is compared, prepared with and recorded (ServerFolding reads it again hourly).
    const rebuildReads = foldingReads();
    try {
      expect(await t.get(JobScheduler).runNow('search-index-format')).toBe(true);
      expect(rebuildReads.made()).toBe(0);
    } finally {
      rebuildReads.restore();
    }
    expect((await search('nginx.conf', customer)).totalCount).toBe(1);
    expect(await t.sql(`SELECT engine, format FROM search_index_formats`)).toEqual([{ engine: 'postgres', format: POSTGRES_INDEX_FORMAT }]);
    // Once: with the format current, it rebuilds nothing.
    await older();
    expect(await t.get(SearchAdmin).upgradeFormat()).toBe(false);
    expect((await search('nginx.conf', customer)).totalCount).toBe(0);
    // An empty index (a new installation) holds nothing older: the format is recorded, nothing rebuilt.
    await t.sql(`DELETE FROM search_index_formats`);
    await t.sql(`TRUNCATE search_documents CASCADE`);
    // Nor for recording it.
    const emptyReads = foldingReads();
    try {
      expect(await t.get(SearchAdmin).upgradeFormat()).toBe(false);
      expect(emptyReads.made()).toBe(0);
    } finally {
      emptyReads.restore();
    }
    expect(await t.sql(`SELECT format FROM search_index_formats`)).toEqual([{ format: POSTGRES_INDEX_FORMAT }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM search_documents`)).toEqual([{ n: 0 }]);
    await t.get(SearchAdmin).rebuild([t.get(SearchEngines).postgres]);
    expect((await search('nginx.conf', customer)).totalCount).toBe(1);
  });

  it('rebuilds the vocabulary once when the server’s unaccent reads letters otherwise than the folding it was written with', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Ferry to København', body: 'Crossing the Øresund by train.' });
    await drain();
    const terms = async () =>
      (await t.sql(`SELECT term FROM search_terms WHERE space_id = $1 AND term IN ('kobenhavn', 'københavn', 'oresund', 'øresund') ORDER BY term`, [publicSpace.id])).map(
        (r) => r.term as string,
      );
    const recorded = () => t.sql(`SELECT format, fingerprint FROM search_index_formats WHERE engine = 'postgres'`);
    const foundByTypo = async () => (await topicIds('kobenhvn', customer)).includes(topic.id);
    expect([await terms(), await foundByTypo()]).toEqual([['kobenhavn', 'oresund'], true]);
    // As written with a folding that kept ø (as this release keeps ª on PostgreSQL 15, and 18 reads it
    // as a): recorded with none (a release that folded with a table of its own) or another fingerprint.
    const writtenOtherwise = async (fingerprint: string | null) => {
      await t.sql(`DELETE FROM search_terms WHERE space_id = $1 AND term IN ('kobenhavn', 'oresund')`, [publicSpace.id]);
      await t.sql(`INSERT INTO search_terms (term, space_id) VALUES ('københavn', $1), ('øresund', $1) ON CONFLICT DO NOTHING`, [publicSpace.id]);
      await t.sql(`UPDATE search_index_formats SET fingerprint = $1 WHERE engine = 'postgres'`, [fingerprint]);
    };
    await t.get(SearchAdmin).upgradeFormat();
    await writtenOtherwise(null);
    expect([await terms(), await foundByTypo()]).toEqual([['københavn', 'øresund'], false]);
    // The job (as the worker runs it soon after start) takes the words out, rebuilds, and records the folding's fingerprint.
    expect(await t.get(JobScheduler).runNow('search-index-format')).toBe(true);
    expect([await terms(), await foundByTypo()]).toEqual([['kobenhavn', 'oresund'], true]);
    const { fingerprint } = await t.get(SearchEngines).folding.current();
    expect(await recorded()).toEqual([{ format: POSTGRES_INDEX_FORMAT, fingerprint }]);
    // Once: with the folding the same, nothing is rebuilt, nor taken out.
    await t.sql(`INSERT INTO search_terms (term, space_id) VALUES ('københavn', $1)`, [publicSpace.id]);
    expect(await t.get(SearchAdmin).upgradeFormat()).toBe(false);
    expect(await terms()).toEqual(['kobenhavn', 'københavn', 'oresund']);
    // Another fingerprint (the server upgraded since): once more.
    await writtenOtherwise('another');
    expect(await t.get(SearchAdmin).upgradeFormat()).toBe(true);
    expect([await terms(), await recorded()]).toEqual([['kobenhavn', 'oresund'], [{ format: POSTGRES_INDEX_FORMAT, fingerprint }]]);
  });

  it('reads the server’s letter folding again after an hour beside the queries, which go on with the rules last read', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Tram to Århus', body: 'Hourly from the station.' });
    await drain();
    expect(await topicIds('arhu', customer)).toContain(topic.id);
    // The folding's read never answers: a search that waited for it would never answer either.
    const reads = foldingReads(() => new Promise(() => undefined));
    const hourLater = Date.now() + 3600_000 + 1000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => hourLater);
    try {
      expect(await topicIds('arhu', customer)).toContain(topic.id);
      expect(await topicIds('arhus', customer)).toContain(topic.id);
      // One read under way, not one per query.
      expect(reads.made()).toBe(1);
    } finally {
      clock.mockRestore();
      reads.restore();
    }
  });

  it('reads the server’s letter folding again on the next use when its first read failed (the database out of reach), not keeping the failure', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Ferry to Ålesund', body: 'Along the fjord.' });
    await drain();
    // A process started while the database was out of reach: its first use reads the folding, and fails.
    const engine = new PostgresSearchEngine(t.get(DataSource));
    const request = { query: 'alesund ', filters: { spaceIds: [publicSpace.id] }, limit: 10, offset: 0 };
    const reads = foldingReads(() => Promise.reject(new Error('connection lost')));
    try {
      await expect(engine.search(request)).rejects.toThrow('connection lost');
      expect(reads.made()).toBe(1);
    } finally {
      reads.restore();
    }
    // The database back: the next use reads it again, rather than failing with the read kept.
    expect((await engine.search(request)).hits.map((h) => h.id)).toContain(topic.firstPostId);
  });

  it('reads the server’s letter folding at start-up, so that no search waits for it; a start-up whose read is slow or fails goes on, and the first search reads it again', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Train to Kraków', body: 'Overnight from Gdańsk.' });
    await drain();
    const request = { query: 'krakow ', filters: { spaceIds: [publicSpace.id] }, limit: 10, offset: 0 };
    const started = foldingReads();
    try {
      // A process's engines, as the application's start-up leaves them: the folding read once, at start.
      const engines = new SearchEngines(t.get(DataSource), t.get(AppConfig));
      await engines.onApplicationBootstrap();
      expect(started.made()).toBe(1);
      expect((await engines.postgres.search(request)).hits.map((h) => h.id)).toContain(topic.firstPostId);
      expect(started.made()).toBe(1);
    } finally {
      started.restore();
    }
    // PostgreSQL too slow to answer it at start: the start-up does not wait for it.
    const slow = foldingReads(() => new Promise(() => undefined));
    try {
      await expect(new SearchEngines(t.get(DataSource), t.get(AppConfig)).onApplicationBootstrap()).resolves.toBeUndefined();
      expect(slow.made()).toBe(1);
    } finally {
      slow.restore();
    }
    // PostgreSQL out of reach at start: the start-up does not fail, and the failure is not kept.
    const failed = foldingReads(() => Promise.reject(new Error('connection lost')));
    const engines = new SearchEngines(t.get(DataSource), t.get(AppConfig));
    try {
      await expect(engines.onApplicationBootstrap()).resolves.toBeUndefined();
      // Its read ends (a search meanwhile would share it, and its failure).
      await expect(engines.folding.current()).rejects.toThrow('connection lost');
      expect(failed.made()).toBe(1);
    } finally {
      failed.restore();
    }
    const again = foldingReads();
    try {
      expect((await engines.postgres.search(request)).hits.map((h) => h.id)).toContain(topic.firstPostId);
      expect(again.made()).toBe(1);
    } finally {
      again.restore();
    }
  });

  it('gives up on an hourly read of the letter folding that never answers, and reads again later', async () => {
    const topic = await createTopic(t, customer.token, publicBoard, { title: 'Bus to Tromsø', body: 'Every evening.' });
    await drain();
    expect(await topicIds('tromso', customer)).toContain(topic.id);
    const folding = t.get(SearchEngines).postgres.serverFolding as unknown as { readWaitMs: number; refresh: Promise<void> | null };
    const wait = folding.readWaitMs;
    folding.readWaitMs = 200;
    // Forgets the read the test before left waiting for ever (given up on only a minute later).
    folding.refresh = null;
    const reads = foldingReads(() => new Promise(() => undefined));
    let now = Date.now() + 3600_000 + 1000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      expect(await topicIds('tromso', customer)).toContain(topic.id);
      await new Promise((r) => setTimeout(r, 500));
      // Given up on: tried again a minute later (without the give-up, never again).
      now += 61_000;
      expect(await topicIds('tromso', customer)).toContain(topic.id);
      expect(reads.made()).toBe(2);
    } finally {
      clock.mockRestore();
      reads.restore();
      folding.readWaitMs = wait;
    }
  });

  it('gives up a first read of the letter folding that never answers (the job’s, in a process that holds none yet), as a failed one, and reads again on its next run', async () => {
    const engines = new SearchEngines(t.get(DataSource), t.get(AppConfig));
    const admin = new SearchAdmin(t.get(DataSource), t.get(SearchDocuments), engines, t.get(SearchSync));
    const folding = engines.folding as unknown as { readWaitMs: number };
    const wait = folding.readWaitMs;
    folding.readWaitMs = 200;
    const reads = foldingReads(() => new Promise(() => undefined));
    try {
      await expect(admin.upgradeFormat()).rejects.toThrow('the letter folding could not be read: no answer after 200 ms');
    } finally {
      reads.restore();
      // The real read below gets the real bound: 200 ms is too short for one on a loaded machine.
      folding.readWaitMs = wait;
    }
    // The database back: the job's next run reads and answers.
    await expect(admin.upgradeFormat()).resolves.toEqual(expect.any(Boolean));
  });

  it('rebuilds the external engine’s index once after an upgrade changed what its documents hold, as PostgreSQL’s', async () => {
    const engines = t.get(SearchEngines) as unknown as { external: SearchEngine | null };
    const written: string[] = [];
    let held = 0;
    const external: SearchEngine = {
      name: 'stand-in',
      format: 2,
      prepare: async () => undefined,
      upsert: async (docs) => {
        written.push(...docs.map((d) => d.id));
        held = written.length;
      },
      remove: async () => undefined,
      search: async () => ({ hits: [], total: 0, facets: null, engine: 'stand-in' }),
      count: async () => held,
      documentIds: async () => ({ ids: [], next: null }),
      clear: async () => undefined,
    };
    engines.external = external;
    const admin = t.get(SearchAdmin);
    try {
      // Just configured, it holds nothing: nothing is in an older format, the format is recorded.
      expect(await admin.upgradeFormat()).toBe(false);
      expect(await t.sql(`SELECT format FROM search_index_formats WHERE engine = 'stand-in'`)).toEqual([{ format: 2 }]);
      // Written in format 2, then upgraded to 3: rebuilt once, PostgreSQL (current) left alone.
      held = 1;
      (external as { format: number }).format = 3;
      expect(await admin.upgradeFormat()).toBe(true);
      const [{ posts }] = await t.sql(`SELECT count(*)::int AS posts FROM posts`);
      expect(written).toHaveLength(posts);
      expect(await t.sql(`SELECT engine, format FROM search_index_formats ORDER BY engine`)).toEqual([
        { engine: 'postgres', format: POSTGRES_INDEX_FORMAT },
        { engine: 'stand-in', format: 3 },
      ]);
      expect(await admin.upgradeFormat()).toBe(false);
      expect(written).toHaveLength(posts);
    } finally {
      engines.external = null;
      await t.sql(`DELETE FROM search_index_formats WHERE engine = 'stand-in'`);
    }
  });

  it('rate-limits searches per user', async () => {
    const app = await bootTestApp({ SEARCH_RATE_PER_MINUTE: '3' });
    try {
      const u = await makeUser(app);
      for (let i = 0; i < 3; i++) expectOk(await app.gql(SEARCH, { q: 'anything' }, { token: u.token }));
      const res = await app.gql(SEARCH, { q: 'anything' }, { token: u.token });
      expectError(res, 'RATE_LIMITED');
      expect(res.errors![0].extensions.retryAfterSeconds).toBeGreaterThan(0);
      // Someone else is not held back.
      expectOk(await app.gql(SEARCH, { q: 'anything' }, { token: (await makeUser(app)).token }));
      // One address gets twice a user's rate, whatever the accounts (or none) behind it.
      const ip = '203.0.113.9';
      for (let i = 0; i < 6; i++) expectOk(await app.gql(SEARCH, { q: 'anything' }, { ip, token: i % 2 ? (await makeUser(app)).token : undefined }));
      expectError(await app.gql(SEARCH, { q: 'anything' }, { ip, token: (await makeUser(app)).token }), 'RATE_LIMITED');
      // Suggesting related articles searches too, so it spends the same rate; it is for one
      // topic's page, and asked of the topics of a list it is refused before any search runs.
      const reader = await makeUser(app);
      const board = await makeBoard(app, (await makeSpace(app, 'PUBLIC')).id);
      const topics = [];
      for (let i = 0; i < 5; i++) topics.push(await createTopic(app, reader.token, board, { title: `Pump question ${i}` }));
      const list = await app.gql(`query($b: ID!) { board(id: $b) { topics(first: 5) { edges { node { relatedArticles(first: 1) { id } } } } } }`, { b: board }, { token: reader.token, ip: '203.0.113.77' });
      expect([...new Set(list.errors?.map((e) => e.extensions?.code))]).toEqual(['BAD_USER_INPUT']);
      const one = `query($id: ID!) { topic(id: $id) { relatedArticles(first: 1) { id } } }`;
      for (let i = 0; i < 3; i++) expectOk(await app.gql(one, { id: topics[0].id }, { token: reader.token, ip: '203.0.113.78' }));
      expectError(await app.gql(one, { id: topics[0].id }, { token: reader.token, ip: '203.0.113.78' }), 'RATE_LIMITED');
    } finally {
      await app.close();
    }
  });

  it('shares search limits between API nodes, and a refused search is not counted', async () => {
    const first = await bootTestApp({ SEARCH_RATE_PER_MINUTE: '2' });
    const second = await bootSecondNode(first, { SEARCH_RATE_PER_MINUTE: '2' });
    try {
      const u = await makeUser(first);
      const started = Date.now();
      expectOk(await first.gql(SEARCH, { q: 'anything' }, { token: u.token }));
      expectOk(await second.gql(SEARCH, { q: 'anything' }, { token: u.token }));
      const refused = await second.gql(SEARCH, { q: 'anything' }, { token: u.token });
      expectError(refused, 'RATE_LIMITED');
      expectError(await first.gql(SEARCH, { q: 'anything' }, { token: u.token }), 'RATE_LIMITED');
      // Two a minute: one more comes back within about 30 s, whichever minute it is, and
      // hammering while refused does not push that further out.
      // (Less whatever time the searches themselves took, on a loaded machine.)
      const wait = refused.errors![0].extensions.retryAfterSeconds as number;
      expect(wait).toBeGreaterThan(25 - Math.ceil((Date.now() - started) / 1000));
      expect(wait).toBeLessThanOrEqual(30);
      const [{ ahead }] = await first.sql(`SELECT extract(epoch FROM tat - now())::float8 AS ahead FROM rate_tokens WHERE bucket = 'search:user' AND key = $1`, [u.id]);
      expect(ahead).toBeGreaterThan(55 - Math.ceil((Date.now() - started) / 1000));
      expect(ahead).toBeLessThanOrEqual(60);
      // Once the budget is whole again, housekeeping forgets the key.
      await first.sql(`UPDATE rate_tokens SET tat = now() - interval '1 second' WHERE key = $1`, [u.id]);
      await first.get(RateLimiter).prune();
      expect(await first.sql(`SELECT 1 FROM rate_tokens WHERE key = $1`, [u.id])).toEqual([]);
      expectOk(await first.gql(SEARCH, { q: 'anything' }, { token: u.token }));
      // A search refused for its user gives back what it took from the address: others behind
      // it keep searching (four a minute per address here, and the refused user tries five more times).
      const ip = '198.51.100.7';
      const heavy = await makeUser(first);
      for (let i = 0; i < 2; i++) expectOk(await first.gql(SEARCH, { q: 'anything' }, { ip, token: heavy.token }));
      for (let i = 0; i < 5; i++) expectError(await first.gql(SEARCH, { q: 'anything' }, { ip, token: heavy.token }), 'RATE_LIMITED');
      expectOk(await first.gql(SEARCH, { q: 'anything' }, { ip }));
      expectOk(await first.gql(SEARCH, { q: 'anything' }, { ip }));
    } finally {
      await second.close();
      await first.close();
    }
  });
});
