import { newId } from '../../libs/core/src/ids';
import { SignedTokens } from '../../libs/core/src/signed-tokens';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { APPEAL_TOKEN_PURPOSE } from '../../libs/identity/src/auth/barred';
import { emailBannedSql } from '../../libs/identity/src/auth/address-bans';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { HeldSanctionLock, SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';
import { SanctionInput } from '../../libs/moderation/src/sanctions/dto/sanction.inputs';
import { SanctionKind } from '../../libs/moderation/src/sanctions/sanction.model';
import { Tx, UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { ReviewItems } from '../../libs/moderation/src/reports/review-items';
import { ReportsService } from '../../libs/moderation/src/reports/reports.service';
import { GroupMemberships } from '../../libs/identity/src/groups/group-memberships';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { gateCalls } from '../support/gates';
import { doneOrWaiting, gateHolder, renamesWithoutWaiting, waitForLockWaits, waitForWaitsOn, xidOf } from '../support/lock-waits';
import { holdLock, withLockHeld } from '../support/row-locks';
import { sanctionLockSql } from '../../libs/access/src/sanction-lock';
import { countDeadlocks } from '../support/deadlocks';
import { createTopic } from '../factories/forum';
import { TableSnapshots } from '../support/refusals';
import { bootTestApp, expectError, expectNotFound, expectOk, GqlResult, TestApp } from '../support/test-app';

const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id } }`;
const QUEUE = `query($s: ID) { reviewQueue(spaceId: $s, first: 100) { edges { node { id kind targetType targetId } } } }`;
const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id status history { action } } }`;

describe('moderation: the escalation ladder and appeals', () => {
  let t: TestApp;
  let mod: TestUser;
  let mod2: TestUser;
  let admin: TestUser;
  let space: { id: string; slug: string };
  let board: string;

  beforeAll(async () => {
    t = await bootTestApp();
    mod = await makeUser(t);
    mod2 = await makeUser(t);
    admin = await makeUser(t, { role: 'ADMIN' });
    space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }, { userId: mod2.id, level: 'MODERATE' }]);
    board = await makeBoard(t, space.id);
  });
  afterAll(() => t.close());

  async function uphold(targetId: string, reporter: TestUser) {
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId, reason: 'ABUSE' } }, { token: reporter.token }));
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === targetId).node;
    return expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'NONE' } }, { token: mod.token })).resolveReviewItem;
  }

  it('silences on the 2nd upheld violation, suspends on the 3rd, proposes a ban on the 4th', async () => {
    const offender = await makeUser(t);
    const reporter = await makeUser(t, { trustLevel: 1 });
    const topics = [];
    for (let i = 0; i < 4; i++) topics.push(await createTopic(t, offender.token, board));
    await uphold(topics[0].id, reporter);
    expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([]);

    const second = await uphold(topics[1].id, reporter);
    expect(second.history.at(-1).action).toContain('escalation: silence 24h');
    expectError(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`, { input: { boardId: board, title: 'Silenced?', body: 'x' } }, { token: offender.token }), 'FORBIDDEN');

    await uphold(topics[2].id, reporter);
    const sanctions = await t.sql(`SELECT kind, space_id, automatic, round(extract(epoch from expires_at - created_at) / 3600) AS hours FROM sanctions WHERE user_id = $1 ORDER BY created_at`, [offender.id]);
    expect(sanctions).toEqual([
      { kind: 'SILENCE', space_id: space.id, automatic: true, hours: '24' },
      { kind: 'SUSPEND', space_id: space.id, automatic: true, hours: '168' },
    ]);
    expectNotFound(await t.gql(`query($s: String!) { space(slug: $s) { id } }`, { s: space.slug }, { token: offender.token }), 'space');

    await uphold(topics[3].id, reporter);
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    const proposal = expectOk(await t.gql(QUEUE, {}, { token: globalMod.token })).reviewQueue.edges.find((e: any) => e.node.kind === 'BAN_PROPOSAL' && e.node.targetId === offender.id).node;
    expectError(await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE' } }, { token: globalMod.token }), 'FORBIDDEN');
    // Told first that the decision is not theirs, before what of their input it would not use.
    expectError(await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'REJECT', reason: 'Repeated abuse' } }, { token: globalMod.token }), 'FORBIDDEN');
    // Nor may they claim it, which would keep the admins off it for half an hour.
    expectError(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: proposal.id }, { token: globalMod.token }), 'FORBIDDEN');
    expectOk(await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE', note: 'internal: repeat offender, see ticket 42', reason: 'Repeated abuse' } }, { token: admin.token }));
    expect(expectOk(await t.gql(`{ me { id } }`, {}, { token: offender.token })).me).toBeNull();
    // The banned member reads the reason, never the admins' note.
    expect(await t.sql(`SELECT reason FROM sanctions WHERE user_id = $1 AND kind = 'BAN'`, [offender.id])).toEqual([{ reason: 'Repeated abuse' }]);
    const log = (await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 ORDER BY id`, [offender.id])).map((r) => r.action);
    expect(log).toEqual(['sanction.auto', 'sanction.auto', 'escalation.propose_ban', 'sanction.create', 'review.approve']);
  });

  /** Runs `check` on a ban proposed for a new member after one upheld violation (a space whose first step is PROPOSE_BAN). */
  const withBanProposal = async (check: (offender: TestUser, proposal: { id: string }) => Promise<void>) => {
    await t.sql(`UPDATE spaces SET moderation = '{"escalation": [{"violations": 1, "action": "PROPOSE_BAN"}]}' WHERE id = $1`, [space.id]);
    try {
      const offender = await makeUser(t);
      await uphold((await createTopic(t, offender.token, board)).id, await makeUser(t, { trustLevel: 1 }));
      const [proposal] = await t.sql(`SELECT id FROM review_items WHERE kind = 'BAN_PROPOSAL' AND target_id = $1`, [offender.id]);
      await check(offender, proposal);
    } finally {
      await t.sql(`UPDATE spaces SET moderation = '{}' WHERE id = $1`, [space.id]);
    }
  };

  it('approves a proposed ban of a member banned meanwhile without banning them twice', () =>
    withBanProposal(async (offender, proposal) => {
      expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: offender.id, kind: 'BAN', reason: 'Raid' } }, { token: admin.token }));
      // The new ban's reason would be read by nobody (the member reads the standing ban's): refused, nothing written.
      const snapshots = await TableSnapshots.of(t, { migrations: 'bookkeeping' });
      const before = await snapshots.take();
      expect(expectError(await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE', reason: 'Repeated abuse' } }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([
        { field: 'reason', message: 'is the ban’s reason: this member is banned site-wide already, and reads that ban’s reason (approve without one)' },
      ]);
      // One rule refuses what the decision would not use: beside an `action`, which no ban proposal takes, both are named at once.
      expect(expectError(await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE', action: 'HIDE', reason: 'Repeated abuse' } }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([
        { field: 'action', message: 'goes only with APPROVE of reports or automod flags on a post or topic' },
        { field: 'reason', message: 'is the ban’s reason: this member is banned site-wide already, and reads that ban’s reason (approve without one)' },
      ]);
      expect(TableSnapshots.changed(before, await snapshots.take())).toEqual([]);
      const approved = expectOk(await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE' } }, { token: admin.token })).resolveReviewItem;
      expect(approved.status).toBe('APPROVED');
      expect(approved.history.at(-1).action).toContain('already banned');
      expect(await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE user_id = $1 AND kind = 'BAN'`, [offender.id])).toEqual([{ n: 1 }]);
    }));

  it('takes the member’s sanction lock once approving a proposed ban: before the proposal’s item, and `judge` takes that one as held', () =>
    withBanProposal(async (offender, proposal) => {
      let approved: GqlResult | undefined;
      const { statements } = await t.countStatements(async () => (approved = await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE', reason: 'Repeated abuse' } }, { token: admin.token })));
      expect(expectOk(approved!).resolveReviewItem.history.at(-1).action).toContain('banned');
      // Taken early (lockTarget) and again by judge, it was asked for twice in the one transaction.
      const locks = statements.filter((q) => q.includes('parvis:sanctions-of:'));
      expect(locks).toEqual([`SELECT ${sanctionLockSql('$1', 'exclusive')}`]);
      const lockAt = statements.indexOf(locks[0]);
      const itemAt = statements.findIndex((q) => /FROM review_items/.test(q) && /FOR (NO KEY )?UPDATE/.test(q));
      expect(itemAt).toBeGreaterThan(lockAt);
      expect(await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE user_id = $1 AND kind = 'BAN'`, [offender.id])).toEqual([{ n: 1 }]);
    }));

  it('refuses a held sanction lock’s proof of another member, or of another transaction, in `judge`: thrown as the bug it is, not taken as held, nothing written', async () => {
    const [member, other] = [await makeUser(t), await makeUser(t)];
    const sanctions = t.get(SanctionsService);
    const ban = (userId: string) => Object.assign(new SanctionInput(), { userId, kind: SanctionKind.BAN, reason: 'Raid' });
    const adminIn = async (tx: Tx) => (await t.get(SessionsService).viewerForUser(admin.id, {}, tx))!;
    // Another member's lock, held in this very transaction, proves nothing of this one's.
    await expect(t.get(UnitOfWork).run(async (tx) => {
      const held = await sanctions.holdOffAdminChanges(tx, other.id);
      await sanctions.judge(tx, await adminIn(tx), ban(member.id), held);
    })).rejects.toThrow('proves nothing here');
    // This member's lock, held by a transaction that has ended (its proof kept), proves nothing in the next.
    let stale: HeldSanctionLock | undefined;
    await t.get(UnitOfWork).run(async (tx) => void (stale = await sanctions.holdOffAdminChanges(tx, member.id)));
    await expect(t.get(UnitOfWork).run(async (tx) => {
      await sanctions.judge(tx, await adminIn(tx), ban(member.id), stale);
    })).rejects.toThrow('proves nothing here');
    // Thrown before any write: no ban of either.
    expect(await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE user_id = ANY($1::uuid[])`, [[member.id, other.id]])).toEqual([{ n: 0 }]);
  });

  it('bans a member once when a proposed ban is approved while sanctionUser bans them: the standing ban is read under the sanction lock, which the direct ban took first', () =>
    withBanProposal(async (offender, proposal) => {
      const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;
      // The test holds the member's sanction lock; the direct ban queues on it first, then the decision.
      const { direct, decision } = await withLockHeld(t, `SELECT ${sanctionLockSql('$1', 'exclusive')}`, [offender.id], async (h) => {
        const direct = t.gql(SANCTION, { input: { userId: offender.id, kind: 'BAN', reason: 'Raid' } }, { token: admin.token });
        await h.waiting(1);
        const decision = t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE' } }, { token: admin.token });
        await h.waiting(2);
        return { direct, decision };
      });
      const [banned, approved] = await Promise.all([direct, decision]);
      expectOk(banned);
      // Read before the lock, the standing ban was not there yet, and the decision banned the member a second time.
      expect(await t.sql(`SELECT reason FROM sanctions WHERE user_id = $1 AND kind = 'BAN' AND lifted_at IS NULL`, [offender.id])).toEqual([{ reason: 'Raid' }]);
      expect(expectOk(approved).resolveReviewItem.history.at(-1).action).toContain('already banned');
    }));

  it.each([
    ['an admin', false],
    ['a global moderator made an admin after the request read their session (its session says no admin)', true],
  ])('never deadlocks %s approving a proposed ban with the ladder of another space proposing one at once: both take the member’s sanction lock before the proposal’s item', (_who, promoted) =>
    withBanProposal(async (offender, proposal) => {
      const decider = promoted ? await makeUser(t, { role: 'MODERATOR' }) : admin;
      // Another space whose ladder proposes a ban at the first violation, and the offender's violation there, reported.
      const s2 = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
      await t.sql(`UPDATE spaces SET moderation = '{"escalation": [{"violations": 1, "action": "PROPOSE_BAN"}]}' WHERE id = $1`, [s2.id]);
      const topic = await createTopic(t, offender.token, await makeBoard(t, s2.id));
      expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 1 })).token }));
      const item = expectOk(await t.gql(QUEUE, { s: s2.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === topic.id).node;
      const deadlocks = countDeadlocks(t);
      // The admin's decision held as it judges the ban, the proposal's item held. The ladder's
      // decision, upholding the violation, proposes a ban again: it waits for the admin's. Held
      // the other way round (the item, then the member's sanction lock, which the ladder takes
      // before it opens the proposal), each waited for the other.
      const judging = gateCalls(t.get(SanctionsService), 'judge', (_tx: unknown, _m: unknown, input: { userId: string }) => input.userId === offender.id);
      let deciding: Promise<GqlResult> | undefined;
      let climbing: Promise<GqlResult> | undefined;
      // Made an admin once the request has read its session, before its decision reads them again.
      const reading = gateCalls(t.get(ReportsService), 'handledItem', (_tx: unknown, viewer: { id: string }) => promoted && viewer.id === decider.id);
      try {
        deciding = t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE' } }, { token: decider.token });
        if (promoted) {
          await reading.begun;
          await t.sql(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [decider.id]);
          reading.open();
        }
        await judging.begun;
        climbing = t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'NONE' } }, { token: mod.token });
        expect(await doneOrWaiting(t, climbing, 1, await gateHolder(judging))).toBe('waiting');
        judging.open();
        expect(expectOk(await deciding).resolveReviewItem.history.at(-1).action).toContain('banned');
        expectOk(await climbing);
      } finally {
        reading.restore();
        judging.restore();
        deadlocks.restore();
        await Promise.allSettled([deciding, climbing]);
      }
      expect(deadlocks.count).toBe(0);
    }));

  it('proposes no ban of a member banned site-wide already: the ladder reads the standing ban under the sanction lock it holds, and logs the skipped step', async () => {
    await t.sql(`UPDATE spaces SET moderation = '{"escalation": [{"violations": 1, "action": "PROPOSE_BAN"}]}' WHERE id = $1`, [space.id]);
    try {
      const offender = await makeUser(t);
      const topic = await createTopic(t, offender.token, board);
      expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: offender.id, kind: 'BAN', reason: 'Raid' } }, { token: admin.token }));
      const upheld = await uphold(topic.id, await makeUser(t, { trustLevel: 1 }));
      expect(upheld.history.at(-1).action).toContain('escalation: skipped: banned site-wide already');
      expect(await t.sql(`SELECT id FROM review_items WHERE kind = 'BAN_PROPOSAL' AND target_id = $1`, [offender.id])).toEqual([]);
      const log = (await t.sql(`SELECT action, reason FROM moderation_log WHERE target_id = $1 AND action LIKE 'escalation.%' ORDER BY id`, [offender.id]));
      expect(log).toEqual([{ action: 'escalation.skipped', reason: 'Escalation: 1 upheld violations in 90 days; banned site-wide already' }]);
    } finally {
      await t.sql(`UPDATE spaces SET moderation = '{}' WHERE id = $1`, [space.id]);
    }
  });

  it('approves a proposed ban only as sanctionUser would give it: not once its member became an admin', () =>
    withBanProposal(async (offender, proposal) => {
      expect(proposal).toBeDefined();
      await t.sql(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [offender.id]);
      expectError(await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE', reason: 'Repeated abuse' } }, { token: admin.token }), 'FORBIDDEN');
      expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1 AND kind = 'BAN'`, [offender.id])).toEqual([]);
    }));

  it('climbs one step per violation when two moderators uphold at the same moment', async () => {
    for (let round = 0; round < 3; round++) {
      const offender = await makeUser(t);
      const reporter = await makeUser(t, { trustLevel: 1 });
      const items: string[] = [];
      for (let i = 0; i < 2; i++) {
        const topic = await createTopic(t, offender.token, board);
        expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: reporter.token }));
        items.push(expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === topic.id).node.id);
      }
      await Promise.all(items.map((id, i) => t.gql(RESOLVE, { input: { id, decision: 'APPROVE', action: 'NONE' } }, { token: [mod, mod2][i].token }).then(expectOk)));
      // The second upheld violation silences, whichever decision counted it.
      expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([{ kind: 'SILENCE' }]);
    }
  });

  it('never climbs the ladder for the space’s moderators, global moderators or admins', async () => {
    const reporter = await makeUser(t, { trustLevel: 1 });
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    for (const offender of [mod2, globalMod, admin]) {
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await uphold((await createTopic(t, offender.token, board)).id, reporter));
      expect(results[1].history.at(-1).action).toContain('escalation: skipped: the user moderates');
      expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([]);
      const log = (await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action LIKE 'escalation.%' ORDER BY id`, [offender.id])).map((r) => r.action);
      expect(log).toEqual(['escalation.skipped', 'escalation.skipped']);
    }
  });

  it('never climbs the ladder for an anonymised account or an imported author’s placeholder: nobody is left to sanction, the skip is logged', async () => {
    const reporter = await makeUser(t, { trustLevel: 1 });
    const gone = await makeUser(t);
    const imported = await makeUser(t);
    const topicsOf = async (u: TestUser) => [await createTopic(t, u.token, board), await createTopic(t, u.token, board), await createTopic(t, u.token, board)];
    const [goneTopics, importedTopics] = [await topicsOf(gone), await topicsOf(imported)];
    // One violation upheld while the account was still someone's.
    await uphold(goneTopics[0].id, reporter);
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, { token: admin.token }));
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [imported.id]);
    await uphold(importedTopics[0].id, reporter);
    const cases: Array<[TestUser, Array<{ id: string }>, string]> = [[gone, goneTopics, 'the account was deleted'], [imported, importedTopics, 'nobody acts as an imported author']];
    for (const [offender, topics, why] of cases) {
      const second = await uphold(topics[1].id, reporter);
      expect(second.history.at(-1).action).toContain(`escalation: skipped: ${why}`);
      await uphold(topics[2].id, reporter);
      expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([]);
      expect(await t.sql(`SELECT id FROM review_items WHERE kind = 'BAN_PROPOSAL' AND target_id = $1`, [offender.id])).toEqual([]);
      const log = (await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action LIKE 'escalation.%' ORDER BY id`, [offender.id])).map((r) => r.action);
      expect(log).toEqual(['escalation.skipped', 'escalation.skipped']);
    }
  });

  it('waits for an anonymisation under way before the ladder’s step, then skips it: no sanction for an account deleted before the decision committed', async () => {
    const offender = await makeUser(t);
    const reporter = await makeUser(t, { trustLevel: 1 });
    const [first, second] = [await createTopic(t, offender.token, board), await createTopic(t, offender.token, board)];
    await uphold(first.id, reporter);
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: second.id, reason: 'ABUSE' } }, { token: reporter.token }));
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === second.id).node;
    // The anonymisation held in its transaction once its row is written (deleted_at set, not committed).
    const gate = gateCalls(t.get(GroupMemberships), 'removeDeletedAccount', (_tx: unknown, userId: string) => userId === offender.id);
    try {
      const anonymizing = t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: offender.id }, { token: admin.token });
      await gate.begun;
      const deletion = await gateHolder(gate);
      // The second upheld violation would silence: the decision waits for the deletion under way.
      const deciding = t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'NONE' } }, { token: mod.token });
      expect(await doneOrWaiting(t, deciding, 1, deletion)).toBe('waiting');
      gate.open();
      expectOk(await anonymizing);
      expect(expectOk(await deciding).resolveReviewItem.history.at(-1).action).toContain('escalation: skipped: the account was deleted');
    } finally {
      gate.restore();
    }
    expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([]);
    const log = (await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action IN ('user.anonymize', 'escalation.skipped', 'sanction.auto') ORDER BY id`, [offender.id])).map((r) => r.action);
    expect(log).toEqual(['user.anonymize', 'escalation.skipped']);
  });

  /**
   * A member's second topic reported once their first was upheld: a moderator's APPROVE of it
   * climbs the ladder to its second step (a silence). Runs `meanwhile` with that decision held
   * as the ladder, the offender's row held, is about to ask whether they are a member; answers
   * the decision's result.
   */
  async function whileLadderJudges(offender: TestUser, meanwhile: (decision: number) => Promise<void>) {
    const reporter = await makeUser(t, { trustLevel: 1 });
    const [first, second] = [await createTopic(t, offender.token, board), await createTopic(t, offender.token, board)];
    await uphold(first.id, reporter);
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: second.id, reason: 'ABUSE' } }, { token: reporter.token }));
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod.token })).reviewQueue.edges.find((e: any) => e.node.targetId === second.id).node;
    // Held once underAutomaticModeration holds their row, as it reads them.
    const gate = gateCalls(t.get(SanctionsService), 'targetViewer', (userId: string) => userId === offender.id);
    try {
      const deciding = t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', action: 'NONE' } }, { token: mod.token });
      await gate.begun;
      await meanwhile(await gateHolder(gate));
      gate.open();
      return await deciding;
    } finally {
      gate.restore();
    }
  }

  it('lets the offender change their profile while the ladder judges them: the decision holds their account against role changes only', async () => {
    const offender = await makeUser(t);
    const decided = await whileLadderJudges(offender, (decision) => renamesWithoutWaiting(t, offender.token, decision));
    expect(expectOk(decided).resolveReviewItem.history.at(-1).action).toContain('escalation: silence 24h');
  });

  it('sanctions no one made an admin while the ladder judged them: the promotion waits for the decision, which sanctions a member', async () => {
    const offender = await makeUser(t);
    const promotion: { promoting?: Promise<any> } = {};
    const decided = await whileLadderJudges(offender, async (decision) => {
      // Meanwhile an admin makes the offender an admin: it waits for the decision, as for a sanction (issue).
      const promoting = (promotion.promoting = t.gql(`mutation($id: ID!) { setUserRole(input: { userId: $id, role: ADMIN }) { id role } }`, { id: offender.id }, { token: admin.token }));
      expect(await doneOrWaiting(t, promoting, 1, decision)).toBe('waiting');
    });
    expect(expectOk(decided).resolveReviewItem.history.at(-1).action).toContain('escalation: silence 24h');
    expect(expectOk<any>(await promotion.promoting!).setUserRole.role).toBe('ADMIN');
    // Read before the promotion committed, the ladder silenced an admin: the log had the role change first.
    const log = (await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action IN ('sanction.auto', 'user.role_change') ORDER BY id`, [offender.id])).map((r) => r.action);
    expect(log).toEqual(['sanction.auto', 'user.role_change']);
  });

  it('holds off an anonymisation begun while the ladder judges its account until the decision committed: the step stays, logged before it', async () => {
    const offender = await makeUser(t);
    const deletion: { anonymizing?: Promise<GqlResult> } = {};
    const decided = await whileLadderJudges(offender, async (decision) => {
      // Past goneAccount, which read the account live: the anonymisation waits for the decision.
      const anonymizing = (deletion.anonymizing = t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: offender.id }, { token: admin.token }));
      expect(await doneOrWaiting(t, anonymizing, 1, decision)).toBe('waiting');
    });
    expect(expectOk(decided).resolveReviewItem.history.at(-1).action).toContain('escalation: silence 24h');
    expectOk(await deletion.anonymizing!);
    const log = (await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 AND action IN ('sanction.auto', 'user.anonymize') ORDER BY id`, [offender.id])).map((r) => r.action);
    expect(log).toEqual(['sanction.auto', 'user.anonymize']);
  });

  it('lists sanctions with their appeals in a fixed number of statements', async () => {
    const user = await makeUser(t);
    const MINE = `{ mySanctions(first: 10) { edges { node { id appeal { status } } } } }`;
    const sanctionAndAppeal = async (i: number) => {
      const s = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SILENCE', reason: `Reason number ${i}`, durationHours: 48, spaceId: space.id } }, { token: mod.token })).sanctionUser;
      expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: s.id, message: `Please reconsider number ${i}` } }, { token: user.token }));
    };
    await sanctionAndAppeal(1);
    const one = await t.countStatements(() => t.gql(MINE, {}, { token: user.token }));
    for (let i = 2; i <= 4; i++) await sanctionAndAppeal(i);
    let listed: any;
    const four = await t.countStatements(async () => (listed = expectOk(await t.gql(MINE, {}, { token: user.token }))));
    expect(listed.mySanctions.edges.map((e: any) => e.node.appeal.status)).toEqual(['PENDING', 'PENDING', 'PENDING', 'PENDING']);
    expect(four.count).toBe(one.count);
  });

  /** A member silenced in the space by `mod`, who appealed with `message`: the member, the sanction and the appeal's review item. */
  async function silencedAndAppealed(message: string) {
    const user = await makeUser(t);
    const s = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SILENCE', reason: 'Heated thread', durationHours: 48, spaceId: space.id } }, { token: mod.token })).sanctionUser;
    expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: s.id, message } }, { token: user.token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'APPEAL' AND target_id = $1`, [s.id]);
    return { user, s, item };
  }

  it('grants a waiting appeal when its sanction is lifted directly: nobody denies an appeal of a sanction gone', async () => {
    const { user, s, item } = await silencedAndAppealed('I have calmed down, promise');
    expectOk(await t.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id: s.id }, { token: mod.token }));
    expect(await t.sql(`SELECT status, decided_by FROM appeals WHERE sanction_id = $1`, [s.id])).toEqual([{ status: 'GRANTED', decided_by: mod.id }]);
    expect(await t.sql(`SELECT status, resolved_by FROM review_items WHERE id = $1`, [item.id])).toEqual([{ status: 'APPROVED', resolved_by: mod.id }]);
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', note: 'Denied' } }, { token: mod2.token }), 'CONFLICT');
    const [event] = await t.sql(`SELECT payload FROM outbox WHERE type = 'appeal.decided' AND aggregate_id = $1`, [user.id]);
    expect(event.payload).toMatchObject({ sanctionId: s.id, granted: true });
  });

  it('never leaves an appeal waiting on a sanction lifted at the same moment, nor lets one be denied', async () => {
    for (let round = 0; round < 10; round++) {
      const user = await makeUser(t);
      const s = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SILENCE', reason: 'Heated thread', durationHours: 48, spaceId: space.id } }, { token: mod.token })).sanctionUser;
      await Promise.all([
        t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: s.id, message: 'I have calmed down, promise' } }, { token: user.token }),
        t.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id: s.id }, { token: mod.token }),
      ]);
      expect(await t.sql(`SELECT a.status FROM appeals a JOIN sanctions s ON s.id = a.sanction_id WHERE a.sanction_id = $1 AND s.lifted_at IS NOT NULL AND a.status = 'PENDING'`, [s.id])).toEqual([]);
    }
    // An appeal left waiting on a lifted sanction (from before this rule) is only granted.
    const user = await makeUser(t);
    const s = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SILENCE', reason: 'Heated thread', durationHours: 48, spaceId: space.id } }, { token: mod.token })).sanctionUser;
    expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: s.id, message: 'I have calmed down, promise' } }, { token: user.token }));
    await t.sql(`UPDATE sanctions SET lifted_at = now(), lifted_by = $2 WHERE id = $1`, [s.id, mod.id]);
    const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'APPEAL' AND target_id = $1`, [s.id]);
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', note: 'Denied' } }, { token: mod2.token }), 'CONFLICT');
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', note: 'Granted' } }, { token: mod2.token })).resolveReviewItem.status).toBe('APPROVED');
  });

  it('takes one appeal per sanction, decided by another moderator', async () => {
    const user = await makeUser(t);
    const other = await makeUser(t);
    const s = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SILENCE', reason: 'Heated thread', durationHours: 48, spaceId: space.id } }, { token: mod.token })).sanctionUser;
    const APPEAL = `mutation($input: AppealInput!) { appealSanction(input: $input) { id status } }`;
    expectError(await t.gql(APPEAL, { input: { sanctionId: s.id, message: 'It was not me, I promise' } }, { token: other.token }), 'NOT_FOUND');
    expectError(await t.gql(APPEAL, { input: { sanctionId: s.id, message: 'short' } }, { token: user.token }), 'BAD_USER_INPUT');
    expect(expectOk(await t.gql(APPEAL, { input: { sanctionId: s.id, message: 'I was quoting someone else' } }, { token: user.token })).appealSanction.status).toBe('PENDING');
    expectError(await t.gql(APPEAL, { input: { sanctionId: s.id, message: 'Please, once more' } }, { token: user.token }), 'CONFLICT');
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod2.token })).reviewQueue.edges.find((e: any) => e.node.kind === 'APPEAL' && e.node.targetId === s.id).node;
    expect(item.targetType).toBe('SANCTION');
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }), 'FORBIDDEN');
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'IGNORE' } }, { token: mod2.token }), 'BAD_USER_INPUT');
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', note: 'fair point' } }, { token: mod2.token }));
    const mine = expectOk(await t.gql(`{ mySanctions { edges { node { id active appeal { status decisionNote } } } } }`, {}, { token: user.token })).mySanctions.edges.map((e: any) => e.node);
    expect(mine).toEqual([{ id: s.id, active: false, appeal: { status: 'GRANTED', decisionNote: 'fair point' } }]);
    const warn = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'WARNING', reason: 'Tone', spaceId: space.id } }, { token: mod.token })).sanctionUser;
    expectError(await t.gql(APPEAL, { input: { sanctionId: warn.id, message: 'I disagree with this' } }, { token: user.token }), 'BAD_USER_INPUT');
    // Racing appeals of one sanction: one is taken, the others leave no trace in the queue.
    const again = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SILENCE', reason: 'Again', durationHours: 48, spaceId: space.id } }, { token: mod.token })).sanctionUser;
    const raced = await Promise.all([1, 2, 3].map((n) => t.gql(APPEAL, { input: { sanctionId: again.id, message: `Racing appeal number ${n}` } }, { token: user.token })));
    expect(raced.filter((r) => !r.errors)).toHaveLength(1);
    for (const r of raced.filter((r) => r.errors)) expectError(r, 'CONFLICT');
    const history = await t.sql(
      `SELECT e.action FROM review_item_events e JOIN review_items i ON i.id = e.review_item_id WHERE i.target_id = $1`,
      [again.id],
    );
    expect(history).toEqual([{ action: 'appealed' }]);
  });

  it('decides the waiting appeal of a member whose account was deleted since, only by who could lift its sanction, hidden from other spaces’ moderators', async () => {
    const { user, s, item } = await silencedAndAppealed('I was quoting someone else');
    // Deleted (anonymised) while the appeal waits: moderation history stays, the appeal with it.
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: user.id }, { token: admin.token }));
    const elsewhere = await makeUser(t);
    await makeSpace(t, 'PUBLIC', [{ userId: elsewhere.id, level: 'MODERATE' }]);
    expectNotFound(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: elsewhere.token }), 'resolveReviewItem');
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE' } }, { token: mod.token }), 'FORBIDDEN');
    expect(await t.sql(`SELECT lifted_at FROM sanctions WHERE id = $1`, [s.id])).toEqual([{ lifted_at: null }]);
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', note: 'fair point' } }, { token: mod2.token })).resolveReviewItem.status).toBe('APPROVED');
    expect(await t.sql(`SELECT s.lifted_by, a.status FROM sanctions s JOIN appeals a ON a.sanction_id = s.id WHERE s.id = $1`, [s.id])).toEqual([{ lifted_by: mod2.id, status: 'GRANTED' }]);
  });

  it('counts upheld automod flags as violations, and one post once however many items upheld it', async () => {
    const s2 = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const b2 = await makeBoard(t, s2.id);
    const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
    expectOk(await t.gql(RULE, { input: { spaceId: s2.id, pattern: 'chargeback', kind: 'WORD', action: 'FLAG', publicReason: 'Payment disputes go to support' } }, { token: mod.token }));
    const offender = await makeUser(t);
    const reporter = await makeUser(t, { trustLevel: 1 });
    const queue = async () => expectOk(await t.gql(QUEUE, { s: s2.id }, { token: mod.token })).reviewQueue.edges.map((e: any) => e.node);
    const approve = async (id: string) => expectOk(await t.gql(RESOLVE, { input: { id, decision: 'APPROVE', action: 'NONE' } }, { token: mod.token }));
    // One topic reported (as a topic, and as its first post by someone else) and flagged by automod: one violation.
    const first = await createTopic(t, offender.token, b2, { body: 'I will file a chargeback' });
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: first.id, reason: 'ABUSE' } }, { token: reporter.token }));
    expectOk(await t.gql(REPORT, { input: { targetType: 'POST', targetId: first.firstPostId, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 1 })).token }));
    const items = (await queue()).filter((i: any) => [first.id, first.firstPostId].includes(i.targetId));
    expect(items.map((i: any) => i.kind).sort()).toEqual(['AUTOMOD', 'REPORTS']);
    for (const i of items) await approve(i.id);
    expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([]);
    // A second post flagged by automod and upheld is the second violation.
    const second = await createTopic(t, offender.token, b2, { body: 'Another chargeback then' });
    const flag = (await queue()).find((i: any) => i.kind === 'AUTOMOD' && [second.id, second.firstPostId].includes(i.targetId));
    await approve(flag.id);
    expect(await t.sql(`SELECT kind, triggered_by FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([{ kind: 'SILENCE', triggered_by: mod.id }]);
  });

  it('sends the appeal of an automatic sanction to a moderator other than the one whose decision triggered it', async () => {
    const offender = await makeUser(t);
    const reporter = await makeUser(t, { trustLevel: 1 });
    for (let i = 0; i < 2; i++) await uphold((await createTopic(t, offender.token, board)).id, reporter);
    const [silence] = await t.sql(`SELECT id, issued_by, triggered_by FROM sanctions WHERE user_id = $1 AND automatic`, [offender.id]);
    expect(silence).toMatchObject({ issued_by: null, triggered_by: mod.id });
    expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: silence.id, message: 'Both reports came from one rival' } }, { token: offender.token }));
    const item = expectOk(await t.gql(QUEUE, { s: space.id }, { token: mod2.token })).reviewQueue.edges.find((e: any) => e.node.kind === 'APPEAL' && e.node.targetId === silence.id).node;
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT' } }, { token: mod.token }), 'FORBIDDEN');
    // Told first that the decision is not theirs, before what of their input it would not use, as a ban proposal's non-admin is.
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', action: 'HIDE', reason: 'Fair reports' } }, { token: mod.token }), 'FORBIDDEN');
    // Nor may they claim it, which would keep everyone else off it.
    expectError(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: mod.token }), 'FORBIDDEN');
    // Another's claim on it is no answer to one who may not decide it either: FORBIDDEN, as their claim is told.
    expectOk(await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: item.id }, { token: mod2.token }));
    expectError(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT' } }, { token: mod.token }), 'FORBIDDEN');
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', note: 'upheld twice, fairly' } }, { token: mod2.token }));
  });

  it('holds a claim on an appeal only while its claimant may decide it: one outranked by the appellant since, or its issuer, keeps nobody off it', async () => {
    const CLAIM = `mutation($id: ID!) { claimReviewItem(id: $id) { id claimedBy { id } } }`;
    const CLAIMED = `query($s: ID) { reviewQueue(spaceId: $s, first: 100) { edges { node { id claimedBy { id } } } } }`;
    const claimedBy = async (id: string) => expectOk(await t.gql(CLAIMED, { s: space.id }, { token: admin.token })).reviewQueue.edges.find((e: any) => e.node.id === id).node.claimedBy;
    const appealItem = async (issuer: TestUser) => {
      const user = await makeUser(t);
      const s = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SILENCE', reason: 'Heated', durationHours: 48, spaceId: space.id } }, { token: issuer.token })).sanctionUser;
      expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: s.id, message: 'I was quoting someone else' } }, { token: user.token }));
      const [{ id }] = await t.sql(`SELECT id FROM review_items WHERE kind = 'APPEAL' AND target_id = $1`, [s.id]);
      return { user, id: id as string };
    };
    // mod2 claims; the appellant is then made a moderator of the space, as high as mod2 there: mod2 may no longer lift the silence.
    const outranked = await appealItem(mod);
    expect(expectOk(await t.gql(CLAIM, { id: outranked.id }, { token: mod2.token })).claimReviewItem.claimedBy).toEqual({ id: mod2.id });
    expect(await claimedBy(outranked.id)).toEqual({ id: mod2.id });
    expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, userId: outranked.user.id, level: 'MODERATE' } }, { token: admin.token }));
    expectError(await t.gql(RESOLVE, { input: { id: outranked.id, decision: 'REJECT' } }, { token: mod2.token }), 'FORBIDDEN');
    // Their claim keeps nobody off: shown to nobody, and an admin claims and decides it at once.
    expect(await claimedBy(outranked.id)).toBeNull();
    expect(expectOk(await t.gql(CLAIM, { id: outranked.id }, { token: admin.token })).claimReviewItem.claimedBy).toEqual({ id: admin.id });
    expect(expectOk(await t.gql(RESOLVE, { input: { id: outranked.id, decision: 'REJECT', note: 'upheld' } }, { token: admin.token })).resolveReviewItem.status).toBe('REJECTED');
    // A claim by the sanction's issuer (claimReviewItem refuses one; written here as a row) holds nothing either.
    const issued = await appealItem(mod);
    await t.sql(`UPDATE review_items SET claimed_by = $2, claimed_until = now() + interval '10 minutes' WHERE id = $1`, [issued.id, mod.id]);
    expect(await claimedBy(issued.id)).toBeNull();
    expect(expectOk(await t.gql(CLAIM, { id: issued.id }, { token: mod2.token })).claimReviewItem.claimedBy).toEqual({ id: mod2.id });
    // One who may decide it keeps others off, as ever.
    expect(await claimedBy(issued.id)).toEqual({ id: mod2.id });
    expectError(await t.gql(CLAIM, { id: issued.id }, { token: admin.token }), 'CONFLICT');
  });

  /** A member of a new space silenced by its moderator `issuer`, and appealing: the sanction, its item, and `decider`, the space's other moderator. */
  async function appealedInNewSpace() {
    const [issuer, decider, user] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const s2 = await makeSpace(t, 'PUBLIC', [{ userId: issuer.id, level: 'MODERATE' }, { userId: decider.id, level: 'MODERATE' }]);
    const s = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SILENCE', reason: 'Heated', durationHours: 48, spaceId: s2.id } }, { token: issuer.token })).sanctionUser;
    expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: s.id, message: 'I was quoting someone else' } }, { token: user.token }));
    const [{ id: itemId }] = await t.sql(`SELECT id FROM review_items WHERE kind = 'APPEAL' AND target_id = $1`, [s.id]);
    return { issuer, decider, user, space: s2.id, sanctionId: s.id as string, itemId: itemId as string };
  }

  it('lets no moderator whose grant was revoked meanwhile decide or claim an appeal: judged as the decision’s transaction reads them', async () => {
    const { decider, space: s2, sanctionId, itemId } = await appealedInNewSpace();
    const revokedWhile = async (act: Promise<unknown>, gate: { begun: Promise<void>; open: () => void }) => {
      await gate.begun;
      expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: s2, userId: decider.id } }, { token: admin.token }));
      gate.open();
      return act;
    };
    // The claim and the decision held once their transaction has the item, before it reads the
    // decider as they are (lockItem's viewerNow), the one reading the appeal's judgement
    // (assertMayDecideAppeal) asks too: one whose grant was revoked by then handles nothing
    // (NOT_FOUND, as lockItem refuses). A revocation committed after that reading came, in effect,
    // after the decision, as for every judgement read and not locked.
    const beforeReading = () => gateCalls(t.get(SessionsService), 'viewerNow', (viewer: { id: string }) => viewer.id === decider.id);
    const claimGate = beforeReading();
    let claimed;
    try {
      claimed = await revokedWhile(t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: itemId }, { token: decider.token }), claimGate);
    } finally {
      claimGate.restore();
    }
    expectError(claimed as any, 'NOT_FOUND');
    expect(await t.sql(`SELECT claimed_by FROM review_items WHERE id = $1`, [itemId])).toEqual([{ claimed_by: null }]);
    // Granted again, and revoked again while the decision waits.
    expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`, { input: { spaceId: s2, userId: decider.id, level: 'MODERATE' } }, { token: admin.token }));
    const decideGate = beforeReading();
    let decided;
    try {
      decided = await revokedWhile(t.gql(RESOLVE, { input: { id: itemId, decision: 'APPROVE', note: 'fair' } }, { token: decider.token }), decideGate);
    } finally {
      decideGate.restore();
    }
    expectError(decided as any, 'NOT_FOUND');
    expect(await t.sql(`SELECT lifted_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ lifted_at: null }]);
    expect(await t.sql(`SELECT status FROM appeals WHERE sanction_id = $1`, [sanctionId])).toEqual([{ status: 'PENDING' }]);
    expect(await t.sql(`SELECT status FROM review_items WHERE id = $1`, [itemId])).toEqual([{ status: 'PENDING' }]);
  });

  it('judges an appeal’s decider as lockItem read them, not as the request’s session had them: a global moderator demoted meanwhile, still a moderator of the space, may not lift a fellow moderator’s silence', async () => {
    const { decider, user, space: s2, sanctionId, itemId } = await appealedInNewSpace();
    // The decider a global moderator when the request begins; the appellant a moderator of the
    // space too: only the global role puts the decider above them (authorize).
    await t.sql(`UPDATE users SET role = 'MODERATOR' WHERE id = $1`, [decider.id]);
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES ($1, $2, $3, $4)`, [newId(), s2, user.id, 3]);
    const demotedWhile = async (act: () => Promise<GqlResult>) => {
      await t.sql(`UPDATE users SET role = 'MODERATOR' WHERE id = $1`, [decider.id]);
      // Held before lockItem reads the decider as they are (viewerNow); the session read them a global moderator.
      const gate = gateCalls(t.get(SessionsService), 'viewerNow', (viewer: { id: string }) => viewer.id === decider.id);
      try {
        const acting = act();
        await gate.begun;
        await t.sql(`UPDATE users SET role = 'MEMBER' WHERE id = $1`, [decider.id]);
        gate.open();
        return await acting;
      } finally {
        gate.restore();
      }
    };
    // Still the space's moderator, they handle the item (lockItem), but may not lift a peer's sanction.
    const claimed = await demotedWhile(() => t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: itemId }, { token: decider.token }));
    expect(expectError(claimed, 'FORBIDDEN').message).toBe('Only a moderator who could lift this sanction decides its appeal');
    expect(await t.sql(`SELECT claimed_by FROM review_items WHERE id = $1`, [itemId])).toEqual([{ claimed_by: null }]);
    const decided = await demotedWhile(() => t.gql(RESOLVE, { input: { id: itemId, decision: 'APPROVE', note: 'fair' } }, { token: decider.token }));
    expect(expectError(decided, 'FORBIDDEN').message).toBe('Only a moderator who could lift this sanction decides its appeal');
    expect(await t.sql(`SELECT lifted_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ lifted_at: null }]);
    expect(await t.sql(`SELECT status FROM appeals WHERE sanction_id = $1`, [sanctionId])).toEqual([{ status: 'PENDING' }]);
  });

  it('refuses a moderator their own appeal (FORBIDDEN), as the queue’s SQL does: a member made a moderator of the space, their silence run out while its appeal waited', async () => {
    const { user, space: s2, sanctionId, itemId } = await appealedInNewSpace();
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES ($1, $2, $3, $4)`, [newId(), s2, user.id, 3]);
    await t.sql(`UPDATE sanctions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [sanctionId]);
    // They moderate the space again and see the item, but the appeal is theirs.
    expect(expectOk(await t.gql(QUEUE, { s: s2 }, { token: user.token })).reviewQueue.edges.map((e: any) => e.node.id)).toContain(itemId);
    const claimed = await t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: itemId }, { token: user.token });
    expect(expectError(claimed, 'FORBIDDEN').extensions.fields).toBeUndefined();
    const decided = await t.gql(RESOLVE, { input: { id: itemId, decision: 'APPROVE', note: 'mine' } }, { token: user.token });
    expect(expectError(decided, 'FORBIDDEN').extensions.fields).toBeUndefined();
    expect(await t.sql(`SELECT claimed_by, status FROM review_items WHERE id = $1`, [itemId])).toEqual([{ claimed_by: null, status: 'PENDING' }]);
    expect(await t.sql(`SELECT status FROM appeals WHERE sanction_id = $1`, [sanctionId])).toEqual([{ status: 'PENDING' }]);
  });

  it('claims no appeal whose sanction was lifted while the claim waited for its item: a lift settles the item under its lock, which the claim reads its status under (CONFLICT, no claim)', async () => {
    const { decider, issuer, sanctionId, itemId } = await appealedInNewSpace();
    // The lift (liftSanction, a request of its own) held once it has settled the appeal's item
    // (grantWaitingAppeal, the item's row updated and so locked), before it commits.
    const settled = gateCalls(t.get(ReviewItems), 'approvePending', (_tx: unknown, o: { params: unknown[] }) => o.params[0] === itemId, 'after');
    const running: Array<Promise<unknown>> = [];
    let lifted: GqlResult | undefined;
    let claimed: GqlResult | undefined;
    try {
      const lifting = t.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id: sanctionId }, { token: issuer.token });
      running.push(lifting);
      await settled.begun;
      const claiming = t.gql(`mutation($id: ID!) { claimReviewItem(id: $id) { id } }`, { id: itemId }, { token: decider.token });
      running.push(claiming);
      // The claim waits for the item's row, which the lift holds until it commits.
      expect(await doneOrWaiting(t, claiming, 1, await gateHolder(settled))).toBe('waiting');
      settled.open();
      [lifted, claimed] = await Promise.all([lifting, claiming]);
    } finally {
      settled.restore();
      await Promise.allSettled(running);
    }
    expectOk(lifted!);
    expect(expectError(claimed!, 'CONFLICT').message).toBe('This item is already resolved');
    expect(await t.sql(`SELECT status, claimed_by, resolved_by FROM review_items WHERE id = $1`, [itemId])).toEqual([{ status: 'APPROVED', claimed_by: null, resolved_by: issuer.id }]);
    expect(await t.sql(`SELECT status, decided_by FROM appeals WHERE sanction_id = $1`, [sanctionId])).toEqual([{ status: 'GRANTED', decided_by: issuer.id }]);
  });

  it('never deadlocks a direct lift with its appeal’s decision: both take the sanction before its review item', async () => {
    const { issuer, decider, sanctionId, itemId } = await appealedInNewSpace();
    const deadlocks = countDeadlocks(t);
    const held = await holdLock(t, `SELECT 1 FROM sanctions WHERE id = $1 FOR UPDATE`, [sanctionId]);
    let lifting: Promise<GqlResult> | undefined;
    let deciding: Promise<GqlResult> | undefined;
    try {
      // The lift waits for the sanction first, then the decision queues behind it (the decision
      // held the item as it waited: the lift, given the sanction, then waited for the item).
      lifting = t.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id: sanctionId }, { token: issuer.token });
      await waitForWaitsOn(t, await xidOf(held), 1);
      deciding = t.gql(RESOLVE, { input: { id: itemId, decision: 'REJECT', note: 'upheld' } }, { token: decider.token });
      await waitForLockWaits(t, 2, held);
    } finally {
      await held.release();
    }
    const [lifted, decided] = await Promise.all([lifting!, deciding!]);
    deadlocks.restore();
    expect(deadlocks.count).toBe(0);
    expectOk(lifted);
    // The lift granted the appeal: the decision finds its item settled.
    expectError(decided, 'CONFLICT');
    expect(await t.sql(`SELECT status, decided_by FROM appeals WHERE sanction_id = $1`, [sanctionId])).toEqual([{ status: 'GRANTED', decided_by: issuer.id }]);
    expect(await t.sql(`SELECT status, resolved_by FROM review_items WHERE id = $1`, [itemId])).toEqual([{ status: 'APPROVED', resolved_by: issuer.id }]);
  });

  it('never deadlocks a decision that sanctions an offender, then upholds their post’s other items, with the ladder sanctioning them at once: both take the sanctions’ lock before the ladder’s', async () => {
    const s2 = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }, { userId: mod2.id, level: 'MODERATE' }]);
    const b2 = await makeBoard(t, s2.id);
    expectOk(await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, {
      input: { spaceId: s2.id, pattern: 'chargeback', kind: 'WORD', action: 'FLAG', publicReason: 'Payment disputes go to support' },
    }, { token: mod.token }));
    const offender = await makeUser(t);
    const reporter = await makeUser(t, { trustLevel: 1 });
    const itemOn = async (topicId: string, kind: string) =>
      expectOk(await t.gql(QUEUE, { s: s2.id }, { token: mod.token })).reviewQueue.edges.map((e: any) => e.node).find((n: any) => n.kind === kind && n.targetId === topicId).id;
    const reported = async (body: string) => {
      const topic = await createTopic(t, offender.token, b2, { body });
      expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: reporter.token }));
      return { topic, item: await itemOn(topic.id, 'REPORTS') };
    };
    // One violation upheld already: the next one upheld climbs to the ladder's silence.
    expectOk(await t.gql(RESOLVE, { input: { id: (await reported('first')).item, decision: 'APPROVE', action: 'NONE' } }, { token: mod.token }));
    // Reported and flagged (two items, which the first's decision upholds together), and another reported.
    const flagged = await reported('I will file a chargeback');
    const other = await reported('second');
    const deadlocks = countDeadlocks(t);
    // The decision with a sanction held once it has written it (the sanctions' lock taken), before
    // it upholds the flag on the same post (the ladder's lock).
    const written = gateCalls(t.get(SanctionsService), 'write', (_tx: unknown, _v: unknown, input: { userId: string }) => input.userId === offender.id, 'after');
    let sanctioning: Promise<GqlResult> | undefined;
    let climbing: Promise<GqlResult> | undefined;
    try {
      sanctioning = t.gql(RESOLVE, {
        input: { id: flagged.item, decision: 'APPROVE', action: 'HIDE', reason: 'Disputes go to support', sanction: { kind: 'SILENCE', durationHours: 1 } },
      }, { token: mod.token });
      await written.begun;
      // The other decision climbs the ladder (its silence): it waits for the sanction's decision.
      climbing = t.gql(RESOLVE, { input: { id: other.item, decision: 'APPROVE', action: 'NONE' } }, { token: mod2.token });
      expect(await doneOrWaiting(t, climbing, 1, await gateHolder(written))).toBe('waiting');
      written.open();
      expectOk(await sanctioning);
      expectOk(await climbing);
    } finally {
      written.restore();
      deadlocks.restore();
    }
    expect(deadlocks.count).toBe(0);
    expect(await t.sql(`SELECT status FROM review_items WHERE kind = 'AUTOMOD' AND space_id = $1`, [s2.id])).toEqual([{ status: 'APPROVED' }]);
  });

  it('takes the offender’s sanction lock once in a decision that sanctions them and upholds their post’s other items: the ladder takes it as held', async () => {
    const s3 = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const b3 = await makeBoard(t, s3.id);
    expectOk(await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, {
      input: { spaceId: s3.id, pattern: 'chargeback', kind: 'WORD', action: 'FLAG', publicReason: 'Payment disputes go to support' },
    }, { token: mod.token }));
    const offender = await makeUser(t);
    const topic = await createTopic(t, offender.token, b3, { body: 'I will file a chargeback' });
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 1 })).token }));
    const items = expectOk(await t.gql(QUEUE, { s: s3.id }, { token: mod.token })).reviewQueue.edges.map((e: any) => e.node).filter((n: any) => n.targetId === topic.id);
    const report = items.find((n: any) => n.kind === 'REPORTS').id;
    let decided: GqlResult | undefined;
    const { statements } = await t.countStatements(async () => (decided = await t.gql(RESOLVE, {
      input: { id: report, decision: 'APPROVE', action: 'HIDE', reason: 'Disputes go to support', sanction: { kind: 'SILENCE', durationHours: 1 } },
    }, { token: mod.token })));
    expect(expectOk(decided!).resolveReviewItem.history.at(-1).action).toContain('sanction: silence');
    // Once, by `judge` (exclusive); the ladder climbed for the flag takes its own lock alone. It was
    // asked for again in the ladder's statement, in the same transaction, which held it already.
    expect(statements.filter((q) => q.includes('parvis:sanctions-of:'))).toEqual([`SELECT ${sanctionLockSql('$1', 'exclusive')}`]);
    expect(statements.filter((q) => q.includes('pg_advisory_xact_lock(hashtextextended($1, 0))'))).toEqual(['SELECT pg_advisory_xact_lock(hashtextextended($1, 0))']);
    expect(await t.sql(`SELECT kind, status FROM review_items WHERE space_id = $1 ORDER BY kind`, [s3.id])).toEqual([{ kind: 'AUTOMOD', status: 'APPROVED' }, { kind: 'REPORTS', status: 'APPROVED' }]);
    expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([{ kind: 'SILENCE' }]);
  });

  it('lets a member suspended site-wide, who cannot sign in, appeal with the token the refused sign-in returns', async () => {
    const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`;
    const SIGN_IN = `mutation($input: SignInInput!) { signIn(input: $input) { token } }`;
    const APPEAL = `mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`;
    const handle = `susp${Date.now().toString(36)}`;
    const userId = expectOk(await t.gql(SIGN_UP, { input: { email: `${handle}@example.com`, handle, password: 'suspended password 1' } })).signUp.user.id;
    const sanctionId = expectOk(
      await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId, kind: 'SUSPEND', durationHours: 48, reason: 'repeated spam' } }, { token: admin.token }),
    ).sanctionUser.id;
    // A wrong password learns nothing; the right one is refused, naming the sanction.
    expect(expectError(await t.gql(SIGN_IN, { input: { login: handle, password: 'not the password' } }), 'UNAUTHENTICATED').extensions.appealToken).toBeUndefined();
    const refused = expectError(await t.gql(SIGN_IN, { input: { login: handle, password: 'suspended password 1' } }), 'FORBIDDEN');
    expect(refused.extensions.sanction).toMatchObject({ id: sanctionId, kind: 'SUSPEND', reason: 'repeated spam', appeal: null });
    const token = refused.extensions.appealToken as string;
    // The token only appeals: it is no session.
    expect(expectOk(await t.gql(`{ me { id } }`, {}, { token })).me).toBeNull();
    const message = 'I was not spamming, those were release notes.';
    const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expectError(await t.gql(APPEAL, { input: { sanctionId, message, appealToken: forged } }), 'UNAUTHENTICATED');
    expectError(await t.gql(APPEAL, { input: { sanctionId, message } }), 'UNAUTHENTICATED');
    // Someone else's token reaches none of this member's sanctions.
    const other = await makeUser(t);
    const otherSanction = expectOk(
      await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: other.id, kind: 'SUSPEND', durationHours: 1, reason: 'test' } }, { token: admin.token }),
    ).sanctionUser.id;
    expectError(await t.gql(APPEAL, { input: { sanctionId: otherSanction, message, appealToken: token } }), 'NOT_FOUND');
    expectOk(await t.gql(APPEAL, { input: { sanctionId, message, appealToken: token } }));
    const [appeal] = await t.sql(`SELECT user_id, message FROM appeals WHERE sanction_id = $1`, [sanctionId]);
    expect(appeal).toEqual({ user_id: userId, message });
    // Barred members cannot read their notifications: the refused sign-in tells them where the appeal stands.
    const signIn = async () => expectError(await t.gql(SIGN_IN, { input: { login: handle, password: 'suspended password 1' } }), 'FORBIDDEN').extensions.sanction as any;
    expect((await signIn()).appeal).toEqual({ status: 'PENDING', decisionNote: null, decidedAt: null });
    // A site-wide sanction's appeal is decided site-wide, by someone other than who issued it.
    const judge = await makeUser(t, { role: 'ADMIN' });
    const item = expectOk(await t.gql(QUEUE, {}, { token: judge.token })).reviewQueue.edges.find((e: any) => e.node.kind === 'APPEAL' && e.node.targetId === sanctionId).node;
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', note: 'The notes linked to a scam' } }, { token: judge.token }));
    expect((await signIn()).appeal).toEqual({ status: 'DENIED', decisionNote: 'The notes linked to a scam', decidedAt: expect.any(String) });
  });

  it('keeps an address banned by a second ban when the appeal of the first is granted', async () => {
    const password = 'twice banned password';
    const member = await makeUser(t, { passwordHash: await hashPassword(password) });
    const ban = async () =>
      expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'BAN', reason: 'Spam ring', banEmail: true } }, { token: admin.token })).sanctionUser.id as string;
    const [first, second] = [await ban(), await ban()];
    const refused = expectError(await t.gql(`mutation($input: SignInInput!) { signIn(input: $input) { token } }`, { input: { login: member.handle, password } }), 'FORBIDDEN');
    const appealToken = refused.extensions.appealToken as string;
    expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: first, message: 'The first ban was a mistake.', appealToken } }));
    const judge = await makeUser(t, { role: 'ADMIN' });
    const item = expectOk(await t.gql(QUEUE, {}, { token: judge.token })).reviewQueue.edges.find((e: any) => e.node.kind === 'APPEAL' && e.node.targetId === first).node;
    expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', note: 'Granted' } }, { token: judge.token }));
    const banned = async () => (await t.sql(`SELECT ${emailBannedSql('$1')} AS banned`, [member.email]))[0].banned;
    expect(await banned()).toBe(true);
    expectOk(await t.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id: second }, { token: admin.token }));
    expect(await banned()).toBe(false);
  });

  it('accepts an appeal token only for its purpose, unaltered and unexpired', async () => {
    const tokens = t.get(SignedTokens);
    const subject = newId();
    expect(await tokens.verify(APPEAL_TOKEN_PURPOSE, await tokens.sign(APPEAL_TOKEN_PURPOSE, subject, 60))).toBe(subject);
    expect(await tokens.verify(APPEAL_TOKEN_PURPOSE, await tokens.sign('unsubscribe', subject, 60))).toBeNull();
    expect(await tokens.verify(APPEAL_TOKEN_PURPOSE, await tokens.sign(APPEAL_TOKEN_PURPOSE, subject, -1))).toBeNull();
    expect(await tokens.verify(APPEAL_TOKEN_PURPOSE, 'not a token')).toBeNull();
    // A later expiry written into a valid token breaks its signature.
    const [id, expires, mac] = (await tokens.sign(APPEAL_TOKEN_PURPOSE, subject, 60)).split('.');
    expect(await tokens.verify(APPEAL_TOKEN_PURPOSE, `${id}.${Number(expires) + 3600}.${mac}`)).toBeNull();
    // Sealed tokens (unsubscribe links) never expire, and are refused likewise when altered or for another purpose.
    const sealed = await tokens.seal('unsubscribe', `${subject}.MENTION`);
    expect(await tokens.unseal('unsubscribe', sealed)).toBe(`${subject}.MENTION`);
    expect(await tokens.unseal('unsubscribe', sealed.replace('MENTION', 'REPLY'))).toBeNull();
    expect(await tokens.unseal(APPEAL_TOKEN_PURPOSE, sealed)).toBeNull();
    // An expired token is refused by appealSanction, with a way forward.
    const user = await makeUser(t);
    const sanctionId = expectOk(
      await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: user.id, kind: 'SUSPEND', durationHours: 2, reason: 'test' } }, { token: admin.token }),
    ).sanctionUser.id;
    const expired = await tokens.sign(APPEAL_TOKEN_PURPOSE, user.id, -1);
    const err = expectError(
      await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId, message: 'Please look at this again.', appealToken: expired } }),
      'UNAUTHENTICATED',
    );
    expect(err.message).toMatch(/expired/);
    expect(await t.sql(`SELECT id FROM appeals WHERE sanction_id = $1`, [sanctionId])).toEqual([]);
  });

  describe('what a decision reads', () => {
    /** A member read as a viewer (`SessionsService.viewerForUser`, and so `viewerNow`): not the session's own read. */
    const VIEWER_READ = /FROM users u .*WHERE u\.id = ANY\(\$1::uuid\[\]\) AND \(\(u\.deleted_at IS NULL AND NOT u\.is_placeholder\) OR \$2\)/s;
    const viewerReads = (statements: string[]) => statements.filter((q) => VIEWER_READ.test(q)).length;
    const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;

    it('reads the deciding moderator once, as lockItem reads them, and the member once, whatever the decision judges', async () => {
      // An appeal's decider (assertMayDecideAppeal).
      const { item, s } = await silencedAndAppealed('I was provoked, please look again');
      const appeal = await t.countStatements(async () => expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'APPROVE', note: 'Granted' } }, { token: mod2.token })));
      expect(viewerReads(appeal.statements)).toBe(2);
      expect(await t.sql(`SELECT lifted_by FROM sanctions WHERE id = $1`, [s.id])).toEqual([{ lifted_by: mod2.id }]);
      // A ban proposal's admin (judge, then write).
      await withBanProposal(async (offender, proposal) => {
        const ban = await t.countStatements(async () => expectOk(await t.gql(RESOLVE, { input: { id: proposal.id, decision: 'APPROVE', reason: 'Repeated abuse' } }, { token: admin.token })));
        expect(viewerReads(ban.statements)).toBe(2);
        expect(await t.sql(`SELECT issued_by FROM sanctions WHERE user_id = $1 AND kind = 'BAN'`, [offender.id])).toEqual([{ issued_by: admin.id }]);
      });
      // A sanction given with an upheld report (issue).
      const offender = await makeUser(t);
      const topic = await createTopic(t, offender.token, board);
      expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: (await makeUser(t)).token }));
      const [report] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [topic.id]);
      const upheld = await t.countStatements(async () =>
        expectOk(await t.gql(RESOLVE, { input: { id: report.id, decision: 'APPROVE', action: 'NONE', sanction: { kind: 'WARNING', reason: 'Mind your tone' } } }, { token: mod.token })));
      expect(viewerReads(upheld.statements)).toBe(2);
      expect(await t.sql(`SELECT kind, issued_by FROM sanctions WHERE user_id = $1`, [offender.id])).toEqual([{ kind: 'WARNING', issued_by: mod.id }]);
    });

    it('reads an appeal’s sanction once, as lockTarget locks it', async () => {
      const { item, s } = await silencedAndAppealed('Please reconsider my silence');
      const cost = await t.countStatements(async () => expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision: 'REJECT', note: 'Denied' } }, { token: mod2.token })));
      expect(cost.statements.filter((q) => /FROM sanctions WHERE id = \$1/.test(q))).toEqual([expect.stringMatching(/FOR UPDATE$/)]);
      expect(await t.sql(`SELECT status, decided_by FROM appeals WHERE sanction_id = $1`, [s.id])).toEqual([{ status: 'DENIED', decided_by: mod2.id }]);
    });

    it('refuses a sanction from a member who may sanction nobody before any transaction or lock, as it refused them in one', async () => {
      const member = await makeUser(t);
      const target = await makeUser(t);
      for (const spaceId of [undefined, space.id]) {
        let res: GqlResult | undefined;
        const cost = await t.countStatements(async () => (res = await t.gql(SANCTION, { input: { userId: target.id, kind: 'WARNING', reason: 'Because', spaceId } }, { token: member.token })));
        expectError(res!, 'FORBIDDEN');
        expect(cost.statements.filter((q) => /^(BEGIN|START TRANSACTION)\b|FOR (KEY )?SHARE|FOR (NO KEY )?UPDATE/i.test(q.trim()))).toEqual([]);
      }
      // A moderator of the space still sanctions there, judged in the transaction.
      expectOk(await t.gql(SANCTION, { input: { userId: target.id, kind: 'WARNING', reason: 'Because', spaceId: space.id } }, { token: mod.token }));
      expect(await t.sql(`SELECT issued_by FROM sanctions WHERE user_id = $1`, [target.id])).toEqual([{ issued_by: mod.id }]);
    });

    it('tells a member who may sanction nobody nothing of whether the user they name exists: the same refusal, site-wide, in a space they read, in one they do not', async () => {
      const member = await makeUser(t);
      const target = await makeUser(t);
      const closed = await makeSpace(t, 'RESTRICTED');
      const answer = async (userId: string, spaceId?: string) => {
        const res = await t.gql(SANCTION, { input: { userId, kind: 'WARNING', reason: 'Because', spaceId } }, { token: member.token });
        return { code: res.errors?.[0]?.extensions.code, message: res.errors?.[0]?.message };
      };
      for (const spaceId of [undefined, space.id, closed.id]) {
        const toSomeone = await answer(target.id, spaceId);
        expect(toSomeone.code).toBe(spaceId === closed.id ? 'NOT_FOUND' : 'FORBIDDEN');
        expect(await answer(newId(), spaceId)).toEqual(toSomeone);
      }
      expect(await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE user_id = $1`, [target.id])).toEqual([{ n: 0 }]);
    });
  });
});
