import { OUTBOX_MAX_ATTEMPTS, OutboxHandlers, OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { EmailDigest, mailableNowSql, SentEmail } from '../../libs/notifications/src/email';
import { STANDING_KINDS } from '../../libs/notifications/src/notifications.handler';
import { AccessService } from '../../libs/access/src/access.service';
import { SanctionMail } from '../../libs/moderation/src/sanctions/sanction-mail';
import { stampOf } from '../../libs/core/src/mail-lease';
import { SanctionEmailGivenUpBefore1765119600000 } from '../../migrations/1765119600000-sanction-email-given-up-before';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootSecondNode, bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { redoMigration } from '../support/migrations';
import { smtpServer } from '../support/smtp-server';

const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;
const LIFT = `mutation($id: ID!) { liftSanction(id: $id) { id } }`;
const LIST = `{ notifications(first: 20) { totalCount edges { node { kind data } } } }`;

/**
 * A sanctioned member is told, whatever the sanction: in their notifications (SANCTION), which
 * a suspension or ban site-wide keeps them from reading until it ends, so such a barring is
 * also e-mailed at once (Discourse's "account suspended" e-mail, Khoros's ban notice).
 */
describe('telling sanctioned members', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let admin: TestUser;

  beforeAll(async () => {
    smtp = await smtpServer();
    t = await bootTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: 'https://community.example' });
    admin = await makeUser(t, { role: 'ADMIN' });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const drain = () => t.get(OutboxWorker).drain();
  const sanction = async (userId: string, input: Record<string, unknown>) =>
    expectOk(await t.gql(SANCTION, { input: { userId, reason: 'Spamming the marketplace', ...input } }, { token: admin.token })).sanctionUser.id as string;
  /** What the worker e-mails `u` while `act` runs. */
  async function mailsTo(u: TestUser, act: () => Promise<unknown>) {
    const before = smtp.mails.length;
    await act();
    await drain();
    return smtp.mails.slice(before).filter((m) => m.to.includes(u.email));
  }
  /** The member's notifications, read in a session of their own once they may sign in again. */
  const notices = async (u: TestUser): Promise<Array<{ kind: string; data: any }>> => {
    const token = await t.get(SessionsService).issue(u.id, {});
    return expectOk(await t.gql(LIST, {}, { token })).notifications.edges.map((e: any) => ({ kind: e.node.kind, data: JSON.parse(e.node.data) }));
  };

  it('tells a member suspended site-wide in their notifications, and by e-mail at once: until when, why, and how to appeal', async () => {
    const member = await makeUser(t);
    let sanctionId = '';
    const [mail, ...more] = await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'SUSPEND', durationHours: 48 })));
    expect(more).toEqual([]);
    const [{ expires_at: until }] = await t.sql(`SELECT expires_at FROM sanctions WHERE id = $1`, [sanctionId]);
    expect(mail.text).toContain(`A moderator suspended your account @${member.handle} on Parvis until ${new Date(until).toISOString()}.`);
    expect(mail.text).toContain('The reason they gave:\r\nSpamming the marketplace');
    expect(mail.text).toContain('Until then you cannot sign in.');
    expect(mail.text).toContain('To appeal, sign in with your password at https://community.example');
    // Their notice waits for them: read once the suspension ends.
    expectOk(await t.gql(LIFT, { id: sanctionId }, { token: admin.token }));
    expect(await notices(member)).toEqual([{ kind: 'SANCTION', data: { sanctionId, kind: 'SUSPEND', spaceId: null } }]);
  });

  /**
   * `member`, barred site-wide by `sanctionId`, appeals it as the sanction's e-mail says (the
   * refused sign-in hands them what appeals), and another admin rejects the appeal; its news delivered.
   */
  async function appealRejected(member: TestUser, password: string, sanctionId: string): Promise<void> {
    const refused = expectError(await t.gql(`mutation($input: SignInInput!) { signIn(input: $input) { token } }`, { input: { login: member.handle, password } }), 'FORBIDDEN');
    const appeal = { sanctionId, message: 'Those were my own listings', appealToken: refused.extensions.appealToken };
    expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: appeal }));
    const judge = await makeUser(t, { role: 'ADMIN' });
    const queue = expectOk(await t.gql(`{ reviewQueue(first: 100) { edges { node { id kind targetId } } } }`, {}, { token: judge.token })).reviewQueue.edges;
    const item = queue.find((e: any) => e.node.kind === 'APPEAL' && e.node.targetId === sanctionId).node;
    expectOk(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id } }`, { input: { id: item.id, decision: 'REJECT', note: 'They were not' } }, { token: judge.token }));
    await drain();
  }

  it('tells a member banned site-wide the same, and the outcome of their appeal in their notifications', async () => {
    const password = 'a banned password';
    const member = await makeUser(t, { passwordHash: await hashPassword(password) });
    let sanctionId = '';
    const [mail] = await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'BAN', banEmail: true })));
    expect(mail.text).toContain(`A moderator banned your account @${member.handle} on Parvis.`);
    expect(mail.text).toContain('You can no longer sign in.');
    await appealRejected(member, password, sanctionId);
    expectOk(await t.gql(LIFT, { id: sanctionId }, { token: admin.token }));
    expect(await notices(member)).toEqual([
      { kind: 'APPEAL_DECIDED', data: { sanctionId, granted: false } },
      { kind: 'SANCTION', data: { sanctionId, kind: 'BAN', spaceId: null } },
    ]);
  });

  it('e-mails nothing for a sanction in one space (read in the app), a warning or silence, one lifted before the worker ran, or an unconfirmed address', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const inSpace = await makeUser(t);
    expect(await mailsTo(inSpace, () => sanction(inSpace.id, { kind: 'BAN', spaceId: space.id }))).toEqual([]);
    expect((await notices(inSpace)).map((n) => [n.kind, n.data.spaceId])).toEqual([['SANCTION', space.id]]);
    const warned = await makeUser(t);
    expect(await mailsTo(warned, async () => {
      await sanction(warned.id, { kind: 'WARNING' });
      await sanction(warned.id, { kind: 'SILENCE', durationHours: 2 });
    })).toEqual([]);
    const lifted = await makeUser(t);
    expect(await mailsTo(lifted, async () => expectOk(await t.gql(LIFT, { id: await sanction(lifted.id, { kind: 'SUSPEND', durationHours: 2 }) }, { token: admin.token })))).toEqual([]);
    const unconfirmed = await makeUser(t, { emailUnverified: true });
    let suspension = '';
    expect(await mailsTo(unconfirmed, async () => (suspension = await sanction(unconfirmed.id, { kind: 'SUSPEND', durationHours: 2 })))).toEqual([]);
    // Told in the app all the same (read once it is lifted).
    expectOk(await t.gql(LIFT, { id: suspension }, { token: admin.token }));
    for (const u of [lifted, unconfirmed]) expect((await notices(u)).map((n) => n.kind)).toEqual(['SANCTION']);
  });

  /** A run of the notification digest once `u`'s news is due (older news left as old as it is): every message it sent. */
  async function digestRun(u: TestUser) {
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1 AND created_at > now() - interval '20 minutes'`, [u.id]);
    return t.get(EmailDigest).sendDue();
  }
  /** The notices a digest's message lists. */
  const bullets = (text: string) => text.split('\n').filter((line) => line.startsWith('• '));
  /** What the notification digest e-mails `u` once their news is due: its lines. */
  async function digestTo(u: TestUser): Promise<string[][]> {
    return (await digestRun(u)).filter((m) => m.to === u.email).map((m) => bullets(m.text));
  }

  it('never e-mails a sanction again in the digest once it was e-mailed on its own, however soon it ends; the rest of the news still goes', async () => {
    // Lifted, or run out, before the digest's delay: the member may read their list again, and
    // would have had the same sanction in a second e-mail.
    const lifted = await makeUser(t);
    let sanctionId = '';
    expect(await mailsTo(lifted, async () => (sanctionId = await sanction(lifted.id, { kind: 'SUSPEND', durationHours: 48 })))).toHaveLength(1);
    expectOk(await t.gql(LIFT, { id: sanctionId }, { token: admin.token }));
    expect(await digestTo(lifted)).toEqual([]);
    expect(await t.sql(`SELECT kind, emailed_at IS NOT NULL AS handled FROM notifications WHERE user_id = $1`, [lifted.id])).toEqual([{ kind: 'SANCTION', handled: true }]);
    // Nothing was sent, so nothing holds back their next e-mail.
    expect(await t.sql(`SELECT digest_sent_at FROM users WHERE id = $1`, [lifted.id])).toEqual([{ digest_sent_at: null }]);

    const ranOut = await makeUser(t);
    expect(await mailsTo(ranOut, async () => (sanctionId = await sanction(ranOut.id, { kind: 'SUSPEND', durationHours: 1 })))).toHaveLength(1);
    await t.sql(`UPDATE sanctions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [sanctionId]);
    // Other news due with it still goes, alone.
    await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'REPORT_RESOLVED', '{}', $2)`, [ranOut.id, `test:${ranOut.id}`]);
    expect(await digestTo(ranOut)).toEqual([['• A report you made was resolved']]);
  });

  it('e-mails a sanction in the digest when it was not e-mailed on its own (lifted before the worker ran, refused by the mail server), once', async () => {
    const quick = await makeUser(t);
    expect(await mailsTo(quick, async () => expectOk(await t.gql(LIFT, { id: await sanction(quick.id, { kind: 'SUSPEND', durationHours: 2 }) }, { token: admin.token })))).toEqual([]);
    expect(await digestTo(quick)).toEqual([['• A moderator sent you a notice']]);
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [quick.id]);
    expect(await digestTo(quick)).toEqual([]);
    // Refused by the mail server (for now; the outbox tries again while it is in force): not
    // marked e-mailed, so the digest tells it once it ends.
    const refused = await makeUser(t);
    smtp.refuse.set(refused.email, '451 4.3.0 Temporary failure');
    let sanctionId = '';
    expect(await mailsTo(refused, async () => (sanctionId = await sanction(refused.id, { kind: 'SUSPEND', durationHours: 2 })))).toEqual([]);
    smtp.refuse.delete(refused.email);
    expect(await t.sql(`SELECT emailed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed_at: null }]);
    expectOk(await t.gql(LIFT, { id: sanctionId }, { token: admin.token }));
    // The outbox's retry, due now (and its notice delivered, which the failed try held back).
    await t.sql(`UPDATE outbox SET available_at = now() WHERE processed_at IS NULL AND type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [sanctionId]);
    expect(await mailsTo(refused, async () => undefined)).toEqual([]);
    expect(await digestTo(refused)).toEqual([['• A moderator sent you a notice']]);
  });

  it('e-mails a ban’s notice in the digest while it stands when the mail server refused its own e-mail for good, once, and marks no address', async () => {
    // Refused for good, but not the address (the content, at DATA): not tried again by the
    // outbox, and given up, so the digest tells it by the normal path, though the ban never ends.
    const refused = await makeUser(t);
    const other = await makeUser(t);
    const topic = await createTopic(t, refused.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id), { title: 'News that waits' });
    await drain();
    await reply(t, other.token, topic.id, 'a reply');
    await drain();
    const sanctionId = await banRefusedBy(refused, smtp.refuseData, '554 5.6.0 Message content rejected');
    expect(await t.sql(`SELECT emailed_at, email_claimed_at, email_given_up_at IS NOT NULL AS given_up FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([
      { emailed_at: null, email_claimed_at: null, given_up: true },
    ]);
    expect(await t.sql(`SELECT email_bounced_at FROM users WHERE id = $1`, [refused.id])).toEqual([{ email_bounced_at: null }]);
    // Its event delivered again claims nothing and sends nothing.
    await t.sql(`UPDATE outbox SET processed_at = NULL, available_at = now() WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [sanctionId]);
    expect(await mailsTo(refused, async () => undefined)).toEqual([]);
    // The digest, while the ban stands: its notice alone (the rest of their news waits), once.
    expect(await digestTo(refused)).toEqual([['• A moderator sent you a notice']]);
    expect(await t.sql(`SELECT kind, emailed_at IS NULL AS waiting FROM notifications WHERE user_id = $1 ORDER BY kind`, [refused.id])).toEqual([
      { kind: 'SANCTION', waiting: false },
      { kind: 'WATCHED_REPLY', waiting: true },
    ]);
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [refused.id]);
    expect(await digestTo(refused)).toEqual([]);
  });

  it('keeps a suspended member’s news for when the suspension ends, then e-mails what is still unread and theirs to read, in one message; news a week old is old by then', async () => {
    const [open, soonRestricted] = [await makeSpace(t, 'PUBLIC'), await makeSpace(t, 'PUBLIC')];
    const member = await makeUser(t);
    const other = await makeUser(t);
    const kept = await createTopic(t, member.token, await makeBoard(t, open.id), { title: 'Kept news' });
    const hidden = await createTopic(t, member.token, await makeBoard(t, soonRestricted.id), { title: 'Out of reach since' });
    await drain();
    await reply(t, other.token, kept.id, 'a reply');
    await reply(t, other.token, hidden.id, 'another reply');
    await drain();
    // News that waited a week for its e-mail (refused for now all that time, say).
    await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source, created_at) VALUES (gen_random_uuid(), $1, 'REPORT_RESOLVED', '{}', $2, now() - interval '8 days')`, [member.id, `test:${member.id}`]);
    // Suspended before the digest's delay passed: the suspension is e-mailed at once, the news waits.
    let sanctionId = '';
    expect(await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'SUSPEND', durationHours: 48 })))).toHaveLength(1);
    expect(await digestTo(member)).toEqual([]);
    expect(await t.sql(`SELECT kind, emailed_at IS NULL AS waiting FROM notifications WHERE user_id = $1 ORDER BY created_at, kind`, [member.id])).toEqual([
      { kind: 'REPORT_RESOLVED', waiting: false },
      { kind: 'SANCTION', waiting: true },
      { kind: 'WATCHED_REPLY', waiting: true },
      { kind: 'WATCHED_REPLY', waiting: true },
    ]);
    expect(await t.sql(`SELECT digest_sent_at FROM users WHERE id = $1`, [member.id])).toEqual([{ digest_sent_at: null }]);
    // Once it ends: what they may still read, in one message, and not the suspension again.
    expectOk(await t.gql(LIFT, { id: sanctionId }, { token: admin.token }));
    await t.sql(`UPDATE spaces SET visibility = 'RESTRICTED' WHERE id = $1`, [soonRestricted.id]);
    expect(await digestTo(member)).toEqual([[`• @${other.handle} replied in a topic you watch — “Kept news” https://community.example/t/${kept.id}#post-2`]]);
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [member.id]);
    expect(await digestTo(member)).toEqual([]);
  });

  it('e-mails a banned member the outcome of their appeal while the ban stands, once, with none of their other news, and links nothing', async () => {
    const password = 'a banned password';
    const member = await makeUser(t, { passwordHash: await hashPassword(password) });
    const other = await makeUser(t);
    const topic = await createTopic(t, member.token, await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id), { title: 'Waiting news' });
    await drain();
    await reply(t, other.token, topic.id, 'a reply');
    await drain();
    let sanctionId = '';
    expect(await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'BAN' })))).toHaveLength(1);
    await appealRejected(member, password, sanctionId);
    // The digest's run, as the mail server gets it: one message, the outcome alone.
    const before = smtp.mails.length;
    const [sent, ...more] = (await digestRun(member)).filter((m) => m.to === member.email);
    expect(more).toEqual([]);
    expect(smtp.mails.slice(before).filter((m) => m.to.includes(member.email))).toHaveLength(1);
    expect(bullets(sent.text)).toEqual(['• Your appeal was denied: the sanction stands']);
    // No link but the unsubscribe links, which need no sign-in.
    expect(sent.text.match(/https?:\/\/\S+/g)!.every((url) => url.startsWith('https://community.example/unsubscribe?token='))).toBe(true);
    // Their other news waits for the ban to end, the ban's notice too (e-mailed on its own).
    expect(await t.sql(`SELECT kind, emailed_at IS NULL AS waiting FROM notifications WHERE user_id = $1 ORDER BY kind`, [member.id])).toEqual([
      { kind: 'APPEAL_DECIDED', waiting: false },
      { kind: 'SANCTION', waiting: true },
      { kind: 'WATCHED_REPLY', waiting: true },
    ]);
    // Not again: neither a later run, once the one e-mail per delay would let one go, nor once the ban ends.
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [member.id]);
    expect(await digestTo(member)).toEqual([]);
    expectOk(await t.gql(LIFT, { id: sanctionId }, { token: admin.token }));
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [member.id]);
    expect(await digestTo(member)).toEqual([[`• @${other.handle} replied in a topic you watch — “Waiting news” https://community.example/t/${topic.id}#post-2`]]);
  });

  it('e-mails a banned member the notice of a sanction not e-mailed on its own (one in a space) while the ban stands, one e-mail per delay; the ban’s own notice waits', async () => {
    const member = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    expect(await mailsTo(member, () => sanction(member.id, { kind: 'BAN' }))).toHaveLength(1);
    expect(await mailsTo(member, () => sanction(member.id, { kind: 'BAN', spaceId: space.id }))).toEqual([]);
    // An e-mail of theirs went within the delay: this one waits for the next.
    await t.sql(`UPDATE users SET digest_sent_at = now() - interval '5 minutes' WHERE id = $1`, [member.id]);
    expect(await digestTo(member)).toEqual([]);
    await t.sql(`UPDATE users SET digest_sent_at = now() - interval '16 minutes' WHERE id = $1`, [member.id]);
    expect(await digestTo(member)).toEqual([['• A moderator sent you a notice']]);
    expect(await t.sql(`SELECT n.data->>'spaceId' AS space, n.emailed_at IS NULL AS waiting FROM notifications n WHERE n.user_id = $1 ORDER BY n.data->>'spaceId' NULLS FIRST`, [member.id])).toEqual([
      { space: null, waiting: true },
      { space: space.id, waiting: false },
    ]);
  });

  it('reads the viewers of a digest run once, members barred site-wide among them', async () => {
    const [banned, free] = [await makeUser(t), await makeUser(t)];
    const space = await makeSpace(t, 'PUBLIC');
    expect(await mailsTo(banned, () => sanction(banned.id, { kind: 'BAN' }))).toHaveLength(1);
    for (const u of [banned, free]) expect(await mailsTo(u, () => sanction(u.id, { kind: 'SILENCE', durationHours: 2, spaceId: space.id }))).toEqual([]);
    await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = ANY($1::uuid[])`, [[banned.id, free.id]]);
    let sent: SentEmail[] = [];
    const { statements } = await t.countStatements(async () => (sent = await t.get(EmailDigest).sendDue()));
    expect([banned, free].map((u) => sent.filter((m) => m.to === u.email).map((m) => bullets(m.text)))).toEqual([[['• A moderator sent you a notice']], [['• A moderator sent you a notice']]]);
    expect(statements.filter((sql) => /FROM users u .*WHERE u\.id = ANY\(\$1::uuid\[\]\) AND \(\(u\.deleted_at IS NULL AND NOT u\.is_placeholder\) OR \$2\)/s.test(sql))).toHaveLength(1);
  });

  /**
   * A run of the digest in which `member` is suspended just after the claim chose them (their
   * rows marked, their stamp set), before their viewer is read: the messages it sent, and the suspension.
   */
  async function digestBarringAtItsRead(member: TestUser): Promise<{ sent: SentEmail[]; sanctionId: string }> {
    const sessions = t.get(SessionsService);
    const read = sessions.recipientsOf.bind(sessions);
    let sanctionId = '';
    let barred = false;
    const barring = jest.spyOn(sessions, 'recipientsOf').mockImplementation(async (userIds) => {
      // Once, at the digest's read.
      if (userIds.includes(member.id) && !barred) {
        barred = true;
        sanctionId = await sanction(member.id, { kind: 'SUSPEND', durationHours: 48 });
      }
      return read(userIds);
    });
    try {
      const sent = await t.get(EmailDigest).sendDue();
      expect(sanctionId).not.toBe('');
      return { sent, sanctionId };
    } finally {
      barring.mockRestore();
    }
  }
  /** News of `kind` for `u`, due. */
  const dueNews = (u: TestUser, kind: string, data: Record<string, unknown> = {}) =>
    t.sql(`INSERT INTO notifications (id, user_id, kind, data, source, created_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, now() - interval '20 minutes')`, [u.id, kind, data, `test:${kind}:${u.id}`]);

  it('puts back the news of a member barred between the digest’s claim and its read of who may read what, for when the barring ends', async () => {
    const member = await makeUser(t);
    await dueNews(member, 'REPORT_RESOLVED');
    const { sent, sanctionId } = await digestBarringAtItsRead(member);
    expect(sent.map((m) => m.to)).not.toContain(member.email);
    // Neither handled nor stamped: it waits, as a barred member's news does.
    expect(await t.sql(`SELECT n.emailed_at, u.digest_sent_at FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.user_id = $1`, [member.id])).toEqual([
      { emailed_at: null, digest_sent_at: null },
    ]);
    await drain();
    expectOk(await t.gql(LIFT, { id: sanctionId }, { token: admin.token }));
    expect(await digestTo(member)).toEqual([['• A report you made was resolved']]);
  });

  it('e-mails a member barred between the digest’s claim and its read of who may read what the news of their own standing it claimed, and puts back the rest', async () => {
    const member = await makeUser(t);
    await dueNews(member, 'REPORT_RESOLVED');
    await dueNews(member, 'APPEAL_DECIDED', { sanctionId: '0190a0a0-0000-7000-8000-000000000000', granted: false });
    const { sent } = await digestBarringAtItsRead(member);
    expect(sent.filter((m) => m.to === member.email).map((m) => bullets(m.text))).toEqual([['• Your appeal was denied: the sanction stands']]);
    expect(await t.sql(`SELECT n.kind, n.emailed_at IS NULL AS waiting, u.digest_sent_at IS NOT NULL AS stamped FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.user_id = $1 ORDER BY n.kind`, [member.id])).toEqual([
      { kind: 'APPEAL_DECIDED', waiting: false, stamped: true },
      { kind: 'REPORT_RESOLVED', waiting: true, stamped: true },
    ]);
  });

  /**
   * A worker that claimed a sanction's e-mail and died before the send: `SanctionMail`'s own
   * claim, made as the worker makes it (the outbox event not yet handled, as a dead worker's
   * rolled-back batch leaves it), and never followed by the send.
   */
  const claimAndDie = (userId: string, sanctionId: string) =>
    (t.get(SanctionMail) as unknown as { sending(subject: string): Promise<string | false> }).sending(`${userId} ${sanctionId}`).then((claim) => claim !== false);
  /** The claim's lease over, as it is once the dead worker's time ran out. */
  const leaseRunOut = (sanctionId: string) => t.sql(`UPDATE sanctions SET email_claimed_at = now() - interval '16 minutes' WHERE id = $1`, [sanctionId]);
  /** The sanction's outbox event, due now whatever back-off a failed try gave it (not once parked). */
  const redeliverNow = (sanctionId: string) =>
    t.sql(`UPDATE outbox SET available_at = now() WHERE processed_at IS NULL AND available_at <> 'infinity' AND type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [sanctionId]);

  /** The sanction's outbox event: its failed attempts, whether it is parked, whether it is done. */
  const sanctionEvent = async (sanctionId: string) =>
    (await t.sql(`SELECT attempts, available_at = 'infinity'::timestamptz AS parked, processed_at IS NOT NULL AS done FROM outbox WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [sanctionId]))[0];
  /** Whether the sanction's event is due when its e-mail's claim runs out (to the millisecond: the wait's end goes through a JavaScript Date). */
  const dueAtLeaseEnd = async (sanctionId: string) =>
    (
      await t.sql(
        `SELECT abs(extract(epoch FROM o.available_at - (s.email_claimed_at + interval '15 minutes'))) < 0.001 AS at_lease_end
           FROM outbox o JOIN sanctions s ON s.id::text = o.payload->>'sanctionId' WHERE s.id = $1 AND o.type = 'user.sanctioned'`,
        [sanctionId],
      )
    )[0].at_lease_end as boolean;

  /** A ban of `member` whose e-mail the mail server refuses with `reply`, at RCPT TO (`smtp.refuse`) or DATA (`smtp.refuseData`): the ban. */
  async function banRefusedBy(member: TestUser, refusals: { set(address: string, reply: string): unknown; delete(address: string): unknown }, reply: string): Promise<string> {
    refusals.set(member.email, reply);
    try {
      let sanctionId = '';
      expect(await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'BAN' })))).toEqual([]);
      return sanctionId;
    } finally {
      refusals.delete(member.email);
    }
  }

  /** A ban of `member` whose e-mail the mail server refused for now on each of its event's first `tries` deliveries: the ban. */
  async function banRefusedForNow(member: TestUser, tries: number): Promise<string> {
    smtp.refuse.set(member.email, '451 4.3.0 Temporary failure');
    try {
      let sanctionId = '';
      expect(await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'BAN' })))).toEqual([]);
      for (let tried = 1; tried < tries; tried++) {
        await redeliverNow(sanctionId);
        expect(await mailsTo(member, async () => undefined)).toEqual([]);
      }
      return sanctionId;
    } finally {
      smtp.refuse.delete(member.email);
    }
  }

  it('e-mails a sanction whose worker died between its claim and the send once the claim runs out, once, and never in the digest too', async () => {
    const member = await makeUser(t);
    const sanctionId = await sanction(member.id, { kind: 'SUSPEND', durationHours: 48 });
    expect(await claimAndDie(member.id, sanctionId)).toBe(true);
    // The event delivered again while the claim holds: nothing is sent, and it is tried again later.
    expect(await mailsTo(member, async () => undefined)).toEqual([]);
    expect(await t.sql(`SELECT processed_at IS NULL AS waiting, last_error LIKE '%claimed by another worker%' AS why FROM outbox WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [sanctionId])).toEqual([
      { waiting: true, why: true },
    ]);
    expect(await t.sql(`SELECT emailed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed_at: null }]);
    // The e-mail waiting holds back none of the event's other work: its notice is there already.
    expect(await t.sql(`SELECT kind FROM notifications WHERE user_id = $1`, [member.id])).toEqual([{ kind: 'SANCTION' }]);
    // Once it ran out, the next delivery takes it over and sends it, marked e-mailed only then.
    await leaseRunOut(sanctionId);
    await redeliverNow(sanctionId);
    const mails = await mailsTo(member, async () => undefined);
    expect(mails.map((m) => m.text.includes(`A moderator suspended your account @${member.handle}`))).toEqual([true]);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed, email_claimed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed: true, email_claimed_at: null }]);
    // Handled: no later delivery sends it again, nor the digest once the suspension ends.
    await t.sql(`UPDATE outbox SET processed_at = NULL, available_at = now() WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [sanctionId]);
    expect(await mailsTo(member, async () => undefined)).toEqual([]);
    expectOk(await t.gql(LIFT, { id: sanctionId }, { token: admin.token }));
    expect(await digestTo(member)).toEqual([]);
  });

  it('never parks a ban’s e-mail while a dead worker’s claim holds it, however often its event failed before: it goes once the claim runs out', async () => {
    // The mail server refused it for now, try after try, until its event was three tries short of parking.
    const member = await makeUser(t);
    const sanctionId = await banRefusedForNow(member, OUTBOX_MAX_ATTEMPTS - 3);
    const event = () => sanctionEvent(sanctionId);
    expect(await event()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS - 3, parked: false, done: false });
    // Then a worker claims it and dies before the send. Its event, delivered again and again while
    // the claim holds, waits for it: no failed attempt counted, so never parked, and due again when it runs out.
    expect(await claimAndDie(member.id, sanctionId)).toBe(true);
    for (let i = 0; i < 5; i++) {
      await redeliverNow(sanctionId);
      expect(await mailsTo(member, async () => undefined)).toEqual([]);
    }
    expect(await event()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS - 3, parked: false, done: false });
    expect(await dueAtLeaseEnd(sanctionId)).toBe(true);
    // Once it ran out, the event takes it over and the ban is e-mailed, once.
    await leaseRunOut(sanctionId);
    await redeliverNow(sanctionId);
    const mails = await mailsTo(member, async () => undefined);
    expect(mails.map((m) => m.text.includes(`A moderator banned your account @${member.handle}`))).toEqual([true]);
    expect(await event()).toMatchObject({ parked: false, done: true });
  });

  it('never parks a ban’s event while its e-mail waits on a dead worker’s claim, even when another handler fails on its last try: the failure counts, and the e-mail goes once the claim runs out', async () => {
    const member = await makeUser(t);
    const sanctionId = await banRefusedForNow(member, OUTBOX_MAX_ATTEMPTS - 1);
    const event = () => sanctionEvent(sanctionId);
    expect(await event()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS - 1, parked: false, done: false });
    // Another handler of the event fails, on its last try, while the e-mail waits for a dead worker's claim.
    let failing = true;
    t.get(OutboxHandlers).register({
      name: `failing-for-${sanctionId}`,
      handles: (type) => type === 'user.sanctioned',
      handle: async (events) => {
        if (failing && events.some((e) => e.payload.sanctionId === sanctionId)) throw new Error('another handler fails');
      },
    });
    expect(await claimAndDie(member.id, sanctionId)).toBe(true);
    await redeliverNow(sanctionId);
    expect(await mailsTo(member, async () => undefined)).toEqual([]);
    // The failure counted, but the event is due again when the claim runs out, not parked.
    expect(await event()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS, parked: false, done: false });
    expect(await dueAtLeaseEnd(sanctionId)).toBe(true);
    // Once it ran out, the e-mail is taken over and sent, once; the other handler still failing, the event is parked then.
    await leaseRunOut(sanctionId);
    await redeliverNow(sanctionId);
    const mails = await mailsTo(member, async () => undefined);
    expect(mails.map((m) => m.text.includes(`A moderator banned your account @${member.handle}`))).toEqual([true]);
    expect(await event()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS + 1, parked: true, done: false });
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed, email_claimed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed: true, email_claimed_at: null }]);
    // Put back in line once the other handler is fixed: nothing is sent again.
    failing = false;
    await t.get(OutboxWorker).retryParked();
    expect(await mailsTo(member, async () => undefined)).toEqual([]);
    expect(await event()).toMatchObject({ parked: false, done: true });
  });

  it('gives a ban’s e-mail up when the mail server refuses it for now on its event’s last try, so that the digest e-mails its notice while the ban stands', async () => {
    const member = await makeUser(t);
    const sanctionId = await banRefusedForNow(member, OUTBOX_MAX_ATTEMPTS);
    // Parked, as any event failing that often; given up, never claimed again, and the digest tells it.
    expect(await t.sql(`SELECT attempts, available_at = 'infinity'::timestamptz AS parked FROM outbox WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [sanctionId])).toEqual([
      { attempts: OUTBOX_MAX_ATTEMPTS, parked: true },
    ]);
    expect(await t.sql(`SELECT emailed_at, email_claimed_at, email_given_up_at IS NOT NULL AS given_up FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([
      { emailed_at: null, email_claimed_at: null, given_up: true },
    ]);
    expect(await digestTo(member)).toEqual([['• A moderator sent you a notice']]);
    // An operator putting the event back in line sends nothing again.
    await t.get(OutboxWorker).retryParked();
    expect(await mailsTo(member, async () => undefined)).toEqual([]);
  });

  it('marks given up the e-mails of barring sanctions given up before the mark existed, from what the outbox and the member’s address say; again, nothing changes (migration, down and up)', async () => {
    // Refused for now until its event was parked, the sanction e-mail's refusal its last error.
    const parkedMember = await makeUser(t);
    const parked = await banRefusedForNow(parkedMember, OUTBOX_MAX_ATTEMPTS);
    // Its event handled, with nothing to send it to, as SanctionMail now gives up: its address
    // refused for good (on the bounce list since), on the bounce list already, or not confirmed.
    const bouncedMember = await makeUser(t);
    const bounced = await banRefusedBy(bouncedMember, smtp.refuse, '550 5.1.1 No such user');
    const bouncingMember = await makeUser(t);
    await t.sql(`UPDATE users SET email_bounced_at = now() - interval '1 day' WHERE id = $1`, [bouncingMember.id]);
    let bouncing = '';
    expect(await mailsTo(bouncingMember, async () => (bouncing = await sanction(bouncingMember.id, { kind: 'BAN' })))).toEqual([]);
    const unconfirmedMember = await makeUser(t, { emailUnverified: true });
    let unconfirmed = '';
    expect(await mailsTo(unconfirmedMember, async () => (unconfirmed = await sanction(unconfirmedMember.id, { kind: 'BAN' })))).toEqual([]);
    // Not marked: one e-mailed, even unmarked (as before sanctions.emailed_at: nothing tells it
    // from one refused for good); one parked as refused, but lifted since; one whose event was
    // parked by another handler's failure, its e-mail never tried.
    const sentMember = await makeUser(t);
    let sent = '';
    expect(await mailsTo(sentMember, async () => (sent = await sanction(sentMember.id, { kind: 'BAN' })))).toHaveLength(1);
    await t.sql(`UPDATE sanctions SET emailed_at = NULL WHERE id = $1`, [sent]);
    const lifted = await banRefusedForNow(await makeUser(t), OUTBOX_MAX_ATTEMPTS);
    expectOk(await t.gql(LIFT, { id: lifted }, { token: admin.token }));
    await drain();
    const otherMember = await makeUser(t);
    const other = await sanction(otherMember.id, { kind: 'BAN' });
    await t.sql(`UPDATE outbox SET attempts = $2, available_at = 'infinity', last_error = 'another handler fails' WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [other, OUTBOX_MAX_ATTEMPTS]);
    // As a release before the mark left them.
    const all = [parked, bounced, bouncing, unconfirmed, sent, lifted, other];
    await t.sql(`UPDATE sanctions SET email_given_up_at = NULL WHERE id = ANY($1::uuid[])`, [all]);
    const marks = async () =>
      Object.fromEntries((await t.sql(`SELECT id, email_given_up_at FROM sanctions WHERE id = ANY($1::uuid[])`, [all])).map((r) => [r.id as string, r.email_given_up_at as Date | null]));
    await redoMigration(t, new SanctionEmailGivenUpBefore1765119600000());
    const marked = await marks();
    expect(Object.keys(marked).filter((id) => marked[id] !== null).sort()).toEqual([parked, bounced, bouncing, unconfirmed].sort());
    // The digest tells the parked ban's notice while the ban stands.
    expect(await digestTo(parkedMember)).toEqual([['• A moderator sent you a notice']]);
    // Run again (and undone first, which leaves the marks): the same marks, as they were.
    await redoMigration(t, new SanctionEmailGivenUpBefore1765119600000());
    expect(await marks()).toEqual(marked);
  });

  it('gives a ban’s e-mail up when its event is handled too late to send it or to an address not confirmed, as when refused for good: the digest e-mails its notice while the ban stands', async () => {
    const givenUp = async (sanctionId: string) =>
      (await t.sql(`SELECT emailed_at, email_claimed_at, email_given_up_at IS NOT NULL AS given_up FROM sanctions WHERE id = $1`, [sanctionId]))[0];
    // Its event handled more than a week after it was written (a backlog replayed): too late to e-mail.
    const late = await makeUser(t);
    const lateBan = await sanction(late.id, { kind: 'BAN' });
    await t.sql(`UPDATE outbox SET created_at = now() - interval '8 days' WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [lateBan]);
    expect(await mailsTo(late, async () => undefined)).toEqual([]);
    expect(await givenUp(lateBan)).toEqual({ emailed_at: null, email_claimed_at: null, given_up: true });
    expect(await digestTo(late)).toEqual([['• A moderator sent you a notice']]);
    // Its event handled while the member's address was not confirmed: nothing went, and nothing tries
    // again; once it is confirmed (the ban standing), the digest tells the notice.
    const unconfirmed = await makeUser(t, { emailUnverified: true });
    let unconfirmedBan = '';
    expect(await mailsTo(unconfirmed, async () => (unconfirmedBan = await sanction(unconfirmed.id, { kind: 'BAN' })))).toEqual([]);
    expect(await givenUp(unconfirmedBan)).toEqual({ emailed_at: null, email_claimed_at: null, given_up: true });
    await t.sql(`UPDATE users SET email_verified_at = now() WHERE id = $1`, [unconfirmed.id]);
    expect(await digestTo(unconfirmed)).toEqual([['• A moderator sent you a notice']]);
  });

  /**
   * Bans `member` and has a second node with no SMTP_URL, in `env`, handle the ban's event, after
   * `before` (given the sanction's id); the sanction's id.
   */
  async function banWithoutSmtp(member: TestUser, env: 'test' | 'production', before?: (sanctionId: string) => Promise<unknown>): Promise<string> {
    const bare = await bootSecondNode(t, { NODE_ENV: env, PUBLIC_URL: 'https://community.example' });
    try {
      const ban = await sanction(member.id, { kind: 'BAN' });
      await before?.(ban);
      await bare.get(OutboxWorker).drain();
      return ban;
    } finally {
      await bare.close();
    }
  }

  it('logs a ban’s e-mail on a node with no SMTP_URL outside production, as the digest logs its own, and counts it sent: the digest does not tell its notice again', async () => {
    const member = await makeUser(t);
    const ban = await banWithoutSmtp(member, 'test');
    expect(await sanctionEvent(ban)).toMatchObject({ done: true });
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed, email_claimed_at, email_given_up_at FROM sanctions WHERE id = $1`, [ban])).toEqual([
      { emailed: true, email_claimed_at: null, email_given_up_at: null },
    ]);
    expect(await digestTo(member)).toEqual([]);
  });

  it('leaves a ban’s e-mail to a node that has SMTP_URL when a production node without it handles its event: nothing given up, no attempt counted, sent by the other', async () => {
    const member = await makeUser(t);
    const ban = await banWithoutSmtp(member, 'production');
    // Due again in a while (a wait: no failed attempt), neither claimed nor given up; the digest holds its notice back meanwhile.
    expect(await sanctionEvent(ban)).toEqual({ attempts: 0, parked: false, done: false });
    expect(await t.sql(`SELECT available_at > now() AS later FROM outbox WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [ban])).toEqual([{ later: true }]);
    expect(await t.sql(`SELECT emailed_at, email_claimed_at, email_given_up_at FROM sanctions WHERE id = $1`, [ban])).toEqual([
      { emailed_at: null, email_claimed_at: null, email_given_up_at: null },
    ]);
    expect(await digestTo(member)).toEqual([]);
    // Once due, a node with SMTP_URL takes it and sends it, once.
    await t.sql(`UPDATE outbox SET available_at = now() WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [ban]);
    const mails = await mailsTo(member, async () => undefined);
    expect(mails).toHaveLength(1);
    expect(mails[0].head).toContain('Subject: Your account on Parvis is banned');
    expect(await sanctionEvent(ban)).toMatchObject({ done: true });
    expect(await digestTo(member)).toEqual([]);
  });

  it('gives a ban’s e-mail up on a production node without SMTP_URL once it is too late for any node to send it: the digest e-mails its notice while the ban stands', async () => {
    const member = await makeUser(t);
    // Its event handled more than a week after it was written.
    const ban = await banWithoutSmtp(member, 'production', (id) => t.sql(`UPDATE outbox SET created_at = now() - interval '8 days' WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [id]));
    expect(await sanctionEvent(ban)).toMatchObject({ done: true });
    expect(await t.sql(`SELECT email_given_up_at IS NOT NULL AS given_up FROM sanctions WHERE id = $1`, [ban])).toEqual([{ given_up: true }]);
    expect(await digestTo(member)).toEqual([['• A moderator sent you a notice']]);
  });

  it('reads a sanction that bars nobody site-wide (a warning, a silence, a ban in one space) in one statement, and marks no e-mail of it given up', async () => {
    const member = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const ids: string[] = [];
    expect(await mailsTo(member, async () => {
      ids.push(await sanction(member.id, { kind: 'WARNING' }));
      ids.push(await sanction(member.id, { kind: 'SILENCE', durationHours: 2 }));
      ids.push(await sanction(member.id, { kind: 'BAN', spaceId: space.id }));
    })).toEqual([]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE id = ANY($1::uuid[]) AND email_given_up_at IS NOT NULL`, [ids])).toEqual([{ n: 0 }]);
    const events = await t.sql(
      `SELECT id::text AS id, type, aggregate_type, aggregate_id, version, payload, created_at FROM outbox WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = ANY($1::text[])`,
      [ids],
    );
    expect(events).toHaveLength(3);
    for (const e of events) {
      const event = { id: e.id, type: e.type, aggregateType: e.aggregate_type, aggregateId: e.aggregate_id, version: e.version, payload: e.payload, createdAt: e.created_at, attempts: 0 };
      expect((await t.countStatements(() => t.get(SanctionMail).handle([event]))).count).toBe(1);
    }
  });

  it('e-mails a sanction twice, as one message (one Message-ID), when its worker dies after the mail server took it and before it was marked: at least once, never lost', async () => {
    const member = await makeUser(t);
    const mail = t.get(SanctionMail) as unknown as { sent(subject: string): Promise<void> };
    // The server took it; the worker dies before the mark (its claim stays, for the lease to run out).
    const dies = jest.spyOn(mail, 'sent').mockRejectedValueOnce(new Error('the worker died'));
    let sanctionId = '';
    let first: Awaited<ReturnType<typeof mailsTo>>;
    try {
      first = await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'SUSPEND', durationHours: 48 })));
    } finally {
      dies.mockRestore();
    }
    expect(first).toHaveLength(1);
    expect(await t.sql(`SELECT emailed_at, email_claimed_at IS NOT NULL AS claimed FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed_at: null, claimed: true }]);
    // Nobody can tell it went: once the claim ran out, the event sends it again, and marks it.
    await redeliverNow(sanctionId);
    expect(await mailsTo(member, async () => undefined)).toEqual([]);
    await leaseRunOut(sanctionId);
    await redeliverNow(sanctionId);
    const again = await mailsTo(member, async () => undefined);
    expect(again).toHaveLength(1);
    // The field unfolded (nodemailer folds a long one onto the next line).
    const messageId = (m: { head: string }) => /^Message-ID:\s*(\S+)\s*$/im.exec(m.head.replace(/\r\n[ \t]+/g, ' '))?.[1];
    expect(messageId(first[0])).toBe(`<sanction-${sanctionId}@community.example>`);
    expect(messageId(again[0])).toBe(messageId(first[0]));
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed: true }]);
  });

  /** The stamp of the sanction's e-mail claim, as its sender carries it (`stampOf`). */
  const claimOf = async (sanctionId: string) =>
    BigInt((await t.sql(`SELECT ${stampOf('email_claimed_at')} AS stamp FROM sanctions WHERE id = $1`, [sanctionId]))[0].stamp);
  /** The sanction's outbox event as a worker is handed it. */
  const eventOf = async (sanctionId: string) => {
    const [e] = await t.sql(`SELECT id::text AS id, type, aggregate_type, aggregate_id, version, payload, created_at FROM outbox WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [
      sanctionId,
    ]);
    return { id: e.id, type: e.type, aggregateType: e.aggregate_type, aggregateId: e.aggregate_id, version: e.version, payload: e.payload, createdAt: e.created_at, attempts: 0 };
  };
  /**
   * A suspension of `member` whose e-mail the mail server holds at RCPT TO while `meanwhile` runs
   * (told the send's renewal ticks, made by hand instead of by a timer), then takes, or refuses
   * with the reply `meanwhile` answers: the sanction, and every message that reached the member
   * meanwhile and then.
   */
  async function suspensionHeldAtRcpt(member: TestUser, meanwhile: (ticks: Array<() => Promise<void>>, sanctionId: string) => Promise<string | void>) {
    const ticks: Array<() => Promise<void>> = [];
    const byHand = jest.spyOn(t.get(SanctionMail) as unknown as { everyRenewal: (tick: () => Promise<void>) => () => void }, 'everyRenewal').mockImplementation((tick) => {
      ticks.push(tick);
      return () => undefined;
    });
    let sanctionId = '';
    let calls = 0;
    smtp.refuse.set(member.email, async () => (calls++ === 0 ? ((await meanwhile(ticks, sanctionId)) ?? undefined) : undefined));
    try {
      const mails = await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'SUSPEND', durationHours: 48 })));
      return { sanctionId, mails };
    } finally {
      byHand.mockRestore();
      smtp.refuse.delete(member.email);
    }
  }

  it('keeps a sanction e-mail’s claim while a slow mail server holds the send: the send renews it, and the e-mail goes once', async () => {
    const member = await makeUser(t);
    const stamps: bigint[] = [];
    let waited: string | undefined;
    const { sanctionId, mails } = await suspensionHeldAtRcpt(member, async (ticks, id) => {
      stamps.push(await claimOf(id));
      for (const tick of ticks) await tick();
      stamps.push(await claimOf(id));
      // Another worker handed the event meanwhile finds the claim held, and waits.
      waited = await t.get(SanctionMail).handle([await eventOf(id)]).then(() => 'sent', (err: Error) => err.message);
    });
    expect(stamps).toHaveLength(2);
    expect(stamps[1] > stamps[0]).toBe(true);
    expect(waited).toMatch(/claimed by another worker until/);
    expect(mails).toHaveLength(1);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed, email_claimed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed: true, email_claimed_at: null }]);
  });

  it('lets go of a sanction e-mail’s renewed claim when the mail server refuses it for now after the send renewed it: its event, tried again, sends it at once', async () => {
    const member = await makeUser(t);
    const stamps: bigint[] = [];
    const { sanctionId, mails } = await suspensionHeldAtRcpt(member, async (ticks, id) => {
      stamps.push(await claimOf(id));
      for (const tick of ticks) await tick();
      stamps.push(await claimOf(id));
      return '451 4.3.0 Temporary failure';
    });
    expect(stamps[1] > stamps[0]).toBe(true);
    expect(mails).toEqual([]);
    expect(await t.sql(`SELECT emailed_at, email_claimed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed_at: null, email_claimed_at: null }]);
    // A failed try, not a wait on its own claim: due again, it sends the e-mail then.
    expect(await sanctionEvent(sanctionId)).toEqual({ attempts: 1, parked: false, done: false });
    await redeliverNow(sanctionId);
    expect(await mailsTo(member, async () => undefined)).toHaveLength(1);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed, email_claimed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed: true, email_claimed_at: null }]);
  });

  it('stops a sanction e-mail whose claim another worker took over while a slow mail server held the send: the e-mail goes once', async () => {
    const member = await makeUser(t);
    const { sanctionId, mails } = await suspensionHeldAtRcpt(member, async (ticks, id) => {
      // The server took longer than the lease over its steps: another worker, handed the event
      // again (its first worker's batch given up), takes the claim over and sends it.
      await leaseRunOut(id);
      await t.get(SanctionMail).handle([await eventOf(id)]);
      // The first send's next renewal comes due before the server answers it.
      await ticks[0]?.();
    });
    expect(mails.map((m) => m.text.includes(`A moderator suspended your account @${member.handle}`))).toEqual([true]);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed, email_claimed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed: true, email_claimed_at: null }]);
    // Its event, stopped, sends nothing later either.
    await redeliverNow(sanctionId);
    expect(await mailsTo(member, async () => undefined)).toEqual([]);
  });

  it('stops a sanction e-mail whose claim it cannot keep in time (the process stalled): its event waits for the lease to end, then sends it once', async () => {
    const member = await makeUser(t);
    const { sanctionId, mails } = await suspensionHeldAtRcpt(member, async (ticks) => {
      const clock = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 13 * 60 * 1000);
      try {
        await ticks[0]?.();
      } finally {
        clock.mockRestore();
      }
    });
    expect(mails).toEqual([]);
    expect(await t.sql(`SELECT emailed_at, email_claimed_at IS NOT NULL AS claimed FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed_at: null, claimed: true }]);
    // A wait, not a failure: no attempt counted, due again once the lease has run out.
    expect(await sanctionEvent(sanctionId)).toEqual({ attempts: 0, parked: false, done: false });
    await redeliverNow(sanctionId);
    expect(await mailsTo(member, async () => undefined)).toEqual([]);
    await leaseRunOut(sanctionId);
    await redeliverNow(sanctionId);
    expect(await mailsTo(member, async () => undefined)).toHaveLength(1);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed, email_claimed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed: true, email_claimed_at: null }]);
  });

  it('claims a sanction’s e-mail in one statement, whether it takes the claim, finds another worker’s, or finds the sanction over', async () => {
    const member = await makeUser(t);
    const sanctionId = await sanction(member.id, { kind: 'SUSPEND', durationHours: 48 });
    const claim = async () => {
      let outcome: boolean | string = false;
      const cost = await t.countStatements(async () => {
        outcome = await claimAndDie(member.id, sanctionId).catch((err: Error) => err.message);
      });
      return { outcome, count: cost.count };
    };
    expect(await claim()).toEqual({ outcome: true, count: 1 });
    const held = await claim();
    expect(held.count).toBe(1);
    expect(held.outcome).toMatch(/claimed by another worker until/);
    await leaseRunOut(sanctionId);
    expect(await claim()).toEqual({ outcome: true, count: 1 });
    await t.sql(`UPDATE sanctions SET email_claimed_at = NULL, lifted_at = now() WHERE id = $1`, [sanctionId]);
    expect(await claim()).toEqual({ outcome: false, count: 1 });
  });

  it('holds back in the digest the notice of a sanction whose e-mail is claimed, and e-mails it once the claim ran out unsent, once', async () => {
    // Claimed, then lifted before the dead worker's claim ran out: the sanction's own e-mail no
    // longer goes, and the digest tells it in its stead, but only once nobody may still be sending it.
    const member = await makeUser(t);
    const sanctionId = await sanction(member.id, { kind: 'SUSPEND', durationHours: 48 });
    expect(await claimAndDie(member.id, sanctionId)).toBe(true);
    // The event delivered again sends nothing now that the sanction is over (and delivers its notice).
    expect(await mailsTo(member, () => t.gql(LIFT, { id: sanctionId }, { token: admin.token }))).toEqual([]);
    expect(await digestTo(member)).toEqual([]);
    expect(await t.sql(`SELECT emailed_at FROM notifications WHERE user_id = $1 AND kind = 'SANCTION'`, [member.id])).toEqual([{ emailed_at: null }]);
    await leaseRunOut(sanctionId);
    expect(await digestTo(member)).toEqual([['• A moderator sent you a notice']]);
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [member.id]);
    expect(await digestTo(member)).toEqual([]);
  });

  it('judges what a member may be e-mailed now from one read of their barring sanctions, as two reads judged it', async () => {
    const [free, banned, twice] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const ban = await sanction(banned.id, { kind: 'BAN' });
    const inSpace = await sanction(banned.id, { kind: 'SUSPEND', durationHours: 48, spaceId: (await makeSpace(t, 'PUBLIC')).id });
    const [first, second] = [await sanction(twice.id, { kind: 'SUSPEND', durationHours: 48 }), await sanction(twice.id, { kind: 'BAN' })];
    // One barring sanction whose e-mail SanctionMail gave up: its notice goes by the digest.
    await t.sql(`UPDATE sanctions SET email_given_up_at = now() WHERE id = $1`, [second]);
    const cases: Array<[TestUser, string, Record<string, unknown>]> = [];
    for (const u of [free, banned, twice]) {
      for (const kind of ['MENTION', 'APPEAL_DECIDED', 'SANCTION']) cases.push([u, kind, {}]);
      for (const sanctionId of [ban, inSpace, first, second]) cases.push([u, 'SANCTION', { sanctionId }]);
    }
    const values = cases.map((_, i) => `(${i}, $${3 * i + 2}::uuid, $${3 * i + 3}, $${3 * i + 4}::jsonb)`).join(', ');
    const params = [STANDING_KINDS, ...cases.flatMap(([u, kind, data]) => [u.id, kind, JSON.stringify(data)])];
    const judged = (condition: string) => t.sql(`SELECT n.i, ${condition} AS ok FROM (VALUES ${values}) n(i, user_id, kind, data) JOIN users u ON u.id = n.user_id ORDER BY n.i`, params);
    // The judgement as it was written with two reads of the sanctions.
    const givenUp = `EXISTS (SELECT 1 FROM sanctions g WHERE g.id::text = n.data->>'sanctionId' AND g.email_given_up_at IS NOT NULL)`;
    const twoReads = `(NOT ${AccessService.barredSiteWideSql('u.id')}
      OR (n.kind = ANY($1::text[]) AND NOT (n.kind = 'SANCTION' AND ${AccessService.barredSiteWideSql('u.id', `n.data->>'sanctionId'`)} AND NOT ${givenUp})))`;
    const now = await judged(mailableNowSql('n', 'u', '$1'));
    expect(now).toEqual(await judged(twoReads));
    expect(now.filter((r) => r.ok).length).toBeGreaterThan(0);
    expect(now.filter((r) => !r.ok).length).toBeGreaterThan(0);
    const [plan] = await t.sql(`EXPLAIN (FORMAT JSON) SELECT n.i FROM (VALUES ${values}) n(i, user_id, kind, data) JOIN users u ON u.id = n.user_id WHERE ${mailableNowSql('n', 'u', '$1')}`, params);
    expect(JSON.stringify(plan['QUERY PLAN']).match(/"Relation Name":"sanctions"/g)).toHaveLength(1);
  });

  it('tells a deleted account nothing', async () => {
    const gone = await makeUser(t);
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, { token: admin.token }));
    expect(await mailsTo(gone, () => sanction(gone.id, { kind: 'BAN' }))).toEqual([]);
    expect(await t.sql(`SELECT kind FROM notifications WHERE user_id = $1`, [gone.id])).toEqual([]);
  });
});
