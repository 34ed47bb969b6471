import { AddressInfo } from 'node:net';
import { Socket } from 'socket.io-client';
import { makeBoard, makeGroup, makeSpace, makeUser } from '../factories';
import { createTopic, reply } from '../factories/forum';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';
import { connectLive, heardLive, heardRoom } from '../support/live-client';

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token } }`;
const REMOVE_MEMBER = `mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { memberCount } }`;

describe('identity: paths the main suite does not walk', () => {
  let t: TestApp;
  let url: string;
  const sockets: Socket[] = [];
  let seq = 0;
  const unique = (p: string) => `${p}${Date.now().toString(36)}${++seq}`;

  beforeAll(async () => {
    t = await bootTestApp();
    url = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await t.close();
  });

  const connect = (token: string) => connectLive(url, sockets, token);
  const nothing = (s: Socket, event: string, ms = 400) =>
    new Promise<void>((resolve, reject) => {
      const onEvent = (data: unknown) => reject(new Error(`unexpected ${event}: ${JSON.stringify(data)}`));
      s.on(event, onEvent);
      setTimeout(() => {
        s.off(event, onEvent);
        resolve();
      }, ms);
    });

  it('removing someone from a group takes them out of the live rooms of the spaces the group opened', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const staff = await makeGroup(t);
    const insider = await makeUser(t, { groups: [staff] });
    const space = await makeSpace(t, 'RESTRICTED', [{ groupId: staff, level: 'PARTICIPATE' }]);
    const topic = await createTopic(t, admin.token, await makeBoard(t, space.id));
    const s = await connect(insider.token);
    expect(await s.timeout(5000).emitWithAck('topic:join', { topicId: topic.id })).toEqual({ ok: true });

    const lost = heardLive(s, 'access:lost');
    expectOk(await t.gql(REMOVE_MEMBER, { input: { groupId: staff, userId: insider.id } }, { token: admin.token }));
    await heardRoom(lost, `topic:${topic.id}`);
    const silence = nothing(s, 'post:created');
    await reply(t, admin.token, topic.id, 'after leaving the group');
    await silence;

    // Removing someone who is not a member changes nobody's access: no event.
    const before = await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'space.access_changed' AND aggregate_id = $1`, [space.id]);
    expectOk(await t.gql(REMOVE_MEMBER, { input: { groupId: staff, userId: insider.id } }, { token: admin.token }));
    const after = await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'space.access_changed' AND aggregate_id = $1`, [space.id]);
    expect(after[0].n).toBe(before[0].n);
  });

  it('refuses sign-ups from a banned e-mail address or network, and creates nothing', async () => {
    const email = `${unique('banned')}@Example.org`;
    await t.sql(`INSERT INTO banned_emails (email_lower) VALUES (lower($1))`, [email]);
    const users = async () => (await t.sql(`SELECT count(*)::int AS n FROM users`))[0].n as number;
    const n = await users();
    expectError(await t.gql(SIGN_UP, { input: { email, handle: unique('b'), password: 'long enough password' } }, { ip: '10.9.0.1' }), 'FORBIDDEN');
    await t.sql(`INSERT INTO banned_ips (ip) VALUES ('10.9.0.2')`);
    expectError(
      await t.gql(SIGN_UP, { input: { email: `${unique('ok')}@example.org`, handle: unique('c'), password: 'long enough password' } }, { ip: '10.9.0.2' }),
      'FORBIDDEN',
    );
    expect(await users()).toBe(n);
  });

  it('limits sign-ups to 10 an hour from one IP, refusals that tell about accounts included', async () => {
    const ip = '10.9.1.1';
    for (let i = 0; i < 10; i++) {
      expectOk(await t.gql(SIGN_UP, { input: { email: `${unique('s')}@example.org`, handle: unique('s'), password: 'long enough password' } }, { ip }));
    }
    const refused = expectError(
      await t.gql(SIGN_UP, { input: { email: `${unique('s')}@example.org`, handle: unique('s'), password: 'long enough password' } }, { ip }),
      'RATE_LIMITED',
    );
    expect(refused.extensions.retryAfterSeconds).toBeGreaterThan(0);
    // Another network is not affected.
    expectOk(await t.gql(SIGN_UP, { input: { email: `${unique('s')}@example.org`, handle: unique('s'), password: 'long enough password' } }, { ip: '10.9.1.2' }));
    // A sign-up refused for its password gives its place back; one refused because an address or
    // handle is taken counts, or a network could ask at will which accounts exist.
    for (let i = 0; i < 12; i++) {
      const handle = unique('p');
      const err = expectError(await t.gql(SIGN_UP, { input: { email: `${handle}@example.org`, handle, password: handle } }, { ip: '10.9.1.3' }), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'password', message: 'must not be your e-mail address or handle' }]);
    }
    const taken = unique('t');
    expectOk(await t.gql(SIGN_UP, { input: { email: `${unique('s')}@example.org`, handle: taken, password: 'long enough password' } }, { ip: '10.9.1.3' }));
    for (let i = 0; i < 9; i++) {
      const err = expectError(await t.gql(SIGN_UP, { input: { email: `${unique('s')}@example.org`, handle: taken, password: 'long enough password' } }, { ip: '10.9.1.3' }), 'BAD_USER_INPUT');
      expect(err.extensions.fields).toEqual([{ field: 'handle', message: 'is taken' }]);
    }
    expectError(await t.gql(SIGN_UP, { input: { email: `${unique('s')}@example.org`, handle: unique('s'), password: 'long enough password' } }, { ip: '10.9.1.3' }), 'RATE_LIMITED');
  });
});
