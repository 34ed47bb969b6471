import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { pruneInBatches } from '../../../core/src/database/prune';
import type { CookieOptions } from 'express';
import { DataSource, EntityManager } from 'typeorm';
import { AccessService } from '../../../access/src/access.service';
import { AppConfig } from '../../../core/src/config/config';
import { newId } from '../../../core/src/ids';
import { AppError } from '../../../core/src/errors';
import { Queryable, rowsOf } from '../../../core/src/database/unit-of-work';
import { GlobalRole, Viewer } from '../../../core/src/graphql/viewer';
import { prepared } from '../../../core/src/database/prepared-statements';

export const SESSION_COOKIE = 'parvis_session';

/** Whom `viewersForUsers` answers for beyond members who may sign in (see `viewerForUser`). */
export interface ViewersFor {
  includeSuspended?: boolean;
  includeBarred?: boolean;
}

/** Sliding expiry is written at most this often per session, so reads stay read-only. */
const TOUCH_EVERY_MS = 5 * 60 * 1000;

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

interface ViewerRow {
  id: string;
  handle: string;
  role: GlobalRole;
  trust_level: number;
  group_ids: string[];
  space_access: Array<[string, string, number]>;
  restrictions: Array<[string, string | null]>;
}

interface SessionRow extends ViewerRow {
  session_id: string;
  last_used_at: Date;
}

/** What a Viewer is built from, for the user `u`: their groups and the raw facts of the access policy. */
const VIEWER_COLUMNS = `u.id, u.handle, u.role, u.trust_level, gm.group_ids,
              ${AccessService.rawAccessSql('u.id', 'gm.group_ids')} AS space_access,
              ${AccessService.restrictionsSql('u.id')} AS restrictions`;
const USER_GROUPS = `CROSS JOIN LATERAL (SELECT ARRAY(SELECT group_id FROM group_members WHERE user_id = u.id) AS group_ids) gm`;

/** Runs on nearly every request, so it is prepared once per connection. */
const SESSION_VIEWER = prepared(
  'sessions.viewer',
  `SELECT s.id AS session_id, s.last_used_at, ${VIEWER_COLUMNS}
     FROM sessions s
     JOIN users u ON u.id = s.user_id
     ${USER_GROUPS}
    WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
);

/** A suspension or ban in force for the whole site. */
function barredSiteWide(restrictions: ViewerRow['restrictions']): boolean {
  return restrictions.some(([kind, spaceId]) => spaceId === null && kind !== 'SILENCE');
}

/** The session token a request carries: the Authorization header's bearer token first, else the session cookie. */
export function tokenFrom(req: { headers: { authorization?: string }; cookies?: Record<string, unknown> }): string | undefined {
  const header = req.headers.authorization;
  if (header && /^Bearer\s+/i.test(header)) return header.replace(/^Bearer\s+/i, '').trim();
  const cookie = req.cookies?.[SESSION_COOKIE];
  return typeof cookie === 'string' && cookie.length > 0 ? cookie : undefined;
}

/**
 * SQL, the last part of a statement that writes today's visit of the user `visitor` (a CTE
 * answering `user_id`) names: their row's `last_visit_on` brought up to today if it is behind.
 * The triggers on `user_visits` take the member's row SKIP LOCKED (migration
 * `mention-order-by-last-visit`: a wait could deadlock with a password change or an account
 * deletion), so a visit written while it was held left the day before on it, and a later visit
 * that day inserts nothing for them to follow. Every sign-in and session touch (every few
 * minutes of use) looks again, SKIP LOCKED too, so the row catches up at the member's next one.
 */
function visitDayCaughtUp(visitor: string): string {
  return `UPDATE users u SET last_visit_on = current_date
      FROM (SELECT l.id FROM users l JOIN ${visitor} v ON v.user_id = l.id
             WHERE l.last_visit_on IS NULL OR l.last_visit_on < current_date
             FOR NO KEY UPDATE OF l SKIP LOCKED) behind
     WHERE u.id = behind.id`;
}

/** How long an ended (expired or revoked) session is kept. */
const SESSION_RETENTION_DAYS = 90;

/**
 * Opaque session tokens: 256 random bits handed to the client once; only their
 * SHA-256 is stored, so a database leak yields no usable token. Revoking is a
 * row update and takes effect on the next request.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly access: AccessService,
  ) {}

  get ttlMs(): number {
    return this.config.SESSION_TTL_DAYS * 24 * 3600 * 1000;
  }

  async issue(userId: string, meta: { ip?: string; userAgent?: string }, manager?: EntityManager): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    // Also counts the day as a visit (trust levels use visit days).
    await (manager ?? this.ds.manager).query(
      `WITH s AS (INSERT INTO sessions (id, user_id, token_hash, expires_at, ip, user_agent)
                  VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, $6) RETURNING user_id),
            visit AS (INSERT INTO user_visits (user_id, day) SELECT user_id, current_date FROM s ON CONFLICT DO NOTHING)
       ${visitDayCaughtUp('s')}`,
      [newId(), userId, hashToken(token), this.ttlMs / 1000, meta.ip ?? null, meta.userAgent?.slice(0, 500) ?? null],
    );
    return token;
  }

  /** Which of these tokens still open a session (not expired, not revoked, the user not barred site-wide), in one statement. */
  async liveTokens(tokens: string[]): Promise<Set<string>> {
    const usable = [...new Set(tokens.filter((t) => t && t.length <= 200))];
    if (usable.length === 0) return new Set();
    const byHash = new Map(usable.map((t) => [hashToken(t).toString('hex'), t]));
    // Live as `resolve` sees a session: not revoked, not expired, its user not barred site-wide.
    const rows: Array<{ token_hash: Buffer; restrictions: ViewerRow['restrictions'] }> = await this.ds.query(
      `SELECT s.token_hash, ${AccessService.restrictionsSql('s.user_id')} AS restrictions
         FROM sessions s WHERE s.token_hash = ANY($1::bytea[]) AND s.revoked_at IS NULL AND s.expires_at > now()`,
      [usable.map(hashToken)],
    );
    return new Set(rows.filter((r) => !barredSiteWide(r.restrictions)).map((r) => byHash.get(r.token_hash.toString('hex'))!));
  }

  /** The viewer a token stands for, or an anonymous viewer when it is missing, expired or revoked. */
  async resolve(token: string | undefined, ip: string): Promise<Viewer> {
    if (!token || token.length > 200) return Viewer.anonymous(ip);
    const rows: SessionRow[] = await this.ds.query(SESSION_VIEWER, [hashToken(token)]);
    const row = rows[0];
    if (!row) return Viewer.anonymous(ip);
    const renew = Date.now() - new Date(row.last_used_at).getTime() > TOUCH_EVERY_MS;
    if (renew) {
      // Also counts the day as a visit (trust levels use visit days). Not once revoked: a
      // revocation committed while this waited for the session's row (an account deletion, which
      // empties the visits) is read again here, and neither extends it nor counts a visit.
      await this.ds.query(
        `WITH touched AS (UPDATE sessions SET last_used_at = now(), expires_at = now() + make_interval(secs => $2) WHERE id = $1 AND revoked_at IS NULL RETURNING user_id),
              visit AS (INSERT INTO user_visits (user_id, day) SELECT user_id, current_date FROM touched ON CONFLICT DO NOTHING)
         ${visitDayCaughtUp('touched')}`,
        [row.session_id, this.ttlMs / 1000],
      );
    }
    // A site-wide suspension or ban revokes sessions when issued; this catches any left.
    if (barredSiteWide(row.restrictions)) return Viewer.anonymous(ip);
    const viewer = this.toViewer(row, row.session_id, ip);
    viewer.sessionRenewed = renew;
    return viewer;
  }

  /** The session cookie's attributes: it lives as long as the session (sliding), and no script reads it. */
  cookieOptions(): CookieOptions {
    return { httpOnly: true, sameSite: 'lax', secure: this.config.cookieSecure, path: '/', maxAge: this.ttlMs };
  }

  private toViewer(row: ViewerRow, sessionId?: string, ip?: string): Viewer {
    const viewer = new Viewer(
      { id: row.id, handle: row.handle, role: row.role, trustLevel: row.trust_level, groupIds: row.group_ids },
      sessionId,
      ip,
    );
    this.access.preload(viewer, row.space_access, row.restrictions);
    return viewer;
  }

  /**
   * A viewer for a user who is not making the request (notification recipients, sanction
   * targets), with the access policy preloaded; null for unknown users, and for users
   * suspended or banned site-wide, or whose account is deleted or is an imported author's
   * placeholder, unless `includeSuspended` (callers judging what someone wrote, not whom to
   * tell: a deleted account hears nothing, and a placeholder, which nobody signs in to, has
   * nobody to hear it, as Discourse tells a staged user nothing in the app).
   * `includeBarred` keeps those barred site-wide, not deleted accounts nor placeholders: for
   * telling someone of their own standing (a sanction, an appeal's outcome), which a ban does
   * not make less theirs.
   * Read through `m` when given (a caller's transaction, so it holds no second connection).
   */
  async viewerForUser(userId: string, opts: ViewersFor = {}, m: Queryable = this.ds): Promise<Viewer | null> {
    return (await this.viewersForUsers([userId], opts, m)).get(userId) ?? null;
  }

  /**
   * The signed-in `viewer` as they are now (`viewerForUser`), read on `m` (a mutation's
   * transaction, once what it acts on is held), not as the request's session found them: their
   * grants, role and sanctions as committed since. UNAUTHENTICATED when their account was
   * deleted or barred site-wide meanwhile.
   */
  async viewerNow(viewer: Viewer, m: Queryable): Promise<Viewer> {
    const now = await this.viewerForUser(viewer.id!, {}, m);
    if (!now) throw AppError.unauthenticated();
    return now;
  }

  /** `viewerForUser` for many users in one statement (the recipients of a notification). */
  async viewersForUsers(userIds: readonly string[], opts: ViewersFor = {}, m: Queryable = this.ds): Promise<Map<string, Viewer>> {
    const viewers = new Map<string, Viewer>();
    for (const row of await this.viewerRows(userIds, opts.includeSuspended ?? false, m)) {
      if (!opts.includeSuspended && !opts.includeBarred && barredSiteWide(row.restrictions)) continue;
      viewers.set(row.id, this.toViewer(row));
    }
    return viewers;
  }

  /**
   * For telling users their news, in one statement: `viewersForUsers` of them (`viewers`), and
   * apart the members barred site-wide (`barred`, as `includeBarred` keeps them), whom only news
   * of their own standing reaches.
   */
  async recipientsOf(userIds: readonly string[]): Promise<{ viewers: Map<string, Viewer>; barred: Map<string, Viewer> }> {
    const viewers = new Map<string, Viewer>();
    const barred = new Map<string, Viewer>();
    for (const row of await this.viewerRows(userIds, false, this.ds)) (barredSiteWide(row.restrictions) ? barred : viewers).set(row.id, this.toViewer(row));
    return { viewers, barred };
  }

  /** `includeDeleted` keeps deleted accounts and placeholders too (`includeSuspended`). */
  private async viewerRows(userIds: readonly string[], includeDeleted: boolean, m: Queryable): Promise<ViewerRow[]> {
    if (userIds.length === 0) return [];
    return m.query(`SELECT ${VIEWER_COLUMNS} FROM users u ${USER_GROUPS} WHERE u.id = ANY($1::uuid[]) AND ((u.deleted_at IS NULL AND NOT u.is_placeholder) OR $2)`, [userIds, includeDeleted]);
  }

  /**
   * Sessions that expired or were revoked more than SESSION_RETENTION_DAYS ago are deleted.
   * Until then their addresses still count for an IP ban (SanctionsService bans the addresses a
   * user signed in from).
   */
  pruneEnded(retentionDays = SESSION_RETENTION_DAYS): Promise<number> {
    return pruneInBatches(
      this.ds,
      'sessions',
      `SELECT id FROM sessions WHERE expires_at < now() - make_interval(days => $2) OR revoked_at < now() - make_interval(days => $2) LIMIT $1`,
      [retentionDays],
    );
  }

  async revokeSession(sessionId: string, manager?: EntityManager): Promise<void> {
    await (manager ?? this.ds.manager).query(`UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [sessionId]);
  }

  /** Revokes every live session of a user, but `exceptSessionId` when given; returns how many. */
  async revokeAllForUser(userId: string, manager?: EntityManager, exceptSessionId?: string): Promise<number> {
    const res = await (manager ?? this.ds.manager).query(
      `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2 RETURNING id`,
      [userId, exceptSessionId ?? null],
    );
    return rowsOf(res).length;
  }
}
