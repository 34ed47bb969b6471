import { EmailChangeService } from '../../libs/identity/src/auth/email-change';
import { EmailVerificationService } from '../../libs/identity/src/auth/email-verification';
import { makeGroup, makeUser, TestUser } from '../factories';
import { freshIp } from '../support/fresh-ip';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

const ADD = `mutation($input: GroupMemberInput!) { addGroupMember(input: $input) { id memberCount } }`;
const REMOVE = `mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { id memberCount } }`;
const SET_OWNER = `mutation($input: SetGroupOwnerInput!) { setGroupOwner(input: $input) { id } }`;
const JOIN = `mutation($id: ID!) { joinGroup(groupId: $id) { id memberCount } }`;
const LEAVE = `mutation($id: ID!) { leaveGroup(groupId: $id) { id memberCount } }`;
const REQUEST = `mutation($input: GroupRequestInput!) { requestGroupMembership(input: $input) { id } }`;
const DECIDE = `mutation($input: DecideGroupRequestInput!) { decideGroupRequest(input: $input) { id memberCount } }`;
const SET_DOMAINS = `mutation($input: SetGroupAutomaticDomainsInput!) { setGroupAutomaticDomains(input: $input) { id } }`;
const INVITE = `mutation($input: CreateInviteInput!) { createInvite(input: $input) { link } }`;
const REDEEM = `mutation($token: String!) { redeemInvite(token: $token) }`;
const ANONYMIZE = `mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`;

/**
 * `Group.memberCount` is a counter (`group_member_counts`) the triggers on group_members keep as
 * each transaction commits: it must stay the real count whatever way people come and go.
 */
describe('groups: the member counter', () => {
  let t: TestApp;
  let admin: TestUser;
  let seq = 0;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN' });
  });
  afterAll(() => t.close());

  const as = (u: TestUser) => ({ token: u.token });
  const users = (n: number) => Promise.all(Array.from({ length: n }, () => makeUser(t)));
  /** A group (PUBLIC, OPEN unless said) written straight to the database. */
  const group = async (joining = 'OPEN') => {
    const id = await makeGroup(t);
    await t.sql(`UPDATE groups SET visibility = 'PUBLIC', joining = $2 WHERE id = $1`, [id, joining]);
    return id;
  };
  /** Each group's counter and its real count of members, with what the API answers an admin. */
  const counted = async (groupIds: string[]) => {
    const rows = await t.sql(
      `SELECT g.id, c.member_count AS counter, (SELECT count(*)::int FROM group_members gm WHERE gm.group_id = g.id) AS real
         FROM groups g LEFT JOIN group_member_counts c ON c.group_id = g.id WHERE g.id = ANY($1::uuid[]) ORDER BY g.id`,
      [groupIds],
    );
    const listed = new Map<string, number>(expectOk(await t.gql(`{ groups { id memberCount } }`, {}, as(admin))).groups.map((g: any) => [g.id, g.memberCount]));
    return rows.map((r) => ({ id: r.id, counter: r.counter ?? 0, real: r.real, listed: listed.get(r.id) }));
  };
  /** Asserts every group's counter (and its memberCount) is its real count, which is `expected`. */
  const expectCounts = async (expected: Record<string, number>) => {
    const ids = Object.keys(expected);
    expect(await counted(ids)).toEqual([...ids].sort().map((id) => ({ id, counter: expected[id], real: expected[id], listed: expected[id] })));
  };
  const addressAt = async (u: TestUser, domain: string, confirmed = true) => {
    const email = `person${++seq}@${domain}`;
    await t.sql(`UPDATE users SET email = $2, email_verified_at = CASE WHEN $3::boolean THEN now() END WHERE id = $1`, [u.id, email, confirmed]);
    return email;
  };

  it('follows every way in and out: admins, owners, joining, requests, invitations, the domain rule, account deletion', async () => {
    const [a, b, c] = [await group(), await group('REQUEST'), await group('CLOSED')];
    const [owner, m1, m2, m3, m4] = await users(5);
    // Written by hand (as the test factories do): the triggers count them too.
    await t.sql(`INSERT INTO group_members (group_id, user_id, owner) VALUES ($1, $2, true), ($3, $2, true)`, [a, owner.id, c]);
    await expectCounts({ [a]: 1, [b]: 0, [c]: 1 });

    // An admin and an owner add; the same member again changes nothing.
    expect(expectOk(await t.gql(ADD, { input: { groupId: a, userId: m1.id } }, as(admin))).addGroupMember.memberCount).toBe(2);
    expect(expectOk(await t.gql(ADD, { input: { groupId: a, userId: m2.id } }, as(owner))).addGroupMember.memberCount).toBe(3);
    expectOk(await t.gql(ADD, { input: { groupId: a, userId: m2.id } }, as(owner)));
    await expectCounts({ [a]: 3, [b]: 0, [c]: 1 });
    // An owner removes; an admin makes an outsider an owner (they join).
    expect(expectOk(await t.gql(REMOVE, { input: { groupId: a, userId: m2.id } }, as(owner))).removeGroupMember.memberCount).toBe(2);
    expectOk(await t.gql(SET_OWNER, { input: { groupId: c, userId: m3.id, owner: true } }, as(admin)));
    expectOk(await t.gql(SET_OWNER, { input: { groupId: c, userId: m3.id, owner: false } }, as(admin)));
    await expectCounts({ [a]: 2, [b]: 0, [c]: 2 });

    // Joining and leaving by themselves.
    expect(expectOk(await t.gql(JOIN, { id: a }, as(m3))).joinGroup.memberCount).toBe(3);
    expect(expectOk(await t.gql(LEAVE, { id: a }, as(m1))).leaveGroup.memberCount).toBe(2);
    // A request accepted, and one declined.
    for (const u of [m1, m2]) expectOk(await t.gql(REQUEST, { input: { groupId: b, message: 'let me in' } }, as(u)));
    const requests = await t.sql(`SELECT id, user_id FROM group_requests WHERE group_id = $1 AND decided_at IS NULL`, [b]);
    for (const r of requests) expectOk(await t.gql(DECIDE, { input: { requestId: r.id, accept: r.user_id === m1.id } }, as(admin)));
    await expectCounts({ [a]: 2, [b]: 1, [c]: 2 });

    // An invitation into two groups.
    const { link } = expectOk(await t.gql(INVITE, { input: { groupIds: [b, c] } }, as(admin))).createInvite;
    expect(expectOk(await t.gql(REDEEM, { token: new URL(link).searchParams.get('token') }, as(m4))).redeemInvite).toBe(true);
    await expectCounts({ [a]: 2, [b]: 2, [c]: 3 });

    // The domain rule: a list set takes many in at once, and lets them go; an address confirmed or moved away.
    const domain = `brand${Date.now().toString(36)}.example`;
    const staff = await users(3);
    for (const u of staff) await addressAt(u, domain);
    expectOk(await t.gql(SET_DOMAINS, { input: { groupId: a, domains: [domain] } }, as(admin)));
    await expectCounts({ [a]: 5, [b]: 2, [c]: 3 });
    const late = await makeUser(t, { emailUnverified: true });
    const lateEmail = await addressAt(late, domain, false);
    const verify = await t.get(EmailVerificationService).token({ id: late.id, email: lateEmail });
    expectOk(await t.gql(`mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`, { input: { token: verify } }));
    await expectCounts({ [a]: 6, [b]: 2, [c]: 3 });
    const away = `moved${++seq}@elsewhere.example`;
    await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [staff[0].id, away]);
    const change = await t.get(EmailChangeService).token({ id: staff[0].id, pendingEmail: away });
    expectOk(await t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: change } }, { ip: freshIp() }));
    await expectCounts({ [a]: 5, [b]: 2, [c]: 3 });
    expectOk(await t.gql(SET_DOMAINS, { input: { groupId: a, domains: [] } }, as(admin)));
    await expectCounts({ [a]: 2, [b]: 2, [c]: 3 });

    // An account deleted leaves every group it was in, in one statement.
    expectOk(await t.gql(ANONYMIZE, { id: m4.id }, as(admin)));
    await expectCounts({ [a]: 2, [b]: 1, [c]: 2 });

    // A transaction that rolls back counts nothing; one that adds and removes counts the difference.
    const [x, y] = await users(2);
    await expect(t.ds.transaction(async (m) => {
      await m.query(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2), ($3, $2)`, [a, x.id, b]);
      throw new Error('undone');
    })).rejects.toThrow('undone');
    await t.ds.transaction(async (m) => {
      await m.query(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2), ($1, $3), ($4, $2)`, [b, x.id, y.id, c]);
      await m.query(`DELETE FROM group_members WHERE user_id = $1`, [x.id]);
    });
    await expectCounts({ [a]: 2, [b]: 2, [c]: 2 });
    // A group deleted takes its counter with it.
    await t.sql(`DELETE FROM groups WHERE id = $1`, [c]);
    expect(await t.sql(`SELECT 1 FROM group_member_counts WHERE group_id = $1`, [c])).toEqual([]);
  });

  it('counts members joining one group at once, each once', async () => {
    const g = await group();
    const joiners = await users(8);
    const answers = await Promise.all(joiners.map((u) => t.gql(JOIN, { id: g }, as(u))));
    for (const res of answers) expectOk(res);
    await expectCounts({ [g]: 8 });
    await Promise.all(joiners.slice(0, 5).map(async (u) => expectOk(await t.gql(LEAVE, { id: g }, as(u)))));
    await expectCounts({ [g]: 3 });
  });
});
