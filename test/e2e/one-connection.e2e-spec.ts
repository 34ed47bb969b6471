import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { draftArticle, kb, topicOf } from '../factories/knowledge';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { gateCalls } from '../support/gates';
import { bootOnOneConnection } from '../support/one-connection';
import { expectOk, GqlResult, TestApp } from '../support/test-app';

/**
 * Writes whose transaction reads everything it needs on its own connection: on a pool of one
 * connection, one that asked the pool for another would fail (the pool's timeout), not wait.
 * Those judged again inside their transaction (AccessService.require) ask nothing of the
 * database there: the viewer's access was read with their session, once per request.
 */
describe('writes on a pool of one connection', () => {
  let t: TestApp;
  let admin: TestUser;
  let author: TestUser;
  let reader: TestUser;
  let space: string;
  let elsewhere: string;

  beforeAll(async () => {
    t = await bootOnOneConnection();
    admin = await makeUser(t);
    author = await makeUser(t);
    reader = await makeUser(t);
    space = (await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }])).id;
    elsewhere = (await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }])).id;
  });
  afterAll(() => t.close());

  it('an editor publishing a revision another member wrote: the writer, whose rights its mentions are judged by, read on the transaction', async () => {
    const board = await makeBoard(t, space, 'KNOWLEDGE');
    const id = await draftArticle(t, author.token, board, { title: 'Written by a member, published by an editor' });
    expect(topicOf(await kb(t).publish(admin.token, id)).article.state).toBe('PUBLISHED');
  });

  it('a moderator approving a member’s held edit: its author, as whom the edit is written, and the post and topic as they read them, read on the transaction', async () => {
    const held = (await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }])).id;
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [held]);
    const topic = await createTopic(t, admin.token, await makeBoard(t, held), { title: 'Edits held for review', body: 'x' });
    const member = await makeUser(t, { trustLevel: 3 });
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state bodyHtml } }`;
    const edited = await reply(t, member.token, topic.id, 'a reply');
    expect(expectOk(await t.gql(MOD, { input: { postId: edited.id, action: 'APPROVE' } }, { token: admin.token })).moderatePost.state).toBe('VISIBLE');
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: edited.id, body: 'a reply, edited' } }, { token: member.token }));
    expect(expectOk(await t.gql(MOD, { input: { postId: edited.id, action: 'APPROVE' } }, { token: admin.token })).moderatePost).toEqual({ state: 'VISIBLE', bodyHtml: '<p>a reply, edited</p>\n' });
  });

  it('a moderator undoing on their own post what they did to it themselves (moderatePost UNHIDE, RESTORE): who hid or deleted it read on the transaction', async () => {
    const topic = await createTopic(t, author.token, await makeBoard(t, space), { title: 'A moderator’s own reply, hidden and deleted', body: 'x' });
    const own = await reply(t, admin.token, topic.id, 'my own reply');
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const act = async (action: string) => expectOk(await t.gql(MOD, { input: { postId: own.id, action } }, { token: admin.token })).moderatePost.state;
    expect(await act('HIDE')).toBe('HIDDEN');
    expect(await act('UNHIDE')).toBe('VISIBLE');
    expect(await act('DELETE')).toBe('DELETED');
    expect(await act('RESTORE')).toBe('VISIBLE');
  });

  /**
   * `request` about `topicId` held once it has read the topic where it was, before its
   * transaction (and its connection); a move of the topic to `to`, a board of another space, then
   * runs on the one connection and commits: the request is judged again in that space, inside
   * its transaction. Answers its answer.
   */
  const behindAMove = async (topicId: string, to: string, request: () => Promise<GqlResult>): Promise<GqlResult> => {
    let first = true;
    const gate = gateCalls(t.get(UnitOfWork), 'run', () => first && !(first = false));
    try {
      const requesting = request();
      await gate.begun;
      expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId, boardId: to } }, { token: admin.token }));
      gate.open();
      return await requesting;
    } finally {
      gate.restore();
    }
  };

  it('a space admin changing grants, the space, its boards and its knowledge settings, and an admin creating a space: their access read again on the transaction (SpacesService.stillAdmin, create)', async () => {
    const own = (await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }])).id;
    const gql = async (mutation: string, input: Record<string, unknown>) => expectOk(await t.gql(mutation, { input }, { token: admin.token }));
    await gql(`mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`, { spaceId: own, userId: reader.id, level: 'MODERATE' });
    await gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { spaceId: own, userId: reader.id });
    await gql(`mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`, { spaceId: own, name: 'Renamed on one connection' });
    const board = (await gql(`mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`, { spaceId: own, kind: 'FORUM', name: 'One', slug: 'one' })).createBoard.id;
    expect((await gql(`mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { name } }`, { boardId: board, name: 'Still one' })).updateBoard.name).toBe('Still one');
    const knowledge = `mutation($input: KnowledgeSettingsInput!) { setKnowledgeSettings(input: $input) { knowledgeSettings { twoPersonReview } } }`;
    expect((await gql(knowledge, { spaceId: own, twoPersonReview: true })).setKnowledgeSettings.knowledgeSettings.twoPersonReview).toBe(true);
    const siteAdmin = await makeUser(t, { role: 'ADMIN' });
    const created = await t.gql(`mutation($input: CreateSpaceInput!) { createSpace(input: $input) { slug } }`, { input: { slug: 'one-connection', name: 'One', visibility: 'PUBLIC' } }, { token: siteAdmin.token });
    expect(expectOk(created).createSpace.slug).toBe('one-connection');
  });

  it('an answer accepted for its asker by an admin of both spaces, behind a move to another space (setAccepted)', async () => {
    const topic = await createTopic(t, author.token, await makeBoard(t, space), { title: 'Accepted behind a move', body: 'x', kind: 'QUESTION' });
    const answer = await reply(t, reader.token, topic.id, 'the answer');
    expectOk(await behindAMove(topic.id, await makeBoard(t, elsewhere), () => t.gql(`mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`, { id: answer.id }, { token: admin.token })));
    expect(await t.sql(`SELECT space_id, accepted_post_id FROM topics WHERE id = $1`, [topic.id])).toEqual([{ space_id: elsewhere, accepted_post_id: answer.id }]);
    expect(await t.sql(`SELECT space_id FROM moderation_log WHERE target_id = $1 AND action = 'topic.accept_answer'`, [topic.id])).toEqual([{ space_id: elsewhere }]);
  });

  it('a topic closed by an admin of both spaces, behind a move to another space (stillMay)', async () => {
    const topic = await createTopic(t, author.token, await makeBoard(t, space), { title: 'Closed behind a move', body: 'x' });
    const STATUS = `mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { closed } }`;
    expect(expectOk(await behindAMove(topic.id, await makeBoard(t, elsewhere), () => t.gql(STATUS, { input: { topicId: topic.id, closed: true } }, { token: admin.token }))).setTopicStatus.closed).toBe(true);
    expect(await t.sql(`SELECT space_id FROM moderation_log WHERE target_id = $1 AND action = 'topic.status'`, [topic.id])).toEqual([{ space_id: elsewhere }]);
  });

  it('a reaction to a reply, behind a move of its topic to another space (stillMay)', async () => {
    const topic = await createTopic(t, author.token, await makeBoard(t, space), { title: 'Reacted to behind a move', body: 'x' });
    const liked = await reply(t, author.token, topic.id, 'liked');
    const REACT = `mutation($input: ReactionInput!) { react(input: $input) { reactions { kind count } } }`;
    expect(expectOk(await behindAMove(topic.id, await makeBoard(t, elsewhere), () => t.gql(REACT, { input: { postId: liked.id, kind: 'LIKE' } }, { token: reader.token }))).react.reactions).toEqual([
      { kind: 'LIKE', count: 1 },
    ]);
  });
});
