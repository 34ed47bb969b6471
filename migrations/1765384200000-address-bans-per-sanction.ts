import ipaddr from 'ipaddr.js';
import { MigrationInterface, QueryRunner } from 'typeorm';
import { alterGivingWay } from './support/lock-wait';

/** Standing site-wide bans read a batch at a time by the backfill. */
export const ADDRESS_BANS_BATCH = 500;

/**
 * E-mail and IP bans a row per address and ban. `banned_emails` and `banned_ips` were keyed by the
 * address alone, and a ban of an address banned already wrote nothing (`ON CONFLICT DO NOTHING`):
 * the row stayed the first ban's, and lifting that one freed the address while the second still
 * stood. The key is now the address and the ban (`sanction_id`): each ban holds its own row, a lift
 * takes only its own, and an address is banned while any row of it stands (its ban in force; a row
 * of no ban, put there by hand, always: one such row per address). Indexed by ban too, for the
 * lift's delete.
 *
 * Backfill: the rows the second bans did not write are attributed to them where that can be known.
 * For each standing site-wide ban (not lifted, not run out) whose `sanction.create` entry in the
 * moderation log says `banEmail` (or `banIp`), the rows other bans hold that it would have written
 * are added as its own, dated when it was given: for `banEmail`, a ban that holds no row of its own
 * (it wrote none, so its address was banned already), the row of its account's present address and
 * the rows of its account's other bans; for `banIp`, the rows of its account's other bans and of
 * the networks of its account's sessions (ended ones until pruned), as `networkOf` made them when
 * this was written (`sessionNetwork`, a copy frozen here), and
 * the addresses themselves, as older bans stored them. A banned account signs in no more and
 * changes neither address nor network, so what it has now is what it had when banned, unless its
 * address was erased since (its deletion; then only its other bans' rows tell) or sessions pruned
 * (their networks are not known). A ban whose entry says neither, or with no entry, is left as it
 * is. Standing bans are read in batches of `ADDRESS_BANS_BATCH` by id; each row added once, so it
 * may run again. Each INSERT writes rows only for the bans still in force as it runs (`STILL_STANDING`):
 * outside a transaction, a ban lifted after its batch was read gets none.
 *
 * Down keeps one row per address, the one of no ban if any, else the oldest, and the address alone
 * the key again: a lift then frees the address whatever other ban of it stands, as before.
 *
 * Outside a transaction (`transaction = false`): each table's key changed (down: its rows thinned
 * and keyed again) in one statement of its own through `alterGivingWay`, its ACCESS EXCLUSIVE lock
 * waited for half a second at a time and held for that statement alone, not through the backfill:
 * sign-ups, invitations, e-mail changes, bans and lifts queued behind the lock go on meanwhile,
 * and behind an open transaction on the table, wait no longer than the half second. A table whose
 * key is changed already is skipped, so a run stopped short may run again (the backfill may too).
 */
export class AddressBansPerSanction1765384200000 implements MigrationInterface {
  name = 'AddressBansPerSanction1765384200000';

  /** Each table's key changed in a statement of its own, its lock given up while others wait (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    for (const [table, column] of ADDRESS_BAN_TABLES) {
      // Unless a run stopped short (outside a transaction) changed this table's key already.
      if (await hasConstraint(q, table, `${table}_ban_key`)) continue;
      await alterGivingWay(
        q,
        `ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey;
        ALTER TABLE ${table} ADD CONSTRAINT ${table}_ban_key UNIQUE (${column}, sanction_id);
        CREATE UNIQUE INDEX ${table}_unattributed_key ON ${table} (${column}) WHERE sanction_id IS NULL;
        CREATE INDEX ${table}_sanction_idx ON ${table} (sanction_id)`,
      );
    }
    await backfillAddressBans(q);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table, column] of ADDRESS_BAN_TABLES) {
      // Unless a down stopped short (outside a transaction) keyed this table by its address again already.
      if (await hasConstraint(q, table, `${table}_pkey`)) continue;
      // The lock first: no row of an address whose others were just deleted comes in before the key.
      await alterGivingWay(
        q,
        `LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE;
        DELETE FROM ${table} WHERE ctid IN (
          SELECT ctid FROM (SELECT ctid, row_number() OVER (PARTITION BY ${column} ORDER BY sanction_id IS NOT NULL, created_at, sanction_id) AS n FROM ${table}) r
           WHERE n > 1);
        DROP INDEX ${table}_sanction_idx;
        DROP INDEX ${table}_unattributed_key;
        ALTER TABLE ${table} DROP CONSTRAINT ${table}_ban_key;
        ALTER TABLE ${table} ADD PRIMARY KEY (${column})`,
      );
    }
  }
}

/** The tables of banned addresses, each with its address column. */
const ADDRESS_BAN_TABLES = [['banned_emails', 'email_lower'], ['banned_ips', 'ip']] as const;

/** Whether `table` has the constraint `name`. */
async function hasConstraint(q: QueryRunner, table: string, name: string): Promise<boolean> {
  const found: unknown[] = await q.query(`SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2`, [table, name]);
  return found.length > 0;
}

/**
 * The network a session's address was banned as when this migration was written: the app's
 * `networkOf` (libs/core/src/http/client-address.ts) as it was then, copied so the backfill
 * finds the rows those bans wrote whatever becomes of the app's rule. An IPv4 address itself
 * (an IPv4-mapped IPv6 one written plainly), the /64 of an IPv6 address, anything else as it is.
 */
function sessionNetwork(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const words = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...words, 0, 0, 0, 0]).toString()}/64`;
}

/** A sanction not lifted and not run out, as the app's `SANCTION_IN_FORCE` says when this was written (a copy frozen here). */
const IN_FORCE = `lifted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`;

/**
 * The bans `$1` still in force as the backfill's INSERT writes their rows, read in that statement
 * and held `FOR SHARE` until it ends: a ban lifted since the backfill read it standing gets no rows
 * (they would keep the address of a lifted ban), and a lift committing meanwhile is waited for (its
 * row re-read, lifted: left out), or waits for the INSERT and then deletes the rows it wrote.
 */
const STILL_STANDING = `WITH live AS (SELECT id, user_id, created_at FROM sanctions WHERE id = ANY($1::uuid[]) AND ${IN_FORCE} FOR SHARE)`;

/** The backfill (see the migration), `batch` standing bans at a time. */
export async function backfillAddressBans(q: QueryRunner, batch = ADDRESS_BANS_BATCH): Promise<void> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const standing: Array<{ id: string }> = await q.query(
      `SELECT id FROM sanctions
        WHERE id > $1 AND kind = 'BAN' AND space_id IS NULL AND ${IN_FORCE}
        ORDER BY id LIMIT $2`,
      [after, batch],
    );
    if (!standing.length) return;
    after = standing[standing.length - 1].id;
    const bans: Array<{ id: string; user_id: string; ban_email: boolean; ban_ip: boolean }> = await q.query(
      `SELECT s.id, s.user_id, l.after->>'banEmail' = 'true' AS ban_email, l.after->>'banIp' = 'true' AS ban_ip
         FROM sanctions s
         JOIN moderation_log l ON l.target_type = 'user' AND l.target_id = s.user_id AND l.action = 'sanction.create' AND l.after->>'sanctionId' = s.id::text
        WHERE s.id = ANY($1::uuid[])`,
      [standing.map((b) => b.id)],
    );
    const emailBans = bans.filter((b) => b.ban_email).map((b) => b.id);
    if (emailBans.length) {
      await q.query(
        `${STILL_STANDING}
         INSERT INTO banned_emails (email_lower, sanction_id, created_at)
         SELECT DISTINCT e.email_lower, s.id, s.created_at
           FROM live s
           JOIN banned_emails e ON e.sanction_id <> s.id
            AND (e.email_lower = (SELECT lower(u.email) FROM users u WHERE u.id = s.user_id)
                 OR e.sanction_id IN (SELECT o.id FROM sanctions o WHERE o.user_id = s.user_id))
          WHERE NOT EXISTS (SELECT 1 FROM banned_emails own WHERE own.sanction_id = s.id)
         ON CONFLICT DO NOTHING`,
        [emailBans],
      );
    }
    const ipBans = bans.filter((b) => b.ban_ip);
    if (ipBans.length) {
      const used: Array<{ user_id: string; ip: string }> = await q.query(
        `SELECT DISTINCT user_id, ip FROM sessions WHERE user_id = ANY($1::uuid[]) AND ip IS NOT NULL`,
        [ipBans.map((b) => b.user_id)],
      );
      const pairs = ipBans.flatMap((b) => used.filter((u) => u.user_id === b.user_id).flatMap((u) => [[b.id, u.ip], [b.id, sessionNetwork(u.ip)]]));
      await q.query(
        `${STILL_STANDING}
         INSERT INTO banned_ips (ip, sanction_id, created_at)
         SELECT DISTINCT b.ip, s.id, s.created_at
           FROM live s
           JOIN banned_ips b ON b.sanction_id <> s.id
            AND (b.sanction_id IN (SELECT o.id FROM sanctions o WHERE o.user_id = s.user_id)
                 OR (s.id, b.ip) IN (SELECT * FROM unnest($2::uuid[], $3::text[])))
         ON CONFLICT DO NOTHING`,
        [ipBans.map((b) => b.id), pairs.map((p) => p[0]), pairs.map((p) => p[1])],
      );
    }
  }
}
