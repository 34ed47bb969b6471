import { AuditLog } from '../../libs/core/src/audit/audit-log';
import { newId } from '../../libs/core/src/ids';
import { RateLimiter } from '../../libs/core/src/rate-limit';
import { POST_MOVED } from '../../libs/forum/src/posts/posts.service';
import { REPORTS_PER_DAY, ReportsService } from '../../libs/moderation/src/reports/reports.service';
import { ReviewItems } from '../../libs/moderation/src/reports/review-items';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { gateCalls } from '../support/gates';
import { doneOrWaiting, gateHolder } from '../support/lock-waits';
import { TableSnapshots } from '../support/refusals';
import { HeldLock, holdLock, withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id weight weightBreakdown status } }`;
const QUEUE = `query($s: ID, $status: ReviewStatus, $sort: ReviewSort) { reviewQueue(spaceId: $s, status: $status, sort: $sort) {
  totalCount edges { node { id targetType targetId score autoHidden status claimedBy { id } reports { reason weight reporter { id } } history { action } } } } }`;
const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id status decisionNote } }`;

describe('moderation: reports and the review queue', () => {
  let t: TestApp;
  let space: { id: string; slug: string };
  let otherSpace: { id: string; slug: string };
  let board: string;
  let mod: TestUser;
  let mod2: TestUser;
  let otherMod: TestUser;
  let author: TestUser;

  beforeAll(async () => {
    t = await bootTestApp();
    mod = await makeUser(t);
    mod2 = await makeUser(t);
    otherMod = await makeUser(t);
    author = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }, { userId: mod2.id, level: 'MODERATE' }]);
    otherSpace = await makeSpace(t, 'PUBLIC', [{ userId: otherMod.id, level: 'MODERATE' }]);
    board = await makeBoard(t, space.id);
  });
  afterAll(() => t.close());

  const member = (trustLevel = 2) => makeUser(t, { trustLevel });
  const postState = async (id: string) => (await t.sql(`SELECT state FROM posts WHERE id = $1`, [id]))[0].state;

  it('validates reports and refuses what the reporter cannot see', async () => {
    const topic = await createTopic(t, author.token, board);
    const r = await member();
    const before = (await t.sql(`SELECT count(*)::int AS n FROM reports`))[0].n;
    expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'OTHER' } }, { token: r.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'RUDE' } }, { token: r.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'SPAM' } }, { token: author.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'SPAM' } }), 'UNAUTHENTICATED');
    const staff = await makeGroup(t);
    const insider = await makeUser(t, { groups: [staff] });
    const internal = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }]);
    const secret = await createTopic(t, insider.token, await makeBoard(t, internal.id));
    expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: secret.firstPostId, reason: 'SPAM' } }, { token: r.token }), 'NOT_FOUND');
    expectError(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: secret.id, reason: 'SPAM' } }, { token: r.token }), 'NOT_FOUND');
    expect((await t.sql(`SELECT count(*)::int AS n FROM reports`))[0].n).toBe(before);
    expectOk(await t.gql(REPORT, { input: { targetType: 'USER', targetId: author.id, reason: 'OTHER', note: 'impersonating staff' } }, { token: r.token }));
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'OFF_TOPIC' } }, { token: r.token }));
    expectError(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'SPAM' } }, { token: r.token }), 'CONFLICT');
    // A topic's first post is the topic: reporting it again that way is the same report.
    expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'SPAM' } }, { token: r.token }), 'CONFLICT');
    // And others' reports of either gather on the topic's one item, with one score.
    const other = await member();
    const res = expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { targetType targetId } }`, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'SPAM' } }, { token: other.token }));
    expect(res.report).toEqual({ targetType: 'TOPIC', targetId: topic.id });
    const items = await t.sql(`SELECT target_type, target_id, (SELECT count(*)::int FROM reports WHERE review_item_id = i.id) AS reports FROM review_items i WHERE kind = 'REPORTS' AND target_id IN ($1, $2)`, [topic.id, topic.firstPostId]);
    expect(items).toEqual([{ target_type: 'TOPIC', target_id: topic.id, reports: 2 }]);
  });

  it('answers a report of an anonymised account NOT_FOUND, nothing written; the posts it left stay reportable', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const gone = await makeUser(t);
    const topic = await createTopic(t, gone.token, board);
    const left = await reply(t, gone.token, topic.id, 'a reply its author left behind');
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, { token: admin.token }));
    const r = await member();
    const counts = async () => (await t.sql(`SELECT (SELECT count(*) FROM reports)::int AS reports, (SELECT count(*) FROM review_items)::int AS items, (SELECT count(*) FROM rate_events)::int AS rate`))[0];
    const before = await counts();
    expect(expectError(await t.gql(REPORT, { input: { targetType: 'USER', targetId: gone.id, reason: 'ABUSE' } }, { token: r.token }), 'NOT_FOUND').message).toBe('User not found');
    // As for an id that names nobody.
    expect(expectError(await t.gql(REPORT, { input: { targetType: 'USER', targetId: newId(), reason: 'ABUSE' } }, { token: r.token }), 'NOT_FOUND').message).toBe('User not found');
    expect(await counts()).toEqual(before);
    // Its content is still there for others, and still reported like any other.
    expect(expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: left.id, reason: 'ABUSE' } }, { token: r.token })).report.status).toBe('OPEN');
    expect(expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'SPAM' } }, { token: r.token })).report.status).toBe('OPEN');
  });

  it('answers a report of an imported author’s placeholder NOT_FOUND, nothing written (nobody acts as one); what it wrote stays reportable', async () => {
    const imported = await makeUser(t);
    const topic = await createTopic(t, imported.token, board);
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [imported.id]);
    const r = await member();
    const counts = async () => (await t.sql(`SELECT (SELECT count(*) FROM reports)::int AS reports, (SELECT count(*) FROM review_items)::int AS items, (SELECT count(*) FROM rate_events)::int AS rate`))[0];
    const before = await counts();
    expect(expectError(await t.gql(REPORT, { input: { targetType: 'USER', targetId: imported.id, reason: 'ABUSE' } }, { token: r.token }), 'NOT_FOUND').message).toBe('User not found');
    expect(await counts()).toEqual(before);
    expect(expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'SPAM' } }, { token: r.token })).report.status).toBe('OPEN');
  });

  it('decides a report of an account against its anonymisation once, under the account’s row: one anonymised meanwhile is NOT_FOUND, nothing written; one under way waits for the report', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const anonymize = (id: string) => t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id }, { token: admin.token });
    const reportOf = (id: string, token: string) => t.gql(REPORT, { input: { targetType: 'USER', targetId: id, reason: 'ABUSE' } }, { token });
    const counts = async () => (await t.sql(`SELECT (SELECT count(*) FROM reports)::int AS reports, (SELECT count(*) FROM review_items)::int AS items, (SELECT count(*) FROM rate_events)::int AS rate`))[0];
    // Anonymised once the report found the account, before its transaction: refused there.
    const gone = await makeUser(t);
    const r = await member();
    const before = await counts();
    let calls = 0;
    const gate = gateCalls(t.get(ReportsService), 'assertMayReport', () => calls++ === 0);
    try {
      const reporting = reportOf(gone.id, r.token);
      await gate.begun;
      expectOk(await anonymize(gone.id));
      gate.open();
      expect(expectError(await reporting, 'NOT_FOUND').message).toBe('User not found');
    } finally {
      gate.restore();
    }
    expect(await counts()).toEqual(before);
    // A report holding the account: the anonymisation waits for it, and finds it taken.
    const going = await makeUser(t);
    const opening = gateCalls(t.get(ReviewItems), 'open', (_tx: unknown, o: { targetId: string }) => o.targetId === going.id);
    try {
      const reporting = reportOf(going.id, r.token);
      await opening.begun;
      const anonymizing = anonymize(going.id);
      expect(await doneOrWaiting(t, anonymizing, 1, await gateHolder(opening))).toBe('waiting');
      opening.open();
      expect(expectOk(await reporting).report.status).toBe('OPEN');
      expectOk(await anonymizing);
    } finally {
      opening.restore();
    }
  });

  it('keeps the reports an account received open through its anonymisation: a moderator still decides them, a sanction with them (deleting an account is no way round a ban)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    const troll = await makeUser(t);
    expectOk(await t.gql(REPORT, { input: { targetType: 'USER', targetId: troll.id, reason: 'ABUSE' } }, { token: (await member()).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_type = 'USER' AND target_id = $1`, [troll.id]);
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: troll.id }, { token: admin.token }));
    expect(await t.sql(`SELECT status FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'PENDING' }]);
    expect(await t.sql(`SELECT status FROM reports WHERE review_item_id = $1`, [item.id])).toEqual([{ status: 'OPEN' }]);
    const resolved = expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', sanction: { kind: 'BAN', reason: 'Harassment of members' } } }, { token: globalMod.token }));
    expect(resolved.resolveReviewItem.status).toBe('APPROVED');
    expect(await t.sql(`SELECT kind, space_id FROM sanctions WHERE user_id = $1`, [troll.id])).toEqual([{ kind: 'BAN', space_id: null }]);
  });

  it('files a split-off reply’s open reports on the new topic it opens, where the topic’s reports gather: one score, each reporter once, a rejected reporter kept off', async () => {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"autoHideThreshold": 2}' WHERE id = $1`, [s.id]);
    const b = await makeBoard(t, s.id);
    const topic = await createTopic(t, author.token, b);
    const r = await reply(t, author.token, topic.id, 'off on a tangent');
    const [early, first, second] = [await member(0), await member(0), await member(0)];
    // A report of the reply kept before the split keeps its reporter off the topic it opens.
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: r.id, reason: 'ABUSE' } }, { token: early.token }));
    const [kept] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [r.id]);
    expect(expectOk(await t.gql(RESOLVE, { input: { id: kept.id, decision: 'REJECT' } }, { token: mod.token })).resolveReviewItem.status).toBe('REJECTED');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: r.id, reason: 'OFF_TOPIC' } }, { token: first.token }));
    const split = expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [r.id], newTopic: { boardId: b, title: 'The tangent' } } }, { token: mod.token })).movePosts.id;
    // Its first post is the topic: its open item and report are filed on the topic, and the item's history says so.
    const [filed] = await t.sql(`SELECT id, target_type, target_id FROM review_items WHERE kind = 'REPORTS' AND status = 'PENDING' AND target_id IN ($1, $2)`, [r.id, split]);
    expect([filed.target_type, filed.target_id]).toEqual(['TOPIC', split]);
    expect(await t.sql(`SELECT target_type, target_id FROM reports WHERE review_item_id = $1`, [filed.id])).toEqual([{ target_type: 'TOPIC', target_id: split }]);
    expect(await t.sql(`SELECT actor_id, action FROM review_item_events WHERE review_item_id = $1 ORDER BY id DESC LIMIT 1`, [filed.id])).toEqual([{ actor_id: mod.id, action: 'filed on its new topic' }]);
    expect(expectError(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: split, reason: 'ABUSE' } }, { token: early.token }), 'CONFLICT').message).toBe('A moderator reviewed your report of this and kept it; you can report it again if it changes');
    // Its first reporter reported this content already, whichever way they name it now.
    for (const input of [{ targetType: 'TOPIC', targetId: split }, { targetType: 'POST', targetId: r.id }]) {
      expect(expectError(await t.gql(REPORT, { input: { ...input, reason: 'SPAM' } }, { token: first.token }), 'CONFLICT').message).toBe('You already reported this; moderators will look at it');
    }
    // Another's report of the topic adds to the same item: 1 + 1 reaches the threshold.
    const gathered = expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { targetType targetId } }`, { input: { targetType: 'TOPIC', targetId: split, reason: 'SPAM' } }, { token: second.token }));
    expect(gathered.report).toEqual({ targetType: 'TOPIC', targetId: split });
    const items = await t.sql(`SELECT id, target_type, score::float AS score, auto_hidden FROM review_items WHERE kind = 'REPORTS' AND status = 'PENDING' AND target_id IN ($1, $2)`, [r.id, split]);
    expect(items.map(({ id, ...rest }) => rest)).toEqual([{ target_type: 'TOPIC', score: 2, auto_hidden: true }]);
    expect(items[0].id).toBe(filed.id);
    expect(await postState(r.id)).toBe('HIDDEN');
    // Kept: neither reporter reports it again, as the topic or as its post, until it changes.
    expect(expectOk(await t.gql(RESOLVE, { input: { id: items[0].id, decision: 'REJECT' } }, { token: mod.token })).resolveReviewItem.status).toBe('REJECTED');
    for (const { token } of [first, second]) {
      for (const input of [{ targetType: 'TOPIC', targetId: split }, { targetType: 'POST', targetId: r.id }]) {
        expectError(await t.gql(REPORT, { input: { ...input, reason: 'SPAM' } }, { token }), 'CONFLICT');
      }
    }
    expect(await t.sql(`SELECT count(*)::int AS n FROM review_items WHERE kind = 'REPORTS' AND status = 'PENDING' AND target_id IN ($1, $2)`, [r.id, split])).toEqual([{ n: 0 }]);
  });

  it('weighs reports by trust level, staff and the reporter’s record, and shows why', async () => {
    const topic = await createTopic(t, author.token, board);
    const tl2 = await member(2);
    const w = expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'SPAM' } }, { token: tl2.token })).report;
    expect(w.weight).toBe(3);
    expect(JSON.parse(w.weightBreakdown)).toMatchObject({ base: 3, basis: 'trust level 2', record: { counted: false } });
    const staff = expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'SPAM' } }, { token: mod2.token })).report;
    expect(JSON.parse(staff.weightBreakdown)).toMatchObject({ base: 5, basis: 'staff' });
    // A reporter whose six past reports were all rejected counts half.
    const noisy = await member(1);
    for (let i = 0; i < 6; i++) {
      const tp = await createTopic(t, author.token, board);
      const rep = expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: tp.firstPostId, reason: 'ABUSE' } }, { token: noisy.token })).report;
      await t.sql(`UPDATE reports SET status = 'REJECTED' WHERE id = $1`, [rep.id]);
    }
    const tp = await createTopic(t, author.token, board);
    const half = expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: tp.firstPostId, reason: 'ABUSE' } }, { token: noisy.token })).report;
    expect(half.weight).toBe(1);
    expect(JSON.parse(half.weightBreakdown).record).toEqual({ decided: 6, upheld: 0, counted: true, multiplier: 0.5 });
  });

  it('hides content automatically at the threshold, tops the queue, and keeps it from others', async () => {
    const topic = await createTopic(t, author.token, board);
    const target = await reply(t, author.token, topic.id, 'buy cheap watches here');
    const reporters = [await member(2), await member(2), await member(2)];
    for (const r of reporters.slice(0, 2)) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'SPAM' } }, { token: r.token }));
    expect(await postState(target.id)).toBe('VISIBLE');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'SPAM' } }, { token: reporters[2].token }));
    expect(await postState(target.id)).toBe('HIDDEN');

    const bystander = await member();
    const seen = await t.gql(`query($id: ID!) { post(id: $id) { bodyHtml placeholder } topic(id: "${topic.id}") { replyCount } }`, { id: target.id }, { token: bystander.token });
    expect(JSON.stringify(seen)).not.toContain('cheap watches');
    expect(seen.data.topic.replyCount).toBe(0);
    const profile = expectOk(await t.gql(`query($h: String!) { user(handle: $h) { posts(first: 100) { edges { node { bodyHtml } } } } }`, { h: author.handle }, { token: bystander.token }));
    expect(JSON.stringify(profile)).not.toContain('cheap watches');
    const own = expectOk(await t.gql(`query($id: ID!) { post(id: $id) { bodyHtml moderationNote } }`, { id: target.id }, { token: author.token }));
    expect(own.post.bodyHtml).toContain('cheap watches');
    expect(own.post.moderationNote).toMatch(/^Hidden: reports reached the auto-hide threshold/);
    expect(expectOk(await t.gql(`query($id: ID!) { post(id: $id) { moderationNote } }`, { id: target.id }, { token: bystander.token })).post.moderationNote).toBeNull();

    const queue = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue;
    expect(queue.edges[0].node).toMatchObject({ targetId: target.id, score: 9, autoHidden: true });
    expect(queue.edges[0].node.history.map((h: { action: string }) => h.action)).toEqual(['reported', 'reported', 'reported', 'auto-hidden']);
    const log = await t.sql(`SELECT actor_id, action FROM moderation_log WHERE target_id = $1`, [target.id]);
    expect(log).toEqual([{ actor_id: null, action: 'post.auto_hide' }]);
  });

  it('tells the author the reason of what hid their post: an APPROVE that hid nothing and gave no reason keeps it, one with a reason replaces it, a note never shows', async () => {
    const NOTE = `query($id: ID!) { post(id: $id) { moderationNote } }`;
    const noteOf = async (id: string, token: string) => expectOk(await t.gql(NOTE, { id }, { token })).post.moderationNote;
    const itemOf = async (id: string) => (await t.sql(`SELECT id FROM review_items WHERE target_type = 'POST' AND target_id = $1 AND kind = 'REPORTS'`, [id]))[0].id;
    const internal = 'internal: the reporter is the author’s ex';
    // Their own authors, their posts written first: each upheld report climbs the escalation ladder (a silence, then a ban).
    const writer = await makeUser(t);
    const writer2 = await makeUser(t);
    const topic = await createTopic(t, writer.token, board);
    const auto = await reply(t, writer.token, topic.id, 'buy cheap watches here, again');
    const byHand = await reply(t, writer.token, topic.id, 'a slur in the second line');
    const upheld = await reply(t, writer2.token, topic.id, 'buy cheap watches, once more');

    // Hidden automatically, then upheld with no reason (the post was hidden already: the APPROVE hid nothing).
    for (let i = 0; i < 3; i++) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: auto.id, reason: 'SPAM' } }, { token: (await member(2)).token }));
    expect(await postState(auto.id)).toBe('HIDDEN');
    expectOk(await t.gql(RESOLVE, { input: { id: await itemOf(auto.id), decision: 'APPROVE', note: internal } }, { token: mod.token }));
    expect(await noteOf(auto.id, writer.token)).toMatch(/^Hidden: reports reached the auto-hide threshold/);
    expect(await noteOf(auto.id, mod2.token)).toMatch(/^Hidden: reports reached the auto-hide threshold/);

    // Hidden by hand with a reason while another moderator's claim kept the report's item open; that moderator then upholds it, leaving the post as it is, with no reason.
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: byHand.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const item = await itemOf(byHand.id);
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item }, { token: mod2.token }));
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    expect(expectOk(await t.gql(MOD, { input: { postId: byHand.id, action: 'HIDE', reason: 'Slurs are not allowed here' } }, { token: mod.token })).moderatePost.state).toBe('HIDDEN');
    expectOk(await t.gql(RESOLVE, { input: { id: item, decision: 'APPROVE', action: 'NONE', note: internal } }, { token: mod2.token }));
    expect(await noteOf(byHand.id, writer.token)).toBe('Hidden: Slurs are not allowed here');

    // An APPROVE that upholds a hide with a reason of its own is what the author reads from then on.
    for (let i = 0; i < 3; i++) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: upheld.id, reason: 'SPAM' } }, { token: (await member(2)).token }));
    expectOk(await t.gql(RESOLVE, { input: { id: await itemOf(upheld.id), decision: 'APPROVE', note: internal, reason: 'Advertising is not allowed' } }, { token: mod.token }));
    expect(await noteOf(upheld.id, writer2.token)).toBe('Hidden: Advertising is not allowed');
    for (const id of [auto.id, byHand.id, upheld.id]) expect(await noteOf(id, mod2.token)).not.toContain('internal');
  });

  /**
   * Runs `check` with the moderation log entry `id` worded otherwise (`after.action` set to
   * `wording`, as a later release, or another language, might word it), then puts the entry back
   * as it was, so the hash chain still verifies. The append-only trigger is off only while the
   * entry is rewritten.
   */
  /** Runs `check` with log entry `id`'s `after` given `changes` (as an earlier release may have written it), then puts it back. */
  async function withLogEntryAfter(id: string, changes: Record<string, unknown>, check: () => Promise<void>): Promise<void> {
    const [{ after }] = await t.sql(`SELECT after FROM moderation_log WHERE id = $1`, [id]);
    const rewrite = async (statement: string, params: unknown[]) => {
      await t.sql(`ALTER TABLE moderation_log DISABLE TRIGGER moderation_log_no_change`);
      try {
        await t.sql(statement, params);
      } finally {
        await t.sql(`ALTER TABLE moderation_log ENABLE TRIGGER moderation_log_no_change`);
      }
    };
    await rewrite(`UPDATE moderation_log SET after = after || $2::jsonb WHERE id = $1`, [id, JSON.stringify(changes)]);
    try {
      await check();
    } finally {
      await rewrite(`UPDATE moderation_log SET after = $2::jsonb WHERE id = $1`, [id, JSON.stringify(after)]);
    }
    expect((await t.get(AuditLog).verify()).ok).toBe(true);
  }

  async function withLogEntryReworded(id: string, wording: string, check: () => Promise<void>): Promise<void> {
    await withLogEntryAfter(id, { action: wording }, async () => {
      expect((await t.sql(`SELECT after->>'action' AS action FROM moderation_log WHERE id = $1`, [id]))[0].action).toBe(wording);
      await check();
    });
  }

  it('tells the author the reason of the APPROVE that hid their post, not an earlier hiding’s, by what the APPROVE did, whatever its log entry’s wording', async () => {
    const NOTE = `query($id: ID!) { post(id: $id) { moderationNote } }`;
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const writer = await makeUser(t);
    const topic = await createTopic(t, writer.token, board);
    const target = await reply(t, writer.token, topic.id, 'hidden, shown again, then reported');
    expect(expectOk(await t.gql(MOD, { input: { postId: target.id, action: 'HIDE', reason: 'Off topic here' } }, { token: mod.token })).moderatePost.state).toBe('HIDDEN');
    expect(expectOk(await t.gql(MOD, { input: { postId: target.id, action: 'UNHIDE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_type = 'POST' AND target_id = $1 AND kind = 'REPORTS'`, [target.id]);
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod2.token }));
    expect(await postState(target.id)).toBe('HIDDEN');
    const noteOf = async () => expectOk(await t.gql(NOTE, { id: target.id }, { token: writer.token })).post.moderationNote;
    expect(await noteOf()).toBe('Hidden by a moderator');
    const [approve] = await t.sql(`SELECT id FROM moderation_log WHERE action = 'review.approve' AND target_id = $1`, [target.id]);
    await withLogEntryReworded(approve.id, 'concealed from readers', async () => {
      expect(await noteOf()).toBe('Hidden by a moderator');
    });
  });

  it('tells the author of a post restored to hidden the reason it was hidden, not the reason an APPROVE gave for deleting it', async () => {
    const NOTE = `query($id: ID!) { post(id: $id) { moderationNote } }`;
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const writer = await makeUser(t);
    const topic = await createTopic(t, writer.token, board);
    const target = await reply(t, writer.token, topic.id, 'hidden, then deleted through its report, then restored');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_type = 'POST' AND target_id = $1 AND kind = 'REPORTS'`, [target.id]);
    // mod2's claim keeps the item open through mod's hiding (which would uphold it).
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: mod2.token }));
    expect(expectOk(await t.gql(MOD, { input: { postId: target.id, action: 'HIDE', reason: 'Off topic here' } }, { token: mod.token })).moderatePost.state).toBe('HIDDEN');
    // A reason for the deletion is refused now (nothing shows it); an entry of an earlier release may carry one.
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'DELETE' } }, { token: mod2.token }));
    expect(await postState(target.id)).toBe('DELETED');
    expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: target.id }, { token: mod.token }));
    expect(await postState(target.id)).toBe('HIDDEN');
    const [approve] = await t.sql(`SELECT id FROM moderation_log WHERE action = 'review.approve' AND target_id = $1`, [target.id]);
    await withLogEntryAfter(approve.id, { authorReason: 'Threats get a post deleted' }, async () => {
      expect(expectOk(await t.gql(NOTE, { id: target.id }, { token: writer.token })).post.moderationNote).toBe('Hidden: Off topic here');
    });
  });

  it('counts a review’s APPROVE as who hid a moderator’s own post only when it hid it or upheld it hidden: one that found it deleted leaves them free to unhide what they hid themselves', async () => {
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const topic = await createTopic(t, author.token, board);
    const reported = async (body: string) => {
      const own = await reply(t, mod.token, topic.id, body);
      expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: own.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE target_type = 'POST' AND target_id = $1 AND kind = 'REPORTS'`, [own.id]);
      // mod2's claim keeps the item open through mod's own hiding (which would uphold it).
      expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: mod2.token }));
      expect(expectOk(await t.gql(MOD, { input: { postId: own.id, action: 'HIDE', reason: 'Tidying my own thread' } }, { token: mod.token })).moderatePost.state).toBe('HIDDEN');
      return { post: own, item: item.id as string };
    };
    // Hidden by mod, deleted by mod; mod2 upholds the reports on it deleted (nothing done to it); mod restores it, hidden as it was.
    const deleted = await reported('my own reply, hidden, deleted, restored');
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: deleted.post.id }, { token: mod.token }));
    expectOk(await t.gql(RESOLVE, { input: { id: deleted.item, decision: 'APPROVE', action: 'NONE' } }, { token: mod2.token }));
    expect(await postState(deleted.post.id)).toBe('DELETED');
    expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: deleted.post.id }, { token: mod.token }));
    expect(await postState(deleted.post.id)).toBe('HIDDEN');
    expect(expectOk(await t.gql(MOD, { input: { postId: deleted.post.id, action: 'UNHIDE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    // Upheld while hidden: mod2 decided it stays hidden, so mod does not unhide it.
    const upheld = await reported('my own reply, hidden, then upheld');
    expectOk(await t.gql(RESOLVE, { input: { id: upheld.item, decision: 'APPROVE' } }, { token: mod2.token }));
    expectError(await t.gql(MOD, { input: { postId: upheld.post.id, action: 'UNHIDE' } }, { token: mod.token }), 'FORBIDDEN');
    expect(await postState(upheld.post.id)).toBe('HIDDEN');
  });

  it('names who hid a moderator’s own post through deletions and restores: a restore brings back the hiding it found, and the latest hide decides, whoever’s it is', async () => {
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    const act = async (who: TestUser, action: string) => expectOk(await t.gql(MOD, { input: { postId: own.id, action } }, { token: who.token })).moderatePost.state;
    const deleteAndRestore = async (deleter: TestUser, restorer: TestUser) => {
      expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: own.id }, { token: deleter.token }));
      expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: own.id }, { token: restorer.token }));
      expect(await postState(own.id)).toBe('HIDDEN');
    };
    const admin = await makeUser(t, { role: 'ADMIN' });
    const own = await reply(t, mod.token, (await createTopic(t, author.token, board)).id, 'my own reply, hidden and restored by turns');
    // mod2 hides it; mod deletes it and restores it (both theirs): it comes back hidden by mod2, which mod does not undo.
    expect(await act(mod2, 'HIDE')).toBe('HIDDEN');
    await deleteAndRestore(mod, mod);
    expectError(await t.gql(MOD, { input: { postId: own.id, action: 'UNHIDE' } }, { token: mod.token }), 'FORBIDDEN');
    // mod2 unhides it, mod hides it: the second hide, mod's own, outlives a deletion and restore by others.
    expect(await act(mod2, 'UNHIDE')).toBe('VISIBLE');
    expect(await act(mod, 'HIDE')).toBe('HIDDEN');
    await deleteAndRestore(mod2, admin);
    expect(await act(mod, 'UNHIDE')).toBe('VISIBLE');
    // Hidden a third time, by mod2: theirs again, through mod's own deletion and restore.
    expect(await act(mod2, 'HIDE')).toBe('HIDDEN');
    await deleteAndRestore(mod, mod);
    expectError(await t.gql(MOD, { input: { postId: own.id, action: 'UNHIDE' } }, { token: mod.token }), 'FORBIDDEN');
    expect(await postState(own.id)).toBe('HIDDEN');
    const log = (await t.sql(`SELECT action, actor_id FROM moderation_log WHERE target_id = $1 AND action IN ('post.hide', 'post.unhide', 'post.restore') ORDER BY id`, [own.id])).map((r) => [r.action, r.actor_id]);
    expect(log).toEqual([
      ['post.hide', mod2.id], ['post.restore', mod.id], ['post.unhide', mod2.id], ['post.hide', mod.id], ['post.restore', admin.id],
      ['post.unhide', mod.id], ['post.hide', mod2.id], ['post.restore', mod.id],
    ]);
  });

  it('never hides the content of the space’s moderators or of staff automatically; it waits in the queue for a person', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    for (const staff of [mod, admin]) {
      const announcement = await createTopic(t, staff.token, board, { title: 'House rules', body: 'Be kind to each other.' });
      for (const r of [await member(2), await member(2), await member(2)]) {
        expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: announcement.id, reason: 'ABUSE' } }, { token: r.token }));
      }
      expect(await postState(announcement.firstPostId)).toBe('VISIBLE');
      const [item] = await t.sql(`SELECT score::int AS score, auto_hidden FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [announcement.id]);
      expect(item).toEqual({ score: 9, auto_hidden: false });
    }
  });

  it('uses the space’s own auto-hide threshold', async () => {
    const low = await makeSpace(t, 'PUBLIC');
    await t.sql(`UPDATE spaces SET moderation = '{"autoHideThreshold": 2}' WHERE id = $1`, [low.id]);
    const topic = await createTopic(t, author.token, await makeBoard(t, low.id));
    const target = await reply(t, author.token, topic.id, 'borderline');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'SPAM' } }, { token: (await member(1)).token }));
    expect(await postState(target.id)).toBe('HIDDEN');
  });

  it('lets one moderator at a time claim an item, and REJECT restores what was auto-hidden', async () => {
    const topic = await createTopic(t, author.token, board);
    const target = await reply(t, author.token, topic.id, 'a harmless opinion');
    const reporters = [await member(3), await member(3)];
    for (const r of reporters) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: r.token }));
    expect(await postState(target.id)).toBe('HIDDEN');
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === target.id).node;
    const CLAIM = `mutation($id: ID!) { claimReviewItem(id: $id) { id claimedBy { id } claimedUntil } }`;
    expect(expectOk(await t.gql(CLAIM, { id: item.id }, { token: mod.token })).claimReviewItem.claimedBy.id).toBe(mod.id);
    expectError(await t.gql(CLAIM, { id: item.id }, { token: mod2.token }), 'CONFLICT');
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod2.token }), 'CONFLICT');
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: otherMod.token }), 'NOT_FOUND');
    const done = expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', note: 'fair criticism' } }, { token: mod.token })).resolveReviewItem;
    expect(done).toMatchObject({ status: 'REJECTED', decisionNote: 'fair criticism' });
    expect(await postState(target.id)).toBe('VISIBLE');
    expect((await t.sql(`SELECT DISTINCT status FROM reports WHERE target_id = $1`, [target.id])).map((r) => r.status)).toEqual(['REJECTED']);
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }), 'CONFLICT');
    // Its reporters cannot hide it again with the same reports; an edit makes it new content.
    for (const r of reporters) expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: r.token }), 'CONFLICT');
    expect(await postState(target.id)).toBe('VISIBLE');
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: target.id, body: 'a much ruder opinion now' } }, { token: author.token }));
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: reporters[0].token }));
    // A claim expires after 30 minutes.
    const topic2 = await createTopic(t, author.token, board);
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic2.id, reason: 'SPAM' } }, { token: (await member()).token }));
    const item2 = expectOk(await t.gql(QUEUE, { s: space.id, sort: 'AGE' }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === topic2.id).node;
    expectOk(await t.gql(CLAIM, { id: item2.id }, { token: mod.token }));
    await t.sql(`UPDATE review_items SET claimed_until = now() - interval '1 minute' WHERE id = $1`, [item2.id]);
    expectOk(await t.gql(CLAIM, { id: item2.id }, { token: mod2.token }));
  });

  it('REJECT restores only what the auto-hide still hides: a post another moderator unhid and then hid by hand while the item was claimed stays hidden', async () => {
    const topic = await createTopic(t, author.token, board);
    const target = await reply(t, author.token, topic.id, 'hidden by the reports, then by hand');
    for (const r of [await member(3), await member(3)]) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: r.token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1 AND auto_hidden`, [target.id]);
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: mod.token }));
    // mod2 undoes the auto-hide, then hides it by hand with a reason of their own; mod's claim keeps the item open.
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    expect(expectOk(await t.gql(MOD, { input: { postId: target.id, action: 'UNHIDE' } }, { token: mod2.token })).moderatePost.state).toBe('VISIBLE');
    expect(expectOk(await t.gql(MOD, { input: { postId: target.id, action: 'HIDE', reason: 'a slur in the second line' } }, { token: mod2.token })).moderatePost.state).toBe('HIDDEN');
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT' } }, { token: mod.token })).resolveReviewItem.status).toBe('REJECTED');
    expect(await postState(target.id)).toBe('HIDDEN');
    const [decided] = await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1 AND action LIKE 'resolved:%'`, [item.id]);
    expect(decided.action).toBe('resolved: reject (none: hidden by a moderator since it was hidden automatically)');
  });

  /**
   * A topic by `author` in a new space of mod and mod2 that hides at a score of 2 and flags posts
   * holding `word` for review (an AUTOMOD item beside their REPORTS item).
   */
  async function flaggingTopic(word: string): Promise<{ id: string }> {
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }, { userId: mod2.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"autoHideThreshold": 2}' WHERE id = $1`, [s.id]);
    const b = await makeBoard(t, s.id);
    expectOk(await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, { input: { spaceId: s.id, pattern: word, kind: 'WORD', action: 'FLAG', publicReason: 'Looked at' } }, { token: mod.token }));
    return createTopic(t, author.token, b);
  }

  it('APPROVE of one item upholds the other open reports and automod flags on the content it leaves hidden, as moderatePost HIDE does: none waits, and no REJECT of an auto-hidden one restores it', async () => {
    const topic = await flaggingTopic('zorblax');
    const items = async (postId: string) =>
      t.sql(`SELECT id, kind, status, (SELECT array_agg(status) FROM reports WHERE review_item_id = i.id) AS reports FROM review_items i WHERE target_id = $1 ORDER BY kind`, [postId]);
    const upheld = async (id: string) => (await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1 AND action LIKE 'resolved:%'`, [id]))[0]?.action;
    // Flagged, then reported past the threshold: the reports hid it. The flag's APPROVE finds it hidden.
    const hidden = await reply(t, author.token, topic.id, 'a zorblax, hidden by its reports');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: hidden.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    expect(await postState(hidden.id)).toBe('HIDDEN');
    const [flag, reports] = await items(hidden.id);
    expect([flag.kind, reports.kind, reports.status]).toEqual(['AUTOMOD', 'REPORTS', 'PENDING']);
    expect(expectOk(await t.gql(RESOLVE, { input: { id: flag.id, decision: 'APPROVE' } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
    expect((await items(hidden.id)).map((i) => [i.kind, i.status, i.reports])).toEqual([['AUTOMOD', 'APPROVED', null], ['REPORTS', 'APPROVED', ['UPHELD']]]);
    expect(await upheld(reports.id)).toBe('resolved: approve (hidden with resolveReviewItem)');
    expect(expectError(await t.gql(RESOLVE, { input: { id: reports.id, decision: 'REJECT' } }, { token: mod2.token }), 'CONFLICT').message).toBe('This item is already resolved');
    expect(await postState(hidden.id)).toBe('HIDDEN');
    // Reported below the threshold: the reports' APPROVE hides it, and upholds its flag with them.
    const shown = await reply(t, author.token, topic.id, 'a zorblax, hidden by a moderator');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: shown.id, reason: 'ABUSE' } }, { token: (await member(0)).token }));
    const [flag2, reports2] = await items(shown.id);
    expect(expectOk(await t.gql(RESOLVE, { input: { id: reports2.id, decision: 'APPROVE' } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
    expect(await postState(shown.id)).toBe('HIDDEN');
    expect((await items(shown.id)).map((i) => [i.kind, i.status])).toEqual([['AUTOMOD', 'APPROVED'], ['REPORTS', 'APPROVED']]);
    expect(await upheld(flag2.id)).toBe('resolved: approve (hidden with resolveReviewItem)');
  });

  it('leaves an item another moderator claimed to them when an APPROVE upholds the others on its content, and its REJECT then restores nothing the APPROVE upheld (known by the upholding line’s status, not its wording)', async () => {
    const topic = await flaggingTopic('quibblix');
    // Flagged, then reported past the threshold: the reports hid it.
    const hidden = await reply(t, author.token, topic.id, 'a quibblix, hidden by its reports');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: hidden.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    expect(await postState(hidden.id)).toBe('HIDDEN');
    const [flag, reports] = await t.sql(`SELECT id, kind FROM review_items WHERE target_id = $1 ORDER BY kind`, [hidden.id]);
    expect([flag.kind, reports.kind]).toEqual(['AUTOMOD', 'REPORTS']);
    // mod2 claims the reports; mod upholds the flag, finding the post hidden: the claimed item is left to mod2.
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: reports.id }, { token: mod2.token }));
    expect(expectOk(await t.gql(RESOLVE, { input: { id: flag.id, decision: 'APPROVE' } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
    expect(await t.sql(`SELECT status, claimed_by FROM review_items WHERE id = $1`, [reports.id])).toEqual([{ status: 'PENDING', claimed_by: mod2.id }]);
    // The upholding's history line worded otherwise (as a later release, or another language, might word it): the same decision.
    await t.sql(`UPDATE review_item_events SET action = 'upheld, left hidden' WHERE review_item_id = $1 AND action LIKE 'resolved:%'`, [flag.id]);
    expect(await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1 AND action = 'upheld, left hidden'`, [flag.id])).toHaveLength(1);
    // mod2 dismisses the reports: their decision on them, not on the post, which a moderator upheld hidden since the auto-hide.
    expect(expectOk(await t.gql(RESOLVE, { input: { id: reports.id, decision: 'REJECT' } }, { token: mod2.token })).resolveReviewItem.status).toBe('REJECTED');
    expect(await postState(hidden.id)).toBe('HIDDEN');
    expect(await t.sql(`SELECT status FROM reports WHERE review_item_id = $1`, [reports.id])).toEqual([{ status: 'REJECTED' }]);
    const [decided] = await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1 AND action LIKE 'resolved:%'`, [reports.id]);
    expect(decided.action).toBe('resolved: reject (none: upheld hidden by a moderator since it was hidden automatically)');
    // One upheld before the auto-hide (its APPROVE left the post visible) does not keep it hidden: the REJECT restores it.
    const later = await reply(t, author.token, topic.id, 'a quibblix, upheld and left, then hidden by its reports');
    const [flag2] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'AUTOMOD'`, [later.id]);
    expectOk(await t.gql(RESOLVE, { input: { id: flag2.id, decision: 'APPROVE', action: 'NONE' } }, { token: mod.token }));
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: later.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    expect(await postState(later.id)).toBe('HIDDEN');
    const [reports2] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1 AND kind = 'REPORTS'`, [later.id]);
    expectOk(await t.gql(RESOLVE, { input: { id: reports2.id, decision: 'REJECT' } }, { token: mod2.token }));
    expect(await postState(later.id)).toBe('VISIBLE');
  });

  it('APPROVE upholds the reports and deletes or hides the content', async () => {
    const topic = await createTopic(t, author.token, board);
    const target = await reply(t, author.token, topic.id, 'truly abusive');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === target.id).node;
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'DELETE' } }, { token: mod.token }));
    expect(await postState(target.id)).toBe('DELETED');
    expect((await t.sql(`SELECT status FROM reports WHERE target_id = $1`, [target.id]))[0].status).toBe('UPHELD');
    const resolved = expectOk(await t.gql(QUEUE, { s: space.id, status: 'APPROVED' }, { token: mod.token })).reviewQueue;
    expect(resolved.edges.map((e: any) => e.node.targetId)).toContain(target.id);
  });

  it('keeps the reports on a post its author deletes for a moderator to decide: deleting it escapes nothing, APPROVE upholds them and leaves it deleted', async () => {
    // An author of its own: the violation upheld climbs their ladder, not the shared author's.
    const writer = await member();
    const topic = await createTopic(t, author.token, board);
    const target = await reply(t, writer.token, topic.id, 'abusive, then thought better of');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: target.id }, { token: writer.token }));
    // Unlike held content, which its author withdraws, reports judge what was already shown: they wait.
    const [item] = await t.sql(`SELECT id, status FROM review_items WHERE target_id = $1 AND kind = 'REPORTS'`, [target.id]);
    expect(item.status).toBe('PENDING');
    expect(await t.sql(`SELECT status FROM reports WHERE target_id = $1`, [target.id])).toEqual([{ status: 'OPEN' }]);
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
    expect(await t.sql(`SELECT status FROM reports WHERE target_id = $1`, [target.id])).toEqual([{ status: 'UPHELD' }]);
    expect(await postState(target.id)).toBe('DELETED');
    // Its history and the log say why nothing was hidden: the post was gone already.
    const [decided] = await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1 AND action LIKE 'resolved:%'`, [item.id]);
    expect(decided.action).toMatch(/^resolved: approve \(none: the post was already deleted/);
    expect(await t.sql(`SELECT after->>'action' AS action FROM moderation_log WHERE target_id = $1 AND action = 'review.approve'`, [target.id])).toEqual([
      { action: expect.stringMatching(/^none: the post was already deleted/) },
    ]);
  });

  it('APPROVE can also sanction the author, in the item’s space, checked as sanctionUser is, instead of the ladder’s step', async () => {
    const offender = await makeUser(t);
    const topic = await createTopic(t, offender.token, board);
    const target = await reply(t, offender.token, topic.id, 'more abuse');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === target.id).node;
    const sanctions = () => t.sql(`SELECT kind, space_id, reason, issued_by, expires_at IS NOT NULL AS timed FROM sanctions WHERE user_id = $1`, [offender.id]);
    // Bad sanctions are refused and nothing is written: not the decision, not the hiding.
    const noHours = expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', reason: 'Abusive', sanction: { kind: 'SILENCE' } } }, { token: mod.token }), 'BAD_USER_INPUT');
    expect(noHours.extensions.fields).toEqual([{ field: 'sanction.durationHours', message: 'is required for SILENCE' }]);
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', sanction: { kind: 'WARNING', reason: 'Be nice' } } }, { token: mod.token }), 'BAD_USER_INPUT');
    expect(await postState(target.id)).toBe('VISIBLE');
    expect(await sanctions()).toEqual([]);
    // A moderator of another space may not sanction here.
    expect(expectOk(await t.gql(QUEUE, { s: otherSpace.id }, { token: otherMod.token })).reviewQueue.edges.map((e: any) => e.node.id)).not.toContain(item.id);
    // The decision's note is the moderators': it is no reason the user reads.
    const internal = 'internal: second time this week, reporter is reliable';
    expect(expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', note: internal, sanction: { kind: 'SILENCE', durationHours: 24 } } }, { token: mod.token }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('sanction');
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', note: internal, reason: 'Abusive', sanction: { kind: 'SILENCE', durationHours: 24 } } }, { token: mod.token }));
    expect(await postState(target.id)).toBe('HIDDEN');
    expect(await sanctions()).toEqual([{ kind: 'SILENCE', space_id: space.id, reason: 'Abusive', issued_by: mod.id, timed: true }]);
    const seen = expectOk(await t.gql(`query($id: ID!) { post(id: $id) { moderationNote } }`, { id: target.id }, { token: offender.token })).post;
    expect(seen.moderationNote).toBe('Hidden: Abusive');
    const mine = expectOk(await t.gql(`{ mySanctions { edges { node { reason } } } notifications { edges { node { data } } } }`, {}, { token: offender.token }));
    expect(JSON.stringify(mine)).not.toContain('reporter is reliable');
    const logged = await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action LIKE 'sanction.%'`, [offender.id]);
    expect(logged).toEqual([{ action: 'sanction.create' }]);
    // A moderator cannot be sanctioned by a peer this way either.
    const topic2 = await createTopic(t, mod2.token, board);
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic2.id, reason: 'OFF_TOPIC' } }, { token: (await member(1)).token }));
    const item2 = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === topic2.id).node;
    expectError(await t.gql(RESOLVE, { input: { id: item2.id, decision: 'APPROVE', action: 'NONE', sanction: { kind: 'WARNING', reason: 'Stay on topic' } } }, { token: mod.token }), 'FORBIDDEN');
    expect(await t.sql(`SELECT status FROM review_items WHERE id = $1`, [item2.id])).toEqual([{ status: 'PENDING' }]);
    // A report on a user is a site-wide item: a space's moderator cannot reach it, a global moderator sanctions site-wide.
    const troll = await makeUser(t);
    expectOk(await t.gql(REPORT, { input: { targetType: 'USER', targetId: troll.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    const userItem = expectOk(await t.gql(`{ reviewQueue(first: 100) { edges { node { id targetId } } } }`, {}, { token: globalMod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === troll.id).node;
    const warn = { id: userItem.id, decision: 'APPROVE', sanction: { kind: 'WARNING', reason: 'Stop the insults' } };
    expectError(await t.gql(RESOLVE, { input: warn }, { token: mod.token }), 'NOT_FOUND');
    expectOk(await t.gql(RESOLVE, { input: warn }, { token: globalMod.token }));
    expect(await t.sql(`SELECT kind, space_id, issued_by FROM sanctions WHERE user_id = $1`, [troll.id])).toEqual([{ kind: 'WARNING', space_id: null, issued_by: globalMod.id }]);
  });

  it('refuses an action or a reason a decision would not use (BAD_USER_INPUT on each, nothing written): they go with APPROVE of reports or flags', async () => {
    const topic = await createTopic(t, author.token, board);
    // Auto-hidden by its reports: a REJECT restores it, which a DELETE or NONE sent with it would seem to prevent.
    const target = await reply(t, author.token, topic.id, 'reported, auto-hidden');
    for (const r of [await member(3), await member(3)]) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: r.token }));
    expect(await postState(target.id)).toBe('HIDDEN');
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [target.id]);
    const troll = await makeUser(t);
    expectOk(await t.gql(REPORT, { input: { targetType: 'USER', targetId: troll.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const [userItem] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [troll.id]);
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    // Reported below the threshold, still shown: an APPROVE leaving it so (NONE) hides nothing its author would read a reason on.
    // Its own author: the upholding climbs their escalation ladder, not the shared author's.
    const shown = await reply(t, (await makeUser(t)).token, topic.id, 'reported, still shown');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: shown.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const [shownItem] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [shown.id]);
    const snapshots = await TableSnapshots.of(t, { migrations: 'bookkeeping' });
    const before = await snapshots.take();
    const refused = async (input: Record<string, unknown>, token = mod.token) =>
      (expectError(await t.gql(RESOLVE, { input }, { token }), 'BAD_USER_INPUT').extensions.fields as Array<{ field: string; message: string }>).map((f) => f.field);
    for (const decision of ['REJECT', 'IGNORE']) {
      for (const action of ['HIDE', 'DELETE', 'NONE']) expect(await refused({ id: item.id, decision, action })).toEqual(['action']);
      expect(await refused({ id: item.id, decision, reason: 'Off topic' })).toEqual(['reason']);
      expect(await refused({ id: item.id, decision, action: 'DELETE', reason: 'Off topic' })).toEqual(['action', 'reason']);
    }
    // A user report has no content to act on, and without a sanction nobody reads its reason.
    expect(await refused({ id: userItem.id, decision: 'APPROVE', action: 'DELETE' }, globalMod.token)).toEqual(['action']);
    expect(await refused({ id: userItem.id, decision: 'APPROVE', reason: 'Stop the insults' }, globalMod.token)).toEqual(['reason']);
    const message = expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', action: 'NONE' } }, { token: mod.token }), 'BAD_USER_INPUT').extensions.fields;
    expect(message).toEqual([{ field: 'action', message: 'goes only with APPROVE of reports or automod flags on a post or topic' }]);
    expect(await refused({ id: shownItem.id, decision: 'APPROVE', action: 'NONE', reason: 'Off topic' })).toEqual(['reason']);
    expect(TableSnapshots.changed(before, await snapshots.take())).toEqual([]);
    expect(await postState(shown.id)).toBe('VISIBLE');
    expect(expectOk(await t.gql(RESOLVE, { input: { id: shownItem.id, decision: 'APPROVE', action: 'NONE' } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
    expect(await postState(shown.id)).toBe('VISIBLE');
    expect(await postState(target.id)).toBe('HIDDEN');
    // Without them, the same decisions are taken.
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT' } }, { token: mod.token })).resolveReviewItem.status).toBe('REJECTED');
    expect(await postState(target.id)).toBe('VISIBLE');
    expect(expectOk(await t.gql(RESOLVE, { input: { id: userItem.id, decision: 'APPROVE', reason: 'Stop the insults', sanction: { kind: 'WARNING' } } }, { token: globalMod.token })).resolveReviewItem.status).toBe('APPROVED');
  });

  it('tells a moderator deciding an item another resolved meanwhile that it is resolved (CONFLICT), before refusing input that state leaves unused', async () => {
    const topic = await createTopic(t, author.token, board);
    const target = await reply(t, (await makeUser(t)).token, topic.id, 'reported, then deleted by a moderator');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: target.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [target.id]);
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'DELETE' } }, { token: mod.token }));
    expect(await postState(target.id)).toBe('DELETED');
    const snapshots = await TableSnapshots.of(t, { migrations: 'bookkeeping' });
    const before = await snapshots.take();
    // The second moderator meant to hide it, with a reason for its author: the post is deleted now, which shows
    // its author no reason, but what they must learn first is that the item was decided.
    for (const input of [
      { decision: 'APPROVE', reason: 'Off topic' },
      { decision: 'APPROVE', action: 'NONE', reason: 'Off topic' },
      { decision: 'REJECT', reason: 'Off topic' },
      { decision: 'IGNORE', action: 'DELETE' },
    ]) {
      expect(expectError(await t.gql(RESOLVE, { input: { id: item.id, ...input } }, { token: mod2.token }), 'CONFLICT').message).toBe('This item is already resolved');
    }
    expect(TableSnapshots.changed(before, await snapshots.take())).toEqual([]);
  });

  it('takes the reason of an APPROVE that leaves the content shown as its sanction’s, and refuses it beside a sanction’s own reason, which is all the member reads', async () => {
    const topic = await createTopic(t, author.token, board);
    const reported = async () => {
      const offender = await makeUser(t);
      const shown = await reply(t, offender.token, topic.id, 'reported, still shown');
      expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: shown.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [shown.id]);
      return { offender, shown, item };
    };
    const troll = await makeUser(t);
    expectOk(await t.gql(REPORT, { input: { targetType: 'USER', targetId: troll.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
    const [userItem] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [troll.id]);
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    const a = await reported();
    const snapshots = await TableSnapshots.of(t, { migrations: 'bookkeeping' });
    const before = await snapshots.take();
    // The post stays shown, so its author reads no decision's reason; the warning reads its own.
    const twoReasons = { decision: 'APPROVE', reason: 'Off topic', sanction: { kind: 'WARNING', reason: 'Mind the insults' } };
    const refusal = expectError(await t.gql(RESOLVE, { input: { id: a.item.id, action: 'NONE', ...twoReasons } }, { token: mod.token }), 'BAD_USER_INPUT').extensions.fields as Array<{ field: string }>;
    expect(refusal.map((f) => f.field)).toEqual(['reason']);
    // A user report has no content to hide: the same.
    const userRefusal = expectError(await t.gql(RESOLVE, { input: { id: userItem.id, ...twoReasons } }, { token: globalMod.token }), 'BAD_USER_INPUT').extensions.fields as Array<{ field: string }>;
    expect(userRefusal.map((f) => f.field)).toEqual(['reason']);
    expect(TableSnapshots.changed(before, await snapshots.take())).toEqual([]);
    // One reason, the decision's: it is the sanction's, which the member reads; the post stays shown.
    expect(expectOk(await t.gql(RESOLVE, { input: { id: a.item.id, decision: 'APPROVE', action: 'NONE', reason: 'Off topic', sanction: { kind: 'WARNING' } } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
    expect(await postState(a.shown.id)).toBe('VISIBLE');
    const mine = expectOk(await t.gql(`{ mySanctions(first: 10) { edges { node { kind reason } } } }`, {}, { token: a.offender.token })).mySanctions.edges.map((e: any) => e.node);
    expect(mine).toEqual([{ kind: 'WARNING', reason: 'Off topic' }]);
    // The sanction's own reason alone: taken as well.
    const b = await reported();
    expect(expectOk(await t.gql(RESOLVE, { input: { id: b.item.id, decision: 'APPROVE', action: 'NONE', sanction: { kind: 'WARNING', reason: 'Mind the insults' } } }, { token: mod.token })).resolveReviewItem.status).toBe('APPROVED');
    expect(await t.sql(`SELECT reason FROM sanctions WHERE user_id = $1`, [b.offender.id])).toEqual([{ reason: 'Mind the insults' }]);
    // Hidden, the post's author reads the decision's reason on it, and the sanction its own: both taken.
    const c = await reported();
    expectOk(await t.gql(RESOLVE, { input: { id: c.item.id, action: 'HIDE', ...twoReasons } }, { token: mod.token }));
    expect(await postState(c.shown.id)).toBe('HIDDEN');
    expect(await t.sql(`SELECT reason FROM sanctions WHERE user_id = $1`, [c.offender.id])).toEqual([{ reason: 'Mind the insults' }]);
  });

  it('refuses the reason of an APPROVE that deletes the content or finds it deleted, which its author never reads, unless it is its sanction’s (nothing written)', async () => {
    const NOTE = `query($id: ID!) { post(id: $id) { moderationNote } }`;
    const topic = await createTopic(t, author.token, board);
    const reported = async (deletedByAuthor = false) => {
      const offender = await makeUser(t);
      const post = await reply(t, offender.token, topic.id, 'reported, then deleted');
      expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: post.id, reason: 'ABUSE' } }, { token: (await member(1)).token }));
      if (deletedByAuthor) expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: post.id }, { token: offender.token }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [post.id]);
      return { offender, post, item: item.id as string };
    };
    const shown = await reported();
    const gone = await reported(true);
    const snapshots = await TableSnapshots.of(t, { migrations: 'bookkeeping' });
    const before = await snapshots.take();
    const refusal = async (input: Record<string, unknown>) =>
      expectError(await t.gql(RESOLVE, { input: { decision: 'APPROVE', ...input } }, { token: mod.token }), 'BAD_USER_INPUT').extensions.fields as Array<{ field: string; message: string }>;
    // Deleted by the APPROVE: its author is told of the removal (POST_REMOVED, no reason) and reads no note on a deleted post.
    expect(await refusal({ id: shown.item, action: 'DELETE', reason: 'Threats get a post deleted' })).toEqual([
      { field: 'reason', message: 'is what the author reads while the content is hidden: this APPROVE leaves it deleted, which shows its author no reason (with no sanction to take it)' },
    ]);
    // Found deleted (its author's own deletion): whatever the action, it stays deleted.
    // The moderator is told the post was deleted under them, not that their action deletes it.
    for (const action of [undefined, 'HIDE', 'NONE', 'DELETE']) {
      expect(await refusal({ id: gone.item, ...(action ? { action } : {}), reason: 'Abusive' })).toEqual([
        { field: 'reason', message: 'is what the author reads while the content is hidden: the post was deleted meanwhile (by its author or a moderator), which shows its author no reason (with no sanction to take it)' },
      ]);
    }
    // Beside a sanction's own reason, the decision's is not the sanction's either.
    expect(await refusal({ id: shown.item, action: 'DELETE', reason: 'Threats', sanction: { kind: 'WARNING', reason: 'Mind the threats' } })).toEqual([
      { field: 'reason', message: 'is the sanction’s reason when it has none of its own: this APPROVE leaves the content deleted, which shows its author no reason, and the sanction’s own reason is all the member reads' },
    ]);
    expect((await refusal({ id: gone.item, reason: 'Abusive', sanction: { kind: 'WARNING', reason: 'Mind the insults' } })).map((f) => f.field)).toEqual(['reason']);
    expect(TableSnapshots.changed(before, await snapshots.take())).toEqual([]);
    expect(await postState(shown.post.id)).toBe('VISIBLE');
    // With no sanction of its own, the decision's reason is the sanction's, which the member reads: taken.
    expectOk(await t.gql(RESOLVE, { input: { id: gone.item, decision: 'APPROVE', reason: 'Abusive', sanction: { kind: 'WARNING' } } }, { token: mod.token }));
    expect(await t.sql(`SELECT reason FROM sanctions WHERE user_id = $1`, [gone.offender.id])).toEqual([{ reason: 'Abusive' }]);
    // Without it, the deletion is taken as asked; restored, the post shows no deletion's reason.
    expectOk(await t.gql(RESOLVE, { input: { id: shown.item, decision: 'APPROVE', action: 'DELETE' } }, { token: mod.token }));
    expect(await postState(shown.post.id)).toBe('DELETED');
    expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: shown.post.id }, { token: mod.token }));
    expect(expectOk(await t.gql(NOTE, { id: shown.post.id }, { token: shown.offender.token })).post.moderationNote).toBeNull();
  });

  it('keeps the queue to its moderators', async () => {
    expectError(await t.gql(QUEUE, { s: space.id }, { token: otherMod.token }), 'FORBIDDEN');
    expectError(await t.gql(QUEUE, {}, { token: author.token }), 'FORBIDDEN');
    expectError(await t.gql(QUEUE, {}), 'UNAUTHENTICATED');
    const mine = expectOk(await t.gql(QUEUE, {}, { token: otherMod.token })).reviewQueue;
    expect(mine.totalCount).toBe(0);
    const global = await makeUser(t, { role: 'MODERATOR' });
    const all = expectOk(await t.gql(QUEUE, {}, { token: global.token })).reviewQueue;
    expect(all.edges.some((e: any) => e.node.targetType === 'USER')).toBe(true);
  });

  it('refuses a decision to one who may not handle the item before it takes the post’s lock', async () => {
    const topic = await createTopic(t, author.token, board, { title: 'Reported, decided by the wrong people', body: 'x' });
    const replied = await reply(t, author.token, topic.id, 'reported reply');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: replied.id, reason: 'SPAM' } }, { token: (await member()).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_type = 'POST' AND target_id = $1`, [replied.id]);
    // The reply's row held as a moderation would hold it: a decision that locked it first would wait here.
    const held = await holdLock(t, `SELECT 1 FROM posts WHERE id = $1 FOR UPDATE`, [replied.id]);
    try {
      for (const who of [otherMod, author]) {
        const deciding = t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'DELETE' } }, { token: who.token });
        expect(await doneOrWaiting(t, deciding, 1, held)).toBe('done');
        expectError(await deciding, 'NOT_FOUND');
      }
    } finally {
      await held.release();
    }
    expect(await t.sql(`SELECT status FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'PENDING' }]);
    expect(await postState(replied.id)).toBe('VISIBLE');
    // Its moderator still decides it.
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'IGNORE' } }, { token: mod.token })).resolveReviewItem.status).toBe('IGNORED');
  });

  it('refuses a moderator demoted while their claim or decision waited for the item: judged again once it is held (NOT_FOUND, nothing written)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const reported = await member();
    expectOk(await t.gql(REPORT, { input: { targetType: 'USER', targetId: reported.id, reason: 'ABUSE' } }, { token: (await member()).token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_type = 'USER' AND target_id = $1`, [reported.id]);
    const handlings = [
      (token: string) => t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token }),
      (token: string) => t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token }),
    ];
    for (const handle of handlings) {
      // A global moderator when the request began; the item's row held as another handling would hold it.
      const gm = await makeUser(t, { role: 'MODERATOR' });
      const answer = await withLockHeld(t, `SELECT 1 FROM review_items WHERE id = $1 FOR UPDATE`, [item.id], async (h) => {
        const handling = handle(gm.token);
        await h.waiting(1);
        expectOk(await t.gql(`mutation($id: ID!) { setUserRole(input: { userId: $id, role: MEMBER }) { id } }`, { id: gm.id }, { token: admin.token }));
        await h.release();
        return handling;
      });
      expectError(answer, 'NOT_FOUND');
    }
    expect(await t.sql(`SELECT status, claimed_by FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'PENDING', claimed_by: null }]);
    expect((await t.sql(`SELECT action FROM review_item_events WHERE review_item_id = $1`, [item.id])).map((e) => e.action)).toEqual(['reported']);
    expect(await t.sql(`SELECT status FROM reports WHERE review_item_id = $1`, [item.id])).toEqual([{ status: 'OPEN' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action LIKE 'review.%' AND target_id = $1`, [reported.id])).toEqual([{ n: 0 }]);
  });

  it('pages the queue in either order with its own cursors, each item once', async () => {
    const paged = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const pagedBoard = await makeBoard(t, paged.id);
    for (let i = 0; i < 3; i++) {
      const topic = await createTopic(t, author.token, pagedBoard);
      expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'SPAM' } }, { token: (await member(i)).token }));
    }
    const PAGE = `query($s: ID, $sort: ReviewSort, $after: String) { reviewQueue(spaceId: $s, sort: $sort, first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`;
    for (const sort of ['SCORE', 'AGE']) {
      const first = expectOk(await t.gql(PAGE, { s: paged.id, sort }, { token: mod.token })).reviewQueue;
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = expectOk(await t.gql(PAGE, { s: paged.id, sort, after: first.pageInfo.endCursor }, { token: mod.token })).reviewQueue;
      const ids = [...first.edges, ...second.edges].map((e: any) => e.node.id);
      expect([sort, ids.length, new Set(ids).size, second.pageInfo.hasNextPage]).toEqual([sort, 3, 3, false]);
    }
  });

  it('allows at most 20 reports per user per day', async () => {
    const r = await member();
    const limiter = t.get(RateLimiter);
    for (let i = 0; i < 20; i++) await limiter.hit(REPORTS_PER_DAY, r.id);
    const topic = await createTopic(t, author.token, board);
    const err = expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'SPAM' } }, { token: r.token }), 'RATE_LIMITED');
    expect(err.extensions.retryAfterSeconds).toBeGreaterThan(0);
    // In parallel, the last reports of the day are counted as one after another.
    const late = await member();
    for (let i = 0; i < 18; i++) await limiter.hit(REPORTS_PER_DAY, late.id);
    const targets = [];
    for (let i = 0; i < 5; i++) targets.push((await createTopic(t, author.token, board)).firstPostId);
    const answers = await Promise.all(targets.map((targetId) => t.gql(REPORT, { input: { targetType: 'POST', targetId, reason: 'SPAM' } }, { token: late.token })));
    expect(answers.filter((a) => !a.errors).length).toBe(2);
    expect(answers.filter((a) => a.errors?.[0]?.extensions.code === 'RATE_LIMITED').length).toBe(3);
  });

  it('leaves the claims of the space content left behind it: its new space’s moderators decide it at once', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const otherBoard = await makeBoard(t, otherSpace.id);
    const into = await createTopic(t, author.token, otherBoard);
    const topic = await createTopic(t, author.token, board);
    const rude = await reply(t, author.token, topic.id, 'a rude reply');
    const moved = await createTopic(t, author.token, board);
    for (const [targetType, targetId] of [['POST', rude.id], ['TOPIC', moved.id]]) {
      expectOk(await t.gql(REPORT, { input: { targetType, targetId, reason: 'ABUSE' } }, { token: (await member()).token }));
    }
    const items = await t.sql(`SELECT id FROM review_items WHERE target_id = ANY($1::uuid[]) ORDER BY target_type`, [[rude.id, moved.id]]);
    for (const { id } of items) expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id }, { token: mod.token }));
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [rude.id], toTopicId: into.id } }, { token: admin.token }));
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: moved.id, boardId: otherBoard } }, { token: admin.token }));
    // The claimant no longer moderates where they are: nobody holds them, and the new space's moderator decides them.
    const queue = expectOk(await t.gql(QUEUE, { s: otherSpace.id }, { token: otherMod.token })).reviewQueue.edges.map((e: any) => e.node).filter((n: any) => items.some((i) => i.id === n.id));
    expect(queue.map((n: any) => n.claimedBy)).toEqual([null, null]);
    for (const { id } of items) {
      expectError(await t.gql(RESOLVE, { input: { id, decision: 'REJECT' } }, { token: mod.token }), 'NOT_FOUND');
      expect(expectOk(await t.gql(RESOLVE, { input: { id, decision: 'REJECT' } }, { token: otherMod.token })).resolveReviewItem.status).toBe('REJECTED');
    }
  });

  it('keeps the claim of a moved item’s claimant who may still handle it there, and writes one event for a move’s items', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const both = await makeUser(t);
    const grant = `mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`;
    for (const s of [space.id, otherSpace.id]) expectOk(await t.gql(grant, { input: { spaceId: s, userId: both.id, level: 'MODERATE' } }, { token: admin.token }));
    const topic = await createTopic(t, author.token, board);
    const replies = [await reply(t, author.token, topic.id, 'rude one'), await reply(t, author.token, topic.id, 'rude two')];
    for (const r of replies) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: r.id, reason: 'ABUSE' } }, { token: (await member()).token }));
    const items: string[] = (await t.sql(`SELECT id FROM review_items WHERE target_id = ANY($1::uuid[]) ORDER BY id`, [replies.map((r) => r.id)])).map((r: any) => r.id);
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: items[0] }, { token: both.token }));
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: items[1] }, { token: mod.token }));
    const [{ last }] = await t.sql(`SELECT COALESCE(max(id), 0) AS last FROM outbox`);
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: await makeBoard(t, otherSpace.id) } }, { token: admin.token }));
    // One event for the move, naming its items in order; none item by item.
    const events = await t.sql(`SELECT type, payload FROM outbox WHERE id > $1 AND type IN ('review.moved', 'review.updated') ORDER BY id`, [last]);
    expect(events).toEqual([{ type: 'review.moved', payload: { reviewItemIds: items, spaceId: otherSpace.id, fromSpaceId: space.id } }]);
    // The claim rule judges the claims where the items are now: the moderator of both spaces still holds theirs, the old space's moderator nothing.
    const queue = expectOk(await t.gql(QUEUE, { s: otherSpace.id }, { token: otherMod.token })).reviewQueue.edges.map((e: any) => e.node).filter((n: any) => items.includes(n.id));
    expect(queue.map((n: any) => [n.id, n.claimedBy])).toEqual(expect.arrayContaining([[items[0], { id: both.id }], [items[1], null]]));
    expectError(await t.gql(RESOLVE, { input: { id: items[0], decision: 'REJECT' } }, { token: otherMod.token }), 'CONFLICT');
    expect(expectOk(await t.gql(RESOLVE, { input: { id: items[1], decision: 'REJECT' } }, { token: otherMod.token })).resolveReviewItem.status).toBe('REJECTED');
    expect(expectOk(await t.gql(RESOLVE, { input: { id: items[0], decision: 'REJECT' } }, { token: both.token })).resolveReviewItem.status).toBe('REJECTED');
  });

  it('files a moved topic’s decided review items under its new space too: a moderator of the space it left who cannot read the new one finds none of them by status, count or id', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [oldMod, newMod] = [await makeUser(t), await makeUser(t)];
    const s1 = await makeSpace(t, 'PUBLIC', [{ userId: oldMod.id, level: 'MODERATE' }]);
    // The space it moves to is one the old space's moderator cannot read.
    const s2 = await makeSpace(t, 'RESTRICTED', [{ userId: newMod.id, level: 'MODERATE' }]);
    const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
    expectOk(await t.gql(RULE, { input: { spaceId: s1.id, pattern: 'lookclosely', kind: 'WORD', action: 'FLAG', publicReason: 'Worth a look' } }, { token: oldMod.token }));
    // Its first post flagged by automod, the topic and a reply reported: three items, each decided a different way.
    const topic = await createTopic(t, author.token, await makeBoard(t, s1.id), { body: 'Please lookclosely at this secret plan.' });
    const rude = await reply(t, author.token, topic.id, 'a rude reply');
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'OTHER', note: 'quotes the secret plan' } }, { token: (await member()).token }));
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: rude.id, reason: 'ABUSE' } }, { token: (await member()).token }));
    const id = async (kind: string, targetId: string) => (await t.sql(`SELECT id FROM review_items WHERE kind = $1 AND target_id = $2`, [kind, targetId]))[0].id as string;
    const decided = { REJECTED: await id('AUTOMOD', topic.firstPostId), IGNORED: await id('REPORTS', topic.id), APPROVED: await id('REPORTS', rude.id) };
    for (const [status, item] of Object.entries(decided)) {
      const decision = { REJECTED: 'REJECT', IGNORED: 'IGNORE', APPROVED: 'APPROVE' }[status];
      expect(expectOk(await t.gql(RESOLVE, { input: { id: item, decision } }, { token: oldMod.token })).resolveReviewItem.status).toBe(status);
    }
    const listed = async (who: TestUser, s: string | undefined, status: string) => {
      const q = expectOk(await t.gql(QUEUE, { s, status }, { token: who.token })).reviewQueue;
      return { totalCount: q.totalCount, ids: q.edges.map((e: any) => e.node.id) };
    };
    for (const [status, item] of Object.entries(decided)) expect(await listed(oldMod, s1.id, status)).toEqual({ totalCount: 1, ids: [item] });
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: await makeBoard(t, s2.id) } }, { token: admin.token }));
    for (const [status, item] of Object.entries(decided)) {
      // The old space's moderator: not listed, not counted (in that space or all they moderate), not found by id.
      expect(await listed(oldMod, s1.id, status)).toEqual({ totalCount: 0, ids: [] });
      expect(await listed(oldMod, undefined, status)).toEqual({ totalCount: 0, ids: [] });
      expectError(await t.gql(RESOLVE, { input: { id: item, decision: 'IGNORE' } }, { token: oldMod.token }), 'NOT_FOUND');
      expectError(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item }, { token: oldMod.token }), 'NOT_FOUND');
      // The new space's moderators find the content's history with it, reports and all.
      const there = expectOk(await t.gql(QUEUE, { s: s2.id, status }, { token: newMod.token })).reviewQueue;
      expect(there.edges.map((e: any) => [e.node.id, e.node.reports.length])).toEqual([[item, status === 'REJECTED' ? 0 : 1]]);
    }
    const rows = await t.sql(`SELECT DISTINCT space_id FROM review_items WHERE id = ANY($1::uuid[])`, [Object.values(decided)]);
    expect(rows).toEqual([{ space_id: s2.id }]);
    // A reply movePosts merges into a topic of that space takes its decided items along too.
    const left = await reply(t, author.token, (await createTopic(t, author.token, await makeBoard(t, s1.id))).id, 'another rude reply');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: left.id, reason: 'ABUSE' } }, { token: (await member()).token }));
    const kept = await id('REPORTS', left.id);
    expectOk(await t.gql(RESOLVE, { input: { id: kept, decision: 'REJECT' } }, { token: oldMod.token }));
    const into = await createTopic(t, newMod.token, (await t.sql(`SELECT board_id FROM topics WHERE id = $1`, [topic.id]))[0].board_id);
    expectOk(await t.gql(`mutation($input: MovePostsInput!) { movePosts(input: $input) { id } }`, { input: { postIds: [left.id], toTopicId: into.id } }, { token: admin.token }));
    expect(await listed(oldMod, s1.id, 'REJECTED')).toEqual({ totalCount: 0, ids: [] });
    expectError(await t.gql(RESOLVE, { input: { id: kept, decision: 'IGNORE' } }, { token: oldMod.token }), 'NOT_FOUND');
    expect((await listed(newMod, s2.id, 'REJECTED')).ids).toEqual(expect.arrayContaining([decided.REJECTED, kept]));
    // Moved on again, from where it is now: every item goes with it, the merged reply's included
    // (moveReviewItems takes those of the space it leaves, where every item of the content is).
    const s3 = await makeSpace(t, 'PUBLIC', [{ userId: newMod.id, level: 'MODERATE' }]);
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: into.id, boardId: await makeBoard(t, s3.id) } }, { token: admin.token }));
    expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId: topic.id, boardId: await makeBoard(t, s3.id) } }, { token: admin.token }));
    expect(await t.sql(`SELECT DISTINCT space_id FROM review_items WHERE id = ANY($1::uuid[])`, [[...Object.values(decided), kept]])).toEqual([{ space_id: s3.id }]);
  });

  it('holds a claim only while its claimant may still handle the item: one who lost the right keeps nobody off it', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [revoked, silenced, suspended, deleted] = [await makeUser(t), await makeUser(t), await makeUser(t), await makeUser(t)];
    const demoted = await makeUser(t, { role: 'MODERATOR' });
    const grant = `mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`;
    for (const u of [revoked, silenced, suspended, deleted]) expectOk(await t.gql(grant, { input: { spaceId: space.id, userId: u.id, level: 'MODERATE' } }, { token: admin.token }));
    const claimants = [revoked, silenced, suspended, deleted, demoted];
    const topic = await createTopic(t, author.token, board);
    const items: string[] = [];
    for (const u of claimants) {
      const rude = await reply(t, author.token, topic.id, `a rude reply for ${u.id}`);
      expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: rude.id, reason: 'ABUSE' } }, { token: (await member()).token }));
      const [{ id }] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1`, [rude.id]);
      expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id }, { token: u.token }));
      items.push(id);
    }
    // Each loses the right to handle the item another way.
    expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: revoked.id } }, { token: admin.token }));
    const sanction = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;
    expectOk(await t.gql(sanction, { input: { userId: silenced.id, kind: 'SILENCE', reason: 'Heated', durationHours: 24, spaceId: space.id } }, { token: admin.token }));
    expectOk(await t.gql(sanction, { input: { userId: suspended.id, kind: 'SUSPEND', reason: 'Raid', durationHours: 24, spaceId: space.id } }, { token: admin.token }));
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: deleted.id }, { token: admin.token }));
    expectOk(await t.gql(`mutation($id: ID!, $role: GlobalRole!) { setUserRole(input: { userId: $id, role: $role }) { id } }`, { id: demoted.id, role: 'MEMBER' }, { token: admin.token }));
    // Nobody is shown as holding them, and another moderator claims and decides each at once.
    const queue = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod2.token })).reviewQueue.edges.map((e: any) => e.node).filter((n: any) => items.includes(n.id));
    expect(queue.map((n: any) => n.claimedBy)).toEqual(items.map(() => null));
    for (const id of items) {
      expect(expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id claimedBy { id } } }`, { id }, { token: mod2.token })).claimReviewItem.claimedBy).toEqual({ id: mod2.id });
      expect(expectOk(await t.gql(RESOLVE, { input: { id, decision: 'REJECT' } }, { token: mod2.token })).resolveReviewItem.status).toBe('REJECTED');
    }
  });

  it('keeps a claim whose claimant still moderates: another moderator is CONFLICT until it runs out', async () => {
    const topic = await createTopic(t, author.token, board);
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: (await member()).token }));
    const [{ id }] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1`, [topic.id]);
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id }, { token: mod.token }));
    const [node] = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod2.token })).reviewQueue.edges.map((e: any) => e.node).filter((n: any) => n.id === id);
    expect(node.claimedBy).toEqual({ id: mod.id });
    expectError(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id }, { token: mod2.token }), 'CONFLICT');
    expectError(await t.gql(RESOLVE, { input: { id, decision: 'REJECT' } }, { token: mod2.token }), 'CONFLICT');
    expect(expectOk(await t.gql(RESOLVE, { input: { id, decision: 'REJECT' } }, { token: mod.token })).resolveReviewItem.status).toBe('REJECTED');
  });

  it('counts a refused report against nothing: not the day’s limit, not the queue', async () => {
    const r = await member();
    const spent = async () => (await t.sql(`SELECT count(*)::int AS n FROM rate_events WHERE bucket = $1 AND key = $2`, [REPORTS_PER_DAY.bucket, r.id]))[0].n;
    const written = `SELECT (SELECT count(*) FROM reports)::int AS r, (SELECT count(*) FROM review_items)::int AS i, (SELECT count(*) FROM review_item_events)::int AS e`;
    const kept = await createTopic(t, author.token, board);
    const reported = await createTopic(t, author.token, board);
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: kept.id, reason: 'SPAM' } }, { token: r.token }));
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: reported.id, reason: 'SPAM' } }, { token: r.token }));
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === kept.id).node;
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT' } }, { token: mod.token }));
    const secret = await createTopic(t, mod.token, await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ userId: mod.id, level: 'MODERATE' }])).id));
    const [tokens, rows] = [await spent(), await t.sql(written)];
    expect(tokens).toBe(2);
    // Refused before the count (unseen, their own) and after it, in its transaction (reported already, kept by a moderator).
    expectError(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: secret.id, reason: 'SPAM' } }, { token: r.token }), 'NOT_FOUND');
    expectError(await t.gql(REPORT, { input: { targetType: 'USER', targetId: r.id, reason: 'SPAM' } }, { token: r.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(REPORT, { input: { targetType: 'POST', targetId: reported.firstPostId, reason: 'ABUSE' } }, { token: r.token }), 'CONFLICT');
    expectError(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: kept.id, reason: 'ABUSE' } }, { token: r.token }), 'CONFLICT');
    expect([await spent(), await t.sql(written)]).toEqual([tokens, rows]);
  });

  it('lets moderators act on posts directly, logging before and after', async () => {
    const topic = await createTopic(t, author.token, board);
    const p = await reply(t, author.token, topic.id, 'to be hidden');
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`;
    expectError(await t.gql(MOD, { input: { postId: p.id, action: 'HIDE' } }, { token: author.token }), 'FORBIDDEN');
    expectError(await t.gql(MOD, { input: { postId: p.id, action: 'HIDE' } }, { token: otherMod.token }), 'FORBIDDEN');
    expectError(await t.gql(MOD, { input: { postId: p.id, action: 'APPROVE' } }, { token: mod.token }), 'CONFLICT');
    expectError(await t.gql(MOD, { input: { postId: p.id, action: 'SMITE' } }, { token: mod.token }), 'BAD_USER_INPUT');
    // A held edit's version goes only with the APPROVE or REJECT that decides the edit: nothing else reads it.
    for (const action of ['HIDE', 'UNHIDE', 'DELETE', 'RESTORE']) {
      expect(expectError(await t.gql(MOD, { input: { postId: p.id, action, pendingEditVersion: 1 } }, { token: mod.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([
        { field: 'pendingEditVersion', message: 'goes only with APPROVE or REJECT of a held edit' },
      ]);
    }
    expect(await postState(p.id)).toBe('VISIBLE');
    expect(expectOk(await t.gql(MOD, { input: { postId: p.id, action: 'HIDE', reason: 'rude' } }, { token: mod.token })).moderatePost.state).toBe('HIDDEN');
    expect(expectOk(await t.gql(MOD, { input: { postId: p.id, action: 'UNHIDE' } }, { token: mod.token })).moderatePost.state).toBe('VISIBLE');
    const log = await t.sql(`SELECT action, reason, before, after FROM moderation_log WHERE target_id = $1 ORDER BY id`, [p.id]);
    expect(log).toEqual([
      { action: 'post.hide', reason: 'rude', before: { state: 'VISIBLE' }, after: { state: 'HIDDEN' } },
      { action: 'post.unhide', reason: null, before: { state: 'HIDDEN' }, after: { state: 'VISIBLE' } },
    ]);
  });

  it('upholds the open reports of content a moderator hides or deletes directly, but not one another moderator claimed', async () => {
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`;
    // Its own author: upheld violations climb the ladder (a silence, then a suspension here).
    const rude = await member();
    const topic = await createTopic(t, rude.token, board);
    const [hidden, deleted, claimed] = [await reply(t, rude.token, topic.id, 'rude one'), await reply(t, rude.token, topic.id, 'rude two'), await reply(t, rude.token, topic.id, 'rude three')];
    const reporter = await member(0);
    for (const p of [hidden, deleted, claimed]) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: reporter.token }));
    const itemOf = async (postId: string) => (await t.sql(`SELECT id, status, resolved_by FROM review_items WHERE target_id = $1`, [postId]))[0];
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: (await itemOf(claimed.id)).id }, { token: mod2.token }));
    expectOk(await t.gql(MOD, { input: { postId: hidden.id, action: 'HIDE', reason: 'rude' } }, { token: mod.token }));
    expectOk(await t.gql(MOD, { input: { postId: deleted.id, action: 'DELETE' } }, { token: mod.token }));
    expectOk(await t.gql(MOD, { input: { postId: claimed.id, action: 'HIDE' } }, { token: mod.token }));
    for (const p of [hidden, deleted]) expect(await itemOf(p.id)).toMatchObject({ status: 'APPROVED', resolved_by: mod.id });
    expect(await itemOf(claimed.id)).toMatchObject({ status: 'PENDING', resolved_by: null });
    expect((await t.sql(`SELECT status FROM reports WHERE reporter_id = $1 ORDER BY created_at`, [reporter.id])).map((r) => r.status)).toEqual(['UPHELD', 'UPHELD', 'OPEN']);
    const history = await t.sql(`SELECT e.action FROM review_item_events e WHERE e.review_item_id = $1 ORDER BY e.id`, [(await itemOf(hidden.id)).id]);
    expect(history.map((h) => h.action)).toContainEqual(expect.stringMatching(/^resolved: approve \(hidden with moderatePost/));
    expect((await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1 ORDER BY created_at`, [rude.id])).length).toBeGreaterThan(0);
  });

  it('upholds the open reports of content a moderator deletes with deletePost, as moderatePost DELETE does, but not one another moderator claimed', async () => {
    const DELETE = `mutation($id: ID!) { deletePost(id: $id) { id } }`;
    const rude = await member();
    const topic = await createTopic(t, author.token, board);
    const [deleted, claimed] = [await reply(t, rude.token, topic.id, 'rude four'), await reply(t, rude.token, topic.id, 'rude five')];
    const reporter = await member(0);
    for (const p of [deleted, claimed]) expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: reporter.token }));
    const itemOf = async (postId: string) => (await t.sql(`SELECT id, status, resolved_by FROM review_items WHERE target_id = $1`, [postId]))[0];
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: (await itemOf(claimed.id)).id }, { token: mod2.token }));
    for (const p of [deleted, claimed]) expectOk(await t.gql(DELETE, { id: p.id }, { token: mod.token }));
    expect(await itemOf(deleted.id)).toMatchObject({ status: 'APPROVED', resolved_by: mod.id });
    expect(await itemOf(claimed.id)).toMatchObject({ status: 'PENDING', resolved_by: null });
    expect((await t.sql(`SELECT status FROM reports WHERE reporter_id = $1 ORDER BY created_at`, [reporter.id])).map((r) => r.status)).toEqual(['UPHELD', 'OPEN']);
    const history = await t.sql(`SELECT e.action, e.actor_id FROM review_item_events e WHERE e.review_item_id = $1 ORDER BY e.id`, [(await itemOf(deleted.id)).id]);
    expect(history.at(-1)).toEqual({ action: expect.stringMatching(/^resolved: approve \(deleted with deletePost/), actor_id: mod.id });
    // The deletion logged once, by the moderator, as before.
    expect(await t.sql(`SELECT actor_id FROM moderation_log WHERE target_id = $1 AND action = 'post.delete'`, [deleted.id])).toEqual([{ actor_id: mod.id }]);
  });

  const MODERATE_POST = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`;

  /**
   * A reported reply in a new topic of `spaceId`: `moderator`'s DELETE of it waits for its row of
   * `held` (the topic's or the post's) that the test holds, `meanwhile` runs, and the lock is let
   * go: refused FORBIDDEN, the post, its report and the log untouched. `via` deletePost deletes it so instead.
   */
  async function deleteRefusedAfter(
    spaceId: string,
    moderator: TestUser,
    held: 'topics' | 'posts',
    meanwhile: (h: HeldLock, topicId: string, postId: string) => Promise<void>,
    via: 'moderatePost' | 'deletePost' = 'moderatePost',
  ) {
    const topic = await createTopic(t, author.token, await makeBoard(t, spaceId));
    const p = await reply(t, author.token, topic.id, 'reported, then deleted by one who may no longer');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: (await member(0)).token }));
    const answer = await withLockHeld(t, `SELECT 1 FROM ${held} WHERE id = $1 FOR UPDATE`, [held === 'topics' ? topic.id : p.id], async (h) => {
      const moderating = via === 'deletePost'
        ? t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: p.id }, { token: moderator.token })
        : t.gql(MODERATE_POST, { input: { postId: p.id, action: 'DELETE', reason: 'abusive' } }, { token: moderator.token });
      await h.waiting(1);
      await meanwhile(h, topic.id, p.id);
      await h.release();
      return moderating;
    });
    expectError(answer, 'FORBIDDEN');
    expect(await postState(p.id)).toBe('VISIBLE');
    expect(await t.sql(`SELECT r.status, i.status AS item FROM reports r JOIN review_items i ON i.id = r.review_item_id WHERE i.target_id = $1`, [p.id])).toEqual([{ status: 'OPEN', item: 'PENDING' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE target_id = $1`, [p.id])).toEqual([{ n: 0 }]);
  }

  /**
   * `moderator`'s moderatePost of `input`, made while the test holds `table`'s row `id` FOR
   * UPDATE; once it waits, `admin` revokes the moderator's grant on `spaceId`, then the row goes.
   */
  const moderateWhileRevoked = (table: string, id: string, input: Record<string, unknown>, moderator: TestUser, spaceId: string, admin: TestUser) =>
    withLockHeld(t, `SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id], async (h) => {
      const moderating = t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`, { input }, { token: moderator.token });
      await h.waiting(1);
      expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId, userId: moderator.id } }, { token: admin.token }));
      await h.release();
      return moderating;
    });

  it.each(['moderatePost', 'deletePost'] as const)('refuses a space moderator whose grant was revoked while their %s waited for the topic or the post: judged again once both are held (FORBIDDEN, nothing written)', async (via) => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    // The topic's row, then the post's, held as another mutation on them would hold them.
    for (const held of ['topics', 'posts'] as const) {
      // A moderator of the space when the request began.
      const spaceMod = await makeUser(t);
      const s = await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }]);
      await deleteRefusedAfter(s.id, spaceMod, held, async () => {
        expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: s.id, userId: spaceMod.id } }, { token: admin.token }));
      }, via);
    }
  });

  it('refuses a moderatePost whose reply movePosts took to another topic while it waited for the first topic: CONFLICT (POST_MOVED), the reply, its report and the log untouched', async () => {
    const topic = await createTopic(t, author.token, board);
    const dest = await createTopic(t, author.token, board);
    const p = await reply(t, author.token, topic.id, 'reported, then moved elsewhere');
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: (await member(0)).token }));
    // The test's transaction holds the topic as movePosts does, and takes the reply to `dest`.
    const answer = await withLockHeld(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [topic.id], async (h) => {
      const moderating = t.gql(MODERATE_POST, { input: { postId: p.id, action: 'HIDE', reason: 'abusive' } }, { token: mod.token });
      await h.waiting(1);
      await h.query(`UPDATE posts SET topic_id = $2 WHERE id = $1`, [p.id, dest.id]);
      await h.release();
      return moderating;
    });
    expect(expectError(answer, 'CONFLICT').message).toBe(POST_MOVED);
    expect(await postState(p.id)).toBe('VISIBLE');
    expect(await t.sql(`SELECT r.status, i.status AS item FROM reports r JOIN review_items i ON i.id = r.review_item_id WHERE i.target_id = $1`, [p.id])).toEqual([{ status: 'OPEN', item: 'PENDING' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE target_id = $1`, [p.id])).toEqual([{ n: 0 }]);
  });

  it('refuses a report whose reply movePosts took to another topic while it waited for the first topic: CONFLICT (POST_MOVED), nothing reported', async () => {
    const topic = await createTopic(t, author.token, board);
    const dest = await createTopic(t, author.token, board);
    const p = await reply(t, author.token, topic.id, 'moved while reported');
    const reporter = await member();
    // The test's transaction holds the topic as movePosts does, and takes the reply to `dest`:
    // the report chose its target (a post, not a topic) on where the reply was.
    const answer = await withLockHeld(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [topic.id], async (h) => {
      const reporting = t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: reporter.token });
      await h.waiting(1);
      await h.query(`UPDATE posts SET topic_id = $2 WHERE id = $1`, [p.id, dest.id]);
      await h.release();
      return reporting;
    });
    expect(expectError(answer, 'CONFLICT').message).toBe(POST_MOVED);
    expect(await t.sql(`SELECT count(*)::int AS n FROM reports WHERE reporter_id = $1`, [reporter.id])).toEqual([{ n: 0 }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM review_items WHERE target_id = $1`, [p.id])).toEqual([{ n: 0 }]);
  });

  /**
   * A reply in a new space (auto-hide threshold 2) reported by `reporter` while the test holds its
   * topic as a move would (the report waits there, having read and checked everything it reads
   * before its transaction), `meanwhile` changing things under that lock before it is let go.
   */
  async function reportedWhile(
    reporter: TestUser, meanwhile: (h: HeldLock, s: { spaceId: string; postId: string }) => Promise<void>, grants: Array<{ userId: string; level: 'MODERATE' }> = [], state = 'VISIBLE',
  ) {
    const s = await makeSpace(t, 'PUBLIC', grants);
    await t.sql(`UPDATE spaces SET moderation = '{"autoHideThreshold": 2}' WHERE id = $1`, [s.id]);
    const topic = await createTopic(t, author.token, await makeBoard(t, s.id));
    const p = await reply(t, author.token, topic.id, 'reported while things changed');
    await t.sql(`UPDATE posts SET state = $2 WHERE id = $1`, [p.id, state]);
    const answer = await withLockHeld(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [topic.id], async (h) => {
      const reporting = t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: reporter.token });
      await h.waiting(1);
      await meanwhile(h, { spaceId: s.id, postId: p.id });
      await h.release();
      return reporting;
    });
    const [item] = await t.sql(`SELECT score::float AS score, auto_hidden FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [p.id]);
    return { answer, item, state: await postState(p.id), postId: p.id };
  }

  it('hides on the space’s threshold as it stands once the post is held: one raised while the report waited keeps the post visible', async () => {
    const raised = await reportedWhile(await member(1), (h, s) => h.query(`UPDATE spaces SET moderation = '{"autoHideThreshold": 10}' WHERE id = $1`, [s.spaceId]));
    expect(expectOk(raised.answer).report.weight).toBe(2);
    expect([raised.state, raised.item]).toEqual(['VISIBLE', { score: 2, auto_hidden: false }]);
  });

  it('hides nothing of an author made a moderator of the space while the report waited: staff content waits for a person', async () => {
    const promoted = await reportedWhile(await member(1), (h, s) => h.query(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES ($1, $2, $3, 3)`, [newId(), s.spaceId, author.id]));
    expectOk(promoted.answer);
    expect([promoted.state, promoted.item]).toEqual(['VISIBLE', { score: 2, auto_hidden: false }]);
  });

  it('weighs a reporter as they are once the post is held: one whose moderator grant was revoked meanwhile weighs as a member', async () => {
    const demoted = await makeUser(t, { trustLevel: 0 });
    const revoked = await reportedWhile(demoted, (h, s) => h.query(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [s.spaceId, demoted.id]), [{ userId: demoted.id, level: 'MODERATE' }]);
    const weighed = expectOk(revoked.answer).report;
    expect(JSON.parse(weighed.weightBreakdown)).toMatchObject({ base: 1, basis: 'trust level 0' });
    expect([revoked.state, revoked.item]).toEqual(['VISIBLE', { score: 1, auto_hidden: false }]);
  });

  it('refuses a hidden post’s report from a moderator whose grant was revoked while it waited: they no longer see it (NOT_FOUND, nothing written)', async () => {
    const demoted = await makeUser(t, { trustLevel: 0 });
    const revoked = await reportedWhile(demoted, (h, s) => h.query(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [s.spaceId, demoted.id]), [{ userId: demoted.id, level: 'MODERATE' }], 'HIDDEN');
    expectError(revoked.answer, 'NOT_FOUND');
    expect([revoked.state, revoked.item]).toEqual(['HIDDEN', undefined]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM reports WHERE reporter_id = $1`, [demoted.id])).toEqual([{ n: 0 }]);
  });

  it('refuses a report of a topic’s first post from a reporter who lost sight of the topic while it waited, named as the topic or as its post (NOT_FOUND, nothing written)', async () => {
    /**
     * A topic in a new `visibility` space (its first post and topic in `state`) reported by
     * `reporter`, granted `level` there, as TOPIC or as its first POST, while the test holds the
     * topic as a move would; the grant is revoked under that lock before it is let go.
     */
    const reportedAsGrantGoes = async (targetType: 'TOPIC' | 'POST', visibility: 'PUBLIC' | 'RESTRICTED', level: 'MODERATE' | 'PARTICIPATE', state: string) => {
      const reporter = await makeUser(t, { trustLevel: 0 });
      const s = await makeSpace(t, visibility, [{ userId: reporter.id, level }, { userId: author.id, level: 'PARTICIPATE' }]);
      const topic = await createTopic(t, author.token, await makeBoard(t, s.id));
      await t.sql(`UPDATE posts SET state = $2 WHERE id = $1`, [topic.firstPostId, state]);
      await t.sql(`UPDATE topics SET state = $2 WHERE id = $1`, [topic.id, state]);
      const answer = await withLockHeld(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [topic.id], async (h) => {
        const reporting = t.gql(REPORT, { input: { targetType, targetId: targetType === 'TOPIC' ? topic.id : topic.firstPostId, reason: 'ABUSE' } }, { token: reporter.token });
        await h.waiting(1);
        await h.query(`DELETE FROM space_grants WHERE space_id = $1 AND user_id = $2`, [s.id, reporter.id]);
        await h.release();
        return reporting;
      });
      return {
        code: answer.errors?.[0]?.extensions?.code,
        message: answer.errors?.[0]?.message,
        state: await postState(topic.firstPostId),
        reports: (await t.sql(`SELECT count(*)::int AS n FROM reports WHERE reporter_id = $1`, [reporter.id]))[0].n,
        items: (await t.sql(`SELECT count(*)::int AS n FROM review_items WHERE target_id IN ($1, $2)`, [topic.id, topic.firstPostId]))[0].n,
      };
    };
    for (const targetType of ['TOPIC', 'POST'] as const) {
      const refused = { code: 'NOT_FOUND', message: targetType === 'TOPIC' ? 'Topic not found' : 'Post not found', reports: 0, items: 0 };
      // A hidden topic, reported by a moderator demoted meanwhile: they no longer see it.
      expect(await reportedAsGrantGoes(targetType, 'PUBLIC', 'MODERATE', 'HIDDEN')).toEqual({ ...refused, state: 'HIDDEN' });
      // A visible topic of a restricted space, reported by a member whose access was revoked meanwhile.
      expect(await reportedAsGrantGoes(targetType, 'RESTRICTED', 'PARTICIPATE', 'VISIBLE')).toEqual({ ...refused, state: 'VISIBLE' });
    }
  });

  it('refuses a report from a reporter silenced in the space while it waited (FORBIDDEN, nothing written)', async () => {
    const silenced = await member(2);
    const refused = await reportedWhile(silenced, (h, s) => h.query(
      `INSERT INTO sanctions (id, user_id, kind, space_id, reason, issued_by, expires_at) VALUES ($1, $2, 'SILENCE', $3, 'Heated', $4, now() + interval '1 day')`,
      [newId(), silenced.id, s.spaceId, mod.id],
    ));
    expectError(refused.answer, 'FORBIDDEN');
    expect([refused.state, refused.item]).toEqual(['VISIBLE', undefined]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM reports WHERE reporter_id = $1`, [silenced.id])).toEqual([{ n: 0 }]);
  });

  it('refuses a report whose topic moved to a space the reporter cannot read while it waited as if it were gone (NOT_FOUND, not the move’s CONFLICT), nothing written; one moved where they read is CONFLICT', async () => {
    /** Moves the reported reply's topic into `to` (as moveTopic writes it) while the report waits for the topic. */
    const movedInto = (to: { id: string }) => async (h: HeldLock, s: { postId: string }) => {
      const [{ topic_id: topicId }] = await h.query(`SELECT topic_id FROM posts WHERE id = $1`, [s.postId]);
      await h.query(`UPDATE topics SET board_id = $2, space_id = $3 WHERE id = $1`, [topicId, await makeBoard(t, to.id), to.id]);
      await h.query(`UPDATE posts SET space_id = $2 WHERE topic_id = $1`, [topicId, to.id]);
    };
    const reporter = await member();
    const unread = await reportedWhile(reporter, movedInto(await makeSpace(t, 'RESTRICTED')));
    expect(expectError(unread.answer, 'NOT_FOUND').message).toBe('Post not found');
    expect([unread.state, unread.item]).toEqual(['VISIBLE', undefined]);
    const read = await reportedWhile(reporter, movedInto(await makeSpace(t, 'PUBLIC')));
    expect(expectError(read.answer, 'CONFLICT').message).toBe('The topic moved while your report was on its way: report it again');
    expect([read.state, read.item]).toEqual(['VISIBLE', undefined]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM reports WHERE reporter_id = $1`, [reporter.id])).toEqual([{ n: 0 }]);
  });

  it('reports in a fixed number of statements, everything it decides on read in its transaction: the author’s row held only once the score reaches the threshold', async () => {
    const s = await makeSpace(t, 'PUBLIC');
    await t.sql(`UPDATE spaces SET moderation = '{"autoHideThreshold": 4}' WHERE id = $1`, [s.id]);
    const topic = await createTopic(t, author.token, await makeBoard(t, s.id));
    const p = await reply(t, author.token, topic.id, 'reported twice');
    const reportBy = async (trustLevel: number) => {
      const token = (await member(trustLevel)).token;
      return t.countStatements(async () => expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: p.id, reason: 'SPAM' } }, { token })));
    };
    const shape = (cost: { count: number; statements: string[] }) => {
      const at = (pattern: RegExp) => cost.statements.findIndex((q) => pattern.test(q));
      const postLocked = at(/FROM posts p .*FOR NO KEY UPDATE( OF p)?$/s);
      return {
        count: cost.count,
        // The reporter and the space's threshold are read once the post is held, not before the transaction.
        readAfterPost: postLocked >= 0 && [/FROM reports WHERE reporter_id = \$1$/s, /^SELECT moderation FROM spaces WHERE id = \$1$/].every((r) => at(r) > postLocked),
        authorHeld: cost.statements.filter((q) => /^SELECT 1 FROM users WHERE id = \$1 FOR KEY SHARE$/.test(q)).length,
      };
    };
    // Weight 1 (trust level 0): below the threshold, nothing asked about the author.
    expect(shape(await reportBy(0))).toEqual({ count: 18, readAfterPost: true, authorHeld: 0 });
    // Weight 3 more reaches 4: the author held and asked about, the post hidden.
    expect(shape(await reportBy(2))).toEqual({ count: 30, readAfterPost: true, authorHeld: 1 });
    expect(await postState(p.id)).toBe('HIDDEN');
  });

  it.each(['moderatePost', 'deletePost'] as const)('refuses a space moderator whose post was moved, with its topic, to a space they do not moderate while their %s waited for the topic: judged on the space it is in once held (FORBIDDEN, nothing written)', async (via) => {
    const spaceMod = await makeUser(t);
    const a = await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }]);
    const b = await makeSpace(t, 'PUBLIC');
    const elsewhere = await makeBoard(t, b.id);
    // The test's transaction holds the topic as moveTopic does, and moves it to space B (as moveTopic writes it).
    await deleteRefusedAfter(a.id, spaceMod, 'topics', async (h, topicId, postId) => {
      await h.query(`UPDATE topics SET board_id = $2, space_id = $3 WHERE id = $1`, [topicId, elsewhere, b.id]);
      await h.query(`UPDATE posts SET space_id = $2 WHERE topic_id = $1`, [topicId, b.id]);
      await h.query(`UPDATE review_items SET space_id = $2 WHERE target_type = 'POST' AND target_id = $1`, [postId, b.id]);
    }, via);
  });

  it('refuses an admin demoted while their moderatePost waited for the topic the undo of their own post another moderator hid: judged as they are once it is held (FORBIDDEN, still hidden)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    // An admin when the request began, and a moderator of the space still once demoted.
    const demoted = await makeUser(t, { role: 'ADMIN' });
    const other = await makeUser(t);
    const s = await makeSpace(t, 'PUBLIC', [{ userId: demoted.id, level: 'MODERATE' }, { userId: other.id, level: 'MODERATE' }]);
    const topic = await createTopic(t, author.token, await makeBoard(t, s.id));
    const p = await reply(t, demoted.token, topic.id, 'their own reply, hidden by another moderator');
    expectOk(await t.gql(MODERATE_POST, { input: { postId: p.id, action: 'HIDE', reason: 'off topic' } }, { token: other.token }));
    const answer = await withLockHeld(t, `SELECT 1 FROM topics WHERE id = $1 FOR UPDATE`, [topic.id], async (h) => {
      const undoing = t.gql(MODERATE_POST, { input: { postId: p.id, action: 'UNHIDE' } }, { token: demoted.token });
      await h.waiting(1);
      expectOk(await t.gql(`mutation($id: ID!, $role: GlobalRole!) { setUserRole(input: { userId: $id, role: $role }) { id } }`, { id: demoted.id, role: 'MEMBER' }, { token: admin.token }));
      await h.release();
      return undoing;
    });
    expectError(answer, 'FORBIDDEN');
    expect(await postState(p.id)).toBe('HIDDEN');
  });

  it('refuses a moderator whose grant was revoked while their decision on held content waited as anyone who cannot see it is refused (NOT_FOUND, not FORBIDDEN)', async () => {
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id state } }`;
    const admin = await makeUser(t, { role: 'ADMIN' });
    const spaceMod = await makeUser(t);
    const s = await makeSpace(t, 'PUBLIC', [{ userId: spaceMod.id, level: 'MODERATE' }]);
    await t.sql(`UPDATE spaces SET moderation = '{"premoderation": "ALL"}' WHERE id = $1`, [s.id]);
    const topic = await createTopic(t, spaceMod.token, await makeBoard(t, s.id));
    const held = expectOk(await t.gql(`mutation($input: ReplyInput!) { replyToTopic(input: $input) { id state } }`, { input: { topicId: topic.id, body: 'a held reply' } }, { token: (await member(3)).token })).replyToTopic;
    expect(held.state).toBe('PENDING');
    // A member who does not moderate the space does not see held content: it is not found for them.
    expectError(await t.gql(MOD, { input: { postId: held.id, action: 'APPROVE' } }, { token: (await member()).token }), 'NOT_FOUND');
    expectError(await moderateWhileRevoked('topics', topic.id, { postId: held.id, action: 'APPROVE' }, spaceMod, s.id, admin), 'NOT_FOUND');
    expect(await postState(held.id)).toBe('PENDING');
    expect(await t.sql(`SELECT status FROM review_items WHERE kind = 'PENDING_CONTENT' AND target_id = $1`, [held.id])).toEqual([{ status: 'PENDING' }]);
  });

  it('logs a moderator retitling a topic, and accepting or unaccepting an answer for its asker', async () => {
    const question = await createTopic(t, author.token, board, { title: 'How do I pair the hub', kind: 'QUESTION', tags: ['hub'] });
    const answer = await reply(t, (await member()).token, question.id, 'Hold the button for five seconds');
    const EDIT = `mutation($input: EditPostInput!) { editPost(input: $input) { id } }`;
    expectOk(await t.gql(EDIT, { input: { postId: question.firstPostId, body: 'The body', title: 'How do I pair the Zigbee hub?', tags: ['hub', 'zigbee'], reason: 'clearer title' } }, { token: mod.token }));
    const [edit] = await t.sql(`SELECT before, after FROM moderation_log WHERE action = 'post.edit' AND target_id = $1`, [question.firstPostId]);
    expect(edit).toEqual({
      before: { bodySource: 'The body', title: 'How do I pair the hub', tags: ['hub'] },
      after: { bodySource: 'The body', title: 'How do I pair the Zigbee hub?', tags: ['hub', 'zigbee'], reason: 'clearer title' },
    });
    expectOk(await t.gql(`mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`, { id: answer.id }, { token: mod.token }));
    expectOk(await t.gql(`mutation($id: ID!) { unacceptAnswer(topicId: $id) { id } }`, { id: question.id }, { token: mod.token }));
    // The asker's own choices are theirs, not moderation.
    expectOk(await t.gql(`mutation($id: ID!) { acceptAnswer(postId: $id) { id } }`, { id: answer.id }, { token: author.token }));
    const log = await t.sql(`SELECT action, actor_id, before, after FROM moderation_log WHERE target_id = $1 ORDER BY id`, [question.id]);
    expect(log).toEqual([
      { action: 'topic.accept_answer', actor_id: mod.id, before: { acceptedPostId: null }, after: { acceptedPostId: answer.id } },
      { action: 'topic.unaccept_answer', actor_id: mod.id, before: { acceptedPostId: answer.id }, after: { acceptedPostId: null } },
    ]);
  });
});
