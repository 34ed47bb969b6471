import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { maskAddress } from '../../libs/identity/src/auth/email-change-mail';
import { makeUser, TestUser } from '../factories';
import { freshIp } from '../support/fresh-ip';
import { smtpServer } from '../support/smtp-server';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { AutomaticGroupsService } from '../../libs/identity/src/groups/automatic-groups';
import { SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';
import { gateCalls } from '../support/gates';
import { doneOrWaiting, gateHolder } from '../support/lock-waits';
import { TableSnapshots } from '../support/refusals';

const CHANGE = `mutation($input: ChangeEmailInput!) { changeEmail(input: $input) { id email pendingEmail } }`;
const CONFIRM = `mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`;
const CANCEL = `mutation { cancelEmailChange { id email pendingEmail } }`;
const ME = `{ me { id email emailVerified pendingEmail } }`;
const SIGN_IN = `mutation($input: SignInInput!) { signIn(input: $input) { user { id } } }`;
const PROFILE = `query($handle: String!) { user(handle: $handle) { id email pendingEmail } }`;
const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;
const LIFT = `mutation($id: ID!) { liftSanction(id: $id) { id } }`;
const APPEAL = `mutation($input: AppealInput!) { appealSanction(input: $input) { id status } }`;

describe('changing an account’s e-mail address', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let seq = 0;
  const PASSWORD = 'the password we have';

  beforeAll(async () => {
    smtp = await smtpServer();
    t = await bootTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://community.example' });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  async function member(opts: { emailUnverified?: boolean } = {}): Promise<TestUser> {
    return makeUser(t, { handle: `mover${Date.now().toString(36).slice(-5)}${++seq}`, passwordHash: await hashPassword(PASSWORD), ...opts });
  }
  const newAddress = () => `new${Date.now().toString(36)}${++seq}@Example.NET`;
  /** An address as accounts hold it: the domain lower-cased. */
  const stored = (email: string) => email.slice(0, email.indexOf('@')) + email.slice(email.indexOf('@')).toLowerCase();
  const change = (u: TestUser, newEmail: string, currentPassword = PASSWORD, ip = freshIp()) =>
    t.gql(CHANGE, { input: { newEmail, currentPassword } }, { token: u.token, ip });
  const confirm = (token: string) => t.gql(CONFIRM, { input: { token } });
  const me = async (u: TestUser) => expectOk(await t.gql(ME, {}, { token: u.token })).me;
  const signIn = (login: string) => t.gql(SIGN_IN, { input: { login, password: PASSWORD } }, { ip: freshIp() });
  const events = async (userId: string) =>
    (await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 AND type LIKE 'user.email_change%' ORDER BY id`, [userId])).map((r) => r.type);

  /** Has the worker send what is queued, and answers what went to `email` since `before`. */
  async function mailsTo(email: string, before: number) {
    await t.get(OutboxWorker).drain();
    return smtp.mails.slice(before).filter((m) => m.to.some((to) => to.toLowerCase() === email.toLowerCase()));
  }
  const linkToken = (text: string) => /https:\/\/community\.example\/confirm-email-change\?token=([A-Za-z0-9._-]+)/.exec(text)?.[1];

  it('keeps the address until the link sent to the new one is opened, tells the old one, then moves the account there, confirmed', async () => {
    const u = await member();
    const target = newAddress();
    const before = smtp.mails.length;
    expect(expectOk(await change(u, target)).changeEmail).toEqual({ id: u.id, email: u.email, pendingEmail: stored(target) });
    expect(await me(u)).toEqual({ id: u.id, email: u.email, emailVerified: true, pendingEmail: stored(target) });
    // Nothing moved yet: the account signs in by its address as before, not by the new one.
    expectOk(await signIn(u.email));
    expectError(await signIn(target), 'UNAUTHENTICATED');

    const [link] = await mailsTo(target, before);
    const token = linkToken(link.text)!;
    expect(token).toBeDefined();
    const [notice] = await mailsTo(u.email, before);
    expect(notice.text).toContain(maskAddress(stored(target)));
    expect(notice.text).not.toContain(target.slice(0, target.indexOf('@')));
    expect(notice.text).not.toContain('confirm-email-change');

    // Opened signed out, from the new mailbox; and again (a mail client's preview first): both fine.
    expect(expectOk(await confirm(token)).confirmEmailChange).toBe(true);
    expect(expectOk(await confirm(token)).confirmEmailChange).toBe(true);
    expect(await me(u)).toEqual({ id: u.id, email: stored(target), emailVerified: true, pendingEmail: null });
    expectOk(await signIn(target));
    expectError(await signIn(u.email), 'UNAUTHENTICATED');
  });

  it('kills a password reset link sent to the address the account moved away from', async () => {
    const u = await member();
    let before = smtp.mails.length;
    expectOk(await t.gql(`mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) }`, { input: { email: u.email } }, { ip: freshIp() }));
    const resetMail = (await mailsTo(u.email, before)).find((m) => m.text.includes('/reset-password?token='))!;
    const resetToken = /\/reset-password\?token=([A-Za-z0-9._-]+)/.exec(resetMail.text)![1];
    const target = newAddress();
    before = smtp.mails.length;
    expectOk(await change(u, target));
    expectOk(await confirm(linkToken((await mailsTo(target, before))[0].text)!));
    const reset = `mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { token } }`;
    expect(expectError(await t.gql(reset, { input: { token: resetToken, newPassword: 'taken over, or so I thought' } }, { ip: freshIp() }), 'BAD_USER_INPUT').extensions.fields).toEqual([
      { field: 'token', message: expect.stringMatching(/not valid/) },
    ]);
    expectOk(await signIn(target));
  });

  it('refuses a wrong password, the same address, a taken one and a malformed one, writing nothing but the two attempts they count (a failed sign-in, a change)', async () => {
    const u = await member();
    const other = await member();
    // Every table but rate_events, whose rows are read apart: the attempts these refusals count.
    const tables = await TableSnapshots.of(t, { migrations: 'bookkeeping', rate_events: 'the attempts counted, read below' });
    const before = await tables.take();
    const [{ last }] = await t.sql(`SELECT coalesce(max(id), 0) AS last FROM rate_events`);
    const guessIp = freshIp();
    const wrong = expectError(await change(u, newAddress(), 'not the password', guessIp), 'BAD_USER_INPUT');
    expect(wrong.extensions.fields).toEqual([{ field: 'currentPassword', message: 'is not your current password' }]);
    expect(expectError(await change(u, u.email.toUpperCase()), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'newEmail', message: expect.stringMatching(/your account has/) }]);
    expect(expectError(await change(u, other.email.toUpperCase()), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'newEmail', message: 'is already registered' }]);
    expect(expectError(await change(u, 'not an address'), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'newEmail', message: expect.any(String) }]);
    expectError(await t.gql(CHANGE, { input: { newEmail: newAddress(), currentPassword: PASSWORD } }, { ip: freshIp() }), 'UNAUTHENTICATED');
    expect((await me(u)).pendingEmail).toBeNull();
    expect(await events(u.id)).toEqual([]);
    expect(TableSnapshots.changed(before, await tables.take())).toEqual([]);
    // Two attempts stay counted. The wrong password is a failed sign-in from its address (recheckPassword; the account's
    // own count is cleared by the right password after). The taken address, past the password, is a change (the 3 an
    // hour, RateLimiter.reserve), as sign-up counts a refused one. The same address and the malformed one count nothing.
    expect(await t.sql(`SELECT bucket, key FROM rate_events WHERE id > $1 ORDER BY id`, [last])).toEqual([
      { bucket: 'signin:ip', key: guessIp },
      { bucket: 'email-change:user', key: u.id },
    ]);
  });

  it('kills the first link when the change is asked again or cancelled, and refuses bad tokens', async () => {
    const u = await member();
    const first = newAddress();
    const second = newAddress();
    let before = smtp.mails.length;
    expectOk(await change(u, first));
    const firstToken = linkToken((await mailsTo(first, before))[0].text)!;
    before = smtp.mails.length;
    expectOk(await change(u, second));
    const secondToken = linkToken((await mailsTo(second, before))[0].text)!;
    expect(expectError(await confirm(firstToken), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'token', message: expect.stringMatching(/not valid/) }]);
    expectError(await confirm('not-a-token'), 'BAD_USER_INPUT');
    expectError(await confirm(`${secondToken[0] === 'A' ? 'B' : 'A'}${secondToken.slice(1)}`), 'BAD_USER_INPUT');

    expect(expectOk(await t.gql(CANCEL, {}, { token: u.token })).cancelEmailChange).toEqual({ id: u.id, email: u.email, pendingEmail: null });
    expectError(await confirm(secondToken), 'BAD_USER_INPUT');
    expect((await me(u)).email).toBe(u.email);
  });

  it('refuses the link when another account took the address meanwhile; the account keeps its own', async () => {
    const u = await member();
    const target = newAddress();
    const before = smtp.mails.length;
    expectOk(await change(u, target));
    const token = linkToken((await mailsTo(target, before))[0].text)!;
    const thief = await member();
    await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [thief.id, target.toLowerCase()]);
    expect(expectError(await confirm(token), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'token', message: 'is already registered' }]);
    expect(await me(u)).toMatchObject({ email: u.email, pendingEmail: expect.any(String) });
  });

  it('tells an unconfirmed address nothing, shows the waiting address to its owner alone, and limits changes to 3 an hour', async () => {
    const u = await member({ emailUnverified: true });
    const before = smtp.mails.length;
    const target = newAddress();
    expectOk(await change(u, target));
    expect(await mailsTo(u.email, before)).toEqual([]);
    expect(await mailsTo(target, before)).toHaveLength(1);
    expect(await events(u.id)).toEqual(['user.email_change_requested']);
    // Another member (an admin too) sees neither address.
    const admin = await makeUser(t, { role: 'ADMIN' });
    expect(expectOk(await t.gql(PROFILE, { handle: u.handle }, { token: admin.token })).user).toEqual({ id: u.id, email: null, pendingEmail: null });

    expectOk(await change(u, newAddress()));
    expectOk(await change(u, newAddress()));
    const waiting = (await me(u)).pendingEmail;
    expectError(await change(u, newAddress()), 'RATE_LIMITED');
    expect((await me(u)).pendingEmail).toBe(waiting);
  });

  it('counts a change refused for a taken or banned address against the 3 an hour, as sign-up counts its refusals: no probing addresses without end', async () => {
    const u = await member();
    const other = await member();
    const bannedAddress = `banned${Date.now().toString(36)}${++seq}@example.net`;
    await t.sql(`INSERT INTO banned_emails (email_lower) VALUES ($1)`, [bannedAddress]);
    expect(expectError(await change(u, other.email), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'newEmail', message: 'is already registered' }]);
    expect(expectError(await change(u, bannedAddress), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'newEmail', message: 'is not accepted here' }]);
    expectError(await change(u, other.email.toUpperCase()), 'BAD_USER_INPUT');
    // The fourth within the hour is the limit's refusal, whatever the address: it tells nothing of it.
    expect(expectError(await change(u, other.email), 'RATE_LIMITED').extensions.retryAfterSeconds).toBeGreaterThan(0);
    expectError(await change(u, newAddress()), 'RATE_LIMITED');
    expect(await t.sql(`SELECT count(*)::int AS n FROM rate_events WHERE bucket = 'email-change:user' AND key = $1`, [u.id])).toEqual([{ n: 3 }]);
    expect((await me(u)).pendingEmail).toBeNull();
    expect(await events(u.id)).toEqual([]);
  });

  it('drops a waiting change when the account is deleted, and its link then opens nothing', async () => {
    const u = await member();
    const target = newAddress();
    const before = smtp.mails.length;
    expectOk(await change(u, target));
    const token = linkToken((await mailsTo(target, before))[0].text)!;
    expectError(await t.gql(CANCEL, {}), 'UNAUTHENTICATED');
    expectOk(await t.gql(`mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) }`, { input: { password: PASSWORD } }, { token: u.token, ip: freshIp() }));
    expect(await t.sql(`SELECT email, pending_email FROM users WHERE id = $1`, [u.id])).toEqual([{ email: null, pending_email: null }]);
    expectError(await confirm(token), 'BAD_USER_INPUT');
    expect(await t.sql(`SELECT email FROM users WHERE id = $1`, [u.id])).toEqual([{ email: null }]);
  });

  describe('an account suspended or banned site-wide', () => {
    let admin: TestUser;
    beforeAll(async () => {
      admin = await makeUser(t, { role: 'ADMIN' });
    });
    const sanction = (userId: string, input: Record<string, unknown>) =>
      t.gql(SANCTION, { input: { userId, reason: 'Spam ring', ...input } }, { token: admin.token });
    /** A member whose change to a fresh address waits, and the link to it. */
    async function waiting(): Promise<{ u: TestUser; target: string; token: string }> {
      const u = await member();
      const target = newAddress();
      const before = smtp.mails.length;
      expectOk(await change(u, target));
      return { u, target, token: linkToken((await mailsTo(target, before))[0].text)! };
    }
    const addresses = async (userId: string) => (await t.sql(`SELECT email, pending_email FROM users WHERE id = $1`, [userId]))[0];

    it.each([
      ['suspended', { kind: 'SUSPEND', durationHours: 24 }, /^This account is suspended until .*: its e-mail address cannot change while it is$/],
      ['banned', { kind: 'BAN', banEmail: true }, /^This account is banned: its e-mail address cannot change while it is$/],
    ])('cannot confirm a change asked for before it was %s (FORBIDDEN, nothing written, the change left waiting), and can once that is lifted', async (_, kind, message) => {
      const { u, target, token } = await waiting();
      const s = expectOk(await sanction(u.id, kind)).sanctionUser;
      // Nor ask for another: the sanction ended the session.
      expectError(await change(u, newAddress()), 'UNAUTHENTICATED');
      const tables = await TableSnapshots.of(t, { migrations: 'bookkeeping', rate_events: 'not written by a confirmation' });
      const before = await tables.take();
      const refused = await confirm(token);
      const err = expectError(refused, 'FORBIDDEN');
      expect(err.message).toMatch(message);
      expect(TableSnapshots.changed(before, await tables.take())).toEqual([]);
      expect(await addresses(u.id)).toEqual({ email: u.email, pending_email: stored(target) });
      // The link's holder reads an address the account does not have yet, maybe a stranger's:
      // not the sanction's reason, nor a token that would file the member's one appeal.
      expect(err.extensions).not.toHaveProperty('sanction');
      expect(err.extensions).not.toHaveProperty('appealToken');
      expect(JSON.stringify(refused)).not.toContain('Spam ring');
      // The member gets them by signing in, and appeals with that token.
      const refusedSignIn = expectError(await signIn(u.email), 'FORBIDDEN');
      expect(refusedSignIn.extensions.sanction).toEqual(expect.objectContaining({ id: s.id, reason: 'Spam ring' }));
      expect(expectOk(await t.gql(APPEAL, { input: { sanctionId: s.id, message: 'It was not me, honestly', appealToken: refusedSignIn.extensions.appealToken } })).appealSanction.status).toBe('PENDING');
      expectOk(await t.gql(LIFT, { id: s.id }, { token: admin.token }));
      expect(expectOk(await confirm(token)).confirmEmailChange).toBe(true);
      expect(await addresses(u.id)).toEqual({ email: stored(target), pending_email: null });
    });

    it('a ban under way when the link is opened: the confirmation waits for it and is refused', async () => {
      const { u, target, token } = await waiting();
      const gate = gateCalls(t.get(SanctionsService), 'write', (_tx, _viewer, input) => input.userId === u.id, 'after');
      try {
        const banning = sanction(u.id, { kind: 'BAN', banEmail: true });
        await gate.begun;
        const confirming = confirm(token);
        expect(await doneOrWaiting(t, confirming, 1, await gateHolder(gate))).toBe('waiting');
        gate.open();
        const s = expectOk(await banning).sanctionUser;
        expectError(await confirming, 'FORBIDDEN');
        expect(await addresses(u.id)).toEqual({ email: u.email, pending_email: stored(target) });
        expect(await t.sql(`SELECT email_lower FROM banned_emails WHERE sanction_id = $1`, [s.id])).toEqual([{ email_lower: u.email.toLowerCase() }]);
      } finally {
        gate.restore();
      }
    });

    it('a confirmation under way when the ban comes: the ban waits for it and bans the new address', async () => {
      const { u, target, token } = await waiting();
      const gate = gateCalls(t.get(AutomaticGroupsService), 'following', (_tx, userId) => userId === u.id);
      try {
        const confirming = confirm(token);
        await gate.begun;
        const banning = sanction(u.id, { kind: 'BAN', banEmail: true });
        expect(await doneOrWaiting(t, banning, 1, await gateHolder(gate))).toBe('waiting');
        gate.open();
        expect(expectOk(await confirming).confirmEmailChange).toBe(true);
        const s = expectOk(await banning).sanctionUser;
        expect(await addresses(u.id)).toEqual({ email: stored(target), pending_email: null });
        expect(await t.sql(`SELECT email_lower FROM banned_emails WHERE sanction_id = $1`, [s.id])).toEqual([{ email_lower: target.toLowerCase() }]);
      } finally {
        gate.restore();
      }
    });
  });

  it('masks an address down to first letters', () => {
    expect(maskAddress('alice.smith@example.org')).toBe('a***@e***.org');
    expect(maskAddress('bob@localhost')).toBe('b***@l***');
    expect(maskAddress('élodie@mail.example.co.uk')).toBe('é***@m***.uk');
  });
});
