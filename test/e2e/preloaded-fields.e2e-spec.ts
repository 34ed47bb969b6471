import { PostsResolver } from '../../libs/forum/src/posts/posts.resolver';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply, setPostState } from '../factories/forum';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

const PAGE = `query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { id state author { handle } myReactions } } } } }`;
const REACT = `mutation($input: ReactionInput!) { react(input: $input) { myReactions } }`;

/**
 * The topic page answers each post's author and myReactions from what its statement
 * loaded, without running Nest's resolver pipeline once per post; the answers must be
 * exactly what the resolvers give.
 */
describe('preloaded fields on the topic page', () => {
  // Spied before the app boots (Nest keeps a reference to the method it wraps), with the
  // decorators' metadata carried over to the spy, where Nest looks for it.
  const spy = (name: 'author' | 'myReactions') => {
    const original = PostsResolver.prototype[name];
    const mock = jest.spyOn(PostsResolver.prototype, name);
    for (const key of Reflect.getMetadataKeys(original)) Reflect.defineMetadata(key, Reflect.getMetadata(key, original), PostsResolver.prototype[name]);
    return mock;
  };
  const author = spy('author');
  const myReactions = spy('myReactions');
  let t: TestApp;
  let writer: TestUser;
  let reader: TestUser;
  let topicId: string;
  let hiddenId: string;
  let likedId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    writer = await makeUser(t);
    reader = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const boardId = await makeBoard(t, space.id);
    const topic = await createTopic(t, writer.token, boardId);
    topicId = topic.id;
    likedId = (await reply(t, writer.token, topicId, 'a reply the reader likes')).id;
    hiddenId = (await reply(t, writer.token, topicId, 'a reply that will be hidden')).id;
    for (const postId of [likedId, hiddenId]) expectOk(await t.gql(REACT, { input: { postId, kind: 'LIKE' } }, { token: reader.token }));
    await setPostState(t, hiddenId, 'HIDDEN');
  });
  afterAll(async () => {
    author.mockRestore();
    myReactions.mockRestore();
    await t.close();
  });

  it('answers authors and myReactions without calling their resolvers, placeholders showing no reactions', async () => {
    author.mockClear();
    myReactions.mockClear();
    const nodes = expectOk(await t.gql(PAGE, { id: topicId }, { token: reader.token })).topic.posts.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => [n.id, n.state, n.author.handle, n.myReactions])).toEqual([
      [expect.any(String), 'VISIBLE', writer.handle, []],
      [likedId, 'VISIBLE', writer.handle, ['LIKE']],
      // The reader did like it, but a placeholder shows nothing of the post, as PostsResolver.myReactions answers.
      [hiddenId, 'HIDDEN', writer.handle, []],
    ]);
    expect(author).not.toHaveBeenCalled();
    expect(myReactions).not.toHaveBeenCalled();
  });

  it('still resolves the same fields where nothing was preloaded', async () => {
    author.mockClear();
    myReactions.mockClear();
    const q = `query($id: ID!) { post(id: $id) { author { handle } myReactions } }`;
    expect(expectOk(await t.gql(q, { id: likedId }, { token: reader.token })).post).toEqual({ author: { handle: writer.handle }, myReactions: ['LIKE'] });
    expect(expectOk(await t.gql(q, { id: hiddenId }, { token: reader.token })).post.myReactions).toEqual([]);
    expect(author).toHaveBeenCalledTimes(2);
    expect(myReactions).toHaveBeenCalledTimes(2);
  });
});
