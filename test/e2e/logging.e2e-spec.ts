import request from 'supertest';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { makeUser } from '../factories';
import { logSink } from '../support/log-sink';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

describe('logs', () => {
  let t: TestApp;
  const { lines, sink } = logSink();

  beforeAll(async () => {
    t = await bootTestApp({ LOG_LEVEL: 'debug', LOG_REQUESTS: 'true' }, sink);
  });
  afterAll(() => t.close());

  it('are structured JSON and never contain passwords, tokens or cookies', async () => {
    const password = 'a very secret passphrase';
    const res = await t.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { token } }`, { i: { email: 'logs@example.com', handle: 'logsuser', password } });
    const token = expectOk(res).signUp.token as string;
    await t.gql(`{ me { id } }`, {}, { token });
    await t.gql(`mutation($i: SignInInput!) { signIn(input: $i) { token } }`, { i: { login: 'logsuser', password: 'wrong but secret words' } });
    const admin = await makeUser(t, { role: 'ADMIN' });
    await t.sql(`ALTER TABLE groups RENAME TO groups_hidden`);
    const err = expectError(await t.gql(`{ groups { id } }`, {}, { token: admin.token }), 'INTERNAL');
    await t.sql(`ALTER TABLE groups_hidden RENAME TO groups`);
    await new Promise((r) => setTimeout(r, 50));

    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    for (const secret of [password, 'wrong but secret words', token, admin.token]) expect(all).not.toContain(secret);
    // The internal error is in the log under the correlation id the client got.
    expect(all).toContain(err.extensions.correlationId!);
  });

  it('does not log refused requests as server errors, nor what their answer carries (a refused sign-in’s appeal token)', async () => {
    const from = lines.length;
    const handle = 'logsuspended';
    const password = 'suspended but secret';
    const userId = expectOk(await t.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }`, { i: { email: 'suspended@example.com', handle, password } })).signUp.user.id;
    const admin = await makeUser(t, { role: 'ADMIN' });
    expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId, kind: 'SUSPEND', durationHours: 24, reason: 'spam' } }, { token: admin.token }));
    const refused = expectError(await t.gql(`mutation($i: SignInInput!) { signIn(input: $i) { token } }`, { i: { login: handle, password } }), 'FORBIDDEN');
    const appealToken = refused.extensions.appealToken!;
    expect(appealToken).toBeTruthy();
    expectError(await t.gql(`query($id: ID!) { topic(id: $id) { id } }`, { id: '00000000-0000-4000-8000-000000000000' }), 'NOT_FOUND');
    expectError(await t.gql(`mutation($i: SignInInput!) { signIn(input: $i) { token } }`, { i: { login: handle, password: 'not the password at all' } }), 'UNAUTHENTICATED');
    await new Promise((r) => setTimeout(r, 50));
    const logged = lines.slice(from);
    expect(logged.join('')).not.toContain(appealToken);
    // Client errors are answers, not server errors: nothing at level error (50) or above.
    expect(logged.map((l) => JSON.parse(l)).filter((l) => l.level >= 50)).toEqual([]);
  });

  it('write a sanction’s e-mail there outside production without SMTP_URL, as the digest writes its own', async () => {
    const from = lines.length;
    const member = await makeUser(t);
    const admin = await makeUser(t, { role: 'ADMIN' });
    expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input: { userId: member.id, kind: 'BAN', reason: 'Selling counterfeit tickets' } }, { token: admin.token }));
    await t.get(OutboxWorker).drain();
    await new Promise((r) => setTimeout(r, 50));
    const logged = lines.slice(from).map((l) => JSON.parse(l)).filter((l) => l.msg === 'sanction e-mail (no SMTP_URL configured)');
    expect(logged).toEqual([expect.objectContaining({ userId: member.id, to: member.email, subject: 'Your account on Parvis is banned', text: expect.stringContaining('Selling counterfeit tickets') })]);
  });

  it('leaves query strings, which may carry tokens, out of request logs', async () => {
    await request(t.http).get('/unsubscribe?token=sekrit-unsubscribe-token-123');
    await request(t.http).get('/health?probe=sekrit-probe-value');
    await new Promise((r) => setTimeout(r, 50));
    const all = lines.join('');
    expect(all).toContain('"url":"/unsubscribe"');
    expect(all).not.toContain('sekrit');
  });

  it('gives an internal error the request id as its correlation id', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    await t.sql(`ALTER TABLE groups RENAME TO groups_away`);
    try {
      const res = await request(t.http)
        .post('/graphql')
        .set('authorization', `Bearer ${admin.token}`)
        .set('x-request-id', 'support-ticket-4711')
        .send({ query: '{ groups { id } }' });
      expect(res.headers['x-request-id']).toBe('support-ticket-4711');
      expect(res.body.errors[0].extensions).toEqual({ code: 'INTERNAL', correlationId: 'support-ticket-4711' });
    } finally {
      await t.sql(`ALTER TABLE groups_away RENAME TO groups`);
    }
  });
});

describe('logs of failed statements', () => {
  let t: TestApp;
  const { lines, sink } = logSink();

  beforeAll(async () => {
    t = await bootTestApp({ LOG_LEVEL: 'debug' }, sink);
  });
  afterAll(() => t.close());

  it('keep the statement’s parameters (e-mail addresses, password hashes, private text) out', async () => {
    const before = (await t.sql(`SELECT count(*)::int AS n FROM users`))[0].n;
    await t.sql(`ALTER TABLE users RENAME COLUMN display_name TO display_name_gone`);
    let correlationId: string | undefined;
    try {
      const res = await t.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { token } }`, { i: { email: 'param-leak@example.com', handle: 'paramleak', password: 'param leak password' } });
      correlationId = expectError(res, 'INTERNAL').extensions.correlationId;
    } finally {
      await t.sql(`ALTER TABLE users RENAME COLUMN display_name_gone TO display_name`);
    }
    await new Promise((r) => setTimeout(r, 50));
    const all = lines.join('');
    expect(all).toContain(correlationId!);
    expect(all).toContain('display_name');
    for (const secret of ['param-leak@example.com', 'paramleak', '$argon2id$']) expect(all).not.toContain(secret);
    expect((await t.sql(`SELECT count(*)::int AS n FROM users`))[0].n).toBe(before);
  });
});
