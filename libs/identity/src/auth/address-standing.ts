import { Queryable } from '../../../core/src/database/unit-of-work';
import { emailBannedSql, ipBannedSql } from './address-bans';

/** SQL: whether an account other than `exceptUserId`'s (an SQL expression, NULL or none: any account) has the address `email` (an SQL expression), as the unique index compares it. */
export function emailTakenSql(email: string, exceptUserId?: string): string {
  return `EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(${email})${exceptUserId ? ` AND id IS DISTINCT FROM ${exceptUserId}` : ''})`;
}

/**
 * Whether `email` is another account's (`taken`: an account but `exceptUserId`'s) and whether
 * a ban standing holds it (`banned`, `emailBannedSql`), in one statement. Invitations and a
 * change of address ask it through `refuseTakenOrBanned`, each in its own words. Sign-up asks
 * `addressBanned` instead.
 */
async function addressStanding(q: Queryable, email: string, opts: { exceptUserId?: string } = {}): Promise<{ taken: boolean; banned: boolean }> {
  // Every parameter read, set or not (PostgreSQL types each from its use): no account has no id.
  const [row] = await q.query(`SELECT ${emailTakenSql('$1', '$2::uuid')} AS taken, ${emailBannedSql('$1')} AS banned`, [email, opts.exceptUserId ?? null]);
  return { taken: row.taken, banned: row.banned };
}

/**
 * Whether a ban standing holds `email` (`emailBannedSql`) or any of `ips` (`ipBannedSql`), in one
 * statement that asks nothing else: sign-up's question, which tells nobody whether the address
 * has an account and so does not look (until 2026-12-07 it asked `addressStanding`, whose
 * `taken` it ignored, reading the accounts once more than `createAccount` does).
 */
export async function addressBanned(q: Queryable, email: string, ips: string[]): Promise<boolean> {
  const [row] = await q.query(`SELECT ${emailBannedSql('$1')} OR ${ipBannedSql('$2::text[]')} AS banned`, [email, ips]);
  return row.banned;
}

/**
 * How a caller refuses an address taken or banned: the errors differ on purpose, since each
 * tells its own reader. A change of address says what sign-up says ('is already registered',
 * 'is not accepted here', BAD_USER_INPUT on the field it read: no more than sign-up tells
 * anyone); an invitation tells its maker what to do instead ('already has an account: add it
 * to the groups instead', 'cannot be invited'). Sign-up refuses apart, reading `addressBanned`
 * itself: a ban of the address or of the network, FORBIDDEN in words that do not tell which,
 * first; the address taken later, after the invitation is checked (so a site by invitation tells
 * nobody without one which addresses have accounts), with the handle's (`createAccount`, which
 * the CLI's admin:create shares, asks `emailTakenSql`).
 */
export interface AddressRefusals {
  taken: () => Error;
  banned: () => Error;
}

/** Refuses `email` when `addressStanding` finds it taken (first) or banned, as `refusals` words it. */
export async function refuseTakenOrBanned(q: Queryable, email: string, refusals: AddressRefusals, opts: { exceptUserId?: string } = {}): Promise<void> {
  const standing = await addressStanding(q, email, opts);
  if (standing.taken) throw refusals.taken();
  if (standing.banned) throw refusals.banned();
}
