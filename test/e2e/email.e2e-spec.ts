import request from 'supertest';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic, reply, setTopicState } from '../factories/forum';
import { NotificationVisibility } from '../../libs/notifications/src/notifications';
import { gateCalls } from '../support/gates';
import { backendPid, doneOrWaiting, waitForLockWaits } from '../support/lock-waits';
import { holdLock, withLockHeld } from '../support/row-locks';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

describe('notification e-mails', () => {
  let t: TestApp;
  let board: string;
  beforeAll(async () => {
    t = await bootTestApp({ EMAIL_DELAY_MINUTES: '15', PUBLIC_URL: 'https://community.example' });
    board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(() => t.close());

  const age = (userId: string) => t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [userId]);
  /** The two statements each recipient's message costs (its claim renewed, then its news marked handled): per member by design. */
  const PER_MEMBER = /^UPDATE notifications n SET (email_claimed_at = CASE WHEN n\.read_at IS NULL THEN now\(\) END|emailed_at = now\(\), email_claimed_at = NULL)\s/;
  /** A run's statements but those two per recipient, which it checks are two per message sent. */
  const runCost = (cost: { statements: string[] }, messages: number) => {
    expect(cost.statements.filter((q) => PER_MEMBER.test(q))).toHaveLength(2 * messages);
    return cost.statements.filter((q) => !PER_MEMBER.test(q)).length;
  };

  it('e-mails unread notifications after the delay, one message per user, with an unsubscribe link that works signed out', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, board, { title: 'Hub pairing trouble' });
    await t.get(OutboxWorker).drain();
    const repliers = [await makeUser(t), await makeUser(t)];
    for (const [i, r] of repliers.entries()) await reply(t, r.token, topic.id, `reply ${i}`);
    const fans = [await makeUser(t), await makeUser(t), await makeUser(t)];
    for (const f of fans) expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: f.token }));
    await t.get(OutboxWorker).drain();
    const digest = t.get(EmailDigest);
    expect((await digest.sendDue()).filter((m) => m.to === author.email)).toEqual([]); // not yet due
    await age(author.id);
    const [mail] = (await digest.sendDue()).filter((m) => m.to === author.email);
    expect(mail.subject).toBe('3 new notifications on Parvis');
    // Who, what, where, and a link to the very post.
    const lines = mail.text.split('\n').filter((line) => line.startsWith('• '));
    expect(lines).toEqual([
      `• @${repliers[0].handle} replied in a topic you watch — “Hub pairing trouble” https://community.example/t/${topic.id}#post-2`,
      `• @${repliers[1].handle} replied in a topic you watch — “Hub pairing trouble” https://community.example/t/${topic.id}#post-3`,
      `• @${fans[0].handle} and 2 others reacted to your post — “Hub pairing trouble” https://community.example/t/${topic.id}`,
    ]);
    expect((await digest.sendDue()).filter((m) => m.to === author.email)).toEqual([]); // sent once

    const link = /\/unsubscribe\?token=(\S+)/.exec(mail.text)![1];
    await request(t.http).get(`/unsubscribe?token=${link}x`).expect(400);
    // Opening the link (as a mail scanner would) only asks; the form's POST unsubscribes.
    const page = await request(t.http).get(`/unsubscribe?token=${link}`).expect(200);
    expect(page.text).toContain('<form method="post"');
    const enabled = async () => (await t.sql(`SELECT enabled FROM email_preferences WHERE user_id = $1 AND kind = '*'`, [author.id]))[0]?.enabled ?? true;
    expect(await enabled()).toBe(true);
    await request(t.http).post('/unsubscribe').type('form').send({ token: `${link}x` }).expect(400);
    await request(t.http).post('/unsubscribe').type('form').send({ token: link }).expect(200);
    expect(await enabled()).toBe(false);
    await reply(t, (await makeUser(t)).token, topic.id, 'one more');
    await t.get(OutboxWorker).drain();
    await age(author.id);
    expect((await digest.sendDue()).filter((m) => m.to === author.email)).toEqual([]);
  });

  it('e-mails a batch of reactions that became news again while a run had it claimed, with everyone in it: the run does not mark it handled', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, board, { title: 'Reacted while claimed' });
    const like = async () =>
      expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: (await makeUser(t)).token }));
    await like();
    await t.get(OutboxWorker).drain();
    await age(author.id);
    const digest = t.get(EmailDigest);
    // The run is held after its claim, before its sends, while another reaction comes.
    let calls = 0;
    const gate = gateCalls(t.get(NotificationVisibility), 'check', () => calls++ === 0);
    const run = digest.sendDue();
    try {
      await gate.begun;
      await like();
      await t.get(OutboxWorker).drain();
    } finally {
      gate.restore();
    }
    expect((await run).filter((m) => m.to === author.email)).toEqual([]);
    await age(author.id);
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [author.id]);
    const mails = (await digest.sendDue()).filter((m) => m.to === author.email);
    expect(mails.map((m) => m.text.split('\n').filter((line) => line.startsWith('• ')))).toEqual([[expect.stringContaining('and 1 other reacted to your post')]]);
  });

  it('e-mails nothing the member read while a run had it claimed, and leaves no stamp when that was all of it', async () => {
    const member = await makeUser(t);
    let made = 0;
    const notes = async (n: number) => {
      for (let i = 0; i < n; i++) await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2)`, [member.id, `read-claimed:${member.id}:${made++}`]);
      await age(member.id);
      return (await t.sql(`SELECT id FROM notifications WHERE user_id = $1 AND read_at IS NULL AND emailed_at IS NULL ORDER BY id`, [member.id])).map((r: { id: string }) => r.id);
    };
    /** A run held after its claim, before its sends, while the member reads `ids` in the app. */
    const runReading = async (ids: string[]) => {
      let calls = 0;
      const gate = gateCalls(t.get(NotificationVisibility), 'check', () => calls++ === 0);
      const run = t.get(EmailDigest).sendDue();
      try {
        await gate.begun;
        expect(expectOk(await t.gql(`mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`, { ids }, { token: member.token })).markNotificationsRead).toBe(ids.length);
      } finally {
        gate.restore();
      }
      return (await run).filter((m) => m.to === member.email);
    };
    const stamped = async () => (await t.sql(`SELECT digest_sent_at IS NOT NULL AS stamped FROM users WHERE id = $1`, [member.id]))[0].stamped;
    // One of two read meanwhile: the message tells the other alone.
    const [first] = await notes(2);
    expect((await runReading([first])).map((m) => m.subject)).toEqual(['1 new notification on Parvis']);
    expect(await stamped()).toBe(true);
    // All of it read meanwhile: nothing goes, and no stamp holds back the next message.
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [member.id]);
    expect(await runReading(await notes(1))).toEqual([]);
    expect(await stamped()).toBe(false);
  });

  it('writes no preference for an account deleted since its unsubscribe link was sent', async () => {
    const [member, admin] = [await makeUser(t), await makeUser(t, { role: 'ADMIN' })];
    const link = await t.get(EmailDigest).unsubscribeToken(member.id, '*');
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: member.id }, { token: admin.token }));
    await request(t.http).post('/unsubscribe').type('form').send({ token: link });
    expect(await t.sql(`SELECT kind FROM email_preferences WHERE user_id = $1`, [member.id])).toEqual([]);
  });

  it('writes no preference for an imported author’s placeholder, which nobody signs in to, from a link or the API', async () => {
    const placeholder = await makeUser(t);
    await t.sql(`UPDATE users SET is_placeholder = true WHERE id = $1`, [placeholder.id]);
    const link = await t.get(EmailDigest).unsubscribeToken(placeholder.id, '*');
    await request(t.http).post('/unsubscribe').type('form').send({ token: link });
    expect(await t.get(EmailDigest).setPreference(placeholder.id, 'MENTION', false)).toBe(false);
    expect(await t.sql(`SELECT kind FROM email_preferences WHERE user_id = $1`, [placeholder.id])).toEqual([]);
  });

  it('keeps each notification to one line of the e-mail: a title cannot add lines of its own', async () => {
    const author = await makeUser(t);
    const forged = 'Help\n\nStop these e-mails: https://evil.example/unsubscribe';
    expectError(await t.gql(`mutation($input: CreateTopicInput!) { createTopic(input: $input) { id } }`, { input: { boardId: board, title: forged, body: 'x' } }, { token: author.token }), 'BAD_USER_INPUT');
    // A title stored before titles were kept to one line.
    const topic = await createTopic(t, author.token, board, { title: 'Help wanted' });
    await t.sql(`UPDATE topics SET title = $2 WHERE id = $1`, [topic.id, forged]);
    await reply(t, (await makeUser(t)).token, topic.id, 'a reply');
    await t.get(OutboxWorker).drain();
    await age(author.id);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === author.email);
    expect(mail.text.split('\n').filter((line) => line.includes('evil.example'))).toEqual([
      expect.stringMatching(/^• .*“Help Stop these e-mails: https:\/\/evil\.example\/unsubscribe” https:\/\/community\.example\/t\//),
    ]);
  });

  it('takes direction controls out of a title, so it cannot turn the link after it around', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, board, { title: 'Invoice' });
    // Stored before titles refused them: an override that would show the rest of the line backwards.
    await t.sql(`UPDATE topics SET title = $2 WHERE id = $1`, [topic.id, 'Invoice \u202Efdp.exe\u2066\u2069\u200F']);
    await reply(t, (await makeUser(t)).token, topic.id, 'a reply');
    await t.get(OutboxWorker).drain();
    await age(author.id);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === author.email);
    expect(mail.text).not.toMatch(/[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u);
    expect(mail.text).toContain(`“Invoice fdp.exe” https://community.example/t/${topic.id}#post-2`);
  });

  it('offers, beside the link that stops every e-mail, one per kind the e-mail holds that stops only that kind', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, board, { title: 'Per-kind links' });
    await t.get(OutboxWorker).drain();
    const tell = async (text: string) => {
      await reply(t, (await makeUser(t)).token, topic.id, text);
      expectOk(await t.gql(`mutation($input: ReactionInput!) { react(input: $input) { id } }`, { input: { postId: topic.firstPostId, kind: 'LIKE' } }, { token: (await makeUser(t)).token }));
      await t.get(OutboxWorker).drain();
      await age(author.id);
      await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [author.id]);
      return (await t.get(EmailDigest).sendDue()).find((m) => m.to === author.email)!;
    };
    const mail = await tell('first reply');
    const only = mail.text.split('\n').filter((line) => line.startsWith('Stop only'));
    expect(only.map((line) => line.replace(/: https:.*$/, ''))).toEqual(['Stop only e-mails about replies in topics you watch', 'Stop only e-mails about reactions to your posts']);
    const token = decodeURIComponent(/token=(\S+)$/.exec(only[1])![1]);
    const page = await request(t.http).get(`/unsubscribe?token=${encodeURIComponent(token)}`).expect(200);
    expect(page.text).toContain('Stop e-mails from Parvis about reactions to your posts?');
    const done = await request(t.http).post('/unsubscribe').type('form').send({ token }).expect(200);
    expect(done.text).toBe('You will no longer receive e-mails from Parvis about reactions to your posts.');
    const prefs = expectOk(await t.gql(`{ emailPreferences { kind enabled } }`, {}, { token: author.token })).emailPreferences;
    expect(prefs.filter((p: any) => !p.enabled)).toEqual([{ kind: 'REACTIONS', enabled: false }]);
    const next = await tell('second reply');
    expect(next.text.split('\n').filter((line) => line.startsWith('• ')).map((line) => line.includes('replied in a topic you watch'))).toEqual([true]);
    expect(next.text).not.toContain('Stop only');
  });

  it('takes a mail client’s one-click unsubscribe (RFC 8058): a POST to the link itself', async () => {
    const user = await makeUser(t);
    const token = await t.get(EmailDigest).unsubscribeToken(user.id, '*');
    await request(t.http).post(`/unsubscribe?token=${token}`).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(await t.sql(`SELECT enabled FROM email_preferences WHERE user_id = $1 AND kind = '*'`, [user.id])).toEqual([{ enabled: false }]);
  });

  it('lets users turn e-mail off per kind, and skips what they already read', async () => {
    const user = await makeUser(t);
    const prefs = `mutation($input: EmailPreferenceInput!) { setEmailPreference(input: $input) { kind enabled } }`;
    const after = expectOk(await t.gql(prefs, { input: { kind: 'MENTION', enabled: false } }, { token: user.token })).setEmailPreference;
    expect(after.find((p: { kind: string }) => p.kind === 'MENTION').enabled).toBe(false);
    expectError(await t.gql(prefs, { input: { kind: 'GOSSIP', enabled: false } }, { token: user.token }), 'BAD_USER_INPUT');
    await createTopic(t, (await makeUser(t)).token, board, { body: `hello @${user.handle}` });
    await t.get(OutboxWorker).drain();
    await age(user.id);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === user.email)).toEqual([]);

    const reader = await makeUser(t);
    await createTopic(t, (await makeUser(t)).token, board, { body: `hi @${reader.handle}` });
    await t.get(OutboxWorker).drain();
    expectOk(await t.gql(`mutation { markNotificationsRead }`, {}, { token: reader.token }));
    await age(reader.id);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === reader.email)).toEqual([]);

    // Reading the topic up to the post reads its notification too: no e-mail, no unread badge.
    const asker = await makeUser(t);
    const topic = await createTopic(t, asker.token, board);
    await t.get(OutboxWorker).drain();
    await reply(t, (await makeUser(t)).token, topic.id, 'an answer the asker reads at once');
    await t.get(OutboxWorker).drain();
    await age(asker.id);
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId: topic.id, postNumber: 2 } }, { token: asker.token }));
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === asker.email)).toEqual([]);
    const unread = `query { notifications(first: 10, unreadOnly: true) { totalCount } }`;
    expect(expectOk(await t.gql(unread, {}, { token: asker.token })).notifications.totalCount).toBe(0);

    // Read before the worker turned the reply into news (a live client marks it as it arrives):
    // born read, so neither counted nor e-mailed.
    const quick = await makeUser(t);
    const quickTopic = await createTopic(t, quick.token, board);
    await t.get(OutboxWorker).drain();
    await reply(t, (await makeUser(t)).token, quickTopic.id, `an answer @${quick.handle} reads live`);
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId: quickTopic.id, postNumber: 2 } }, { token: quick.token }));
    await t.get(OutboxWorker).drain();
    expect(await t.sql(`SELECT kind, read_at IS NOT NULL AS read FROM notifications WHERE user_id = $1`, [quick.id])).toEqual([{ kind: 'MENTION', read: true }]);
    expect(expectOk(await t.gql(unread, {}, { token: quick.token })).notifications.totalCount).toBe(0);
    await age(quick.id);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === quick.email)).toEqual([]);

    // An edit that names someone in a post they had read is news: reading the topic again,
    // without moving on, leaves it unread, and it is e-mailed.
    const passer = await makeUser(t);
    const answerer = await makeUser(t);
    const answer = await reply(t, answerer.token, topic.id, 'a second answer');
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId: topic.id, postNumber: 3 } }, { token: passer.token }));
    expectOk(await t.gql(`mutation($input: EditPostInput!) { editPost(input: $input) { id } }`, { input: { postId: answer.id, body: `a second answer, for @${passer.handle}` } }, { token: answerer.token }));
    await t.get(OutboxWorker).drain();
    expectOk(await t.gql(`mutation($input: MarkReadInput!) { markRead(input: $input) { id } }`, { input: { topicId: topic.id, postNumber: 3 } }, { token: passer.token }));
    expect(expectOk(await t.gql(unread, {}, { token: passer.token })).notifications.totalCount).toBe(1);
    await age(passer.id);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === passer.email);
    expect(mail.subject).toBe('1 new notification on Parvis');
  });

  it('leaves out what the recipient can no longer read when the e-mail goes out', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const b = await makeBoard(t, space.id);
    const user = await makeUser(t);
    await createTopic(t, (await makeUser(t)).token, b, { title: 'Soon internal', body: `ping @${user.handle}` });
    await t.get(OutboxWorker).drain();
    await t.sql(`UPDATE spaces SET visibility = 'RESTRICTED' WHERE id = $1`, [space.id]);
    await age(user.id);
    const mails = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === user.email);
    expect(mails).toEqual([]);
    expect((await t.sql(`SELECT emailed_at IS NOT NULL AS done FROM notifications WHERE user_id = $1`, [user.id]))[0].done).toBe(true);
    // Nothing was sent, so nothing holds back the next e-mail (at most one per delay counts sent ones).
    await createTopic(t, (await makeUser(t)).token, board, { title: 'Still public', body: `ping again @${user.handle}` });
    await t.get(OutboxWorker).drain();
    await age(user.id);
    expect((await t.get(EmailDigest).sendDue()).filter((m) => m.to === user.email)).toHaveLength(1);
  });

  it('checks access for every recipient of a run together: more recipients of one post cost no more statements', async () => {
    const digest = t.get(EmailDigest);
    const costFor = async (n: number) => {
      const users = await Promise.all(Array.from({ length: n }, () => makeUser(t)));
      const topic = await createTopic(t, (await makeUser(t)).token, board, { title: `Mentions ${n}` });
      await reply(t, (await makeUser(t)).token, topic.id, users.map((u) => `@${u.handle}`).join(' '));
      await t.get(OutboxWorker).drain();
      for (const u of users) await age(u.id);
      let sent: Array<{ to: string }> = [];
      const cost = await t.countStatements(async () => (sent = await digest.sendDue()));
      expect(sent.filter((m) => users.some((u) => u.email === m.to))).toHaveLength(n);
      return runCost(cost, sent.length);
    };
    const few = await costFor(2); // first: it also loads the unsubscribe key
    expect(await costFor(5)).toBeLessThanOrEqual(few);
  });

  it('reads the posts of a run together: recipients told of different posts cost no more statements', async () => {
    const digest = t.get(EmailDigest);
    await digest.sendDue(); // whatever was due goes, and the unsubscribe key is loaded
    const costFor = async (n: number) => {
      const users = await Promise.all(Array.from({ length: n }, () => makeUser(t)));
      const topic = await createTopic(t, (await makeUser(t)).token, board, { title: `Separate mentions ${n}` });
      const writer = await makeUser(t);
      for (const u of users) await reply(t, writer.token, topic.id, `@${u.handle} this one is for you`);
      await t.get(OutboxWorker).drain();
      for (const u of users) await age(u.id);
      let sent: Array<{ to: string }> = [];
      const cost = await t.countStatements(async () => (sent = await digest.sendDue()));
      expect(sent.filter((m) => users.some((u) => u.email === m.to))).toHaveLength(n);
      return runCost(cost, sent.length);
    };
    expect(await costFor(6)).toBe(await costFor(2));
  });

  it('never names a topic the recipient can no longer read', async () => {
    const owner = await makeUser(t);
    const visible = await createTopic(t, owner.token, board, { title: 'Still public guide' });
    const secret = await createTopic(t, owner.token, board, { title: 'Launch plan under embargo' });
    const recipient = await makeUser(t);
    // Reminders about a topic alone (as knowledge verification ones are).
    for (const topicId of [visible.id, secret.id]) {
      await t.sql(`INSERT INTO notifications (id, user_id, kind, topic_id, data, source) VALUES (gen_random_uuid(), $1, 'VERIFICATION_DUE', $2, '{}', $3)`, [
        recipient.id,
        topicId,
        `test:${topicId}`,
      ]);
    }
    await setTopicState(t, secret.id, 'HIDDEN');
    await age(recipient.id);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === recipient.email);
    expect(mail.subject).toBe('1 new notification on Parvis');
    expect(mail.text).toContain('Still public guide');
    expect(mail.text).not.toContain('Launch plan under embargo');
  });

  it('links a removed post or topic when its author may read it when the e-mail goes out (restored, or a reply’s topic), and names nothing they may not', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const writer = await makeUser(t);
    const remove = async (postId: string) =>
      expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId, action: 'DELETE', reason: 'Off-topic' } }, { token: admin.token }));
    const restore = async (id: string) => expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id }, { token: admin.token }));
    const host = await createTopic(t, admin.token, board, { title: 'Topic of removed replies' });
    const [gone, back] = [await reply(t, writer.token, host.id, 'removed for good'), await reply(t, writer.token, host.id, 'removed, then restored')];
    const elsewhere = await createTopic(t, admin.token, board, { title: 'A topic taken out of reach' });
    const backThere = await reply(t, writer.token, elsewhere.id, 'removed, restored, its topic taken out of reach');
    const [goneTopic, backTopic, movedTopic] = [
      await createTopic(t, writer.token, board, { title: 'A topic still removed' }),
      await createTopic(t, writer.token, board, { title: 'A topic restored' }),
      await createTopic(t, writer.token, board, { title: 'A topic moved out of reach' }),
    ];
    for (const id of [gone.id, back.id, backThere.id, goneTopic.firstPostId, backTopic.firstPostId, movedTopic.firstPostId]) await remove(id);
    await t.get(OutboxWorker).drain(); // the notices, then what became of the posts
    for (const id of [back.id, backThere.id, backTopic.firstPostId]) await restore(id);
    const hidden = await makeBoard(t, (await makeSpace(t, 'RESTRICTED', [{ userId: admin.id, level: 'ADMIN' }])).id);
    for (const topicId of [movedTopic.id, elsewhere.id]) {
      expectOk(await t.gql(`mutation($input: MoveTopicInput!) { moveTopic(input: $input) { id } }`, { input: { topicId, boardId: hidden } }, { token: admin.token }));
    }
    await t.get(OutboxWorker).drain();
    await age(writer.id);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === writer.email);
    const removed = 'Your post was removed by moderation';
    expect(mail.text.split('\n').filter((line) => line.startsWith('• ')).sort()).toEqual(
      [
        // A reply: its topic, which its author reads; the very post once it is back.
        `• ${removed} — “Topic of removed replies” https://community.example/t/${host.id}`,
        `• ${removed} — “Topic of removed replies” https://community.example/t/${host.id}#post-3`,
        // A topic: named while removed (its author cannot open it), linked once it is back.
        `• ${removed} — “A topic still removed”`,
        `• ${removed} — “A topic restored” https://community.example/t/${backTopic.id}`,
      ].sort(),
    );
    // Neither the topic moved while removed nor the restored reply's topic taken out of reach: no title, no link.
    for (const secret of [movedTopic.id, 'moved out of reach', elsewhere.id, 'taken out of reach']) expect(mail.text).not.toContain(secret);
  });

  it('judges where to link removals for every recipient of a run together: more of them cost no more statements', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const digest = t.get(EmailDigest);
    const costFor = async (n: number) => {
      const writers = await Promise.all(Array.from({ length: n }, () => makeUser(t)));
      const posts = [];
      for (const w of writers) {
        const topic = await createTopic(t, admin.token, board, { title: `Removals ${n}` });
        posts.push((await reply(t, w.token, topic.id, 'removed, then restored')).id, (await createTopic(t, w.token, board, { title: `Removed ${n}` })).firstPostId);
      }
      for (const postId of posts) {
        expectOk(await t.gql(`mutation($input: ModeratePostInput!) { moderatePost(input: $input) { id } }`, { input: { postId, action: 'DELETE', reason: 'Off-topic' } }, { token: admin.token }));
      }
      await t.get(OutboxWorker).drain();
      for (const [i, id] of posts.entries()) if (i % 2 === 0) expectOk(await t.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id }, { token: admin.token }));
      for (const w of writers) await age(w.id);
      let sent: Array<{ to: string; text: string }> = [];
      const cost = await t.countStatements(async () => (sent = await digest.sendDue()));
      expect(sent.filter((m) => writers.some((w) => w.email === m.to) && m.text.includes('#post-2'))).toHaveLength(n);
      return runCost(cost, sent.length);
    };
    await costFor(1); // whatever else was due goes, and the unsubscribe key is loaded
    expect(await costFor(5)).toBe(await costFor(2));
  });

  it('takes what nobody will e-mail out of the due set, instead of reading it again every run', async () => {
    const [placeholder, optedOut, member] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    await t.sql(`UPDATE users SET is_placeholder = true WHERE id = $1`, [placeholder.id]);
    await t.sql(`INSERT INTO email_preferences (user_id, kind, enabled) VALUES ($1, '*', false)`, [optedOut.id]);
    for (const u of [placeholder, optedOut, member]) {
      await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2)`, [u.id, `due:${u.id}`]);
    }
    const handled = async (u: { id: string }) => (await t.sql(`SELECT emailed_at IS NOT NULL AS handled FROM notifications WHERE user_id = $1`, [u.id]))[0].handled;
    // Not due yet for anybody (the delay), but the two who will never get it leave the set now.
    expect((await t.get(EmailDigest).sendDue()).filter((m) => [placeholder.email, optedOut.email, member.email].includes(m.to))).toEqual([]);
    expect([await handled(placeholder), await handled(optedOut), await handled(member)]).toEqual([true, true, false]);
    await age(member.id);
    expect((await t.get(EmailDigest).sendDue()).map((m) => m.to)).toContain(member.email);
  });

  it('takes what nobody will e-mail out of the due set without waiting for a row another holds: it waits for the next run', async () => {
    const member = await makeUser(t, { emailUnverified: true });
    for (const i of [0, 1]) await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2)`, [member.id, `held:${member.id}:${i}`]);
    await age(member.id);
    const [held] = (await t.sql(`SELECT id FROM notifications WHERE user_id = $1 ORDER BY id`, [member.id])).map((r) => r.id);
    const handled = async () => (await t.sql(`SELECT emailed_at IS NOT NULL AS handled FROM notifications WHERE user_id = $1 ORDER BY id`, [member.id])).map((r) => r.handled);
    // One of them held as a write of it holds it (the member marking it read, their account's deletion):
    // waiting for it while holding the other could close a circle with such a write of both.
    await withLockHeld(t, `SELECT 1 FROM notifications WHERE id = $1 FOR NO KEY UPDATE`, [held], async (h) => {
      expect(await doneOrWaiting(t, t.get(EmailDigest).sendDue(), 1, h)).toBe('done');
    });
    expect(await handled()).toEqual([false, true]);
    await t.get(EmailDigest).sendDue();
    expect(await handled()).toEqual([true, true]);
  });

  it('never e-mails news old by now that stayed in the due set because another transaction held it when the run began', async () => {
    const member = await makeUser(t);
    await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source, created_at) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2, now() - interval '8 days')`, [member.id, `stale:${member.id}`]);
    const [{ id }] = await t.sql(`SELECT id FROM notifications WHERE user_id = $1`, [member.id]);
    // Held while the run takes old news out of the due set, let go before it claims.
    const held = await holdLock(t, `SELECT 1 FROM notifications WHERE id = $1 FOR NO KEY UPDATE`, [id]);
    const claim = gateCalls(t.ds, 'query', (sql: string) => sql.includes('WITH chosen'));
    try {
      const run = t.get(EmailDigest).sendDue();
      await claim.begun;
      await held.release();
      claim.restore();
      expect((await run).filter((m) => m.to === member.email)).toEqual([]);
    } finally {
      claim.restore();
      await held.release();
    }
    await t.get(EmailDigest).sendDue();
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS handled FROM notifications WHERE id = $1`, [id])).toEqual([{ handled: true }]);
  });

  it('sends one person at most one e-mail per delay, however steadily news trickles in', async () => {
    const user = await makeUser(t);
    const note = (i: number) => t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2)`, [user.id, `trickle:${user.id}:${i}`]);
    const mine = async () => (await t.get(EmailDigest).sendDue()).filter((m) => m.to === user.email).map((m) => m.subject);
    await note(0);
    await age(user.id);
    expect(await mine()).toEqual(['1 new notification on Parvis']);
    // Two more become due a minute apart: they wait for the next e-mail, together.
    for (const i of [1, 2]) {
      await note(i);
      await age(user.id);
      expect(await mine()).toEqual([]);
    }
    await t.sql(`UPDATE users SET digest_sent_at = now() - interval '16 minutes' WHERE id = $1`, [user.id]);
    expect(await mine()).toEqual(['2 new notifications on Parvis']);
  });

  it('knows its claim on any connection, whatever DateStyle and TimeZone the one that made it had: the stamp is compared as a timestamp', async () => {
    const member = await makeUser(t);
    await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2)`, [member.id, `datestyle:${member.id}`]);
    await age(member.id);
    // The claim runs on a connection set otherwise (a pool configured so, say); the rest on the app's.
    const odd = t.ds.createQueryRunner();
    await odd.connect();
    await odd.query(`SET DateStyle = 'SQL, DMY'`);
    await odd.query(`SET TimeZone = 'Pacific/Chatham'`);
    const query = t.ds.query.bind(t.ds);
    const claimOnOdd = jest
      .spyOn(t.ds, 'query')
      .mockImplementation((sql: string, params?: unknown[], runner?: unknown) => query(sql, params, (sql.includes('WITH chosen') ? odd : runner) as never));
    let sent: Array<{ to: string }> = [];
    try {
      sent = await t.get(EmailDigest).sendDue();
    } finally {
      claimOnOdd.mockRestore();
      await odd.query(`RESET DateStyle`);
      await odd.query(`RESET TimeZone`);
      await odd.release();
    }
    expect(sent.filter((m) => m.to === member.email)).toHaveLength(1);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS handled, email_claimed_at FROM notifications WHERE user_id = $1`, [member.id])).toEqual([{ handled: true, email_claimed_at: null }]);
  });

  it('takes whole users at a time, so one person’s notifications never split over two e-mails', async () => {
    const [first, second] = [await makeUser(t), await makeUser(t)].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const u of [first, second]) {
      for (let i = 0; i < 3; i++) {
        await t.sql(`INSERT INTO notifications (id, user_id, kind, data, source) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2)`, [u.id, `test:${u.id}:${i}`]);
      }
    }
    // Everything else due goes first, one user per run, until these two are reached.
    await t.sql(`UPDATE notifications SET emailed_at = now() WHERE emailed_at IS NULL AND user_id NOT IN ($1, $2)`, [first.id, second.id]);
    await age(first.id);
    await age(second.id);
    const digest = t.get(EmailDigest);
    const runs = [await digest.sendDue(1), await digest.sendDue(1), await digest.sendDue(1)];
    expect(runs.map((sent) => sent.map((m) => [m.to, m.subject]))).toEqual([
      [[first.email, '3 new notifications on Parvis']],
      [[second.email, '3 new notifications on Parvis']],
      [],
    ]);
  });
});


describe('notification e-mails beside deliveries', () => {
  // An application of its own: its users table stays a few rows, which a statement reads in the
  // table's order (a large one is read down its primary key, in id order by chance).
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ EMAIL_DELAY_MINUTES: '15' });
  });
  afterAll(() => t.close());

  it('clears the stamps of users sent nothing in id order, as notifications hold recipients: no deadlock with a delivery to them', async () => {
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    const [first, second] = [await makeUser(t), await makeUser(t)].sort((a, b) => (a.id < b.id ? -1 : 1));
    // News of a topic hidden since: both are claimed and stamped, then sent nothing, and the stamps go.
    const topic = await createTopic(t, (await makeUser(t)).token, board, { title: 'Hidden before the e-mail' });
    for (const u of [first, second]) {
      await t.sql(`INSERT INTO notifications (id, user_id, kind, topic_id, data, source) VALUES (gen_random_uuid(), $1, 'VERIFICATION_DUE', $2, '{}', $3)`, [u.id, topic.id, `order:${u.id}`]);
      await t.sql(`UPDATE notifications SET created_at = now() - interval '20 minutes' WHERE user_id = $1`, [u.id]);
    }
    await setTopicState(t, topic.id, 'HIDDEN');
    // The first's row lies after the second's in the table, so that a scan of it meets the second first.
    const behind = async () => (await t.sql(`SELECT (SELECT ctid FROM users WHERE id = $1) > (SELECT ctid FROM users WHERE id = $2) AS behind`, [first.id, second.id]))[0].behind;
    for (let i = 0; i < 5 && !(await behind()); i++) await t.sql(`UPDATE users SET updated_at = now() WHERE id = $1`, [first.id]);
    expect(await behind()).toBe(true);
    // A delivery to both, between the claim and the clearing of the stamps: it holds the first's
    // row (FOR SHARE, recipients in id order), then asks for the second's.
    const gate = gateCalls(t.get(NotificationVisibility), 'check');
    const delivery = t.ds.createQueryRunner();
    await delivery.connect();
    try {
      const run = t.get(EmailDigest).sendDue();
      await gate.begun;
      await delivery.startTransaction();
      await delivery.query(`SELECT 1 FROM users WHERE id = $1 FOR SHARE`, [first.id]);
      gate.restore();
      await waitForLockWaits(t, 1, await backendPid(delivery));
      // Locked in id order, the clearing waits for the first's row holding no other: the
      // delivery takes the second's and commits (locked in the table's order, it held the second's: a deadlock).
      await delivery.query(`SELECT 1 FROM users WHERE id = $1 FOR SHARE`, [second.id]);
      await delivery.commitTransaction();
      expect((await run).filter((m) => m.to === first.email || m.to === second.email)).toEqual([]);
    } finally {
      gate.restore();
      if (delivery.isTransactionActive) await delivery.rollbackTransaction();
      await delivery.release();
    }
    expect(await t.sql(`SELECT digest_sent_at FROM users WHERE id = ANY($1::uuid[])`, [[first.id, second.id]])).toEqual([{ digest_sent_at: null }, { digest_sent_at: null }]);
  });
});

describe('notification e-mails a week apart', () => {
  // EMAIL_DELAY_MINUTES at its most, a week: news is e-mailed a week after it came, or up to a
  // week later still when the one e-mail per delay held it back, and none of it is old by then.
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ EMAIL_DELAY_MINUTES: '10080', PUBLIC_URL: 'https://community.example' });
  });
  afterAll(() => t.close());

  let seq = 0;
  /** A notice of `u`'s that came `age` ago (an SQL interval). */
  const noteAgo = (userId: string, age: string) =>
    t.sql(`INSERT INTO notifications (id, user_id, kind, data, source, created_at) VALUES (gen_random_uuid(), $1, 'SANCTION', '{}', $2, now() - $3::interval)`, [userId, `weekly:${seq++}`, age]);
  const mine = async (u: { email: string }) => (await t.get(EmailDigest).sendDue()).filter((m) => m.to === u.email).map((m) => m.subject);

  it('e-mails news once the week’s delay passed, and news the last e-mail held back for another week, and drops only what waited a week past that', async () => {
    const user = await makeUser(t);
    await noteAgo(user.id, '7 days 1 minute');
    expect(await mine(user)).toEqual(['1 new notification on Parvis']);
    // Came six days before that e-mail went: due since, held back by it until now.
    await t.sql(`UPDATE users SET digest_sent_at = now() - interval '7 days 1 minute' WHERE id = $1`, [user.id]);
    await noteAgo(user.id, '13 days');
    expect(await mine(user)).toEqual(['1 new notification on Parvis']);
    // A week past the latest it would have gone: old by then, and handled unsent.
    await t.sql(`UPDATE users SET digest_sent_at = NULL WHERE id = $1`, [user.id]);
    await noteAgo(user.id, '21 days 1 minute');
    expect(await mine(user)).toEqual([]);
    expect(await t.sql(`SELECT count(*)::int AS waiting FROM notifications WHERE user_id = $1 AND emailed_at IS NULL`, [user.id])).toEqual([{ waiting: 0 }]);
  });
});
