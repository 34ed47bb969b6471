import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { LastSeenRow, ProfileRow, UserRow } from './user.model';
import { prepared } from '../../../core/src/database/prepared-statements';
import { Queryable, rowsOf } from '../../../core/src/database/unit-of-work';

/**
 * How a transaction that changes an account holds its row when it may go on to lock groups (a
 * confirmed address's automatic groups, the account's deletion): FOR NO KEY UPDATE. It excludes
 * every other change of the row and every FOR SHARE reader (sign-in, `requireAdmissible`), but
 * not the FOR KEY SHARE lock PostgreSQL takes on the row for a foreign key: a membership or a
 * log entry naming the account, inserted while a group's row is held FOR UPDATE (`setDomains`,
 * `updateGroup`). A transaction holding a group so never waits for an account, and an account's
 * holder waiting for the group is no deadlock. (No key of `users` changes: its unique indexes are
 * on expressions, so its updates take the same lock.)
 */
export const ACCOUNT_LOCK = 'FOR NO KEY UPDATE';

/** The columns of a `UserRow`, under a table alias when given. */
export const USER_COLUMNS = (alias?: string) =>
  ['id', 'email', 'handle', 'display_name', 'role', 'trust_level', 'is_placeholder', 'created_at'].map((c) => (alias ? `${alias}.${c}` : c)).join(', ');
const COLUMNS = USER_COLUMNS();
const USERS_BY_ID = prepared('users.by_id', `SELECT ${COLUMNS} FROM users WHERE id = ANY($1::uuid[])`);

/** The profile columns of a user `u` (ProfileRow). */
const PROFILE_COLUMNS = `u.id, u.bio, u.bio_html, u.location, u.website, u.hide_profile`;

/**
 * When a user `u` was last seen (LastSeenRow): the latest use of a session (touched every few
 * minutes, kept 90 days after it ends), else the latest day of a visit (kept for trust levels);
 * none for a deleted account, whose sessions linger for IP bans. Two subqueries per user, so
 * read apart from the profile and only when asked for. Not `users.last_visit_on`: its trigger
 * skips a member's row held at the instant of the visit (migration mention-order-by-last-visit),
 * which keeps the day before until the member's next sign-in or session touch catches it up.
 */
const LAST_SEEN_COLUMNS = `u.id,
  CASE WHEN u.deleted_at IS NULL THEN GREATEST((SELECT max(s.last_used_at) FROM sessions s WHERE s.user_id = u.id),
                                               (SELECT max(v.day) FROM user_visits v WHERE v.user_id = u.id)::timestamptz) END AS last_seen_at`;

/**
 * A profile change as `updateProfile` stores it: each text is null to leave its column alone and
 * '' to clear it; `bioHtml` is the bio's rendering (empty for a bio of only link definitions).
 */
export interface ProfileUpdate {
  displayName: string | null;
  bio: string | null;
  bioHtml: string | null;
  location: string | null;
  website: string | null;
  /** Null to leave it as it is. */
  hideProfile: boolean | null;
}

export interface EmailStatus {
  verified: boolean;
  bouncing: boolean;
  /** The address a change waits to be confirmed for (`EmailChangeService`), or null. */
  pending: string | null;
}

/** Every query on users. */
@Injectable()
export class UsersRepository {
  constructor(private readonly ds: DataSource) {}

  async getByIds(ids: readonly string[]): Promise<UserRow[]> {
    if (ids.length === 0) return [];
    return this.ds.query(USERS_BY_ID, [ids]);
  }

  /** The profiles of these users, in one statement however many a list asks for. */
  profiles(ids: readonly string[]): Promise<ProfileRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.ds.query(`SELECT ${PROFILE_COLUMNS} FROM users u WHERE u.id = ANY($1::uuid[])`, [ids]);
  }

  /** When these users were last seen, in one statement however many a list asks for. */
  lastSeen(ids: readonly string[]): Promise<LastSeenRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.ds.query(`SELECT ${LAST_SEEN_COLUMNS} FROM users u WHERE u.id = ANY($1::uuid[])`, [ids]);
  }

  /**
   * For live rooms' presence and typing: of these users, who hides their profile (and so their
   * presence) and who sees hidden ones anyway (moderators and admins, as `seesHiddenProfile`).
   */
  async presenceFacts(ids: readonly string[], q: Queryable = this.ds): Promise<Map<string, { hidden: boolean; staff: boolean }>> {
    if (ids.length === 0) return new Map();
    const rows: Array<{ id: string; hidden: boolean; staff: boolean }> = await q.query(
      `SELECT id, hide_profile AS hidden, role IN ('MODERATOR', 'ADMIN') AS staff FROM users WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, { hidden: r.hidden, staff: r.staff }]));
  }

  /** Stores a member's profile change (ProfileUpdate); undefined when the account is gone or deleted. */
  async updateProfile(m: Queryable, userId: string, p: ProfileUpdate): Promise<(UserRow & { was_hidden: boolean }) | undefined> {
    const res = await m.query(
      `WITH before AS (SELECT hide_profile FROM users WHERE id = $1)
       UPDATE users SET display_name = COALESCE($2, display_name),
              bio = CASE WHEN $3::text IS NULL THEN bio ELSE NULLIF($3, '') END,
              bio_html = CASE WHEN $3::text IS NULL THEN bio_html WHEN $3 = '' THEN NULL ELSE $4 END,
              location = CASE WHEN $5::text IS NULL THEN location ELSE NULLIF($5, '') END,
              website = CASE WHEN $6::text IS NULL THEN website ELSE NULLIF($6, '') END,
              hide_profile = COALESCE($7, hide_profile),
              updated_at = now()
        WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}, (SELECT hide_profile FROM before) AS was_hidden`,
      [userId, p.displayName, p.bio, p.bioHtml, p.location, p.website, p.hideProfile],
    );
    return rowsOf<UserRow & { was_hidden: boolean }>(res)[0];
  }

  /**
   * Locks the member's row until the transaction ends (`lockMember` is this lock) and reads whether
   * their profile is hidden now: undefined when the account is gone. A hiding asked under this lock is
   * a switch or not as the row stays until the transaction ends, whatever races it.
   */
  async lockProfileHidden(m: Queryable, userId: string): Promise<boolean | undefined> {
    const rows: Array<{ hide_profile: boolean }> = await m.query(`SELECT hide_profile FROM users WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE`, [userId]);
    return rows[0]?.hide_profile;
  }

  /**
   * Locks the member's row until the transaction ends, so what one member keeps a limited
   * number of (bookmarks, drafts) is counted one write after another (and an account being
   * deleted waits, or is seen deleted): false when the account is gone.
   */
  async lockMember(m: Queryable, userId: string): Promise<boolean> {
    return (await this.lockProfileHidden(m, userId)) !== undefined;
  }

  /**
   * Holds the member's row FOR SHARE until the transaction ends, for a write of theirs that
   * limits nothing (a read mark): such writes do not wait for each other, but an account being
   * deleted (ACCOUNT_LOCK) waits for them, so its cleanup takes what they wrote, or they wait
   * for it and find it gone. A foreign key alone takes FOR KEY SHARE, which the deletion does
   * not wait for. False when the account is gone.
   */
  async holdMember(m: Queryable, userId: string): Promise<boolean> {
    const rows: unknown[] = await m.query(`SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL FOR SHARE`, [userId]);
    return rows.length > 0;
  }

  /**
   * Confirms the user's e-mail address (a first confirmation's time stays) and takes it off the
   * bounce list: a link opened from the mailbox shows that it receives mail. Not for a deleted
   * account (false), whose confirmation its deletion cleared: an update that waited for the
   * deletion's lock finds it deleted once it has the row.
   */
  async markEmailVerified(userId: string, manager?: EntityManager): Promise<boolean> {
    const rows = await (manager ?? this.ds.manager).query(
      `UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()), email_bounced_at = NULL WHERE id = $1 AND deleted_at IS NULL RETURNING 1`,
      [userId],
    );
    return rowsOf(rows).length > 0;
  }

  /** Whether the user's e-mail address is confirmed, whether it is on the bounce list, and the address a change waits for. */
  async emailStatus(userId: string): Promise<EmailStatus> {
    const [row]: EmailStatus[] = await this.ds.query(
      `SELECT email_verified_at IS NOT NULL AS verified, email_bounced_at IS NOT NULL AS bouncing, pending_email AS pending FROM users WHERE id = $1`,
      [userId],
    );
    return row ?? { verified: false, bouncing: false, pending: null };
  }

  /**
   * Puts an address a mail server refused for good on the bounce list, if it still is the
   * user's (one changed while the server answered starts clean); no e-mail goes to it then.
   */
  async markEmailBounced(userId: string, address: string): Promise<void> {
    await this.ds.query(`UPDATE users SET email_bounced_at = COALESCE(email_bounced_at, now()) WHERE id = $1 AND email = $2`, [userId, address]);
  }

  async findByHandle(handle: string): Promise<UserRow | undefined> {
    const rows = await this.ds.query(`SELECT ${COLUMNS} FROM users WHERE lower(handle) = lower($1)`, [handle]);
    return rows[0];
  }

  async findByHandles(handles: readonly string[], manager?: EntityManager): Promise<Array<{ id: string; handle: string }>> {
    if (handles.length === 0) return [];
    return (manager ?? this.ds.manager).query(
      `SELECT id, lower(handle) AS handle FROM users WHERE lower(handle) = ANY($1::text[])`,
      [handles.map((h) => h.toLowerCase())],
    );
  }

  /**
   * A user with their password hash, for changing or resetting the password; `lock` holds the
   * row (ACCOUNT_LOCK) until the caller's transaction ends, so two changes decide one after the other.
   */
  async findCredentials(userId: string, opts: { manager?: EntityManager; lock?: boolean } = {}): Promise<(UserRow & { password_hash: string | null; deleted_at: Date | null }) | undefined> {
    const rows = await (opts.manager ?? this.ds.manager).query(
      `SELECT ${COLUMNS}, password_hash, deleted_at FROM users WHERE id = $1${opts.lock ? ` ${ACCOUNT_LOCK}` : ''}`,
      [userId],
    );
    return rows[0];
  }

  /** Sets a new password hash; returns the user, or undefined when the row is gone. */
  async setPasswordHash(userId: string, passwordHash: string, manager: EntityManager): Promise<UserRow | undefined> {
    const res = await manager.query(
      `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [userId, passwordHash],
    );
    return rowsOf<UserRow>(res)[0];
  }

  /** For sign-in: by e-mail (case-insensitive) or handle. */
  async findForLogin(login: string): Promise<(UserRow & { password_hash: string | null }) | undefined> {
    const rows = await this.ds.query(
      `SELECT ${COLUMNS}, password_hash FROM users
        WHERE (lower(email) = lower($1) OR lower(handle) = lower($1)) AND NOT is_placeholder
        LIMIT 1`,
      [login],
    );
    return rows[0];
  }
}
