import { makeSpace, makeUser } from '../factories';
import { SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { AccountDeletionService } from '../../libs/identity/src/users/account-deletion';
import { freshIp } from '../support/fresh-ip';
import { gateCalls } from '../support/gates';
import { holdLock } from '../support/row-locks';
import { doneOrWaiting, gateHolder } from '../support/lock-waits';
import { BARRED_NOT_ADMIN } from '../../libs/identity/src/users/users.service';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const SET_ROLE = `mutation($id: ID!, $role: GlobalRole!) { setUserRole(input: { userId: $id, role: $role }) { id role } }`;
const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id kind } }`;

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
  /**
   * An admin who cannot act: a member suspended or banned site-wide, then made an admin, as
   * earlier releases let setUserRole do (it refuses now, CONFLICT).
   */
  const barredAdmin = async (t: TestApp, by: { token: string }, kind: 'SUSPEND' | 'BAN') => {
    const u = await makeUser(t);
    const input = { userId: u.id, kind, reason: 'Keeps them out', durationHours: kind === 'SUSPEND' ? 24 : undefined };
    expectOk(await t.gql(SANCTION, { input }, { token: by.token }));
    await t.sql(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [u.id]);
    return u;
  };

  it('makes no member suspended or banned site-wide an admin (CONFLICT, nothing written); a silence, a space’s sanction or a lifted one bars nothing', async () => {
    const a = await makeUser(t, { role: 'ADMIN' });
    const sanctioned = async (kind: string, spaceId: string | null = null, lifted = false) => {
      const u = await makeUser(t);
      await t.sql(
        `INSERT INTO sanctions (id, user_id, kind, reason, space_id, expires_at, lifted_at) VALUES (gen_random_uuid(), $1, $2, 'test', $3, now() + interval '1 day', $4)`,
        [u.id, kind, spaceId, lifted ? new Date() : null],
      );
      return u;
    };
    const space = (await makeSpace(t, 'PUBLIC')).id;
    for (const kind of ['SUSPEND', 'BAN']) {
      const u = await sanctioned(kind);
      const refused = expectError(await t.gql(SET_ROLE, { id: u.id, role: 'ADMIN' }, { token: a.token }), 'CONFLICT');
      expect(refused.message).toBe('A member suspended or banned site-wide cannot be made an admin: lift the sanction first');
      expect(await t.sql(`SELECT role FROM users WHERE id = $1`, [u.id])).toEqual([{ role: 'MEMBER' }]);
      expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'user.role_change' AND target_id = $1`, [u.id])).toEqual([{ n: 0 }]);
    }
    for (const u of [await sanctioned('SILENCE'), await sanctioned('SUSPEND', space), await sanctioned('BAN', null, true)]) {
      expect(expectOk(await t.gql(SET_ROLE, { id: u.id, role: 'ADMIN' }, { token: a.token })).setUserRole.role).toBe('ADMIN');
    }
  });

  it('makes no admin of a member whose site-wide suspension committed while the promotion waited for their row (CONFLICT, nothing written)', async () => {
    const [a, x] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t)];
    // The suspension held in its transaction, x's row held (`heldTarget` has run), before it judges x.
    const gate = gateCalls(t.get(SanctionsService), 'heldTarget', () => true, 'after');
    try {
      const suspending = t.gql(SANCTION, { input: { userId: x.id, kind: 'SUSPEND', durationHours: 24, reason: 'Keeps them out' } }, { token: a.token });
      await gate.begun;
      const promoting = t.gql(SET_ROLE, { id: x.id, role: 'ADMIN' }, { token: a.token });
      expect(await doneOrWaiting(t, promoting, 1, await gateHolder(gate))).toBe('waiting');
      gate.open();
      expectOk(await suspending);
      expect(expectError(await promoting, 'CONFLICT').message).toBe(BARRED_NOT_ADMIN);
    } finally {
      gate.restore();
    }
    expect(await t.sql(`SELECT role FROM users WHERE id = $1`, [x.id])).toEqual([{ role: 'MEMBER' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'user.role_change' AND target_id = $1`, [x.id])).toEqual([{ n: 0 }]);
  });

  it('takes a member’s id in capitals as the same id (the rows are held in id order, whatever its case)', async () => {
    const [a, x] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t)];
    expect(expectOk(await t.gql(SET_ROLE, { id: x.id.toUpperCase(), role: 'MODERATOR' }, { token: a.token })).setUserRole).toEqual({ id: x.id, role: 'MODERATOR' });
  });

  it('lets no admin demoted while their change of role waited make it: the actor is read again under lock (FORBIDDEN, nothing written)', async () => {
    const [a, x] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t)];
    // Another admin's demotion of a holds a's row (setUserRole's FOR UPDATE) and commits while a's change waits.
    const h = await holdLock(t, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [a.id]);
    try {
      const promoting = t.gql(SET_ROLE, { id: x.id, role: 'MODERATOR' }, { token: a.token });
      await h.waiting(1);
      await h.query(`UPDATE users SET role = 'MEMBER' WHERE id = $1`, [a.id]);
      await h.release();
      expect(expectError(await promoting, 'FORBIDDEN').message).toBe('Only admins change roles');
    } finally {
      await h.release();
    }
    expect(await t.sql(`SELECT role FROM users WHERE id = $1`, [x.id])).toEqual([{ role: 'MEMBER' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'user.role_change' AND target_id = $1`, [x.id])).toEqual([{ n: 0 }]);
  });

  it('counts no admin suspended or banned site-wide as one left (one lifted counts again): the last who can act stays, the barred ones are demoted freely', async () => {
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN'`);
    const a = await makeUser(t, { role: 'ADMIN' });
    const [suspended, banned, lifted] = [await barredAdmin(t, a, 'SUSPEND'), await barredAdmin(t, a, 'BAN'), await barredAdmin(t, a, 'SUSPEND')];
    expect(expectError(await t.gql(SET_ROLE, { id: a.id, role: 'MEMBER' }, { token: a.token }), 'CONFLICT').message).toBe('The last admin cannot be demoted');
    expect(expectError(await t.gql(SET_ROLE, { id: a.id, role: 'MODERATOR' }, { token: a.token }), 'CONFLICT').message).toBe('The last admin cannot be demoted');
    // A suspension lifted keeps nobody out: that admin counts, and a may step down.
    await t.sql(`UPDATE sanctions SET lifted_at = now() WHERE user_id = $1`, [lifted.id]);
    expect(expectOk(await t.gql(SET_ROLE, { id: a.id, role: 'MEMBER' }, { token: a.token })).setUserRole.role).toBe('MEMBER');
    const token = await t.get(SessionsService).issue(lifted.id, {}); // the suspension ended its sessions
    expectError(await t.gql(SET_ROLE, { id: lifted.id, role: 'MEMBER' }, { token }), 'CONFLICT');
    for (const u of [suspended, banned]) expect(expectOk(await t.gql(SET_ROLE, { id: u.id, role: 'MEMBER' }, { token })).setUserRole.role).toBe('MEMBER');
    expect(await t.sql(`SELECT id FROM users WHERE role = 'ADMIN'`)).toEqual([{ id: lifted.id }]);
  });

  it('leaves an admin who can act when the last two step down at once beside a banned admin', async () => {
    for (let round = 0; round < 3; round++) {
      await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN'`);
      const a = await makeUser(t, { role: 'ADMIN' });
      await barredAdmin(t, a, 'BAN');
      const b = await makeUser(t, { role: 'ADMIN' });
      // Each demotes the other: one wins, and the other, read again once it holds its own row, is no admin now.
      const results = await Promise.all([[a, b], [b, a]].map(([by, u]) => t.gql(SET_ROLE, { id: u.id, role: 'MEMBER' }, { token: by.token })));
      expect(results.map((r) => r.errors?.[0]?.extensions.code ?? 'OK').sort()).toEqual(['FORBIDDEN', 'OK']);
      expect(await t.sql(`SELECT count(*)::int AS n FROM users WHERE role = 'ADMIN' AND id = ANY($1::uuid[])`, [[a.id, b.id]])).toEqual([{ n: 1 }]);
    }
  });

  /**
   * A global moderator's suspension of a member `x` (a member when it was asked for), held in its
   * transaction before it is judged, while `meanwhile` changes x's standing; answers the
   * suspension's result and the sanctions x has after.
   */
  const suspendedWhile = async (meanwhile: (x: { id: string }, admin: { id: string; token: string }) => Promise<void>) => {
    const [a, moderator, x] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t, { role: 'MODERATOR' }), await makeUser(t)];
    // sanctionUser's judgement in its transaction (its early refusal, on the session, passed).
    const gate = gateCalls(t.get(SanctionsService), 'authorizeNow');
    let suspended;
    try {
      const suspending = t.gql(SANCTION, { input: { userId: x.id, kind: 'SUSPEND', reason: 'Spam', durationHours: 24 } }, { token: moderator.token });
      await gate.begun;
      await meanwhile(x, a);
      gate.open();
      suspended = await suspending;
    } finally {
      gate.restore();
    }
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE user_id = $1`, [x.id]);
    return { suspended, sanctions: n as number, x };
  };

  it('sanctions nobody made an admin while the sanction was on its way (FORBIDDEN), so the last admin who can act is not left barred', async () => {
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN'`);
    const { suspended, sanctions, x } = await suspendedWhile(async (x, a) => {
      // Meanwhile a makes x an admin and steps down, x counted as the admin left.
      expectOk(await t.gql(SET_ROLE, { id: x.id, role: 'ADMIN' }, { token: a.token }));
      expectOk(await t.gql(SET_ROLE, { id: a.id, role: 'MEMBER' }, { token: a.token }));
    });
    expect(expectError(suspended, 'FORBIDDEN').message).toBe('Admins cannot be sanctioned');
    expect(sanctions).toBe(0);
    expect(await t.sql(`SELECT id FROM users WHERE role = 'ADMIN'`)).toEqual([{ id: x.id }]);
  });

  it('sanctions nobody made a moderator of the issuer’s rank while the sanction was on its way (FORBIDDEN)', async () => {
    const { suspended, sanctions } = await suspendedWhile(async (x, a) => {
      // Meanwhile an admin makes x a global moderator: the suspending moderator's peer.
      expectOk(await t.gql(SET_ROLE, { id: x.id, role: 'MODERATOR' }, { token: a.token }));
    });
    expect(expectError(suspended, 'FORBIDDEN').message).toBe('You cannot sanction a moderator of your rank');
    expect(sanctions).toBe(0);
  });

  it('deletes no account made an admin after deleteMyAccount checked it (FORBIDDEN), so the admin the count left is not deleted', async () => {
    await t.sql(`UPDATE users SET role = 'MEMBER' WHERE role = 'ADMIN'`);
    const password = 'a long enough password';
    const [a, x] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t, { passwordHash: await hashPassword(password) })];
    // x's deletion held once its password and role were checked (a member then), before its transaction locks the account.
    const gate = gateCalls(t.get(AccountDeletionService), 'lockUser');
    try {
      const deleting = t.gql(`mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) }`, { input: { password } }, { token: x.token, ip: freshIp() });
      await gate.begun;
      // Meanwhile a makes x an admin and steps down, x counted as the admin left.
      expectOk(await t.gql(SET_ROLE, { id: x.id, role: 'ADMIN' }, { token: a.token }));
      expectOk(await t.gql(SET_ROLE, { id: a.id, role: 'MEMBER' }, { token: a.token }));
      gate.open();
      expect(expectError(await deleting, 'FORBIDDEN').message).toMatch(/admin must make you a member first/);
    } finally {
      gate.restore();
    }
    expect(await t.sql(`SELECT id FROM users WHERE role = 'ADMIN' AND deleted_at IS NULL`)).toEqual([{ id: x.id }]);
  });
});
