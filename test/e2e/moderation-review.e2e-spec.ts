import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { backendPid, waitForLockWaits } from '../support/lock-waits';

const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id } }`;
const QUEUE = `query($s: ID) { reviewQueue(spaceId: $s, first: 50) {
  edges { node { id targetId autoHidden resolvedBy { id } reports { reason reporter { id } } history { action actor { id } } } } } }`;
const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id status } }`;
const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`;

/** Moderation decisions racing each other, and what the review queue costs. */
describe('moderation: races on a post’s state and the review queue’s cost', () => {
  let t: TestApp;
  let mod: TestUser;
  let author: TestUser;
  let space: { id: string; slug: string };
  let board: string;

  beforeAll(async () => {
    t = await bootTestApp();
    mod = await makeUser(t);
    author = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    // One report hides a post, so a single reporter can reach the threshold.
    await t.sql(`UPDATE spaces SET moderation = '{"autoHideThreshold": 1}' WHERE id = $1`, [space.id]);
    board = await makeBoard(t, space.id);
  });
  afterAll(() => t.close());

  const postState = async (id: string) => (await t.sql(`SELECT state FROM posts WHERE id = $1`, [id]))[0].state;

  /**
   * Deletes the post in a transaction of its own (another moderator, say) that commits only
   * once `request` is waiting for the post's row lock: the request saw the post before the
   * deletion, and must decide on what it finds once it holds the lock.
   */
  async function deletedWhileWaiting<T>(postId: string, request: () => Promise<T>): Promise<T> {
    const holder = t.ds.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(`UPDATE posts SET state = 'DELETED', deleted_at = now() WHERE id = $1`, [postId]);
      const pending = request();
      await waitForLockWaits(t, 1, await backendPid(holder));
      await holder.commitTransaction();
      return await pending;
    } finally {
      await holder.release();
    }
  }

  it('moderatePost checks the transition against the post as it is once locked', async () => {
    const topic = await createTopic(t, author.token, board);
    const p = await reply(t, author.token, topic.id, 'about to be deleted twice over');
    const res = await deletedWhileWaiting(p.id, () => t.gql(MOD, { input: { postId: p.id, action: 'HIDE', reason: 'rude' } }, { token: mod.token }));
    expectError(res, 'CONFLICT');
    expect(await postState(p.id)).toBe('DELETED');
    expect(await t.sql(`SELECT 1 FROM moderation_log WHERE target_id = $1`, [p.id])).toEqual([]);
  });

  it('a report reaching the threshold does not hide a post deleted meanwhile: it finds nothing to report', async () => {
    const topic = await createTopic(t, author.token, board);
    const p = await reply(t, author.token, topic.id, 'deleted while reported');
    const reporter = await makeUser(t, { trustLevel: 2 });
    const res = await deletedWhileWaiting(p.id, () => t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'SPAM' } }, { token: reporter.token }));
    expectError(res, 'NOT_FOUND');
    expect(await postState(p.id)).toBe('DELETED');
    expect(await t.sql(`SELECT 1 FROM review_items WHERE target_id = $1`, [p.id])).toEqual([]);
    expect(await t.sql(`SELECT 1 FROM moderation_log WHERE target_id = $1 AND action = 'post.auto_hide'`, [p.id])).toEqual([]);
  });

  it('rejecting reports does not bring back an auto-hidden post deleted meanwhile', async () => {
    const topic = await createTopic(t, author.token, board);
    const p = await reply(t, author.token, topic.id, 'hidden, then deleted');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 1 })).token }));
    expect(await postState(p.id)).toBe('HIDDEN');
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1`, [p.id]);
    const res = await deletedWhileWaiting(p.id, () => t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT' } }, { token: mod.token }));
    expect(expectOk(res).resolveReviewItem.status).toBe('REJECTED');
    expect(await postState(p.id)).toBe('DELETED');
  });

  it('loads a queue page’s reports and histories in a fixed number of statements', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const b = await makeBoard(t, s.id);
    const addReportedItem = async () => {
      const topic = await createTopic(t, author.token, b);
      for (const trust of [1, 1]) expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'OFF_TOPIC' } }, { token: (await makeUser(t, { trustLevel: trust })).token }));
    };
    await addReportedItem();
    const one = await t.countStatements(() => t.gql(QUEUE, { s: s.id }, { token: mod.token }));
    for (let i = 0; i < 4; i++) await addReportedItem();
    let page: any;
    const five = await t.countStatements(async () => (page = expectOk(await t.gql(QUEUE, { s: s.id }, { token: mod.token }))));
    expect(page.reviewQueue.edges).toHaveLength(5);
    expect(page.reviewQueue.edges.every((e: any) => e.node.reports.length === 2 && e.node.history.length === 2)).toBe(true);
    // Each step names who took it: here, each reporter.
    expect(page.reviewQueue.edges.every((e: any) => e.node.history.map((h: any) => h.actor.id).join() === e.node.reports.map((r: any) => r.reporter.id).join())).toBe(true);
    expect(five.count).toBe(one.count);
  });

  it('resolveReviewItem reads and locks the item’s post once: its topic held, then the post', async () => {
    const topic = await createTopic(t, author.token, board);
    const p = await reply(t, author.token, topic.id, 'reported, then kept hidden');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 1 })).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1`, [p.id]);
    const cost = await t.countStatements(async () => expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token })));
    const count = (pattern: RegExp) => cost.statements.filter((q) => pattern.test(q)).length;
    // lockTarget takes the post before the item (moderationTarget); the decision acts on that reading.
    expect({
      whereIsIt: count(/^SELECT topic_id FROM posts WHERE id = \$1$/),
      holdTopic: count(/^SELECT board_id, space_id FROM topics WHERE id = \$1 FOR KEY SHARE$/),
      lockPost: count(/FROM posts p JOIN topics t ON t\.id = p\.topic_id WHERE p\.id = \$1 AND p\.topic_id = \$2 FOR NO KEY UPDATE OF p/),
    }).toEqual({ whereIsIt: 1, holdTopic: 1, lockPost: 1 });
    expect(await postState(p.id)).toBe('HIDDEN');
  });

  it('moderatePost holds the post’s topic and locks the post in it, then moves its state, in a fixed number of statements', async () => {
    const topic = await createTopic(t, author.token, board);
    const costOf = async (action: string) => {
      const p = await reply(t, author.token, topic.id, `to be ${action}`);
      return t.countStatements(async () => expectOk(await t.gql(MOD, { input: { postId: p.id, action } }, { token: mod.token })));
    };
    for (const cost of [await costOf('HIDE'), await costOf('DELETE')]) {
      const count = (pattern: RegExp) => cost.statements.filter((q) => pattern.test(q)).length;
      // The post locked once, where the request reads it (judging the moderator), its state moved from what that lock read.
      expect({ holdTopic: count(/^SELECT board_id, space_id FROM topics WHERE id = \$1 FOR KEY SHARE$/), lockPost: count(/^SELECT .* FROM posts .*WHERE (p\.)?id = \$1 FOR NO KEY UPDATE( OF p)?$/s) }).toEqual({ holdTopic: 1, lockPost: 1 });
      // All of it, the moderator judged again and the log and event written: no statement more.
      expect(cost.count).toBe(15);
    }
  });

  it('deletePost holds the post’s topic once, then locks the post in it: by its author, and by a moderator', async () => {
    const topic = await createTopic(t, author.token, board);
    for (const token of [author.token, mod.token]) {
      const p = await reply(t, author.token, topic.id, 'to be deleted');
      const cost = await t.countStatements(async () => expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: p.id }, { token })));
      const count = (pattern: RegExp) => cost.statements.filter((q) => pattern.test(q)).length;
      expect({ holdTopic: count(/FROM topics WHERE id = \$1 FOR KEY SHARE$/), lockPost: count(/^SELECT .* FROM posts .*WHERE (p\.)?id = \$1 FOR NO KEY UPDATE( OF p)?$/s) }).toEqual({ holdTopic: 1, lockPost: 1 });
      expect(await postState(p.id)).toBe('DELETED');
    }
  });

  it('reads an item afresh after a change in the same request', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const topic = await createTopic(t, author.token, await makeBoard(t, s.id));
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'OFF_TOPIC' } }, { token: (await makeUser(t)).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1`, [topic.id]);
    const both = `mutation($id: ID!, $input: ResolveReviewInput!) {
      a: claimReviewItem(id: $id) { history { action } }
      b: resolveReviewItem(input: $input) { resolvedBy { id } history { action actor { id } } } }`;
    const res = expectOk(await t.gql(both, { id: item.id, input: { id: item.id, decision: 'IGNORE' } }, { token: mod.token }));
    expect(res.a.history.map((h: { action: string }) => h.action)).toEqual(['reported', 'claimed']);
    expect(res.b.history.map((h: { action: string }) => h.action)).toEqual(['reported', 'claimed', 'resolved: ignore (none)']);
    expect(res.b.resolvedBy).toEqual({ id: mod.id });
    expect(res.b.history.slice(1).map((h: any) => h.actor.id)).toEqual([mod.id, mod.id]);
  });
});
