import * as argon2 from 'argon2';
import request from 'supertest';
import { HANDLE_MAX, HANDLE_RULE } from '../../libs/core/src/handles';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { UsersRepository } from '../../libs/identity/src/users/users.repository';
import { makeGroup, makeUser } from '../factories';
import { bootTestApp, expectError, expectNotFound, expectOk, TestApp } from '../support/test-app';
import { freshIp } from '../support/fresh-ip';
import { doneOrWaiting } from '../support/lock-waits';
import { withLockHeld } from '../support/row-locks';

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id handle displayName role email } } }`;
const SIGN_IN = `mutation($input: SignInInput!) { signIn(input: $input) { token user { id handle } } }`;
const ME = `{ me { id handle email role } }`;

describe('accounts and sessions', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const signUp = (input: Record<string, unknown>, ip = freshIp()) => t.gql(SIGN_UP, { input }, { ip });
  const userCount = async () => (await t.sql(`SELECT count(*)::int AS n FROM users`))[0].n as number;

  it('signs up, stores an argon2id hash and a hashed token, and signs the session in', async () => {
    const res = await signUp({ email: '  Alice@Example.COM ', handle: 'Alice_1', password: 'correct horse battery', displayName: 'Alice' });
    const { signUp: payload } = expectOk(res);
    expect(payload.user.handle).toBe('alice_1');
    expect(payload.user.email).toBe('Alice@example.com');
    expect(payload.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const [row] = await t.sql(`SELECT password_hash FROM users WHERE id = $1`, [payload.user.id]);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    const sessions = await t.sql(`SELECT token_hash FROM sessions WHERE user_id = $1`, [payload.user.id]);
    expect(sessions).toHaveLength(1);
    expect(Buffer.from(sessions[0].token_hash).toString('base64url')).not.toBe(payload.token);

    const me = expectOk(await t.gql(ME, {}, { token: payload.token }));
    expect(me.me).toMatchObject({ id: payload.user.id, handle: 'alice_1', email: 'Alice@example.com', role: 'MEMBER' });
  });

  it('sets an HttpOnly SameSite=Lax cookie that authenticates', async () => {
    const res = await signUp({ email: 'cookie@example.com', handle: 'cookie', password: 'long enough password' });
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const cookie = setCookie.find((c) => c.startsWith('parvis_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const me = expectOk(await t.gql(ME, {}, { cookie: cookie.split(';')[0] }));
    expect(me.me.handle).toBe('cookie');
  });

  it.each([
    [{ email: 'not-an-email', handle: 'okhandle', password: 'long enough password' }, 'email'],
    [{ email: 'a@example.com', handle: 'ab', password: 'long enough password' }, 'handle'],
    [{ email: 'a@example.com', handle: 'bad handle!', password: 'long enough password' }, 'handle'],
    [{ email: 'a@example.com', handle: 'x'.repeat(31), password: 'long enough password' }, 'handle'],
    [{ email: 'a@example.com', handle: 'okhandle', password: 'short' }, 'password'],
    [{ email: 'a@example.com', handle: 'okhandle2024', password: 'OKHANDLE2024' }, 'password'],
    [{ email: 'longpassword@example.com', handle: 'okhandle', password: 'LongPassword@example.com' }, 'password'],
    [{ email: 'a@example.com', handle: 'okhandle', password: 'long enough password', displayName: '\u200b\u200b\u202e' }, 'displayName'],
    // 62 characters as PostgreSQL counts them (emoji with U+FE0F), 31 as class-validator's Length does.
    [{ email: 'a@example.com', handle: 'okhandle', password: 'long enough password', displayName: '\u2764\ufe0f'.repeat(31) }, 'displayName'],
    // Addresses that would look like another one: invisible characters, a direction override, full-width letters.
    [{ email: 'jo\u200bhn@example.com', handle: 'okhandle', password: 'long enough password' }, 'email'],
    [{ email: 'moc.live\u202e@example.com', handle: 'okhandle', password: 'long enough password' }, 'email'],
    [{ email: '\uff4a\uff4f\uff48\uff4e@example.com', handle: 'okhandle', password: 'long enough password' }, 'email'],
  ])('refuses bad sign-up input %# and writes nothing', async (input, field) => {
    const before = await userCount();
    const err = expectError(await signUp(input), 'BAD_USER_INPUT');
    expect(err.extensions.fields!.map((f) => f.field)).toContain(field);
    expect(await userCount()).toBe(before);
  });

  it('keeps handles unique case-insensitively and e-mails unique after normalisation', async () => {
    expectOk(await signUp({ email: 'bob@example.com', handle: 'bob', password: 'long enough password' }));
    const dupHandle = expectError(await signUp({ email: 'bob2@example.com', handle: 'BOB', password: 'long enough password' }), 'BAD_USER_INPUT');
    expect(dupHandle.extensions.fields).toEqual([{ field: 'handle', message: 'is taken' }]);
    const dupEmail = expectError(await signUp({ email: ' bob@EXAMPLE.com', handle: 'bob2', password: 'long enough password' }), 'BAD_USER_INPUT');
    expect(dupEmail.extensions.fields![0].field).toBe('email');
  });

  it('finds an account by its address however its letters were typed: composed or not, in any case', async () => {
    // JavaScript and PostgreSQL lower-case some letters differently (a final Σ, a dotted İ).
    for (const [email, handle, other] of [['ΟΔΥΣΣΕΑΣ@example.com', 'odysseas', 'οδυσσεασ@example.com'], ['İLKER@example.com', 'ilker', 'ilker@example.com']]) {
      expectOk(await signUp({ email, handle, password: `${handle} password 1` }));
      for (const login of [email, other]) {
        expect(expectOk(await t.gql(SIGN_IN, { input: { login, password: `${handle} password 1` } }, { ip: freshIp() })).signIn.user.handle).toBe(handle);
      }
    }
    // é as e and a combining accent is é: one address, kept composed.
    const decomposed = 'jose\u0301@example.com';
    const id = expectOk(await signUp({ email: decomposed, handle: 'josecomposed', password: 'jose password 1' })).signUp.user.id;
    expect(await t.sql(`SELECT email FROM users WHERE id = $1`, [id])).toEqual([{ email: 'jos\u00e9@example.com' }]);
    const taken = expectError(await signUp({ email: 'jos\u00e9@example.com', handle: 'josetwice', password: 'jose password 2' }), 'BAD_USER_INPUT');
    expect(taken.extensions.fields![0].field).toBe('email');
    for (const login of [decomposed, 'JOS\u00c9@example.com']) {
      expect(expectOk(await t.gql(SIGN_IN, { input: { login, password: 'jose password 1' } }, { ip: freshIp() })).signIn.user.handle).toBe('josecomposed');
    }
  });

  it('signs in by e-mail or handle and refuses a wrong password', async () => {
    expectOk(await signUp({ email: 'carol@example.com', handle: 'carol', password: 'carol password 1' }));
    const byEmail = expectOk(await t.gql(SIGN_IN, { input: { login: 'Carol@example.com', password: 'carol password 1' } }, { ip: freshIp() }));
    expect(byEmail.signIn.user.handle).toBe('carol');
    const byHandle = expectOk(await t.gql(SIGN_IN, { input: { login: 'CAROL', password: 'carol password 1' } }, { ip: freshIp() }));
    expect(byHandle.signIn.token).not.toBe(byEmail.signIn.token);
    expectError(await t.gql(SIGN_IN, { input: { login: 'carol', password: 'wrong password' } }, { ip: freshIp() }), 'UNAUTHENTICATED');
  });

  it('rate-limits more than 5 failures per account, the same way whether the account exists or not', async () => {
    expectOk(await signUp({ email: 'dave@example.com', handle: 'dave', password: 'dave password 1' }));
    for (const login of ['dave', 'nobody-here']) {
      for (let i = 0; i < 5; i++) {
        expectError(await t.gql(SIGN_IN, { input: { login, password: 'wrong password' } }, { ip: freshIp() }), 'UNAUTHENTICATED');
      }
      // Even the right password is refused while limited: no oracle.
      const limited = expectError(await t.gql(SIGN_IN, { input: { login, password: 'dave password 1' } }, { ip: freshIp() }), 'RATE_LIMITED');
      expect(limited.extensions.retryAfterSeconds).toBeGreaterThan(800);
      expect(limited.extensions.retryAfterSeconds).toBeLessThanOrEqual(900);
      expect(limited.message).not.toMatch(/exist|unknown/i);
    }
  });

  it('counts the failures of one account together, whether it is named by handle or by e-mail', async () => {
    expectOk(await signUp({ email: 'frank@example.com', handle: 'frank', password: 'frank password 1' }));
    for (const login of ['frank', 'Frank@example.com', 'FRANK', 'frank@example.com', ' frank ']) {
      expectError(await t.gql(SIGN_IN, { input: { login, password: 'wrong password' } }, { ip: freshIp() }), 'UNAUTHENTICATED');
    }
    for (const login of ['frank', 'frank@example.com']) {
      expectError(await t.gql(SIGN_IN, { input: { login, password: 'frank password 1' } }, { ip: freshIp() }), 'RATE_LIMITED');
    }
  });

  it('gives a burst of parallel guesses no more tries than the same guesses in a row', async () => {
    expectOk(await signUp({ email: 'mallory-target@example.com', handle: 'target', password: 'target password 1' }));
    const answers = await Promise.all(
      Array.from({ length: 15 }, () => t.gql(SIGN_IN, { input: { login: 'target', password: 'a wrong guess' } }, { ip: freshIp() })),
    );
    const codes = answers.map((a) => a.errors?.[0]?.extensions.code);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(5);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(10);
    // A successful sign-in does not count against the network it came from.
    const ip = freshIp();
    for (let i = 0; i < 25; i++) expectOk(await t.gql(SIGN_IN, { input: { login: 'carol', password: 'carol password 1' } }, { ip }));
  });

  it('rate-limits more than 20 failures from one IP across accounts', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < 20; i++) {
      expectError(await t.gql(SIGN_IN, { input: { login: `someone${i}`, password: 'wrong password' } }, { ip }), 'UNAUTHENTICATED');
    }
    expectError(await t.gql(SIGN_IN, { input: { login: 'someone-else', password: 'wrong password' } }, { ip }), 'RATE_LIMITED');
    // Another IP is unaffected.
    expectError(await t.gql(SIGN_IN, { input: { login: 'someone-else', password: 'wrong password' } }, { ip: freshIp() }), 'UNAUTHENTICATED');
  });

  it('counts an IPv6 client by its /64, whichever of its addresses each guess comes from', async () => {
    for (let i = 0; i < 20; i++) {
      expectError(await t.gql(SIGN_IN, { input: { login: `v6-someone${i}`, password: 'wrong password' } }, { ip: `2001:db8:77:1::${(i + 1).toString(16)}` }), 'UNAUTHENTICATED');
    }
    expectError(await t.gql(SIGN_IN, { input: { login: 'v6-someone-else', password: 'wrong password' } }, { ip: '2001:db8:77:1:ffff:1:2:3' }), 'RATE_LIMITED');
    // The next /64 is another network.
    expectError(await t.gql(SIGN_IN, { input: { login: 'v6-someone-else', password: 'wrong password' } }, { ip: '2001:db8:77:2::1' }), 'UNAUTHENTICATED');
  });

  it('signOut revokes the session at once', async () => {
    const { signUp: s } = expectOk(await signUp({ email: 'erin@example.com', handle: 'erin', password: 'erin password 1' }));
    expect(expectOk(await t.gql(`mutation { signOut }`, {}, { token: s.token })).signOut).toBe(true);
    expect(expectOk(await t.gql(ME, {}, { token: s.token })).me).toBeNull();
  });

  it('revokeSessions: your own, or anyone’s for admins only', async () => {
    const u = await makeUser(t);
    const other = await makeUser(t);
    const admin = await makeUser(t, { role: 'ADMIN' });
    const second = await makeUser(t); // unrelated
    expectError(await t.gql(`mutation($id: ID) { revokeSessions(userId: $id) }`, { id: other.id }, { token: u.token }), 'FORBIDDEN');
    expect(expectOk(await t.gql(`mutation($id: ID) { revokeSessions(userId: $id) }`, { id: other.id }, { token: admin.token })).revokeSessions).toBe(1);
    // Somebody who does not exist is not found; what is no id is refused as such.
    expect(expectError(await t.gql(`mutation($id: ID) { revokeSessions(userId: $id) }`, { id: 'not-a-uuid' }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'userId', message: 'must be a user id' }]);
    expectError(await t.gql(`mutation($id: ID) { revokeSessions(userId: $id) }`, { id: '00000000-0000-4000-8000-000000000000' }, { token: admin.token }), 'NOT_FOUND');
    expect(expectOk(await t.gql(ME, {}, { token: other.token })).me).toBeNull();
    expect(expectOk(await t.gql(`mutation { revokeSessions }`, {}, { token: u.token })).revokeSessions).toBe(1);
    expect(expectOk(await t.gql(ME, {}, { token: u.token })).me).toBeNull();
    // The admin's action is in the moderation log; signing oneself out is not.
    const logged = await t.sql(`SELECT actor_id, target_id, after FROM moderation_log WHERE action = 'user.sessions_revoke' AND target_id = ANY($1::uuid[])`, [[other.id, u.id]]);
    expect(logged).toEqual([{ actor_id: admin.id, target_id: other.id, after: { sessions: 1 } }]);
    expect(expectOk(await t.gql(ME, {}, { token: second.token })).me.id).toBe(second.id);
    expectError(await t.gql(`mutation { revokeSessions }`), 'UNAUTHENTICATED');
  });

  it('slides the expiry of a used session and ignores expired ones', async () => {
    const u = await makeUser(t);
    await t.sql(`UPDATE sessions SET last_used_at = now() - interval '1 hour', expires_at = now() + interval '1 day' WHERE user_id = $1`, [u.id]);
    expectOk(await t.gql(ME, {}, { token: u.token }));
    const [s] = await t.sql(`SELECT expires_at > now() + interval '29 days' AS extended FROM sessions WHERE user_id = $1`, [u.id]);
    expect(s.extended).toBe(true);
    await t.sql(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [u.id]);
    expect(expectOk(await t.gql(ME, {}, { token: u.token })).me).toBeNull();
  });

  it('neither extends a session revoked while its touch waited for it nor counts a visit by it', async () => {
    const u = await makeUser(t);
    await t.sql(`UPDATE sessions SET last_used_at = now() - interval '1 hour', expires_at = now() + interval '1 day' WHERE user_id = $1`, [u.id]);
    await t.sql(`DELETE FROM user_visits WHERE user_id = $1`, [u.id]);
    // Revoked (as a password change or an account deletion does) in a transaction the request's read does not see yet.
    let seen: Promise<unknown> = Promise.resolve();
    await withLockHeld(t, `UPDATE sessions SET revoked_at = now() WHERE user_id = $1`, [u.id], async (h) => {
      seen = t.gql(ME, {}, { token: u.token });
      expect(await doneOrWaiting(t, seen, 1, h)).toBe('waiting');
    });
    // It goes on once the revocation is committed (as the viewer it read).
    await seen;
    const [s] = await t.sql(`SELECT expires_at < now() + interval '2 days' AS kept FROM sessions WHERE user_id = $1`, [u.id]);
    expect(s.kept).toBe(true);
    expect((await t.sql(`SELECT count(*)::int AS n FROM user_visits WHERE user_id = $1`, [u.id]))[0].n).toBe(0);
    expect(expectOk(await t.gql(ME, {}, { token: u.token })).me).toBeNull();
  });

  it('sends the session cookie again when a request through it extends the session, and not for a header', async () => {
    const u = await makeUser(t);
    const age = () => t.sql(`UPDATE sessions SET last_used_at = now() - interval '1 hour', expires_at = now() + interval '1 day' WHERE user_id = $1`, [u.id]);
    await age();
    const viaCookie = await t.gql(ME, {}, { cookie: `parvis_session=${u.token}` });
    expect(expectOk(viaCookie).me.id).toBe(u.id);
    const setCookie = String(viaCookie.headers['set-cookie'] ?? '');
    expect(setCookie).toContain(`parvis_session=${u.token}`);
    expect(setCookie).toMatch(/Max-Age=2592000/);
    expect(setCookie).toMatch(/HttpOnly/);
    // Not again until the next extension; never for a header.
    expect((await t.gql(ME, {}, { cookie: `parvis_session=${u.token}` })).headers['set-cookie']).toBeUndefined();
    await age();
    expect((await t.gql(ME, {}, { token: u.token })).headers['set-cookie']).toBeUndefined();
  });

  it('signs out the session cookie it clears too, when a header named another session', async () => {
    const [a, b] = [await makeUser(t), await makeUser(t)];
    const res = await t.gql(`mutation { signOut }`, {}, { token: b.token, cookie: `parvis_session=${a.token}` });
    expect(expectOk(res).signOut).toBe(true);
    expect(expectOk(await t.gql(ME, {}, { token: b.token })).me).toBeNull();
    expect(expectOk(await t.gql(ME, {}, { cookie: `parvis_session=${a.token}` })).me).toBeNull();
  });

  it('shows e-mail addresses only to their owner, not even to admins', async () => {
    const u = await makeUser(t);
    const other = await makeUser(t);
    const admin = await makeUser(t, { role: 'ADMIN' });
    const q = `query($h: String!) { user(handle: $h) { handle email } }`;
    expect(expectOk(await t.gql(q, { h: u.handle }, { token: other.token })).user.email).toBeNull();
    expect(expectOk(await t.gql(q, { h: u.handle })).user.email).toBeNull();
    expect(expectOk(await t.gql(q, { h: u.handle.toUpperCase() }, { token: u.token })).user.email).toBe(u.email);
    expect(expectOk(await t.gql(q, { h: u.handle }, { token: admin.token })).user.email).toBeNull();
    expectNotFound(await t.gql(q, { h: 'nobody-by-this-name' }, { token: admin.token }), 'user');
  });

  it('refuses a handle that breaks the handle rule as bad input naming `handle`, before it looks the user up', async () => {
    const u = await makeUser(t);
    const q = `query($h: String!) { user(handle: $h) { handle } }`;
    const lookUp = jest.spyOn(t.get(UsersRepository), 'findByHandle');
    try {
      for (const h of ['x'.repeat(HANDLE_MAX + 1), 'ab', '', `${u.handle}.x`, 'a b c', `@${u.handle}`, `${u.handle}\u200b`, 'ünïcode']) {
        const err = expectError(await t.gql(q, { h }), 'BAD_USER_INPUT');
        expect(err.extensions.fields).toEqual([{ field: 'handle', message: expect.stringContaining(HANDLE_RULE) }]);
      }
      expect(lookUp).not.toHaveBeenCalled();
      // A handle by the rule is looked up as before: any case, white space around it trimmed as sign-up trims it.
      expect(expectOk(await t.gql(q, { h: ` ${u.handle.toUpperCase()} ` })).user).toEqual({ handle: u.handle });
      expectNotFound(await t.gql(q, { h: 'x'.repeat(HANDLE_MAX) }), 'user');
      expect(lookUp).toHaveBeenCalledTimes(2);
    } finally {
      lookUp.mockRestore();
    }
  });

  it('refuses the same bad handles in sign-up, user(handle:) and search’s authorHandle alike: BAD_USER_INPUT, the one message', async () => {
    const said = async (res: Awaited<ReturnType<typeof t.gql>>) => {
      const err = expectError(res, 'BAD_USER_INPUT');
      return (err.extensions.fields as Array<{ field: string; message: string }>).map((f) => f.message);
    };
    for (const [i, h] of ['ab', 'x'.repeat(HANDLE_MAX + 1), 'al.ice', 'ünïcode', 'ab\u200bc', ''].entries()) {
      const signUpSays = await said(await signUp({ email: `same-rule-${i}@example.com`, handle: h, password: 'long enough password' }));
      const userSays = await said(await t.gql(`query($h: String!) { user(handle: $h) { id } }`, { h }));
      const searchSays = await said(await t.gql(`query($f: SearchFilter) { search(query: "coffee", filter: $f) { edges { node { score } } } }`, { f: { authorHandle: h } }));
      expect({ h, signUpSays, userSays, searchSays }).toEqual({ h, signUpSays: [HANDLE_RULE], userSays: [HANDLE_RULE], searchSays: [HANDLE_RULE] });
    }
  });

  it('lets admins change roles, never demoting the last admin', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const q = `mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id role } }`;
    expectError(await t.gql(q, { input: { userId: admin.id, role: 'MEMBER' } }, { token: member.token }), 'FORBIDDEN');
    expect(expectOk(await t.gql(q, { input: { userId: member.id, role: 'MODERATOR' } }, { token: admin.token })).setUserRole.role).toBe('MODERATOR');
    expectOk(await t.gql(q, { input: { userId: member.id, role: 'MODERATOR' } }, { token: admin.token })); // no change, nothing logged
    expect(await t.sql(`SELECT actor_id, before, after FROM moderation_log WHERE action = 'user.role_change' AND target_id = $1`, [member.id])).toEqual([
      { actor_id: admin.id, before: { role: 'MEMBER' }, after: { role: 'MODERATOR' } },
    ]);
    expectError(await t.gql(q, { input: { userId: 'nope', role: 'ADMIN' } }, { token: admin.token }), 'BAD_USER_INPUT');
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN' AND id <> $1`, [admin.id]);
    expectError(await t.gql(q, { input: { userId: admin.id, role: 'MEMBER' } }, { token: admin.token }), 'CONFLICT');
  });

  it('lets admins manage groups and members', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const create = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id slug memberCount } }`;
    expectError(await t.gql(create, { input: { slug: 'staff', name: 'Staff' } }, { token: member.token }), 'FORBIDDEN');
    expectError(await t.gql(create, { input: { slug: 'staff', name: 'Staff' } }), 'UNAUTHENTICATED');
    const g = expectOk(await t.gql(create, { input: { slug: 'staff', name: 'Staff' } }, { token: admin.token })).createGroup;
    expectError(await t.gql(create, { input: { slug: 'staff', name: 'Again' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(create, { input: { slug: 'Bad Slug', name: 'x' } }, { token: admin.token }), 'BAD_USER_INPUT');
    const add = `mutation($input: GroupMemberInput!) { addGroupMember(input: $input) { memberCount } }`;
    expect(expectOk(await t.gql(add, { input: { groupId: g.id, userId: member.id } }, { token: admin.token })).addGroupMember.memberCount).toBe(1);
    expect(expectOk(await t.gql(add, { input: { groupId: g.id, userId: member.id } }, { token: admin.token })).addGroupMember.memberCount).toBe(1);
    const remove = `mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { memberCount } }`;
    expect(expectOk(await t.gql(remove, { input: { groupId: g.id, userId: member.id } }, { token: admin.token })).removeGroupMember.memberCount).toBe(0);
    // Memberships decide access to restricted spaces: each change is logged once (the repeated add changed nothing).
    const log = await t.sql(`SELECT action, actor_id, target_id, after FROM moderation_log WHERE action LIKE 'group.%' AND (target_id = $1 OR target_id = $2) ORDER BY id`, [g.id, member.id]);
    expect(log).toEqual([
      { action: 'group.create', actor_id: admin.id, target_id: g.id, after: { slug: 'staff', name: 'Staff', mentionable: 'NOBODY', visibility: 'OWNERS', joining: 'CLOSED' } },
      { action: 'group.member_add', actor_id: admin.id, target_id: member.id, after: { groupId: g.id } },
      { action: 'group.member_remove', actor_id: admin.id, target_id: member.id, after: { groupId: g.id } },
    ]);
    expectError(await t.gql(add, { input: { groupId: g.id, userId: g.id } }, { token: admin.token }), 'NOT_FOUND');
    const list = expectOk(await t.gql(`{ groups { slug } }`, {}, { token: admin.token })).groups;
    expect(list.map((x: { slug: string }) => x.slug)).toContain('staff');
    // Others list the groups they see: a new group is seen by its owners and the admins alone.
    expect(expectOk(await t.gql(`{ groups { slug } }`, {}, { token: member.token })).groups.map((x: { slug: string }) => x.slug)).not.toContain('staff');
    await makeGroup(t);
  });

  it('checks a real argon2id password in signIn', async () => {
    const u = await makeUser(t, { passwordHash: await hashPassword('factory password') });
    const res = expectOk(await t.gql(SIGN_IN, { input: { login: u.email, password: 'factory password' } }, { ip: freshIp() }));
    expect(res.signIn.user.id).toBe(u.id);
  });

  it('takes a password typed in another Unicode form for the same password, and still accepts hashes made before passwords were normalised', async () => {
    expectOk(await signUp({ email: 'umlaut@example.com', handle: 'umlaut', password: 'p\u00e4sswort-lang' }));
    // The same text decomposed (a and a combining diaeresis), as another system may send it.
    expect(expectOk(await t.gql(SIGN_IN, { input: { login: 'umlaut', password: 'pa\u0308sswort-lang' } }, { ip: freshIp() })).signIn.user.handle).toBe('umlaut');
    expectError(await t.gql(SIGN_IN, { input: { login: 'umlaut', password: 'passwort-lang' } }, { ip: freshIp() }), 'UNAUTHENTICATED');
    // A hash of the text as typed, not normalised (an account from before): still signs in.
    const old = await makeUser(t, { passwordHash: await argon2.hash('\uff11\uff12 full-width digits', { type: argon2.argon2id }) });
    expect(expectOk(await t.gql(SIGN_IN, { input: { login: old.handle, password: '\uff11\uff12 full-width digits' } }, { ip: freshIp() })).signIn.user.id).toBe(old.id);
  });

  it('lets members change the name shown next to their handle, within limits, and not while silenced site-wide', async () => {
    const UPDATE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id handle displayName } }`;
    const u = await makeUser(t);
    const other = await makeUser(t);
    const nameOf = async () => (await t.sql(`SELECT display_name FROM users WHERE id = $1`, [u.id]))[0].display_name;
    const before = await nameOf();
    for (const displayName of ['', '   ', '\u200b\u200b', 'two\nlines', 'x'.repeat(61), '\u2764\ufe0f'.repeat(31), 'right\u202eto left']) {
      expectError(await t.gql(UPDATE, { input: { displayName } }, { token: u.token }), 'BAD_USER_INPUT');
    }
    expectError(await t.gql(UPDATE, { input: {} }, { token: u.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(UPDATE, { input: { displayName: null } }, { token: u.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(UPDATE, { input: { displayName: 'Nobody' } }), 'UNAUTHENTICATED');
    expect(await nameOf()).toBe(before);

    expect(expectOk(await t.gql(UPDATE, { input: { displayName: '  Zoë Martin  ' } }, { token: u.token })).updateProfile).toEqual({ id: u.id, handle: u.handle, displayName: 'Zoë Martin' });
    expect(expectOk(await t.gql(`query($h: String!) { user(handle: $h) { displayName } }`, { h: u.handle }, { token: other.token })).user).toEqual({ displayName: 'Zoë Martin' });

    // Silenced site-wide: the name is shown with everything they wrote, so it stays.
    const silenced = await makeUser(t);
    await t.sql(`INSERT INTO sanctions (id, user_id, kind, reason, expires_at) VALUES (gen_random_uuid(), $1, 'SILENCE', 'test', now() + interval '1 day')`, [silenced.id]);
    expectError(await t.gql(UPDATE, { input: { displayName: 'Fresh start' } }, { token: silenced.token }), 'FORBIDDEN');

    // 10 changes an hour.
    for (let i = 1; i < 10; i++) expectOk(await t.gql(UPDATE, { input: { displayName: `Name ${i}` } }, { token: u.token }));
    expectError(await t.gql(UPDATE, { input: { displayName: 'One too many' } }, { token: u.token }), 'RATE_LIMITED');
    expect(await nameOf()).toBe('Name 9');
  });

  it('limits request bodies', async () => {
    const res = await request(t.http)
      .post('/graphql')
      .set('content-type', 'application/json')
      .send({ query: `{ me { id } }`, variables: { pad: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
  });
});
