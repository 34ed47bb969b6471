import { Viewer } from '../../../core/src/graphql/viewer';
import { GroupMembership, GroupVisibility } from './group.model';

/**
 * Whether the viewer sees a group and its members (one rule for both, as the group's
 * `visibility` says): admins and its owners always; then PUBLIC anyone, SIGNED_IN anyone signed
 * in, MEMBERS its members, OWNERS nobody else. To whoever does not see it, a group does not exist
 * (NOT_FOUND). `standing` is the viewer's own (a pending request gives no sight).
 * `seesGroupSql` says the same in SQL; the groups suite holds the two to the same answers.
 */
export function seesGroup(viewer: Viewer, visibility: GroupVisibility, standing: GroupMembership): boolean {
  if (viewer.isAdmin || standing === GroupMembership.OWNER) return true;
  switch (visibility) {
    case GroupVisibility.PUBLIC:
      return true;
    case GroupVisibility.SIGNED_IN:
      return viewer.signedIn;
    case GroupVisibility.MEMBERS:
      return standing === GroupMembership.MEMBER;
    default:
      return false;
  }
}

/**
 * `seesGroup` in SQL, a condition on a groups row (alias `g`), so any statement filters with it
 * as it reads the groups: `viewer` is the viewer's id (null signed out), `admin` whether they are
 * an admin (SQL expressions, parameters say). Their membership is looked up only when the
 * visibility alone does not decide (an owner sees any group, a member a MEMBERS one).
 */
export function seesGroupSql(g: string, p: { viewer: string; admin: string }): string {
  return `(${p.admin} OR ${g}.visibility = 'PUBLIC' OR (${g}.visibility = 'SIGNED_IN' AND ${p.viewer}::uuid IS NOT NULL)
    OR EXISTS (SELECT 1 FROM group_members sm WHERE sm.group_id = ${g}.id AND sm.user_id = ${p.viewer}::uuid AND (sm.owner OR ${g}.visibility = 'MEMBERS')))`;
}

/**
 * `seesGroup` for a member of the group `g` (SQL on its row): every member sees it but in a group
 * of visibility OWNERS, which its owners and the admins alone see; `owner` and `admin` are SQL
 * booleans saying whether the member is one (cheapest test first).
 */
export function memberSeesGroupSql(g: string, p: { owner: string; admin: string }): string {
  return `(${g}.visibility <> 'OWNERS' OR ${p.owner} OR ${p.admin})`;
}

/** SQL: where the user `viewer` (an SQL expression, null signed out) stands with the group `g` (a GroupMembership). */
export function standingSql(g: string, viewer: string): string {
  return `COALESCE((SELECT CASE WHEN sm.owner THEN 'OWNER' ELSE 'MEMBER' END FROM group_members sm WHERE sm.group_id = ${g}.id AND sm.user_id = ${viewer}::uuid),
    CASE WHEN EXISTS (SELECT 1 FROM group_requests sr WHERE sr.group_id = ${g}.id AND sr.user_id = ${viewer}::uuid AND sr.decided_at IS NULL) THEN 'REQUESTED' ELSE 'NONE' END)`;
}

/** Whether someone who stands so with a group is in it. */
export function isMember(standing: GroupMembership): boolean {
  return standing === GroupMembership.MEMBER || standing === GroupMembership.OWNER;
}
