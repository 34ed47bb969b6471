import { EmailDigest } from '../../libs/notifications/src/email';
import { makeUser, TestUser } from '../factories';
import { logSink } from '../support/log-sink';
import { smtpServer, SmtpServer } from '../support/smtp-server';
import { bootTestApp, TestApp } from '../support/test-app';

// A file of its own: nestjs-pino keeps the first application's logger for logs written outside
// a request (the digest runs outside one), so this application must be the file's first.
describe('notification e-mails the mail server refuses', () => {
  let t: TestApp;
  let smtp: SmtpServer;
  const { lines, sink } = logSink();
  beforeAll(async () => {
    smtp = await smtpServer();
    t = await bootTestApp({ NODE_ENV: 'production', LOG_LEVEL: 'debug', SMTP_URL: smtp.url, EMAIL_DELAY_MINUTES: '15', PUBLIC_URL: 'https://community.example' }, sink);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  let seq = 0;
  /** A notification of `u`'s, made `minutes` ago (so due after the 15 minutes' delay). */
  const note = (u: TestUser, minutes = 20) =>
    t.sql(`INSERT INTO notifications (id, user_id, kind, data, source, created_at) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2, now() - make_interval(mins => $3))`, [
      u.id,
      `refusals:${seq++}`,
      minutes,
    ]);
  /** Whatever earlier tests left due is out of the way. */
  const nothingElseDue = () => t.sql(`UPDATE notifications SET emailed_at = now() WHERE emailed_at IS NULL`);
  const tried = (u: TestUser) => smtp.recipients.filter((r) => r === u.email).length;
  const delivered = (u: TestUser) => smtp.mails.filter((m) => m.to.includes(u.email)).length;
  const state = async (u: TestUser) =>
    (await t.sql(`SELECT bool_and(n.emailed_at IS NOT NULL) AS handled, bool_and(u.digest_sent_at IS NOT NULL) AS stamped FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.user_id = $1`, [u.id]))[0];
  /** As if EMAIL_DELAY_MINUTES had passed since the user's last e-mail. */
  const delayPassed = (u: TestUser) => t.sql(`UPDATE users SET digest_sent_at = now() - interval '16 minutes' WHERE id = $1`, [u.id]);
  const refuseForGood = (u: TestUser) => smtp.refuse.set(u.email, `550 5.1.1 <${u.email}>: Recipient address rejected: User unknown in virtual mailbox table`);
  const refuseForNow = (u: TestUser) => smtp.refuse.set(u.email, `451 4.3.0 <${u.email}>: Temporary lookup failure`);

  it('logs a refusal by the user and the error’s codes, never the address the mail server quotes', async () => {
    await nothingElseDue();
    const gone = await makeUser(t);
    refuseForGood(gone);
    await note(gone);
    expect(await t.get(EmailDigest).sendDue()).toEqual([]);
    expect(tried(gone)).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.join('')).not.toContain(gone.email);
    const refusal = lines.map((line) => JSON.parse(line)).find((entry) => entry.userId === gone.id);
    expect(refusal).toMatchObject({ level: 40, userId: gone.id, code: 'EENVELOPE', responseCode: 550, permanent: true });
  });
});
