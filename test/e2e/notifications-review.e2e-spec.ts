import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { EmailDigest } from '../../libs/notifications/src/email';
import { makeBoard, makeSpace, makeUser, TestUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

const PAGE = `query($first: Int, $after: String) { notifications(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id post { id } } } } }`;

describe('notifications: paging, watch levels and e-mails (review)', () => {
  let t: TestApp;
  let board: string;
  beforeAll(async () => {
    t = await bootTestApp({ EMAIL_DELAY_MINUTES: '15' });
    board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
  });
  afterAll(() => t.close());

  const drain = () => t.get(OutboxWorker).drain();
  const age = (userId: string) => t.sql(`UPDATE notifications SET created_at = created_at - interval '20 minutes' WHERE user_id = $1`, [userId]);
  const deletePost = async (token: string, id: string) => expectOk(await t.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id }, { token }));

  it('keeps paging past a notification whose post the reader can no longer see', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, board);
    await drain();
    const repliers: TestUser[] = [];
    const replies: string[] = [];
    for (let i = 0; i < 3; i++) {
      repliers.push(await makeUser(t));
      replies.push((await reply(t, repliers[i].token, topic.id, `reply ${i}`)).id);
      await drain();
    }
    // Newest first: replies[2], replies[1], replies[0]. The middle one is deleted by its author.
    await deletePost(repliers[1].token, replies[1]);
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const page: any = expectOk(await t.gql(PAGE, { first: 1, after }, { token: author.token })).notifications;
      seen.push(...page.edges.map((e: any) => e.node.post.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([replies[2], replies[0]]);
  });

  it('answers viewerWatchLevel for a list of topics in a fixed number of statements', async () => {
    const user = await makeUser(t);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createTopic(t, user.token, board)).id);
    const watched = async (n: number) => {
      const query = `{ ${ids.slice(0, n).map((id, i) => `t${i}: topic(id: "${id}") { viewerWatchLevel }`).join(' ')} }`;
      return t.countStatements(async () => expectOk(await t.gql(query, {}, { token: user.token })));
    };
    const one = await watched(1);
    const four = await watched(4);
    expect(four.count).toBe(one.count);
    // Two watch changes in one request each answer with their own level.
    const both = expectOk(
      await t.gql(
        `mutation($a: WatchInput!, $b: WatchInput!) { a: watchTopic(input: $a) { viewerWatchLevel } b: watchTopic(input: $b) { viewerWatchLevel } }`,
        { a: { topicId: ids[0], level: 'MUTED' }, b: { topicId: ids[0], level: 'TRACKING' } },
        { token: user.token },
      ),
    );
    expect([both.a.viewerWatchLevel, both.b.viewerWatchLevel]).toEqual(['MUTED', 'TRACKING']);
  });

  it('leaves a deleted reply out of the e-mail, as the in-app list does', async () => {
    const author = await makeUser(t);
    const topic = await createTopic(t, author.token, board, { title: 'Grinder burrs wearing out' });
    await drain();
    const kept = await makeUser(t);
    const gone = await makeUser(t);
    await reply(t, kept.token, topic.id, 'still here');
    const removed = await reply(t, gone.token, topic.id, 'regretted');
    await drain();
    await deletePost(gone.token, removed.id);
    await age(author.id);
    const [mail] = (await t.get(EmailDigest).sendDue()).filter((m) => m.to === author.email);
    expect(mail.subject).toBe('1 new notification on Parvis');
  });

  it('one recipient the mail server refuses does not hold back, nor re-send, everyone else’s e-mail', async () => {
    const refused = await makeUser(t);
    const fine = await makeUser(t);
    await createTopic(t, (await makeUser(t)).token, board, { body: `hello @${refused.handle} and @${fine.handle}` });
    await drain();
    await age(refused.id);
    await age(fine.id);
    const digest = t.get(EmailDigest);
    const transport = (digest as unknown as { transport: { sendMail: (m: { to: { address: string } }) => Promise<unknown> } }).transport;
    const send = transport.sendMail.bind(transport);
    const spy = jest.spyOn(transport, 'sendMail').mockImplementation(async (m: { to: { address: string } }) => {
      if (m.to.address === refused.email) throw new Error('550 mailbox unavailable');
      return send(m);
    });
    try {
      const sent = (await digest.sendDue()).filter((m) => m.to === refused.email || m.to === fine.email);
      expect(sent.map((m) => m.to)).toEqual([fine.email]);
      // The one delivered is not sent again; the refused one (for now: no permanent reply) is
      // tried again once the delay has passed, not on the very next run.
      const tried = () => spy.mock.calls.map(([m]) => m.to.address).filter((to) => to === refused.email || to === fine.email);
      spy.mockClear();
      await digest.sendDue();
      expect(tried()).toEqual([]);
      await t.sql(`UPDATE users SET digest_sent_at = now() - interval '16 minutes' WHERE id = $1`, [refused.id]);
      await digest.sendDue();
      expect(tried()).toEqual([refused.email]);
    } finally {
      spy.mockRestore();
    }
  });
});
