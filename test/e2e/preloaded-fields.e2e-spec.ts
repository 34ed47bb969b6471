import { PostsResolver } from '../../libs/forum/src/posts/posts.resolver';
import { TopicsResolver } from '../../libs/forum/src/topics/topics.resolver';
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
  const spy = <T extends object>(proto: T, name: keyof T & string) => {
    const original = proto[name] as object;
    const mock = jest.spyOn(proto, name as never);
    for (const key of Reflect.getMetadataKeys(original)) Reflect.defineMetadata(key, Reflect.getMetadata(key, original), proto[name] as object);
    return mock;
  };
  const author = spy(PostsResolver.prototype, 'author');
  const myReactions = spy(PostsResolver.prototype, 'myReactions');
  const topicAuthor = spy(TopicsResolver.prototype, 'author');
  let t: TestApp;
  let writer: TestUser;
  let reader: TestUser;
  let topicId: string;
  let boardId: string;
  let hiddenId: string;
  let likedId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    writer = await makeUser(t);
    reader = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    boardId = await makeBoard(t, space.id);
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
    topicAuthor.mockRestore();
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

  it('answers the authors of a board’s topic list from the list’s statement', async () => {
    const other = await makeUser(t);
    await createTopic(t, other.token, boardId, { title: 'A second topic' });
    topicAuthor.mockClear();
    const q = `query($b: ID!) { board(id: $b) { topics(first: 10) { edges { node { title author { handle displayName } } } } } }`;
    const nodes = expectOk(await t.gql(q, { b: boardId })).board.topics.edges.map((e: any) => e.node);
    expect(nodes).toEqual([
      { title: 'A second topic', author: { handle: other.handle, displayName: expect.any(String) } },
      { title: expect.any(String), author: { handle: writer.handle, displayName: expect.any(String) } },
    ]);
    expect(topicAuthor).not.toHaveBeenCalled();
    // A topic read on its own still goes through the resolver.
    expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { author { handle } } }`, { id: topicId }));
    expect(topicAuthor).toHaveBeenCalledTimes(1);
  });

  it('leaves the markdown sources out of a page, and loads them in one statement when their author asks', async () => {
    const q = (withSource: boolean) =>
      `query($id: ID!) { topic(id: $id) { posts(first: 50) { edges { node { id bodyHtml ${withSource ? 'bodySource' : ''} } } } } }`;
    const plain = await t.countStatements(() => t.gql(q(false), { id: topicId }, { token: writer.token }));
    let nodes: any[] = [];
    const withSources = await t.countStatements(async () => {
      nodes = expectOk(await t.gql(q(true), { id: topicId }, { token: writer.token })).topic.posts.edges.map((e: any) => e.node);
    });
    expect(plain.statements.join('\n')).not.toMatch(/body_source/);
    expect(withSources.count).toBe(plain.count + 1);
    expect(nodes.map((n) => n.bodySource)).toEqual(['The body', 'a reply the reader likes', 'a reply that will be hidden']);
    // Another reader gets no source, and costs no extra statement.
    const other = await t.countStatements(async () => {
      nodes = expectOk(await t.gql(q(true), { id: topicId }, { token: reader.token })).topic.posts.edges.map((e: any) => e.node);
    });
    expect(nodes.map((n) => n.bodySource)).toEqual([null, null, null]);
    expect(other.count).toBe(plain.count);
  });
});

