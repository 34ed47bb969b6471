import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessLevel } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { AppError } from '../../../core/src/errors';
import { Connection, decodeCursor, PageArgs, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid } from '../../../core/src/ids';
import { AuditRow } from '../../../core/src/audit/audit-log';
import { ModerationLogEntryModel, toLogModel } from './moderation-log.model';
import { seesGroupSql } from '../../../identity/src/groups/group-visibility';

/**
 * A site-wide entry about a group (`group.*`: its settings, who came and went, its domains)
 * as its reader may see it (on a row of moderation_log, unaliased; `viewer` the SQL of their id):
 * when they see the group, as `seesGroupSql` decides for its fields. A global moderator who is
 * no admin meets no hidden group here either, nor who is in one.
 */
function groupEntrySeenSql(viewer: string): string {
  return `(action NOT LIKE 'group.%' OR space_id IS NOT NULL OR EXISTS (
    SELECT 1 FROM groups g
     WHERE g.id = CASE WHEN moderation_log.target_type = 'group' THEN moderation_log.target_id ELSE (moderation_log.after->>'groupId')::uuid END
       AND ${seesGroupSql('g', { viewer, admin: 'false' })}))`;
}

/**
 * Whether an entry of a space (`l`: a grant given to a group or taken back) is about a group its
 * reader (`viewer`, the SQL of their id; no admin) may not see: it stays in the space's log, but
 * without the group (`unnamedGroup`), as the space's grants list it.
 */
function spaceEntryOfHiddenGroupSql(l: string, viewer: string): string {
  return `(${l}.space_id IS NOT NULL AND ${l}.target_type = 'group' AND NOT EXISTS (
    SELECT 1 FROM groups g WHERE g.id = ${l}.target_id AND ${seesGroupSql('g', { viewer, admin: 'false' })}))`;
}

/** An entry without the group it names (its target, its `groupId` before and after). */
function unnamedGroup(r: AuditRow): AuditRow {
  const unnamed = (v: Record<string, unknown> | null) => (v && 'groupId' in v ? { ...v, groupId: null } : v);
  return { ...r, target_id: null, before: unnamed(r.before as Record<string, unknown> | null), after: unnamed(r.after as Record<string, unknown> | null) };
}

/**
 * Reading the log: a space's moderators see that space's entries; global moderators
 * and admins also see site-wide entries (global sanctions) and every space they moderate
 * (each they can read, but one they are silenced in), but for a global moderator those of
 * groups they may not see (`groupEntrySeenSql`).
 */
@Injectable()
export class ModerationLogService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
  ) {}

  async list(viewer: Viewer, spaceId: string | undefined, args: PageArgs): Promise<Connection<ModerationLogEntryModel>> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    let spaces: string[];
    let global = false;
    if (spaceId) {
      if (!isUuid(spaceId)) throw AppError.notFound('Space not found');
      await this.access.require(viewer, spaceId, AccessLevel.MODERATE, 'Space not found');
      spaces = [spaceId];
    } else {
      global = await this.access.moderatesSiteWide(viewer);
      // The spaces they moderate, site-wide powers or not: a global moderator silenced in a space
      // reads it as a member does, and its log as `spaceId` would answer them (FORBIDDEN).
      spaces = await this.access.moderatedSpaceIds(viewer);
      if (!global && spaces.length === 0) throw AppError.forbidden('Only moderators read the moderation log');
    }
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, 'moderation-log', 1);
    // The cursor holds the id as a string; String() of anything else (an array, say) could pass the pattern.
    if (after && !(typeof after[0] === 'string' && /^\d{1,18}$/.test(after[0]))) throw AppError.badField('after', 'is not a valid cursor');
    // A global moderator's site-wide entries leave out the groups they do not see: the viewer is
    // then the last parameter ($4 in the page's statement, $2 in the count's).
    const groupsSeen = global && !viewer.isAdmin;
    const where = (viewerParam: string) => `(space_id = ANY($1::uuid[])${global ? ' OR space_id IS NULL' : ''})${groupsSeen ? ` AND ${groupEntrySeenSql(`${viewerParam}::uuid`)}` : ''}`;
    const seer = groupsSeen ? [viewer.id] : [];
    const page = (scope: string) => `(SELECT * FROM moderation_log WHERE ${scope} AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3)`;
    // A moderator of some spaces: newest first from each space's own index range, then merged
    // (one walk down the whole log would read every entry of other spaces on the way). A global
    // moderator reads nearly every space: one walk down the log stops after a page, where a
    // range per space would read a page from each of thousands.
    const statement = global
      ? page(where('$4'))
      : `SELECT l.* FROM unnest($1::uuid[]) AS s(id) CROSS JOIN LATERAL ${page('space_id = s.id')} l ORDER BY id DESC LIMIT $3`;
    // Who is no admin reads a grant to a group they may not see without the group: the viewer is $4 then.
    const rows: Array<AuditRow & { group_hidden?: boolean }> = await this.ds.query(
      viewer.isAdmin ? statement : `SELECT l.*, ${spaceEntryOfHiddenGroupSql('l', '$4::uuid')} AS group_hidden FROM (${statement}) l ORDER BY l.id DESC`,
      [spaces, after ? after[0] : null, size + 1, ...(viewer.isAdmin ? [] : [viewer.id])],
    );
    return toConnection(
      rows,
      size,
      'moderation-log',
      (r) => [String(r.id)],
      (r) => toLogModel(r.group_hidden ? unnamedGroup(r) : r),
      async () => (await this.ds.query(`SELECT count(*)::int AS n FROM moderation_log WHERE ${where('$2')}`, [spaces, ...seer]))[0].n,
    );
  }
}
