import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { logSink } from '../support/log-sink';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

// A file of its own: nestjs-pino keeps the first application's logger for logs written outside
// a request (the digest runs outside one), so this application must be the file's first.
describe('logs in production without SMTP', () => {
  let t: TestApp;
  const { lines, sink } = logSink();

  beforeAll(async () => {
    t = await bootTestApp({ NODE_ENV: 'production', LOG_LEVEL: 'debug' }, sink);
  });
  afterAll(() => t.close());

  it('leave notification e-mails to a process with SMTP_URL: nothing sent, claimed or marked, and no address or unsubscribe link logged', async () => {
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, board, { title: 'Mailed in production' });
    await reply(t, (await makeUser(t)).token, topic.id, 'a reply to mail about');
    await t.get(OutboxWorker).drain();
    await t.sql(`UPDATE notifications SET created_at = now() - interval '1 day' WHERE user_id = $1`, [author.id]);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === author.email)).toEqual([]);
    expect(await t.sql(`SELECT emailed_at, email_claimed_at FROM notifications WHERE user_id = $1`, [author.id])).toEqual([{ emailed_at: null, email_claimed_at: null }]);
    await new Promise((r) => setTimeout(r, 50));
    const all = lines.join('');
    for (const secret of [author.email, 'unsubscribe?token=', 'a reply to mail about']) expect(all).not.toContain(secret);
  });

  it('note a sanction’s e-mail left for a process with SMTP_URL by its account and its sanction, apart', async () => {
    const from = lines.length;
    const member = await makeUser(t);
    const admin = await makeUser(t, { role: 'ADMIN' });
    const ban = expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'BAN', reason: 'Spam' } }, { token: admin.token })).sanctionUser.id;
    await t.get(OutboxWorker).drain();
    await new Promise((r) => setTimeout(r, 50));
    const logged = lines.slice(from).map((l) => JSON.parse(l)).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('sanction e-mail not sent: no SMTP_URL configured'));
    expect(logged).toEqual([expect.objectContaining({ userId: member.id, sanctionId: ban })]);
    expect(lines.slice(from).join('')).not.toContain(member.email);
  });
});
