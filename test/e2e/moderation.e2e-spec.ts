import { JobScheduler } from '../../libs/core/src/jobs';
import { isUuid } from '../../libs/core/src/ids';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { AuditLog } from '../../libs/core/src/audit/audit-log';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, expectError, expectNotFound, expectOk, GqlResult, TestApp } from '../support/test-app';
import { TableSnapshots } from '../support/refusals';
import { freshIp } from '../support/fresh-ip';
import { EmailChangeService } from '../../libs/identity/src/auth/email-change';

const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id kind active expiresAt spaceId user { id } } }`;
const LIFT = `mutation($id: ID!) { liftSanction(id: $id) { id active liftedAt } }`;
const CREATE = `mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`;
const ME = `{ me { id } }`;

describe('moderation: sanctions and the moderation log', () => {
  let t: TestApp;
  let spaceA: { id: string; slug: string };
  let spaceB: { id: string; slug: string };
  let boardA: string;
  let boardB: string;
  let modA: TestUser;
  let globalMod: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    t = await bootTestApp();
    modA = await makeUser(t);
    globalMod = await makeUser(t, { role: 'MODERATOR' });
    admin = await makeUser(t, { role: 'ADMIN' });
    spaceA = await makeSpace(t, 'PUBLIC', [{ userId: modA.id, level: 'MODERATE' }]);
    spaceB = await makeSpace(t, 'PUBLIC');
    boardA = await makeBoard(t, spaceA.id);
    boardB = await makeBoard(t, spaceB.id);
  });
  afterAll(() => t.close());

  const counts = async () => (await t.sql(`SELECT (SELECT count(*) FROM sanctions)::int AS s, (SELECT count(*) FROM moderation_log)::int AS l`))[0];

  it('takes a global moderator’s site-wide powers away while a site-wide silence stands', async () => {
    const silencedMod = await makeUser(t, { role: 'MODERATOR' });
    const member = await makeUser(t);
    const siteWideSanction = { userId: member.id, kind: 'WARNING', reason: 'Be kind to each other' };
    const RULE = `mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`;
    const QUEUE = `{ reviewQueue(first: 5) { totalCount } }`;
    const LEVEL = `mutation($input: SetTrustLevelInput!) { setTrustLevel(input: $input) { id } }`;
    // Before: all of it works.
    expectOk(await t.gql(QUEUE, {}, { token: silencedMod.token }));
    const s = expectOk(await t.gql(SANCTION, { input: { userId: silencedMod.id, kind: 'SILENCE', reason: 'Heated exchange with members', durationHours: 24 } }, { token: admin.token })).sanctionUser;
    const before = await counts();
    expectError(await t.gql(SANCTION, { input: siteWideSanction }, { token: silencedMod.token }), 'FORBIDDEN');
    expectError(await t.gql(RULE, { input: { pattern: 'spamword', kind: 'WORD', action: 'BLOCK', publicReason: 'Not here' } }, { token: silencedMod.token }), 'FORBIDDEN');
    expectError(await t.gql(QUEUE, {}, { token: silencedMod.token }), 'FORBIDDEN');
    expectError(await t.gql(LEVEL, { input: { userId: member.id, level: 3, reason: 'Helpful regular' } }, { token: silencedMod.token }), 'FORBIDDEN');
    expect(await counts()).toEqual(before);
    // Lifted: the powers come back.
    expectOk(await t.gql(LIFT, { id: s.id }, { token: admin.token }));
    expectOk(await t.gql(SANCTION, { input: siteWideSanction }, { token: silencedMod.token }));
  });

  it('silences a member in one space: they still read, but cannot post or react there', async () => {
    const member = await makeUser(t);
    const other = await makeUser(t);
    const topic = await createTopic(t, other.token, boardA);
    const s = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SILENCE', reason: 'Flooding the help board', durationHours: 24, spaceId: spaceA.id } }, { token: modA.token })).sanctionUser;
    expect(s).toMatchObject({ kind: 'SILENCE', active: true, spaceId: spaceA.id, user: { id: member.id } });
    expect(expectOk(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: topic.id }, { token: member.token })).topic.id).toBe(topic.id);
    const refused = expectError(await t.gql(CREATE, { input: { boardId: boardA, title: 'Still here', body: 'x' } }, { token: member.token }), 'FORBIDDEN');
    expect(refused.message).toMatch(/silenced/);
    expectError(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: member.token }), 'FORBIDDEN');
    expectOk(await t.gql(CREATE, { input: { boardId: boardB, title: 'Elsewhere is fine', body: 'x' } }, { token: member.token }));
    // Only moderators within the sanction's reach may lift it.
    expectError(await t.gql(LIFT, { id: s.id }, { token: member.token }), 'FORBIDDEN');
    expect(expectError(await t.gql(LIFT, { id: 'not-an-id' }, { token: modA.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'id', message: 'must be a sanction id' }]);
    // Lifting restores participation at once.
    expectOk(await t.gql(LIFT, { id: s.id }, { token: modA.token }));
    expectOk(await t.gql(CREATE, { input: { boardId: boardA, title: 'Back again', body: 'x' } }, { token: member.token }));
  });

  it('answers a lift of a sanction out of the lifter’s sight as if there were none, writing nothing', async () => {
    const member = await makeUser(t);
    const reader = await makeUser(t);
    const inA = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SILENCE', reason: 'Cooling off in A', durationHours: 24, spaceId: spaceA.id } }, { token: modA.token })).sanctionUser;
    const inB = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SILENCE', reason: 'Cooling off in B', durationHours: 24, spaceId: spaceB.id } }, { token: globalMod.token })).sanctionUser;
    const siteWide = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SILENCE', reason: 'Cooling off everywhere', durationHours: 24 } }, { token: globalMod.token })).sanctionUser;
    // userSanctions shows modA their space's sanction alone, and a reader none.
    const SEEN = `query($u: ID!) { userSanctions(userId: $u) { totalCount edges { node { id } } } }`;
    expect(expectOk(await t.gql(SEEN, { u: member.id }, { token: modA.token })).userSanctions.edges).toEqual([{ node: { id: inA.id } }]);
    const before = await counts();
    const unseen = 'Sanction not found';
    for (const [id, token] of [[inB.id, modA.token], [siteWide.id, modA.token], [inA.id, reader.token], [siteWide.id, reader.token]]) {
      expect(expectError(await t.gql(LIFT, { id }, { token }), 'NOT_FOUND').message).toBe(unseen);
    }
    expect(await counts()).toEqual(before);
    expect(await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE user_id = $1 AND lifted_at IS NULL`, [member.id])).toEqual([{ n: 3 }]);
    // Whom it names may still not be theirs to release: seen, and refused.
    const peer = await makeUser(t, { role: 'MODERATOR' });
    const onPeer = expectOk(await t.gql(SANCTION, { input: { userId: peer.id, kind: 'SILENCE', reason: 'Cooling off in A', durationHours: 24, spaceId: spaceA.id } }, { token: admin.token })).sanctionUser;
    expectError(await t.gql(LIFT, { id: onPeer.id }, { token: modA.token }), 'FORBIDDEN');
    expect(expectOk(await t.gql(LIFT, { id: inA.id }, { token: modA.token })).liftSanction.active).toBe(false);
  });

  it('lifts a sanction once when two moderators lift it at the same moment', async () => {
    const member = await makeUser(t);
    const s = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SILENCE', reason: 'Cooling off', durationHours: 24, spaceId: spaceA.id } }, { token: modA.token })).sanctionUser;
    const answers = await Promise.all([modA, admin, modA, admin].map((m) => t.gql(LIFT, { id: s.id }, { token: m.token })));
    for (const a of answers) expect(expectOk(a).liftSanction.active).toBe(false);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'sanction.lift' AND target_id = $1`, [member.id])).toEqual([{ n: 1 }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'user.sanction_lifted' AND aggregate_id = $1`, [member.id])).toEqual([{ n: 1 }]);
  });

  it('keeps a space moderator inside their space and below their rank', async () => {
    const member = await makeUser(t);
    const peer = await makeUser(t);
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 3)`, [spaceA.id, peer.id]);
    const before = await counts();
    const base = { userId: member.id, kind: 'WARNING', reason: 'Please stay on topic' };
    expectError(await t.gql(SANCTION, { input: { ...base, spaceId: spaceB.id } }, { token: modA.token }), 'FORBIDDEN');
    expectError(await t.gql(SANCTION, { input: base }, { token: modA.token }), 'FORBIDDEN');
    expectError(await t.gql(SANCTION, { input: { ...base, userId: peer.id, spaceId: spaceA.id } }, { token: modA.token }), 'FORBIDDEN');
    expectError(await t.gql(SANCTION, { input: { ...base, userId: admin.id } }, { token: globalMod.token }), 'FORBIDDEN');
    expectError(await t.gql(SANCTION, { input: { ...base, userId: globalMod.id } }, { token: (await makeUser(t, { role: 'MODERATOR' })).token }), 'FORBIDDEN');
    expectError(await t.gql(SANCTION, { input: { ...base, userId: peer.id, spaceId: spaceA.id } }, { token: member.token }), 'FORBIDDEN');
    expectError(await t.gql(SANCTION, { input: base }), 'UNAUTHENTICATED');
    // Signed out, a malformed input is refused for what it is: every input is checked before the
    // mutation runs (InputValidationPipe), and being signed in is the service's question after.
    const malformed: Array<[Record<string, unknown>, string]> = [[{ ...base, reason: 'x' }, 'reason'], [{ ...base, durationHours: 0 }, 'durationHours'], [{ ...base, userId: 'nobody' }, 'userId']];
    for (const [input, field] of malformed) expect([field, expectError(await t.gql(SANCTION, { input }), 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)]).toEqual([field, [field]]);
    expect(await counts()).toEqual(before);
    // A global moderator may sanction the space moderator; an admin may sanction a global moderator.
    expectOk(await t.gql(SANCTION, { input: { ...base, userId: peer.id, spaceId: spaceA.id } }, { token: globalMod.token }));
    expectOk(await t.gql(SANCTION, { input: { ...base, userId: globalMod.id } }, { token: admin.token }));
  });

  it('ranks the site role above a space’s own: a space admin does not sanction a global moderator there, who may sanction them', async () => {
    const spaceAdmin = await makeUser(t);
    const gm = await makeUser(t, { role: 'MODERATOR' });
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 4)`, [spaceA.id, spaceAdmin.id]);
    const base = { kind: 'WARNING', reason: 'Please stay on topic', spaceId: spaceA.id };
    const before = await counts();
    expectError(await t.gql(SANCTION, { input: { ...base, userId: gm.id } }, { token: spaceAdmin.token }), 'FORBIDDEN');
    expect(await counts()).toEqual(before);
    expectOk(await t.gql(SANCTION, { input: { ...base, userId: spaceAdmin.id } }, { token: gm.token }));
  });

  it.each([
    [{ kind: 'SILENCE' }, 'durationHours'],
    [{ kind: 'WARNING', durationHours: 5 }, 'durationHours'],
    [{ kind: 'BAN', durationHours: 5 }, 'durationHours'],
    [{ kind: 'SUSPEND', durationHours: 0 }, 'durationHours'],
    [{ kind: 'WARNING', reason: 'x' }, 'reason'],
    [{ kind: 'SUSPEND', durationHours: 5, banEmail: true }, 'banEmail'],
    [{ kind: 'SCOLD' }, 'kind'],
  ])('refuses bad sanction input %# and writes nothing', async (patch, field) => {
    const member = await makeUser(t);
    const before = await counts();
    const err = expectError(await t.gql(SANCTION, { input: { userId: member.id, reason: 'A proper reason', ...patch } }, { token: globalMod.token }), 'BAD_USER_INPUT');
    if (err.extensions.fields) expect(err.extensions.fields.map((f) => f.field)).toContain(field);
    expect(await counts()).toEqual(before);
  });

  it('suspends site-wide: sessions stop at once, sign-in is refused, and it lifts itself on expiry', async () => {
    const password = 'suspended password';
    const member = await makeUser(t, { passwordHash: await hashPassword(password) });
    const s = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SUSPEND', reason: 'Harassment', durationHours: 168 } }, { token: globalMod.token })).sanctionUser;
    expect(expectOk(await t.gql(ME, {}, { token: member.token })).me).toBeNull();
    const signIn = `mutation($i: SignInInput!) { signIn(input: $i) { token } }`;
    const refused = expectError(await t.gql(signIn, { i: { login: member.handle, password } }, { ip: '198.51.100.9' }), 'FORBIDDEN');
    expect(refused.message).toMatch(/suspended until/);
    // A suspended user can still be sanctioned further (here: a warning on top).
    expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'WARNING', reason: 'Also this' } }, { token: globalMod.token }));
    await t.sql(`UPDATE sanctions SET expires_at = now() - interval '1 second' WHERE id = $1`, [s.id]);
    const token = expectOk(await t.gql(signIn, { i: { login: member.handle, password } }, { ip: '198.51.100.9' })).signIn.token;
    expect(expectOk(await t.gql(ME, {}, { token })).me.id).toBe(member.id);
  });

  it('bans with e-mail and IP bans that stop new sign-ups until lifted', async () => {
    const member = await makeUser(t);
    await t.sql(`UPDATE sessions SET ip = '203.0.113.5' WHERE user_id = $1`, [member.id]);
    const s = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'BAN', reason: 'Spam ring', banEmail: true, banIp: true } }, { token: admin.token })).sanctionUser;
    expect(s.expiresAt).toBeNull();
    const signUp = `mutation($i: SignUpInput!) { signUp(input: $i) { token } }`;
    expectError(await t.gql(signUp, { i: { email: member.email.toUpperCase(), handle: 'comeback1', password: 'another long password' } }, { ip: '192.0.2.200' }), 'FORBIDDEN');
    expectError(await t.gql(signUp, { i: { email: 'fresh@example.com', handle: 'comeback2', password: 'another long password' } }, { ip: '203.0.113.5' }), 'FORBIDDEN');
    expectOk(await t.gql(LIFT, { id: s.id }, { token: admin.token }));
    expectOk(await t.gql(signUp, { i: { email: 'fresh@example.com', handle: 'comeback2', password: 'another long password' } }, { ip: '203.0.113.5' }));
  });

  it('reads the banned address once: the read that refuses a banEmail of nothing is the one the ban writes', async () => {
    const member = await makeUser(t);
    await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [member.id, `Mixed.Case.${member.handle}@Example.com`]);
    await t.sql(`UPDATE sessions SET ip = '203.0.113.61' WHERE user_id = $1`, [member.id]);
    let res: GqlResult | undefined;
    const { statements } = await t.countStatements(async () => (res = await t.gql(SANCTION, { input: { userId: member.id, kind: 'BAN', reason: 'Spam ring', banEmail: true, banIp: true } }, { token: admin.token })));
    const s = expectOk(res!).sanctionUser;
    // The member's address, read from their account: by the refusal alone (the ban's INSERT read it a second time).
    const addressReads = statements.filter((q) => /\bemail\b/.test(q) && /\bFROM users\b/.test(q) && /\bWHERE id = \$1\b/.test(q));
    expect(addressReads).toHaveLength(1);
    const bans = statements.filter((q) => /INSERT INTO banned_emails/.test(q));
    expect(bans).toHaveLength(1);
    expect(bans[0]).not.toMatch(/\bFROM users\b/);
    // The networks likewise: the sessions read once, by the refusal, whose answer the ban writes.
    expect(statements.filter((q) => /\bFROM sessions\b/.test(q) && /\bip\b/.test(q))).toHaveLength(1);
    expect(await t.sql(`SELECT email_lower FROM banned_emails WHERE sanction_id = $1`, [s.id])).toEqual([{ email_lower: `mixed.case.${member.handle.toLowerCase()}@example.com` }]);
    expect(await t.sql(`SELECT ip FROM banned_ips WHERE sanction_id = $1`, [s.id])).toEqual([{ ip: '203.0.113.61' }]);
  });

  it('refuses banIp when no session of the account has an address, writing nothing: the ban bans no network, and says so', async () => {
    const member = await makeUser(t);
    await t.sql(`UPDATE sessions SET ip = NULL WHERE user_id = $1`, [member.id]);
    const snapshots = await TableSnapshots.of(t, { migrations: 'bookkeeping' });
    const before = await snapshots.take();
    expect(expectError(await t.gql(SANCTION, { input: { userId: member.id, kind: 'BAN', reason: 'Spam ring', banEmail: true, banIp: true } }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([
      { field: 'banIp', message: 'bans no address: no session of this account has one (none, or all pruned); ban without banIp' },
    ]);
    expect(TableSnapshots.changed(before, await snapshots.take())).toEqual([]);
    // Without it, the ban is given, its address banned.
    expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'BAN', reason: 'Spam ring', banEmail: true } }, { token: admin.token }));
    expect(await t.sql(`SELECT count(*)::int AS n FROM banned_emails b JOIN sanctions s ON s.id = b.sanction_id WHERE s.user_id = $1`, [member.id])).toEqual([{ n: 1 }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM banned_ips b JOIN sanctions s ON s.id = b.sanction_id WHERE s.user_id = $1`, [member.id])).toEqual([{ n: 0 }]);
  });

  it('refuses a banEmail and a banIp that would ban nothing before writing anything: no sanction inserted, no session revoked, no address banned and rolled back', async () => {
    const member = await makeUser(t);
    // An account with no address (a placeholder's, or one a deletion erased) and no session with one.
    await t.sql(`UPDATE users SET email = NULL, email_verified_at = NULL WHERE id = $1`, [member.id]);
    await t.sql(`UPDATE sessions SET ip = NULL WHERE user_id = $1`, [member.id]);
    let res: GqlResult | undefined;
    const cost = await t.countStatements(async () => (res = await t.gql(SANCTION, { input: { userId: member.id, kind: 'BAN', reason: 'Spam ring', banEmail: true, banIp: true } }, { token: admin.token })));
    expect(expectError(res!, 'BAD_USER_INPUT').extensions.fields!.map((f) => f.field)).toEqual(['banEmail', 'banIp']);
    // The refusal's reads are the transaction's last statements: nothing was written before them, to roll back.
    const begun = cost.statements.findIndex((q) => /^(BEGIN|START TRANSACTION)\b/i.test(q.trim()));
    expect(begun).toBeGreaterThanOrEqual(0);
    const inTransaction = cost.statements.slice(begun);
    // A write: a statement that is one, or a data-modifying WITH (not a row lock's FOR UPDATE).
    expect(inTransaction.filter((q) => /(^|\(\s*)(INSERT|UPDATE|DELETE)\b/i.test(q.trim()))).toEqual([]);
    expect(inTransaction.filter((q) => /banned_emails|banned_ips/.test(q))).toEqual([]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [member.id])).toEqual([{ n: 1 }]);
  });

  it('bans the /64 of an IPv6 address the user signed in from, not only the address', async () => {
    const member = await makeUser(t);
    await t.sql(`UPDATE sessions SET ip = '2001:db8:5:6::1' WHERE user_id = $1`, [member.id]);
    expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'BAN', reason: 'Spam ring', banIp: true } }, { token: admin.token }));
    const signUp = (handle: string, ip: string) =>
      t.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { token } }`, { i: { email: `${handle}@example.com`, handle, password: 'another long password' } }, { ip });
    expectError(await signUp('v6comeback1', '2001:db8:5:6:abcd::9'), 'FORBIDDEN');
    expectError(await signUp('v6comeback2', '2001:db8:5:6::1'), 'FORBIDDEN');
    expectOk(await signUp('v6comeback3', '2001:db8:5:7::1'));
    expect(await t.sql(`SELECT ip FROM banned_ips b JOIN sanctions s ON s.id = b.sanction_id WHERE s.user_id = $1`, [member.id])).toEqual([{ ip: '2001:db8:5:6::/64' }]);
  });

  describe('address bans stacked on one address', () => {
    const BAN = { kind: 'BAN', reason: 'Spam ring' };
    /** Whether a sign-up with `email` from `ip` is refused as banned (FORBIDDEN), or let in. */
    const signUpRefused = async (email: string, ip: string): Promise<boolean> => {
      const handle = `stk${Math.random().toString(36).slice(2, 10)}`;
      const res = await t.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { token } }`, { i: { email, handle, password: 'another long password' } }, { ip });
      if (!res.errors) return false;
      expectError(res, 'FORBIDDEN');
      return true;
    };
    const ban = async (userId: string, input: Record<string, unknown>): Promise<string> =>
      expectOk(await t.gql(SANCTION, { input: { userId, ...BAN, ...input } }, { token: admin.token })).sanctionUser.id;
    /** The banned member's address, erased from their account (as its deletion erases it), so only a ban keeps it from a new one. */
    const erase = (userId: string) => t.sql(`UPDATE users SET email = NULL WHERE id = $1`, [userId]);
    const lift = async (id: string) => expectOk(await t.gql(LIFT, { id }, { token: admin.token }));

    it('keeps an address banned while a second ban of it stands, and frees it with the last one lifted', async () => {
      const member = await makeUser(t);
      const first = await ban(member.id, { banEmail: true });
      const second = await ban(member.id, { banEmail: true });
      await erase(member.id);
      expect(await signUpRefused(member.email, '192.0.2.41')).toBe(true);
      await lift(first);
      expect(await signUpRefused(member.email.toUpperCase(), '192.0.2.42')).toBe(true);
      await lift(second);
      expect(await signUpRefused(member.email, '192.0.2.43')).toBe(false);
    });

    it('keeps a network banned while another account’s ban of it stands, and frees it with the last one lifted', async () => {
      const [one, other] = [await makeUser(t), await makeUser(t)];
      await t.sql(`UPDATE sessions SET ip = '198.51.100.77' WHERE user_id = ANY($1::uuid[])`, [[one.id, other.id]]);
      const first = await ban(one.id, { banIp: true });
      const second = await ban(other.id, { banIp: true });
      await lift(first);
      expect(await signUpRefused('stacked.ip1@example.com', '198.51.100.77')).toBe(true);
      await lift(second);
      expect(await signUpRefused('stacked.ip2@example.com', '198.51.100.77')).toBe(false);
    });

    it('frees an address when the last ban of it has run out, each ban’s rows going with its expiry', async () => {
      const member = await makeUser(t);
      await t.sql(`UPDATE sessions SET ip = '198.51.100.78' WHERE user_id = $1`, [member.id]);
      const first = await ban(member.id, { banEmail: true, banIp: true });
      const second = await ban(member.id, { banEmail: true, banIp: true });
      await erase(member.id);
      // Bans are permanent through the API; a ban with an end (as an older release or a hand in the
      // database could leave one) runs out as any sanction does.
      const runOut = async (id: string) => {
        await t.sql(`UPDATE sanctions SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
      };
      await runOut(first);
      expect(await signUpRefused(member.email, '192.0.2.44')).toBe(true);
      expect(await signUpRefused('stacked.ip3@example.com', '198.51.100.78')).toBe(true);
      await runOut(second);
      // Free as soon as it has run out, before the job has seen it.
      expect(await signUpRefused(member.email, '192.0.2.45')).toBe(false);
      expect(await signUpRefused('stacked.ip4@example.com', '198.51.100.78')).toBe(false);
      expect(await t.get(JobScheduler).runNow('handle-expired-sanctions')).toBe(true);
      const rows = (table: string) => t.sql(`SELECT count(*)::int AS n FROM ${table} WHERE sanction_id = ANY($1::uuid[])`, [[first, second]]);
      expect(await rows('banned_emails')).toEqual([{ n: 0 }]);
      expect(await rows('banned_ips')).toEqual([{ n: 0 }]);
    });

    describe('e-mail change and invitations, which ask what sign-up asks', () => {
      const PASSWORD = 'the password we have';
      const CHANGE = `mutation($input: ChangeEmailInput!) { changeEmail(input: $input) { id pendingEmail } }`;
      const CONFIRM = `mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`;
      const INVITE = `mutation($input: CreateInviteInput!) { createInvite(input: $input) { id link } }`;
      const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`;
      let n = 0;
      /** Every table but the rate limiter's: a sign-up's or an e-mail change's attempt counts, refused or not, by design. */
      const snapshots = () => TableSnapshots.of(t, { migrations: 'bookkeeping', rate_events: 'sign-up and e-mail change attempts count, refused or not' });
      async function refusedWritingNothing(attempt: () => Promise<GqlResult>, code: string): Promise<GqlResult> {
        const tables = await snapshots();
        const before = await tables.take();
        const res = await attempt();
        expectError(res, code);
        expect(TableSnapshots.changed(before, await tables.take())).toEqual([]);
        return res;
      }
      /**
       * A member banned with banEmail `bans` times, whose address (fresh, taken over after an admin
       * invited it, so that invitation predates the bans) is then erased from the account: only the
       * bans keep it from anyone.
       */
      async function bannedAddress(bans: number): Promise<{ address: string; inviteToken: string; bans: string[] }> {
        const member = await makeUser(t);
        const address = `stacked.change${++n}.${Date.now().toString(36)}@example.com`;
        const invited = expectOk(await t.gql(INVITE, { input: { email: address } }, { token: admin.token })).createInvite;
        await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [member.id, address]);
        const ids: string[] = [];
        for (let i = 0; i < bans; i++) ids.push(await ban(member.id, { banEmail: true }));
        await erase(member.id);
        return { address, inviteToken: new URL(invited.link).searchParams.get('token')!, bans: ids };
      }
      const mover = async () => makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
      const change = (u: TestUser, address: string) => t.gql(CHANGE, { input: { newEmail: address, currentPassword: PASSWORD } }, { token: u.token, ip: freshIp() });
      const invite = (address: string) => t.gql(INVITE, { input: { email: address } }, { token: admin.token });
      const accept = (address: string, inviteToken: string) =>
        t.gql(SIGN_UP, { input: { email: address, handle: `stkinv${++n}${Date.now().toString(36).slice(-4)}`, password: 'another long password', inviteToken } }, { ip: freshIp() });

      /** The address refused to each, as API.md has it, with nothing written. */
      async function refusedEverywhere(address: string, inviteToken: string): Promise<void> {
        const u = await mover();
        const changed = await refusedWritingNothing(() => change(u, address), 'BAD_USER_INPUT');
        expect(changed.errors![0].extensions!.fields).toEqual([{ field: 'newEmail', message: 'is not accepted here' }]);
        const invited = await refusedWritingNothing(() => invite(address), 'BAD_USER_INPUT');
        expect(invited.errors![0].extensions!.fields).toEqual([{ field: 'email', message: 'cannot be invited' }]);
        // The invitation made before the ban is not a way round it: sign-up's own refusal.
        await refusedWritingNothing(() => accept(address, inviteToken), 'FORBIDDEN');
      }
      /** The address taken by each: the change waits for its link, the invitation is made, the earlier one accepted. */
      async function acceptedEverywhere(address: string, inviteToken: string): Promise<void> {
        const u = await mover();
        expect(expectOk(await change(u, address)).changeEmail).toEqual({ id: u.id, pendingEmail: address });
        expect(expectOk(await invite(address)).createInvite.id).toBeTruthy();
        const joined = expectOk(await accept(address, inviteToken)).signUp.user.id;
        expect(await t.sql(`SELECT email FROM users WHERE id = $1`, [joined])).toEqual([{ email: address }]);
      }

      it('refuses them while the ban stands, and lets them through once it is lifted', async () => {
        const { address, inviteToken, bans } = await bannedAddress(1);
        await refusedEverywhere(address, inviteToken);
        await lift(bans[0]);
        await acceptedEverywhere(address, inviteToken);
      });

      it('lets them through once the ban has run out, before the job has taken its rows', async () => {
        const { address, inviteToken, bans } = await bannedAddress(1);
        await t.sql(`UPDATE sanctions SET expires_at = now() - interval '1 second' WHERE id = $1`, [bans[0]]);
        expect(await t.sql(`SELECT count(*)::int AS n FROM banned_emails WHERE sanction_id = $1`, [bans[0]])).toEqual([{ n: 1 }]);
        await acceptedEverywhere(address, inviteToken);
      });

      it('refuses them while one of two bans stands, the other lifted, and lets them through with the last lifted', async () => {
        const { address, inviteToken, bans } = await bannedAddress(2);
        await lift(bans[0]);
        await refusedEverywhere(address, inviteToken);
        await lift(bans[1]);
        await acceptedEverywhere(address, inviteToken);
      });

      it('refuses to confirm a change asked for before a ban of its address came, writing nothing, and confirms it once the ban is lifted', async () => {
        const u = await mover();
        const address = `stacked.confirm${++n}.${Date.now().toString(36)}@example.com`;
        expect(expectOk(await change(u, address)).changeEmail).toEqual({ id: u.id, pendingEmail: address });
        const link = await t.get(EmailChangeService).token({ id: u.id, pendingEmail: address });
        // Another account takes the address and is banned with it, then loses it (as its deletion erases it).
        const other = await makeUser(t);
        await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [other.id, address]);
        const banned = await ban(other.id, { banEmail: true });
        await erase(other.id);
        const refused = await refusedWritingNothing(() => t.gql(CONFIRM, { input: { token: link } }), 'BAD_USER_INPUT');
        expect(refused.errors![0].extensions!.fields).toEqual([{ field: 'token', message: 'is not accepted here' }]);
        expect(await t.sql(`SELECT email, pending_email FROM users WHERE id = $1`, [u.id])).toEqual([{ email: u.email, pending_email: address }]);
        await lift(banned);
        expectOk(await t.gql(CONFIRM, { input: { token: link } }));
        expect(await t.sql(`SELECT email, pending_email FROM users WHERE id = $1`, [u.id])).toEqual([{ email: address, pending_email: null }]);
      });
    });
  });

  it('bars a user from one space with a space suspension', async () => {
    const member = await makeUser(t);
    expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SUSPEND', reason: 'Cool off', durationHours: 2, spaceId: spaceA.id } }, { token: modA.token }));
    expectNotFound(await t.gql(`query($s: String!) { space(slug: $s) { id } }`, { s: spaceA.slug }, { token: member.token }), 'space');
    expect(expectOk(await t.gql(`query($s: String!) { space(slug: $s) { id } }`, { s: spaceB.slug }, { token: member.token })).space).not.toBeNull();
    expect(expectOk(await t.gql(ME, {}, { token: member.token })).me.id).toBe(member.id);
  });

  it('delivers warnings to acknowledge', async () => {
    const member = await makeUser(t);
    const other = await makeUser(t);
    const s = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'WARNING', reason: 'Mind the tone', spaceId: spaceA.id } }, { token: modA.token })).sanctionUser;
    const mine = expectOk(await t.gql(`{ mySanctions { totalCount edges { node { id kind reason acknowledgedAt } } } }`, {}, { token: member.token })).mySanctions;
    expect(mine.edges.map((e: any) => e.node)).toEqual([{ id: s.id, kind: 'WARNING', reason: 'Mind the tone', acknowledgedAt: null }]);
    expect(mine.totalCount).toBe(1);
    const ACK = `mutation($id: ID!) { acknowledgeWarning(id: $id) { acknowledgedAt } }`;
    // Until it is acknowledged, no new topic or reply where it applies (elsewhere, as before).
    const CREATE = `mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`;
    const post = (boardId: string) => t.gql(CREATE, { input: { boardId, title: 'After the warning', body: `text ${Math.random()}` } }, { token: member.token });
    const refused = expectError(await post(boardA), 'FORBIDDEN');
    expect(refused.extensions.sanction).toEqual({ id: s.id, kind: 'WARNING', reason: 'Mind the tone' });
    expectOk(await post(boardB));
    expectError(await t.gql(ACK, { id: s.id }, { token: other.token }), 'NOT_FOUND');
    expect(expectOk(await t.gql(ACK, { id: s.id }, { token: member.token })).acknowledgeWarning.acknowledgedAt).not.toBeNull();
    await t.sql(`DELETE FROM rate_events WHERE key = $1`, [member.id]);
    expectOk(await post(boardA));
    const USER_SANCTIONS = `query($u: ID!, $after: String) { userSanctions(userId: $u, first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id reason } } } }`;
    expectError(await t.gql(USER_SANCTIONS, { u: member.id }, { token: other.token }), 'FORBIDDEN');
    const second = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'WARNING', reason: 'Mind the tone, again', spaceId: spaceA.id } }, { token: modA.token })).sanctionUser;
    // Newest first, a page at a time.
    const page1 = expectOk(await t.gql(USER_SANCTIONS, { u: member.id }, { token: modA.token })).userSanctions;
    expect(page1).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, edges: [{ node: { id: second.id } }] });
    const page2 = expectOk(await t.gql(USER_SANCTIONS, { u: member.id, after: page1.pageInfo.endCursor }, { token: modA.token })).userSanctions;
    expect(page2).toMatchObject({ pageInfo: { hasNextPage: false }, edges: [{ node: { id: s.id } }] });
    expectError(await t.gql(USER_SANCTIONS, { u: member.id, after: 'bm90IGEgY3Vyc29y' }, { token: modA.token }), 'BAD_USER_INPUT');
  });

  it('records each sanction’s expiry in the log once, as an automatic action', async () => {
    const member = await makeUser(t);
    const s = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SILENCE', reason: 'Cool down', durationHours: 1, spaceId: spaceA.id } }, { token: modA.token })).sanctionUser;
    const jobs = t.get(JobScheduler);
    const expiries = () => t.sql(`SELECT actor_id, space_id, before FROM moderation_log WHERE action = 'sanction.expire' AND target_id = $1`, [member.id]);
    expect(await jobs.runNow('handle-expired-sanctions')).toBe(true);
    expect(await expiries()).toEqual([]); // still in force
    await t.sql(`UPDATE sanctions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [s.id]);
    await jobs.runNow('handle-expired-sanctions');
    await jobs.runNow('handle-expired-sanctions');
    expect(await expiries()).toEqual([{ actor_id: null, space_id: spaceA.id, before: { sanctionId: s.id, kind: 'SILENCE', expiresAt: expect.any(String) } }]);
  });

  it('pages a moderator of several spaces through their entries only, newest first, across spaces', async () => {
    const mod = await makeUser(t);
    const grant = [{ userId: mod.id, level: 'MODERATE' as const }];
    const [one, two, elsewhere] = [await makeSpace(t, 'PUBLIC', grant), await makeSpace(t, 'PUBLIC', grant), await makeSpace(t, 'PUBLIC')];
    const audit = t.get(AuditLog);
    const order = [one, elsewhere, two, two, elsewhere, one, two];
    for (const [i, s] of order.entries()) {
      await t.get(UnitOfWork).run((tx) => audit.append(tx, { actorId: mod.id, action: 'test.entry', targetType: 'user', targetId: mod.id, spaceId: s.id, reason: `entry ${i}` }));
    }
    const q = `query($a: String) { moderationLog(first: 2, after: $a) { totalCount pageInfo { hasNextPage endCursor } edges { node { reason } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page: any = expectOk(await t.gql(q, { a: after }, { token: mod.token })).moderationLog;
      expect(page.totalCount).toBe(5);
      seen.push(...page.edges.map((e: any) => e.node.reason));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['entry 6', 'entry 5', 'entry 3', 'entry 2', 'entry 0']);
  });

  it('logs every sanction in an append-only, hash-chained log that moderators can read', async () => {
    const q = `query($s: ID) { moderationLog(spaceId: $s, first: 100) { totalCount edges { node { id action targetType reason actor { id } space { id } hash } } } }`;
    const forA = expectOk(await t.gql(q, { s: spaceA.id }, { token: modA.token })).moderationLog;
    expect(forA.totalCount).toBeGreaterThan(3);
    // Ids are UUIDs, as everywhere in the API.
    expect(forA.edges.every((e: any) => isUuid(e.node.id))).toBe(true);
    expect(new Set(forA.edges.map((e: any) => e.node.id)).size).toBe(forA.edges.length);
    expect(forA.edges.every((e: any) => e.node.space?.id === spaceA.id)).toBe(true);
    expect(forA.edges.map((e: any) => e.node.action)).toEqual(expect.arrayContaining(['sanction.create', 'sanction.lift']));
    expectError(await t.gql(q, { s: spaceB.id }, { token: modA.token }), 'FORBIDDEN');
    expectError(await t.gql(q, {}, { token: (await makeUser(t)).token }), 'FORBIDDEN');
    const all = expectOk(await t.gql(q, {}, { token: globalMod.token })).moderationLog;
    expect(all.totalCount).toBeGreaterThan(forA.totalCount);

    const audit = t.get(AuditLog);
    expect((await audit.verify()).ok).toBe(true);
    // Entries appended while verify walks the log (a busy community) are no sign of tampering.
    // (verify's own statements come without a query runner; a transaction's carry theirs.)
    const ds = (audit as unknown as { ds: { query: (sql: string, params?: unknown[], runner?: unknown) => Promise<unknown> } }).ds;
    const query = ds.query.bind(ds);
    const appendOne = () => t.get(UnitOfWork).run((tx) => audit.append(tx, { actorId: null, action: 'test.concurrent', targetType: 'user', targetId: globalMod.id, spaceId: null }));
    const hooked = new Set<string>();
    const spy = jest.spyOn(ds, 'query').mockImplementation(async (sql: string, params?: unknown[], runner?: unknown) => {
      for (const marker of ['FROM moderation_log_head', 'FROM moderation_log WHERE id > $1 AND id <= $2']) {
        if (runner === undefined && sql.includes(marker) && !hooked.has(marker)) {
          hooked.add(marker);
          await appendOne();
        }
      }
      return query(sql, params, runner);
    });
    try {
      expect((await audit.verify()).ok).toBe(true);
      expect(hooked.size).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect((await audit.verify()).ok).toBe(true);
    await expect(t.sql(`UPDATE moderation_log SET reason = 'rewritten'`)).rejects.toThrow(/append-only/);
    await expect(t.sql(`DELETE FROM moderation_log`)).rejects.toThrow(/append-only/);

    // Someone with the power to bypass the trigger still cannot hide it.
    const ids = (await t.sql(`SELECT id FROM moderation_log ORDER BY id`)).map((r) => String(r.id));
    await t.sql(`ALTER TABLE moderation_log DISABLE TRIGGER moderation_log_no_change`);
    // An outcome the entry's own fields do not say: the hash does not cover it, but it covers those fields.
    const [{ id: said }] = await t.sql(`SELECT id::text FROM moderation_log WHERE id > $1 AND moderation_log_outcome_said(action, before, after) IS NULL ORDER BY id LIMIT 1`, [ids[0]]);
    await t.sql(`UPDATE moderation_log SET outcome = 'HIDDEN' WHERE id = $1`, [said]);
    expect(await audit.verify()).toEqual({ checked: ids.length, problems: [{ id: said, what: 'outcome-mismatch', outcome: { stored: 'HIDDEN', said: null } }], problemCount: 1 });
    await t.sql(`UPDATE moderation_log SET outcome = NULL WHERE id = $1`, [said]);
    expect((await audit.verify()).ok).toBe(true);
    const last = ids[ids.length - 1];
    // A hash changed is its own entry's problem alone: the entry after it follows, and the head ends at, the hash its fields
    // make, so neither is a broken chain nor a cut end.
    const hashes = await t.sql(`SELECT id::text, hash FROM moderation_log WHERE id = ANY ($1::bigint[])`, [[ids[1], last]]);
    await t.sql(`UPDATE moderation_log SET hash = repeat('0', 64) WHERE id = ANY ($1::bigint[])`, [[ids[1], last]]);
    expect(await audit.verify()).toEqual({ checked: ids.length, problems: [{ id: ids[1], what: 'altered' }, { id: last, what: 'altered' }], problemCount: 2 });
    // Read an entry at a time, the walk keeps what it knows of the entry before across its reads.
    expect(await audit.verify(1)).toEqual(await audit.verify());
    for (const { id, hash } of hashes) await t.sql(`UPDATE moderation_log SET hash = $2 WHERE id = $1`, [id, hash]);
    expect((await audit.verify()).ok).toBe(true);
    // Cutting entries off the end leaves an intact chain; the head still knows where it ended.
    await t.sql(`DELETE FROM moderation_log WHERE id = $1`, [last]);
    expect(await audit.verify()).toEqual({ checked: ids.length - 1, problems: [{ id: last, what: 'end-mismatch' }], problemCount: 1 });
    await expect(t.sql(`UPDATE moderation_log_head SET entries = entries - 1, last_id = last_id - 1`)).rejects.toThrow(/only moves forward/);
    await t.sql(`UPDATE moderation_log SET reason = 'nothing happened' WHERE id = $1`, [ids[2]]);
    expect(await audit.verify()).toEqual({ checked: ids.length - 1, problems: [{ id: ids[2], what: 'altered' }, { id: last, what: 'end-mismatch' }], problemCount: 2 });
    await t.sql(`DELETE FROM moderation_log WHERE id = $1`, [ids[2]]);
    expect(await audit.verify()).toEqual({ checked: ids.length - 2, problems: [{ id: ids[3], what: 'broken-chain' }, { id: last, what: 'end-mismatch' }], problemCount: 2 });
    await t.sql(`ALTER TABLE moderation_log ENABLE TRIGGER moderation_log_no_change`);
    // The walk goes on past what it finds: an entry appended now follows the one cut off the end, so it is not chained to
    // the entry before it either, and the head, which ends at it again, counts two entries more than the log holds.
    await t.get(UnitOfWork).run((tx) => audit.append(tx, { actorId: null, action: 'test.after', targetType: 'user', targetId: globalMod.id, spaceId: null }));
    const [head] = await t.sql(`SELECT last_id::text AS id, entries::int FROM moderation_log_head`);
    const everything = [
      { id: ids[3], what: 'broken-chain' },
      { id: head.id, what: 'broken-chain' },
      { id: head.id, what: 'count-mismatch', entries: { head: head.entries, found: head.entries - 2 } },
    ];
    expect(await audit.verify()).toEqual({ checked: ids.length - 1, problems: everything, problemCount: 3 });
    expect(await audit.verify(1)).toEqual(await audit.verify());
    // Listed up to a bound, counted past it.
    expect(await audit.verify(1000, 2)).toEqual({ checked: ids.length - 1, problems: everything.slice(0, 2), problemCount: 3 });
    // Whether the log is intact is read from the count: with none listed, it is not.
    expect(await audit.verify(1000, 0)).toMatchObject({ ok: false, problems: [], problemCount: 3 });
  });

  it('keeps a space’s log from a global moderator silenced there, in the log of everything within reach too', async () => {
    const gm = await makeUser(t, { role: 'MODERATOR' });
    const member = await makeUser(t);
    expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'WARNING', reason: 'A note only space A reads', spaceId: spaceA.id } }, { token: modA.token }));
    expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'WARNING', reason: 'A note space B reads', spaceId: spaceB.id } }, { token: admin.token }));
    const q = `query($s: ID) { moderationLog(spaceId: $s, first: 100) { totalCount edges { node { reason space { id } } } } }`;
    expect(expectOk(await t.gql(q, {}, { token: gm.token })).moderationLog.edges.map((e: any) => e.node.reason)).toContain('A note only space A reads');
    expectOk(await t.gql(SANCTION, { input: { userId: gm.id, kind: 'SILENCE', reason: 'Cool off in A', durationHours: 24, spaceId: spaceA.id } }, { token: admin.token }));
    // Silenced in A, they read A as a member does: not its log, asked for by its id or with everything else.
    expectError(await t.gql(q, { s: spaceA.id }, { token: gm.token }), 'FORBIDDEN');
    const all = expectOk(await t.gql(q, {}, { token: gm.token })).moderationLog;
    const reasons = all.edges.map((e: any) => e.node.reason);
    expect(reasons).toContain('A note space B reads');
    expect(reasons).not.toContain('A note only space A reads');
    expect(all.edges.filter((e: any) => e.node.space?.id === spaceA.id)).toEqual([]);
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE space_id IS DISTINCT FROM $1`, [spaceA.id]);
    expect(all.totalCount).toBe(n);
  });

  it('logs moderators’ forum actions on others’ content', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, boardA, { body: 'original words' });
    expectOk(await t.gql(`mutation($input: TopicStatusInput!) { setTopicStatus(input: $input) { id } }`, { input: { topicId: topic.id, locked: true } }, { token: modA.token }));
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: topic.firstPostId, body: 'cleaned words', reason: 'personal data' } }, { token: modA.token }));
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: modA.token }));
    expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: topic.firstPostId }, { token: modA.token }));
    const log = await t.sql(`SELECT action, actor_id, before, after FROM moderation_log WHERE target_id = ANY($1::uuid[]) ORDER BY id`, [[topic.id, topic.firstPostId]]);
    expect(log.map((l) => l.action)).toEqual(['topic.status', 'post.edit', 'post.delete', 'post.restore']);
    expect(log.every((l) => l.actor_id === modA.id)).toBe(true);
    expect(log[0].after).toEqual({ pinned: false, closed: false, locked: true });
    expect(log[1].before).toEqual({ bodySource: 'original words', title: 'A topic title', tags: [] });
    // An author deleting their own post is not a moderator action.
    const own = await createTopic(t, author.token, boardA);
    await t.sql(`UPDATE topics SET locked = false WHERE id = $1`, [own.id]);
    expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: own.firstPostId }, { token: author.token }));
    expect(await t.sql(`SELECT 1 FROM moderation_log WHERE target_id = $1`, [own.firstPostId])).toEqual([]);
  });
  it('writes what a review decision did to its post in its log entry’s outcome, the application’s own word, and none on other entries', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, boardA);
    const RESOLVE = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { status } }`;
    const decided = async (decision: string) => {
      const p = await reply(t, author.token, topic.id, `reported, then ${decision}`);
      expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: p.id, reason: 'ABUSE' } }, { token: (await makeUser(t, { trustLevel: 1 })).token }));
      const [item] = await t.sql(`SELECT id FROM review_items WHERE kind = 'REPORTS' AND target_id = $1`, [p.id]);
      expectOk(await t.gql(RESOLVE, { input: { id: item.id, decision } }, { token: modA.token }));
      return p.id;
    };
    const hidden = await decided('APPROVE');
    const ignored = await decided('IGNORE');
    const hide = await reply(t, author.token, topic.id, 'hidden by hand');
    expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { state } }`, { input: { postId: hide.id, action: 'HIDE' } }, { token: modA.token }));
    const entries = await t.sql(`SELECT target_id, action, outcome, after->>'outcome' AS said FROM moderation_log WHERE target_id = ANY($1::uuid[]) ORDER BY id`, [[hidden, ignored, hide.id]]);
    expect(entries).toEqual([
      { target_id: hidden, action: 'review.approve', outcome: 'HIDDEN', said: 'HIDDEN' },
      { target_id: ignored, action: 'review.ignore', outcome: 'NONE', said: 'NONE' },
      { target_id: hide.id, action: 'post.hide', outcome: null, said: null },
    ]);
  });

  it('refuses reasons and messages of invisible characters, and writes nothing', async () => {
    const member = await makeUser(t);
    const blank = '\u200b\u200b\u200b\u202e';
    // Each refused field once: `blank` ends in a direction override, which plain-text fields refuse as well.
    const fieldOf = (res: any) => [...new Set(expectError(res, 'BAD_USER_INPUT').extensions.fields!.map((f: any) => f.field))];
    const counts = `SELECT (SELECT count(*) FROM sanctions)::int AS s, (SELECT count(*) FROM watched_words)::int AS w, (SELECT count(*) FROM moderation_log)::int AS l,
                           (SELECT count(*) FROM reports)::int AS r, (SELECT count(*) FROM review_item_events)::int AS e`;
    const topic = await createTopic(t, (await makeUser(t)).token, boardA);
    // A report of OTHER needs a note that says something; a decision's reasons are the author's to read.
    expect(fieldOf(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'POST', targetId: topic.firstPostId, reason: 'OTHER', note: blank } }, { token: member.token }))).toEqual(['note']);
    expectOk(await t.gql(`mutation($input: ReportInput!) { report(input: $input) { id } }`, { input: { targetType: 'TOPIC', targetId: topic.id, reason: 'SPAM' } }, { token: member.token }));
    const [item] = await t.sql(`SELECT id FROM review_items WHERE target_id = $1`, [topic.id]);
    const before = await t.sql(counts);
    const resolve = `mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id } }`;
    expect(fieldOf(await t.gql(resolve, { input: { id: item.id, decision: 'APPROVE', action: 'HIDE', reason: blank } }, { token: modA.token }))).toEqual(['reason']);
    expect(fieldOf(await t.gql(resolve, { input: { id: item.id, decision: 'APPROVE', action: 'HIDE', reason: 'Off topic', sanction: { kind: 'WARNING', reason: blank } } }, { token: modA.token }))).toEqual(['sanction.reason']);
    expect(fieldOf(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'WARNING', reason: blank } }, { token: globalMod.token }))).toEqual(['reason']);
    // Control characters (an escape sequence, a bell) in the reasons a user and the log read are refused too; line breaks are not.
    const escaped = 'Spam \u001b[31mlinks\u0007';
    expect(fieldOf(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'WARNING', reason: escaped } }, { token: globalMod.token }))).toEqual(['reason']);
    expect(fieldOf(await t.gql(resolve, { input: { id: item.id, decision: 'APPROVE', action: 'HIDE', reason: escaped } }, { token: modA.token }))).toEqual(['reason']);
    expect(fieldOf(await t.gql(resolve, { input: { id: item.id, decision: 'APPROVE', action: 'HIDE', reason: 'Off topic', sanction: { kind: 'WARNING', reason: escaped } } }, { token: modA.token }))).toEqual(['sanction.reason']);
    expect(fieldOf(await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, { input: { pattern: 'spam', kind: 'WORD', action: 'BLOCK', publicReason: blank } }, { token: admin.token }))).toEqual(['publicReason']);
    expect(fieldOf(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: '00000000-0000-4000-8000-000000000000', message: `${blank}${blank}${blank}` } }, { token: member.token }))).toEqual(['message']);
    expect(fieldOf(await t.gql(`mutation($input: ArticleChangesInput!) { requestArticleChanges(input: $input) { id } }`, { input: { topicId: '00000000-0000-4000-8000-000000000000', reason: blank } }, { token: admin.token }))).toEqual(['reason']);
    // The texts others read as written (an automod rule's reason, an appeal, a request for changes, a request to join, a space's description) refuse them alike.
    const unknown = '00000000-0000-4000-8000-000000000000';
    // moderatePost's reason, kept in the moderation log, alike: the post stays as it was.
    const moderate = `mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`;
    expect(fieldOf(await t.gql(moderate, { input: { postId: topic.firstPostId, action: 'HIDE', reason: escaped } }, { token: modA.token }))).toEqual(['reason']);
    expect(fieldOf(await t.gql(moderate, { input: { postId: topic.firstPostId, action: 'HIDE', reason: blank } }, { token: modA.token }))).toEqual(['reason']);
    expect(await t.sql(`SELECT state FROM posts WHERE id = $1`, [topic.firstPostId])).toEqual([{ state: 'VISIBLE' }]);
    expect(fieldOf(await t.gql(`mutation($input: WatchedWordInput!) { createWatchedWord(input: $input) { id } }`, { input: { pattern: 'spam', kind: 'WORD', action: 'BLOCK', publicReason: escaped } }, { token: admin.token }))).toEqual(['publicReason']);
    expect(fieldOf(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: { sanctionId: unknown, message: `Please lift ${escaped} this one` } }, { token: member.token }))).toEqual(['message']);
    expect(fieldOf(await t.gql(`mutation($input: ArticleChangesInput!) { requestArticleChanges(input: $input) { id } }`, { input: { topicId: unknown, reason: escaped } }, { token: admin.token }))).toEqual(['reason']);
    expect(fieldOf(await t.gql(`mutation($input: GroupRequestInput!) { requestGroupMembership(input: $input) { id } }`, { input: { groupId: unknown, message: escaped } }, { token: member.token }))).toEqual(['message']);
    const [space] = await t.sql(`SELECT id, description FROM spaces WHERE id = $1`, [spaceA.id]);
    expect(fieldOf(await t.gql(`mutation($input: CreateSpaceInput!) { createSpace(input: $input) { id } }`, { input: { slug: 'escaped-space', name: 'Escaped', visibility: 'PUBLIC', description: escaped } }, { token: admin.token }))).toEqual(['description']);
    expect(fieldOf(await t.gql(`mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`, { input: { spaceId: spaceA.id, description: escaped } }, { token: admin.token }))).toEqual(['description']);
    expect(await t.sql(`SELECT id, description FROM spaces WHERE id = $1`, [spaceA.id])).toEqual([space]);
    expect(await t.sql(`SELECT 1 FROM spaces WHERE slug = 'escaped-space'`)).toEqual([]);
    expect(await t.sql(counts)).toEqual(before);
  });

  it('counts the lower bounds of reasons and appeals as PostgreSQL counts characters', async () => {
    const member = await makeUser(t);
    // Two hearts with their variation selectors: 4 characters to char_length, enough for "3–1,000 characters".
    const sanctioned = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id reason } }`, { input: { userId: member.id, kind: 'SILENCE', durationHours: 24, reason: '\u2764\ufe0f\u2764\ufe0f' } }, { token: globalMod.token })).sanctionUser;
    expect(sanctioned.reason).toBe('\u2764\ufe0f\u2764\ufe0f');
    // Five of them: 10 characters, as "10–2,000 characters" counts.
    const appeal = await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id message } }`, { input: { sanctionId: sanctioned.id, message: '\u2764\ufe0f'.repeat(5) } }, { token: member.token });
    expect(expectOk(appeal).appealSanction.message).toBe('\u2764\ufe0f'.repeat(5));
    // One short of either bound is still refused on its field.
    expect(expectError(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'WARNING', reason: '\u{1F44D}\u{1F44D}' } }, { token: globalMod.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'reason', message: 'must be at least 3 characters' }]);
  });
});
