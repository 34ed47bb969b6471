import { GraphQLModule } from '@nestjs/graphql';
import { execute, GraphQLBoolean, GraphQLFieldConfig, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import request from 'supertest';
import { ParvisApolloDriver } from '../../apps/api/src/jit-driver';
import { COMPILED_GIVE_UP_AFTER, COMPILED_RETRY_AFTER, compiledQueriesGateway } from '../../libs/core/src/graphql/compiled-queries';
import { sessionSetup } from '../../libs/core/src/database/session-settings';
import { refuseWhileSpeculating, SpeculativeWriteRefused, speculating } from '../../libs/core/src/graphql/speculation';
import { Viewer } from '../../libs/core/src/graphql/viewer';
import { TOPIC_PAGE_QUERY } from '../bench/bench-support';
import { createTopic, reply, setPostState, setTopicState } from '../factories/forum';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { bootSecondNode, bootTestApp, TestApp } from '../support/test-app';

/**
 * The compiled fast path (GRAPHQL_JIT, compiled-queries.ts) against graphql-js: two nodes on one
 * database, one with it and one without (the default), asked the same requests; their answers
 * must be the same bytes, and the statements they cost are compared.
 */
describe('compiled queries (GRAPHQL_JIT) answer exactly as graphql-js does', () => {
  let jit: TestApp;
  let js: TestApp;
  let member: TestUser;
  let spaceId: string;
  let boardId: string;
  let topicId: string;

  /** The jit node's compiled path (a private field of its driver: a test seam, not its API). */
  const gatewayOf = (t: TestApp) => (t.get(GraphQLModule).graphQlAdapter as ParvisApolloDriver)['compiledQueries']!;
  const stats = () => gatewayOf(jit).stats;

  async function ask(t: TestApp, query: string, variables: Record<string, unknown>, token?: string): Promise<{ status: number; body: string; count: number }> {
    let res!: request.Response;
    const { count } = await t.countStatements(async () => {
      let req = request(t.http).post('/graphql').set('content-type', 'application/json');
      if (token) req = req.set('authorization', `Bearer ${token}`);
      res = await req.send({ query, variables });
    });
    return { status: res.status, body: res.text, count };
  }

  /**
   * Both nodes' answers to one request: the same status and bytes; the statement counts of each.
   * Asked as the member unless `token` says otherwise; `null` is a signed-out reader (`undefined`
   * would take the default, the member).
   */
  async function both(query: string, variables: Record<string, unknown> = {}, token: string | null = member.token) {
    const fast = await ask(jit, query, variables, token ?? undefined);
    const plain = await ask(js, query, variables, token ?? undefined);
    expect(fast.body).toBe(plain.body);
    expect(fast.status).toBe(plain.status);
    return { body: JSON.parse(plain.body), jit: fast.count, js: plain.count };
  }

  beforeAll(async () => {
    jit = await bootTestApp({ GRAPHQL_JIT: 'true' });
    js = await bootSecondNode(jit, { GRAPHQL_JIT: 'false' });
    member = await makeUser(jit, { trustLevel: 3 });
    spaceId = (await makeSpace(jit, 'PUBLIC')).id;
    boardId = await makeBoard(jit, spaceId);
    topicId = (await createTopic(jit, member.token, boardId, { title: 'Grinding coffee for espresso', body: 'Which **burr** grinder?' })).id;
    await createTopic(jit, member.token, boardId, { title: 'Descaling an espresso machine' });
    for (const body of ['A conical one', 'Flat burrs, *always*', 'Hand grinders work too']) {
      const other = await makeUser(jit, { trustLevel: 3 });
      await reply(jit, other.token, topicId, body);
    }
  });
  afterAll(async () => {
    await js?.close();
    await jit?.close();
  });

  it('answers the topic page compiled, with the same bytes and the same three statements', async () => {
    const before = { ...stats() };
    for (const token of [member.token, null]) {
      const r = await both(TOPIC_PAGE_QUERY, { id: topicId }, token);
      expect(r.body.data.topic.posts.edges).toHaveLength(4);
      expect(r.body.errors).toBeUndefined();
      expect(r).toMatchObject({ jit: 3, js: 3 });
    }
    expect(stats().compiledAnswers - before.compiledAnswers).toBe(2);
    expect(stats().fallbacks).toBe(before.fallbacks);
  });

  it('answers a failing list item with graphql-js’s single error', async () => {
    const before = { ...stats() };
    const r = await both(`query($id: ID!) { board(id: $id) { topics(first: 10) { edges { node { id suggestedTopics { id } } } } } }`, { id: boardId });
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(stats().fallbacks - before.fallbacks).toBe(1);
    expect(r).toMatchObject({ js: 3, jit: 4 });
  });

  it('answers a refused argument beside a sibling root field as graphql-js does (data null)', async () => {
    const before = { ...stats() };
    const r = await both(`{ roadmap(spaceId: "not-a-uuid") { planned { id } } spaces { id } }`);
    expect(r.body.data).toBeNull();
    expect(r.body.errors).toHaveLength(1);
    expect(stats().fallbacks - before.fallbacks).toBe(1);
    expect(r).toMatchObject({ js: 1, jit: 2 });
  });

  it('answers an unknown id as graphql-js does', async () => {
    const r = await both(`query($id: ID!) { topic(id: $id) { id title } spaces { id } }`, { id: '00000000-0000-4000-8000-000000000000' });
    expect(r.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(r.jit).toBeGreaterThanOrEqual(r.js);
  });

  it('answers a variable of the wrong type and a missing one as graphql-js does', async () => {
    await both(`query($id: ID!, $n: Int) { topic(id: $id) { posts(first: $n) { edges { node { id } } } } }`, { id: topicId, n: 'many' });
    await both(`query($id: ID!) { topic(id: $id) { id } }`, {});
  });

  it('answers aliases, fragments, variable defaults, @include/@skip, enums, dates and __typename as graphql-js does, compiled', async () => {
    const before = { ...stats() };
    const query = `query Page($id: ID!, $n: Int = 2, $withAuthor: Boolean = true, $skipBoard: Boolean!) {
      first: topic(id: $id) { ...T posts(first: $n) { edges { node { ...P } } } }
      again: topic(id: $id) { t: title kind createdAt board @skip(if: $skipBoard) { id __typename } }
      spaces { id ... on Space { slug } }
    }
    fragment T on Topic { __typename id title closed author @include(if: $withAuthor) { handle } }
    fragment P on Post { number n: number author { ... on User { handle } } }`;
    const cases: Array<{ id: string; n?: number; withAuthor?: boolean; skipBoard: boolean }> = [{ id: topicId, skipBoard: false }, { id: topicId, n: 3, withAuthor: false, skipBoard: true }];
    for (const variables of cases) {
      const r = await both(query, variables);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.first.posts.edges).toHaveLength(variables.n ?? 2);
    }
    expect(stats().compiledAnswers - before.compiledAnswers).toBe(2);
  });

  it('answers introspection, an unknown operation name and several operations without a name as graphql-js does', async () => {
    await both(`{ __schema { queryType { name } } __type(name: "Topic") { name kind fields(includeDeprecated: true) { name type { kind name ofType { name } } } } }`);
    await both(`query A { spaces { id } } query B { spaces { slug } }`);
    const doc = `query A { spaces { id } }`;
    for (const operationName of ['B', 'A']) {
      const fast = await request(jit.http).post('/graphql').set('content-type', 'application/json').send({ query: doc, operationName });
      const plain = await request(js.http).post('/graphql').set('content-type', 'application/json').send({ query: doc, operationName });
      expect(fast.text).toBe(plain.text);
      expect(fast.status).toBe(plain.status);
    }
  });

  it('never compiles a mutation, nor a query naming a field that spends a rate', async () => {
    const before = { ...stats() };
    await both(`mutation($input: MarkReadInput!) { markRead(input: $input) { id lastReadNumber } }`, { input: { topicId, postNumber: 2 } });
    // The search spends the search rate once on each node, and only graphql-js runs it.
    const r = await both(`{ similarTopics(title: "espresso grinder") { id } roadmap(spaceId: "not-a-uuid") { planned { id } } }`);
    expect(r.jit).toBe(r.js);
    expect(stats().graphqlJsOnly - before.graphqlJsOnly).toBe(2);
    expect(stats().compiledAnswers).toBe(before.compiledAnswers);
  });

  it('keeps the compiled path off the driver’s API, and builds none with GRAPHQL_JIT off', () => {
    const driver = jit.get(GraphQLModule).graphQlAdapter as ParvisApolloDriver;
    // @ts-expect-error a private field (tsc fails here if it is public again)
    expect(driver.compiledQueries).toBe(gatewayOf(jit));
    expect(gatewayOf(jit).stats).toBeDefined();
    expect(gatewayOf(js)).toBeUndefined();
  });

  it('keeps compiled operations by document and operation name, bounded', async () => {
    const gateway = gatewayOf(jit);
    const doc = `query A { spaces { id } } query B { spaces { slug } }`;
    const size = gateway.compiled.size;
    for (const operationName of ['A', 'B', 'A']) {
      const res = await request(jit.http).post('/graphql').set('content-type', 'application/json').send({ query: doc, operationName });
      expect(res.body.errors).toBeUndefined();
      expect(Object.keys(res.body.data.spaces[0] ?? { id: 1 })).toEqual([operationName === 'A' ? 'id' : 'slug']);
    }
    expect(gateway.compiled.size - size).toBe(2);
    expect(gateway.compiled.max).toBeLessThanOrEqual(500);
  });

  it('answers a viewer who may not read a restricted space, its board, topic and posts as graphql-js does', async () => {
    const insider = await makeUser(jit, { trustLevel: 3 });
    const restricted = await makeSpace(jit, 'RESTRICTED', [{ userId: insider.id, level: 'PARTICIPATE' }]);
    const hiddenBoard = await makeBoard(jit, restricted.id);
    const secret = await createTopic(jit, insider.token, hiddenBoard, { title: 'Roasting plans for next year' });
    const secretReply = await reply(jit, insider.token, secret.id, 'Only for the roasters');
    // Listed to members only: a signed-out reader's answers differ from the member's.
    const membersOnly = await makeSpace(jit, 'MEMBERS');
    const asks: Array<[string, Record<string, unknown>]> = [
      [`{ spaces { id slug } }`, {}],
      [`query($slug: String!) { space(slug: $slug) { id name boards { id name } } }`, { slug: restricted.slug }],
      [`query($id: ID!) { board(id: $id) { id name topics(first: 10) { totalCount edges { node { id title replyCount } } } } }`, { id: hiddenBoard }],
      [`query($id: ID!) { topic(id: $id) { id title replyCount posts(first: 10) { totalCount edges { node { id bodyHtml } } } } spaces { id } }`, { id: secret.id }],
      [`query($id: ID!) { post(id: $id) { id bodyHtml topic { id title } } }`, { id: secretReply.id }],
    ];
    const before = { ...stats() };
    // Each ask's answers: the insider's, a member's without a grant, a signed-out reader's.
    const answers = asks.map(() => [] as any[]);
    for (const token of [insider.token, member.token, null]) {
      for (const [i, [query, variables]] of asks.entries()) answers[i].push((await both(query, variables, token)).body);
    }
    const [spaces, space, board, topic, post] = answers;
    // The insider reads all of it, compiled.
    expect([spaces[0], space[0], board[0], topic[0], post[0]].map((r) => r.errors)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(spaces[0].data.spaces.map((s: { id: string }) => s.id)).toContain(restricted.id);
    expect(board[0].data.board.topics).toMatchObject({ totalCount: 1, edges: [{ node: { id: secret.id, replyCount: 1 } }] });
    expect(topic[0].data.topic.posts.totalCount).toBe(2);
    expect(topic[0].data.topic.posts.edges).toHaveLength(2);
    expect(post[0].data.post.topic.id).toBe(secret.id);
    // A member without a grant, and a signed-out reader: not listed, and NOT_FOUND by id, the siblings kept.
    for (const who of [1, 2]) {
      expect(spaces[who].data.spaces.map((s: { id: string }) => s.id)).not.toContain(restricted.id);
      for (const [answer, field] of [[space[who], 'space'], [board[who], 'board'], [topic[who], 'topic'], [post[who], 'post']] as const) {
        expect(answer.data[field]).toBeNull();
        expect(answer.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['NOT_FOUND']);
      }
      expect(topic[who].data.spaces).toEqual(spaces[who].data.spaces.map(({ id }: { id: string }) => ({ id })));
    }
    expect([spaces[1], spaces[2]].map((r) => r.data.spaces.some((s: { id: string }) => s.id === membersOnly.id))).toEqual([true, false]);
    // What the insider asked, and the two lists of spaces, were answered compiled; the refusals by graphql-js.
    expect(stats().compiledAnswers - before.compiledAnswers).toBe(7);
    expect(stats().fallbacks - before.fallbacks).toBe(8);
  });

  it('answers the lists that leave out a restricted space’s content without an error (the feed, a profile’s posts and counts) as graphql-js does, compiled', async () => {
    // An error sends any answer to graphql-js; what is left out of a list without one is where the compiled path alone answers.
    const insider = await makeUser(jit, { trustLevel: 3 });
    const restricted = await makeSpace(jit, 'RESTRICTED', [{ userId: insider.id, level: 'PARTICIPATE' }]);
    const secret = await createTopic(jit, insider.token, await makeBoard(jit, restricted.id), { title: 'Green bean suppliers' });
    const secretReply = await reply(jit, insider.token, secret.id, 'The one from the coast');
    const open = await createTopic(jit, insider.token, boardId, { title: 'Cupping notes' });
    const openReply = await reply(jit, insider.token, open.id, 'Bright and sweet');
    const feed = `{ topics(first: 100) { totalCount edges { node { id title } } } }`;
    const profile = `query($handle: String!) { user(handle: $handle) { postCount topicCount posts(first: 10) { totalCount edges { node { id bodyHtml } } } } }`;
    const before = { ...stats() };
    const seen = [];
    for (const token of [insider.token, member.token, null]) {
      const topics = (await both(feed, {}, token)).body.data.topics;
      expect(topics.totalCount).toBe(topics.edges.length);
      const user = (await both(profile, { handle: insider.handle }, token)).body.data.user;
      expect(user.posts.totalCount).toBe(user.posts.edges.length);
      const ids = [...topics.edges, ...user.posts.edges].map((e: { node: { id: string } }) => e.node.id);
      seen.push({ secret: [secret.id, secretReply.id].filter((id) => ids.includes(id)).length, open: [open.id, openReply.id].filter((id) => ids.includes(id)).length, posts: user.posts.totalCount, postCount: user.postCount, topicCount: user.topicCount });
    }
    const outside = { secret: 0, open: 2, posts: 2, postCount: 1, topicCount: 1 };
    expect(seen).toEqual([{ secret: 2, open: 2, posts: 4, postCount: 2, topicCount: 2 }, outside, outside]);
    expect(stats().compiledAnswers - before.compiledAnswers).toBe(6);
    expect(stats().fallbacks).toBe(before.fallbacks);
  });

  it('answers hidden, deleted and held posts and a held topic as graphql-js does, to their authors, a moderator and others', async () => {
    const [hider, holder, moderator] = [await makeUser(jit, { trustLevel: 3 }), await makeUser(jit, { trustLevel: 3 }), await makeUser(jit)];
    const space = await makeSpace(jit, 'PUBLIC', [{ userId: moderator.id, level: 'MODERATE' }]);
    const board = await makeBoard(jit, space.id);
    const topic = await createTopic(jit, member.token, board, { title: 'Milk steaming technique' });
    const hidden = await reply(jit, hider.token, topic.id, 'Hidden by a moderator');
    const deleted = await reply(jit, hider.token, topic.id, 'Deleted later');
    const held = await reply(jit, holder.token, topic.id, 'Waiting for approval');
    const rejected = await reply(jit, holder.token, topic.id, 'Rejected while held');
    const heldTopic = await createTopic(jit, holder.token, board, { title: 'A held topic' });
    await setPostState(jit, hidden.id, 'HIDDEN');
    await setPostState(jit, deleted.id, 'DELETED');
    await setPostState(jit, held.id, 'PENDING');
    await jit.sql(`UPDATE posts SET state = 'DELETED', deleted_from = 'PENDING' WHERE id = $1`, [rejected.id]);
    await setTopicState(jit, heldTopic.id, 'PENDING');
    const page = `query($id: ID!) { topic(id: $id) { id replyCount posts(first: 50) { totalCount edges { node { id number state bodyHtml bodySource placeholder author { handle } } } } } }`;
    const byIdQuery = `query($id: ID!) { post(id: $id) { id state bodyHtml placeholder } }`;
    const list = `query($id: ID!) { board(id: $id) { topics(first: 10) { totalCount edges { node { id state } } } } }`;
    const heldById = `query($id: ID!) { topic(id: $id) { id state title } }`;
    // Readers with and without a view of them taking turns: no operation is refused three times in a row (COMPILED_GIVE_UP_AFTER).
    const viewers = { anonymous: null, holder: holder.token, member: member.token, moderator: moderator.token, hider: hider.token };
    type Seen = { numbers: number[]; placeholders: number[]; sources: number[]; byId: string[]; topics: number; heldTopic: string };
    const seen: Record<string, Seen> = {};
    const before = { ...stats() };
    for (const [who, token] of Object.entries(viewers)) {
      const posts = (await both(page, { id: topic.id }, token)).body.data.topic.posts;
      expect(posts.totalCount).toBe(posts.edges.length);
      const nodes: Array<{ number: number; bodyHtml: string | null; bodySource: string | null }> = posts.edges.map((e: { node: unknown }) => e.node);
      // Each post by its id: 'full', its placeholder, or 'none' (NOT_FOUND).
      const byId: string[] = [];
      for (const p of [hidden, deleted, held, rejected]) {
        const r = (await both(byIdQuery, { id: p.id }, token)).body;
        byId.push(r.data.post ? (r.data.post.placeholder ?? 'full') : r.errors[0].extensions.code);
      }
      const topics = (await both(list, { id: board }, token)).body.data.board.topics;
      expect(topics.totalCount).toBe(topics.edges.length);
      const heldAnswer = (await both(heldById, { id: heldTopic.id }, token)).body;
      seen[who] = {
        numbers: nodes.map((n) => n.number),
        placeholders: nodes.filter((n) => n.bodyHtml === null).map((n) => n.number),
        sources: nodes.filter((n) => n.bodySource !== null).map((n) => n.number),
        byId,
        topics: topics.totalCount,
        heldTopic: heldAnswer.data.topic?.state ?? heldAnswer.errors[0].extensions.code,
      };
    }
    const [HIDDEN, DELETED] = ['This post was hidden by a moderator.', 'This post was deleted.'];
    const others: Seen = { numbers: [1, 2, 3], placeholders: [2, 3], sources: [], byId: [HIDDEN, DELETED, 'NOT_FOUND', 'NOT_FOUND'], topics: 1, heldTopic: 'NOT_FOUND' };
    // The markdown source: to its author (not once deleted) and moderators only; the member wrote the first post.
    expect(seen).toEqual({
      anonymous: others,
      member: { ...others, sources: [1] },
      hider: { ...others, placeholders: [3], sources: [2], byId: ['full', DELETED, 'NOT_FOUND', 'NOT_FOUND'] },
      holder: { numbers: [1, 2, 3, 4, 5], placeholders: [2, 3, 5], sources: [4], byId: [HIDDEN, DELETED, 'full', DELETED], topics: 2, heldTopic: 'PENDING' },
      moderator: { numbers: [1, 2, 3, 4, 5], placeholders: [], sources: [1, 2, 3, 4, 5], byId: ['full', 'full', 'full', 'full'], topics: 2, heldTopic: 'PENDING' },
    });
    // Every answer without an error was the compiled one (20 + 6 held ones seen); each NOT_FOUND graphql-js's (9).
    expect(stats().compiledAnswers - before.compiledAnswers).toBe(26);
    expect(stats().fallbacks - before.fallbacks).toBe(9);
  });

  it('gives up compiling an operation whose answers keep carrying an error: then it costs graphql-js’s statements alone', async () => {
    const query = `query GoneTopic($id: ID!) { topic(id: $id) { id title } spaces { id } }`;
    const gone = { id: '00000000-0000-4000-8000-000000000001' };
    const before = { ...stats() };
    for (let i = 0; i < COMPILED_GIVE_UP_AFTER; i++) {
      const r = await both(query, gone);
      expect(r.body.errors[0].extensions.code).toBe('NOT_FOUND');
      // The thrown-away compiled run's reads, then graphql-js's.
      expect(r.jit).toBeGreaterThan(r.js);
    }
    expect(stats().gaveUp - before.gaveUp).toBe(1);
    for (let i = 0; i < 2; i++) {
      const r = await both(query, gone);
      expect(r.body.errors[0].extensions.code).toBe('NOT_FOUND');
      expect(r.jit).toBe(r.js);
    }
    expect(stats().fallbacks - before.fallbacks).toBe(COMPILED_GIVE_UP_AFTER);
    expect(stats().graphqlJsOnly - before.graphqlJsOnly).toBe(2);
    // Given up for those variables only: a topic that is there is still answered compiled, anyone's missing ids notwithstanding.
    const there = await both(query, { id: topicId });
    expect(there.body.errors).toBeUndefined();
    expect(stats().compiledAnswers - before.compiledAnswers).toBe(1);
    expect(stats().graphqlJsOnly - before.graphqlJsOnly).toBe(2);
  });

  it('keeps the failure streaks by operation and variables, bounded, and only while failing', async () => {
    const { gateway, run: ask } = await gatewayOver({
      item: {
        type: GraphQLString,
        args: { id: { type: new GraphQLNonNull(GraphQLString) } },
        resolve: (_, { id }: { id: string }) => {
          if (id.startsWith('gone')) throw new Error('gone');
          return id;
        },
      },
    });
    const run = (id: string) => ask(`query($id: String!) { item(id: $id) }`, { id });
    for (let i = 0; i < COMPILED_GIVE_UP_AFTER; i++) await run('gone');
    expect(gateway.stats).toEqual({ compiledAnswers: 0, fallbacks: COMPILED_GIVE_UP_AFTER, graphqlJsOnly: 0, gaveUp: 1 });
    expect(await run('here')).toEqual({ data: { item: 'here' } });
    await run('gone');
    expect(gateway.stats).toEqual({ compiledAnswers: 1, fallbacks: COMPILED_GIVE_UP_AFTER, graphqlJsOnly: 1, gaveUp: 1 });
    expect(gateway.failing.size).toBe(1);
    // Variables too long to keep a streak for: never given up, each run of them pays its thrown-away run.
    for (let i = 0; i < COMPILED_GIVE_UP_AFTER + 1; i++) await run(`gone ${'x'.repeat(2_000)}`);
    expect(gateway.failing.size).toBe(1);
    expect(gateway.stats).toEqual({ compiledAnswers: 1, fallbacks: 2 * COMPILED_GIVE_UP_AFTER + 1, graphqlJsOnly: 1, gaveUp: 1 });
    // Many missing ids, once each: each costs its thrown-away run, none gives up, and the streaks kept stay bounded.
    for (let i = 0; i < 2 * gateway.failing.max; i++) await run(`gone ${i}`);
    expect(gateway.failing.size).toBe(gateway.failing.max);
    expect(gateway.stats).toMatchObject({ fallbacks: 2 * COMPILED_GIVE_UP_AFTER + 1 + 2 * gateway.failing.max, gaveUp: 1 });
  });

  it('tries a given-up operation compiled once in COMPILED_RETRY_AFTER requests, and compiles it again once it answers without an error', async () => {
    let failing = true;
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          item: {
            type: GraphQLString,
            resolve: () => {
              if (failing) throw new Error('gone');
              return 'back';
            },
          },
        },
      }),
    });
    const gateway = compiledQueriesGateway(schema, 10);
    const { executor } = await gateway.load({ apollo: { key: undefined, keyHash: undefined, graphRef: undefined } as never });
    const document = parse(`{ item }`);
    const run = () => executor!({ document, operation: document.definitions[0], request: {}, context: {}, queryHash: 'item' } as never);
    const times = async (n: number) => {
      for (let i = 0; i < n; i++) await run();
    };
    // Thrown away short of the count, then an answer without an error: the count starts again.
    await times(COMPILED_GIVE_UP_AFTER - 1);
    failing = false;
    await run();
    failing = true;
    await times(COMPILED_GIVE_UP_AFTER - 1);
    expect(gateway.stats).toEqual({ compiledAnswers: 1, fallbacks: 2 * (COMPILED_GIVE_UP_AFTER - 1), graphqlJsOnly: 0, gaveUp: 0 });
    // In a row: it gives up, and graphql-js alone runs it until the retry.
    await run();
    await times(COMPILED_RETRY_AFTER - 1);
    expect(gateway.stats).toEqual({ compiledAnswers: 1, fallbacks: 2 * COMPILED_GIVE_UP_AFTER - 1, graphqlJsOnly: COMPILED_RETRY_AFTER - 1, gaveUp: 1 });
    // The retry (the next request) fails too: graphql-js alone again until the next.
    await run();
    expect(gateway.stats).toMatchObject({ compiledAnswers: 1, fallbacks: 2 * COMPILED_GIVE_UP_AFTER, graphqlJsOnly: COMPILED_RETRY_AFTER - 1 });
    await times(COMPILED_RETRY_AFTER - 1);
    expect(gateway.stats).toEqual({ compiledAnswers: 1, fallbacks: 2 * COMPILED_GIVE_UP_AFTER, graphqlJsOnly: 2 * (COMPILED_RETRY_AFTER - 1), gaveUp: 1 });
    // The next retry answers without an error: compiled from then on.
    failing = false;
    expect(await run()).toEqual({ data: { item: 'back' } });
    await times(2);
    expect(gateway.stats).toEqual({ compiledAnswers: 4, fallbacks: 2 * COMPILED_GIVE_UP_AFTER, graphqlJsOnly: 2 * (COMPILED_RETRY_AFTER - 1), gaveUp: 1 });
  });

  it('runs a write nobody marked once: refused while compiled, done by graphql-js', async () => {
    await jit.sql(`CREATE TABLE IF NOT EXISTS jit_writes (n serial PRIMARY KEY)`);
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          record: { type: GraphQLString, resolve: async () => (await jit.ds.query(`INSERT INTO jit_writes DEFAULT VALUES RETURNING n`))[0].n },
          boom: {
            type: GraphQLString,
            resolve: () => {
              throw new Error('boom');
            },
          },
        },
      }),
    });
    const gateway = compiledQueriesGateway(schema, 10);
    const { executor } = await gateway.load({ apollo: { key: undefined, keyHash: undefined, graphRef: undefined } as never });
    // The compiled run has an error (boom) whatever record did: graphql-js runs the request again.
    const document = parse(`{ record boom }`);
    const rc = { document, operation: document.definitions[0], request: {}, context: {}, queryHash: 'record' } as never;
    const result = await executor!(rc);
    expect(result.errors?.map((e) => e.message)).toEqual(['boom']);
    expect(result.data).toEqual({ record: '1', boom: null });
    expect(await jit.sql(`SELECT count(*)::int AS n FROM jit_writes`)).toEqual([{ n: 1 }]);
    expect(gateway.stats).toEqual({ compiledAnswers: 0, fallbacks: 1, graphqlJsOnly: 0, gaveUp: 1 });
    await jit.sql(`DROP TABLE jit_writes`);
  });

  type Fields = Record<string, GraphQLFieldConfig<unknown, { viewer: Viewer }>>;

  /** A gateway over a schema of `fields` alone, and a run of `query` on it as Apollo would hand it over (a viewer of its own). */
  async function gatewayOver(fields: Fields, onRefused?: (statement: string) => void) {
    const gateway = compiledQueriesGateway(new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields }) }), 10, onRefused);
    const { executor } = await gateway.load({ apollo: { key: undefined, keyHash: undefined, graphRef: undefined } as never });
    const run = (query: string, variables?: Record<string, unknown>) => {
      const document = parse(query);
      return executor!({ document, operation: document.definitions[0], request: { variables }, context: { viewer: Viewer.anonymous() }, queryHash: query } as never);
    };
    return { gateway, run };
  }

  /** A gateway over `fields` (one field writing into jit_writes), its runs, the rows written and the warnings of refused statements. */
  async function writingGateway(fields: Fields) {
    await jit.sql(`DROP TABLE IF EXISTS jit_writes`);
    await jit.sql(`CREATE TABLE jit_writes (n serial PRIMARY KEY)`);
    const warnings: string[] = [];
    const { gateway, run } = await gatewayOver(fields, (statement) => warnings.push(statement));
    const writes = async () => (await jit.sql(`SELECT count(*)::int AS n FROM jit_writes`))[0].n;
    return { gateway, run, writes, warnings };
  }
  const insert = () => jit.ds.query(`INSERT INTO jit_writes DEFAULT VALUES RETURNING n`).then((rows: Array<{ n: number }>) => String(rows[0].n));

  it('runs an unmarked write once even when its resolver swallows the refusal, and gives that operation up at once', async () => {
    const { gateway, run, writes } = await writingGateway({ touch: { type: GraphQLString, resolve: () => insert().catch(() => 'not written') } });
    expect(await run(`{ touch }`)).toEqual({ data: { touch: '1' } });
    expect(await writes()).toBe(1);
    expect(await run(`{ touch }`)).toEqual({ data: { touch: '2' } });
    expect(gateway.stats).toEqual({ compiledAnswers: 0, fallbacks: 1, graphqlJsOnly: 1, gaveUp: 1 });
    await jit.sql(`DROP TABLE jit_writes`);
  });

  it('gives an operation refused a statement up whatever its variables: a write the pool does not see is not done twice for each new set', async () => {
    let calls = 0; // a write the pool does not see (Redis, memory), beside the unmarked SQL one
    const { gateway, run, writes } = await writingGateway({
      touch: {
        type: GraphQLString,
        args: { n: { type: GraphQLInt } },
        resolve: () => {
          calls++;
          return insert();
        },
      },
    });
    for (let n = 1; n <= 3; n++) await run(`query($n: Int) { touch(n: $n) }`, { n });
    expect(await writes()).toBe(3);
    expect(calls).toBe(4);
    expect(gateway.stats).toEqual({ compiledAnswers: 0, fallbacks: 1, graphqlJsOnly: 2, gaveUp: 1 });
    await jit.sql(`DROP TABLE jit_writes`);
  });

  it('tries an operation given up for a refused statement compiled once in COMPILED_RETRY_AFTER requests, as one given up for errors, warning once', async () => {
    let writing = true;
    const { gateway, run, writes, warnings } = await writingGateway({ touch: { type: GraphQLString, resolve: () => (writing ? insert() : 'read') } });
    const times = async (n: number) => {
      for (let i = 0; i < n; i++) await run(`{ touch }`);
    };
    await times(COMPILED_RETRY_AFTER);
    expect(gateway.stats).toEqual({ compiledAnswers: 0, fallbacks: 1, graphqlJsOnly: COMPILED_RETRY_AFTER - 1, gaveUp: 1 });
    // The retry is refused too: graphql-js writes once, and it stays given up.
    expect(await run(`{ touch }`)).toEqual({ data: { touch: String(COMPILED_RETRY_AFTER + 1) } });
    expect(await writes()).toBe(COMPILED_RETRY_AFTER + 1);
    expect(gateway.stats).toEqual({ compiledAnswers: 0, fallbacks: 2, graphqlJsOnly: COMPILED_RETRY_AFTER - 1, gaveUp: 1 });
    // Once its run no longer writes (a false positive's resolver changed), the next retry answers compiled, and the rest follow.
    writing = false;
    await times(COMPILED_RETRY_AFTER - 1);
    expect(await run(`{ touch }`)).toEqual({ data: { touch: 'read' } });
    await times(2);
    expect(gateway.stats).toEqual({ compiledAnswers: 3, fallbacks: 2, graphqlJsOnly: 2 * (COMPILED_RETRY_AFTER - 1), gaveUp: 1 });
    expect(warnings).toEqual([expect.stringMatching(/^INSERT INTO jit_writes/)]);
    await jit.sql(`DROP TABLE jit_writes`);
  });

  it('keeps an operation given up for a refused statement given up when a clean run that began before the refusal ends', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { gateway, run, writes, warnings } = await writingGateway({
      touch: { type: GraphQLString, args: { w: { type: GraphQLBoolean } }, resolve: async (_, args: { w?: boolean }) => (args.w ? insert() : gate.then(() => 'read')) },
    });
    const touch = `query($w: Boolean) { touch(w: $w) }`;
    const reading = run(touch, { w: false }); // compiled, waiting at the gate
    await run(touch, { w: true }); // refused meanwhile: given up
    open();
    expect(await reading).toEqual({ data: { touch: 'read' } });
    await run(touch, { w: true }); // still given up: graphql-js alone, no second refusal
    expect(await writes()).toBe(2);
    expect(gateway.stats).toEqual({ compiledAnswers: 1, fallbacks: 1, graphqlJsOnly: 1, gaveUp: 1 });
    expect(warnings).toHaveLength(1);
    await jit.sql(`DROP TABLE jit_writes`);
  });

  it('counts each failing run of the same variables, run at once, towards giving up', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { gateway, run } = await gatewayOver({ boom: { type: GraphQLString, args: { n: { type: GraphQLInt } }, resolve: () => gate.then(() => Promise.reject(new Error('boom'))) } });
    const boom = `query($n: Int) { boom(n: $n) }`;
    const together = Promise.all(Array.from({ length: COMPILED_GIVE_UP_AFTER }, () => run(boom, { n: 1 })));
    open();
    await together;
    expect(gateway.stats).toEqual({ compiledAnswers: 0, fallbacks: COMPILED_GIVE_UP_AFTER, graphqlJsOnly: 0, gaveUp: 1 });
    await run(boom, { n: 1 });
    expect(gateway.stats).toMatchObject({ fallbacks: COMPILED_GIVE_UP_AFTER, graphqlJsOnly: 1 });
  });

  it('runs an unmarked write once when it is memoized on the viewer (graphql-js does not get the compiled run’s refusal)', async () => {
    const { run, writes } = await writingGateway({ record: { type: GraphQLString, resolve: (_, __, ctx) => ctx.viewer.memoize('test:record', insert) } });
    expect(await run(`{ record }`)).toEqual({ data: { record: '1' } });
    expect(await writes()).toBe(1);
    await jit.sql(`DROP TABLE jit_writes`);
  });

  it('answers a null in a non-null position as graphql-js does (the nearest nullable parent nulled, its siblings kept)', async () => {
    const Item = new GraphQLObjectType({ name: 'Item', fields: { must: { type: new GraphQLNonNull(GraphQLString), resolve: (n: number) => (n === 2 ? null : String(n)) } } });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          items: { type: new GraphQLList(Item), resolve: () => [1, 2, 3] },
          strict: { type: new GraphQLList(new GraphQLNonNull(Item)), resolve: () => [1, 2] },
          other: { type: GraphQLString, resolve: () => 'kept' },
        },
      }),
    });
    const { executor } = await compiledQueriesGateway(schema, 10).load({ apollo: { key: undefined, keyHash: undefined, graphRef: undefined } as never });
    const document = parse(`{ items { must } strict { must } other }`);
    const rc = { document, operation: document.definitions[0], request: {}, context: {}, queryHash: 'non-null' } as never;
    expect(JSON.stringify(await executor!(rc))).toBe(JSON.stringify(await execute({ schema, document })));
  });

  it('guards the pool only with GRAPHQL_JIT on: with it off no statement pays for the check', async () => {
    const text = `SELECT 1 AS "set"`; // a read the word match takes for a write
    await expect(speculating.run({}, () => jit.sql(text))).rejects.toThrow(/may write ran inside a compiled query and was refused/);
    expect(await speculating.run({}, () => js.sql(text))).toEqual([{ set: 1 }]);
  });

  it('sets up a connection the pool opens while a compiled query runs (its SETs are not refused)', async () => {
    const sent: string[] = [];
    const client = {
      query: async (text: string) => {
        refuseWhileSpeculating(text);
        sent.push(text);
      },
    };
    await speculating.run({}, () => sessionSetup(60_000)(client));
    expect(sent).toEqual([expect.stringMatching(/^SET DateStyle/)]);
  });

  it('lets the topic page’s reads through while compiled, and refuses writes and locks', () => {
    speculating.run({}, () => {
      expect(() => refuseWhileSpeculating(`SELECT p.id FROM posts p WHERE p.topic_id = $1 ORDER BY p.number LIMIT $2`)).not.toThrow();
      for (const text of [`INSERT INTO x VALUES (1)`, `WITH d AS (DELETE FROM x RETURNING 1) SELECT 1`, `SELECT 1 FROM x FOR UPDATE`, `SELECT nextval('s')`]) {
        expect(() => refuseWhileSpeculating(text)).toThrow(SpeculativeWriteRefused);
      }
    });
    expect(() => refuseWhileSpeculating(`INSERT INTO x VALUES (1)`)).not.toThrow();
  });

  it('refuses while compiled what would change a pooled connection for its next users (its settings, its prepared statements)', () => {
    speculating.run({}, () => {
      for (const text of [`SELECT set_config('statement_timeout', '0', false)`, `RESET statement_timeout`, `DISCARD ALL`, `DEALLOCATE ALL`]) {
        expect(() => refuseWhileSpeculating(text)).toThrow(SpeculativeWriteRefused);
      }
    });
  });

  it('lets a read transaction’s own statements through while compiled (TypeORM’s, SET LOCAL), and refuses what only looks like them', () => {
    const harmless = [
      `START TRANSACTION`,
      `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`,
      `BEGIN READ ONLY`,
      `SAVEPOINT typeorm_1`,
      `RELEASE SAVEPOINT typeorm_1`,
      `ROLLBACK TO SAVEPOINT typeorm_1`,
      `COMMIT`,
      `ROLLBACK`,
      `SET LOCAL statement_timeout = 5000`,
      `SET LOCAL enable_seqscan = off; SET LOCAL lock_timeout = '2s';`,
    ];
    const refused = [
      `SET statement_timeout = 0`,
      `COMMIT PREPARED 'tx'`,
      `SET LOCAL lock_timeout = 1; INSERT INTO x VALUES (1)`,
      `BEGIN; DELETE FROM x`,
      `DO $$ BEGIN INSERT INTO x VALUES (1); END $$`,
      `SET LOCAL search_path = 'a;b'`,
      `COMMIT -- '\nPREPARED 'tx' -- '`, // a comment's quote, counted by a word match, would hide PREPARED
    ];
    speculating.run({}, () => {
      for (const text of harmless) expect(() => refuseWhileSpeculating(text)).not.toThrow();
      for (const text of refused) expect(() => refuseWhileSpeculating(text)).toThrow(SpeculativeWriteRefused);
    });
  });

  it('answers compiled a query whose resolver reads in a transaction (ds.transaction, SET LOCAL, a savepoint)', async () => {
    const { gateway, run } = await gatewayOver({
      read: {
        type: GraphQLString,
        resolve: () =>
          jit.ds.transaction('REPEATABLE READ', async (m) => {
            await m.query(`SET LOCAL statement_timeout = 5000`);
            await m.query(`SAVEPOINT probe`);
            await m.query(`RELEASE SAVEPOINT probe`);
            return (await m.query(`SELECT 'read' AS r`))[0].r;
          }),
      },
    });
    expect(await run(`{ read }`)).toEqual({ data: { read: 'read' } });
    expect(gateway.stats).toEqual({ compiledAnswers: 1, fallbacks: 0, graphqlJsOnly: 0, gaveUp: 0 });
  });
});
