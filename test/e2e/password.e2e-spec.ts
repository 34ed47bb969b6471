import { OutboxHandlers, OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { SignedTokens } from '../../libs/core/src/signed-tokens';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { makeUser, TestUser } from '../factories';
import { logSink } from '../support/log-sink';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { freshIp } from '../support/fresh-ip';
import { smtpServer } from '../support/smtp-server';
import { AutomaticGroupsService } from '../../libs/identity/src/groups/automatic-groups';
import { SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';
import { gateCalls } from '../support/gates';
import { doneOrWaiting, gateHolder } from '../support/lock-waits';

const CHANGE = `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { id handle email } }`;
const REQUEST = `mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) }`;
const RESET = `mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { token user { id handle email } } }`;
const SIGN_IN = `mutation($input: SignInInput!) { signIn(input: $input) { token } }`;
const ME = `{ me { id } }`;

describe('passwords: change, and reset by e-mail', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  // The application is the file's first, so its log (also outside requests: the worker sends
  // the e-mails) lands here; the last test looks for secrets in it.
  const { lines, sink } = logSink();
  /** Every reset token and session token this file saw: none may be in the log. */
  const secrets: string[] = [];
  let handleSeq = 0;

  beforeAll(async () => {
    smtp = await smtpServer();
    t = await bootTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://community.example', LOG_LEVEL: 'debug', LOG_REQUESTS: 'true' }, sink);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const PASSWORD = 'the old password';
  async function member(): Promise<TestUser> {
    // Handles of ten characters or more, so a password may be one.
    return makeUser(t, { handle: `member${Date.now().toString(36).slice(-5)}${++handleSeq}`, passwordHash: await hashPassword(PASSWORD) });
  }
  const storedHash = async (userId: string) => (await t.sql(`SELECT password_hash FROM users WHERE id = $1`, [userId]))[0].password_hash as string;
  const liveSessions = async (userId: string) =>
    (await t.sql(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`, [userId]))[0].n as number;
  const revokedEvents = async (userId: string) =>
    (await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'user.sessions_revoked' AND aggregate_id = $1`, [userId]))[0].n as number;
  const signedIn = async (token: string) => expectOk(await t.gql(ME, {}, { token })).me?.id ?? null;
  const signIn = (login: string, password: string) => t.gql(SIGN_IN, { input: { login, password } }, { ip: freshIp() });

  /** Asks for a reset link for `email`, has the worker send it, and answers the token the e-mail to that address carries. */
  async function resetToken(email: string): Promise<string> {
    expect(expectOk(await t.gql(REQUEST, { input: { email } }, { ip: freshIp() })).requestPasswordReset).toBe(true);
    const before = smtp.mails.length;
    await t.get(OutboxWorker).drain();
    const mail = smtp.mails.slice(before).find((m) => m.to.includes(email));
    if (!mail) throw new Error(`no reset e-mail to ${email}`);
    const token = /https:\/\/community\.example\/reset-password\?token=([A-Za-z0-9._-]+)/.exec(mail.text)![1];
    secrets.push(token);
    return token;
  }
  const reset = async (token: string, newPassword: string, ip = freshIp()) => {
    const res = await t.gql(RESET, { input: { token, newPassword } }, { ip });
    if (res.data?.resetPassword?.token) secrets.push(res.data.resetPassword.token);
    return res;
  };

  describe('changePassword', () => {
    it('stores a new argon2id hash, signs every other session out and keeps this one', async () => {
      const u = await member();
      secrets.push(u.token);
      const others = [await t.get(SessionsService).issue(u.id, {}), await t.get(SessionsService).issue(u.id, {})];
      const before = await storedHash(u.id);
      const res = expectOk(await t.gql(CHANGE, { input: { currentPassword: PASSWORD, newPassword: 'a brand new password' } }, { token: u.token, ip: freshIp() }));
      expect(res.changePassword).toEqual({ id: u.id, handle: u.handle, email: u.email });
      const after = await storedHash(u.id);
      expect(after).toMatch(/^\$argon2id\$v=19\$m=19456,/);
      expect(after).not.toBe(before);
      expect(await signedIn(u.token)).toBe(u.id);
      for (const other of others) expect(await signedIn(other)).toBeNull();
      expect(await liveSessions(u.id)).toBe(1);
      // Live connections of the revoked sessions are closed through this event.
      expect(await revokedEvents(u.id)).toBe(1);
      expectError(await signIn(u.handle, PASSWORD), 'UNAUTHENTICATED');
      expectOk(await signIn(u.handle, 'a brand new password'));
    });

    it('refuses a wrong current password, a password the rules refuse and anonymous callers, and writes nothing', async () => {
      const u = await member();
      const other = await t.get(SessionsService).issue(u.id, {});
      const hash = await storedHash(u.id);
      const wrong = expectError(await t.gql(CHANGE, { input: { currentPassword: 'not my password', newPassword: 'a brand new password' } }, { token: u.token, ip: freshIp() }), 'BAD_USER_INPUT');
      expect(wrong.extensions.fields).toEqual([{ field: 'currentPassword', message: 'is not your current password' }]);
      for (const [newPassword, message] of [
        ['short', 'must be at least 10 characters'],
        [u.handle.toUpperCase(), 'must not be your e-mail address or handle'],
        [u.email, 'must not be your e-mail address or handle'],
      ]) {
        const err = expectError(await t.gql(CHANGE, { input: { currentPassword: PASSWORD, newPassword } }, { token: u.token, ip: freshIp() }), 'BAD_USER_INPUT');
        expect(err.extensions.fields).toEqual([{ field: 'newPassword', message }]);
      }
      expectError(await t.gql(CHANGE, { input: { currentPassword: PASSWORD, newPassword: 'a brand new password' } }, { ip: freshIp() }), 'UNAUTHENTICATED');
      expect(await storedHash(u.id)).toBe(hash);
      expect(await signedIn(other)).toBe(u.id);
      expect(await liveSessions(u.id)).toBe(2);
      expect(await revokedEvents(u.id)).toBe(0);
    });

    it('counts wrong current passwords with the account’s failed sign-ins: a sixth try is refused, even the right one', async () => {
      const u = await member();
      const hash = await storedHash(u.id);
      for (let i = 0; i < 5; i++) {
        expectError(await t.gql(CHANGE, { input: { currentPassword: `wrong guess ${i}`, newPassword: 'a brand new password' } }, { token: u.token, ip: freshIp() }), 'BAD_USER_INPUT');
      }
      const limited = expectError(await t.gql(CHANGE, { input: { currentPassword: PASSWORD, newPassword: 'a brand new password' } }, { token: u.token, ip: freshIp() }), 'RATE_LIMITED');
      expect(limited.extensions.retryAfterSeconds).toBeGreaterThan(800);
      expect(limited.extensions.retryAfterSeconds).toBeLessThanOrEqual(900);
      // The sign-in form is no way around it: the guesses were at the same password.
      expectError(await signIn(u.handle, PASSWORD), 'RATE_LIMITED');
      expect(await storedHash(u.id)).toBe(hash);
      expect(await signedIn(u.token)).toBe(u.id);
    });

    it('gives parallel guesses no more tries than guesses in a row', async () => {
      const u = await member();
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => t.gql(CHANGE, { input: { currentPassword: `parallel guess ${i}`, newPassword: 'a brand new password' } }, { token: u.token, ip: freshIp() })),
      );
      const codes = answers.map((a) => a.errors?.[0]?.extensions.code);
      expect(codes.filter((c) => c === 'BAD_USER_INPUT')).toHaveLength(5);
      expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(5);
    });

    it('does not count a successful change against the network', async () => {
      const u = await member();
      const ip = freshIp();
      let current = PASSWORD;
      for (let i = 0; i < 22; i++) {
        const next = `password number ${i}`;
        expectOk(await t.gql(CHANGE, { input: { currentPassword: current, newPassword: next } }, { token: u.token, ip }));
        current = next;
      }
    });
  });

  describe('requestPasswordReset and resetPassword', () => {
    it('sends a reset e-mail once, though another event of its batch fails and the batch is tried again', async () => {
      const u = await member();
      await t.get(OutboxWorker).drain();
      let failures = 0;
      t.get(OutboxHandlers).register({
        name: 'test-fails-once',
        handles: (type) => type === 'test.fails_once',
        handle: async () => {
          if (failures++ === 0) throw new Error('a transient failure of another handler');
        },
      });
      const before = smtp.mails.length;
      expectOk(await t.gql(REQUEST, { input: { email: u.email } }, { ip: freshIp() }));
      // Right behind it in the outbox, so in its batch.
      await t.sql(`INSERT INTO outbox (type, aggregate_type, aggregate_id, version, payload) VALUES ('test.fails_once', 'test', gen_random_uuid(), 1, '{}')`);
      await t.get(OutboxWorker).drain();
      await t.get(OutboxWorker).drain();
      expect(failures).toBeGreaterThan(1); // failed, then went through
      expect(smtp.mails.slice(before).filter((m) => m.to.includes(u.email))).toHaveLength(1);
    });

    it('answers the same, with the same statements, whether or not the address is an account’s; only an account gets an e-mail', async () => {
      const u = await member();
      await t.get(OutboxWorker).drain();
      const before = smtp.mails.length;
      const known = await t.countStatements(() => t.gql(REQUEST, { input: { email: u.email } }, { ip: freshIp() }));
      const unknown = await t.countStatements(() => t.gql(REQUEST, { input: { email: `nobody-${u.handle}@example.com` } }, { ip: freshIp() }));
      expect(known.statements).toEqual(unknown.statements);
      const a = await t.gql(REQUEST, { input: { email: ` ${u.email.toUpperCase()} ` } }, { ip: freshIp() });
      const b = await t.gql(REQUEST, { input: { email: `Nobody-${u.handle}@example.com` } }, { ip: freshIp() });
      expect([a.status, a.data, a.errors]).toEqual([b.status, b.data, b.errors]);
      expect(a.data).toEqual({ requestPasswordReset: true });
      await t.get(OutboxWorker).drain();
      const sent = smtp.mails.slice(before);
      // Two requests named the account (the second by its address in other letters); nobody else got anything.
      expect(sent.map((m) => m.to)).toEqual([[u.email], [u.email]]);
      expect(sent[0].text).toContain(`@${u.handle}`);
      expect(sent[0].text).toMatch(/https:\/\/community\.example\/reset-password\?token=\S+/);
      expect(await t.sql(`SELECT payload FROM outbox WHERE type = 'user.password_reset_requested' AND aggregate_id = $1`, [u.id])).toEqual([
        { payload: { userId: u.id } },
        { payload: { userId: u.id } },
      ]);
    });

    it('counts every spelling of an address that finds the account against its one limit (İ is i to the lookup)', async () => {
      const u = await member();
      const address = `ivan.${u.handle}@example.com`;
      await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [u.id, address]);
      // The database's lower() is the lookup's: where it folds İ to i, so must the limit.
      const [{ folds }] = await t.sql(`SELECT lower('İ') = 'i' AS folds`);
      for (let i = 0; i < 3; i++) expectOk(await t.gql(REQUEST, { input: { email: address } }, { ip: freshIp() }));
      const other = await t.gql(REQUEST, { input: { email: address.replace('ivan', 'İvan') } }, { ip: freshIp() });
      expect(other.errors?.[0]?.extensions.code ?? 'OK').toBe(folds ? 'RATE_LIMITED' : 'OK');
      expect(await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'user.password_reset_requested' AND aggregate_id = $1`, [u.id])).toEqual([{ n: 3 }]);
    });

    it('resets with a link once: a fresh session, every old one revoked, the old password gone; the link then refused', async () => {
      const u = await member();
      const other = await t.get(SessionsService).issue(u.id, {});
      const token = await resetToken(u.email);
      const res = await reset(token, 'my reset password');
      const payload = expectOk(res).resetPassword;
      expect(payload.user).toEqual({ id: u.id, handle: u.handle, email: u.email });
      expect(String(([] as string[]).concat(res.headers['set-cookie'] ?? []))).toContain(`parvis_session=${payload.token}`);
      expect(await signedIn(payload.token)).toBe(u.id);
      expect(await signedIn(u.token)).toBeNull();
      expect(await signedIn(other)).toBeNull();
      expect(await liveSessions(u.id)).toBe(1);
      expect(await revokedEvents(u.id)).toBe(1);
      expectError(await signIn(u.email, PASSWORD), 'UNAUTHENTICATED');
      expectOk(await signIn(u.email, 'my reset password'));

      const hash = await storedHash(u.id);
      const again = expectError(await reset(token, 'another new password'), 'BAD_USER_INPUT');
      expect(again.extensions.fields).toEqual([{ field: 'token', message: expect.stringMatching(/not valid or has expired/) }]);
      expect(await storedHash(u.id)).toBe(hash);
      expect(await liveSessions(u.id)).toBe(2);
    });

    it('lets a member locked out by failed sign-ins back in once they reset their password', async () => {
      const u = await member();
      for (let i = 0; i < 5; i++) expectError(await signIn(u.email, 'a wrong guess'), 'UNAUTHENTICATED');
      expectError(await signIn(u.email, PASSWORD), 'RATE_LIMITED');
      const token = await resetToken(u.email);
      expectOk(await reset(token, 'my reset password'));
      expectOk(await signIn(u.handle, 'my reset password'));
    });

    it('does not let a banned member in either', async () => {
      const u = await member();
      const admin = await makeUser(t, { role: 'ADMIN' });
      const token = await resetToken(u.email);
      expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: u.id, kind: 'BAN', reason: 'fraud' } }, { token: admin.token }));
      const hash = await storedHash(u.id);
      expect(expectError(await reset(token, 'my reset password'), 'FORBIDDEN').extensions.sanction).toMatchObject({ kind: 'BAN', reason: 'fraud' });
      expect(await storedHash(u.id)).toBe(hash);
    });

    describe('a ban and a reset under way together', () => {
      const BAN = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;
      let admin: TestUser;
      beforeAll(async () => {
        admin = await makeUser(t, { role: 'ADMIN' });
      });
      const ban = (userId: string) => t.gql(BAN, { input: { userId, kind: 'BAN', reason: 'fraud' } }, { token: admin.token });
      /** What a reset writes for the account: its password, its sessions (any state), its address's confirmation, its events. */
      const written = async (userId: string) =>
        (
          await t.sql(
            `SELECT password_hash, email_verified_at, (SELECT count(*)::int FROM sessions WHERE user_id = $1) AS sessions,
                    (SELECT count(*)::int FROM outbox WHERE aggregate_id = $1) AS events FROM users WHERE id = $1`,
            [userId],
          )
        )[0];

      it('a ban under way when the link is opened: the reset waits for it and is refused, writing nothing, the link kept', async () => {
        const u = await member();
        const token = await resetToken(u.email);
        const gate = gateCalls(t.get(SanctionsService), 'write', (_tx, _viewer, input) => input.userId === u.id, 'after');
        try {
          const banning = ban(u.id);
          await gate.begun;
          const resetting = reset(token, 'my reset password');
          expect(await doneOrWaiting(t, resetting, 1, await gateHolder(gate))).toBe('waiting');
          gate.open();
          const s = expectOk(await banning).sanctionUser;
          const before = await written(u.id);
          const refused = expectError(await resetting, 'FORBIDDEN');
          expect(refused.extensions.sanction).toMatchObject({ id: s.id, kind: 'BAN', reason: 'fraud' });
          expect(typeof refused.extensions.appealToken).toBe('string');
          expect(await written(u.id)).toEqual(before);
          expect(await liveSessions(u.id)).toBe(0);
          // Not used up: once the ban is lifted, the same link resets.
          expectOk(await t.gql(`mutation($id: ID!) { liftSanction(id: $id) { id } }`, { id: s.id }, { token: admin.token }));
          expect(await signedIn(expectOk(await reset(token, 'my reset password')).resetPassword.token)).toBe(u.id);
        } finally {
          gate.restore();
        }
      });

      it('a reset under way when the ban comes: the ban waits for it and revokes the session it issued', async () => {
        const u = await member();
        const token = await resetToken(u.email);
        const gate = gateCalls(t.get(AutomaticGroupsService), 'following', (_tx, userId) => userId === u.id);
        try {
          const resetting = reset(token, 'my reset password');
          await gate.begun;
          const banning = ban(u.id);
          expect(await doneOrWaiting(t, banning, 1, await gateHolder(gate))).toBe('waiting');
          gate.open();
          const session = expectOk(await resetting).resetPassword.token;
          expectOk(await banning);
          expect(await signedIn(session)).toBeNull();
          expect(await liveSessions(u.id)).toBe(0);
          expectError(await signIn(u.email, 'my reset password'), 'FORBIDDEN');
        } finally {
          gate.restore();
        }
      });
    });

    it('lets one of two parallel resets with the same link through', async () => {
      const u = await member();
      const token = await resetToken(u.email);
      const answers = await Promise.all([reset(token, 'first parallel password'), reset(token, 'second parallel password')]);
      expect(answers.map((a) => a.errors?.[0]?.extensions.code ?? 'OK').sort()).toEqual(['BAD_USER_INPUT', 'OK']);
      expect(await liveSessions(u.id)).toBe(1);
    });

    it('kills a link once the password changed otherwise, and writes nothing', async () => {
      const u = await member();
      const token = await resetToken(u.email);
      expectOk(await t.gql(CHANGE, { input: { currentPassword: PASSWORD, newPassword: 'changed in between' } }, { token: u.token, ip: freshIp() }));
      const hash = await storedHash(u.id);
      const err = expectError(await reset(token, 'my reset password'), 'BAD_USER_INPUT');
      expect(err.extensions.fields!.map((f) => f.field)).toEqual(['token']);
      expect(await storedHash(u.id)).toBe(hash);
      expect(await signedIn(u.token)).toBe(u.id);
    });

    it('makes links that expire an hour after the request', async () => {
      const u = await member();
      const token = await resetToken(u.email);
      const expiresAt = Number(/\.(\d+)\.[A-Za-z0-9_-]{43}$/.exec(token)![1]) * 1000;
      expect(expiresAt - Date.now()).toBeGreaterThan(3590_000);
      expect(expiresAt - Date.now()).toBeLessThanOrEqual(3600_000);
      const hash = await storedHash(u.id);
      const realNow = Date.now;
      const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 3601_000);
      try {
        expectError(await reset(token, 'too late a password'), 'BAD_USER_INPUT');
      } finally {
        clock.mockRestore();
      }
      expect(await storedHash(u.id)).toBe(hash);
      expect(await signedIn(u.token)).toBe(u.id);

      // A request the worker reaches late gets a link for what is left of the hour, or none at all.
      const before = smtp.mails.length;
      for (const age of ['30 minutes', '2 hours']) {
        expectOk(await t.gql(REQUEST, { input: { email: u.email } }, { ip: freshIp() }));
        await t.sql(`UPDATE outbox SET created_at = now() - $1::interval WHERE type = 'user.password_reset_requested' AND processed_at IS NULL`, [age]);
        await t.get(OutboxWorker).drain();
      }
      const late = smtp.mails.slice(before);
      expect(late).toHaveLength(1);
      const lateToken = /reset-password\?token=(\S+)/.exec(late[0].text)![1];
      secrets.push(lateToken);
      const lateExpiry = Number(/\.(\d+)\.[A-Za-z0-9_-]{43}$/.exec(lateToken)![1]) * 1000 - Date.now();
      expect(lateExpiry).toBeGreaterThan(1790_000);
      expect(lateExpiry).toBeLessThanOrEqual(1800_000);
    });

    it('refuses forged, altered and foreign tokens as BAD_USER_INPUT on token, and writes nothing', async () => {
      const u = await member();
      const token = await resetToken(u.email);
      const hash = await storedHash(u.id);
      const appealToken = await t.get(SignedTokens).sign('appeal', u.id, 3600);
      const [body] = token.split(/\.(?=[^.]+$)/);
      // One character of the MAC changed: not the last, whose low bits base64url leaves unused.
      const at = token.length - 10;
      const altered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
      for (const bad of [`${token}x`, altered, `${body}.${'A'.repeat(43)}`, appealToken, 'not-a-token']) {
        const err = expectError(await reset(bad, 'my reset password'), 'BAD_USER_INPUT');
        expect(err.extensions.fields!.map((f) => f.field)).toEqual(['token']);
      }
      expect(await storedHash(u.id)).toBe(hash);
      expect(await signedIn(u.token)).toBe(u.id);
      // The rules of a new password apply here too; the link stays good for a better one.
      for (const [newPassword, message] of [
        ['short', 'must be at least 10 characters'],
        [u.email, 'must not be your e-mail address or handle'],
      ]) {
        expect(expectError(await reset(token, newPassword), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'newPassword', message }]);
      }
      expect(await storedHash(u.id)).toBe(hash);
      expectOk(await reset(token, 'a better password'));
    });

    it('does not let a suspended member in: refused as signIn refuses them, with nothing changed', async () => {
      const u = await member();
      const admin = await makeUser(t, { role: 'ADMIN' });
      expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: u.id, kind: 'SUSPEND', durationHours: 24, reason: 'spam' } }, { token: admin.token }));
      const token = await resetToken(u.email);
      const hash = await storedHash(u.id);
      const refused = expectError(await reset(token, 'my reset password'), 'FORBIDDEN');
      expect(refused.extensions.sanction).toMatchObject({ kind: 'SUSPEND', reason: 'spam' });
      expect(refused.extensions.appealToken).toEqual(expect.any(String));
      expect(refused.message).toMatch(/suspended until/);
      expect(await storedHash(u.id)).toBe(hash);
      expect(await liveSessions(u.id)).toBe(0);
    });

    it('limits requests to 3 an hour per address, known or not, and 10 an hour per network', async () => {
      const u = await member();
      for (const email of [u.email, `unknown-${u.handle}@example.com`]) {
        for (let i = 0; i < 3; i++) expectOk(await t.gql(REQUEST, { input: { email } }, { ip: freshIp() }));
        // Also in other letters, and from another network.
        const limited = expectError(await t.gql(REQUEST, { input: { email: email.toUpperCase() } }, { ip: freshIp() }), 'RATE_LIMITED');
        expect(limited.extensions.retryAfterSeconds).toBeGreaterThan(3500);
        expect(limited.message).not.toMatch(/exist|unknown|account/i);
      }
      const before = smtp.mails.length;
      await t.get(OutboxWorker).drain();
      expect(smtp.mails.slice(before).filter((m) => m.to.includes(u.email))).toHaveLength(3);

      const ip = freshIp();
      for (let i = 0; i < 10; i++) expectOk(await t.gql(REQUEST, { input: { email: `n${i}-${u.handle}@example.com` } }, { ip }));
      expectError(await t.gql(REQUEST, { input: { email: `n10-${u.handle}@example.com` } }, { ip }), 'RATE_LIMITED');
      expectOk(await t.gql(REQUEST, { input: { email: `n10-${u.handle}@example.com` } }, { ip: freshIp() }));
    });

    it('validates its input', async () => {
      const err = expectError(await t.gql(REQUEST, { input: { email: 'not-an-email' } }, { ip: freshIp() }), 'BAD_USER_INPUT');
      expect(err.extensions.fields!.map((f) => f.field)).toEqual(['email']);
      const long = expectError(await reset('x'.repeat(301), 'a long enough password'), 'BAD_USER_INPUT');
      expect(long.extensions.fields!.map((f) => f.field)).toEqual(['token']);
    });
  });

  it('never writes a reset link, a reset token or a session token to the log', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(10);
    expect(secrets.length).toBeGreaterThan(10);
    expect(all).not.toContain('reset-password');
    for (const secret of secrets) expect(all).not.toContain(secret);
    // Nor anything shaped like a signed token (`<subject>.<expiry>.<mac>`).
    expect(all).not.toMatch(/\.\d{10}\.[A-Za-z0-9_-]{43}/);
  });
});
