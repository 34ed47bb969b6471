import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';
import { CallGate, gateCalls } from '../support/gates';
import { withLockHeld } from '../support/row-locks';
import { doneOrWaiting, gateHolder, renamesWithoutWaiting } from '../support/lock-waits';
import { SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';
import { ReportsService } from '../../libs/moderation/src/reports/reports.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { SanctionInput } from '../../libs/moderation/src/sanctions/dto/sanction.inputs';
import { ReviewDecision } from '../../libs/moderation/src/reports/review.model';
import { poolStatementsOf } from '../support/pool-statements';

const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;
const LIFT = `mutation($id: ID!) { liftSanction(id: $id) { id active } }`;
const APPEAL = `mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`;
const CLAIM = `mutation($id: ID!) { claimReviewItem(id: $id) { id } }`;
const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id status } }`;
const REPORT = `mutation($input: ReportInput!) { report(input: $input) { id } }`;

/** Who may judge a moderator: their peers never, even once a sanction stands against them. */
describe('moderation: moderators’ ranks hold whatever sanction stands', () => {
  let t: TestApp;
  let admin: TestUser;
  let globalMod: TestUser;
  let m1: TestUser;
  let m2: TestUser;
  let space: { id: string };
  let board: string;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN' });
    globalMod = await makeUser(t, { role: 'MODERATOR' });
    m1 = await makeUser(t);
    m2 = await makeUser(t);
    space = await makeSpace(t, 'PUBLIC', [{ userId: m1.id, level: 'MODERATE' }, { userId: m2.id, level: 'MODERATE' }]);
    board = await makeBoard(t, space.id);
  });
  afterAll(() => t.close());

  const sanction = async (by: TestUser, input: Record<string, unknown>) => expectOk(await t.gql(SANCTION, { input }, { token: by.token })).sanctionUser.id as string;
  const itemOf = async (kind: string, targetId: string) => (await t.sql(`SELECT id FROM review_items WHERE kind = $1 AND target_id = $2 AND status = 'PENDING'`, [kind, targetId]))[0]?.id as string;

  it('a silenced space moderator is still out of their peers’ reach: no sanction, no lifting the silence, and no automatic moderation', async () => {
    expectError(await t.gql(SANCTION, { input: { userId: m1.id, kind: 'WARNING', reason: 'peer', spaceId: space.id } }, { token: m2.token }), 'FORBIDDEN');
    const silence = await sanction(globalMod, { userId: m1.id, kind: 'SILENCE', durationHours: 1, reason: 'cool down', spaceId: space.id });
    expectError(await t.gql(SANCTION, { input: { userId: m1.id, kind: 'BAN', reason: 'piling on', spaceId: space.id } }, { token: m2.token }), 'FORBIDDEN');
    expectError(await t.gql(LIFT, { id: silence }, { token: m2.token }), 'FORBIDDEN');
    expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1 AND lifted_at IS NULL`, [m1.id])).toEqual([{ kind: 'SILENCE' }]);
    // Reports on a silenced moderator's topic (written before the silence) never hide it by themselves.
    await t.sql(`UPDATE spaces SET moderation = '{"autoHideThreshold": 1}' WHERE id = $1`, [space.id]);
    await t.sql(`UPDATE sanctions SET lifted_at = now() WHERE id = $1`, [silence]);
    const topic = await createTopic(t, m1.token, board);
    await sanction(globalMod, { userId: m1.id, kind: 'SILENCE', durationHours: 1, reason: 'again', spaceId: space.id });
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 2 })).token }));
    expect((await t.sql(`SELECT state FROM posts WHERE id = $1`, [topic.firstPostId]))[0].state).toBe('VISIBLE');
    await t.sql(`UPDATE spaces SET moderation = '{}' WHERE id = $1`, [space.id]);
    await t.sql(`UPDATE sanctions SET lifted_at = now() WHERE user_id = $1 AND lifted_at IS NULL`, [m1.id]);
  });

  /**
   * A space moderator, their space, and a member there; `act` (the moderator's request) is held at
   * `gate` (under way, its session read) while the moderator's grant is revoked, then goes on: answers its result.
   */
  async function revokedWhileHeld(gate: (mod: TestUser) => CallGate, act: (ids: { mod: TestUser; space: string; x: TestUser }) => Promise<GqlResult>) {
    const mod = await makeUser(t);
    const s = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const x = await makeUser(t);
    const held = gate(mod);
    try {
      const acting = act({ mod, space: s.id, x });
      await held.begun;
      expectOk(await t.gql(`mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`, { input: { spaceId: s.id, userId: mod.id } }, { token: admin.token }));
      held.open();
      return { x, answer: await acting };
    } finally {
      held.restore();
    }
  }

  it('a moderator whose grant is revoked while their sanction is on its way sanctions nobody (FORBIDDEN)', async () => {
    // The sanction held in its transaction before it is judged (mod a moderator when the request
    // began, and when sanctionUser's early refusal asked their session), the issuer read there
    // from the request's session (`{ session }`).
    const { x, answer } = await revokedWhileHeld(
      (mod) => gateCalls(t.get(SanctionsService), 'authorizeNow', (_tx: unknown, by: { session?: { id: string } }) => by.session?.id === mod.id),
      ({ mod, space: s, x }) => t.gql(SANCTION, { input: { userId: x.id, kind: 'SILENCE', durationHours: 1, reason: 'spam', spaceId: s } }, { token: mod.token }),
    );
    expect(expectError(answer, 'FORBIDDEN').message).toBe('You need MODERATE access in this space');
    expect(await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE user_id = $1`, [x.id])).toEqual([{ n: 0 }]);
  });

  it('a moderator whose grant is revoked while their lift is on its way lifts nothing (FORBIDDEN)', async () => {
    // The lift held once the request's session let it see the sanction, in its transaction before it is judged (mod a moderator then).
    let silence = '';
    const { x, answer } = await revokedWhileHeld(
      (mod) => gateCalls(t.get(SanctionsService), 'authorizeNow', (_tx: unknown, by: { session?: { id: string } }) => by.session?.id === mod.id),
      async ({ mod, space: s, x }) => {
        silence = await sanction(admin, { userId: x.id, kind: 'SILENCE', durationHours: 1, reason: 'spam', spaceId: s });
        return t.gql(LIFT, { id: silence }, { token: mod.token });
      },
    );
    expect(expectError(answer, 'FORBIDDEN').message).toBe('You need MODERATE access in this space');
    expect(await t.sql(`SELECT lifted_at FROM sanctions WHERE id = $1`, [silence])).toEqual([{ lifted_at: null }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'sanction.lift' AND target_id = $1`, [x.id])).toEqual([{ n: 0 }]);
  });

  it('answers a lift of a sanction lifted already as it is, once its lifter may lift it: nothing logged again; FORBIDDEN to one who may not now', async () => {
    const x = await makeUser(t);
    const silence = await sanction(globalMod, { userId: x.id, kind: 'SILENCE', durationHours: 1, reason: 'cool down' });
    expect(expectOk(await t.gql(LIFT, { id: silence }, { token: globalMod.token })).liftSanction).toEqual({ id: silence, active: false });
    expect(expectOk(await t.gql(LIFT, { id: silence }, { token: globalMod.token })).liftSanction).toEqual({ id: silence, active: false });
    const lifts = async () => t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'sanction.lift' AND target_id = $1`, [x.id]);
    expect(await lifts()).toEqual([{ n: 1 }]);
    // x made a moderator of the lifter's rank since: the lift is judged before it is found lifted.
    await t.sql(`UPDATE users SET role = 'MODERATOR' WHERE id = $1`, [x.id]);
    expect(expectError(await t.gql(LIFT, { id: silence }, { token: globalMod.token }), 'FORBIDDEN').message).toBe('You cannot sanction a moderator of your rank');
    expect(await lifts()).toEqual([{ n: 1 }]);
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE id = $1`, [x.id]);
  });

  it('a lift waits for a change of its member’s role under way, and lifts nothing for one made a moderator of the lifter’s rank (FORBIDDEN)', async () => {
    const x = await makeUser(t);
    const silence = await sanction(globalMod, { userId: x.id, kind: 'SILENCE', durationHours: 1, reason: 'cool down' });
    // An admin's setUserRole holds x's row (FOR UPDATE) and makes x a global moderator while the lift waits.
    const lifted = await withLockHeld(t, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [x.id], async (h) => {
      const lifting = t.gql(LIFT, { id: silence }, { token: globalMod.token });
      await h.waiting(1);
      await h.query(`UPDATE users SET role = 'MODERATOR' WHERE id = $1`, [x.id]);
      await h.release();
      return lifting;
    });
    expect(expectError(lifted, 'FORBIDDEN').message).toBe('You cannot sanction a moderator of your rank');
    expect(await t.sql(`SELECT lifted_at FROM sanctions WHERE id = $1`, [silence])).toEqual([{ lifted_at: null }]);
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE id = $1`, [x.id]);
  });

  it('a member being sanctioned may change their profile meanwhile: the sanction holds their account against role changes only', async () => {
    const x = await makeUser(t);
    // The sanction held in its transaction, x's row held (`heldTarget` has run), as it is about to judge x.
    const gate = gateCalls(t.get(SanctionsService), 'heldTarget', () => true, 'after');
    try {
      const warning = t.gql(SANCTION, { input: { userId: x.id, kind: 'WARNING', reason: 'heads up' } }, { token: globalMod.token });
      await gate.begun;
      const sanctioning = await gateHolder(gate);
      await renamesWithoutWaiting(t, x.token, sanctioning);
      // A change of role still waits for the sanction, which reads x's role as it stands.
      const promoting = t.gql(`mutation($id: ID!) { setUserRole(input: { userId: $id, role: MODERATOR }) { role } }`, { id: x.id }, { token: admin.token });
      expect(await doneOrWaiting(t, promoting, 1, sanctioning)).toBe('waiting');
      gate.open();
      expectOk(await warning);
      expectOk(await promoting);
    } finally {
      gate.restore();
    }
  });

  it('a global moderator silenced site-wide cannot be banned from a space by its moderators', async () => {
    const gm = await makeUser(t, { role: 'MODERATOR' });
    await sanction(admin, { userId: gm.id, kind: 'SILENCE', durationHours: 1, reason: 'cool down' });
    expectError(await t.gql(SANCTION, { input: { userId: gm.id, kind: 'BAN', reason: 'payback', spaceId: space.id } }, { token: m2.token }), 'FORBIDDEN');
  });

  it('an appeal is decided (and claimed) only by a moderator who could lift its sanction', async () => {
    const gmA = await makeUser(t, { role: 'MODERATOR' });
    const gmB = await makeUser(t, { role: 'MODERATOR' });
    const otherAdmin = await makeUser(t, { role: 'ADMIN' });
    const silence = await sanction(admin, { userId: gmA.id, kind: 'SILENCE', durationHours: 48, reason: 'cool down' });
    expectError(await t.gql(LIFT, { id: silence }, { token: gmB.token }), 'FORBIDDEN');
    expectOk(await t.gql(APPEAL, { input: { sanctionId: silence, message: 'It was a misunderstanding' } }, { token: gmA.token }));
    const item = await itemOf('APPEAL', silence);
    expectError(await t.gql(CLAIM, { id: item }, { token: gmB.token }), 'FORBIDDEN');
    expectError(await t.gql(RESOLVE, { input: { id: item, decision: 'APPROVE' } }, { token: gmB.token }), 'FORBIDDEN');
    expect(await t.sql(`SELECT lifted_at FROM sanctions WHERE id = $1`, [silence])).toEqual([{ lifted_at: null }]);
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item, decision: 'APPROVE' } }, { token: otherAdmin.token })).resolveReviewItem.status).toBe('APPROVED');
    expect((await t.sql(`SELECT lifted_by FROM sanctions WHERE id = $1`, [silence]))[0].lifted_by).toBe(otherAdmin.id);
  });

  it('reports on a moderator’s own content are decided by another moderator', async () => {
    const topic = await createTopic(t, m1.token, board);
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 2 })).token }));
    const item = await itemOf('REPORTS', topic.id);
    expectError(await t.gql(CLAIM, { id: item }, { token: m1.token }), 'FORBIDDEN');
    expectError(await t.gql(RESOLVE, { input: { id: item, decision: 'REJECT' } }, { token: m1.token }), 'FORBIDDEN');
    // Told so before their unused input (an action, which a REJECT takes not) or another's claim, as a claim tells them.
    expectOk(await t.gql(CLAIM, { id: item }, { token: m2.token }));
    expectError(await t.gql(RESOLVE, { input: { id: item, decision: 'REJECT', action: 'HIDE' } }, { token: m1.token }), 'FORBIDDEN');
    expectError(await t.gql(RESOLVE, { input: { id: item, decision: 'REJECT' } }, { token: m1.token }), 'FORBIDDEN');
    expect(expectOk(await t.gql(RESOLVE, { input: { id: item, decision: 'REJECT' } }, { token: m2.token })).resolveReviewItem.status).toBe('REJECTED');
    // Nor does a moderator bring back what another hid of theirs.
    const MOD = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`;
    expectOk(await t.gql(MOD, { input: { postId: topic.firstPostId, action: 'HIDE', reason: 'off topic' } }, { token: m2.token }));
    expectError(await t.gql(MOD, { input: { postId: topic.firstPostId, action: 'UNHIDE' } }, { token: m1.token }), 'FORBIDDEN');
    expect(expectOk(await t.gql(MOD, { input: { postId: topic.firstPostId, action: 'UNHIDE' } }, { token: m2.token })).moderatePost.state).toBe('VISIBLE');
    // Nor restores what another deleted, by either way; what they deleted themselves they may.
    const r = await reply(t, m1.token, topic.id, 'a reply of my own');
    expectOk(await t.gql(MOD, { input: { postId: r.id, action: 'DELETE' } }, { token: m2.token }));
    expectError(await t.gql(MOD, { input: { postId: r.id, action: 'RESTORE' } }, { token: m1.token }), 'FORBIDDEN');
    expectError(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: r.id }, { token: m1.token }), 'FORBIDDEN');
    const own = await reply(t, m1.token, topic.id, 'another reply of my own');
    expectOk(await t.gql(MOD, { input: { postId: own.id, action: 'DELETE' } }, { token: m1.token }));
    expect(expectOk(await t.gql(MOD, { input: { postId: own.id, action: 'RESTORE' } }, { token: m1.token })).moderatePost.state).toBe('VISIBLE');
  });

  it('judges a sanction, and its lift, once, in its transaction: nobody is read for it on the pool', async () => {
    // The one judgement (`authorize`), made on what the transaction read: judged before it too,
    // on the pool, a sanction read its member twice and judged them twice.
    const judged = jest.spyOn(t.get(SanctionsService) as unknown as { authorize: () => Promise<void> }, 'authorize');
    try {
      const m1Now = (await t.get(SessionsService).viewerForUser(m1.id))!;
      const x = await makeUser(t);
      const input = Object.assign(new SanctionInput(), { userId: x.id, kind: 'SILENCE', durationHours: 1, reason: 'cool down', spaceId: space.id });
      let silence = '';
      const issuing = await poolStatementsOf(t, async () => (silence = (await t.get(SanctionsService).sanction(m1Now, input)).id));
      expect(issuing.filter((q) => /\bFROM users\b/.test(q))).toEqual([]);
      expect(judged).toHaveBeenCalledTimes(1);
      const lifting = await poolStatementsOf(t, () => t.get(SanctionsService).lift(m1Now, silence));
      expect(lifting.filter((q) => /\bFROM users\b/.test(q))).toEqual([]);
      expect(judged).toHaveBeenCalledTimes(2);
      expect((await t.sql(`SELECT lifted_by FROM sanctions WHERE id = $1`, [silence]))[0].lifted_by).toBe(m1.id);
    } finally {
      judged.mockRestore();
    }
  });

  it('judges a sanction in its transaction, and in a report’s decision giving one, on the transaction’s connection alone', async () => {
    // A statement run on the pool while a transaction is open takes a second connection (a pool
    // busy with such transactions waits on itself).
    const viewer = async (u: TestUser) => (await t.get(SessionsService).viewerForUser(u.id))!;
    const [x, author] = [await makeUser(t), await makeUser(t)];
    const input = Object.assign(new SanctionInput(), { userId: x.id, kind: 'SILENCE', durationHours: 1, reason: 'cool down', spaceId: space.id });
    const m1Now = await viewer(m1);
    expect(await poolStatementsOf(t, () => t.get(UnitOfWork).run((tx) => t.get(SanctionsService).issue(tx, m1Now, input)))).toEqual([]);
    // A report upheld with a sanction, whose transaction judges it.
    const topic = await createTopic(t, author.token, board);
    expectOk(await t.gql(REPORT, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 2 })).token }));
    const item = await itemOf('REPORTS', topic.id);
    const resolving = () => t.get(ReportsService).resolve(m1Now, { id: item, decision: ReviewDecision.APPROVE, reason: 'Off topic', sanction: { kind: 'WARNING' } } as never);
    expect((await poolStatementsOf(t, resolving)).filter((q) => /\bFROM users\b/.test(q))).toEqual([]);
    expect(await t.sql(`SELECT kind FROM sanctions WHERE user_id = $1 AND kind = 'WARNING'`, [author.id])).toEqual([{ kind: 'WARNING' }]);
  });
});
