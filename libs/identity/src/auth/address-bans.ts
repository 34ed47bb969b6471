import { SANCTION_IN_FORCE } from '../../../access/src/access.service';

/**
 * E-mail and IP bans. `banned_emails` and `banned_ips` hold a row per address and the ban that
 * banned it (`sanction_id`): two bans of one address (two bans of one account, or of two accounts
 * that shared an address or a network) each hold their own row, and lifting one takes only its
 * own (`SanctionsService.lift`). A row stands while its ban is in force (not lifted, not run out);
 * a row of no ban (put there by hand) stands for good. An address is banned while any of its rows
 * stands: these are the only reads, and ask just that.
 */
const STANDING = `(b.sanction_id IS NULL OR EXISTS (SELECT 1 FROM sanctions sa WHERE sa.id = b.sanction_id AND ${SANCTION_IN_FORCE}))`;

/** SQL: whether a ban standing holds the e-mail address `email` (an SQL expression, the address composed). */
export function emailBannedSql(email: string): string {
  return `EXISTS (SELECT 1 FROM banned_emails b WHERE b.email_lower = lower(${email}) AND ${STANDING})`;
}

/** SQL: whether a ban standing holds any of `ips` (an SQL expression of type text[]: an address and its network, `networkOf`). */
export function ipBannedSql(ips: string): string {
  return `EXISTS (SELECT 1 FROM banned_ips b WHERE b.ip = ANY(${ips}) AND ${STANDING})`;
}
