import { JobScheduler } from '../../libs/core/src/jobs';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { makeUser, TestUser } from '../factories';
import { logSink } from '../support/log-sink';
import { smtpServer, SmtpServer } from '../support/smtp-server';
import { bootSecondNode, bootTestApp, expectOk, TestApp } from '../support/test-app';

// A file of its own: nestjs-pino keeps the first application's logger, so the process without
// SMTP_URL, whose start-up log is read, must be the file's first.
describe('e-mail in production without SMTP_URL', () => {
  let t: TestApp;
  let withSmtp: TestApp;
  let smtp: SmtpServer;
  const { lines, sink } = logSink();
  beforeAll(async () => {
    smtp = await smtpServer();
    t = await bootTestApp({ NODE_ENV: 'production', LOG_LEVEL: 'info', EMAIL_DELAY_MINUTES: '15', PUBLIC_URL: 'https://community.example' }, sink);
    // Another process of the same site that has SMTP_URL.
    withSmtp = await bootSecondNode(t, { NODE_ENV: 'production', SMTP_URL: smtp.url, EMAIL_DELAY_MINUTES: '15', PUBLIC_URL: 'https://community.example' });
  });
  afterAll(async () => {
    await withSmtp?.close();
    await t?.close();
    await smtp?.close();
  });

  const delivered = (u: TestUser) => smtp.mails.filter((m) => m.to.includes(u.email));

  it('warns once it starts running the jobs (it sends the e-mail) that no e-mail goes out from it, and leaves it to a process that has SMTP_URL', async () => {
    const smtpWarnings = (from: number) => lines.slice(from).map((l) => JSON.parse(l)).filter((l) => l.level >= 40 && /SMTP_URL is not set/.test(l.msg));
    // Not before: a process that runs no jobs (an API beside a worker, the CLI) sends no e-mail anyway.
    expect(smtpWarnings(0)).toEqual([]);
    const from = lines.length;
    const jobs = t.get(JobScheduler);
    jobs.start();
    jobs.stop();
    await new Promise((r) => setTimeout(r, 50));
    const warnings = smtpWarnings(from);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toMatch(/no e-mail goes out from this process/);
  });

  it('leaves the digest to a process that has SMTP_URL: nothing claimed or marked e-mailed, and that process sends it', async () => {
    const member = await makeUser(t);
    await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source, created_at) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', 'no-smtp:1', now() - interval '20 minutes')`, [member.id]);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === member.email)).toEqual([]);
    expect(await t.sql(`SELECT n.emailed_at, n.email_claimed_at, u.digest_sent_at FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.user_id = $1`, [member.id])).toEqual([
      { emailed_at: null, email_claimed_at: null, digest_sent_at: null },
    ]);
    expect((await withSmtp.get(EmailDigest).sendDue()).filter((m) => m.to === member.email).map((m) => m.subject)).toEqual(['1 new notification on Parvis']);
    expect(delivered(member)).toHaveLength(1);
  });

  it.each([
    ['a password reset', 'user.password_reset_requested', async (u: TestUser) => expectOk(await t.gql(`mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) }`, { input: { email: u.email } }))],
    ['an address confirmation', 'user.email_verification_requested', async (u: TestUser) => {
      await t.sql(`UPDATE users SET email_verified_at = NULL WHERE id = $1`, [u.id]);
      expectOk(await t.gql(`mutation { resendEmailVerification }`, {}, { token: u.token }));
    }],
  ])('leaves %s e-mail to a process that has SMTP_URL: nothing given up, no attempt counted, and that process sends it', async (_, type, ask) => {
    const member = await makeUser(t);
    await ask(member);
    const event = async () =>
      (await t.sql(`SELECT processed_at IS NOT NULL AS done, attempts, available_at > now() AS later FROM outbox WHERE type = $1 AND aggregate_id = $2`, [type, member.id]))[0];
    await t.get(OutboxWorker).drain();
    expect(await event()).toEqual({ done: false, attempts: 0, later: true });
    expect(delivered(member)).toHaveLength(0);
    // Once due again, the process with SMTP_URL takes it.
    await t.sql(`UPDATE outbox SET available_at = now() WHERE type = $1 AND aggregate_id = $2`, [type, member.id]);
    await withSmtp.get(OutboxWorker).drain();
    expect(delivered(member)).toHaveLength(1);
    expect(await event()).toMatchObject({ done: true });
  });
});
