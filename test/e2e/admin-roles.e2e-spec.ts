import { makeUser } from '../factories';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const SET_ROLE = `mutation($id: ID!, $role: GlobalRole!) { setUserRole(input: { userId: $id, role: $role }) { id role } }`;

/** The site keeps an admin, however the last ones step down. */
describe('admins stepping down', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('leaves one admin when the last two step down at the same moment', async () => {
    for (let round = 0; round < 5; round++) {
      await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN'`);
      const [a, b] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t, { role: 'ADMIN' })];
      const results = await Promise.all([a, b].map((u) => t.gql(SET_ROLE, { id: u.id, role: 'MEMBER' }, { token: u.token })));
      expect(await t.sql(`SELECT count(*)::int AS n FROM users WHERE role = 'ADMIN'`)).toEqual([{ n: 1 }]);
      // One stepped down; the other was told they are the last.
      expect(results.map((r) => r.errors?.[0]?.extensions.code ?? 'OK').sort()).toEqual(['CONFLICT', 'OK']);
    }
  });

  it('lets the last admin hand over: promote someone, then step down', async () => {
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN'`);
    const [a, b] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t)];
    expectOk(await t.gql(SET_ROLE, { id: b.id, role: 'ADMIN' }, { token: a.token }));
    expect(expectOk(await t.gql(SET_ROLE, { id: a.id, role: 'MEMBER' }, { token: a.token })).setUserRole.role).toBe('MEMBER');
  });

  it('makes no deleted account nor imported placeholder staff (NOT_FOUND), so neither stands in for the last admin', async () => {
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN'`);
    const [a, gone, placeholder] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t), await makeUser(t)];
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, { token: a.token }));
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [placeholder.id]);
    for (const [u, role] of [[gone, 'ADMIN'], [placeholder, 'ADMIN'], [placeholder, 'MODERATOR']] as const) {
      expect(expectError(await t.gql(SET_ROLE, { id: u.id, role }, { token: a.token }), 'NOT_FOUND').message).toBe('User not found');
    }
    // Making them members changes nothing and is no error.
    expect(expectOk(await t.gql(SET_ROLE, { id: placeholder.id, role: 'MEMBER' }, { token: a.token })).setUserRole.role).toBe('MEMBER');
    expect(await t.sql(`SELECT role FROM users WHERE id = ANY($1::uuid[])`, [[gone.id, placeholder.id]])).toEqual([{ role: 'MEMBER' }, { role: 'MEMBER' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'user.role_change' AND target_id = ANY($1::uuid[])`, [[gone.id, placeholder.id]])).toEqual([{ n: 0 }]);
    expectError(await t.gql(SET_ROLE, { id: a.id, role: 'MEMBER' }, { token: a.token }), 'CONFLICT');
  });

  it('counts only admins who can sign in as the ones left: an earlier release’s deleted or placeholder admin is demoted, not counted', async () => {
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN'`);
    const [a, gone, placeholder] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t), await makeUser(t)];
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, { token: a.token }));
    // As an earlier release could leave them: made admins once deleted, or as placeholders.
    await t.sql(`UPDATE users SET is_placeholder = true, email = NULL, password_hash = NULL WHERE id = $1`, [placeholder.id]);
    await t.sql(`UPDATE users SET role = 'ADMIN' WHERE id = ANY($1::uuid[])`, [[gone.id, placeholder.id]]);
    expectError(await t.gql(SET_ROLE, { id: a.id, role: 'MEMBER' }, { token: a.token }), 'CONFLICT');
    for (const u of [gone, placeholder]) expect(expectOk(await t.gql(SET_ROLE, { id: u.id, role: 'MEMBER' }, { token: a.token })).setUserRole.role).toBe('MEMBER');
    expect(await t.sql(`SELECT id FROM users WHERE role = 'ADMIN'`)).toEqual([{ id: a.id }]);
  });
});
