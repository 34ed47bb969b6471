import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id } }`;
const QUEUE = `query($s: ID) { reviewQueue(spaceId: $s, first: 100) { edges { node { id targetId } } } }`;
const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id } }`;
const CREATE = `mutation($input: CreateTopicInput!) { createTopic(input: $input) { id state } }`;
const MODERATE = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`;
const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;

const spam = (i: number) => `Check out my channel http://promo${i}.example and SUBSCRIBE now!!! free money ${i}`;
const ham = (i: number) => `How do I reset the hub number ${i}? The sync fails after the firmware update.`;

describe('the spam filter learns from moderators', () => {
  let t: TestApp;
  let mod: TestUser;
  let space: { id: string; slug: string };
  let board: string;

  beforeAll(async () => {
    t = await bootTestApp();
    mod = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    board = await makeBoard(t, space.id);
  });
  afterAll(() => t.close());

  async function decide(body: string, reason: string, decision: 'APPROVE' | 'REJECT', where = { space: space.id, board }, title?: string) {
    const author = await makeUser(t);
    const reporter = await makeUser(t);
    const topic = await createTopic(t, author.token, where.board, { body, title });
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason } }, { token: reporter.token }));
    const item = expectOk(await t.gql(QUEUE, { s: where.space }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === topic.id).node;
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision, ...(decision === 'APPROVE' ? { action: 'DELETE' } : {}) } }, { token: mod.token }));
  }

  it('holds posts that look like what moderators removed as spam, for members below TL2', async () => {
    const newcomer = await makeUser(t, { trustLevel: 1 });
    // Before it has seen enough decisions, the filter stays quiet.
    expect(expectOk(await t.gql(CREATE, { input: { boardId: board, title: 'Promo', body: spam(50) } }, { token: newcomer.token })).createTopic.state).toBe('VISIBLE');
    for (let i = 0; i < 5; i++) {
      await decide(spam(i), 'SPAM', 'APPROVE');
      await decide(ham(i), 'OFF_TOPIC', 'REJECT');
    }
    const [model] = await t.sql(`SELECT ham, spam FROM spam_models WHERE space_id = $1`, [space.id]);
    expect(model).toEqual({ ham: 5, spam: 5 });

    const heldTopic = expectOk(await t.gql(CREATE, { input: { boardId: board, title: 'Promo again', body: spam(99) } }, { token: newcomer.token })).createTopic;
    expect(heldTopic.state).toBe('PENDING');
    const real = expectOk(await t.gql(CREATE, { input: { boardId: board, title: 'A real question', body: ham(99) } }, { token: newcomer.token })).createTopic;
    expect(real.state).toBe('VISIBLE');
    const regular = await makeUser(t, { trustLevel: 2 });
    expect(expectOk(await t.gql(CREATE, { input: { boardId: board, title: 'Regular', body: spam(98) } }, { token: regular.token })).createTopic.state).toBe('VISIBLE');
    const held = await t.sql(`SELECT e.note FROM review_items r JOIN review_item_events e ON e.review_item_id = r.id WHERE r.kind = 'PENDING_CONTENT' AND r.space_id = $1`, [space.id]);
    expect(held[0].note).toMatch(/looks like spam \(score 0\.9\d\)/);
    // The score is for moderators: its author could tune their text under the threshold.
    const NOTE = `query($id: ID!) { topic(id: $id) { firstPost { moderationNote } } }`;
    expect(expectOk(await t.gql(NOTE, { id: heldTopic.id }, { token: newcomer.token })).topic.firstPost.moderationNote).toBe('Waiting for a moderator: looks like spam');
    expect(expectOk(await t.gql(NOTE, { id: heldTopic.id }, { token: mod.token })).topic.firstPost.moderationNote).toMatch(/^Waiting for a moderator: looks like spam \(score 0\.9\d\)$/);
    // Nor does a held edit's note give it away.
    const firstPost = expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { firstPost { id } } }`, { id: real.id }, { token: newcomer.token })).topic.firstPost.id;
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: firstPost, body: spam(97) } }, { token: newcomer.token }));
    const PENDING = `query($id: ID!) { topic(id: $id) { firstPost { pendingEdit { note } } } }`;
    expect(expectOk(await t.gql(PENDING, { id: real.id }, { token: newcomer.token })).topic.firstPost.pendingEdit.note).toBe('looks like spam');
    expect(expectOk(await t.gql(PENDING, { id: real.id }, { token: mod.token })).topic.firstPost.pendingEdit.note).toMatch(/^looks like spam \(score 0\.9\d\)$/);
  });

  it('learns from the title and tags it scores, not the body alone', async () => {
    const other = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const otherBoard = await makeBoard(t, other.id);
    // The spam is all in the titles; the bodies are alike.
    for (let i = 0; i < 5; i++) {
      await decide(`Here is my post number ${i}.`, 'SPAM', 'APPROVE', { space: other.id, board: otherBoard }, `FREE MONEY casino bonus promo${i} click now`);
      await decide(`Here is my post number ${i + 10}.`, 'OFF_TOPIC', 'REJECT', { space: other.id, board: otherBoard }, `Firmware update breaks hub sync ${i}`);
    }
    const newcomer = await makeUser(t, { trustLevel: 1 });
    const held = expectOk(await t.gql(CREATE, { input: { boardId: otherBoard, title: 'FREE MONEY casino bonus promo77 click now', body: 'Here is my post number 77.' } }, { token: newcomer.token }));
    expect(held.createTopic.state).toBe('PENDING');
    const fine = expectOk(await t.gql(CREATE, { input: { boardId: otherBoard, title: 'Firmware update breaks hub sync 77', body: 'Here is my post number 78.' } }, { token: newcomer.token }));
    expect(fine.createTopic.state).toBe('VISIBLE');
  });

  it('learns from held content approved with moderatePost, as from the queue', async () => {
    const held = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const heldBoard = await makeBoard(t, held.id);
    const author = await makeUser(t);
    const earlier = await createTopic(t, author.token, heldBoard, { body: ham(1) });
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [held.id]);
    const waiting = await createTopic(t, author.token, heldBoard, { body: ham(2) });
    expect(expectOk(await t.gql(MODERATE, { input: { postId: waiting.firstPostId, action: 'APPROVE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    expect(await t.sql(`SELECT ham, spam FROM spam_models WHERE space_id = $1`, [held.id])).toEqual([{ ham: 1, spam: 0 }]);

    // A held edit of a visible post, approved, is learnt too; a rejected one is not.
    expectOk(await t.gql(EDIT, { input: { postId: earlier.firstPostId, body: ham(3) } }, { token: author.token }));
    expectOk(await t.gql(MODERATE, { input: { postId: earlier.firstPostId, action: 'APPROVE', pendingEditVersion: 1 } }, { token: mod.token }));
    expectOk(await t.gql(EDIT, { input: { postId: earlier.firstPostId, body: ham(4) } }, { token: author.token }));
    expectOk(await t.gql(MODERATE, { input: { postId: earlier.firstPostId, action: 'REJECT' } }, { token: mod.token }));
    expect(await t.sql(`SELECT ham, spam FROM spam_models WHERE space_id = $1`, [held.id])).toEqual([{ ham: 2, spam: 0 }]);
  });
});
