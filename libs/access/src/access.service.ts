import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError } from '../../core/src/errors';
import { Viewer } from '../../core/src/graphql/viewer';
import type { Queryable } from '../../core/src/database/unit-of-work';
import { ContentState, ContentView, LEVEL_RANK, AccessLevel } from './access-level';

const R = LEVEL_RANK;
export const SILENCED = 'You are silenced: you can read but not post, react, report or vote';

/**
 * `contentView(...) === 'full'` in SQL, for counts and lists that filter in the database.
 * `alias` names a row with `state`, `author_id` and `space_id` (a topic or a post); the
 * parameters hold the viewer's id (null when signed out), the spaces they read and the
 * spaces they moderate. A test holds the two to the same answers for every case.
 */
export function fullViewSql(alias: string, params: { viewer: string; readable: string; moderated: string }): string {
  const a = alias;
  return fullViewWhereSql(a, params.viewer, `${a}.space_id = ANY(${params.readable}::uuid[])`, `${a}.space_id = ANY(${params.moderated}::uuid[])`);
}

/**
 * `fullViewSql`'s rule with the viewer's reading and moderating of the row's space given as SQL
 * truths (`reads`, `moderates`) rather than their session's lists of spaces: for a viewer named by
 * a column, judged by `AccessService.holdsSql` (held to `rankOn` by a test), as a post's author is
 * (`postAuthorSeesSql`). The space read, and the row visible, or the viewer's own and held or
 * hidden, or the space moderated.
 */
export function fullViewWhereSql(alias: string, viewer: string, reads: string, moderates: string): string {
  const a = alias;
  return `(${reads} AND (${a}.state = 'VISIBLE' OR ${moderates}
    OR ((${a}.author_id = ${viewer}::uuid) IS TRUE AND ${a}.state IN ('PENDING', 'HIDDEN'))))`;
}

/**
 * Whether content is listed to its author and the space's moderators alone (`contentView` gives
 * everyone else 'none', not even a placeholder): held (PENDING), or deleted while it was held
 * (rejected, withdrawn), which others never saw. `listedToAuthorAndModeratorsSql` is its SQL.
 */
export function listedToAuthorAndModerators(item: { state: unknown; deletedFrom: unknown }): boolean {
  return item.state === 'PENDING' || (item.state === 'DELETED' && item.deletedFrom === 'PENDING');
}

/** `listedToAuthorAndModerators` in SQL, of a row (`alias`) with `state` and `deleted_from`; never null. */
export function listedToAuthorAndModeratorsSql(alias: string): string {
  const a = alias;
  return `(${a}.state = 'PENDING' OR (${a}.state = 'DELETED' AND ${a}.deleted_from IS NOT DISTINCT FROM 'PENDING'))`;
}

/**
 * `contentView(...) !== 'none'` in SQL, for a list that shows placeholders (a topic's posts):
 * `alias` names a row with `state`, `author_id` and `deleted_from`; `params` hold whether the
 * viewer moderates the space and the viewer's id (null when signed out). Others' pending
 * content, and content deleted while it was pending, are left out. A test holds it to contentView.
 */
export function listedViewSql(alias: string, params: { moderator: string; viewer: string }): string {
  const a = alias;
  return `(${params.moderator} OR ${a}.author_id = ${params.viewer}::uuid IS TRUE
    OR NOT ${listedToAuthorAndModeratorsSql(a)})`;
}

/**
 * SQL true when the author of a post listed to them and the moderators alone
 * (`listedToAuthorAndModerators`: held, or deleted while held), `p` in topic `t`, may open it
 * where it is now, as `postView` judges them: they read the topic in full (`fullViewWhereSql`,
 * their reading and moderating of its space as `holdsSql` judges them). The post's own view needs
 * no check of its own: its author is shown it while held, and its placeholder once deleted, in
 * any space they read, which reading the topic in full already asks. A test (access matrix)
 * holds it to `postView`.
 */
export function postAuthorSeesSql(p: string, t: string): string {
  return fullViewWhereSql(
    t,
    `${p}.author_id`,
    AccessService.holdsSql(`${p}.author_id`, `${t}.space_id`, AccessLevel.READ),
    AccessService.holdsSql(`${p}.author_id`, `${t}.space_id`, AccessLevel.MODERATE),
  );
}

/** A sanction (alias `sa`) not lifted and not expired. */
export const SANCTION_IN_FORCE = `sa.lifted_at IS NULL AND (sa.expires_at IS NULL OR sa.expires_at > now())`;

/**
 * Whether the sanction `sa` leaves the admin `u` (a users row's alias) their powers: all but a
 * suspension or ban site-wide, which ends their session (`SessionsService`), as anyone's.
 */
function adminSpared(u: string): string {
  return `(${u}.role = 'ADMIN' AND (sa.space_id IS NOT NULL OR sa.kind = 'SILENCE'))`;
}

/**
 * The single access policy. Every read and every write asks it; it answers for
 * all spaces at once (one statement per request, memoized on the viewer), so
 * lists, DataLoaders and counts filter with the same set.
 *
 * - PUBLIC: anyone reads; any signed-in user participates.
 * - MEMBERS: signed-in users read and participate.
 * - RESTRICTED: only grantees (a group the user belongs to, or the user).
 * - Grants raise a level; they never lower the visibility's baseline.
 * - Global MODERATOR moderates every space it can read; ADMIN administers all.
 */
@Injectable()
export class AccessService {
  constructor(private readonly ds: DataSource) {}

  /** The viewer's level (rank 0..4) on every space that exists. */
  spaceRanks(viewer: Viewer): Promise<Map<string, number>> {
    return viewer.memoize('access:spaceRanks', () => this.loadRanks(viewer));
  }

  /**
   * SQL (a scalar subquery) that yields, for a signed-in user, the raw facts the policy
   * needs about every space: `[[spaceId, visibility, grantedLevel], ...]` as JSON.
   * The session look-up embeds it, so a signed-in request costs one statement for
   * "who is this and what may they see".
   */
  static rawAccessSql(userIdExpr: string, groupIdsExpr: string): string {
    return `(SELECT COALESCE(json_agg(json_build_array(sp.id, sp.visibility,
               COALESCE((SELECT max(sg.level) FROM space_grants sg
                          WHERE sg.space_id = sp.id AND (sg.user_id = ${userIdExpr} OR sg.group_id = ANY(${groupIdsExpr}))), 0))), '[]')
             FROM spaces sp)`;
  }

  /**
   * SQL yielding the user's sanctions in force that restrict access, as JSON
   * `[[kind, spaceId | null], ...]`: silences make spaces read-only, suspensions and
   * bans take them away. They lift themselves when they expire.
   */
  static restrictionsSql(userIdExpr: string): string {
    return `(SELECT COALESCE(json_agg(json_build_array(sa.kind, sa.space_id)), '[]') FROM sanctions sa
              WHERE sa.user_id = ${userIdExpr} AND sa.kind IN ('SILENCE', 'SUSPEND', 'BAN') AND ${SANCTION_IN_FORCE})`;
  }

  /**
   * SQL true when a suspension or ban in force keeps the user out of the whole site (as the
   * sessions read restrictionsSql); with `sanctionIdText` (SQL text, such as a notice's
   * `data->>'sanctionId'`), when that sanction does.
   */
  static barredSiteWideSql(userIdExpr: string, sanctionIdText?: string): string {
    const which = sanctionIdText ? ` AND sa.id::text = ${sanctionIdText}` : '';
    return `EXISTS (SELECT 1 FROM ${AccessService.barringSql(userIdExpr)}${which})`;
  }

  /**
   * SQL `sanctions sa WHERE …`: the suspensions and bans in force that keep the user out of the
   * whole site (those `barredSiteWideSql` looks for), for a caller asking more than one thing of
   * them in one read.
   */
  static barringSql(userIdExpr: string): string {
    return AccessService.siteWideSanctionsSql(userIdExpr, ['SUSPEND', 'BAN']);
  }

  /**
   * SQL `sanctions sa WHERE …`: the user's sanctions in force site-wide (no space) of `kinds`. The
   * one spelling of "sanctioned site-wide": `barringSql` (suspended or banned),
   * `SanctionsService.bannedSiteWide` (banned) and `moderatesSql` (site-wide powers: any of the
   * three, an admin spared what `adminSpared` spares) read it.
   */
  static siteWideSanctionsSql(userIdExpr: string, kinds: ReadonlyArray<'SILENCE' | 'SUSPEND' | 'BAN'>): string {
    return `sanctions sa WHERE sa.user_id = ${userIdExpr} AND sa.space_id IS NULL AND sa.kind IN (${kinds.map((k) => `'${k}'`).join(', ')}) AND ${SANCTION_IN_FORCE}`;
  }

  /**
   * SQL true when the user's role or grants could make them a moderator of the space: a site-wide
   * role, or a MODERATE (or higher) grant to them or a group of theirs. A superset of `rankOn >=
   * MODERATE` (sanctions and a global moderator's reading the space are not judged here), to
   * narrow whose access is worth loading before judging it.
   */
  static mayModerateSql(userIdExpr: string, spaceIdExpr: string): string {
    return `(EXISTS (SELECT 1 FROM users mu WHERE mu.id = ${userIdExpr} AND mu.role IN ('MODERATOR', 'ADMIN'))
      OR EXISTS (SELECT 1 FROM space_grants sg WHERE sg.space_id = ${spaceIdExpr} AND sg.level >= ${R.MODERATE}
                  AND (sg.user_id = ${userIdExpr} OR sg.group_id IN (SELECT gm.group_id FROM group_members gm WHERE gm.user_id = ${userIdExpr}))))`;
  }

  /**
   * SQL true when the user holds `needed` (or more) on the space now, as `rankOn` judges it from
   * their session: their role, their grants and their groups' (the space's visibility as a floor,
   * a global moderator moderating what they read), less what a sanction in force takes (a
   * suspension or ban everything, a silence all but reading), on the space or site-wide. A deleted
   * account holds nothing; an admin holds everything, but for a suspension or ban site-wide (one
   * made an admin while it stood), which leaves their session anonymous (`adminSpared`). A test
   * holds it to `rankOn` (access matrix).
   */
  static holdsSql(userIdExpr: string, spaceIdExpr: string, needed: AccessLevel): string {
    const want = R[needed];
    const kinds = want > R.READ ? `'SILENCE', 'SUSPEND', 'BAN'` : `'SUSPEND', 'BAN'`;
    return `EXISTS (SELECT 1 FROM users au WHERE au.id = ${userIdExpr} AND au.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM sanctions sa WHERE sa.user_id = au.id AND sa.kind IN (${kinds})
                       AND (sa.space_id IS NULL OR sa.space_id = ${spaceIdExpr}) AND ${SANCTION_IN_FORCE} AND NOT ${adminSpared('au')})
      AND ${AccessService.baseRankSql('au.id', 'au.role', spaceIdExpr)} >= ${want})`;
  }

  /**
   * SQL (a scalar subquery) yielding the user's rank on the space from their role and grants
   * alone, as `baseRankOn` (no sanction taken off): an admin's ADMIN, the space's visibility as a
   * floor, their grants and their groups', a global moderator moderating what they read. Null for
   * no such space. `userIdExpr` and `roleExpr` name the user's id and role (SQL).
   */
  static baseRankSql(userIdExpr: string, roleExpr: string, spaceIdExpr: string): string {
    return `(SELECT CASE WHEN ${roleExpr} = 'ADMIN' THEN ${R.ADMIN} WHEN ${roleExpr} = 'MODERATOR' AND b.rank >= ${R.READ} THEN GREATEST(b.rank, ${R.MODERATE}) ELSE b.rank END
             FROM (SELECT GREATEST(CASE WHEN asp.visibility = 'RESTRICTED' THEN ${R.NONE} ELSE ${R.PARTICIPATE} END,
                     COALESCE((SELECT max(sg.level) FROM space_grants sg WHERE sg.space_id = asp.id
                                AND (sg.user_id = ${userIdExpr} OR sg.group_id IN (SELECT gm.group_id FROM group_members gm WHERE gm.user_id = ${userIdExpr}))), ${R.NONE})) AS rank
                     FROM spaces asp WHERE asp.id = ${spaceIdExpr}) b)`;
  }

  /**
   * SQL true when the user moderates the space now (`holdsSql` MODERATE: `rankOn >= MODERATE`),
   * or, where the space is null, has site-wide moderation powers (`moderatesSiteWide`: a global
   * moderator's or admin's role, no site-wide suspension or ban in force, nor a site-wide silence
   * of a moderator). The one SQL
   * definition of "may moderate there", for rules judged in a statement (who holds a review
   * item's claim). A test holds it to `rankOn` and `moderatesSiteWide`.
   */
  static moderatesSql(userIdExpr: string, spaceIdExpr: string): string {
    return `(CASE WHEN ${spaceIdExpr} IS NULL
      THEN EXISTS (SELECT 1 FROM users au WHERE au.id = ${userIdExpr} AND au.deleted_at IS NULL AND au.role IN ('ADMIN', 'MODERATOR')
             AND NOT EXISTS (SELECT 1 FROM ${AccessService.siteWideSanctionsSql('au.id', ['SILENCE', 'SUSPEND', 'BAN'])} AND NOT ${adminSpared('au')}))
      ELSE ${AccessService.holdsSql(userIdExpr, spaceIdExpr, AccessLevel.MODERATE)} END)`;
  }

  /** After a change to spaces or grants within a request, the next check reads them again. */
  invalidate(viewer: Viewer): void {
    viewer.forget('access:spaceRanks');
    viewer.forget('access:silenced');
    viewer.forget('access:baseRanks');
  }

  /** Seeds the per-request cache from rows fetched with rawAccessSql and restrictionsSql. */
  preload(viewer: Viewer, raw: Array<[string, string, number]>, restrictions: Array<[string, string | null]>): void {
    viewer.memoize('access:spaceRanks', () => Promise.resolve(this.ranksFromRaw(viewer, raw, restrictions)));
  }

  /** Whether a sanction keeps the viewer from participating in the space (for a clear message). */
  private silencedIn(viewer: Viewer, spaceId: string): boolean {
    const silenced = viewer.peek<{ global: boolean; spaces: Set<string> }>('access:silenced');
    return !!silenced && (silenced.global || silenced.spaces.has(spaceId));
  }

  private ranksFromRaw(viewer: Viewer, raw: Array<[string, string, number]>, restrictions: Array<[string, string | null]> = []): Map<string, number> {
    const ranks = new Map<string, number>();
    const user = viewer.user!;
    const silenced = { global: false, spaces: new Set<string>() };
    const barred = { global: false, spaces: new Set<string>() };
    for (const [kind, spaceId] of restrictions) {
      const target = kind === 'SILENCE' ? silenced : barred;
      if (spaceId) target.spaces.add(spaceId);
      else target.global = true;
    }
    viewer.memoize('access:silenced', () => silenced);
    const unrestricted = new Map<string, number>();
    viewer.memoize('access:baseRanks', () => unrestricted);
    for (const [id, visibility, granted] of raw) {
      if (user.role === 'ADMIN') {
        ranks.set(id, R.ADMIN);
        unrestricted.set(id, R.ADMIN);
        continue;
      }
      const base = visibility === 'RESTRICTED' ? R.NONE : R.PARTICIPATE;
      let rank = Math.max(base, Number(granted));
      if (user.role === 'MODERATOR' && rank >= R.READ) rank = Math.max(rank, R.MODERATE);
      unrestricted.set(id, rank);
      if (barred.global || barred.spaces.has(id)) rank = R.NONE;
      else if (silenced.global || silenced.spaces.has(id)) rank = Math.min(rank, R.READ);
      if (rank > R.NONE) ranks.set(id, rank);
    }
    return ranks;
  }

  /**
   * `invalidate`, then the viewer's ranks read again on `m` (a change's transaction, once it
   * wrote): the request's later fields (a mutation's answer) read them so, with no statement
   * after the commit, which a pool with no connection free would fail though the change was saved.
   */
  async refreshWithin(viewer: Viewer, m: Queryable): Promise<void> {
    this.invalidate(viewer);
    const ranks = await this.loadRanks(viewer, m);
    viewer.memoize('access:spaceRanks', () => Promise.resolve(ranks));
  }

  private async loadRanks(viewer: Viewer, m: Queryable = this.ds): Promise<Map<string, number>> {
    const user = viewer.user;
    if (!user) {
      const ranks = new Map<string, number>();
      const rows: Array<{ id: string }> = await this.ds.query(`SELECT id FROM spaces WHERE visibility = 'PUBLIC'`);
      for (const r of rows) ranks.set(r.id, R.READ);
      return ranks;
    }
    const rows: Array<{ raw: Array<[string, string, number]>; restrictions: Array<[string, string | null]> }> = await m.query(
      `SELECT ${AccessService.rawAccessSql('$1::uuid', '$2::uuid[]')} AS raw, ${AccessService.restrictionsSql('$1::uuid')} AS restrictions`,
      [user.id, user.groupIds],
    );
    return this.ranksFromRaw(viewer, rows[0].raw, rows[0].restrictions);
  }

  /**
   * Site-wide moderation powers (site-wide rules, sanctions and trust levels, the site-wide
   * review queue and moderation log): a global moderator's or an admin's role, unless a
   * site-wide silence stands. (A site-wide suspension or ban ends the session: such a viewer
   * is anonymous. Admins cannot be sanctioned.)
   */
  async moderatesSiteWide(viewer: Viewer): Promise<boolean> {
    if (!viewer.isGlobalModerator) return false;
    if (viewer.isAdmin) return true;
    return !(await this.silencedSiteWide(viewer));
  }

  /** Whether a site-wide silence stands: the viewer reads, but posts, reacts, reports and votes nowhere. */
  async silencedSiteWide(viewer: Viewer): Promise<boolean> {
    if (!viewer.signedIn) return false;
    await this.spaceRanks(viewer);
    return !!viewer.peek<{ global: boolean }>('access:silenced')?.global;
  }

  async rankOn(viewer: Viewer, spaceId: string): Promise<number> {
    return (await this.spaceRanks(viewer)).get(spaceId) ?? R.NONE;
  }

  /**
   * The rank the viewer's role and grants give on a space, whatever sanction stands: who they
   * are, for deciding who may sanction them (a silenced moderator is still a moderator to
   * their peers), not what they may do now (rankOn).
   */
  async baseRankOn(viewer: Viewer, spaceId: string): Promise<number> {
    if (!viewer.signedIn) return this.rankOn(viewer, spaceId);
    await this.spaceRanks(viewer);
    return viewer.peek<Map<string, number>>('access:baseRanks')?.get(spaceId) ?? R.NONE;
  }

  /** Ids of the spaces the viewer may read. */
  async readableSpaceIds(viewer: Viewer): Promise<string[]> {
    return [...(await this.spaceRanks(viewer)).keys()];
  }

  /** Ids of the spaces the viewer moderates. */
  async moderatedSpaceIds(viewer: Viewer): Promise<string[]> {
    const out: string[] = [];
    for (const [id, rank] of await this.spaceRanks(viewer)) if (rank >= R.MODERATE) out.push(id);
    return out;
  }

  /**
   * Throws unless the viewer holds `needed` on the space. A viewer who cannot even
   * read it gets NOT_FOUND, as if it did not exist; an anonymous reader who needs
   * more gets UNAUTHENTICATED; a signed-in reader who needs more gets FORBIDDEN.
   */
  async require(viewer: Viewer, spaceId: string, needed: AccessLevel, what = 'Not found'): Promise<number> {
    const rank = await this.rankOn(viewer, spaceId);
    if (rank >= R[needed]) return rank;
    if (rank < R.READ) throw AppError.notFound(what);
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (this.silencedIn(viewer, spaceId)) throw AppError.forbidden(SILENCED);
    throw AppError.forbidden(`You need ${needed} access in this space`);
  }

  /**
   * What a viewer with `rank` in the content's space sees of a piece of content.
   * Pending content: only its author and moderators. Hidden: the author and
   * moderators see it, others a placeholder. Deleted: moderators see it, others
   * (the author included) a placeholder; if it was deleted while pending, only its
   * author gets the placeholder.
   */
  contentView(viewer: Viewer, rank: number, item: { state: ContentState; authorId: string; deletedFrom: ContentState | null | undefined }): ContentView {
    if (rank < R.READ) return 'none';
    if (item.state === 'VISIBLE' || rank >= R.MODERATE) return 'full';
    const own = viewer.id !== null && viewer.id === item.authorId;
    // Held, or deleted while it waited (rejected, say): others never saw it, so not even a placeholder.
    if (listedToAuthorAndModerators(item) && !own) return 'none';
    switch (item.state) {
      case 'PENDING':
        return 'full';
      case 'HIDDEN':
        return own ? 'full' : 'placeholder';
      default:
        return 'placeholder';
    }
  }

  /**
   * What a viewer gets of a post reached by its id, its topic counted: 'none' (no such post for
   * them) unless they read the topic in full (a topic's placeholder is no topic) and the post
   * itself at least as a placeholder; otherwise the post's own view. Each is judged with the
   * viewer's rank on the space its row names (`rank`: the same space, but for rows read either
   * side of a move). `ForumLoaders.post` finds posts so, and `moderatePost` judges its moderator
   * again so under the post's lock.
   */
  postView(
    viewer: Viewer,
    topic: { rank: number; state: ContentState; authorId: string },
    post: { rank: number; state: ContentState; authorId: string; deletedFrom: ContentState | null | undefined },
  ): ContentView {
    if (this.contentView(viewer, topic.rank, { state: topic.state, authorId: topic.authorId, deletedFrom: null }) !== 'full') return 'none';
    return this.contentView(viewer, post.rank, post);
  }
}
