import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { stampOf } from '../../libs/core/src/mail-lease';
import { makeUser, TestUser } from '../factories';
import { logSink } from '../support/log-sink';
import { smtpServer, SmtpServer } from '../support/smtp-server';
import { HeldLock, holdLock } from '../support/row-locks';
import { pollFor, waitForLockWaits } from '../support/lock-waits';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { gateCalls } from '../support/gates';
import { NotificationVisibility } from '../../libs/notifications/src/notifications';

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
  /** Whether the user's address is on the bounce list. */
  const bouncing = async (u: TestUser) => (await t.sql(`SELECT email_bounced_at IS NOT NULL AS bouncing FROM users WHERE id = $1`, [u.id]))[0].bouncing;
  /** A user whose notification e-mail the server has just refused for good, with nothing else due. */
  const refusedUser = async () => {
    await nothingElseDue();
    const u = await makeUser(t);
    refuseForGood(u);
    await note(u);
    await t.get(EmailDigest).sendDue();
    return u;
  };
  /** A user the server refuses for now, with two notifications due and nothing else due. */
  const refusedForNowWithTwo = async () => {
    await nothingElseDue();
    const u = await makeUser(t);
    refuseForNow(u);
    await note(u);
    await note(u);
    return u;
  };
  const unread = async (u: TestUser) => expectOk(await t.gql(`{ notifications(unreadOnly: true) { totalCount } }`, {}, { token: u.token })).notifications.totalCount;

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

  it('puts an address refused for good on the bounce list: its news stays handled, and no later news is e-mailed to it, only listed in the app', async () => {
    const gone = await refusedUser();
    expect(tried(gone)).toBe(1);
    expect(await state(gone)).toEqual({ handled: true, stamped: true });
    expect(await bouncing(gone)).toBe(true);
    const digest = t.get(EmailDigest);
    await delayPassed(gone);
    await digest.sendDue();
    expect(tried(gone)).toBe(1);
    // News that comes later is not tried while the address bounces, however long it waits.
    for (let i = 0; i < 2; i++) {
      await note(gone);
      await delayPassed(gone);
      await digest.sendDue();
    }
    expect(tried(gone)).toBe(1);
    expect(await state(gone)).toEqual({ handled: true, stamped: true });
    expect(await unread(gone)).toBe(3);
  });

  /**
   * Users, one per reply, whose notification e-mail the server refuses with it (at the end of
   * DATA, or at RCPT TO), all tried in one run: what became of each (tried once, not delivered),
   * as `[reply, bouncing, handled]`.
   */
  const refusedWith = async (phase: 'RCPT TO' | 'DATA', replies: string[]) => {
    await nothingElseDue();
    const users = await Promise.all(replies.map(() => makeUser(t)));
    users.forEach((u, i) => (phase === 'DATA' ? smtp.refuseData : smtp.refuse).set(u.email, replies[i].replace('<to>', `<${u.email}>`)));
    for (const u of users) await note(u);
    expect(await t.get(EmailDigest).sendDue()).toEqual([]);
    expect(users.map((u) => [tried(u), delivered(u)])).toEqual(users.map(() => [1, 0]));
    return Promise.all(users.map(async (u, i) => [replies[i], await bouncing(u), (await state(u)).handled]));
  };

  it('puts an address refused at DATA on the bounce list when the status code says the mailbox is not there (5.1.x of the recipient, 5.2.1), whatever the text', async () => {
    const replies = [
      '550 5.1.1 <to>: Recipient address rejected: User unknown in local recipient table',
      // A reply of several lines (Gmail's), in another language (the text is never read).
      '550-5.1.1 Das E-Mail-Konto existiert nicht.\r\n550 5.1.1 https://support.example/mail/?p=NoSuchUser',
      '550 5.1.2 Host unknown',
      '550 5.1.6 Recipient no longer on server',
      '556 5.1.10 Recipient address has null MX',
      '550 5.2.1 Mailbox disabled, not accepting messages',
    ];
    expect(await refusedWith('DATA', replies)).toEqual(replies.map((r) => [r, true, true]));
    // Logged by its status code too, which quotes nobody.
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.map((line) => JSON.parse(line)).filter((entry) => entry.status === '5.1.10')).toEqual([expect.objectContaining({ level: 40, code: 'EMESSAGE', responseCode: 556, permanent: true })]);
  });

  it('leaves an address refused at DATA off the bounce list when the status code is about the message, policy or a full mailbox, or there is none: that message alone stays handled', async () => {
    const replies = [
      '554 5.7.1 <to>: Message rejected as spam by content filtering',
      '550 5.7.26 Unauthenticated email from parvis.example is not accepted due to its DMARC policy',
      '554 5.6.0 Message content rejected',
      '552 5.3.4 Message size exceeds fixed maximum message size',
      // Mailbox full: RFC 3463 calls it a persistent transient failure; its owner can make room.
      '552 5.2.2 <to>: Mailbox full',
      '554 Transaction failed',
    ];
    expect(await refusedWith('DATA', replies)).toEqual(replies.map((r) => [r, false, true]));
  });

  it('tries again a message refused at DATA for now (4xx, whatever its status), or for our sender’s address, and marks nothing', async () => {
    const replies = ['451 4.1.1 <to>: Recipient address rejected: unverified address: lookup failed', '452 4.2.2 Mailbox over quota', '550 5.1.8 <noreply@parvis.example>: Sender address rejected: Domain not found'];
    expect(await refusedWith('DATA', replies)).toEqual(replies.map((r) => [r, false, false]));
  });

  it('reads the status code at RCPT TO too: a blocked host, a full mailbox or a refused sender marks no address; a refusal of the recipient without one still does', async () => {
    const replies = [
      '554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.example',
      '550 5.7.1 <to>: Recipient address rejected: Access denied',
      '552 5.2.2 <to>: Mailbox full',
      '550 5.1.8 <noreply@parvis.example>: Sender address rejected: Domain not found',
      '550 5.7.27 Sender address has null MX',
      '550 5.4.1 Recipient address rejected: Access denied',
      '550 No such user here',
    ];
    expect(await refusedWith('RCPT TO', replies)).toEqual([
      [replies[0], false, true],
      [replies[1], false, true],
      [replies[2], false, true],
      [replies[3], false, false],
      [replies[4], false, false],
      [replies[5], true, true],
      [replies[6], true, true],
    ]);
  });

  it('drops only the message a policy refuses at RCPT TO (5.7.1): the address is not marked, and later news goes once the server takes it', async () => {
    await nothingElseDue();
    const u = await makeUser(t);
    smtp.refuse.set(u.email, `550 5.7.1 <${u.email}>: Recipient address rejected: Access denied`);
    await note(u);
    const digest = t.get(EmailDigest);
    await digest.sendDue();
    expect([tried(u), delivered(u), await bouncing(u)]).toEqual([1, 0, false]);
    // Not tried again: the same refusal would come.
    await delayPassed(u);
    await digest.sendDue();
    expect(tried(u)).toBe(1);
    smtp.refuse.delete(u.email);
    await note(u);
    await delayPassed(u);
    const [mail, ...more] = (await digest.sendDue()).filter((m) => m.to === u.email);
    expect([mail.text.split('\n').filter((line) => line.startsWith('• ')), more]).toEqual([['• A moderator sent you a notice'], []]);
  });

  it('marks an address only while it is the user’s: one changed while the server refused it starts clean', async () => {
    await nothingElseDue();
    const moving = await makeUser(t);
    const moved = `moved-${moving.email}`;
    smtp.refuse.set(moving.email, async () => {
      await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [moving.id, moved]);
      return `550 5.1.1 <${moving.email}>: Recipient address rejected: User unknown in virtual mailbox table`;
    });
    await note(moving);
    const digest = t.get(EmailDigest);
    await digest.sendDue();
    expect(tried(moving)).toBe(1);
    expect(await bouncing(moving)).toBe(false);
    await note(moving);
    await delayPassed(moving);
    expect((await digest.sendDue()).map((m) => m.to)).toEqual([moved]);
  });

  it('takes an address off the bounce list when it changes, whatever changes it, and only then', async () => {
    const user = await makeUser(t);
    const bounce = () => t.sql(`UPDATE users SET email_bounced_at = now() WHERE id = $1`, [user.id]);
    await bounce();
    await t.sql(`UPDATE users SET display_name = 'Renamed', email = email WHERE id = $1`, [user.id]);
    expect(await bouncing(user)).toBe(true);
    await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [user.id, `new-${user.email}`]);
    expect(await bouncing(user)).toBe(false);
    await bounce();
    await t.sql(`UPDATE users SET email = NULL WHERE id = $1`, [user.id]);
    expect(await bouncing(user)).toBe(false);
  });

  it('tells only the user themself whether their address is on the bounce list', async () => {
    const [bounced, other, admin] = [await makeUser(t), await makeUser(t), await makeUser(t, { role: 'ADMIN' })];
    await t.sql(`UPDATE users SET email_bounced_at = now() WHERE id = $1`, [bounced.id]);
    const ME = `{ me { emailBouncing } }`;
    const PROFILE = `query($h: String!) { user(handle: $h) { emailBouncing } }`;
    expect(expectOk(await t.gql(ME, {}, { token: bounced.token })).me.emailBouncing).toBe(true);
    expect(expectOk(await t.gql(ME, {}, { token: other.token })).me.emailBouncing).toBe(false);
    expect(expectOk(await t.gql(PROFILE, { h: bounced.handle }, { token: bounced.token })).user.emailBouncing).toBe(true);
    for (const token of [other.token, admin.token, undefined]) expect(expectOk(await t.gql(PROFILE, { h: bounced.handle }, { token })).user.emailBouncing).toBeNull();
  });

  it('sends a member whose address bounces a confirmation link on request; opening it takes the address off the list', async () => {
    const fixed = await refusedUser();
    expect(await bouncing(fixed)).toBe(true);
    smtp.refuse.delete(fixed.email); // its owner had the mailbox fixed
    const RESEND = `mutation { resendEmailVerification }`;
    expect(expectOk(await t.gql(RESEND, {}, { token: fixed.token })).resendEmailVerification).toBe(true);
    await t.get(OutboxWorker).drain();
    const mail = smtp.mails.filter((m) => m.to.includes(fixed.email) && m.text.includes('/verify-email?token=')).at(-1)!;
    expect(mail.text).toContain('Notification e-mails to this address stopped when a mail server refused one.');
    // A link sent is no proof yet; a link opened is.
    expect(await bouncing(fixed)).toBe(true);
    const token = /\/verify-email\?token=([A-Za-z0-9._-]+)/.exec(mail.text)![1];
    expect(expectOk(await t.gql(`mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) }`, { input: { token } })).verifyEmail).toBe(true);
    expect(await bouncing(fixed)).toBe(false);
    expectError(await t.gql(RESEND, {}, { token: fixed.token }), 'CONFLICT');
    await note(fixed);
    await delayPassed(fixed);
    expect((await t.get(EmailDigest).sendDue()).map((m) => m.to)).toEqual([fixed.email]);
  });

  it('counts a stored address that is no address as refused for good: it goes on the bounce list', async () => {
    await nothingElseDue();
    const broken = await makeUser(t);
    await t.sql(`UPDATE users SET email = $2 WHERE id = $1`, [broken.id, `${broken.handle} at example.com`]);
    await note(broken);
    expect(await t.get(EmailDigest).sendDue()).toEqual([]);
    expect(smtp.mails.filter((m) => m.to.some((to) => to.includes(broken.handle)))).toEqual([]);
    expect(await state(broken)).toEqual({ handled: true, stamped: true });
    expect(await bouncing(broken)).toBe(true);
  });

  it('does not try an account e-mail refused for good again, and puts the address on the bounce list; one refused for now is tried again', async () => {
    const resetFor = async (u: TestUser) =>
      expectOk(await t.gql(`mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) }`, { input: { email: u.email } }, { ip: '198.51.100.' + (++seq % 250) }));
    const resetEvent = async (u: TestUser) =>
      (await t.sql(`SELECT processed_at IS NOT NULL AS processed, attempts FROM outbox WHERE type = 'user.password_reset_requested' AND aggregate_id = $1`, [u.id]))[0];
    const gone = await makeUser(t);
    refuseForGood(gone);
    await resetFor(gone);
    await t.get(OutboxWorker).drain();
    expect(tried(gone)).toBe(1);
    expect(await resetEvent(gone)).toEqual({ processed: true, attempts: 1 });
    expect(await bouncing(gone)).toBe(true);
    expect(lines.filter((l) => l.includes(gone.email))).toEqual([]);

    const busy = await makeUser(t);
    refuseForNow(busy);
    await resetFor(busy);
    await t.get(OutboxWorker).drain();
    expect(tried(busy)).toBe(1);
    expect(await resetEvent(busy)).toEqual({ processed: false, attempts: 1 });
    expect(await bouncing(busy)).toBe(false);
    // Its turn again: the server takes it now.
    smtp.refuse.delete(busy.email);
    await t.sql(`UPDATE outbox SET available_at = now() WHERE type = 'user.password_reset_requested' AND aggregate_id = $1`, [busy.id]);
    await t.get(OutboxWorker).drain();
    expect(delivered(busy)).toBe(1);
    expect(await resetEvent(busy)).toEqual({ processed: true, attempts: 2 });
  });

  it('sends to a stored address as it is, never to an address a header parser would find in it', async () => {
    await nothingElseDue();
    const victim = `victim${seq++}@example.org`;
    const odd = await makeUser(t, { emailUnverified: true });
    // Only a hand-made row or an old import could hold this: sign-up refuses it.
    await t.sql(`UPDATE users SET email = $2, email_verified_at = now() WHERE id = $1`, [odd.id, `mallory<${victim}>`]);
    await note(odd);
    await t.get(EmailDigest).sendDue();
    await t.sql(`UPDATE users SET email_verified_at = NULL WHERE id = $1`, [odd.id]);
    expectOk(await t.gql(`mutation { resendEmailVerification }`, {}, { token: odd.token }));
    await t.get(OutboxWorker).drain();
    expect(smtp.recipients.filter((r) => r.includes(victim) && !r.includes('mallory'))).toEqual([]);
  });

  it('tries a message refused for now again once the delay has passed, not on every run', async () => {
    const busy = await refusedForNowWithTwo();
    const digest = t.get(EmailDigest);
    await digest.sendDue();
    expect(tried(busy)).toBe(1);
    expect(await state(busy)).toEqual({ handled: false, stamped: true });
    expect(await bouncing(busy)).toBe(false);
    await digest.sendDue();
    expect(tried(busy)).toBe(1);
    smtp.refuse.delete(busy.email);
    await delayPassed(busy);
    const sent = await digest.sendDue();
    expect(sent.filter((m) => m.to === busy.email).map((m) => m.subject)).toEqual(['2 new notifications on Parvis']);
    expect([tried(busy), delivered(busy)]).toEqual([2, 1]);
    expect(await state(busy)).toEqual({ handled: true, stamped: true });
  });

  // The row held is the one the put-back takes last: in the order a statement's scan meets them (the
  // table's or its key's, as a plain UPDATE takes them), or in id order (as the put-back takes them).
  it.each([
    ['met last by a scan', ''],
    ['last by id', 'ORDER BY id'],
  ])('puts a message refused for now back even when that loses a deadlock (the row held %s), and the run goes on to the others', async (_, order) => {
    await nothingElseDue();
    const busy = await makeUser(t);
    const next = await makeUser(t);
    // The refused member's news is the oldest, so the run tries them first.
    await note(busy, 40);
    await note(busy, 40);
    await note(next, 20);
    // As the run holds them: by when they came.
    const ids = (await t.sql(`SELECT id FROM notifications WHERE user_id = $1 ORDER BY created_at, id`, [busy.id])).map((r: { id: string }) => r.id);
    let holder: HeldLock | undefined;
    let held = '';
    let other = '';
    // While the mail server answers, another writer (the member marking their news read) takes that
    // row, and waits long before it looks for a deadlock: the put-back, which waits first, finds it
    // and is its victim.
    smtp.refuse.set(busy.email, async () => {
      const h = await holdLock(t, `SET LOCAL deadlock_timeout = '1min'`, []);
      [other, held] = (await h.query(`SELECT id FROM notifications WHERE id = ANY($1::uuid[]) ${order}`, [ids])).map((r: { id: string }) => r.id);
      await h.query(`SELECT 1 FROM notifications WHERE id = $1 FOR NO KEY UPDATE`, [held]);
      holder = h;
      return `451 4.3.0 <${busy.email}>: Temporary lookup failure`;
    });
    const run = t.get(EmailDigest).sendDue();
    try {
      await waitForLockWaits(t, 1, await pollFor(async () => holder, 'the member’s write to hold the row'));
      // The put-back holds the other row and waits for this one: asking for the other closes the circle.
      await holder!.query(`UPDATE notifications SET read_at = now() WHERE id = $1`, [other]);
    } finally {
      await holder?.release();
    }
    const sent = await run;
    expect(sent.map((m) => m.to)).toEqual([next.email]);
    expect(delivered(next)).toBe(1);
    // The refused member's news is back in the due set, but for what they read meanwhile.
    const rows = await t.sql(`SELECT id, read_at IS NOT NULL AS read, emailed_at IS NOT NULL AS handled FROM notifications WHERE user_id = $1`, [busy.id]);
    expect(rows.sort((a: { read: boolean }, b: { read: boolean }) => Number(b.read) - Number(a.read))).toEqual([
      { id: other, read: true, handled: false },
      { id: held, read: false, handled: false },
    ]);
    smtp.refuse.delete(busy.email);
  });

  it('keeps refused addresses from taking every run: the others are reached on the next', async () => {
    await nothingElseDue();
    // The refused accounts come first by id, and their news is the oldest.
    const [gone, busy, waiting] = (await Promise.all([makeUser(t), makeUser(t), makeUser(t)])).sort((a, b) => (a.id < b.id ? -1 : 1));
    refuseForGood(gone);
    refuseForNow(busy);
    await note(gone, 40);
    await note(busy, 30);
    await note(waiting, 20);
    const digest = t.get(EmailDigest);
    expect(await digest.sendDue(2)).toEqual([]);
    expect([tried(gone), tried(busy), tried(waiting)]).toEqual([1, 1, 0]);
    expect((await digest.sendDue(2)).map((m) => m.to)).toEqual([waiting.email]);
    expect([tried(gone), tried(busy), tried(waiting)]).toEqual([1, 1, 1]);
  });

  it('takes first the users whose news has waited longest, whatever their ids', async () => {
    await nothingElseDue();
    const [early, late] = (await Promise.all([makeUser(t), makeUser(t)])).sort((a, b) => (a.id < b.id ? -1 : 1));
    await note(early, 20);
    await note(late, 60);
    const digest = t.get(EmailDigest);
    expect((await digest.sendDue(1)).map((m) => m.to)).toEqual([late.email]);
    expect((await digest.sendDue(1)).map((m) => m.to)).toEqual([early.email]);
  });

  /** Makes every statement matching `sql` fail as a deadlock's victim would, until restored. */
  const failStatements = (sql: RegExp) => {
    const query = t.ds.query.bind(t.ds);
    return jest.spyOn(t.ds, 'query').mockImplementation(async (text: string, params?: unknown[], runner?: unknown) => {
      if (sql.test(text)) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      return query(text, params, runner as never);
    });
  };
  /** The put-back's statement (before and after claims became leases). */
  const PUT_BACK = /UPDATE notifications n SET email(ed|_claimed)_at = NULL/;
  /** As if the claim's lease (MAIL_CLAIM_LEASE_SECONDS) had run out on `u`'s news. */
  const leaseRanOut = (u: TestUser) => t.sql(`UPDATE notifications SET email_claimed_at = email_claimed_at - interval '16 minutes' WHERE user_id = $1`, [u.id]);

  it('loses no news when putting it back fails every try: it stays claimed, is not sent within the lease, and goes once the lease has run out', async () => {
    const busy = await refusedForNowWithTwo();
    const digest = t.get(EmailDigest);
    const failing = failStatements(PUT_BACK);
    try {
      await digest.sendDue();
    } finally {
      failing.mockRestore();
    }
    expect(tried(busy)).toBe(1);
    expect(await state(busy)).toEqual({ handled: false, stamped: true });
    smtp.refuse.delete(busy.email);
    // Within the lease, no other run takes it, whatever the delay.
    await delayPassed(busy);
    expect((await digest.sendDue()).filter((m) => m.to === busy.email)).toEqual([]);
    await leaseRanOut(busy);
    await delayPassed(busy);
    expect((await digest.sendDue()).filter((m) => m.to === busy.email).map((m) => m.subject)).toEqual(['2 new notifications on Parvis']);
    expect([tried(busy), delivered(busy)]).toEqual([2, 1]);
    expect(await state(busy)).toEqual({ handled: true, stamped: true });
    expect((await digest.sendDue()).filter((m) => m.to === busy.email)).toEqual([]);
  });

  it.each([
    ['put back at once', false],
    ['left claimed when putting it back fails too, until the lease runs out', true],
  ])('loses no news when a statement between the claim and the sends fails: the run fails, its news is %s, and a later run sends it', async (_, putBackFails) => {
    await nothingElseDue();
    const member = await makeUser(t);
    await note(member);
    const digest = t.get(EmailDigest);
    const check = jest.spyOn(t.get(NotificationVisibility), 'check').mockRejectedValueOnce(Object.assign(new Error('connection lost'), { code: '57P01' }));
    const failing = putBackFails ? failStatements(PUT_BACK) : undefined;
    try {
      await expect(digest.sendDue()).rejects.toThrow('connection lost');
    } finally {
      check.mockRestore();
      failing?.mockRestore();
    }
    expect(tried(member)).toBe(0);
    expect(await state(member)).toEqual({ handled: false, stamped: true });
    await delayPassed(member);
    if (putBackFails) {
      expect((await digest.sendDue()).filter((m) => m.to === member.email)).toEqual([]);
      await leaseRanOut(member);
    }
    expect((await digest.sendDue()).filter((m) => m.to === member.email).map((m) => m.subject)).toEqual(['1 new notification on Parvis']);
    expect(delivered(member)).toBe(1);
    expect(await state(member)).toEqual({ handled: true, stamped: true });
  });

  it('sends nothing a run claimed once its lease ran out and another run took it over: the news goes once', async () => {
    await nothingElseDue();
    const member = await makeUser(t);
    await note(member);
    const digest = t.get(EmailDigest);
    // The first run is held after its claim, before its sends.
    let calls = 0;
    const gate = gateCalls(t.get(NotificationVisibility), 'check', () => calls++ === 0);
    const first = digest.sendDue();
    try {
      await gate.begun;
      // Within its lease, another run takes none of it, the delay passed or not.
      await delayPassed(member);
      expect((await digest.sendDue()).filter((m) => m.to === member.email)).toEqual([]);
      // Past it, another run takes it over and sends it.
      await leaseRanOut(member);
      await delayPassed(member);
      expect((await digest.sendDue()).filter((m) => m.to === member.email)).toHaveLength(1);
    } finally {
      gate.restore();
    }
    expect((await first).filter((m) => m.to === member.email)).toEqual([]);
    expect(delivered(member)).toBe(1);
    expect(await state(member)).toEqual({ handled: true, stamped: true });
  });
  /** A member with one notification due, and nothing else due. */
  const memberDue = async () => {
    await nothingElseDue();
    const u = await makeUser(t);
    await note(u);
    return u;
  };
  /** The stamp of `u`'s claim, as the digest carries it (`stampOf`). */
  const claimOf = async (u: TestUser) => BigInt((await t.sql(`SELECT ${stampOf('email_claimed_at')} AS stamp FROM notifications WHERE user_id = $1`, [u.id]))[0].stamp);
  /**
   * A run whose send to `u` the mail server holds at RCPT TO while `meanwhile` runs (told the
   * sends' renewal ticks, made by hand instead of by a timer, and which call of the server's this
   * is), then takes, or refuses with the reply `meanwhile` answers; what the run sent to `u`.
   */
  const runHeldAtRcpt = async (u: TestUser, meanwhile: (ticks: Array<() => Promise<void>>, call: number) => Promise<string | void>) => {
    const ticks: Array<() => Promise<void>> = [];
    const digest = t.get(EmailDigest) as unknown as { everyRenewal: (tick: () => Promise<void>) => () => void };
    const byHand = jest.spyOn(digest, 'everyRenewal').mockImplementation((tick) => {
      ticks.push(tick);
      return () => undefined;
    });
    let calls = 0;
    smtp.refuse.set(u.email, async () => (await meanwhile(ticks, calls++)) ?? undefined);
    try {
      return (await t.get(EmailDigest).sendDue()).filter((m) => m.to === u.email);
    } finally {
      byHand.mockRestore();
      smtp.refuse.delete(u.email);
    }
  };
  /** `u`'s news went out once, and is handled. */
  const sentOnce = async (u: TestUser) => {
    expect(delivered(u)).toBe(1);
    expect(await state(u)).toEqual({ handled: true, stamped: true });
  };
  /** A send of `u`'s stopped, or never started: nothing delivered, their news neither handled nor put back (still claimed), their stamp kept. */
  const leftClaimed = async (u: TestUser) => {
    expect(delivered(u)).toBe(0);
    expect(await state(u)).toEqual({ handled: false, stamped: true });
  };
  /** Once the lease of `u`'s claim ran out (and the delay passed), a run sends their news: once in all. */
  const sentOnceAfterTheLease = async (u: TestUser) => {
    await leaseRanOut(u);
    await delayPassed(u);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === u.email)).toHaveLength(1);
    await sentOnce(u);
  };

  it('keeps its claim while a slow mail server holds the send: the send renews it, and no other run takes it meanwhile', async () => {
    const member = await memberDue();
    const stamps: bigint[] = [];
    let meanwhile: Array<{ to: string }> | undefined;
    // The server waits at RCPT TO while the send's renewal comes due, and another run looks.
    const sent = await runHeldAtRcpt(member, async (ticks) => {
      stamps.push(await claimOf(member));
      for (const tick of ticks) await tick();
      stamps.push(await claimOf(member));
      await delayPassed(member);
      meanwhile = await t.get(EmailDigest).sendDue();
    });
    expect(stamps[1] > stamps[0]).toBe(true);
    expect(meanwhile?.filter((m) => m.to === member.email)).toEqual([]);
    expect(sent).toHaveLength(1);
    await sentOnce(member);
  });

  it.each([
    ['for now: its news is put back', '451 4.3.0 Temporary lookup failure', false],
    ['for good: its news is handled', '550 5.7.1 Message refused by policy', true],
  ])('deals with a message the mail server refuses after the send renewed its claim, under the renewed claim (%s)', async (_, refusal, handled) => {
    const member = await memberDue();
    const stamps: bigint[] = [];
    const sent = await runHeldAtRcpt(member, async (ticks) => {
      stamps.push(await claimOf(member));
      for (const tick of ticks) await tick();
      stamps.push(await claimOf(member));
      return refusal;
    });
    expect(stamps[1] > stamps[0]).toBe(true);
    expect(sent).toEqual([]);
    // The run's renewed claim goes: nothing waits for the lease to run out.
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS handled, email_claimed_at FROM notifications WHERE user_id = $1`, [member.id])).toEqual([{ handled, email_claimed_at: null }]);
  });

  it('stops a send whose claim another run took over while a slow mail server held it: the message goes once', async () => {
    const member = await memberDue();
    let other: Array<{ to: string }> = [];
    const first = await runHeldAtRcpt(member, async (ticks, call) => {
      // The other run's send goes through at once.
      if (call > 0) return;
      // The server took longer than the lease over its steps: another run takes the news over and sends it.
      await leaseRanOut(member);
      await delayPassed(member);
      other = await t.get(EmailDigest).sendDue();
      // The first send's next renewal comes due before the server answers it.
      await ticks[0]?.();
    });
    expect(other.filter((m) => m.to === member.email)).toHaveLength(1);
    expect(first).toEqual([]);
    await sentOnce(member);
  });

  it.each([
    [
      'two renewals in a row fail (the lease might run out before a third)',
      async (tick: () => Promise<void>) => {
        const failing = failStatements(/^UPDATE notifications n SET email_claimed_at = now\(\)\s/);
        try {
          for (let i = 0; i < 2; i++) await tick();
        } finally {
          failing.mockRestore();
        }
      },
    ],
    [
      'a renewal comes due with the lease nearly out by the local clock (the process stalled)',
      async (tick: () => Promise<void>) => {
        const clock = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 13 * 60 * 1000);
        try {
          await tick();
        } finally {
          clock.mockRestore();
        }
      },
    ],
  ])('stops a send whose claim it cannot keep in time, leaving its news to a run after the lease: the message goes once (%s)', async (_, dueWhileHeld) => {
    const member = await memberDue();
    expect(await runHeldAtRcpt(member, (ticks) => dueWhileHeld(ticks[0]))).toEqual([]);
    await leftClaimed(member);
    // Within the lease, no other run takes it; past it, one sends it.
    await delayPassed(member);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === member.email)).toEqual([]);
    await sentOnceAfterTheLease(member);
  });
  it('sends nothing when the lease is nearly out by the local clock by the time the message is ready (the process stalled after the renewal): the message goes once, after the lease', async () => {
    const member = await memberDue();
    const digest = t.get(EmailDigest);
    const seal = digest.unsubscribeToken.bind(digest);
    // The process stalls while the message is made, after the renewal, before the send starts.
    let clock: jest.SpyInstance | undefined;
    const stall = jest.spyOn(digest, 'unsubscribeToken').mockImplementation((userId, kind) => {
      clock ??= jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 13 * 60 * 1000);
      return seal(userId, kind);
    });
    let first: Array<{ to: string }>;
    try {
      first = (await digest.sendDue()).filter((m) => m.to === member.email);
    } finally {
      stall.mockRestore();
      clock?.mockRestore();
    }
    expect(clock).toBeDefined();
    expect(first).toEqual([]);
    await leftClaimed(member);
    await sentOnceAfterTheLease(member);
  });
  it('stops a send at once when a renewal comes due with the lease nearly out, even while an earlier renewal still waits for its rows', async () => {
    const member = await memberDue();
    const [{ id }] = await t.sql(`SELECT id FROM notifications WHERE user_id = $1`, [member.id]);
    const sent = await runHeldAtRcpt(member, async (ticks) => {
      // A renewal waits for a row another transaction holds (a member marking it read, say)…
      const held = await holdLock(t, `SELECT 1 FROM notifications WHERE id = $1 FOR NO KEY UPDATE`, [id]);
      let waiting: Promise<void> | undefined;
      let stalled: Promise<void> | undefined;
      try {
        waiting = ticks[0]();
        await waitForLockWaits(t, 1, held);
        // …when the process comes back from a stall: the next step may follow at once.
        const clock = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 13 * 60 * 1000);
        try {
          stalled = ticks[0]();
        } finally {
          clock.mockRestore();
        }
      } finally {
        await held.release();
      }
      await Promise.all([waiting, stalled]);
    });
    expect(sent).toEqual([]);
    await leftClaimed(member);
  });
});
