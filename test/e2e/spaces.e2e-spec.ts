import { GrantsToPlaceholders1765152000000 } from '../../migrations/1765152000000-grants-to-placeholders';
import { makeBoard, makeGroup, makeSpace, makeUser } from '../factories';
import { redoMigration } from '../support/migrations';
import { bootTestApp, expectError, expectNotFound, expectOk, TestApp } from '../support/test-app';
import { gateCalls } from '../support/gates';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { SessionsService } from '../../libs/identity/src/sessions/sessions.service';
import { LEVEL_RANK } from '../../libs/access/src/access-level';
import { doneOrWaiting, gateHolder } from '../support/lock-waits';
import { holdLock, withLockHeld } from '../support/row-locks';
import { AccessService } from '../../libs/access/src/access.service';
import { SanctionsService } from '../../libs/moderation/src/sanctions/sanctions.service';

const CREATE_SPACE = `mutation($input: CreateSpaceInput!) { createSpace(input: $input) { id slug visibility viewerAccess } }`;
const GRANT = `mutation($input: SpaceGrantInput!) { grantSpaceAccess(input: $input) { id grants { level groupId userId } } }`;
const REVOKE = `mutation($input: SpaceGrantInput!) { revokeSpaceAccess(input: $input) { id } }`;
const CREATE_BOARD = `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id kind slug space { slug } } }`;
const SPACE = `query($slug: String!) { space(slug: $slug) { id slug viewerAccess boards { slug kind } } }`;
const UPDATE_SPACE = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`;
const UPDATE_BOARD = `mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id } }`;
const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;

describe('spaces, grants and boards', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('lets only admins create spaces, with unique slugs', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    const input = { slug: 'customers', name: 'Customers', visibility: 'PUBLIC' };
    expectError(await t.gql(CREATE_SPACE, { input }), 'UNAUTHENTICATED');
    expectError(await t.gql(CREATE_SPACE, { input }, { token: member.token }), 'FORBIDDEN');
    const s = expectOk(await t.gql(CREATE_SPACE, { input }, { token: admin.token })).createSpace;
    expect(s).toMatchObject({ slug: 'customers', visibility: 'PUBLIC', viewerAccess: 'ADMIN' });
    expectError(await t.gql(CREATE_SPACE, { input }, { token: admin.token }), 'BAD_USER_INPUT');
    const bad = expectError(await t.gql(CREATE_SPACE, { input: { slug: 'No Spaces', name: '', visibility: 'PUBLIC' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expect([...new Set(bad.extensions.fields!.map((f) => f.field))].sort()).toEqual(['name', 'slug']);
    // Names are one line of visible text (they head lists, e-mails and notifications).
    for (const name of ['Two\nlines', '\u200b'])
      expect(expectError(await t.gql(CREATE_SPACE, { input: { slug: 'one-line', name, visibility: 'PUBLIC' } }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields![0].field).toBe('name');
    expectError(await t.gql(`mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`, { input: { slug: 'one-line', name: 'Staff\r\nUnsubscribe here' } }, { token: admin.token }), 'BAD_USER_INPUT');
    const outbox = await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1`, [s.id]);
    expect(outbox.map((r) => r.type)).toEqual(['space.created']);
  });

  it('grants by group or user, and a RESTRICTED space exists only for grantees', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const employees = await makeGroup(t);
    const employee = await makeUser(t, { groups: [employees] });
    const customer = await makeUser(t);
    const partner = await makeUser(t);
    const space = await makeSpace(t, 'RESTRICTED');

    for (const viewer of [undefined, customer.token, employee.token]) {
      expectNotFound(await t.gql(SPACE, { slug: space.slug }, { token: viewer }), 'space');
    }
    expectOk(await t.gql(GRANT, { input: { spaceId: space.id, groupId: employees, level: 'PARTICIPATE' } }, { token: admin.token }));
    const granted = expectOk(await t.gql(GRANT, { input: { spaceId: space.id, userId: partner.id, level: 'READ' } }, { token: admin.token }));
    expect(granted.grantSpaceAccess.grants).toHaveLength(2);

    expect(expectOk(await t.gql(SPACE, { slug: space.slug }, { token: employee.token })).space.viewerAccess).toBe('PARTICIPATE');
    expect(expectOk(await t.gql(SPACE, { slug: space.slug }, { token: partner.token })).space.viewerAccess).toBe('READ');
    expectNotFound(await t.gql(SPACE, { slug: space.slug }, { token: customer.token }), 'space');
    const list = expectOk(await t.gql(`{ spaces { slug } }`, {}, { token: customer.token })).spaces;
    expect(list.map((s: { slug: string }) => s.slug)).not.toContain(space.slug);

    // Non-admins cannot see grants or change them; the space stays NOT_FOUND for outsiders.
    expect(expectOk(await t.gql(`query($s: String!) { space(slug: $s) { grants { level } } }`, { s: space.slug }, { token: employee.token })).space.grants).toBeNull();
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, userId: customer.id, level: 'ADMIN' } }, { token: employee.token }), 'FORBIDDEN');
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, userId: customer.id, level: 'ADMIN' } }, { token: customer.token }), 'NOT_FOUND');

    // Revoking a grant that is not there changes nothing, and tells nothing of a change (no event).
    expectOk(await t.gql(REVOKE, { input: { spaceId: space.id, userId: customer.id } }, { token: admin.token }));
    expectOk(await t.gql(REVOKE, { input: { spaceId: space.id, groupId: employees } }, { token: admin.token }));
    expectNotFound(await t.gql(SPACE, { slug: space.slug }, { token: employee.token }), 'space');
    const events = await t.sql(`SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY id`, [space.id]);
    expect(events.map((e) => e.type)).toEqual(['space.access_changed', 'space.access_changed', 'space.access_changed']);
  });

  it('shows a space admin a grant to a group they may not see without naming it, and lets them revoke it by its id', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const spaceAdmin = await makeUser(t);
    const hidden = await makeGroup(t); // visibility OWNERS: its owners and the admins see it
    const shown = await makeGroup(t);
    await t.sql(`UPDATE groups SET visibility = 'PUBLIC' WHERE id = $1`, [shown]);
    const [{ slug: hiddenSlug }] = await t.sql(`SELECT slug FROM groups WHERE id = $1`, [hidden]);
    const insider = await makeUser(t, { groups: [hidden] });
    const space = await makeSpace(t, 'RESTRICTED', [{ userId: spaceAdmin.id, level: 'ADMIN' }]);
    const other = await makeSpace(t, 'RESTRICTED', [{ groupId: hidden, level: 'READ' }]);
    for (const groupId of [hidden, shown]) expectOk(await t.gql(GRANT, { input: { spaceId: space.id, groupId, level: 'READ' } }, { token: admin.token }));
    const GRANTS = `query($s: String!) { space(slug: $s) { grants { id level groupId userId groupHidden } } }`;
    const LOG = `query($s: ID!) { moderationLog(spaceId: $s, first: 20) { edges { node { action targetType targetId before after } } } }`;
    const read = async (u: typeof admin) => {
      const res = await t.gql(GRANTS, { s: space.slug }, { token: u.token });
      const log = await t.gql(LOG, { s: space.id }, { token: u.token });
      return { grants: expectOk(res).space.grants, log: expectOk(log).moderationLog.edges.map((e: any) => e.node), text: JSON.stringify([res, log]) };
    };

    // The site admin sees every group; the space admin sees that the grant is there, its level, and no more.
    const byAdmin = await read(admin);
    expect(byAdmin.grants.find((g: any) => g.groupId === hidden)).toMatchObject({ level: 'READ', groupHidden: false });
    const bySpaceAdmin = await read(spaceAdmin);
    const hiddenGrant = byAdmin.grants.find((g: any) => g.groupId === hidden);
    expect(bySpaceAdmin.grants.map((g: any) => [g.groupId, g.userId, g.groupHidden])).toEqual([
      [null, spaceAdmin.id, false],
      [null, null, true],
      [shown, null, false],
    ]);
    expect(bySpaceAdmin.grants[1]).toMatchObject({ id: hiddenGrant.id, level: 'READ' });
    // Nor does the space's moderation log name it: the entry is there, the group is not.
    expect(bySpaceAdmin.log.map((e: any) => [e.action, e.targetType, e.targetId, JSON.parse(e.after).groupId])).toEqual([
      ['space.grant', 'group', shown, shown],
      ['space.grant', 'group', null, null],
    ]);
    expect(bySpaceAdmin.text).not.toContain(hidden);
    expect(bySpaceAdmin.text).not.toContain(hiddenSlug);

    // Naming it is NOT_FOUND, as a group that does not exist; a grant id only revokes.
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [q, extra] of [[GRANT, { level: 'ADMIN' }], [REVOKE, {}]] as const) {
      const refused = expectError(await t.gql(q, { input: { spaceId: space.id, groupId: hidden, ...extra } }, { token: spaceAdmin.token }), 'NOT_FOUND');
      expect(refused.message).toBe(expectError(await t.gql(q, { input: { spaceId: space.id, groupId: missing, ...extra } }, { token: spaceAdmin.token }), 'NOT_FOUND').message);
    }
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, grantId: hiddenGrant.id, level: 'ADMIN' } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(REVOKE, { input: { spaceId: space.id, grantId: hiddenGrant.id, groupId: shown } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    // A grant of another space is not this one's to revoke: nothing changes.
    const [otherGrant] = await t.sql(`SELECT id FROM space_grants WHERE space_id = $1`, [other.id]);
    expectOk(await t.gql(REVOKE, { input: { spaceId: space.id, grantId: otherGrant.id } }, { token: spaceAdmin.token }));
    expect(await t.sql(`SELECT 1 FROM space_grants WHERE id = $1`, [otherGrant.id])).toHaveLength(1);

    // A reader of the space (here through that very grant) may not revoke it by its id.
    const byReader = await t.gql(REVOKE, { input: { spaceId: space.id, grantId: hiddenGrant.id } }, { token: insider.token });
    expect(['FORBIDDEN', 'NOT_FOUND']).toContain(byReader.errors?.[0]?.extensions?.code);
    expect(await t.sql(`SELECT 1 FROM space_grants WHERE id = $1`, [hiddenGrant.id])).toHaveLength(1);

    // Its id revokes it: the group's members read the space no more, and the log has it all (but for the group, to them).
    expect(expectOk(await t.gql(SPACE, { slug: space.slug }, { token: insider.token })).space.viewerAccess).toBe('READ');
    expectOk(await t.gql(REVOKE, { input: { spaceId: space.id, grantId: hiddenGrant.id } }, { token: spaceAdmin.token }));
    expectNotFound(await t.gql(SPACE, { slug: space.slug }, { token: insider.token }), 'space');
    expect((await read(spaceAdmin)).grants.map((g: any) => g.groupHidden)).toEqual([false, false]);
    const [revoked] = await t.sql(`SELECT actor_id, target_id, before, after FROM moderation_log WHERE space_id = $1 AND action = 'space.revoke'`, [space.id]);
    expect(revoked).toEqual({ actor_id: spaceAdmin.id, target_id: hidden, before: { groupId: hidden, level: 'READ' }, after: { groupId: hidden, level: null } });
    const after = await read(spaceAdmin);
    expect(after.log[0]).toMatchObject({ action: 'space.revoke', targetType: 'group', targetId: null });
    expect(after.text).not.toContain(hidden);
  });

  it('refuses grant input naming both or neither grantee, an unknown level, a deleted account or an imported placeholder', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const space = await makeSpace(t, 'MEMBERS');
    const g = await makeGroup(t);
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, level: 'READ' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, groupId: g, userId: admin.id, level: 'READ' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, groupId: g, level: 'NONE' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, groupId: g } }, { token: admin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, groupId: admin.id, level: 'READ' } }, { token: admin.token }), 'NOT_FOUND');
    // A deleted account, as one that never was.
    const gone = await makeUser(t);
    expectOk(await t.gql(`mutation($id: ID!) { anonymizeUser(userId: $id) { id } }`, { id: gone.id }, { token: admin.token }));
    expectError(await t.gql(GRANT, { input: { spaceId: space.id, userId: gone.id, level: 'READ' } }, { token: admin.token }), 'NOT_FOUND');
    // An imported author's placeholder account, as group admissions refuse it (it cannot sign in).
    const placeholder = await makeUser(t);
    await t.sql(`UPDATE users SET is_placeholder = true WHERE id = $1`, [placeholder.id]);
    expect(expectError(await t.gql(GRANT, { input: { spaceId: space.id, userId: placeholder.id, level: 'READ' } }, { token: admin.token }), 'NOT_FOUND').message).toBe('User not found');
    expect((await t.sql(`SELECT count(*)::int AS n FROM space_grants WHERE space_id = $1`, [space.id]))[0].n).toBe(0);
    expect((await t.sql(`SELECT count(*)::int AS n FROM moderation_log WHERE action = 'space.grant' AND space_id = $1`, [space.id]))[0].n).toBe(0);
  });

  it('drops the grants earlier releases gave placeholders (migration 1765152000000), which ranked them and showed to admins', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [mod, member, placeholder] = [await makeUser(t), await makeUser(t), await makeUser(t)];
    const space = await makeSpace(t, 'MEMBERS', [{ userId: mod.id, level: 'MODERATE' }, { userId: member.id, level: 'READ' }]);
    await t.sql(`UPDATE users SET is_placeholder = true WHERE id = $1`, [placeholder.id]);
    // As an earlier release could write it: a placeholder made a moderator of the space.
    await t.sql(`INSERT INTO space_grants (id, space_id, user_id, level) VALUES (gen_random_uuid(), $1, $2, 3)`, [space.id, placeholder.id]);
    await redoMigration(t, new GrantsToPlaceholders1765152000000());
    const rows = await t.sql(`SELECT user_id FROM space_grants WHERE space_id = $1 ORDER BY level DESC`, [space.id]);
    expect(rows.map((r) => r.user_id)).toEqual([mod.id, member.id]);
    const listed = expectOk(await t.gql(`query($s: String!) { space(slug: $s) { grants { userId } } }`, { s: space.slug }, { token: admin.token })).space.grants;
    expect(listed.map((g: any) => g.userId).sort()).toEqual([mod.id, member.id].sort());
    // No longer the moderators' peer: they may sanction the account there.
    const input = { userId: placeholder.id, kind: 'SILENCE', reason: 'Imported spam', durationHours: 1, spaceId: space.id };
    expectOk(await t.gql(`mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`, { input }, { token: mod.token }));
  });

  it('lets space admins (by grant) create boards and update the space', async () => {
    const spaceAdmin = await makeUser(t);
    const member = await makeUser(t);
    const space = await makeSpace(t, 'MEMBERS', [{ userId: spaceAdmin.id, level: 'ADMIN' }]);
    const input = { spaceId: space.id, kind: 'IDEAS', name: 'Ideas', slug: 'ideas' };
    expectError(await t.gql(CREATE_BOARD, { input }, { token: member.token }), 'FORBIDDEN');
    const b = expectOk(await t.gql(CREATE_BOARD, { input }, { token: spaceAdmin.token })).createBoard;
    expect(b).toMatchObject({ kind: 'IDEAS', slug: 'ideas', space: { slug: space.slug } });
    expectError(await t.gql(CREATE_BOARD, { input }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(CREATE_BOARD, { input: { ...input, kind: 'WIKI', slug: 'x1' } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');

    const upd = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { name visibility } }`;
    expectError(await t.gql(upd, { input: { spaceId: space.id, name: 'New' } }, { token: member.token }), 'FORBIDDEN');
    const u = expectOk(await t.gql(upd, { input: { spaceId: space.id, name: 'New', visibility: 'RESTRICTED' } }, { token: spaceAdmin.token }));
    expect(u.updateSpace).toEqual({ name: 'New', visibility: 'RESTRICTED' });
    // An update that changes nothing is refused, and tells nobody.
    const events = async () => (await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1`, [space.id]))[0].n;
    const before = await events();
    expectError(await t.gql(upd, { input: { spaceId: space.id } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(upd, { input: { spaceId: space.id, name: null, visibility: null } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expect(await events()).toBe(before);
    // Now RESTRICTED: the member no longer sees it at all.
    expectNotFound(await t.gql(SPACE, { slug: space.slug }, { token: member.token }), 'space');
    const seen = expectOk(await t.gql(SPACE, { slug: space.slug }, { token: spaceAdmin.token })).space;
    expect(seen.boards).toEqual([{ slug: 'ideas', kind: 'IDEAS' }]);
  });

  it('changes nothing for a space admin whose grant was revoked after the change was checked: grants, the space, its boards (FORBIDDEN)', async () => {
    const owner = await makeUser(t);
    const other = await makeUser(t);
    const friend = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: owner.id, level: 'ADMIN' }, { userId: friend.id, level: 'READ' }]);
    const board = await makeBoard(t, space.id, 'FORUM', 'kept');
    const changes: Array<[string, string, Record<string, unknown>]> = [
      ['grant', GRANT, { spaceId: space.id, userId: other.id, level: 'ADMIN' }],
      ['revoke', REVOKE, { spaceId: space.id, userId: friend.id }],
      ['updateSpace', `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`, { spaceId: space.id, name: 'Taken over', visibility: 'RESTRICTED' }],
      ['createBoard', CREATE_BOARD, { spaceId: space.id, kind: 'FORUM', name: 'Mine', slug: 'mine' }],
      ['updateBoard', `mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id } }`, { boardId: board, name: 'Mine now' }],
    ];
    const state = async () => ({
      grants: await t.sql(`SELECT user_id, level FROM space_grants WHERE space_id = $1 ORDER BY user_id`, [space.id]),
      space: await t.sql(`SELECT name, visibility FROM spaces WHERE id = $1`, [space.id]),
      boards: await t.sql(`SELECT slug, name FROM boards WHERE space_id = $1 ORDER BY slug`, [space.id]),
    });
    for (const [what, mutation, input] of changes) {
      expectOk(await t.gql(GRANT, { input: { spaceId: space.id, userId: other.id, level: 'ADMIN' } }, { token: owner.token }));
      // Checked while `other` is an admin of the space, then held before its transaction; the space's owner revokes them meanwhile.
      let first = true;
      const gate = gateCalls(t.get(UnitOfWork), 'run', () => first && !(first = false));
      let answer;
      let before;
      try {
        const changing = t.gql(mutation, { input }, { token: other.token });
        await gate.begun;
        expectOk(await t.gql(REVOKE, { input: { spaceId: space.id, userId: other.id } }, { token: owner.token }));
        before = await state();
        gate.open();
        answer = await changing;
      } finally {
        gate.restore();
      }
      expect([what, expectError(answer, 'FORBIDDEN').message]).toEqual([what, 'You need ADMIN access in this space']);
      expect(await state()).toEqual(before);
    }
  });

  it('creates no space for an admin demoted after the creation was checked (FORBIDDEN)', async () => {
    const [boss, demoted] = [await makeUser(t, { role: 'ADMIN' }), await makeUser(t, { role: 'ADMIN' })];
    let first = true;
    const gate = gateCalls(t.get(UnitOfWork), 'run', () => first && !(first = false));
    let answer;
    try {
      const creating = t.gql(CREATE_SPACE, { input: { slug: 'made-by-the-demoted', name: 'Theirs', visibility: 'PUBLIC' } }, { token: demoted.token });
      await gate.begun;
      expectOk(await t.gql(`mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id } }`, { input: { userId: demoted.id, role: 'MEMBER' } }, { token: boss.token }));
      gate.open();
      answer = await creating;
    } finally {
      gate.restore();
    }
    expect(expectError(answer, 'FORBIDDEN').message).toBe('Only admins create spaces');
    expect(await t.sql(`SELECT id FROM spaces WHERE slug = 'made-by-the-demoted'`)).toEqual([]);
  });

  it('sees a demotion under way when a space admin’s change judges them: it waits for the demotion and is refused (FORBIDDEN, nothing written), by group, by grant, by role', async () => {
    const UPDATE_SPACE = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`;
    const group = await makeGroup(t);
    const [byGroup, byGrant] = [await makeUser(t, { groups: [group] }), await makeUser(t)];
    const space = await makeSpace(t, 'PUBLIC', [{ groupId: group, level: 'ADMIN' }, { userId: byGrant.id, level: 'ADMIN' }]);
    const state = async () => ({
      space: await t.sql(`SELECT name FROM spaces WHERE id = $1`, [space.id]),
      boards: await t.sql(`SELECT slug FROM boards WHERE space_id = $1 ORDER BY slug`, [space.id]),
      spaces: (await t.sql(`SELECT count(*)::int AS n FROM spaces`))[0].n,
    });
    const before = await state();
    // Each demotion as its own write takes it, uncommitted while the change reads the admin.
    const cases: Array<[string, string, unknown[], string, string, Record<string, unknown>, string]> = [
      ['removed from the group', `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, [group, byGroup.id], byGroup.token, CREATE_BOARD, { spaceId: space.id, kind: 'FORUM', name: 'Mine', slug: 'mine' }, 'You need ADMIN access in this space'],
      ['grant taken with the account', `DELETE FROM space_grants WHERE user_id = $1`, [byGrant.id], byGrant.token, UPDATE_SPACE, { spaceId: space.id, name: 'Taken over' }, 'You need ADMIN access in this space'],
      ['grant lowered', `UPDATE space_grants SET level = $2 WHERE group_id = $1`, [group, LEVEL_RANK.MODERATE], byGroup.token, UPDATE_SPACE, { spaceId: space.id, name: 'Taken over' }, 'You need ADMIN access in this space'],
    ];
    for (const [what, demotion, params, token, mutation, input, message] of cases) {
      if (what === 'grant lowered') await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [group, byGroup.id]);
      const answer = await withLockHeld(t, demotion, params, async (h) => {
        const changing = t.gql(mutation, { input }, { token });
        expect([what, await doneOrWaiting(t, changing, 1, h)]).toEqual([what, 'waiting']);
        await h.release();
        return changing;
      });
      expect([what, expectError(answer, 'FORBIDDEN').message]).toEqual([what, message]);
      expect(await state()).toEqual(before);
    }
    // A site admin demoted (setUserRole holds their row FOR UPDATE) while creating a space.
    const demoted = await makeUser(t, { role: 'ADMIN' });
    const answer = await withLockHeld(t, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [demoted.id], async (h) => {
      await h.query(`UPDATE users SET role = 'MEMBER' WHERE id = $1`, [demoted.id]);
      const creating = t.gql(CREATE_SPACE, { input: { slug: 'made-while-demoted', name: 'Theirs', visibility: 'PUBLIC' } }, { token: demoted.token });
      expect(await doneOrWaiting(t, creating, 1, h)).toBe('waiting');
      await h.release();
      return creating;
    });
    expect(expectError(answer, 'FORBIDDEN').message).toBe('Only admins create spaces');
    expect(await state()).toEqual(before);
  });

  it('holds a space admin’s rights until their change commits: a demotion asked meanwhile waits for it, by group and by role', async () => {
    const boss = await makeUser(t, { role: 'ADMIN' });
    const group = await makeGroup(t);
    const byGroup = await makeUser(t, { groups: [group] });
    const space = await makeSpace(t, 'PUBLIC', [{ groupId: group, level: 'ADMIN' }]);
    const siteAdmin = await makeUser(t, { role: 'ADMIN' });
    const cases: Array<[string, () => Promise<any>, string, string, Record<string, unknown>]> = [
      ['removed from the group', () => t.gql(`mutation($input: GroupMemberInput!) { removeGroupMember(input: $input) { id } }`, { input: { groupId: group, userId: byGroup.id } }, { token: boss.token }),
        byGroup.token, CREATE_BOARD, { spaceId: space.id, kind: 'FORUM', name: 'Held', slug: 'held' }],
      ['demoted', () => t.gql(`mutation($input: SetUserRoleInput!) { setUserRole(input: $input) { id } }`, { input: { userId: siteAdmin.id, role: 'MEMBER' } }, { token: boss.token }),
        siteAdmin.token, CREATE_SPACE, { slug: 'made-before-the-demotion', name: 'Theirs', visibility: 'PUBLIC' }],
    ];
    for (const [what, demote, token, mutation, input] of cases) {
      const who = what === 'demoted' ? siteAdmin.id : byGroup.id;
      // Held once the change has judged its admin (read on its transaction), before it writes.
      const gate = gateCalls(t.get(SessionsService), 'viewerNow', (v: { id: string }) => v.id === who, 'after');
      try {
        const changing = t.gql(mutation, { input }, { token });
        await gate.begun;
        const demoting = demote();
        expect([what, await doneOrWaiting(t, demoting, 1, await gateHolder(gate))]).toEqual([what, 'waiting']);
        gate.open();
        expectOk(await changing);
        expectOk(await demoting);
      } finally {
        gate.restore();
      }
    }
  });

  it('holds the group a space admin grants to before their rights: their removal from it (the group FOR SHARE, then the membership) goes first, no deadlock, and the grant is refused', async () => {
    const group = await makeGroup(t);
    await t.sql(`UPDATE groups SET visibility = 'MEMBERS' WHERE id = $1`, [group]);
    const admin = await makeUser(t, { groups: [group] });
    const space = await makeSpace(t, 'PUBLIC', [{ groupId: group, level: 'ADMIN' }]);
    // As a removal from the group takes it (GroupMemberships: the group held, then the membership deleted).
    const answer = await withLockHeld(t, `SELECT 1 FROM groups WHERE id = $1 FOR SHARE`, [group], async (h) => {
      const granting = t.gql(GRANT, { input: { spaceId: space.id, groupId: group, level: 'MODERATE' } }, { token: admin.token });
      expect(await doneOrWaiting(t, granting, 1, h)).toBe('waiting');
      // The grant holds nothing of the admin's yet: the removal's delete does not wait for it (it
      // did, and one of the two was ended as a deadlock). Counted behind the grant's backend (the
      // one queued behind the test's lock), which the removal would queue behind.
      const [{ pid: grant }] = await t.sql(`SELECT pid FROM pg_stat_activity WHERE $1::int = ANY (pg_blocking_pids(pid))`, [h.pid]);
      const removing = h.query(`DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, [group, admin.id]);
      expect(await doneOrWaiting(t, removing, 1, grant)).toBe('done');
      await removing;
      await h.release();
      return granting;
    });
    expect(expectError(answer, 'FORBIDDEN').message).toBe('You need ADMIN access in this space');
    expect(await t.sql(`SELECT level FROM space_grants WHERE space_id = $1`, [space.id])).toEqual([{ level: LEVEL_RANK.ADMIN }]);
  });

  it('holds what a space admin’s change changes, then their rights and the lock their sanctions take, before reading them again', async () => {
    const group = await makeGroup(t);
    await t.sql(`UPDATE groups SET visibility = 'MEMBERS' WHERE id = $1`, [group]);
    const admin = await makeUser(t, { groups: [group] });
    const grantee = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ groupId: group, level: 'ADMIN' }]);
    const board = await makeBoard(t, space.id, 'FORUM', 'counted');
    const changes: Array<[string, string, Record<string, unknown>, RegExp]> = [
      ['grant to a user', GRANT, { spaceId: space.id, userId: grantee.id, level: 'READ' }, /FROM spaces WHERE id = \$1 FOR NO KEY UPDATE/],
      ['grant to a group', GRANT, { spaceId: space.id, groupId: group, level: 'ADMIN' }, /FROM spaces WHERE id = \$1 FOR NO KEY UPDATE[\s\S]*FROM groups WHERE id = \$2 FOR NO KEY UPDATE/],
      ['revoke', REVOKE, { spaceId: space.id, userId: grantee.id }, /FROM spaces WHERE id = \$1 FOR NO KEY UPDATE/],
      ['update the space', UPDATE_SPACE, { spaceId: space.id, name: 'Counted' }, /FROM spaces WHERE id = \$1 FOR NO KEY UPDATE/],
      ['create a board', CREATE_BOARD, { spaceId: space.id, kind: 'FORUM', name: 'New', slug: 'new' }, /FROM spaces WHERE id = \$1 FOR NO KEY UPDATE/],
      ['update a board', UPDATE_BOARD, { boardId: board, name: 'Recounted' }, /FROM boards WHERE id = \$1 FOR NO KEY UPDATE/],
    ];
    for (const [what, mutation, input, changed] of changes) {
      const { statements } = await t.countStatements(async () => expectOk(await t.gql(mutation, { input }, { token: admin.token })));
      // What the change changes first, then (a statement of its own, which sees what committed while
      // the first waited) their account, their group's ADMIN grant and their membership, and the
      // sanctions' lock, shared; each once.
      const held = statements.filter((q) => changed.test(q) || /FOR KEY SHARE OF gm/.test(q));
      expect([what, held]).toEqual([what, [
        expect.stringMatching(changed),
        expect.stringMatching(/FROM users WHERE id = \$1 FOR KEY SHARE[\s\S]*FOR KEY SHARE OF gm[\s\S]*pg_advisory_xact_lock_shared/),
      ]]);
    }
  });

  it('orders a space admin’s change and a sanction of theirs: one given while the change is under way waits for it, and a change that waited for one reads it and is refused', async () => {
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    const sanctions: Array<[string, Record<string, unknown>]> = [
      ['suspended site-wide', { kind: 'SUSPEND', durationHours: 24 }],
      ['banned from the space', { kind: 'BAN' }],
    ];
    const newAdmin = async (what: string) => {
      const admin = await makeUser(t);
      const space = await makeSpace(t, 'PUBLIC', [{ userId: admin.id, level: 'ADMIN' }]);
      const sanction = { userId: admin.id, reason: 'Enough', ...sanctions.find(([w]) => w === what)![1], ...(what === 'banned from the space' ? { spaceId: space.id } : {}) };
      const change = () => t.gql(CREATE_BOARD, { input: { spaceId: space.id, kind: 'FORUM', name: 'Theirs', slug: 'theirs' } }, { token: admin.token });
      const boards = async () => (await t.sql(`SELECT slug FROM boards WHERE space_id = $1`, [space.id])).map((r) => r.slug);
      return { admin, sanction, change, boards };
    };
    for (const [what] of sanctions) {
      // The change first, held once it has read its admin: the sanction waits for it to commit.
      const first = await newAdmin(what);
      const held = gateCalls(t.get(SessionsService), 'viewerNow', (v: { id: string }) => v.id === first.admin.id, 'after');
      try {
        const changing = first.change();
        await held.begun;
        const sanctioning = t.gql(SANCTION, { input: first.sanction }, { token: globalMod.token });
        expect([what, await doneOrWaiting(t, sanctioning, 1, await gateHolder(held))]).toEqual([what, 'waiting']);
        held.open();
        expectOk(await changing);
        expectOk(await sanctioning);
      } finally {
        held.restore();
      }
      expect([what, await first.boards()]).toEqual([what, ['theirs']]);
      // The sanction first, held once written: the change waits for it, then reads it.
      const second = await newAdmin(what);
      const written = gateCalls(t.get(SanctionsService), 'write', () => true, 'after');
      let answer;
      try {
        const sanctioning = t.gql(SANCTION, { input: second.sanction }, { token: globalMod.token });
        await written.begun;
        const changing = second.change();
        expect([what, await doneOrWaiting(t, changing, 1, await gateHolder(written))]).toEqual([what, 'waiting']);
        written.open();
        expectOk(await sanctioning);
        answer = await changing;
      } finally {
        written.restore();
      }
      expect([what, answer.errors?.[0]?.extensions?.code]).toEqual([what, what === 'suspended site-wide' ? 'UNAUTHENTICATED' : 'NOT_FOUND']);
      expect([what, await second.boards()]).toEqual([what, []]);
    }
  });

  it('holds rights an admin gained while their change waited for the space: their removal from a group joined meanwhile waits for the change', async () => {
    const [left, joined] = [await makeGroup(t), await makeGroup(t)];
    const admin = await makeUser(t, { groups: [left] });
    const space = await makeSpace(t, 'PUBLIC', [{ groupId: left, level: 'ADMIN' }, { groupId: joined, level: 'ADMIN' }]);
    // Held once it has changed the space, before it commits.
    const gate = gateCalls(t.get(AccessService), 'refreshWithin', (v: { id: string }) => v.id === admin.id);
    try {
      let changing;
      const h = await holdLock(t, `SELECT 1 FROM spaces WHERE id = $1 FOR NO KEY UPDATE`, [space.id]);
      try {
        changing = t.gql(UPDATE_SPACE, { input: { spaceId: space.id, name: 'Run by the joined' } }, { token: admin.token });
        expect(await doneOrWaiting(t, changing, 1, h)).toBe('waiting');
        // While its statement waits (reading rows as they were when it began): out of one group
        // with an ADMIN grant, into another.
        await t.sql(`DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, [left, admin.id]);
        await t.sql(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)`, [joined, admin.id]);
      } finally {
        await h.release();
      }
      await gate.begun;
      const removing = t.sql(`DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, [joined, admin.id]);
      expect(await doneOrWaiting(t, removing, 1, await gateHolder(gate))).toBe('waiting');
      gate.open();
      expectOk(await changing);
      await removing;
    } finally {
      gate.restore();
    }
    expect(await t.sql(`SELECT name FROM spaces WHERE id = $1`, [space.id])).toEqual([{ name: 'Run by the joined' }]);
  });

  it('lets space admins rename, re-slug, describe and reorder a board, and nobody else', async () => {
    const spaceAdmin = await makeUser(t);
    const member = await makeUser(t);
    const space = await makeSpace(t, 'MEMBERS', [{ userId: spaceAdmin.id, level: 'ADMIN' }]);
    const hidden = await makeSpace(t, 'RESTRICTED');
    const first = await makeBoard(t, space.id, 'FORUM', 'general');
    const second = await makeBoard(t, space.id, 'FORUM', 'support');
    const secret = await makeBoard(t, hidden.id, 'FORUM', 'secret');
    const upd = `mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id kind slug name description position } }`;
    const events = async (boardId: string) => (await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1 AND type = 'board.updated'`, [boardId]))[0].n;

    expectError(await t.gql(upd, { input: { boardId: first, name: 'Mine now' } }, { token: member.token }), 'FORBIDDEN');
    // A global moderator moderates the space but does not run it.
    const globalMod = await makeUser(t, { role: 'MODERATOR' });
    expectError(await t.gql(upd, { input: { boardId: first, name: 'Moderated' } }, { token: globalMod.token }), 'FORBIDDEN');
    // Signed out: refused for that before the board is looked up, as every mutation needing an account is (anonymous-mutations).
    expectError(await t.gql(upd, { input: { boardId: first, name: 'Nobody' } }), 'UNAUTHENTICATED');
    expectNotFound(await t.gql(upd, { input: { boardId: secret, name: 'Found you' } }, { token: spaceAdmin.token }), 'updateBoard');
    expectNotFound(await t.gql(upd, { input: { boardId: '00000000-0000-4000-8000-000000000000', name: 'Nobody' } }, { token: spaceAdmin.token }), 'updateBoard');
    // A slug another board of the space has, a change of nothing, and bad values: refused, nothing written.
    expect(expectError(await t.gql(upd, { input: { boardId: first, slug: 'support' } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([
      { field: 'slug', message: 'is taken in this space' },
    ]);
    expectError(await t.gql(upd, { input: { boardId: first } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(upd, { input: { boardId: first, name: null, slug: null } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(upd, { input: { boardId: first, name: '\u200b' } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(upd, { input: { boardId: first, slug: 'Not A Slug' } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expectError(await t.gql(upd, { input: { boardId: first, position: -1 } }, { token: spaceAdmin.token }), 'BAD_USER_INPUT');
    expect(await events(first)).toBe(0);
    expect(await t.sql(`SELECT slug, name FROM boards WHERE id = $1`, [first])).toEqual([{ slug: 'general', name: 'general' }]);

    const changed = expectOk(await t.gql(upd, { input: { boardId: first, name: 'Announcements', slug: 'news', description: 'From the team', position: 5 } }, { token: spaceAdmin.token }));
    expect(changed.updateBoard).toEqual({ id: first, kind: 'FORUM', slug: 'news', name: 'Announcements', description: 'From the team', position: 5 });
    expect(await events(first)).toBe(1);
    // Only what is given changes; the space lists its boards in their new order.
    expect(expectOk(await t.gql(upd, { input: { boardId: second, position: 1 } }, { token: spaceAdmin.token })).updateBoard).toMatchObject({ slug: 'support', name: 'support', position: 1 });
    expect(expectOk(await t.gql(SPACE, { slug: space.slug }, { token: member.token })).space.boards).toEqual([
      { slug: 'support', kind: 'FORUM' },
      { slug: 'news', kind: 'FORUM' },
    ]);
  });

  it('writes changes to who reads, who moderates and how a space is moderated to the moderation log', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const mod = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC');
    const log = async () =>
      (await t.sql(`SELECT action, target_id, before, after FROM moderation_log WHERE space_id = $1 ORDER BY id`, [space.id])).map((r) => [r.action, r.target_id, r.before, r.after]);
    const upd = `mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`;
    expectOk(await t.gql(upd, { input: { spaceId: space.id, name: 'Renamed only' } }, { token: admin.token }));
    expect(await log()).toEqual([]);
    expectOk(await t.gql(upd, { input: { spaceId: space.id, premoderation: 'ALL', autoHideThreshold: 9 } }, { token: admin.token }));
    expectOk(await t.gql(GRANT, { input: { spaceId: space.id, userId: mod.id, level: 'MODERATE' } }, { token: admin.token }));
    expectOk(await t.gql(GRANT, { input: { spaceId: space.id, userId: mod.id, level: 'MODERATE' } }, { token: admin.token })); // no change: nothing logged
    expectOk(await t.gql(GRANT, { input: { spaceId: space.id, userId: mod.id, level: 'PARTICIPATE' } }, { token: admin.token }));
    expectOk(await t.gql(REVOKE, { input: { spaceId: space.id, userId: mod.id } }, { token: admin.token }));
    expectOk(await t.gql(REVOKE, { input: { spaceId: space.id, userId: mod.id } }, { token: admin.token })); // nothing left: nothing logged
    const entries = await log();
    expect(entries.map(([action]) => action)).toEqual(['space.settings', 'space.grant', 'space.grant', 'space.revoke']);
    expect(entries[0][3]).toMatchObject({ visibility: 'PUBLIC', moderation: { premoderation: 'ALL', autoHideThreshold: 9 } });
    expect(entries.slice(1).map(([, target, before, after]) => [target, before.level, after.level])).toEqual([
      [mod.id, null, 'MODERATE'],
      [mod.id, 'MODERATE', 'PARTICIPATE'],
      [mod.id, 'PARTICIPATE', null],
    ]);
  });

  it('reads every space’s moderation settings and grants in a fixed number of statements (no N+1)', async () => {
    // A database of its own, so the list holds exactly the spaces made here.
    const own = await bootTestApp();
    try {
      const admin = await makeUser(own, { role: 'ADMIN' });
      const q = `{ spaces { id moderationSettings { autoHideThreshold premoderation escalationLadder { action } } grants { id level userId } } }`;
      const make = async (n: number) => { for (let i = 0; i < n; i++) await makeSpace(own, 'PUBLIC', [{ userId: admin.id, level: 'MODERATE' }]); };
      await make(2);
      let page: any;
      const two = await own.countStatements(async () => (page = expectOk(await own.gql(q, {}, { token: admin.token }))));
      expect(page.spaces).toHaveLength(2);
      await make(6);
      const eight = await own.countStatements(async () => (page = expectOk(await own.gql(q, {}, { token: admin.token }))));
      expect(page.spaces).toHaveLength(8);
      expect(page.spaces.every((s: any) => s.grants.length === 1 && s.moderationSettings.autoHideThreshold > 0)).toBe(true);
      expect(eight.count).toBe(two.count);
    } finally {
      await own.close();
    }
  });

  it('reads a space’s grants afresh after a grant in the same request', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const [u1, u2] = [await makeUser(t), await makeUser(t)];
    const space = await makeSpace(t, 'RESTRICTED');
    const both = `mutation($a: SpaceGrantInput!, $b: SpaceGrantInput!) {
      a: grantSpaceAccess(input: $a) { grants { userId } }
      b: grantSpaceAccess(input: $b) { grants { userId } } }`;
    const res = expectOk(await t.gql(both, { a: { spaceId: space.id, userId: u1.id, level: 'READ' }, b: { spaceId: space.id, userId: u2.id, level: 'READ' } }, { token: admin.token }));
    expect(res.b.grants.map((g: any) => g.userId).sort()).toEqual([u1.id, u2.id].sort());
    // And its moderation settings after an update.
    const settings = `mutation($a: UpdateSpaceInput!, $b: UpdateSpaceInput!) {
      a: updateSpace(input: $a) { moderationSettings { premoderation } }
      b: updateSpace(input: $b) { moderationSettings { premoderation } } }`;
    const updated = expectOk(await t.gql(settings, { a: { spaceId: space.id, premoderation: 'ALL' }, b: { spaceId: space.id, premoderation: 'NEW_USERS' } }, { token: admin.token }));
    expect([updated.a.moderationSettings.premoderation, updated.b.moderationSettings.premoderation]).toEqual(['ALL', 'NEW_USERS']);
  });

  it('answers board(id) only for readable spaces', async () => {
    const publicSpace = await makeSpace(t, 'PUBLIC');
    const internal = await makeSpace(t, 'RESTRICTED');
    const pub = await makeBoard(t, publicSpace.id);
    const priv = await makeBoard(t, internal.id);
    const q = `query($id: ID!) { board(id: $id) { id space { slug } } }`;
    expect(expectOk(await t.gql(q, { id: pub })).board.space.slug).toBe(publicSpace.slug);
    expectNotFound(await t.gql(q, { id: priv }), 'board');
    expect(expectError(await t.gql(q, { id: 'not-a-uuid' }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'id', message: 'must be a board id' }]);
  });

  it('gives global moderators MODERATE on readable spaces only, and admins everything', async () => {
    const mod = await makeUser(t, { role: 'MODERATOR' });
    const admin = await makeUser(t, { role: 'ADMIN' });
    const pub = await makeSpace(t, 'PUBLIC');
    const restricted = await makeSpace(t, 'RESTRICTED');
    expect(expectOk(await t.gql(SPACE, { slug: pub.slug }, { token: mod.token })).space.viewerAccess).toBe('MODERATE');
    expectNotFound(await t.gql(SPACE, { slug: restricted.slug }, { token: mod.token }), 'space');
    expect(expectOk(await t.gql(SPACE, { slug: restricted.slug }, { token: admin.token })).space.viewerAccess).toBe('ADMIN');
    expect(expectOk(await t.gql(SPACE, { slug: pub.slug })).space.viewerAccess).toBe('READ');
  });
});
