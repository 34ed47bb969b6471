import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLArgument, GraphQLField, GraphQLInputType, GraphQLObjectType, GraphQLSchema, getNamedType, isEnumType, isInputObjectType, isListType, isNonNullType, isObjectType } from 'graphql';
import { newId } from '../../libs/core/src/ids';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { freshIp } from '../support/fresh-ip';
import { TableSnapshots, undocumentedRefusal } from '../support/refusals';
import { documentOf, ofType } from '../support/schema-values';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

/**
 * Every argument of type `ID` a query or a mutation takes, found in the schema the API serves (so
 * a new resolver is covered as it is added): a malformed id is BAD_USER_INPUT naming the argument,
 * for an admin (no permission hides it) and for a caller who is not signed in alike, since
 * arguments are checked before anything else (docs/architecture.md, API hygiene), and it costs the
 * request no statement beyond its session's: no lookup, no rate limit, nothing PostgreSQL could
 * refuse as an error of its own. A well-formed id of nothing, or of a row of another kind, is
 * the service's to answer with a documented code (NOT_FOUND, as a row the caller may not see), and
 * writes nothing.
 */

/** Ids that are none: API.md's ids are UUIDs as the API writes them. */
const MALFORMED: Array<[string, unknown]> = [
  ['not a UUID', 'not-a-uuid'],
  ['empty', ''],
  ['10,000 characters', newId().repeat(300).slice(0, 10_000)],
  ['a number', 12345],
  ['a UUID and a character more', `${newId()}f`],
  ['a UUID without its hyphens', newId().replace(/-/g, '')],
  ['a UUID in braces', `{${newId()}}`],
  // As every id is checked (isUuid, ids.ts, which the inputs' @IsUUID(ID_VERSION) applies): a version 1 to 8 and the RFC's variant.
  ['a UUID of version 0', newId().replace(/^(.{14})./, '$10')],
];

/** Tables a request may change however it ends (see input-fuzz): rate-limit counters. */
const EXCLUDED_TABLES: Record<string, string> = {
  migrations: 'never written by requests',
  rate_events: 'a refused attempt counts against its limit by design',
  rate_tokens: 'search and similarTopics charge a read before they answer',
};

interface IdArgument {
  key: string;
  kind: 'query' | 'mutation';
  field: GraphQLField<unknown, unknown>;
  arg: GraphQLArgument;
}

const isIdArgument = (a: GraphQLArgument) => getNamedType(a.type).name === 'ID';

/** A well-formed value of another argument of the field: an unknown id, or a plain one of its type. */
function wellFormed(a: GraphQLArgument): unknown {
  const named = getNamedType(a.type);
  const one = named.name === 'ID' ? newId() : named.name === 'String' ? 'fuzz' : named.name === 'Boolean' ? false : named.name === 'Int' ? 10 : isEnumType(named) ? named.getValues()[0].value : undefined;
  const list = isListType(isNonNullType(a.type) ? a.type.ofType : a.type);
  return list ? [one] : one;
}

/** The variables with the argument's value `value` (in a list, beside a well-formed id, for a list of ids) and the other required ones well-formed. */
function variablesOf({ field, arg }: IdArgument, value: unknown): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const a of field.args) if (isNonNullType(a.type) || isIdArgument(a)) vars[a.name] = wellFormed(a);
  const list = isListType(isNonNullType(arg.type) ? arg.type.ofType : arg.type);
  vars[arg.name] = list ? [newId(), value] : value;
  return vars;
}

function idArguments(schema: GraphQLSchema): IdArgument[] {
  const out: IdArgument[] = [];
  for (const [kind, root] of [['query', schema.getQueryType()], ['mutation', schema.getMutationType()]] as const) {
    for (const field of Object.values(root!.getFields())) {
      for (const arg of field.args.filter(isIdArgument)) out.push({ key: `${root!.name}.${field.name}(${arg.name})`, kind, field, arg });
    }
  }
  return out;
}

/** An ID field of an input object a root field takes, by its path inside the argument (`target.boardId`). */
interface IdInputField {
  key: string;
  kind: 'query' | 'mutation';
  field: GraphQLField<unknown, unknown>;
  arg: GraphQLArgument;
  path: string[];
}

/** The argument's value with `value` at `path` (the input objects on the way filled as ofType fills them). */
function withAt(arg: GraphQLArgument, path: string[], value: unknown): unknown {
  const root = ofType(arg.type) as Record<string, unknown>;
  let at = root;
  let type = getNamedType(arg.type);
  path.forEach((name, i) => {
    if (!isInputObjectType(type)) throw new Error(`no input at ${path.slice(0, i).join('.')}`);
    const f = type.getFields()[name];
    if (i === path.length - 1) {
      at[name] = isListType(isNonNullType(f.type) ? f.type.ofType : f.type) ? [newId(), value] : value;
      return;
    }
    at[name] ??= ofType(f.type);
    at = at[name] as Record<string, unknown>;
    type = getNamedType(f.type);
  });
  return root;
}

function idInputFields(schema: GraphQLSchema): IdInputField[] {
  const out: IdInputField[] = [];
  const walk = (base: Omit<IdInputField, 'path' | 'key'>, type: GraphQLInputType, path: string[]) => {
    const named = getNamedType(type);
    if (!isInputObjectType(named) || path.length > 3) return;
    for (const f of Object.values(named.getFields())) {
      const at = [...path, f.name];
      if (getNamedType(f.type).name === 'ID') out.push({ ...base, path: at, key: `${base.kind === 'query' ? 'Query' : 'Mutation'}.${base.field.name}(${base.arg.name}: ${at.join('.')})` });
      else walk(base, f.type, at);
    }
  };
  for (const [kind, root] of [['query', schema.getQueryType()], ['mutation', schema.getMutationType()]] as const) {
    for (const field of Object.values(root!.getFields())) for (const arg of field.args) walk({ kind, field, arg }, arg.type, []);
  }
  return out;
}

describe('every ID argument (schema-wide)', () => {
  let t: TestApp;
  let admin: TestUser;
  let schema: GraphQLSchema;
  let ids: IdArgument[];

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN', trustLevel: 4 });
    schema = t.get(GraphQLSchemaHost).schema;
    ids = idArguments(schema);
  });
  afterAll(() => t.close());

  it('finds the ID arguments of the root fields, and no other field takes one', () => {
    expect(ids.length).toBeGreaterThan(40);
    // Such a field would be checked too (withIdArguments wraps every field), but is not reached
    // here: a test of it goes where its parent is built.
    const elsewhere = Object.values(schema.getTypeMap())
      .filter((type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__') && type !== schema.getQueryType() && type !== schema.getMutationType())
      .flatMap((type) => Object.values(type.getFields()).filter((f) => f.args.some(isIdArgument)).map((f) => `${type.name}.${f.name}`));
    expect(elsewhere).toEqual([]);
  });

  /**
   * The answer to a request, and what it cost beyond its session's statements (as a bare
   * `{ __typename }` just before shows them), or null when nothing. Sent once: what the node does
   * on its own time (pushes, the relay's claims, the session sweep) is kept out of both counts
   * (`countStatements`), and the test app runs no outbox worker nor jobs.
   */
  async function sendCounted(doc: string, vars: Record<string, unknown>, opts: { token?: string; ip: string }): Promise<{ res: GqlResult; beyondSession: string | null }> {
    // A session last used 5 minutes before is renewed by the next request (a statement more in
    // one of the two counts): a slow run would reach that, as the last test sets out.
    if (opts.token) await t.sql(`UPDATE sessions SET last_used_at = now() WHERE user_id = $1`, [admin.id]);
    const session = await t.countStatements(() => t.gql(`{ __typename }`, {}, opts));
    let res!: GqlResult;
    const sent = await t.countStatements(async () => (res = await t.gql(doc, vars, opts)));
    const extra = sent.statements.filter((s) => !session.statements.includes(s));
    return { res, beyondSession: sent.count === session.count ? null : `${sent.count - session.count} statements beyond the session's: ${extra.join(' / ').slice(0, 200)}` };
  }

  /** What is wrong with the answer to a malformed id, or null: BAD_USER_INPUT naming the argument and nothing else. */
  function problemOf(res: GqlResult, a: IdArgument): string | null {
    const undocumented = undocumentedRefusal(res);
    if (undocumented) return undocumented;
    if (!res.errors?.length) return `accepted: ${JSON.stringify(res.data).slice(0, 120)}`;
    const [e, ...more] = res.errors;
    const named = (e.extensions.fields ?? []).some((f) => f.field.replace(/\[\d+\]$/, '') === a.arg.name && f.message.length > 0);
    if (e.extensions.code !== 'BAD_USER_INPUT' || !named || more.length) return `${res.errors.map((x) => `${x.extensions.code} ${JSON.stringify(x.extensions.fields ?? x.message)}`).join(', ').slice(0, 160)}`;
    if (res.data?.[a.field.name] != null) return `data ${JSON.stringify(res.data)}`;
    return null;
  }

  it('refuses a malformed id as BAD_USER_INPUT naming the argument, signed in or not, with no statement of its own', async () => {
    const problems: string[] = [];
    for (const a of ids) {
      const doc = documentOf(a);
      for (const who of ['admin', 'anonymous'] as const) {
        const opts = { token: who === 'admin' ? admin.token : undefined, ip: freshIp() };
        for (const [label, value] of MALFORMED) {
          const { res, beyondSession } = await sendCounted(doc, variablesOf(a, value), opts);
          const problem = problemOf(res, a);
          if (problem) problems.push(`${a.key} ${who} ${label}: ${problem}`);
          else if (beyondSession) problems.push(`${a.key} ${who} ${label}: ${beyondSession}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('refuses a malformed id inside an input as BAD_USER_INPUT naming it, signed in or not, with no statement of its own', async () => {
    const fields = idInputFields(schema);
    expect(fields.length).toBeGreaterThan(40);
    const problems: string[] = [];
    for (const f of fields) {
      const doc = documentOf(f);
      const inside = f.path.join('.');
      for (const who of ['admin', 'anonymous'] as const) {
        const opts = { token: who === 'admin' ? admin.token : undefined, ip: freshIp() };
        for (const [label, value] of MALFORMED) {
          const vars: Record<string, unknown> = {};
          for (const a of f.field.args) if (isNonNullType(a.type)) vars[a.name] = ofType(a.type);
          vars[f.arg.name] = withAt(f.arg, f.path, value);
          const { res, beyondSession } = await sendCounted(doc, vars, opts);
          const problem = undocumentedRefusal(res);
          // Named inside the argument (`target.boardId`), or with it where an @ArgsType names it so; list elements by index.
          const named = res.errors?.[0]?.extensions.code === 'BAD_USER_INPUT' && (res.errors[0].extensions.fields ?? []).some((x) => [inside, `${f.arg.name}.${inside}`].includes(x.field.replace(/\[\d+\]|\.\d+(?=\.|$)/g, '')));
          if (problem || !named) problems.push(`${f.key} ${who} ${label}: ${problem ?? (res.errors?.map((x) => `${x.extensions.code} ${JSON.stringify(x.extensions.fields ?? x.message)}`).join(', ').slice(0, 200) || 'accepted')}`);
          else if (beyondSession) problems.push(`${f.key} ${who} ${label}: ${beyondSession}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  /** The strings anywhere in `value` that are `id` in any case. */
  function casesOf(value: unknown, id: string, out: string[] = [], depth = 0): string[] {
    if (typeof value === 'string' && value.toLowerCase() === id) out.push(value);
    else if (value && typeof value === 'object' && depth < 8) for (const v of Object.values(value)) casesOf(v, id, out, depth + 1);
    return out;
  }

  it('hands an id inside an input, sent in capitals, to the resolver in lower case', async () => {
    // What the validation pipe hands the resolver, caught there: a probe's id found in it is
    // recorded and the request refused before the resolver runs (nothing is done).
    const pipe = (t.app as unknown as { config: { getGlobalPipes(): Array<{ transform: (v: unknown, m: unknown) => Promise<unknown> }> } }).config.getGlobalPipes()[0];
    const transform = pipe.transform.bind(pipe);
    let probe = '';
    const seen = new Map<string, string[]>();
    let key = '';
    pipe.transform = async (value, metadata) => {
      const out = await transform(value, metadata);
      // The arguments (`@Args`), not what else a resolver takes through pipes (`@Info`, handed on as it is).
      const found = probe && ['body', 'query'].includes((metadata as { type: string }).type) ? casesOf(out, probe) : [];
      if (found.length) {
        seen.set(key, found);
        throw new Error('probe: the arguments were seen');
      }
      return out;
    };
    try {
      for (const f of idInputFields(schema)) {
        key = f.key;
        probe = newId();
        const vars: Record<string, unknown> = {};
        for (const a of f.field.args) if (isNonNullType(a.type)) vars[a.name] = ofType(a.type);
        vars[f.arg.name] = withAt(f.arg, f.path, probe.toUpperCase());
        await t.gql(documentOf(f), vars, { token: admin.token, ip: freshIp() });
      }
    } finally {
      pipe.transform = transform;
    }
    // Only inputs whose other fields (filled as ofType fills them) pass their checks reach the resolver: 82 of 87 did.
    expect(seen.size).toBeGreaterThan(80);
    expect([...seen].filter(([, found]) => found.some((v) => v !== v.toLowerCase()))).toEqual([]);
  });

  it('answers a well-formed id of nothing, or of a row of another kind, with a documented code and writes nothing', async () => {
    const snapshots = await TableSnapshots.of(t, EXCLUDED_TABLES);
    const author = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const boardId = await makeBoard(t, space.id);
    const topic = await createTopic(t, author.token, boardId);
    const post = await reply(t, author.token, topic.id);
    const problems: string[] = [];
    for (const a of ids) {
      // A post's id, but to an argument that takes a post: then a board's.
      const takesPost = /^post/i.test(a.arg.name) || (a.arg.name === 'id' && getNamedType(a.field.type).name === 'Post');
      const doc = documentOf(a);
      // A request renews a session last used 5 minutes before: a write of signing in, not of the request.
      await t.sql(`UPDATE sessions SET last_used_at = now() WHERE user_id = $1`, [admin.id]);
      const before = await snapshots.take();
      for (const who of ['admin', 'anonymous'] as const) {
        const opts = { token: who === 'admin' ? admin.token : undefined, ip: freshIp() };
        for (const [label, value] of [['unknown', newId()], ['of another kind', takesPost ? boardId : post.id]] as const) {
          const res = await t.gql(doc, variablesOf(a, value), opts);
          const problem = undocumentedRefusal(res);
          if (problem) problems.push(`${a.key} ${who} ${label}: ${problem}`);
        }
      }
      const written = TableSnapshots.changed(before, await snapshots.take());
      if (written.length) problems.push(`${a.key}: wrote to ${written.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  it("leaves an argument class's optional id to this check alone: refused as before, naming it, and one well formed reaches the service, in lower case", async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const topic = await createTopic(t, admin.token, await makeBoard(t, space.id));
    const opts = () => ({ token: admin.token, ip: freshIp() });
    // SpacePageArgs.spaceId (moderationLog, watchedWords) and UserSuggestionsArgs.topicId: no @IsUUID of their own.
    const cases: Array<[string, string, string, string]> = [
      [`query($s: ID) { moderationLog(first: 1, spaceId: $s) { totalCount } }`, 'spaceId', 'must be a space id', space.id],
      [`query($s: ID) { watchedWords(first: 1, spaceId: $s) { totalCount } }`, 'spaceId', 'must be a space id', space.id],
      [`query($s: ID) { userSuggestions(prefix: "a", topicId: $s) { id } }`, 'topicId', 'must be a topic id', topic.id],
    ];
    for (const [doc, field, message, there] of cases) {
      for (const bad of ['nope', '12345678-1234-0234-8234-123456789012', '12345678-1234-7234-c234-123456789012']) {
        const err = expectError(await t.gql(doc, { s: bad }, opts()), 'BAD_USER_INPUT');
        expect([doc, bad, err.extensions.fields]).toEqual([doc, bad, [{ field, message }]]);
      }
      // Not dropped (the pipe keeps only properties with a check): an id of nothing is NOT_FOUND, not the list without it.
      expectError(await t.gql(doc, { s: newId() }, opts()), 'NOT_FOUND');
      expectOk(await t.gql(doc, { s: there.toUpperCase() }, opts()));
    }
  });

  // Their ids checked by withIdArguments alone (no @IsUUID of their own: it never answered, the
  // transform refusing a malformed id first), each still needs a check the pipe's whitelist knows
  // (@IsOptional, @Allow), or the pipe drops it and the service reads no id at all.
  it('hands the ids of argument classes to their resolvers, in lower case: none dropped by the pipe', async () => {
    const classIds = [
      'Query.reviewQueue(spaceId)',
      'Query.similarTopics(spaceId)',
      'Query.similarTopics(boardId)',
      'Query.tags(spaceIds)',
      'Query.ideasCsv(boardId)',
      'Query.staleArticles(spaceId)',
      'Query.articlesInReview(spaceId)',
      'Query.articleBySlug(boardId)',
      'Query.articleRevisionDiff(fromId)',
      'Query.articleRevisionDiff(toId)',
      'Mutation.restoreArticleRevision(revisionId)',
      'Mutation.restoreArticleRevision(topicId)',
      'Mutation.publishArticle(topicId)',
      'Mutation.publishArticle(revisionId)',
      'Query.moderationLog(spaceId)',
      'Query.watchedWords(spaceId)',
      'Query.userSuggestions(topicId)',
    ];
    const pipe = (t.app as unknown as { config: { getGlobalPipes(): Array<{ transform: (v: unknown, m: unknown) => Promise<unknown> }> } }).config.getGlobalPipes()[0];
    const transform = pipe.transform.bind(pipe);
    let probe = '';
    const seen: Record<string, string[]> = {};
    let key = '';
    pipe.transform = async (value, metadata) => {
      const out = await transform(value, metadata);
      // The arguments (`@Args`), not the context (the request's variables as sent) nor `@Info`.
      const found = probe && ['body', 'query'].includes((metadata as { type: string }).type) ? casesOf(out, probe) : [];
      if (found.length) {
        seen[key] = found;
        throw new Error('probe: the arguments were seen');
      }
      return out;
    };
    try {
      for (const a of ids.filter((x) => classIds.includes(x.key))) {
        key = a.key;
        probe = newId();
        await t.gql(documentOf(a), variablesOf(a, probe.toUpperCase()), { token: admin.token, ip: freshIp() });
      }
    } finally {
      pipe.transform = transform;
    }
    expect(seen).toEqual(Object.fromEntries(classIds.map((k) => [k, [expect.stringMatching(/^[0-9a-f-]{36}$/)]])));
  });
});
