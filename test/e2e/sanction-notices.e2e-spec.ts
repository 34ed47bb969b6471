import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { makeSpace, makeUser, TestUser } from '../factories';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
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

  it('tells a member banned site-wide the same, and the outcome of their appeal in their notifications', async () => {
    const password = 'a banned password';
    const member = await makeUser(t, { passwordHash: await hashPassword(password) });
    let sanctionId = '';
    const [mail] = await mailsTo(member, async () => (sanctionId = await sanction(member.id, { kind: 'BAN', banEmail: true })));
    expect(mail.text).toContain(`A moderator banned your account @${member.handle} on Parvis.`);
    expect(mail.text).toContain('You can no longer sign in.');
    // As the e-mail says: the refused sign-in hands them what appeals.
    const refused = expectError(await t.gql(`mutation($input: SignInInput!) { signIn(input: $input) { token } }`, { input: { login: member.handle, password } }), 'FORBIDDEN');
    const appeal = { sanctionId, message: 'Those were my own listings', appealToken: refused.extensions.appealToken };
    expectOk(await t.gql(`mutation($input: AppealInput!) { appealSanction(input: $input) { id } }`, { input: appeal }));
    const judge = await makeUser(t, { role: 'ADMIN' });
    const queue = expectOk(await t.gql(`{ reviewQueue(first: 100) { edges { node { id kind targetId } } } }`, {}, { token: judge.token })).reviewQueue.edges;
    const item = queue.find((e: any) => e.node.kind === 'APPEAL' && e.node.targetId === sanctionId).node;
    expectOk(await t.gql(`mutation($input: ResolveReviewInput!) { resolveReviewItem(input: $input) { id } }`, { input: { id: item.id, decision: 'REJECT', note: 'They were not' } }, { token: judge.token }));
    await drain();
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

  it('tells a deleted account nothing', async () => {
    const gone = await makeUser(t);
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, { token: admin.token }));
    expect(await mailsTo(gone, () => sanction(gone.id, { kind: 'BAN' }))).toEqual([]);
    expect(await t.sql(`SELECT kind FROM notifications WHERE user_id = $1`, [gone.id])).toEqual([]);
  });
});
