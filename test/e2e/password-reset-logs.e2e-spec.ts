import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { fingerprint } from '../../libs/identity/src/auth/bound-tokens';
import { makeUser } from '../factories';
import { logSink } from '../support/log-sink';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

// A file of its own: nestjs-pino keeps the first application's logger for logs written outside
// a request (the worker sends reset e-mails outside one), so this application must be the file's first.
describe('password reset e-mails without SMTP, in production', () => {
  let t: TestApp;
  const { lines, sink } = logSink();

  beforeAll(async () => {
    t = await bootTestApp({ NODE_ENV: 'production', LOG_LEVEL: 'debug', LOG_REQUESTS: 'true', PUBLIC_URL: 'https://community.example' }, sink);
  });
  afterAll(() => t.close());

  it('are left for a process with SMTP_URL, noted in the log without the address, the link or a token, and not given up', async () => {
    const u = await makeUser(t);
    const res = await t.gql(`mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) }`, { input: { email: u.email } });
    expect(expectOk(res).requestPasswordReset).toBe(true);
    await t.get(OutboxWorker).drain();
    await new Promise((r) => setTimeout(r, 50));
    const all = lines.join('');
    expect(all).toContain('password reset e-mail not sent: no SMTP_URL configured; left for a process that has one');
    expect(all).toContain(u.id);
    for (const secret of [u.email, 'reset-password', 'token=', 'community.example', fingerprint(u.id, '')]) expect(all).not.toContain(secret);
    // Nor anything shaped like a signed token (`<subject>.<expiry>.<mac>`).
    expect(all).not.toMatch(/\.\d{10}\.[A-Za-z0-9_-]{43}/);
    // Due again in a while, no attempt counted; nothing of the e-mail in the event's error either.
    expect(await t.sql(`SELECT processed_at IS NOT NULL AS done, attempts, last_error FROM outbox WHERE type = 'user.password_reset_requested' AND aggregate_id = $1`, [u.id])).toEqual([
      { done: false, attempts: 0, last_error: `password reset e-mail for user ${u.id} left for a process with SMTP_URL` },
    ]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM account_mails_sent`)).toEqual([{ n: 0 }]);
  });
});
