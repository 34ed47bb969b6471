import { AUDIT_LOCK } from '../../libs/core/src/audit/audit-log';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { makeBoard, makeGroup, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic } from '../factories/forum';
import { freshIp } from '../support/fresh-ip';
import { backendPid, doneOrWaiting, waitForLockWaits } from '../support/lock-waits';
import { withLockHeld } from '../support/row-locks';
import { smtpServer } from '../support/smtp-server';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';
// After the app (through test-app), which loads auth.service first: invites.service imports it back.
import { InvitesService } from '../../libs/identity/src/invites/invites.service';

const CREATE = `mutation($input: CreateInviteInput!) { createInvite(input: $input) { id email maxUses uses state expiresAt link groups { slug } createdBy { id } } }`;
const INVITATION = `query($token: String!) { invitation(token: $token) { state email groups invitedBy expiresAt } }`;
const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id handle } } }`;
const REDEEM = `mutation($token: String!) { redeemInvite(token: $token) }`;
const ME = `{ me { id emailVerified } }`;

const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;

describe('invitations', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let admin: TestUser;
  let partners: string;
  let partnerTopic: string;
  let seq = 0;

  beforeAll(async () => {
    smtp = await smtpServer();
    t = await bootTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://community.example' });
    admin = await makeUser(t, { role: 'ADMIN' });
    partners = await makeGroup(t, 'partners');
    // Its members see it: an invitation into it names it.
    await t.sql(`UPDATE groups SET visibility = 'MEMBERS' WHERE id = $1`, [partners]);
    const space = await makeSpace(t, 'RESTRICTED', [{ groupId: partners, level: 'PARTICIPATE' }]);
    partnerTopic = (await createTopic(t, admin.token, await makeBoard(t, space.id), { title: 'For partners only' })).id;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const invite = async (input: Record<string, unknown>) => expectOk(await t.gql(CREATE, { input }, { token: admin.token })).createInvite;
  const signUp = (inviteToken: string | undefined, extra: { email?: string; handle?: string } = {}): Promise<GqlResult> => {
    const n = `${Date.now().toString(36).slice(-4)}${++seq}`;
    return t.gql(SIGN_UP, { input: { email: extra.email ?? `new${n}@example.com`, handle: extra.handle ?? `newbie${n}`, password: 'a long enough password', inviteToken } }, { ip: freshIp() });
  };
  const readsPartnerTopic = async (token: string) => !(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: partnerTopic }, { token })).errors;
  const counts = async () => (await t.sql(`SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM group_members)::int AS members, (SELECT coalesce(sum(uses), 0)::int FROM invites) AS uses`))[0];

  it('lets a link bring in as many as it allows, into its groups, and no more', async () => {
    const created = await invite({ groupIds: [partners], maxUses: 2, expiresInDays: 3 });
    expect(created).toMatchObject({ email: null, maxUses: 2, uses: 0, state: 'ACTIVE', groups: [{ slug: 'partners' }], createdBy: { id: admin.id } });
    expect(created.link).toMatch(/^https:\/\/community\.example\/invite\?token=/);
    const token = tokenOf(created.link);
    expect(expectOk(await t.gql(INVITATION, { token })).invitation).toMatchObject({ state: 'ACTIVE', email: null, groups: ['partners'], invitedBy: expect.any(String) });
    for (let i = 0; i < 2; i++) {
      const { signUp: joined } = expectOk(await signUp(token));
      expect(await readsPartnerTopic(joined.token)).toBe(true);
      // A link vouches for nobody's address: it waits for its own confirmation.
      expect(expectOk(await t.gql(ME, {}, { token: joined.token })).me.emailVerified).toBe(false);
    }
    const before = await counts();
    const third = await signUp(token);
    expectError(third, 'BAD_USER_INPUT');
    expect(third.errors![0].extensions!.fields).toEqual([{ field: 'inviteToken', message: 'This invitation has been used already' }]);
    expect(await counts()).toEqual(before);
    expect(expectOk(await t.gql(INVITATION, { token })).invitation.state).toBe('USED_UP');
    const log = await t.sql(`SELECT action, reason FROM moderation_log WHERE action IN ('invite.create', 'group.member_add') AND (target_id = $1::uuid OR after->>'inviteId' = $1::text) ORDER BY id`, [created.id]);
    expect(log).toEqual([{ action: 'invite.create', reason: null }, { action: 'group.member_add', reason: 'invitation' }, { action: 'group.member_add', reason: 'invitation' }]);
  });

  it('names to its holder, and in its e-mail, only the groups their members see, not one seen by its owners alone', async () => {
    const board = await makeGroup(t, `board-${++seq}`);
    const n = ++seq;
    const address = `director${n}@example.org`;
    const before = smtp.mails.length;
    const created = await invite({ email: address, groupIds: [partners, board] });
    expect(created.groups.map((g: { slug: string }) => g.slug).sort()).toEqual(['partners', `board-${seq - 1}`].sort());
    expect(expectOk(await t.gql(INVITATION, { token: tokenOf(created.link) })).invitation.groups).toEqual(['partners']);
    await t.get(OutboxWorker).drain();
    const [mail] = smtp.mails.slice(before).filter((m) => m.to.includes(address));
    expect(mail.text).toContain('partners');
    expect(mail.text).not.toContain(`board-${seq - 1}`);
    // Redeemed, it takes them into both all the same.
    const { signUp: joined } = expectOk(await signUp(tokenOf(created.link), { email: address }));
    expect(await t.sql(`SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY group_id`, [joined.user.id])).toEqual([partners, board].sort().map((group_id) => ({ group_id })));
  });

  it('lets one of several sign-ups at once use the last place', async () => {
    const token = tokenOf((await invite({ groupIds: [partners] })).link);
    const results = await Promise.all([1, 2, 3, 4].map(() => signUp(token)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors?.[0].extensions?.code === 'BAD_USER_INPUT')).toHaveLength(3);
    const [{ uses }] = await t.sql(`SELECT uses FROM invites ORDER BY id DESC LIMIT 1`);
    expect(uses).toBe(1);
  });

  it('e-mails an invitation to its address, which alone may redeem it and needs no confirming then', async () => {
    const n = ++seq;
    const address = `invited${n}@Example.ORG`;
    const before = smtp.mails.length;
    const created = await invite({ email: address, groupIds: [partners] });
    expect(created.email).toBe(`invited${n}@example.org`);
    await t.get(OutboxWorker).drain();
    const mails = smtp.mails.slice(before).filter((m) => m.to.some((to) => to.toLowerCase() === address.toLowerCase()));
    expect(mails).toHaveLength(1);
    expect(mails[0].text).toContain(created.link);
    expect(mails[0].text).toContain('partners');
    const token = tokenOf(created.link);
    expect(expectOk(await t.gql(INVITATION, { token })).invitation.email).toBe(created.email);
    const other = await signUp(token, { email: `someone${n}@example.org` });
    expect(other.errors![0].extensions!.fields).toEqual([{ field: 'inviteToken', message: 'is for another e-mail address' }]);
    // The domain is the address's to fold: Example.ORG and example.org are one.
    const { signUp: joined } = expectOk(await signUp(token, { email: `invited${n}@EXAMPLE.org` }));
    expect(expectOk(await t.gql(ME, {}, { token: joined.token })).me.emailVerified).toBe(true);
    expect(await readsPartnerTopic(joined.token)).toBe(true);
    // No confirmation e-mail was queued for an address the invitation vouched for.
    expect(await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 AND type LIKE '%verification%'`, [joined.user.id])).toEqual([]);
  });

  it('lets a signed-in member redeem one, once, into its groups', async () => {
    const member = await makeUser(t);
    const token = tokenOf((await invite({ groupIds: [partners], maxUses: 5 })).link);
    expect(await readsPartnerTopic(member.token)).toBe(false);
    expect(expectOk(await t.gql(REDEEM, { token }, { token: member.token })).redeemInvite).toBe(true);
    expect(await readsPartnerTopic(member.token)).toBe(true);
    expect(expectOk(await t.gql(REDEEM, { token }, { token: member.token })).redeemInvite).toBe(false);
    expect((await t.sql(`SELECT uses FROM invites WHERE id = (SELECT invite_id FROM invite_redemptions WHERE user_id = $1)`, [member.id]))[0].uses).toBe(1);
    expectError(await t.gql(REDEEM, { token }), 'UNAUTHENTICATED');
    // One for an address is not for another member: refused on redeemInvite's own argument, `token`.
    const bound = tokenOf((await invite({ email: `elsewhere${++seq}@example.org` })).link);
    expect(expectError(await t.gql(REDEEM, { token: bound }, { token: member.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'token', message: 'is for another e-mail address' }]);
    expect(expectError(await t.gql(REDEEM, { token: 'x'.repeat(43) }, { token: member.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'token', message: 'is not a valid invitation' }]);
  });

  /**
   * Runs `work` while a grant to `groupId` is being given on a connection of its own (the group's
   * row FOR NO KEY UPDATE, as grantSpaceAccess holds it, and the grant written), or with `settings`
   * while its settings change (FOR UPDATE, as updateGroup and setDomains hold it): whether it ended
   * or waited first, and whether the moderation log's lock was free meanwhile (both log
   * themselves: a change holding that lock while it waits for the group would deadlock with them).
   */
  const whileChanging = async (groupId: string, work: () => Promise<GqlResult>, as: 'grant' | 'settings' = 'grant') => {
    return withLockHeld(t, `SELECT 1 FROM groups WHERE id = $1 ${as === 'grant' ? 'FOR NO KEY UPDATE' : 'FOR UPDATE'}`, [groupId], async (holder) => {
      if (as === 'grant') {
        const space = await makeSpace(t, 'RESTRICTED');
        await holder.query(`INSERT INTO space_grants (id, space_id, group_id, level) VALUES (gen_random_uuid(), $1, $2, 2)`, [space.id, groupId]);
      }
      const working = work();
      const outcome = await doneOrWaiting(t, working, 1, holder);
      const [{ free }] = await holder.query(`SELECT pg_try_advisory_xact_lock($1) AS free`, [AUDIT_LOCK]);
      await holder.release();
      return { outcome, logFree: free as boolean, result: await working };
    });
  };

  it('redeems one into its groups in turn with a grant being given to one (the group’s row is locked, as for any other way in)', async () => {
    const member = await makeUser(t);
    const group = await makeGroup(t);
    const token = tokenOf((await invite({ groupIds: [group], maxUses: 5 })).link);
    const { outcome, logFree, result } = await whileChanging(group, () => t.gql(REDEEM, { token }, { token: member.token }));
    expect({ outcome, logFree }).toEqual({ outcome: 'waiting', logFree: true });
    expect(expectOk(result).redeemInvite).toBe(true);
    expect(await t.sql(`SELECT user_id FROM group_members WHERE group_id = $1`, [group])).toEqual([{ user_id: member.id }]);
  });

  it('signs up with an admin’s invitation into groups, at a domain a group takes in, with a grant being given to one: in turn, not holding the moderation log meanwhile', async () => {
    const [invited, automatic] = [await makeGroup(t), await makeGroup(t)];
    await t.sql(`UPDATE groups SET automatic_domains = '{brand.example}' WHERE id = $1`, [automatic]);
    const email = `hire${++seq}@brand.example`;
    const token = tokenOf((await invite({ email, groupIds: [invited] })).link);
    const { outcome, logFree, result } = await whileChanging(invited, () => signUp(token, { email }));
    expect({ outcome, logFree }).toEqual({ outcome: 'waiting', logFree: true });
    const { id } = expectOk(result).signUp.user;
    expect(await t.sql(`SELECT group_id, via_domain FROM group_members WHERE user_id = $1 ORDER BY group_id`, [id])).toEqual(
      [{ group_id: invited, via_domain: null }, { group_id: automatic, via_domain: 'brand.example' }].sort((a, b) => (a.group_id < b.group_id ? -1 : 1)),
    );
  });

  it('signs up again from the start when a deadlock ends its first attempt: one account, one use, one membership, one confirmation e-mail', async () => {
    const group = await makeGroup(t);
    const created = await invite({ groupIds: [group], maxUses: 5 });
    const attempts = jest.spyOn(t.get(InvitesService), 'redeemIn');
    let result: GqlResult;
    let runs = 0;
    try {
      // This side waits long before it looks for a deadlock: the sign-up, which waits first, finds it and is its victim.
      result = await withLockHeld(t, `SET LOCAL deadlock_timeout = '1min'`, [], async (holder) => {
        // The group held as a change of its settings holds it: the sign-up, holding the invitation's row, waits for it...
        await holder.query(`SELECT 1 FROM groups WHERE id = $1 FOR UPDATE`, [group]);
        const signingUp = signUp(tokenOf(created.link));
        await waitForLockWaits(t, 1, holder);
        // ...and this waits for the invitation's row, until the deadlock ends the sign-up's first attempt.
        await holder.query(`SELECT 1 FROM invites WHERE id = $1 FOR UPDATE`, [created.id]);
        await holder.release();
        return signingUp;
      });
      runs = attempts.mock.calls.length;
    } finally {
      attempts.mockRestore();
    }
    const { token, user } = expectOk(result).signUp;
    expect(runs).toBe(2);
    expect(expectOk(await t.gql(ME, {}, { token })).me.id).toBe(user.id);
    expect(await t.sql(`SELECT count(*)::int AS n FROM users WHERE handle = $1`, [user.handle])).toEqual([{ n: 1 }]);
    expect(await t.sql(`SELECT uses, (SELECT count(*)::int FROM invite_redemptions WHERE invite_id = $1) AS redemptions FROM invites WHERE id = $1`, [created.id])).toEqual([{ uses: 1, redemptions: 1 }]);
    expect(await t.sql(`SELECT user_id FROM group_members WHERE group_id = $1`, [group])).toEqual([{ user_id: user.id }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'group.member_add' AND target_id = $1`, [user.id])).toEqual([{ n: 1 }]);
    expect(await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1`, [user.id])).toEqual([{ type: 'user.email_verification_requested' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [user.id])).toEqual([{ n: 1 }]);
  });

  it('signs up with an admin’s invitation into a group, at a domain another group takes in, while that group’s settings change: in turn, not holding the moderation log meanwhile', async () => {
    const [invited, automatic] = [await makeGroup(t), await makeGroup(t)];
    await t.sql(`UPDATE groups SET automatic_domains = '{corp.example}' WHERE id = $1`, [automatic]);
    const email = `staff${++seq}@corp.example`;
    const token = tokenOf((await invite({ email, groupIds: [invited] })).link);
    // The invitation's membership is logged before the rule holds every group: the entry waits for the commit.
    const { outcome, logFree, result } = await whileChanging(automatic, () => signUp(token, { email }), 'settings');
    expect({ outcome, logFree }).toEqual({ outcome: 'waiting', logFree: true });
    const { id } = expectOk(result).signUp.user;
    expect(await t.sql(`SELECT action, after->>'groupId' AS group_id FROM moderation_log WHERE target_id = $1 ORDER BY id`, [id])).toEqual([
      { action: 'group.member_add', group_id: invited },
      { action: 'group.member_add', group_id: automatic },
    ]);
  });

  it('refuses what was withdrawn, expired or forged, and writes nothing', async () => {
    const revoked = await invite({ groupIds: [partners], maxUses: 3 });
    expect(expectOk(await t.gql(`mutation($id: ID!) { revokeInvite(id: $id) { state revokedAt } }`, { id: revoked.id }, { token: admin.token })).revokeInvite.state).toBe('REVOKED');
    const expired = await invite({ maxUses: 3 });
    await t.sql(`UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id]);
    const good = tokenOf((await invite({})).link);
    const forged = good.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const before = await counts();
    const messages: string[] = [];
    for (const token of [tokenOf(revoked.link), tokenOf(expired.link), forged, 'not-a-token']) {
      const res = await signUp(token);
      expectError(res, 'BAD_USER_INPUT');
      messages.push(res.errors![0].extensions!.fields![0].message);
    }
    expect(messages).toEqual(['This invitation was withdrawn', 'This invitation has expired', 'is not a valid invitation', 'is not a valid invitation']);
    expect(await counts()).toEqual(before);
    expectError(await t.gql(INVITATION, { token: forged }), 'NOT_FOUND');
  });

  describe('once their maker may no longer do what they do', () => {
    const SET_ROLE = `mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { role } }`;
    const WITHDRAWN = [{ field: 'inviteToken', message: 'This invitation was withdrawn' }];
    const setRole = async (u: TestUser, role: 'MEMBER' | 'MODERATOR') => expectOk(await t.gql(SET_ROLE, { input: { userId: u.id, role } }, { token: admin.token }));
    const sanction = (u: TestUser, kind: 'SUSPEND' | 'BAN') =>
      t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, $2, 'test', CASE WHEN $2 = 'SUSPEND' THEN now() + interval '1 day' END)`, [u.id, kind]);
    const anonymise = async (u: TestUser) => expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: u.id }, { token: admin.token }));
    /** What redeeming the invitation would write: accounts, its uses and redemptions, memberships, log entries naming it. */
    const written = async (inviteId: string) => (await t.sql(
      `SELECT (SELECT count(*) FROM users)::int AS users, (SELECT uses FROM invites WHERE id = $1) AS uses,
              (SELECT count(*) FROM invite_redemptions WHERE invite_id = $1)::int AS redemptions, (SELECT count(*) FROM group_members)::int AS members,
              (SELECT count(*) FROM moderation_log WHERE after->>'inviteId' = $1::text)::int AS logged`,
      [inviteId],
    ))[0];
    /** An admin's invitation for five into a plain group and one whose members moderate a space. */
    const intoGroups = async (maker: TestUser) => {
      const [plain, moderating] = [await makeGroup(t), await makeGroup(t)];
      await makeSpace(t, 'RESTRICTED', [{ groupId: moderating, level: 'MODERATE' }]);
      return expectOk(await t.gql(CREATE, { input: { groupIds: [plain, moderating], maxUses: 5 } }, { token: maker.token })).createInvite;
    };
    /** The two ways to redeem one: signing up with it, and a member (made now) signed in; each refuses on its own argument. */
    const redeemers = async (): Promise<Array<{ redeem: (token: string) => Promise<GqlResult>; withdrawn: typeof WITHDRAWN }>> => {
      const member = await makeUser(t);
      return [
        { redeem: (token) => signUp(token), withdrawn: WITHDRAWN },
        { redeem: (token) => t.gql(REDEEM, { token }, { token: member.token }), withdrawn: [{ field: 'token', message: 'This invitation was withdrawn' }] },
      ];
    };

    it('refuses, as withdrawn and whole, an admin’s invitation into groups once they are no admin (a moderator still invites, into no group), writing nothing', async () => {
      const maker = await makeUser(t, { role: 'ADMIN' });
      const created = await intoGroups(maker);
      const link = tokenOf(expectOk(await t.gql(CREATE, { input: { maxUses: 5 } }, { token: maker.token })).createInvite.link);
      const token = tokenOf(created.link);
      await setRole(maker, 'MODERATOR');
      expect(expectOk(await t.gql(INVITATION, { token })).invitation.state).toBe('REVOKED');
      const ways = await redeemers();
      const before = await written(created.id);
      for (const { redeem, withdrawn } of ways) expect((await redeem(token)).errors?.[0].extensions.fields).toEqual(withdrawn);
      expect(await written(created.id)).toEqual(before);
      // Their link into no group still lets people in, as a moderator's would.
      expect(expectOk(await t.gql(INVITATION, { token: link })).invitation.state).toBe('ACTIVE');
      expectOk(await signUp(link));
    });

    it('refuses an admin’s invitation once a suspension or ban stands on them, as one from before they were made admin again', async () => {
      for (const kind of ['SUSPEND', 'BAN'] as const) {
        const maker = await makeUser(t, { role: 'ADMIN' });
        const token = tokenOf(expectOk(await t.gql(CREATE, { input: { maxUses: 5 } }, { token: maker.token })).createInvite.link);
        await sanction(maker, kind);
        expect(expectOk(await t.gql(INVITATION, { token })).invitation.state).toBe('REVOKED');
        expect((await signUp(token)).errors?.[0].extensions.fields).toEqual(WITHDRAWN);
      }
    });

    it('lists an invitation as its link reads and redemption decides it: withdrawn once its maker may no longer do what it does, in the same statements for two or eight', async () => {
      const LIST = `query($first: Int) { invites(first: $first) { edges { node { id state } } } }`;
      const create = async (maker: TestUser, input: Record<string, unknown> = {}) => expectOk(await t.gql(CREATE, { input: { maxUses: 5, ...input } }, { token: maker.token })).createInvite;
      const [demoted, suspended, banned] = await Promise.all([0, 1, 2].map(() => makeUser(t, { role: 'ADMIN' })));
      const [deleted, silenced, lowered] = await Promise.all([0, 1, 2].map(() => makeUser(t, { trustLevel: 2 })));
      const cases: Array<{ name: string; invite: { id: string; link: string }; state: string }> = [
        { name: 'standing', invite: await create(admin), state: 'ACTIVE' },
        { name: 'demoted, into groups', invite: await intoGroups(demoted), state: 'REVOKED' },
        { name: 'demoted, into no group', invite: await create(demoted), state: 'ACTIVE' },
        { name: 'suspended', invite: await create(suspended), state: 'REVOKED' },
        { name: 'banned', invite: await create(banned), state: 'REVOKED' },
        { name: 'deleted', invite: await create(deleted), state: 'REVOKED' },
        { name: 'silenced', invite: await create(silenced), state: 'REVOKED' },
        { name: 'below the trust level', invite: await create(lowered), state: 'REVOKED' },
      ];
      await setRole(demoted, 'MODERATOR');
      await sanction(suspended, 'SUSPEND');
      await sanction(banned, 'BAN');
      await anonymise(deleted);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [silenced.id]);
      await t.sql(`UPDATE users SET trust_level = 1 WHERE id = $1`, [lowered.id]);
      const stateIn = async (token: string, id: string) =>
        expectOk(await t.gql(LIST, { first: 50 }, { token })).invites.edges.find((e: { node: { id: string } }) => e.node.id === id)?.node.state;
      for (const c of cases) {
        const listed = await stateIn(admin.token, c.invite.id);
        expect({ name: c.name, listed }).toEqual({ name: c.name, listed: c.state });
        expect({ name: c.name, link: expectOk(await t.gql(INVITATION, { token: tokenOf(c.invite.link) })).invitation.state }).toEqual({ name: c.name, link: c.state });
      }
      // Makers still signed in list their own as the admins do.
      expect(await stateIn(silenced.token, cases[6].invite.id)).toBe('REVOKED');
      expect(await stateIn(demoted.token, cases[1].invite.id)).toBe('REVOKED');
      expect(await stateIn(demoted.token, cases[2].invite.id)).toBe('ACTIVE');
      // Eight invitations of seven makers, standing or not, cost what two do: the makers are read with the page.
      const two = await t.countStatements(() => t.gql(LIST, { first: 2 }, { token: admin.token }));
      const eight = await t.countStatements(() => t.gql(LIST, { first: 8 }, { token: admin.token }));
      expect(eight.count).toBe(two.count);
      // And redemption decides as the list said.
      for (const c of cases) {
        const redeemed = await signUp(tokenOf(c.invite.link));
        expect({ name: c.name, refused: redeemed.errors?.[0].extensions.fields ?? null }).toEqual({ name: c.name, refused: c.state === 'ACTIVE' ? null : WITHDRAWN });
      }
    });

    it('lists to a maker no longer an admin, among their invitations, only the groups they still see', async () => {
      const maker = await makeUser(t, { role: 'ADMIN' });
      const [shown, hidden] = [await makeGroup(t), await makeGroup(t)]; // OWNERS: its owners and the admins see it
      await t.sql(`UPDATE groups SET visibility = 'PUBLIC' WHERE id = $1`, [shown]);
      const [{ slug: hiddenSlug }] = await t.sql(`SELECT slug FROM groups WHERE id = $1`, [hidden]);
      const created = expectOk(await t.gql(CREATE, { input: { groupIds: [shown, hidden], maxUses: 5 } }, { token: maker.token })).createInvite;
      const LIST = `{ invites(first: 50) { edges { node { id groups { id slug name } } } } }`;
      const groupsOf = async (u: TestUser) => {
        const res = await t.gql(LIST, {}, { token: u.token });
        const node = expectOk(res).invites.edges.map((e: any) => e.node).find((n: any) => n.id === created.id);
        return { ids: node.groups.map((g: { id: string }) => g.id).sort(), text: JSON.stringify(res) };
      };
      expect((await groupsOf(maker)).ids).toEqual([shown, hidden].sort());
      await setRole(maker, 'MODERATOR');
      // Still theirs to list and withdraw; the group they may no longer see is, to them, no group.
      const seen = await groupsOf(maker);
      expect(seen.ids).toEqual([shown]);
      expect(seen.text).not.toContain(hidden);
      expect(seen.text).not.toContain(hiddenSlug);
      expect((await groupsOf(admin)).ids).toEqual([shown, hidden].sort());
    });

    /**
     * Runs `redeem` while the invitation's row is held on a connection of its own, so that it has
     * read the invitation and its maker and waits for the row; meanwhile `change` changes the
     * maker and commits. Then lets it go on, and answers what it answered.
     */
    const redeemWhileChanging = async (inviteId: string, redeem: () => Promise<GqlResult>, change: () => Promise<unknown>) => {
      const holder = t.ds.createQueryRunner();
      await holder.connect();
      try {
        await holder.startTransaction();
        await holder.query(`SELECT 1 FROM invites WHERE id = $1 FOR UPDATE`, [inviteId]);
        const redeeming = redeem();
        await waitForLockWaits(t, 1, await backendPid(holder));
        await change();
        await holder.commitTransaction();
        return await redeeming;
      } finally {
        if (holder.isTransactionActive) await holder.rollbackTransaction();
        await holder.release();
      }
    };

    const changes: Array<[string, (maker: TestUser) => Promise<unknown>]> = [
      ['demoted', (maker) => setRole(maker, 'MODERATOR')],
      ['demoted and suspended site-wide', async (maker) => { await setRole(maker, 'MODERATOR'); await sanction(maker, 'SUSPEND'); }],
      ['demoted and banned site-wide', async (maker) => { await setRole(maker, 'MODERATOR'); await sanction(maker, 'BAN'); }],
      ['demoted and deleted', async (maker) => { await setRole(maker, 'MODERATOR'); await anonymise(maker); }],
    ];
    it.each(changes)('refuses an admin’s invitation into groups whose maker was %s while it was being redeemed, writing nothing', async (_, change) => {
      for (const { redeem, withdrawn } of await redeemers()) {
        const maker = await makeUser(t, { role: 'ADMIN' });
        const created = await intoGroups(maker);
        const before = await written(created.id);
        const result = await redeemWhileChanging(created.id, () => redeem(tokenOf(created.link)), () => change(maker));
        expect(result.errors?.[0].extensions.fields).toEqual(withdrawn);
        expect(await written(created.id)).toEqual(before);
      }
    });

    it('does not take an address as confirmed on an invitation whose maker stopped being an admin while it was being redeemed: the sign-up writes nothing, and one again waits for the link', async () => {
      const maker = await makeUser(t, { role: 'ADMIN' });
      const n = ++seq;
      const email = `hired${n}@brand-demoted.example`;
      // A group takes that domain in: a confirmed address there opens it.
      const automatic = await makeGroup(t);
      await t.sql(`UPDATE groups SET automatic_domains = '{brand-demoted.example}' WHERE id = $1`, [automatic]);
      const created = expectOk(await t.gql(CREATE, { input: { email } }, { token: maker.token })).createInvite;
      const before = await written(created.id);
      // Checked before the account is made (an admin's, for this address: it vouches), redeemed once a moderator's (it does not).
      const result = await redeemWhileChanging(created.id, () => signUp(tokenOf(created.link), { email, handle: `hired${n}` }), () => setRole(maker, 'MODERATOR'));
      expectError(result, 'CONFLICT');
      expect(await written(created.id)).toEqual(before);
      // Again: a moderator's invitation still lets them in, and their address waits for its own link.
      const { signUp: joined } = expectOk(await signUp(tokenOf(created.link), { email, handle: `hired${n}` }));
      expect(expectOk(await t.gql(ME, {}, { token: joined.token })).me.emailVerified).toBe(false);
      expect(await t.sql(`SELECT user_id FROM group_members WHERE group_id = $1`, [automatic])).toEqual([]);
    });

    const memberChanges: Array<[string, (maker: TestUser) => Promise<unknown>]> = [
      ['suspended site-wide', (maker) => sanction(maker, 'SUSPEND')],
      ['banned site-wide', (maker) => sanction(maker, 'BAN')],
      ['deleted', anonymise],
    ];
    it.each(memberChanges)('refuses a member’s link whose maker was %s while it was being redeemed, writing nothing', async (_, change) => {
      for (const { redeem, withdrawn } of await redeemers()) {
        const maker = await makeUser(t, { trustLevel: 2 });
        const created = expectOk(await t.gql(CREATE, { input: { maxUses: 5 } }, { token: maker.token })).createInvite;
        const before = await written(created.id);
        const result = await redeemWhileChanging(created.id, () => redeem(tokenOf(created.link)), () => change(maker));
        expect(result.errors?.[0].extensions.fields).toEqual(withdrawn);
        expect(await written(created.id)).toEqual(before);
      }
    });
  });

  it('is for admins and trusted members, and refuses bad input writing nothing', async () => {
    const member = await makeUser(t);
    const rows = async () => (await t.sql(`SELECT count(*)::int AS n FROM invites`))[0].n;
    const before = await rows();
    expectError(await t.gql(CREATE, { input: {} }), 'UNAUTHENTICATED');
    // Below INVITE_MIN_TRUST_LEVEL (2 by default): no inviting; the list holds only their own (none).
    expectError(await t.gql(CREATE, { input: {} }, { token: member.token }), 'FORBIDDEN');
    expect(expectOk(await t.gql(`{ invites { totalCount } }`, {}, { token: member.token })).invites.totalCount).toBe(0);
    expectError(await t.gql(`{ invites { totalCount } }`), 'UNAUTHENTICATED');
    for (const input of [
      { maxUses: 0 }, { maxUses: 1001 }, { expiresInDays: 0 }, { expiresInDays: 91 }, { email: 'not an address' },
      { email: `two${++seq}@example.org`, maxUses: 2 }, { email: admin.email }, { groupIds: ['00000000-0000-7000-8000-000000000000'] }, { groupIds: ['nope'] },
    ]) {
      expectError(await t.gql(CREATE, { input }, { token: admin.token }), 'BAD_USER_INPUT');
    }
    expect(await rows()).toBe(before);
    // Withdrawing is theirs too; one withdrawn already is left as it is, and logged once.
    const link = await invite({});
    const revoke = (id: string, token?: string) => t.gql(`mutation($id: ID!) { revokeInvite(id: $id) { state } }`, { id }, { token });
    expectError(await revoke(link.id), 'UNAUTHENTICATED');
    expectError(await revoke(link.id, member.token), 'NOT_FOUND');
    expectError(await revoke('nope', admin.token), 'BAD_USER_INPUT');
    expectError(await revoke('00000000-0000-7000-8000-000000000000', admin.token), 'NOT_FOUND');
    expect(expectOk(await revoke(link.id, admin.token)).revokeInvite.state).toBe('REVOKED');
    expect(expectOk(await revoke(link.id, admin.token)).revokeInvite.state).toBe('REVOKED');
    expect(await t.sql(`SELECT action FROM moderation_log WHERE target_id = $1 ORDER BY id`, [link.id])).toEqual([{ action: 'invite.create' }, { action: 'invite.revoke' }]);
  });

  describe('by members', () => {
    const MINE = `query($first: Int) { invites(first: $first) { totalCount edges { node { id createdBy { id } } } } }`;
    const revoke = (id: string, token: string) => t.gql(`mutation($id: ID!) { revokeInvite(id: $id) { state } }`, { id }, { token });
    const rows = async () => (await t.sql(`SELECT count(*)::int AS n FROM invites`))[0].n;

    it('lets members from trust level 2, and moderators, invite a few people into no group, and see and withdraw their own only', async () => {
      const trusted = await makeUser(t, { trustLevel: 2 });
      const mod = await makeUser(t, { role: 'MODERATOR', trustLevel: 0 });
      const other = await makeUser(t, { trustLevel: 3 });
      const link = expectOk(await t.gql(CREATE, { input: { maxUses: 10 } }, { token: trusted.token })).createInvite;
      expect(link).toMatchObject({ maxUses: 10, groups: [], createdBy: { id: trusted.id }, state: 'ACTIVE' });
      const byMod = expectOk(await t.gql(CREATE, { input: {} }, { token: mod.token })).createInvite;
      expect(byMod.createdBy).toEqual({ id: mod.id });
      const theirs = expectOk(await t.gql(CREATE, { input: {} }, { token: other.token })).createInvite;
      const adminsOwn = await invite({ groupIds: [partners] });

      // Refused: a bigger link, any group; nothing written.
      const before = await rows();
      for (const [input, field] of [[{ maxUses: 11 }, 'maxUses'], [{ groupIds: [partners] }, 'groupIds']] as Array<[Record<string, unknown>, string]>) {
        const err = expectError(await t.gql(CREATE, { input }, { token: trusted.token }), 'BAD_USER_INPUT');
        expect(err.extensions.fields!.map((f) => f.field)).toEqual([field]);
      }
      expect(await rows()).toBe(before);

      // Each sees their own; the admin sees them all.
      const mine = expectOk(await t.gql(MINE, { first: 50 }, { token: trusted.token })).invites;
      expect(mine).toMatchObject({ totalCount: 1, edges: [{ node: { id: link.id, createdBy: { id: trusted.id } } }] });
      const all = expectOk(await t.gql(MINE, { first: 100 }, { token: admin.token })).invites.edges.map((e: { node: { id: string } }) => e.node.id);
      expect(all).toEqual(expect.arrayContaining([link.id, byMod.id, theirs.id, adminsOwn.id]));
      // Another's, or the admin's, is NOT_FOUND to withdraw, and stays.
      expectError(await revoke(theirs.id, trusted.token), 'NOT_FOUND');
      expectError(await revoke(adminsOwn.id, trusted.token), 'NOT_FOUND');
      expect(await t.sql(`SELECT count(*)::int AS n FROM invites WHERE id = ANY($1::uuid[]) AND revoked_at IS NOT NULL`, [[theirs.id, adminsOwn.id]])).toEqual([{ n: 0 }]);
      expect(expectOk(await revoke(link.id, trusted.token)).revokeInvite.state).toBe('REVOKED');
      // The admin withdraws a member's.
      expect(expectOk(await revoke(theirs.id, admin.token)).revokeInvite.state).toBe('REVOKED');
    });

    it('brings a member’s invitee in, with no group', async () => {
      const trusted = await makeUser(t, { trustLevel: 2 });
      const link = expectOk(await t.gql(CREATE, { input: { maxUses: 2 } }, { token: trusted.token })).createInvite;
      const joined = expectOk(await signUp(tokenOf(link.link))).signUp;
      expect(await readsPartnerTopic(joined.token)).toBe(false);
      expect(await t.sql(`SELECT uses FROM invites WHERE id = $1`, [link.id])).toEqual([{ uses: 1 }]);
    });

    it('refuses a silenced member, and a member past 10 invitations a day, writing nothing', async () => {
      const silenced = await makeUser(t, { trustLevel: 4 });
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [silenced.id]);
      const before = await rows();
      expectError(await t.gql(CREATE, { input: {} }, { token: silenced.token }), 'FORBIDDEN');
      expect(await rows()).toBe(before);

      const busy = await makeUser(t, { trustLevel: 2 });
      for (let i = 0; i < 10; i++) expectOk(await t.gql(CREATE, { input: {} }, { token: busy.token }));
      const full = await rows();
      const err = expectError(await t.gql(CREATE, { input: {} }, { token: busy.token }), 'RATE_LIMITED');
      expect(err.extensions.retryAfterSeconds).toBeGreaterThan(0);
      expect(await rows()).toBe(full);
      // Admins are not counted.
      for (let i = 0; i < 11; i++) await invite({});
    });

    it('sends no e-mail for a member’s invitation once they are silenced, as its link then reads withdrawn', async () => {
      const member = await makeUser(t, { trustLevel: 2 });
      const n = ++seq;
      const address = `quiet${n}@example.org`;
      const created = expectOk(await t.gql(CREATE, { input: { email: address } }, { token: member.token })).createInvite;
      // Silenced before the worker gets round to the e-mail.
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [member.id]);
      const before = smtp.mails.length;
      await t.get(OutboxWorker).drain();
      expect(smtp.mails.slice(before).filter((m) => m.to.includes(address))).toEqual([]);
      expect(expectOk(await t.gql(INVITATION, { token: tokenOf(created.link) })).invitation.state).toBe('REVOKED');
      // Another member's, standing, goes.
      const other = await makeUser(t, { trustLevel: 2 });
      const sent = `sent${n}@example.org`;
      expectOk(await t.gql(CREATE, { input: { email: sent } }, { token: other.token }));
      await t.get(OutboxWorker).drain();
      expect(smtp.mails.slice(before).filter((m) => m.to.includes(sent))).toHaveLength(1);
    });

    it('does not let a member’s invitation for an address vouch for it: the invitee confirms it as anyone does', async () => {
      const trusted = await makeUser(t, { trustLevel: 2 });
      const n = ++seq;
      const created = expectOk(await t.gql(CREATE, { input: { email: `victim${n}@example.org` } }, { token: trusted.token })).createInvite;
      expect(created.createdBy).toEqual({ id: trusted.id });
      const { signUp: joined } = expectOk(await signUp(tokenOf(created.link), { email: `victim${n}@example.org` }));
      expect(expectOk(await t.gql(ME, {}, { token: joined.token })).me.emailVerified).toBe(false);
    });

    it('counts a member’s every attempt, so asking which addresses have accounts is not free; banned addresses are refused', async () => {
      const prober = await makeUser(t, { trustLevel: 2 });
      for (let i = 0; i < 10; i++) {
        const err = expectError(await t.gql(CREATE, { input: { email: admin.email } }, { token: prober.token }), 'BAD_USER_INPUT');
        expect(err.extensions.fields).toEqual([{ field: 'email', message: 'already has an account: add it to the groups instead' }]);
      }
      expectError(await t.gql(CREATE, { input: { email: admin.email } }, { token: prober.token }), 'RATE_LIMITED');
      const before = await rows();
      const banned = `banned${++seq}@example.org`;
      await t.sql(`INSERT INTO banned_emails (email_lower) VALUES ($1)`, [banned]);
      const err = expectError(await t.gql(CREATE, { input: { email: banned } }, { token: (await makeUser(t, { trustLevel: 2 })).token }), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'email', message: 'cannot be invited' }]);
      expect(await rows()).toBe(before);
    });

    it('stops a member’s links once they may no longer invite, and still lets them see and withdraw them', async () => {
      const trusted = await makeUser(t, { trustLevel: 2 });
      const link = expectOk(await t.gql(CREATE, { input: { maxUses: 5 } }, { token: trusted.token })).createInvite;
      const token = tokenOf(link.link);
      await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [trusted.id]);
      expect(expectOk(await t.gql(INVITATION, { token })).invitation.state).toBe('REVOKED');
      const users = (await t.sql(`SELECT count(*)::int AS n FROM users`))[0].n;
      const refused = await signUp(token);
      expect(refused.errors![0].extensions!.fields).toEqual([{ field: 'inviteToken', message: 'This invitation was withdrawn' }]);
      expect((await t.sql(`SELECT count(*)::int AS n FROM users`))[0].n).toBe(users);
      expect(expectOk(await t.gql(MINE, { first: 10 }, { token: trusted.token })).invites.totalCount).toBe(1);
      expect(expectOk(await revoke(link.id, trusted.token)).revokeInvite.state).toBe('REVOKED');
      // Demoted below the level, too; an admin's link outlives nothing of the kind.
      const demoted = await makeUser(t, { trustLevel: 2 });
      const theirs = tokenOf(expectOk(await t.gql(CREATE, { input: {} }, { token: demoted.token })).createInvite.link);
      await t.sql(`UPDATE users SET trust_level = 1 WHERE id = $1`, [demoted.id]);
      expect(expectOk(await t.gql(INVITATION, { token: theirs })).invitation.state).toBe('REVOKED');
    });

    it('leaves invitations to admins with INVITE_MIN_TRUST_LEVEL=admins, and lowers the bar with 0', async () => {
      const closed = await bootTestApp({ INVITE_MIN_TRUST_LEVEL: 'admins' });
      const open = await bootTestApp({ INVITE_MIN_TRUST_LEVEL: '0' });
      try {
        for (const role of ['MEMBER', 'MODERATOR'] as const) {
          const u = await makeUser(closed, { role, trustLevel: 4 });
          expectError(await closed.gql(CREATE, { input: {} }, { token: u.token }), 'FORBIDDEN');
        }
        const newcomer = await makeUser(open, { trustLevel: 0 });
        expectOk(await open.gql(CREATE, { input: {} }, { token: newcomer.token }));
      } finally {
        await closed.close();
        await open.close();
      }
    });
  });

  it('lists invitations for admins, newest first, in the same statements for two or eight', async () => {
    const list = `query($first: Int) { invites(first: $first) { totalCount edges { node { id link groups { id } createdBy { id } } } } }`;
    const extra = await makeGroup(t);
    for (let i = 0; i < 8; i++) await invite({ groupIds: i % 2 ? [partners, extra] : [partners] });
    const newest = (await t.sql(`SELECT id FROM invites ORDER BY id DESC LIMIT 2`)).map((r) => r.id);
    const two = await t.countStatements(async () => expect(expectOk(await t.gql(list, { first: 2 }, { token: admin.token })).invites.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(newest));
    const eight = await t.countStatements(() => t.gql(list, { first: 8 }, { token: admin.token }));
    expect(eight.count).toBe(two.count);
  });

  it('takes sign-ups by invitation only when SIGN_UP=invite', async () => {
    const app = await bootTestApp({ SIGN_UP: 'invite' });
    try {
      const boss = await makeUser(app, { role: 'ADMIN' });
      const users = async () => (await app.sql(`SELECT count(*)::int AS n FROM users`))[0].n;
      const before = await users();
      const open = await app.gql(SIGN_UP, { input: { email: 'walk-in@example.com', handle: 'walkin', password: 'a long enough password' } }, { ip: freshIp() });
      expectError(open, 'FORBIDDEN');
      expect(await users()).toBe(before);
      const link = expectOk(await app.gql(CREATE, { input: {} }, { token: boss.token })).createInvite.link;
      expectOk(await app.gql(SIGN_UP, { input: { email: 'invited@example.com', handle: 'invitedone', password: 'a long enough password', inviteToken: tokenOf(link) } }, { ip: freshIp() }));
      expect(await users()).toBe(before + 1);
    } finally {
      await app.close();
    }
  });
});
