import request from 'supertest';
import { encodeCursor } from '../../libs/core/src/graphql/pagination';
import { newId } from '../../libs/core/src/ids';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { heapAfterGc as heap } from '../support/heap';

describe('GraphQL limits and error hygiene', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ GRAPHQL_MAX_DEPTH: '6', GRAPHQL_MAX_COMPLEXITY: '300' });
  });
  afterAll(() => t.close());

  it('refuses queries deeper than the limit', async () => {
    const deep = `{ spaces { boards { space { boards { space { boards { space { id } } } } } } } }`;
    expectError(await t.gql(deep), 'BAD_USER_INPUT');
    expectOk(await t.gql(`{ spaces { boards { space { id } } } }`));
    // Fragments count as what they spread.
    const viaFragments = `{ ...A } fragment A on Query { spaces { ...B } } fragment B on Space { boards { space { boards { space { boards { space { id } } } } } } }`;
    expect(expectError(await t.gql(viaFragments), 'BAD_USER_INPUT').message).toMatch(/nested too deeply/);
    expectOk(await t.gql(`{ ...A } fragment A on Query { spaces { ...B } } fragment B on Space { boards { space { id } } }`));
  });

  it('answers fragments that spread the next one twice over, unknown or in a cycle, with BAD_USER_INPUT at once', async () => {
    // 2^30 paths through 30 fragments: walked path by path, validating it would block the process for days.
    const n = 30;
    const chain = Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ');
    const doubling = `query { ...F0 } ${chain} fragment F${n} on Query { me { id } }`;
    const unknown = `{ ...Nope }`;
    const cycle = `query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }`;
    for (const query of [doubling, unknown, cycle]) {
      const res = await request(t.http).post('/graphql').send({ query });
      expect([query, res.status, res.body.errors[0].extensions.code]).toEqual([query, 400, 'BAD_USER_INPUT']);
    }
  });

  it('refuses queries whose cost exceeds the limit', async () => {
    const wide = `{ a: spaces { id } b: spaces { id } ${Array.from({ length: 250 }, (_, i) => `f${i}: me { id }`).join(' ')} }`;
    const err = expectError(await t.gql(wide), 'BAD_USER_INPUT');
    expect(err.message).toMatch(/too complex/);
  });

  it('counts a page asked without `first` as a default page, and a list without paging as several items', async () => {
    const defaults = await bootTestApp(); // depth 12, complexity 5,000
    try {
      // Every space's boards' topics' posts, asked for without `first` (a default page each): refused.
      const nested = `{ spaces { boards { topics { edges { node { posts { edges { node { bodyHtml } } } } } } } } }`;
      expect(expectError(await defaults.gql(nested), 'BAD_USER_INPUT').message).toMatch(/too complex/);
      // Written with `first: 20` it costs the same.
      const cost = (res: { errors?: Array<{ message: string }> }) => Number(/too complex: (\d+)/.exec(res.errors![0].message)![1]);
      const explicit = nested.replace('topics {', 'topics(first: 20) {').replace('posts {', 'posts(first: 20) {');
      expect(cost(await defaults.gql(explicit))).toBe(cost(await defaults.gql(nested)));
      // Lists without paging that hold more than a few items count as what they hold: a roadmap
      // column (100 ideas) or a board’s article tree (taken as 100 articles) with every item's posts is refused.
      const tooComplex = (res: { errors?: Array<{ message: string }> }) => /too complex/.test(res.errors?.[0]?.message ?? '');
      const id = '00000000-0000-4000-8000-000000000000';
      expect(tooComplex(await defaults.gql(`query($id: ID!) { board(id: $id) { articleTree { topic { id title } } } }`, { id }))).toBe(false);
      expect(tooComplex(await defaults.gql(`query($id: ID!) { board(id: $id) { articleTree { topic { posts(first: 20) { edges { node { bodyHtml } } } } } } }`, { id }))).toBe(true);
      expect(tooComplex(await defaults.gql(`query($id: ID!) { roadmap(spaceId: $id) { planned { id title } } }`, { id }))).toBe(false);
      expect(tooComplex(await defaults.gql(`query($id: ID!) { roadmap(spaceId: $id) { planned { posts(first: 20) { edges { node { bodyHtml } } } } } }`, { id }))).toBe(true);
      // A search costs as much as 250 items: under 20 aliases (or costed over a page of 20
      // topics) it is refused before any search runs; for one topic, or a few aliases, it passes
      // the cost limit. (relatedArticles under any list is also refused by its resolver.)
      const related = (n: number) => `query($id: ID!) { board(id: $id) { topics(first: ${n}) { edges { node { relatedArticles(first: 3) { id title } } } } } }`;
      expect(tooComplex(await defaults.gql(related(20), { id }))).toBe(true);
      expect(tooComplex(await defaults.gql(related(5), { id }))).toBe(false);
      expect(tooComplex(await defaults.gql(`query($id: ID!) { topic(id: $id) { relatedArticles { id title } } }`, { id }))).toBe(false);
      const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `s${i}: search(query: "pump ${i}", first: 5) { edges { node { post { id } } } }`).join(' ')} }`;
      expect(tooComplex(await defaults.gql(aliases(20)))).toBe(true);
      expect(tooComplex(await defaults.gql(aliases(3)))).toBe(false);
      const similar = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `s${i}: similarTopics(title: "pump ${i}") { id }`).join(' ')} }`;
      expect(tooComplex(await defaults.gql(similar(20)))).toBe(true);
      expect(tooComplex(await defaults.gql(similar(3)))).toBe(false);
      // A topic page of 50 posts with their authors and reactions passes.
      expectOk(await defaults.gql(`query($id: ID!) { topic(id: $id) { id posts(first: 50) { edges { node { id bodyHtml author { id handle } reactions { kind count } myReactions } } } } }`, { id: '00000000-0000-4000-8000-000000000000' }).then((r) => ({ ...r, errors: r.errors?.filter((e) => e.extensions.code !== 'NOT_FOUND') })));
    } finally {
      await defaults.close();
    }
  });

  it('costs a document by the values of its variables, whichever came first, as it costs them written out', async () => {
    // The cost of a document is kept per text, by the variables it depends on (a page's
    // `first`, a directive's `if`, what a field's own complexity reads): each answer must
    // be the one the same query with the values written into it gets.
    const id = '00000000-0000-4000-8000-000000000000';
    const page = (n: string, more: string) =>
      `topic(id: $id) { posts(first: ${n}) { edges { node { id author { id handle } revisions @include(if: ${more}) { number } } } } }`;
    const pageDoc = `query($id: ID!, $n: Int, $more: Boolean!) { ${page('$n', '$more')} }`;
    const searches = (f: string) => `a: search(query: ${f === '$f' ? '$q' : '"pump"'}, first: ${f}) { edges { node { post { id } } } } b: search(query: "valve", first: ${f}) { edges { node { post { id } } } }`;
    const searchDoc = `query($q: String!, $f: Int) { ${searches('$f')} }`;
    const message = async (query: string, variables: Record<string, unknown>) => (await t.gql(query, variables)).errors?.[0]?.message;
    const asked: Array<[string, Record<string, unknown>, string]> = [
      [pageDoc, { id, n: 60, more: false }, `query($id: ID!) { ${page('60', 'false')} }`],
      [pageDoc, { id, n: 90, more: false }, `query($id: ID!) { ${page('90', 'false')} }`],
      [pageDoc, { id, n: 60, more: true }, `query($id: ID!) { ${page('60', 'true')} }`],
      [pageDoc, { id: '00000000-0000-4000-8000-000000000001', n: 60, more: false }, `query($id: ID!) { ${page('60', 'false')} }`],
      [searchDoc, { q: 'pump', f: 5 }, `{ ${searches('5')} }`],
      [searchDoc, { q: 'other words', f: 40 }, `{ ${searches('40')} }`],
      [searchDoc, { q: 'pump', f: 5 }, `{ ${searches('5')} }`],
    ];
    const seen = new Set<string>();
    for (const [doc, variables, written] of asked) {
      const got = await message(doc, variables);
      expect(got).toMatch(/too complex: \d+/);
      expect([variables, got]).toEqual([variables, await message(written, written.includes('$id') ? { id: variables.id } : {})]);
      seen.add(got!);
    }
    // Different values cost differently: the comparison above is not between equal numbers.
    expect(seen.size).toBe(5);
  });

  it('keeps no more than its bound of query texts in the document cache, comments and all', async () => {
    // Apollo's cache of parsed documents sized each by its syntax tree written out as JSON,
    // which holds neither comments nor the text, while each tree keeps its whole text (every
    // node's location points at it): a 1 MB text of comments counted as a few bytes, so
    // anyone could make the 30 MiB cache hold gigabytes.
    const before = heap();
    for (let i = 0; i < 200; i++) {
      const res = await request(t.http).post('/graphql').send({ query: `{ __typename } # ${i} ${'x'.repeat(400_000)}` });
      expect([res.status, res.body.errors]).toEqual([200, undefined]);
    }
    // 80 MB of text sent; the cache may keep 30 MiB of it.
    expect(heap() - before).toBeLessThan(45 * 1024 * 1024);
  }, 120_000);

  it('refuses NUL characters as bad input, in variables and in the query text alike, and writes nothing', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const create = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`;
    const nul = expectError(await t.gql(create, { input: { name: 'nul\u0000group', slug: 'nul-group' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expect(nul.message).toMatch(/NUL/);
    // Named as the input's own checks name fields: inside the variable, a list's element by its index.
    expect(nul.extensions.fields).toEqual([{ field: 'name', message: nul.message }]);
    const ids = expectError(await t.gql(`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`, { ids: [newId(), 'a\u0000b'] }, { token: admin.token }), 'BAD_USER_INPUT');
    expect(ids.extensions.fields).toEqual([{ field: 'ids[1]', message: ids.message }]);
    expectError(await t.gql(`{ user(handle: "a\\u0000b") { id } }`), 'BAD_USER_INPUT');
    expect(await t.sql(`SELECT 1 FROM groups WHERE name LIKE 'nul%'`)).toEqual([]);
  });

  it('refuses lone UTF-16 surrogates, as variables, keys or literals, and writes nothing', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const create = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`;
    const lone = expectError(await t.gql(create, { input: { name: 'lone \ud800 group', slug: 'lone-group' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expect(lone.message).toMatch(/well-formed Unicode/);
    expect(lone.extensions.fields).toEqual([{ field: 'name', message: lone.message }]);
    expectError(await t.gql(`{ user(handle: "a\\udc00b") { id } }`), 'BAD_USER_INPUT');
    // The e-mail validator would throw on it (URIError) rather than refuse it.
    const SIGN_UP = `mutation($i: SignUpInput!) { signUp(input: $i) { token } }`;
    expectError(await t.gql(SIGN_UP, { i: { email: 'a\ud800@example.com', handle: 'lonesurrogate', password: 'long enough password' } }), 'BAD_USER_INPUT');
    expectError(await t.gql(`{ me { id } }`, { ['key\udfff']: 1 }), 'BAD_USER_INPUT');
    // A surrogate pair is one character like any other.
    expectOk(await t.gql(create, { input: { name: 'pair \ud83d\ude00 group', slug: 'pair-group' } }, { token: admin.token }));
    expect(await t.sql(`SELECT name FROM groups WHERE slug IN ('lone-group', 'pair-group')`)).toEqual([{ name: 'pair 😀 group' }]);
  });

  it('refuses variables nested deeper than any input, without walking them recursively', async () => {
    // Written out by hand: JSON.stringify itself would run out of stack.
    const deep = `${'['.repeat(20_000)}"leaf"${']'.repeat(20_000)}`;
    const res = await request(t.http).post('/graphql').set('content-type', 'application/json').send(`{"query": "{ me { id } }", "variables": {"x": ${deep}}}`);
    expect([res.status, res.body.errors[0].extensions.code]).toEqual([400, 'BAD_USER_INPUT']);
    expect(res.body.errors[0].message).toMatch(/nest at most 64 levels/);
  });

  it('refuses a query text of more than 2,000 tokens before parsing it deeply', async () => {
    const nested = `{${'a{'.repeat(3000)}b${'}'.repeat(3000)}}`;
    const err = expectError(await t.gql(nested), 'BAD_USER_INPUT');
    expect(err.message).toMatch(/2000 tokens/);
  });

  it('in production, keeps field suggestions out of errors and sends the standard security headers', async () => {
    const prod = await bootTestApp({ NODE_ENV: 'production' });
    try {
      const res = await prod.gql(`{ mee { id } }`);
      expect(res.errors![0].message).not.toMatch(/Did you mean/);
      expect((await t.gql(`{ mee { id } }`)).errors![0].message).toMatch(/Did you mean "me"/);
      for (const path of ['/health', '/unsubscribe?token=x']) {
        const { headers } = await request(prod.http).get(path);
        expect(headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'referrer-policy': 'no-referrer' });
        expect(headers['content-security-policy']).toContain("frame-ancestors 'self'");
        expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      }
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      // Where GraphiQL is served (outside production) its CDN scripts must load: no policy there.
      expect((await request(t.http).get('/health')).headers['content-security-policy']).toBeUndefined();
    } finally {
      await prod.close();
    }
  });

  it('answers a body that is not JSON, or too large, with a coded error and nothing of the body', async () => {
    const broken = await request(t.http).post('/graphql').set('content-type', 'application/json').send('{"query": "{ me { id } }", sekrit');
    expect(broken.status).toBe(400);
    const unreadable = 'The request body could not be read as JSON';
    expect(broken.body).toEqual({ errors: [{ message: unreadable, extensions: { code: 'BAD_USER_INPUT', fields: [{ field: '', message: unreadable }] } }] });
    expect(broken.text).not.toContain('sekrit');
    const huge = await request(t.http).post('/graphql').set('content-type', 'application/json').send(JSON.stringify({ query: `{ me { id } }`, variables: { x: 'y'.repeat(2 * 1024 * 1024) } }));
    expect(huge.status).toBe(413);
    expect(huge.body.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', fields: [{ field: '', message: 'The request body is too large' }] });
    // Said to be gzip, and not.
    const inflate = await request(t.http).post('/graphql').set('content-type', 'application/json').set('content-encoding', 'gzip').send('{"query": "{ me { id } }"}');
    expect([inflate.status, inflate.body.errors[0].extensions.code, inflate.text]).toEqual([400, 'BAD_USER_INPUT', expect.not.stringContaining('incorrect header')]);
    const unknownEncoding = await request(t.http).post('/graphql').set('content-type', 'application/json').set('content-encoding', 'zstd-nope').send('{}');
    expect([unknownEncoding.status, unknownEncoding.body.errors[0].extensions.code]).toEqual([415, 'BAD_USER_INPUT']);
  });

  it('refuses automatic persisted queries as bad input, however they are asked for', async () => {
    const asked = [
      { extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } },
      { query: '{ me { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } },
      { query: '{ me { id } }', extensions: { persistedQuery: { version: 2, sha256Hash: 'abc' } } },
    ];
    for (const body of asked) {
      const res = await request(t.http).post('/graphql').set('content-type', 'application/json').send(JSON.stringify(body));
      // (Apollo answers this one with HTTP 200, as the persisted-query protocol has it.)
      expect([JSON.stringify(body), res.body.errors[0].extensions.code, res.body.data]).toEqual([JSON.stringify(body), 'BAD_USER_INPUT', undefined]);
    }
  });

  it('refuses GraphQL sent as a form, which a cross-site page could post (CSRF)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const mutation = `mutation { createGroup(input: { name: "csrf-made" }) { id } }`;
    // The two bodies a page on another site can post with the session cookie and no preflight.
    const asForm = await request(t.http).post('/graphql').set('cookie', `parvis_session=${admin.token}`).type('form').send({ query: mutation });
    const asText = await request(t.http).post('/graphql').set('cookie', `parvis_session=${admin.token}`).set('content-type', 'text/plain').send(JSON.stringify({ query: mutation }));
    for (const res of [asForm, asText]) {
      expect(res.status).toBe(400);
      expect(res.body.data).toBeUndefined();
    }
    expect(await t.sql(`SELECT 1 FROM groups WHERE name = 'csrf-made'`)).toEqual([]);
  });

  it('answers forged cursors with BAD_USER_INPUT, never INTERNAL', async () => {
    const mod = await makeUser(t, { role: 'MODERATOR' });
    // Under each list's own name (see encodeCursor), so the values themselves are what is refused.
    const names: Record<string, string> = {
      notifications: 'notifications',
      reviewQueue: 'review:SCORE',
      moderationLog: 'moderation-log',
      mySanctions: 'my-sanctions',
      watchedWords: 'watched-words',
      articlesInReview: 'articles-in-review',
      staleArticles: 'stale-articles',
      bookmarks: 'bookmarks',
    };
    const cursor = (query: string, values: unknown[]) => encodeCursor(names[/\{ (\w+)\(/.exec(query)![1]], values);
    const id = '01a207d7-22e1-733a-9303-5a2047c59e37';
    const cases: Array<[string, unknown[]]> = [
      [`query($a: String) { notifications(first: 5, after: $a) { totalCount } }`, ['garbage', id]],
      [`query($a: String) { reviewQueue(first: 5, after: $a) { totalCount } }`, ['1', 'yesterday', id]],
      [`query($a: String) { reviewQueue(first: 5, after: $a) { totalCount } }`, ['9'.repeat(30), '2026-11-23 10:31:15.123456+00', id]],
      [`query($a: String) { moderationLog(first: 5, after: $a) { totalCount } }`, ['99999999999999999999']],
      [`query($a: String) { mySanctions(first: 5, after: $a) { totalCount } }`, ['not-an-id']],
      [`query($a: String) { watchedWords(first: 5, after: $a) { totalCount } }`, [42]],
      // Offsets PostgreSQL cannot read, and dates only JavaScript reads.
      [`query($a: String) { notifications(first: 5, after: $a) { totalCount } }`, ['2020-01-01 00:00:00+00:99', id]],
      [`query($a: String) { reviewQueue(first: 5, after: $a) { totalCount } }`, ['1', '2020-01-01 00:00:00+15:60', id]],
      [`query($a: String, $s: ID!) { articlesInReview(spaceId: $s, first: 5, after: $a) { totalCount } }`, ['0', id]],
      [`query($a: String, $s: ID!) { staleArticles(spaceId: $s, first: 5, after: $a) { totalCount } }`, ['2020', id]],
      // Values of the wrong JSON type whose text passes the pattern: String([1]) is '1'.
      [`query($a: String) { reviewQueue(sort: SCORE, first: 5, after: $a) { totalCount } }`, [[1], '2024-01-01 00:00:00+00', '01900000-0000-7000-8000-000000000000']],
      [`query($a: String) { reviewQueue(sort: SCORE, first: 5, after: $a) { totalCount } }`, [1, '2024-01-01 00:00:00+00', '01900000-0000-7000-8000-000000000000']],
      [`query($a: String) { moderationLog(first: 5, after: $a) { totalCount } }`, [['1']]],
      [`query($a: String) { moderationLog(first: 5, after: $a) { totalCount } }`, [1]],
      // Ids shaped as UUIDs but of version 0 or of variant c, as no argument or input takes one (isUuid, ids.ts): each kind of keyset.
      [`query($a: String) { mySanctions(first: 5, after: $a) { totalCount } }`, ['12345678-1234-0234-8234-123456789012']],
      [`query($a: String) { notifications(first: 5, after: $a) { totalCount } }`, ['2020-01-01 00:00:00+00', '12345678-1234-7234-c234-123456789012']],
      [`query($a: String) { bookmarks(first: 5, after: $a) { totalCount } }`, ['2020-01-01 00:00:00+00', '12345678-1234-0234-8234-123456789012']],
    ];
    const space = await makeSpace(t, 'PUBLIC');
    for (const [query, values] of cases) {
      const err = expectError(await t.gql(query, { a: cursor(query, values), ...(query.includes('$s') ? { s: space.id } : {}) }, { token: mod.token }), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'after', message: expect.stringMatching(/not a valid cursor/) }]);
    }
  });

  it('refuses a cursor that another list or another sort handed out, however alike their cursors look', async () => {
    const mod = await makeUser(t, { role: 'MODERATOR' });
    const space = await makeSpace(t, 'PUBLIC');
    const forum = await makeBoard(t, space.id);
    const ideas = await makeBoard(t, space.id, 'IDEAS');
    for (const board of [forum, ideas, forum, ideas]) await createTopic(t, mod.token, board);
    for (let i = 0; i < 2; i++) {
      const target = await makeUser(t);
      await t.sql(`INSERT INTO review_items (id, target_type, target_id, kind) VALUES (gen_random_uuid(), 'USER', $1, 'BAN_PROPOSAL')`, [target.id]);
    }
    const TOPICS = `query($b: ID!, $sort: TopicSort, $a: String) { board(id: $b) { topics(first: 1, sort: $sort, after: $a) { pageInfo { endCursor } } } }`;
    const IDEAS = `query($b: ID!, $sort: IdeaSort, $a: String) { board(id: $b) { ideas(first: 1, sort: $sort, after: $a) { pageInfo { endCursor } } } }`;
    const QUEUE = `query($sort: ReviewSort, $a: String) { reviewQueue(first: 1, sort: $sort, after: $a) { pageInfo { endCursor } } }`;
    const SEARCH = `query($sort: SearchSort, $a: String) { search(query: "topic", first: 1, sort: $sort, after: $a) { totalCount } }`;
    const ask = (query: string, vars: Record<string, unknown>) => t.gql(query, vars, { token: mod.token });
    const cursorOf = async (query: string, vars: Record<string, unknown>) => {
      const data = expectOk(await ask(query, vars));
      const list = data.board?.topics ?? data.board?.ideas ?? data.reviewQueue;
      expect(list.pageInfo.endCursor).toEqual(expect.any(String));
      return list.pageInfo.endCursor as string;
    };
    const newestTopics = await cursorOf(TOPICS, { b: forum, sort: 'NEWEST' });
    const trendingTopics = await cursorOf(TOPICS, { b: forum, sort: 'TRENDING' });
    const newestIdeas = await cursorOf(IDEAS, { b: ideas, sort: 'NEWEST' });
    const trendingIdeas = await cursorOf(IDEAS, { b: ideas, sort: 'TRENDING' });
    const byScore = await cursorOf(QUEUE, { sort: 'SCORE' });
    const cases: Array<[string, string, Record<string, unknown>, string]> = [
      // Same list, another sort of the same shape.
      ['topics NEWEST → LATEST_ACTIVITY', TOPICS, { b: forum, sort: 'LATEST_ACTIVITY', a: newestTopics }, 'is not a valid cursor for this sort'],
      ['ideas NEWEST → RECENTLY_UPDATED', IDEAS, { b: ideas, sort: 'RECENTLY_UPDATED', a: newestIdeas }, 'is not a valid cursor for this sort'],
      ['reviewQueue SCORE → AGE', QUEUE, { sort: 'AGE', a: byScore }, 'is not a valid cursor for this sort'],
      ['ideas TRENDING → TOP', IDEAS, { b: ideas, sort: 'TOP', a: trendingIdeas }, 'is not a valid cursor for this sort'],
      // Another list: positions in one order are not positions in another.
      ['topics TRENDING → ideas TRENDING', IDEAS, { b: ideas, sort: 'TRENDING', a: trendingTopics }, 'is not a valid cursor'],
      ['ideas TRENDING → topics TRENDING', TOPICS, { b: ideas, sort: 'TRENDING', a: trendingIdeas }, 'is not a valid cursor'],
      ['topics TRENDING → search', SEARCH, { sort: 'RELEVANCE', a: trendingTopics }, 'is not a valid cursor'],
      ['topics NEWEST → ideas NEWEST', IDEAS, { b: ideas, sort: 'NEWEST', a: newestTopics }, 'is not a valid cursor'],
    ];
    for (const [name, query, vars, message] of cases) {
      const res = await ask(query, vars);
      expect([name, res.errors?.[0]?.extensions]).toEqual([name, expect.objectContaining({ code: 'BAD_USER_INPUT', fields: [{ field: 'after', message }] })]);
    }
    // Each list still takes its own.
    expectOk(await ask(TOPICS, { b: forum, sort: 'NEWEST', a: newestTopics }));
    expectOk(await ask(IDEAS, { b: ideas, sort: 'TRENDING', a: trendingIdeas }));
    expectOk(await ask(QUEUE, { sort: 'SCORE', a: byScore }));
  });

  it('answers unknown fields with BAD_USER_INPUT', async () => {
    expectError(await t.gql(`{ nothingHere }`), 'BAD_USER_INPUT');
  });

  it('names what is wrong in extensions.fields for every BAD_USER_INPUT, request-level ones included', async () => {
    const SIGN_UP = `mutation($i: SignUpInput!) { signUp(input: $i) { token } }`;
    const CREATE = `mutation($i: CreateTopicInput!) { createTopic(input: $i) { id } }`;
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [`{ nothingHere }`, {}, 'nothingHere'],
      [`{ topic { id } }`, {}, 'id'],
      [`{ topic(id: "x", colour: 1) { id } }`, {}, 'colour'],
      [SIGN_UP, { i: { handle: 'nobody', password: 'long enough password' } }, 'email'],
      [CREATE, { i: { boardId: '00000000-0000-0000-0000-000000000000', title: 'A title', body: 'Body', kind: 'POEM' } }, 'kind'],
      [SIGN_UP, {}, 'i'],
      [`{ spaces { boards { space { boards { space { boards { space { id } } } } } } } }`, {}, ''],
    ];
    for (const [query, variables, field] of cases) {
      const err = expectError(await t.gql(query, variables), 'BAD_USER_INPUT');
      expect([query, err.extensions.fields]).toEqual([query, [{ field, message: err.message }]]);
    }
  });

  it('hides internals behind INTERNAL with a correlation id', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    await t.sql(`ALTER TABLE groups RENAME TO groups_gone`);
    try {
      const err = expectError(await t.gql(`{ groups { id } }`, {}, { token: admin.token }), 'INTERNAL');
      expect(err.extensions.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(err)).not.toMatch(/groups_gone|relation "|SELECT|at [A-Za-z]+ \(|node_modules/i);
    } finally {
      await t.sql(`ALTER TABLE groups_gone RENAME TO groups`);
    }
  });
});
