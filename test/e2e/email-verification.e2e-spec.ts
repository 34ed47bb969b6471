import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { freshIp } from '../support/fresh-ip';
import { smtpServer } from '../support/smtp-server';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id } } }`;
const VERIFY = `mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`;
const RESEND = `mutation { resendEmailVerification }`;
const ME = `{ me { id emailVerified } }`;

describe('e-mail address confirmation', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let board: string;
  let seq = 0;

  beforeAll(async () => {
    smtp = await smtpServer();
    t = await bootTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://community.example', EMAIL_DELAY_MINUTES: '15' });
    board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const drain = () => t.get(OutboxWorker).drain();
  const age = (userId: string) => t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [userId]);
  const digestTo = async (email: string) => (await t.get(EmailDigest).sendDue()).filter((m) => m.to === email);

  async function signUp(): Promise<{ id: string; token: string; email: string; handle: string }> {
    const handle = `newcomer${++seq}${Date.now().toString(36).slice(-4)}`;
    const email = `${handle}@example.org`;
    const res = expectOk(await t.gql(SIGN_UP, { input: { email, handle, password: 'a long enough password' } }, { ip: freshIp() })).signUp;
    return { id: res.user.id, token: res.token, email, handle };
  }

  /** Has the worker send what is queued, and answers the token of the last confirmation link e-mailed to `email`. */
  async function linkTokenFor(email: string): Promise<string> {
    await drain();
    const mail = smtp.mails.filter((m) => m.to.includes(email) && m.text.includes('/verify-email?token=')).at(-1);
    expect(mail).toBeDefined();
    return /\/verify-email\?token=([A-Za-z0-9._-]+)/.exec(mail!.text)![1];
  }

  it('e-mails a sign-up a link; until it is opened, no notification e-mail goes to the address', async () => {
    const newcomer = await signUp();
    expect(expectOk(await t.gql(ME, {}, { token: newcomer.token })).me).toEqual({ id: newcomer.id, emailVerified: false });
    const token = await linkTokenFor(newcomer.email);
    // News for them, due: not e-mailed to an address nobody confirmed (and not kept due either).
    await createTopic(t, (await makeUser(t)).token, board, { body: `welcome @${newcomer.handle}` });
    await drain();
    await age(newcomer.id);
    expect(await digestTo(newcomer.email)).toEqual([]);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS handled FROM notifications WHERE user_id = $1`, [newcomer.id])).toEqual([{ handled: true }]);
    // Opened, signed out (a mail client's browser), and again: both fine.
    expect(expectOk(await t.gql(VERIFY, { input: { token } })).verifyEmail).toBe(true);
    expect(expectOk(await t.gql(VERIFY, { input: { token } })).verifyEmail).toBe(true);
    expect(expectOk(await t.gql(ME, {}, { token: newcomer.token })).me.emailVerified).toBe(true);
    await createTopic(t, (await makeUser(t)).token, board, { body: `hello again @${newcomer.handle}` });
    await drain();
    await age(newcomer.id);
    expect((await digestTo(newcomer.email)).map((m) => m.subject)).toEqual(['1 new notification on Parvis']);
  });

  it('e-mails news that came shortly before the address was confirmed, once due: only news due while it was not confirmed is handled unsent', async () => {
    const newcomer = await signUp();
    const token = await linkTokenFor(newcomer.email);
    await createTopic(t, (await makeUser(t)).token, board, { body: `first welcome @${newcomer.handle}` });
    await drain();
    // A run while the address is not confirmed and the news not due: it stays due.
    expect(await digestTo(newcomer.email)).toEqual([]);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS handled FROM notifications WHERE user_id = $1`, [newcomer.id])).toEqual([{ handled: false }]);
    // Confirmed within the delay: the news goes once due, as anyone's.
    expect(expectOk(await t.gql(VERIFY, { input: { token } })).verifyEmail).toBe(true);
    await age(newcomer.id);
    const [mail, ...more] = await digestTo(newcomer.email);
    expect(more).toEqual([]);
    expect(mail.subject).toBe('1 new notification on Parvis');
  });

  it('refuses a bad token, and a link sent to an address the account no longer has', async () => {
    expectError(await t.gql(VERIFY, { input: { token: 'not-a-token' } }), 'BAD_USER_INPUT');
    const newcomer = await signUp();
    const token = await linkTokenFor(newcomer.email);
    // Altered where every bit counts (the first character).
    const altered = `${token[0] === 'A' ? 'B' : 'A'}${token.slice(1)}`;
    expect(expectError(await t.gql(VERIFY, { input: { token: altered } }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'token', message: expect.stringMatching(/not valid/) }]);
    await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [newcomer.id, `moved-${newcomer.email}`]);
    expectError(await t.gql(VERIFY, { input: { token } }), 'BAD_USER_INPUT');
    expect(expectOk(await t.gql(ME, {}, { token: newcomer.token })).me.emailVerified).toBe(false);
  });

  it('sends the link again on request, a few times an hour, and never once confirmed', async () => {
    expectError(await t.gql(RESEND), 'UNAUTHENTICATED');
    const newcomer = await signUp();
    await linkTokenFor(newcomer.email);
    for (let i = 0; i < 3; i++) expect(expectOk(await t.gql(RESEND, {}, { token: newcomer.token })).resendEmailVerification).toBe(true);
    expectError(await t.gql(RESEND, {}, { token: newcomer.token }), 'RATE_LIMITED');
    await drain();
    const links = smtp.mails.filter((m) => m.to.includes(newcomer.email) && m.text.includes('/verify-email?token='));
    expect(links).toHaveLength(4);
    expect(expectOk(await t.gql(VERIFY, { input: { token: await linkTokenFor(newcomer.email) } })).verifyEmail).toBe(true);
    expectError(await t.gql(RESEND, {}, { token: (await makeUser(t)).token }), 'CONFLICT');
  });

  it('sends no link to an address confirmed before the worker got to it', async () => {
    const newcomer = await signUp();
    await t.sql(`UPDATE users SET email_verified_at = now() WHERE id = $1`, [newcomer.id]);
    await drain();
    expect(smtp.mails.filter((m) => m.to.includes(newcomer.email))).toEqual([]);
  });

  it('tells only the user themself whether their address is confirmed', async () => {
    const newcomer = await signUp();
    const other = await makeUser(t);
    const PROFILE = `query($h: String!) { user(handle: $h) { id emailVerified } }`;
    expect(expectOk(await t.gql(PROFILE, { h: newcomer.handle }, { token: other.token })).user.emailVerified).toBeNull();
    expect(expectOk(await t.gql(PROFILE, { h: newcomer.handle }, { token: newcomer.token })).user.emailVerified).toBe(false);
  });

  it('counts a password reset by the link e-mailed to the address as confirming it', async () => {
    const newcomer = await signUp();
    expectOk(await t.gql(`mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) }`, { input: { email: newcomer.email } }, { ip: freshIp() }));
    await drain();
    const mail = smtp.mails.filter((m) => m.to.includes(newcomer.email) && m.text.includes('/reset-password?token=')).at(-1)!;
    const resetToken = /\/reset-password\?token=([A-Za-z0-9._-]+)/.exec(mail.text)![1];
    // A token of another purpose confirms nothing.
    expectError(await t.gql(VERIFY, { input: { token: resetToken } }), 'BAD_USER_INPUT');
    const reset = expectOk(
      await t.gql(`mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { token } }`, { input: { token: resetToken, newPassword: 'another long password' } }, { ip: freshIp() }),
    ).resetPassword;
    expect(expectOk(await t.gql(ME, {}, { token: reset.token })).me.emailVerified).toBe(true);
  });
});
