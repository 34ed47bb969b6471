import { graphql, GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { withPreloadedFields } from './preloaded-fields';

describe('withPreloadedFields', () => {
  const calls: string[] = [];
  const Post = new GraphQLObjectType({
    name: 'Post',
    fields: {
      author: { type: GraphQLString, extensions: { preloaded: true }, resolve: (p: { id: string }) => (calls.push(`author ${p.id}`), `loaded-${p.id}`) },
      myReactions: { type: new GraphQLList(GraphQLString), extensions: { preloaded: true } },
      title: { type: GraphQLString, resolve: (p: { id: string }) => (calls.push(`title ${p.id}`), `title-${p.id}`) },
    },
  });
  const posts = [
    { id: 'a', preloaded: { author: 'ada', myReactions: [] as string[], title: 'not used: title is not marked' } },
    { id: 'b', myReactions: ['LIKE'] },
  ];
  const schema = withPreloadedFields(
    new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: { posts: { type: new GraphQLList(Post), resolve: () => posts } } }) }),
  );

  it('answers marked fields from `preloaded`, calls the resolver when the value is missing, and leaves other fields alone', async () => {
    const res = await graphql({ schema, source: '{ posts { author myReactions title } }' });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      posts: [
        { author: 'ada', myReactions: [], title: 'title-a' },
        { author: 'loaded-b', myReactions: ['LIKE'], title: 'title-b' },
      ],
    });
    expect([...calls].sort()).toEqual(['author b', 'title a', 'title b']);
  });
});
