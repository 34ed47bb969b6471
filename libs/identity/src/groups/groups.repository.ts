import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Viewer } from '../../../core/src/graphql/viewer';
import { AUTHOR_COLUMNS, AuthorColumns } from '../users/user.model';
import { GroupMembership, GroupRow } from './group.model';
import { seesGroupSql, standingSql } from './group-visibility';

/**
 * SQL: how many members the group `g` has, from its counter (kept by triggers on group_members,
 * migration `group-member-counts`): one row, however large the group. A group never joined has none.
 */
export function memberCountSql(g: string): string {
  return `COALESCE((SELECT c.member_count FROM group_member_counts c WHERE c.group_id = ${g}.id), 0)`;
}

/** A group's columns (GroupRow), for groups `g`; its member count is read with it. */
export const GROUP_COLUMNS = `g.id, g.slug, g.name, g.description, g.visibility, g.joining, g.mentionable, g.created_at,
  ${memberCountSql('g')} AS member_count`;
export const SELECT_GROUP = `SELECT ${GROUP_COLUMNS} FROM groups g`;

/** A group with where the viewer stands with it. */
export type GroupStandingRow = GroupRow & { standing: GroupMembership };

/** A page row of Group.members: the member (as an author, with `AUTHOR_COLUMNS`), and the keyset's time as PostgreSQL text. */
export type MemberRow = AuthorColumns & { group_id: string; owner: boolean; joined_at: Date; k_ts: string };
/** A page row of Group.requests, with who asks (`AUTHOR_COLUMNS`). */
export type RequestRow = AuthorColumns & { id: string; group_id: string; message: string; created_at: Date };

/** Every read of groups, their members and their requests. Writes are GroupMemberships' and the services'. */
@Injectable()
export class GroupsRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Groups (matching `where`, on `g`, with `params` from $3) the viewer sees, with where they
   * stand, by name: $1 the viewer's id, $2 whether they are an admin.
   */
  private visible(viewer: Viewer, where: string, params: unknown[]): Promise<GroupStandingRow[]> {
    return this.ds.query(
      `SELECT ${GROUP_COLUMNS}, ${standingSql('g', '$1')} AS standing FROM groups g
        WHERE ${where} AND ${seesGroupSql('g', { viewer: '$1', admin: '$2' })} ORDER BY g.name, g.id`,
      [viewer.id, viewer.isAdmin, ...params],
    );
  }

  /** Every group the viewer sees (all of them for an admin). */
  list(viewer: Viewer): Promise<GroupStandingRow[]> {
    return this.visible(viewer, 'true', []);
  }

  async bySlug(viewer: Viewer, slug: string): Promise<GroupStandingRow | null> {
    return (await this.visible(viewer, 'g.slug = $3', [slug]))[0] ?? null;
  }

  /** A group by id if the viewer sees it now (`seesGroupSql`), with where they stand. */
  async seenById(viewer: Viewer, id: string): Promise<GroupStandingRow | null> {
    return (await this.visible(viewer, 'g.id = $3', [id]))[0] ?? null;
  }

  /** A group whether or not the viewer sees it (what a change they made returns), with where they stand. */
  async byId(viewer: Viewer, id: string): Promise<GroupStandingRow | null> {
    const [row] = await this.ds.query(`SELECT ${GROUP_COLUMNS}, ${standingSql('g', '$2')} AS standing FROM groups g WHERE g.id = $1`, [id, viewer.id]);
    return row ?? null;
  }

  /** Where the user stands with each of the groups (those missing from the map: NONE). */
  async standings(userId: string, groupIds: readonly string[]): Promise<Map<string, GroupMembership>> {
    const rows: Array<{ id: string; standing: GroupMembership }> = await this.ds.query(
      `SELECT g.id, ${standingSql('g', '$1')} AS standing FROM groups g WHERE g.id = ANY($2::uuid[])`,
      [userId, groupIds],
    );
    return new Map(rows.map((r) => [r.id, r.standing]));
  }

  /**
   * Each user's groups the viewer sees (`seesGroupSql`), by name, with where the viewer stands
   * with them: one statement for every user of a list.
   */
  userGroups(viewer: Viewer, userIds: readonly string[]): Promise<Array<GroupStandingRow & { member_id: string }>> {
    return this.ds.query(
      `SELECT gm.user_id AS member_id, ${GROUP_COLUMNS}, ${standingSql('g', '$1')} AS standing
         FROM group_members gm JOIN groups g ON g.id = gm.group_id
        WHERE gm.user_id = ANY($3::uuid[]) AND ${seesGroupSql('g', { viewer: '$1', admin: '$2' })} ORDER BY g.name, g.id`,
      [viewer.id, viewer.isAdmin, userIds],
    );
  }

  /**
   * A page of each group's members: owners first, then by when they joined; `after` is the last
   * row's [owner, joined_at as text, user id]. One statement for every group of a list.
   */
  memberPages(groupIds: readonly string[], limit: number, after?: [boolean, string, string]): Promise<MemberRow[]> {
    const keyset = after ? ` AND (gm.owner < $3 OR (gm.owner = $3 AND (gm.created_at, gm.user_id) > ($4::timestamptz, $5::uuid)))` : '';
    return this.ds.query(
      `SELECT x.* FROM unnest($1::uuid[]) AS p(id) CROSS JOIN LATERAL (
         SELECT gm.group_id, gm.owner, gm.created_at AS joined_at, gm.created_at::text AS k_ts, ${AUTHOR_COLUMNS}
           FROM group_members gm JOIN users u ON u.id = gm.user_id
          WHERE gm.group_id = p.id${keyset} ORDER BY gm.owner DESC, gm.created_at, gm.user_id LIMIT $2) x`,
      [groupIds, limit, ...(after ?? [])],
    );
  }

  /** A page of each group's pending requests, oldest (lowest UUIDv7) first, after the request `after`. */
  requestPages(groupIds: readonly string[], limit: number, after: string | null): Promise<RequestRow[]> {
    return this.ds.query(
      `SELECT x.* FROM unnest($1::uuid[]) AS p(id) CROSS JOIN LATERAL (
         SELECT r.id, r.group_id, r.message, r.created_at, ${AUTHOR_COLUMNS}
           FROM group_requests r JOIN users u ON u.id = r.user_id
          WHERE r.group_id = p.id AND r.decided_at IS NULL AND ($3::uuid IS NULL OR r.id > $3::uuid) ORDER BY r.id LIMIT $2) x`,
      [groupIds, limit, after],
    );
  }

  /** How many requests wait in each group (groups with none are missing). */
  async pendingCounts(groupIds: readonly string[]): Promise<Map<string, number>> {
    const rows: Array<{ group_id: string; n: number }> = await this.ds.query(
      `SELECT group_id, count(*)::int AS n FROM group_requests WHERE group_id = ANY($1::uuid[]) AND decided_at IS NULL GROUP BY group_id`,
      [groupIds],
    );
    return new Map(rows.map((r) => [r.group_id, r.n]));
  }
}
