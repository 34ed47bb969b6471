import { hashPassword } from '../../libs/identity/src/auth/auth.service';
import { EmailChangeService } from '../../libs/identity/src/auth/email-change';
import { makeUser, TestUser } from '../factories';
import { freshIp } from '../support/fresh-ip';
import { TableSnapshots } from '../support/refusals';
import { bootTestApp, expectError, expectOk, GqlResult, TestApp } from '../support/test-app';

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`;
const INVITE = `mutation($input: CreateInviteInput!) { createInvite(input: $input) { id } }`;
const CHANGE = `mutation($input: ChangeEmailInput!) { changeEmail(input: $input) { id pendingEmail } }`;
const CONFIRM = `mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) }`;
const PASSWORD = 'the password we have';

/**
 * One check of an address, taken (another account has it) or banned (a ban standing holds it),
 * asked by sign-up, an invitation by e-mail and a change of address (its request and its
 * confirmation), each refusing in its own words and writing nothing.
 */
describe('an address taken or banned', () => {
  let t: TestApp;
  let admin: TestUser;
  let owner: TestUser;
  let tables: TableSnapshots;
  let seq = 0;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await makeUser(t, { role: 'ADMIN' });
    owner = await makeUser(t);
    // Every table but the attempts the refusals count (sign-up's and a change's, as they always did).
    tables = await TableSnapshots.of(t, { migrations: 'bookkeeping', rate_events: 'the attempts a refusal counts' });
  });
  afterAll(() => t.close());

  /** An address a ban holds (one put there by hand: it stands for good), in another case than the ban's. */
  const banned = async () => {
    const email = `banned${++seq}@example.net`;
    await t.sql(`INSERT INTO banned_emails (email_lower) VALUES ($1)`, [email]);
    return email.toUpperCase();
  };
  /** Runs `refused`, which must answer `code` with `fields` (when given), and leave every table as it was. */
  const writesNothing = async (refused: () => Promise<GqlResult>, code: string, fields?: Array<{ field: string; message: string }>) => {
    const before = await tables.take();
    const err = expectError(await refused(), code);
    if (fields) expect(err.extensions.fields).toEqual(fields);
    expect(TableSnapshots.changed(before, await tables.take())).toEqual([]);
    return err;
  };

  it('refuses a sign-up: taken, BAD_USER_INPUT on email (with a taken handle beside it); banned, FORBIDDEN, not saying whether the address or the network', async () => {
    const signUp = (email: string, handle = `newcomer${++seq}`) => () => t.gql(SIGN_UP, { input: { email, handle, password: 'a long enough password' } }, { ip: freshIp() });
    await writesNothing(signUp(owner.email.toUpperCase()), 'BAD_USER_INPUT', [{ field: 'email', message: 'is already registered' }]);
    await writesNothing(signUp(owner.email, owner.handle), 'BAD_USER_INPUT', [{ field: 'email', message: 'is already registered' }, { field: 'handle', message: 'is taken' }]);
    const err = await writesNothing(signUp(await banned()), 'FORBIDDEN');
    expect(err.message).toBe('Sign-ups from this e-mail address or network are not accepted');
    // A ban is told before the address is: the same answer, taken or not.
    await t.sql(`INSERT INTO banned_emails (email_lower) VALUES (lower($1))`, [admin.email]);
    try {
      await writesNothing(signUp(admin.email), 'FORBIDDEN');
    } finally {
      await t.sql(`DELETE FROM banned_emails WHERE email_lower = lower($1)`, [admin.email]);
    }
  });

  it('asks at sign-up only whether a ban holds the address or the network: the accounts are looked up once, by createAccount, with the handle', async () => {
    const email = `counted${++seq}@example.net`;
    const { statements } = await t.countStatements(async () =>
      expectOk(await t.gql(SIGN_UP, { input: { email, handle: `counted${seq}`, password: 'a long enough password' } }, { ip: freshIp() })));
    const asked = (table: RegExp) => statements.filter((q) => table.test(q));
    // The one look-up of the address among the accounts: createAccount's, beside the handle's.
    expect(asked(/FROM users WHERE lower\(email\)/).map((q) => /lower\(handle\)/.test(q))).toEqual([true]);
    // The ban's question asks nothing else.
    const bans = asked(/FROM banned_emails/);
    expect(bans).toHaveLength(1);
    expect(bans[0]).toMatch(/FROM banned_ips/);
    expect(bans[0]).not.toMatch(/FROM users/);
  });

  it('on a site by invitation, refuses a sign-up without one, or with one that is no invitation, as it refuses a free address: nobody learns which have accounts', async () => {
    const site = await bootTestApp({ SIGN_UP: 'invite' });
    try {
      const member = await makeUser(site);
      /** What a sign-up at `email` (with `inviteToken`) is told: all of it but the correlation id. */
      const told = async (email: string, inviteToken?: string) => {
        const input = { email, handle: `newcomer${++seq}`, password: 'a long enough password', ...(inviteToken ? { inviteToken } : {}) };
        const [error] = (await site.gql(SIGN_UP, { input }, { ip: freshIp() })).errors ?? [];
        return error && { message: error.message, code: error.extensions.code, fields: error.extensions.fields };
      };
      const free = `free${++seq}@example.net`;
      const noInvitation = await told(free);
      expect(noInvitation?.code).toBe('FORBIDDEN');
      expect(await told(member.email)).toEqual(noInvitation);
      expect(await told(member.email.toUpperCase())).toEqual(noInvitation);
      const noSuchInvitation = await told(free, 'no-such-invitation');
      expect(noSuchInvitation?.code).toBe('BAD_USER_INPUT');
      expect(await told(member.email, 'no-such-invitation')).toEqual(noSuchInvitation);
    } finally {
      await site.close();
    }
  });

  it('refuses an invitation by e-mail, in words telling its maker what to do instead', async () => {
    const invite = (email: string) => () => t.gql(INVITE, { input: { email } }, { token: admin.token });
    await writesNothing(invite(owner.email.toUpperCase()), 'BAD_USER_INPUT', [{ field: 'email', message: 'already has an account: add it to the groups instead' }]);
    await writesNothing(invite(await banned()), 'BAD_USER_INPUT', [{ field: 'email', message: 'cannot be invited' }]);
    expectOk(await t.gql(INVITE, { input: { email: `welcome${++seq}@example.net` } }, { token: admin.token }));
  });

  it('refuses a change of address, at its request on newEmail and at its confirmation on token, in sign-up’s words', async () => {
    const mover = await makeUser(t, { passwordHash: await hashPassword(PASSWORD) });
    const change = (newEmail: string) => () => t.gql(CHANGE, { input: { newEmail, currentPassword: PASSWORD } }, { token: mover.token, ip: freshIp() });
    await writesNothing(change(owner.email.toUpperCase()), 'BAD_USER_INPUT', [{ field: 'newEmail', message: 'is already registered' }]);
    await writesNothing(change(await banned()), 'BAD_USER_INPUT', [{ field: 'newEmail', message: 'is not accepted here' }]);

    // Taken, or banned, while the link waited: its confirmation is refused, the change left waiting.
    const confirmTo = async (pending: string) => {
      await t.sql(`UPDATE users SET pending_email = $2, pending_email_at = now() WHERE id = $1`, [mover.id, pending]);
      const token = await t.get(EmailChangeService).token({ id: mover.id, pendingEmail: pending });
      return () => t.gql(CONFIRM, { input: { token } });
    };
    await writesNothing(await confirmTo(owner.email), 'BAD_USER_INPUT', [{ field: 'token', message: 'is already registered' }]);
    await writesNothing(await confirmTo((await banned()).toLowerCase()), 'BAD_USER_INPUT', [{ field: 'token', message: 'is not accepted here' }]);
    // The account's own address is not another's: a change back to it is taken by nobody.
    const [{ email: own }] = await t.sql(`SELECT email FROM users WHERE id = $1`, [mover.id]);
    expectOk(await (await confirmTo(own))());
  });
});
