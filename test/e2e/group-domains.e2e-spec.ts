import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { EmailChangeService } from '../../libs/identity/src/auth/email-change';
import { EmailVerificationService } from '../../libs/identity/src/auth/email-verification';
import { AUTOMATIC_LOG_IDS_MAX, AutomaticGroupsService, groupCreationLockSql } from '../../libs/identity/src/groups/automatic-groups';
import { newId } from '../../libs/core/src/ids';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { PasswordsService } from '../../libs/identity/src/auth/passwords.service';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { connectLive, heardLive, heardRoom } from '../support/live-client';
import { freshIp } from '../support/fresh-ip';
import { doneOrWaiting, gateHolder, waitForLockWaits } from '../support/lock-waits';
import { gateCalls } from '../support/gates';
import { SpacesService } from '../../libs/spaces/src/spaces.service';
import { withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

const SET = `mutation($input: SetGroupAutomaticDomainsInput!) { setGroupAutomaticDomains(input: $input) { id automaticDomains } }`;
const TOPIC = `query($id: ID!) { topic(id: $id) { id } }`;

/**
 * Automatic group membership by e-mail domain (Discourse's): the employees group takes whoever
 * confirms an address at the brand's domain, and lets go of whoever no longer has one.
 */
describe('groups: automatic membership by e-mail domain', () => {
  let t: TestApp;
  let admin: TestUser;
  let seq = 0;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN' });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  /** A member whose address is `local@domain`, confirmed unless asked otherwise. */
  const memberAt = async (domain: string, opts: { unverified?: boolean } = {}) => {
    const u = await makeUser(t, { emailUnverified: opts.unverified });
    const email = `person${++seq}@${domain}`;
    await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [u.id, email]);
    return { ...u, email };
  };
  /** An employees-only space: a group, its grant, a topic in it. */
  const internal = async () => {
    const group = await makeGroup(t);
    const space = await makeSpace(t, 'RESTRICTED', [{ groupId: group, level: 'PARTICIPATE' }]);
    const topic = await createTopic(t, admin.token, await makeBoard(t, space.id));
    return { group, topic: topic.id };
  };
  const members = async (group: string) =>
    (await t.sql(`SELECT user_id, via_domain FROM group_members WHERE group_id = $1 ORDER BY user_id`, [group])).map((r) => [r.user_id, r.via_domain]);
  const reads = async (u: TestUser, topic: string) => !(await t.gql(TOPIC, { id: topic }, { token: u.token })).errors;
  const setDomains = async (groupId: string, domains: string[]) => expectOk(await t.gql(SET, { input: { groupId, domains } }, { token: admin.token })).setGroupAutomaticDomains;

  /**
   * Runs `change` (a write that holds an account, then locks every group) until it waits for
   * `stall`, a group held on a connection of its own as a change of its settings holds it; then
   * `list` (a list being set), which must not wait for the account the change holds. Whether the
   * list ended or waited first, and how many times the rule ran (twice: a deadlock was tried
   * again); both must succeed in the end.
   */
  const listWhileHeld = async (stall: string, change: () => Promise<GqlResult>, list: () => Promise<GqlResult>) => {
    const runs = jest.spyOn(t.get(AutomaticGroupsService), 'syncUser');
    try {
      return await withLockHeld(t, `SELECT 1 FROM groups WHERE id = $1 FOR UPDATE`, [stall], async (holder) => {
        const changing = change();
        await waitForLockWaits(t, 1, holder);
        const listing = list();
        const setting = await doneOrWaiting(t, listing, 2, holder);
        await holder.release();
        (await Promise.all([listing, changing])).forEach(expectOk);
        return { setting, attempts: runs.mock.calls.length };
      });
    } finally {
      runs.mockRestore();
    }
  };

  it('takes in the members with a confirmed address at a listed domain at once, and logs whom', async () => {
    const { group, topic } = await internal();
    const brand = 'brand1.example';
    const [staff, staff2, unconfirmed, outsider, subdomain] = [
      await memberAt(brand), await memberAt('BRAND1.example'), await memberAt(brand, { unverified: true }), await memberAt('other.example'), await memberAt(`eu.${brand}`),
    ];
    const handPicked = await memberAt('other.example');
    await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [group, handPicked.id]);
    expect(await reads(staff, topic)).toBe(false);

    expect(await setDomains(group, [' @Brand1.Example ', brand])).toEqual({ id: group, automaticDomains: [brand] });
    expect(await members(group)).toEqual(
      [[staff.id, brand], [staff2.id, brand], [handPicked.id, null]].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    expect(await reads(staff, topic)).toBe(true);
    for (const u of [unconfirmed, outsider, subdomain]) expect(await reads(u, topic)).toBe(false);
    const [entry] = await t.sql(`SELECT actor_id, after FROM moderation_log WHERE action = 'group.automatic_domains' AND target_id = $1`, [group]);
    expect(entry.actor_id).toBe(admin.id);
    expect(entry.after).toEqual({ domains: [brand], added: expect.arrayContaining([staff.id, staff2.id]), addedCount: 2, removed: [], removedCount: 0 });
    expect(entry.after.added).toHaveLength(2);
    // Members who may see the group see nothing of the rule.
    await t.sql(`UPDATE groups SET visibility = 'PUBLIC' WHERE id = $1`, [group]);
    expect(expectOk(await t.gql(`{ groups { id automaticDomains } }`, {}, { token: staff.token })).groups).toContainEqual({ id: group, automaticDomains: null });
  });

  it('takes in whoever confirms such an address later: the sign-up link, an admin’s invitation to it, a changed address', async () => {
    const { group, topic } = await internal();
    const brand = 'brand2.example';
    await setDomains(group, [brand]);
    const newcomer = await memberAt(brand, { unverified: true });
    expect(await members(group)).toEqual([]);
    const token = await t.get(EmailVerificationService).token({ id: newcomer.id, email: newcomer.email });
    expectOk(await t.gql(`mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`, { input: { token } }));
    expect(await members(group)).toEqual([[newcomer.id, brand]]);
    expect(await reads(newcomer, topic)).toBe(true);
    const [logged] = await t.sql(`SELECT actor_id, reason FROM moderation_log WHERE action = 'group.member_add' AND target_id = $1`, [newcomer.id]);
    expect(logged).toEqual({ actor_id: null, reason: 'automatic membership by e-mail domain' });

    // An admin's invitation for such an address confirms it: the account is in from its sign-up.
    const { link } = expectOk(await t.gql(`mutation($input: CreateInviteInput!) { createInvite(input: $input) { link } }`, { input: { email: `invited${seq}@${brand}` } }, { token: admin.token })).createInvite;
    const joined = expectOk(await t.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`, {
      input: { email: `invited${seq}@${brand}`, handle: `invited${seq}x`, password: 'a long enough password', inviteToken: new URL(link).searchParams.get('token') },
    }, { ip: freshIp() })).signUp;
    expect(await members(group)).toContainEqual([joined.user.id, brand]);

    // Moving to a brand address joins; moving away leaves, and the open topic page is told.
    const mover = await memberAt('other.example');
    const move = async (to: string) => {
      await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [mover.id, to]);
      const link = await t.get(EmailChangeService).token({ id: mover.id, pendingEmail: to });
      expectOk(await t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: link } }));
    };
    await move(`mover${seq}@${brand}`);
    expect(await members(group)).toContainEqual([mover.id, brand]);
    const s = await connectLive(`http://127.0.0.1:${(t.http.address() as AddressInfo).port}`, sockets, mover.token);
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic })).toEqual({ ok: true });
    const lost = heardLive(s, 'access:lost');
    await move(`mover${seq}@elsewhere.example`);
    await heardRoom(lost, `topic:${topic}`);
    expect((await members(group)).map(([id]) => id)).not.toContain(mover.id);
    expect(await reads(mover, topic)).toBe(false);
  });

  it('lets go of those it took in when the list drops their domain, and keeps people added by hand', async () => {
    const { group, topic } = await internal();
    const [brand, partner] = ['brand3.example', 'partner3.example'];
    const [a, b] = [await memberAt(brand), await memberAt(partner)];
    const handPicked = await memberAt(brand);
    const owner = await memberAt(brand);
    await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [group, handPicked.id]);
    await setDomains(group, [brand, partner]);
    expect((await members(group)).length).toBe(4);
    // One the rule took in was made an owner since: an admin's choice, which the rule does not undo.
    expectOk(await t.gql(`mutation($i: SetGroupOwnerInput!) { setGroupOwner(input: $i) { id } }`, { i: { groupId: group, userId: owner.id, owner: true } }, { token: admin.token }));
    await setDomains(group, [partner]);
    expect(await members(group)).toEqual([[b.id, partner], [handPicked.id, null], [owner.id, brand]].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)));
    expect(await reads(a, topic)).toBe(false);
    expect(await reads(handPicked, topic)).toBe(true);
    const [entry] = await t.sql(`SELECT before, after FROM moderation_log WHERE action = 'group.automatic_domains' AND target_id = $1 ORDER BY id DESC LIMIT 1`, [group]);
    expect(entry).toEqual({ before: { domains: [brand, partner] }, after: { domains: [partner], added: [], addedCount: 0, removed: [a.id], removedCount: 1 } });
    // Turned off: the rule's members go, the hand-picked one stays.
    await setDomains(group, []);
    expect(await members(group)).toEqual([[handPicked.id, null], [owner.id, brand]].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)));
  });

  it('puts nobody back who was removed or left: a second confirmation, a password reset or another change of the list acts on a new domain only', async () => {
    const { group, topic } = await internal();
    const brand = 'brand5.example';
    const [removed, stays] = [await memberAt(brand), await memberAt(brand)];
    await setDomains(group, [brand]);
    const REMOVE = `mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { id } }`;
    expectOk(await t.gql(REMOVE, { input: { groupId: group, userId: removed.id } }, { token: admin.token }));
    const inGroup = async () => (await members(group)).map(([id]) => id);
    expect(await inGroup()).toEqual([stays.id]);

    // The same address confirmed again, by its link or by a password reset's.
    const token = await t.get(EmailVerificationService).token({ id: removed.id, email: removed.email });
    expectOk(await t.gql(`mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`, { input: { token } }));
    const [creds] = await t.sql(`SELECT id, password_hash, email FROM users WHERE id = $1`, [removed.id]);
    const reset = await t.get(PasswordsService).resetToken(creds);
    expectOk(await t.gql(`mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { token } }`, { input: { token: reset, newPassword: 'a long enough password' } }, { ip: freshIp() }));
    // Another domain listed beside it: its people come in, not the one removed from this one.
    const partner = await memberAt('partner5.example');
    await setDomains(group, [brand, 'partner5.example']);
    expect((await inGroup()).sort()).toEqual([stays.id, partner.id].sort());
    expect(await reads(removed, topic)).toBe(false);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'group.member_add' AND target_id = $1`, [removed.id])).toEqual([{ n: 0 }]);
  });

  it('ends the waiting request to join of whoever it takes in, by a change of the list or by a confirmation, and logs each member it lets go', async () => {
    const { group } = await internal();
    await t.sql(`UPDATE groups SET visibility = 'SIGNED_IN', joining = 'REQUEST' WHERE id = $1`, [group]);
    const brand = 'brand6.example';
    const [listed, confirming] = [await memberAt(brand), await memberAt(brand, { unverified: true })];
    const ASK = `mutation($input: GroupRequestInput!) { requestGroupMembership(input: $input) { viewerMembership } }`;
    for (const u of [listed, confirming]) {
      expect(expectOk(await t.gql(ASK, { input: { groupId: group, message: 'may I?' } }, { token: u.token })).requestGroupMembership.viewerMembership).toBe('REQUESTED');
    }
    const waiting = async () => (await t.sql(`SELECT user_id FROM group_requests WHERE group_id = $1 AND decided_at IS NULL`, [group])).map((r) => r.user_id);

    await setDomains(group, [brand]);
    expect(await waiting()).toEqual([confirming.id]);
    const token = await t.get(EmailVerificationService).token({ id: confirming.id, email: confirming.email });
    expectOk(await t.gql(`mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`, { input: { token } }));
    expect(await waiting()).toEqual([]);
    expect((await members(group)).map(([id]) => id).sort()).toEqual([listed.id, confirming.id].sort());
    // Ended, not deleted: deciding either is CONFLICT (they are in), nothing changed.
    const ended = await t.sql(`SELECT id, ended, accepted FROM group_requests WHERE group_id = $1 ORDER BY id`, [group]);
    expect(ended.map((r) => [r.ended, r.accepted])).toEqual([['JOINED', null], ['JOINED', null]]);
    const DECIDE = `mutation($input: DecideGroupRequestInput!) { decideGroupRequest(input: $input) { id } }`;
    for (const { id } of ended) {
      expect(expectError(await t.gql(DECIDE, { input: { requestId: id, accept: false } }, { token: admin.token }), 'CONFLICT').message).toBe('Its requester is in the group already');
    }
    expect(await t.sql(`SELECT id, ended, accepted FROM group_requests WHERE group_id = $1 ORDER BY id`, [group])).toEqual(ended);

    // Moving to another domain: the member the rule took in leaves, logged as the rule's doing.
    await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [confirming.id, `moved${seq}@elsewhere.example`]);
    const link = await t.get(EmailChangeService).token({ id: confirming.id, pendingEmail: `moved${seq}@elsewhere.example` });
    expectOk(await t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: link } }));
    const logged = await t.sql(`SELECT actor_id, reason, after FROM moderation_log WHERE action = 'group.member_remove' AND target_id = $1`, [confirming.id]);
    expect(logged).toEqual([{ actor_id: null, reason: 'automatic membership by e-mail domain', after: { groupId: group } }]);
  });

  it('takes in one whose request an owner is accepting at that moment without deadlocking with the decision (the request is ended first)', async () => {
    const { group } = await internal();
    await t.sql(`UPDATE groups SET visibility = 'SIGNED_IN', joining = 'REQUEST' WHERE id = $1`, [group]);
    const brand = 'brand7.example';
    await setDomains(group, [brand]);
    const asker = await memberAt(brand, { unverified: true });
    const ASK = `mutation($input: GroupRequestInput!) { requestGroupMembership(input: $input) { id } }`;
    expectOk(await t.gql(ASK, { input: { groupId: group, message: 'may I?' } }, { token: asker.token }));
    const [{ id: requestId }] = await t.sql(`SELECT id FROM group_requests WHERE group_id = $1 AND user_id = $2`, [group, asker.id]);
    // A deadlock would be retried (UnitOfWork) and end the same: the rule running once says there was none.
    const runs = jest.spyOn(t.get(AutomaticGroupsService), 'syncUser');
    let confirmed: GqlResult;
    let attempts = 0;
    try {
      // A decision as decideGroupRequest takes it: the request locked and decided, then its requester added.
      confirmed = await withLockHeld(t, `SELECT 1 FROM group_requests WHERE id = $1 FOR UPDATE`, [requestId], async (holder) => {
        await holder.query(`UPDATE group_requests SET decided_at = now(), decided_by = $2, accepted = true WHERE id = $1`, [requestId, admin.id]);
        const token = await t.get(EmailVerificationService).token({ id: asker.id, email: asker.email });
        const confirming = t.gql(`mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`, { input: { token } });
        await holder.waiting(1);
        await holder.query(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [group, asker.id]);
        await holder.release();
        return confirming;
      });
      attempts = runs.mock.calls.length;
    } finally {
      runs.mockRestore();
    }
    expectOk(confirmed);
    expect(attempts).toBe(1);
    expect(await members(group)).toEqual([[asker.id, null]]);
  });

  it('sets a list while the member it takes in changes their address, without waiting for them: the change holds the account, then the groups', async () => {
    // A group the change waits on (held as an admin changing its settings would) while it
    // holds the member's account; created first, so the change has locked no later group.
    const stall = await makeGroup(t);
    const { group } = await internal();
    const brand = 'brand8.example';
    const mover = await memberAt(brand);
    const to = `mover${seq}@elsewhere8.example`;
    await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [mover.id, to]);
    const link = await t.get(EmailChangeService).token({ id: mover.id, pendingEmail: to });
    // The list takes the member in (their address is still at the brand's domain): it must not
    // wait for the account the change holds, which waits for the groups.
    const { setting, attempts } = await listWhileHeld(
      stall,
      () => t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: link } }),
      () => t.gql(SET, { input: { groupId: group, domains: [brand] } }, { token: admin.token }),
    );
    expect({ setting, attempts }).toEqual({ setting: 'done', attempts: 1 });
    // The change came after the list, and read it: the member it took in has left again.
    expect(await members(group)).toEqual([]);
    const [entry] = await t.sql(`SELECT after FROM moderation_log WHERE action = 'group.automatic_domains' AND target_id = $1`, [group]);
    expect(entry.after.added).toEqual([mover.id]);
    expect(await t.sql(`SELECT reason FROM moderation_log WHERE action = 'group.member_remove' AND target_id = $1`, [mover.id])).toEqual([
      { reason: 'automatic membership by e-mail domain' },
    ]);
  });

  it('sets a list while the admin setting it resets their password (which confirms their address), without waiting for their account', async () => {
    const stall = await makeGroup(t);
    const { group } = await internal();
    const boss = await makeUser(t, { role: 'ADMIN', emailUnverified: true });
    await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [boss.id, `boss${++seq}@brand9.example`]);
    const [creds] = await t.sql(`SELECT id, password_hash, email FROM users WHERE id = $1`, [boss.id]);
    const reset = await t.get(PasswordsService).resetToken(creds);
    // The list's log entry names the admin, whose account the reset holds.
    const { setting, attempts } = await listWhileHeld(
      stall,
      () => t.gql(`mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { token } }`, { input: { token: reset, newPassword: 'a long enough password' } }, { ip: freshIp() }),
      () => t.gql(SET, { input: { groupId: group, domains: ['partner9.example'] } }, { token: boss.token }),
    );
    expect({ setting, attempts }).toEqual({ setting: 'done', attempts: 1 });
  });

  it('takes nobody in whose account is being deleted at that moment: the account ends in no group', async () => {
    const { group } = await internal();
    const brand = 'brand12.example';
    const leaver = await memberAt(brand);
    const elsewhere = await makeGroup(t);
    await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [elsewhere, leaver.id]);
    // The deletion, holding the account, waits for one of its memberships (as an owner removing them holds it).
    const results = await withLockHeld(t, `SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2 FOR UPDATE`, [elsewhere, leaver.id], async (holder) => {
      const deleting = t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: leaver.id }, { token: admin.token });
      await waitForLockWaits(t, 1, holder);
      // The list would take the account in (its address is at the domain until the deletion commits).
      const listing = t.gql(SET, { input: { groupId: group, domains: [brand] } }, { token: admin.token });
      await waitForLockWaits(t, 2, holder);
      await holder.release();
      return Promise.all([deleting, listing]);
    });
    results.forEach(expectOk);
    expect(await t.sql(`SELECT group_id FROM group_members WHERE user_id = $1`, [leaver.id])).toEqual([]);
    const [entry] = await t.sql(`SELECT after FROM moderation_log WHERE action = 'group.automatic_domains' AND target_id = $1`, [group]);
    expect(entry.after.added).toEqual([]);
  });

  /** Runs `work` while a grant to `groupId` is being given (its row FOR NO KEY UPDATE, as grantSpaceAccess holds it): whether it ended or waited first. */
  const whileGranting = async (groupId: string, spaceId: string, work: () => Promise<GqlResult>) => {
    return withLockHeld(t, `SELECT 1 FROM groups WHERE id = $1 FOR NO KEY UPDATE`, [groupId], async (holder) => {
      await holder.query(`INSERT INTO space_grants (id, space_id, group_id, level) VALUES (gen_random_uuid(), $1, $2, 2)`, [spaceId, groupId]);
      const working = work();
      const outcome = await doneOrWaiting(t, working, 1, holder);
      await holder.release();
      expectOk(await working);
      return outcome;
    });
  };

  it('confirms a new member’s address (the sign-up’s link, an admin’s invitation) without waiting for a grant being given to a group', async () => {
    const { group } = await internal();
    await setDomains(group, ['brand10.example']);
    const elsewhere = await makeSpace(t, 'RESTRICTED');
    const newcomer = await memberAt('brand10.example', { unverified: true });
    const token = await t.get(EmailVerificationService).token({ id: newcomer.id, email: newcomer.email });
    expect(await whileGranting(group, elsewhere.id, () => t.gql(`mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`, { input: { token } }))).toBe('done');
    expect(await members(group)).toContainEqual([newcomer.id, 'brand10.example']);

    const email = `invited${++seq}@brand10.example`;
    const { link } = expectOk(await t.gql(`mutation($input: CreateInviteInput!) { createInvite(input: $input) { link } }`, { input: { email } }, { token: admin.token })).createInvite;
    const signUp = () => t.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`, {
      input: { email, handle: `invited${seq}y`, password: 'a long enough password', inviteToken: new URL(link).searchParams.get('token') },
    }, { ip: freshIp() });
    expect(await whileGranting(group, (await makeSpace(t, 'RESTRICTED')).id, signUp)).toBe('done');
    expect((await members(group)).length).toBe(2);
  });

  it('lets a member go while a grant is being given to the group only once it is given, and has the live rooms of its space check too', async () => {
    const { group } = await internal();
    const mover = await memberAt('brand11.example');
    await setDomains(group, ['brand11.example']);
    expect(await members(group)).toEqual([[mover.id, 'brand11.example']]);
    const granted = await makeSpace(t, 'RESTRICTED');
    const to = `mover${seq}@elsewhere11.example`;
    await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [mover.id, to]);
    const link = await t.get(EmailChangeService).token({ id: mover.id, pendingEmail: to });
    const moving = () => t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: link } });
    expect(await whileGranting(group, granted.id, moving)).toBe('waiting');
    expect(await members(group)).toEqual([]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'space.access_changed' AND aggregate_id = $1`, [granted.id])).toEqual([{ n: 1 }]);
  });

  it('lets a member go by a change of address while they, an admin of a space through the group, change its grant: one waits, neither deadlocks', async () => {
    // The grant holds the group (FOR NO KEY UPDATE) and then the admin's membership of it
    // (holdAdminRights); the change must take the group before it deletes that membership, or
    // each waits for the other (PostgreSQL ends one, and UnitOfWork runs it again).
    const group = await makeGroup(t);
    const mover = await memberAt('brand12.example');
    await setDomains(group, ['brand12.example']);
    // Seen by its members, so its admins through it may name it.
    await t.sql(`UPDATE groups SET visibility = 'MEMBERS' WHERE id = $1`, [group]);
    const space = await makeSpace(t, 'RESTRICTED', [{ groupId: group, level: 'ADMIN' }]);
    const to = `mover${seq}@elsewhere12.example`;
    await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [mover.id, to]);
    const link = await t.get(EmailChangeService).token({ id: mover.id, pendingEmail: to });
    const spaces = t.get(SpacesService);
    const grants = jest.spyOn(spaces, 'holdSpace');
    const syncs = jest.spyOn(t.get(AutomaticGroupsService), 'syncUser');
    // The grant held once it holds the space and the group, before it reads the admin's rights.
    const gate = gateCalls(spaces, 'stillAdmin', (tx, viewer: { id?: string }, spaceId) => viewer.id === mover.id && spaceId === space.id);
    try {
      const granting = t.gql(`mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id } }`, { input: { spaceId: space.id, groupId: group, level: 'MODERATE' } }, { token: mover.token });
      await gate.begun;
      const moving = t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: link } });
      expect(await doneOrWaiting(t, moving, 1, await gateHolder(gate))).toBe('waiting');
      gate.open();
      const [granted, moved] = await Promise.all([granting, moving]);
      // Each ran once (a deadlock ended one, which ran again), and both succeeded.
      expect({
        grants: grants.mock.calls.filter(([, viewer]) => viewer.id === mover.id).length,
        syncs: syncs.mock.calls.filter(([, userId]) => userId === mover.id).length,
        errors: [granted.errors ?? null, moved.errors ?? null],
      }).toEqual({ grants: 1, syncs: 1, errors: [null, null] });
    } finally {
      gate.restore();
      grants.mockRestore();
      syncs.mockRestore();
    }
    // The grant came first (the mover still its admin), then the change, which took them out.
    expect(await t.sql(`SELECT level FROM space_grants WHERE space_id = $1 AND group_id = $2`, [space.id, group])).toEqual([{ level: 3 }]);
    expect(await members(group)).toEqual([]);
  });

  it('holds for leaving only the groups the member is in by the rule, and none without any: one statement fewer', async () => {
    const { group } = await internal();
    const insider = await memberAt('brand13.example');
    await setDomains(group, ['brand13.example']);
    const uow = t.get(UnitOfWork);
    const rule = t.get(AutomaticGroupsService);
    /** The statements of a change of `u`'s confirmed address to `to`, as a confirmation link makes it. */
    const moveTo = (u: { id: string }, to: string) => t.countStatements(() => uow.run((tx) =>
      rule.following(tx, u.id, () => tx.query(`UPDATE users SET email = $2, email_verified_at = now() WHERE id = $1`, [u.id, to]))));
    const holds = (statements: string[]) => statements.filter((q) => /FOR SHARE/.test(q));

    // In no group by the rule (another by hand): nothing to hold, and no statement asks.
    const outsider = await memberAt('nowhere13.example');
    await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [group, outsider.id]);
    const none = await moveTo(outsider, `o${seq}@elsewhere13.example`);
    expect(holds(none.statements)).toEqual([]);
    expect(none.count).toBe(8);
    // In the group by the rule: a statement holds it, and the member leaves it.
    expect(await members(group)).toContainEqual([insider.id, 'brand13.example']);
    const leaving = await moveTo(insider, `i${seq}@elsewhere13.example`);
    expect(holds(leaving.statements)).toHaveLength(1);
    expect((await members(group)).map(([id]) => id)).not.toContain(insider.id);
  });

  it('holds a group a list set while the change waited for it took the member in by their old domain, which its snapshot did not see', async () => {
    const { group } = await internal();
    const mover = await memberAt('brand15.example');
    const uow = t.get(UnitOfWork);
    const rule = t.get(AutomaticGroupsService);
    const change = await withLockHeld(t, `SELECT 1 FROM groups WHERE id = $1 FOR UPDATE`, [group], async (holder) => {
      // What setDomains writes under its lock: the list, and the member it takes in.
      await holder.query(`UPDATE groups SET automatic_domains = $2 WHERE id = $1`, [group, ['brand15.example']]);
      await holder.query(`INSERT INTO group_members (group_id, user_id, via_domain) VALUES ($1, $2, 'brand15.example')`, [group, mover.id]);
      const moving = t.countStatements(() => uow.run((tx) =>
        rule.following(tx, mover.id, () => tx.query(`UPDATE users SET email = $2 WHERE id = $1`, [mover.id, `m${seq}@elsewhere15.example`]))));
      await holder.waiting(1);
      await holder.release();
      return moving;
    });
    expect(change.statements.filter((q) => /FOR SHARE/.test(q))).toHaveLength(1);
    expect(await members(group)).toEqual([]);
  });

  it('orders a group made and listed while a change of address is under way after the change: its list reads the new address, and takes the member in by it, not by the old', async () => {
    const mover = await memberAt('brand16.example');
    const to = `mover${seq}@elsewhere16.example`;
    await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [mover.id, to]);
    const link = await t.get(EmailChangeService).token({ id: mover.id, pendingEmail: to });
    const CREATE = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`;
    /** A group made by an admin and listing `domain` (two transactions, as an admin makes them). */
    const listedAt = async (domain: string) => {
      const slug = `made-during-${++seq}`;
      const { id } = expectOk(await t.gql(CREATE, { input: { slug, name: slug } }, { token: admin.token })).createGroup;
      await setDomains(id, [domain]);
      return id;
    };
    // The change held once its rule has run (every group then in being held, the memberships
    // written), before it commits: the interleaving the two sides used to miss each other in.
    const gate = gateCalls(t.get(AutomaticGroupsService), 'syncUser', (_tx, userId) => userId === mover.id, 'after');
    let groups: [string, string];
    let outcome: 'done' | 'waiting';
    try {
      const moving = t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: link } });
      await gate.begun;
      const making = (async () => [await listedAt('elsewhere16.example'), await listedAt('brand16.example')] as [string, string])();
      // Made and listed while the change waits at the gate (as before, when neither waited for the
      // other: the lists read the old address, and the change read no such group), or the first
      // creation waits for the change to commit.
      outcome = await doneOrWaiting(t, making, 1, await gateHolder(gate));
      gate.open();
      expectOk(await moving);
      groups = await making;
    } finally {
      gate.restore();
    }
    const [atNew, atOld] = groups;
    // Both halves and the wait in one assertion, so a failure shows each (without the lock: the
    // member kept in the old domain's group, left out of the new one's, and no creation waiting).
    expect({ atNew: await members(atNew), atOld: await members(atOld), outcome }).toEqual({
      atNew: [[mover.id, 'elsewhere16.example']],
      atOld: [],
      outcome: 'waiting',
    });
  });

  it('has a change of address under way wait for a group being made, and then hold it: a list set on it before the change commits waits and reads the new address', async () => {
    const mover = await memberAt('brand17.example');
    const to = `mover${seq}@elsewhere17.example`;
    await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [mover.id, to]);
    const link = await t.get(EmailChangeService).token({ id: mover.id, pendingEmail: to });
    const group = newId();
    // Held at the gate once its rule has run, before it commits, as above.
    const gate = gateCalls(t.get(AutomaticGroupsService), 'syncUser', (_tx, userId) => userId === mover.id, 'after');
    const running: Array<Promise<unknown>> = [];
    let listed: 'done' | 'waiting';
    try {
      // A creation under way, as GroupsService.create makes one: the lock, then the group's row.
      await withLockHeld(t, `SELECT ${groupCreationLockSql('exclusive')}`, [], async (making) => {
        await making.query(`INSERT INTO groups (id, slug, name) VALUES ($1, $2, $2)`, [group, `made-first-${++seq}`]);
        running.push(t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: link } }));
        // The change waits for it (the lock taken before the change reads the groups)...
        await making.waiting(1);
      });
      // ... and, the group made, reads and holds it: its list, set before the change commits, waits for it.
      await gate.begun;
      const listing = t.gql(SET, { input: { groupId: group, domains: ['elsewhere17.example'] } }, { token: admin.token });
      running.push(listing);
      listed = await doneOrWaiting(t, listing, 1, await gateHolder(gate));
      gate.open();
      (await Promise.all(running)).forEach((r) => expectOk(r as GqlResult));
    } finally {
      gate.restore();
      await Promise.allSettled(running);
    }
    // Without the lock taken before the groups are read: the list did not wait, read the old
    // address, and the member was left out for good.
    expect({ listed, members: await members(group) }).toEqual({ listed: 'waiting', members: [[mover.id, 'elsewhere17.example']] });
  });

  it('holds a group its member owns by the rule when their address moves away: taken from them meanwhile, they leave a held group', async () => {
    const { group } = await internal();
    const owner = await memberAt('brand14.example');
    await setDomains(group, ['brand14.example']);
    await t.sql(`UPDATE group_members SET owner = true WHERE group_id = $1 AND user_id = $2`, [group, owner.id]);
    const to = `owner${seq}@elsewhere14.example`;
    await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [owner.id, to]);
    const link = await t.get(EmailChangeService).token({ id: owner.id, pendingEmail: to });
    const moving = () => t.gql(`mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`, { input: { token: link } });
    // A grant being given to the group holds it: the change waits for it, as a plain member's does.
    expect(await whileGranting(group, (await makeSpace(t, 'RESTRICTED')).id, moving)).toBe('waiting');
    // An owner stays (an admin made them so).
    expect(await members(group)).toEqual([[owner.id, 'elsewhere14.example']]);
  });

  it('takes in a whole company at once, its log entry naming the first thousand and counting all', async () => {
    const { group } = await internal();
    await t.sql(
      `INSERT INTO users (id, email, handle, display_name, role, trust_level, email_verified_at)
       SELECT gen_random_uuid(), 'staff' || i || '@bulk.example', 'bulkstaff' || i, 'Staff ' || i, 'MEMBER', 1, now() FROM generate_series(1, $1::int) i`,
      [AUTOMATIC_LOG_IDS_MAX + 1],
    );
    await setDomains(group, ['bulk.example']);
    expect((await members(group)).length).toBe(AUTOMATIC_LOG_IDS_MAX + 1);
    const [entry] = await t.sql(`SELECT after FROM moderation_log WHERE action = 'group.automatic_domains' AND target_id = $1`, [group]);
    expect([entry.after.added.length, entry.after.addedCount]).toEqual([AUTOMATIC_LOG_IDS_MAX, AUTOMATIC_LOG_IDS_MAX + 1]);
    // The accounts are found by their confirmed domain's index, not by reading every account.
    await t.sql(`ANALYZE users`);
    const plan = (await t.sql(
      `EXPLAIN SELECT u.id FROM users u WHERE lower(split_part(u.email, '@', 2)) = ANY ($1::text[])
          AND u.email IS NOT NULL AND u.email_verified_at IS NOT NULL AND u.deleted_at IS NULL AND NOT u.is_placeholder`,
      [['nobody.example']],
    )).map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('users_confirmed_domain_idx');
  });

  it('is for admins, refuses what is not a domain, and writes nothing then', async () => {
    const { group } = await internal();
    const member = await memberAt('brand.example');
    expectError(await t.gql(SET, { input: { groupId: group, domains: ['brand.example'] } }, { token: member.token }), 'FORBIDDEN');
    expectError(await t.gql(SET, { input: { groupId: group, domains: ['brand.example'] } }), 'UNAUTHENTICATED');
    for (const domains of [['not a domain'], ['brand'], ['brand..example'], ['-brand.example'], Array.from({ length: 21 }, (_, i) => `d${i}.example`)]) {
      const err = expectError(await t.gql(SET, { input: { groupId: group, domains } }, { token: admin.token }), 'BAD_USER_INPUT');
      expect(err.extensions.fields?.map((f) => f.field)).toEqual(['domains']);
    }
    expectError(await t.gql(SET, { input: { groupId: '00000000-0000-7000-8000-000000000000', domains: [] } }, { token: admin.token }), 'NOT_FOUND');
    expect(await members(group)).toEqual([]);
    expect(await t.sql(`SELECT automatic_domains FROM groups WHERE id = $1`, [group])).toEqual([{ automatic_domains: [] }]);
    expect(expectOk(await t.gql(`{ groups { id automaticDomains } }`, {}, { token: admin.token })).groups).toContainEqual({ id: group, automaticDomains: [] });
  });
});
