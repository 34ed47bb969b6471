import { Injectable } from '@nestjs/common';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { Tx } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { GroupJoining, GroupMembership, GroupVisibility } from './group.model';
import { seesGroup, standingSql } from './group-visibility';
import { announceAccessGain, announceAccessLoss } from './group-access';

/** A group as a change to its membership reads it, locked, with where the acting viewer stands. */
export interface LockedGroup {
  id: string;
  slug: string;
  name: string;
  visibility: GroupVisibility;
  joining: GroupJoining;
  standing: GroupMembership;
}

/**
 * The outbox event of a request ended because its group no longer takes requests (switched from
 * REQUEST to OPEN or CLOSED): its requester is told (GROUP_REQUEST_CLOSED).
 */
export const GROUP_REQUEST_CLOSED = 'group.membership_request_closed';

/** An account an admin or owner puts in a group, as `holdAccount` read it: whether it is suspended or banned site-wide. */
export interface HeldAccount {
  barred: boolean;
}

/** One membership change, for the moderation log: who acted (null for the system), and why. */
export interface MembershipChange {
  groupId: string;
  userId: string;
  actorId: string | null;
  /** 'joined', 'left', 'request accepted', 'invitation'...; none when an admin or owner simply acted. */
  reason?: string;
  /** More for the log entry's `after` (the invitation, the request). */
  details?: Record<string, unknown>;
}

/**
 * The writes every way into or out of a group goes through (an admin's or owner's, joining,
 * leaving, an accepted request, an invitation, an account's deletion), in the caller's
 * transaction: each change is in the moderation log, since membership decides who reads
 * restricted spaces, and a removal makes the live rooms of the spaces the group holds grants on
 * check their members again.
 */
@Injectable()
export class GroupMemberships {
  /** Why `mayAdmit` refuses (not which grant: a space's grants are its admins' to read). */
  static readonly ADMINS_ADMIT = 'Only admins put people in this group';
  /** Why `requireAdmissible` refuses an owner (not which sanction: a member's sanctions are the moderators' to read). */
  static readonly ADMINS_ADMIT_BARRED = 'Only admins put an account suspended or banned site-wide in a group';

  constructor(private readonly audit: AuditLog) {}

  /**
   * The group, locked FOR SHARE for the rest of `tx` (a change of its settings, which locks it
   * FOR UPDATE, waits for this change or comes before it: nobody joins a group as it closes),
   * with where the viewer stands. NOT_FOUND (saying `notFound`) when it does not exist or the
   * viewer may not see it, unless `evenUnseen` says they know of it (a requester withdrawing).
   * With `self` (the viewer putting themselves in: joining, asking to join), their own account
   * is held FOR SHARE too, after the group, in the same statement (group, account, request: the
   * order every path takes them in). FOR SHARE, not KEY SHARE: it is what waits for an account's
   * deletion (ACCOUNT_LOCK), which then either comes after this change and takes its membership
   * or request with it, or came first, and this finds the account gone (UNAUTHENTICATED).
   */
  async lock(
    tx: Tx,
    viewer: Viewer,
    groupId: string,
    opts: { notFound?: string; evenUnseen?: (standing: GroupMembership) => boolean; self?: boolean } = {},
  ): Promise<LockedGroup> {
    const group = await tx.one<LockedGroup & { gone?: boolean }>(
      opts.self
        ? `SELECT g.id, g.slug, g.name, g.visibility, g.joining, ${standingSql('g', '$2')} AS standing, me.deleted_at IS NOT NULL AS gone
             FROM groups g JOIN users me ON me.id = $2 WHERE g.id = $1 FOR SHARE OF g, me`
        : `SELECT g.id, g.slug, g.name, g.visibility, g.joining, ${standingSql('g', '$2')} AS standing FROM groups g WHERE g.id = $1 FOR SHARE OF g`,
      [groupId, viewer.id],
    );
    if (group?.gone) throw AppError.unauthenticated();
    if (!group || !(seesGroup(viewer, group.visibility, group.standing) || opts.evenUnseen?.(group.standing))) throw AppError.notFound(opts.notFound ?? 'Group not found');
    return group;
  }

  /**
   * Groups someone is put in on an admin's word rather than by the viewer (an invitation's, as
   * the admin who made it), locked as `lock` locks one (FOR SHARE, in id order), whoever they
   * are seen by: a change of their settings or a grant being given is over before, or waits.
   * The ids of those that exist.
   */
  async lockAll(tx: Tx, groupIds: string[]): Promise<string[]> {
    if (!groupIds.length) return [];
    return (await tx.query<{ id: string }>(`SELECT id FROM groups WHERE id = ANY ($1::uuid[]) ORDER BY id FOR SHARE`, [groupIds])).map((g) => g.id);
  }

  /**
   * Whether the viewer may manage the group's members (an admin, or one of its owners). An
   * owner's membership row is locked FOR SHARE, so an admin taking their ownership away waits
   * for what they are doing, or comes first and this refuses.
   */
  async manages(tx: Tx, viewer: Viewer, group: LockedGroup): Promise<boolean> {
    if (viewer.isAdmin) return true;
    if (group.standing !== GroupMembership.OWNER) return false;
    return !!(await tx.one(`SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2 AND owner FOR SHARE`, [group.id, viewer.id]));
  }

  /**
   * Whether the viewer may put people in the group themselves, by its grants: an admin always;
   * anyone else (its owners, a member joining, accepting a request) only while it holds no grant
   * of MODERATE or more on a space. Its members moderate, or run, that space: handing that out
   * is the admins' decision, never a group owner's nor a self-service one. A grant given meanwhile
   * is ordered with this change: `SpacesService.grant` locks the group's row FOR NO KEY UPDATE,
   * which the FOR SHARE `lock` took holds off until this transaction ends, or it came first and
   * is read here.
   */
  async mayAdmit(tx: Tx, viewer: Viewer, groupId: string): Promise<boolean> {
    if (viewer.isAdmin) return true;
    return !(await tx.one(`SELECT 1 FROM space_grants WHERE group_id = $1 AND level >= $2 LIMIT 1`, [groupId, LEVEL_RANK.MODERATE]));
  }

  /**
   * Refuses an account that may not be put in a group by the viewer: a deleted one (its
   * memberships went with it) or an imported author's placeholder, for anyone (NOT_FOUND, as a
   * missing one); one suspended or banned site-wide, for all but an admin (FORBIDDEN). Admins,
   * who see and lift sanctions, put anyone in (as Discourse's staff do); a group's owners do
   * not: membership does nothing while the account cannot sign in, a ban is meant to be final,
   * and an owner adding a banned account back is abuse to stop, not to carry out. The account's
   * row is held FOR SHARE: an account being deleted meanwhile is deleted after this change (and
   * takes the membership with it), or before it, and is refused (NOT_FOUND saying `notFound`).
   */
  async requireAdmissible(tx: Tx, viewer: Viewer, userId: string, opts: { notFound?: string } = {}): Promise<void> {
    GroupMemberships.judgeAdmissible(viewer, await this.holdAccount(tx, userId), opts);
  }

  /**
   * `requireAdmissible` in two steps, for a caller that reads something else between them (a
   * decision, its request): the account held FOR SHARE, undefined when deleted or a placeholder...
   */
  async holdAccount(tx: Tx, userId: string): Promise<HeldAccount | undefined> {
    return tx.one<HeldAccount>(
      `SELECT ${AccessService.barredSiteWideSql('u.id')} AS barred FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL AND NOT u.is_placeholder FOR SHARE OF u`,
      [userId],
    );
  }

  /** ...then judged: NOT_FOUND (saying `notFound`) when there is none, FORBIDDEN when barred, but to an admin. */
  static judgeAdmissible(viewer: Viewer, account: HeldAccount | undefined, opts: { notFound?: string } = {}): void {
    if (!account) throw AppError.notFound(opts.notFound ?? 'User not found');
    if (account.barred && !viewer.isAdmin) throw AppError.forbidden(GroupMemberships.ADMINS_ADMIT_BARRED);
  }

  /**
   * Adds a member; whether they were not one before (else nothing changes, nothing is logged).
   * A request of theirs still waiting goes: they are in. Their access may have grown: live
   * connections go back to the rooms they were sent away from in the spaces the group holds
   * grants on. The group is held FOR SHARE by every caller (`lock`, `lockAll`), so a grant given
   * to it meanwhile is read here or announced after this change.
   */
  async add(tx: Tx, change: MembershipChange): Promise<boolean> {
    await this.endRequests(tx, [change.groupId], [change.userId]);
    const added = await tx.query(`INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING user_id`, [change.groupId, change.userId]);
    if (added.length === 0) return false;
    await this.log(tx, 'group.member_add', change);
    await announceAccessGain(tx, [change.groupId]);
    return true;
  }

  /** Removes a member; whether they were one. Their access may have shrunk: the live rooms check again. */
  async remove(tx: Tx, change: MembershipChange): Promise<boolean> {
    const [removed] = await tx.query<{ owner: boolean }>(`DELETE FROM group_members WHERE group_id = $1 AND user_id = $2 RETURNING owner`, [change.groupId, change.userId]);
    if (!removed) return false;
    await this.log(tx, 'group.member_remove', change, removed.owner ? { owner: true } : undefined);
    await announceAccessLoss(tx, [change.groupId]);
    return true;
  }

  /**
   * Ends the requests still waiting of each of `userIds` to each of `groupIds`: they are being
   * put in. Kept, ended JOINED (a manager deciding one is told it waits no more, not that it never
   * was). Before they are put in: a decision holding a request (and adding its requester itself)
   * is waited for, not deadlocked with.
   */
  async endRequests(tx: Tx, groupIds: string[], userIds: string[]): Promise<void> {
    if (!groupIds.length || !userIds.length) return;
    await tx.query(`UPDATE group_requests SET decided_at = now(), ended = 'JOINED' WHERE group_id = ANY ($1::uuid[]) AND user_id = ANY ($2::uuid[]) AND decided_at IS NULL`, [groupIds, userIds]);
  }

  /**
   * Ends every request waiting in a group that no longer takes requests (`updateGroup` switching
   * it from REQUEST to `joining`, OPEN or CLOSED), in the switch's transaction, the group's row
   * held FOR UPDATE (a request or a decision holds it FOR SHARE first: it came before, or finds
   * the group switched). Kept, ended JOINING_CHANGED (as Discourse closes them: nobody is left
   * waiting on a decision that no longer comes; a manager deciding one is told so, CONFLICT),
   * and each requester is told what the group became (GROUP_REQUEST_CLOSED): OPEN, they may join
   * it themselves; CLOSED, the request was closed. How many ended.
   */
  async endRequestsOnSwitch(tx: Tx, groupId: string, joining: GroupJoining): Promise<number> {
    const ended = await tx.query<{ id: string; user_id: string }>(
      `UPDATE group_requests SET decided_at = now(), ended = 'JOINING_CHANGED' WHERE group_id = $1 AND decided_at IS NULL RETURNING id, user_id`,
      [groupId],
    );
    for (const r of ended) {
      await tx.emit({ type: GROUP_REQUEST_CLOSED, aggregateType: 'group', aggregateId: groupId, payload: { requestId: r.id, groupId, userId: r.user_id, joining } });
    }
    return ended.length;
  }

  /**
   * Takes an account being deleted (AccountDeletionService, which holds its row with ACCOUNT_LOCK)
   * out of every group and ends its requests (kept, those waiting ended ACCOUNT_DELETED, every
   * one without the message the person wrote), each membership told as `remove` tells one: in the
   * moderation log, naming the account and the group by their ids alone (its `group.member_add`
   * entries named as much; nothing of what the deletion erases), and the live rooms of the spaces
   * the groups hold grants on check again. Every group is held FOR SHARE first, as every removal
   * holds its group: a list of domains being set (FOR UPDATE) that takes the account in is over
   * and its membership goes with the others, or it waits and finds the account deleted; a grant
   * being given is announced with the loss, or waits for it.
   */
  async removeDeletedAccount(tx: Tx, userId: string, actorId: string | null): Promise<void> {
    await tx.query(`SELECT count(*) FROM (SELECT 1 FROM groups ORDER BY id FOR SHARE) g`);
    const removed = await tx.query<{ group_id: string; owner: boolean }>(`DELETE FROM group_members WHERE user_id = $1 RETURNING group_id, owner`, [userId]);
    await tx.query(
      `UPDATE group_requests SET message = NULL, decided_at = COALESCE(decided_at, now()), ended = CASE WHEN decided_at IS NULL THEN 'ACCOUNT_DELETED' ELSE ended END WHERE user_id = $1`,
      [userId],
    );
    for (const { group_id: groupId, owner } of removed) {
      await this.log(tx, 'group.member_remove', { groupId, userId, actorId, reason: 'account deleted' }, owner ? { owner: true } : undefined);
    }
    await announceAccessLoss(tx, removed.map((r) => r.group_id));
  }

  /**
   * Memberships a statement of the automatic rule added and removed itself (AutomaticGroupsService),
   * told as `add` and `remove` tell theirs: each in the moderation log, the live rooms of the
   * spaces the groups left hold grants on check again, and connections go back to the rooms they
   * were sent away from in the spaces the groups joined hold grants on.
   */
  async recordRule(tx: Tx, added: MembershipChange[], removed: MembershipChange[]): Promise<void> {
    for (const change of added) await this.log(tx, 'group.member_add', change);
    for (const change of removed) await this.log(tx, 'group.member_remove', change);
    await announceAccessLoss(tx, [...new Set(removed.map((c) => c.groupId))]);
    await announceAccessGain(tx, [...new Set(added.map((c) => c.groupId))]);
  }

  /** Makes a member an owner or takes it away; whether it changed (a member only: someone outside stays out). */
  async setOwner(tx: Tx, change: MembershipChange, owner: boolean): Promise<boolean> {
    const changed = await tx.query(`UPDATE group_members SET owner = $3 WHERE group_id = $1 AND user_id = $2 AND owner <> $3 RETURNING user_id`, [
      change.groupId, change.userId, owner,
    ]);
    if (changed.length === 0) return false;
    await this.log(tx, owner ? 'group.owner_add' : 'group.owner_remove', change);
    return true;
  }

  /** Group membership decides what restricted spaces a user reads: every change is in the moderation log. */
  private log(tx: Tx, action: string, change: MembershipChange, before?: Record<string, unknown>): Promise<void> {
    return this.audit.append(tx, {
      actorId: change.actorId, action, targetType: 'user', targetId: change.userId, spaceId: null, reason: change.reason ?? null,
      before, after: { groupId: change.groupId, ...change.details },
    });
  }
}
