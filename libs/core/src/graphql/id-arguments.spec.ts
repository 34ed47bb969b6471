import { graphql, GraphQLBoolean, GraphQLID, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { newId } from '../ids';
import { withIdArguments } from './id-arguments';

describe('withIdArguments', () => {
  const calls: string[] = [];
  const id = { type: new GraphQLNonNull(GraphQLID) };
  const User = new GraphQLObjectType({ name: 'User', fields: { id: { type: GraphQLID } } });
  const Invite = new GraphQLObjectType({
    name: 'Invite',
    fields: { id: { type: GraphQLID }, uses: { type: GraphQLString, args: { userId: { type: GraphQLID } }, resolve: (_, a) => (calls.push(`uses ${a.userId}`), 'none') } },
  });
  const ReviewItem = new GraphQLObjectType({ name: 'ReviewItem', fields: { id: { type: GraphQLID } } });
  const Space = new GraphQLObjectType({ name: 'Space', fields: { id: { type: GraphQLID } } });
  const [Article, ArticleRevision, PostRevision, Notification] = ['Article', 'ArticleRevision', 'PostRevision', 'Notification'].map(
    (name) => new GraphQLObjectType({ name, fields: { id: { type: GraphQLID } } }),
  );
  const record = (name: string) => (_: unknown, args: Record<string, unknown>) => (calls.push(`${name} ${JSON.stringify(args)}`), { id: 'x' });
  const schema = withIdArguments(
    new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          user: { type: User, args: { userId: id }, resolve: record('user') },
          invite: { type: Invite, args: { id }, resolve: record('invite') },
          item: { type: ReviewItem, args: { id }, resolve: record('item') },
          diff: { type: GraphQLString, args: { fromId: id, toId: id }, resolve: () => 'diff' },
          tags: { type: GraphQLString, args: { spaceIds: { type: new GraphQLList(new GraphQLNonNull(GraphQLID)) }, handle: { type: GraphQLString } }, resolve: () => 'tags' },
          done: { type: GraphQLBoolean, args: { id }, resolve: () => true },
          publishArticle: { type: Article, args: { revisionId: id }, resolve: record('publish') },
          articleRevisionDiff: { type: GraphQLString, args: { fromId: id }, resolve: () => 'diff' },
          markNotificationsRead: { type: GraphQLInt, args: { ids: { type: new GraphQLList(new GraphQLNonNull(GraphQLID)) } }, resolve: () => 0 },
        },
      }),
      types: [Space, ArticleRevision, PostRevision, Notification],
    }),
  );
  const run = async (source: string) => {
    const res = await graphql({ schema, source });
    return res.errors?.map((e) => ({ code: (e.originalError as { code?: string })?.code, fields: (e.originalError as { details?: { fields?: unknown } })?.details?.fields }));
  };
  const bad = (...fields: Array<[string, string]>) => [{ code: 'BAD_USER_INPUT', fields: fields.map(([field, message]) => ({ field, message })) }];

  beforeEach(() => (calls.length = 0));

  it('refuses what is not a UUID before the resolver runs, naming the argument and the kind of id', async () => {
    expect(await run(`{ user(userId: "x") { id } }`)).toEqual(bad(['userId', 'must be a user id']));
    expect(await run(`{ invite(id: "") { id } }`)).toEqual(bad(['id', 'must be an invite id']));
    expect(await run(`{ item(id: 12) { id } }`)).toEqual(bad(['id', 'must be a review item id']));
    expect(await run(`{ done(id: "${newId().replace(/-/g, '')}") }`)).toEqual(bad(['id', 'must be an id']));
    // What an input's @IsUUID(ID_VERSION) refuses (isUuid, ids.ts): a version of none (0) or past 8, another variant than the RFC's.
    for (const other of ['01234567-89ab-0def-8123-456789abcdef', '01234567-89ab-9def-8123-456789abcdef', '01234567-89ab-7def-c123-456789abcdef']) {
      expect(await run(`{ user(userId: "${other}") { id } }`)).toEqual(bad(['userId', 'must be a user id']));
    }
    // No type named so: the one whose name ends so and whose rest the field's name holds, else the longest type it holds.
    expect(await run(`{ publishArticle(revisionId: "x") { id } }`)).toEqual(bad(['revisionId', 'must be an article revision id']));
    expect(await run(`{ articleRevisionDiff(fromId: "x") }`)).toEqual(bad(['fromId', 'must be an article revision id']));
    expect(await run(`{ markNotificationsRead(ids: ["x"]) }`)).toEqual(bad(['ids', 'each must be a notification id']));
    // Every malformed argument at once, as an input's checks name every field.
    expect(await run(`{ diff(fromId: "a", toId: "b") }`)).toEqual(bad(['fromId', 'must be an id'], ['toId', 'must be an id']));
    expect(await run(`{ tags(spaceIds: ["${newId()}", "b"]) }`)).toEqual(bad(['spaceIds', 'each must be a space id']));
    // A field of any type, not only the root's.
    expect(await run(`{ invite(id: "${newId()}") { uses(userId: "nobody") } }`)).toEqual(bad(['userId', 'must be a user id']));
    expect(calls).toEqual([expect.stringMatching(/^invite /)]);
  });

  it('hands UUIDs (in lower case, as the API writes them), absent ids and other arguments to the resolver as they came', async () => {
    const [a, b] = [newId(), newId().toUpperCase()];
    expect(await run(`{ user(userId: "${a}") { id } item(id: "${b}") { id } tags(handle: "NOT-an-id") diff(fromId: "${a}", toId: "${b}") }`)).toBeUndefined();
    expect(await run(`{ tags(spaceIds: []) invite(id: "${a}") { uses } }`)).toBeUndefined();
    expect(calls).toEqual([`user {"userId":"${a}"}`, `item {"id":"${b.toLowerCase()}"}`, `invite {"id":"${a}"}`, 'uses undefined']);
    calls.length = 0;
    const listed = withIdArguments(
      new GraphQLSchema({
        query: new GraphQLObjectType({
          name: 'Query',
          fields: { read: { type: GraphQLString, args: { ids: { type: new GraphQLList(GraphQLID) }, handle: { type: GraphQLString } }, resolve: (_, args) => JSON.stringify(args) } },
        }),
      }),
    );
    const res = await graphql({ schema: listed, source: `{ read(ids: ["${b}", null, "${a}"], handle: "ABC") }` });
    expect(JSON.parse(res.data?.read as string)).toEqual({ ids: [b.toLowerCase(), null, a], handle: 'ABC' });
  });
});
