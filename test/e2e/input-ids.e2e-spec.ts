import { makeSpace, makeUser } from '../factories';
import { bootTestApp, expectError, expectOk, TestApp } from '../support/test-app';

const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;
const SET_TRUST = `mutation($input: SetTrustLevelInput!) { setTrustLevel(input: $input) { id trustLevel } }`;

/**
 * Ids inside inputs are handed to services in lower case, as bare ID arguments are
 * (withIdArguments): a UUID in capitals passes @IsUUID('all'), and a service comparing it with
 * the viewer's id as text must not take it for someone else's.
 */
describe('ids inside inputs, sent in capitals', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('refuses a moderator’s sanction of themselves sent in capitals as one sent in lower case (BAD_USER_INPUT on userId, nothing written)', async () => {
    const mod = await makeUser(t);
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const input = { userId: mod.id.toUpperCase(), kind: 'WARNING', reason: 'Myself, in capitals', spaceId: space.id.toUpperCase() };
    expect(expectError(await t.gql(SANCTION, { input }, { token: mod.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'userId', message: 'you cannot sanction yourself' }]);
    expect(await t.sql(`SELECT count(*)::int AS n FROM sanctions WHERE user_id = $1`, [mod.id])).toEqual([{ n: 0 }]);
  });

  it('takes a space’s id in capitals from its moderator as the same space: the sanction is given there', async () => {
    const [mod, member] = [await makeUser(t), await makeUser(t)];
    const space = await makeSpace(t, 'PUBLIC', [{ userId: mod.id, level: 'MODERATE' }]);
    const input = { userId: member.id.toUpperCase(), kind: 'WARNING', reason: 'Their space, in capitals', spaceId: space.id.toUpperCase() };
    expectOk(await t.gql(SANCTION, { input }, { token: mod.token }));
    expect(await t.sql(`SELECT user_id, space_id FROM sanctions WHERE issued_by = $1`, [mod.id])).toEqual([{ user_id: member.id, space_id: space.id }]);
  });

  it('refuses an admin’s change of their own trust level sent in capitals as one sent in lower case (BAD_USER_INPUT on userId)', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const input = { userId: admin.id.toUpperCase(), level: 4, reason: 'Raising myself' };
    expect(expectError(await t.gql(SET_TRUST, { input }, { token: admin.token }), 'BAD_USER_INPUT').extensions.fields).toEqual([{ field: 'userId', message: 'you cannot set your own trust level' }]);
  });
});
