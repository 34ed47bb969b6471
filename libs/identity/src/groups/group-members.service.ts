import { Injectable } from '@nestjs/common';
import { AccessService } from '../../../access/src/access.service';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid } from '../../../core/src/ids';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { GroupMemberInput, SetGroupOwnerInput } from './dto/group.inputs';
import { GroupJoining, GroupMembership, GroupModel } from './group.model';
import { GroupMemberships, LockedGroup } from './group-memberships';
import { isMember, seesGroup } from './group-visibility';
import { GroupsService } from './groups.service';

/**
 * Joins and leaves a member makes an hour, together (one that changes nothing does not count):
 * each is a moderation-log entry, and a leave makes the live rooms of every space the group
 * holds grants on check their members again, so joining and leaving in a loop is refused.
 */
export const GROUP_JOINS_PER_USER: RateRule = { bucket: 'group-join:user', limit: 30, windowSeconds: 3600 };

/**
 * Members a group's owner who is no admin puts in groups an hour, together (an add that changes
 * nothing does not count): each opens what the group's grants open to someone who did not ask,
 * and is a moderation-log entry. Admins are not limited, as for invitations; a team larger than
 * this comes in through an admin, an invitation or the e-mail domain rule.
 */
export const GROUP_ADDS_PER_OWNER: RateRule = { bucket: 'group-add:user', limit: 50, windowSeconds: 3600 };

/**
 * Who is in a group, as Discourse's group owners run it: admins add and remove anyone and make
 * owners; a group's owners add and remove its members (not another owner: only admins do, but
 * themselves, which is leaving); members join an OPEN group and leave an OPEN or REQUEST one by
 * themselves (a CLOSED group's membership is its owners' and the admins'). A group the viewer
 * may not see is NOT_FOUND on every path. Each change runs under the group's lock
 * (GroupMemberships.lock) and is logged; a removal makes live rooms check again.
 */
@Injectable()
export class GroupMembersService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly memberships: GroupMemberships,
    private readonly groups: GroupsService,
    private readonly access: AccessService,
    private readonly limiter: RateLimiter,
  ) {}

  /**
   * Admins and the group's owners add a member (grants given to the group apply to them at
   * once); to a group that moderates a space, or an account suspended or banned site-wide,
   * admins alone (`mayAdmit`, `requireAdmissible`). An owner adds GROUP_ADDS_PER_OWNER an hour:
   * counted once the member is in, in the same transaction, so one refused is undone whole.
   */
  async addMember(viewer: Viewer, input: GroupMemberInput): Promise<GroupModel> {
    requireSignedIn(viewer);
    await this.uow.run(async (tx) => {
      await this.requireManager(tx, viewer, await this.memberships.lock(tx, viewer, input.groupId));
      if (!(await this.memberships.mayAdmit(tx, viewer, input.groupId))) throw AppError.forbidden(GroupMemberships.ADMINS_ADMIT);
      await this.memberships.requireAdmissible(tx, viewer, input.userId);
      const added = await this.memberships.add(tx, { groupId: input.groupId, userId: input.userId, actorId: viewer.id });
      if (added && !viewer.isAdmin) await this.limiter.hitWithin(tx, [[GROUP_ADDS_PER_OWNER, viewer.id!]]);
    });
    if (input.userId === viewer.id) this.ownGroupsChanged(viewer, input.groupId, true);
    return this.groups.get(viewer, input.groupId);
  }

  /**
   * Admins remove anyone; owners remove members who are not owners, and themselves (leaving) from
   * a group they still see once out of it. Leaving one they would no longer see (MEMBERS, OWNERS)
   * is leaveGroup's, which answers null then: this answers the group (Group!), so it refuses that
   * (BAD_USER_INPUT on userId, nothing written) rather than hand them a group hidden from them.
   */
  async removeMember(viewer: Viewer, input: GroupMemberInput): Promise<GroupModel> {
    requireSignedIn(viewer);
    const self = input.userId === viewer.id;
    await this.uow.run(async (tx) => {
      const group = await this.memberships.lock(tx, viewer, input.groupId);
      await this.requireManager(tx, viewer, group);
      if (self && !seesGroup(viewer, group.visibility, GroupMembership.NONE)) {
        throw AppError.badField('userId', 'is you, and you would no longer see this group: leave it with leaveGroup');
      }
      await requireUser(tx, input.userId);
      if (!viewer.isAdmin && !self) {
        // Their row is locked: an admin making them an owner meanwhile waits, or comes first and this refuses.
        const target = await tx.one<{ owner: boolean }>(`SELECT owner FROM group_members WHERE group_id = $1 AND user_id = $2 FOR UPDATE`, [input.groupId, input.userId]);
        if (target?.owner) throw AppError.forbidden('Only admins remove an owner of a group');
      }
      await this.memberships.remove(tx, { groupId: input.groupId, userId: input.userId, actorId: viewer.id, reason: self ? 'left' : undefined });
    });
    if (self) this.ownGroupsChanged(viewer, input.groupId, false);
    return this.groups.get(viewer, input.groupId);
  }

  /** Admins make a user an owner (a member, then, if they were not) or take it away (they stay a member). */
  async setOwner(viewer: Viewer, input: SetGroupOwnerInput): Promise<GroupModel> {
    requireSignedIn(viewer);
    if (!viewer.isAdmin) throw AppError.forbidden('Only admins choose the owners of a group');
    let joined = false;
    await this.uow.run(async (tx) => {
      await this.memberships.lock(tx, viewer, input.groupId);
      await (input.owner ? this.memberships.requireAdmissible(tx, viewer, input.userId) : requireUser(tx, input.userId));
      const change = { groupId: input.groupId, userId: input.userId, actorId: viewer.id };
      joined = input.owner && (await this.memberships.add(tx, { ...change, reason: 'made owner' }));
      await this.memberships.setOwner(tx, change, input.owner);
    });
    if (joined && input.userId === viewer.id) this.ownGroupsChanged(viewer, input.groupId, true);
    return this.groups.get(viewer, input.groupId);
  }

  /** A signed-in member who sees an OPEN group joins it (again: nothing changes), GROUP_JOINS_PER_USER an hour with leaving. */
  async join(viewer: Viewer, groupId: string): Promise<GroupModel> {
    requireSignedIn(viewer);
    requireGroupId(groupId);
    await this.uow.run(async (tx) => {
      // Their account held too: one being deleted meanwhile is not left in the group.
      const group = await this.memberships.lock(tx, viewer, groupId, { self: true });
      if (group.joining === GroupJoining.REQUEST) throw AppError.forbidden('This group takes requests to join: ask with requestGroupMembership');
      if (group.joining !== GroupJoining.OPEN) throw AppError.forbidden('Its owners and the admins add people to this group');
      if (isMember(group.standing)) return;
      if (!(await this.memberships.mayAdmit(tx, viewer, groupId))) throw AppError.forbidden(GroupMemberships.ADMINS_ADMIT);
      await this.limiter.hitWithin(tx, [[GROUP_JOINS_PER_USER, viewer.id!]]);
      await this.memberships.add(tx, { groupId, userId: viewer.id!, actorId: viewer.id, reason: 'joined' });
    });
    this.ownGroupsChanged(viewer, groupId, true);
    return this.groups.get(viewer, groupId);
  }

  /**
   * A member leaves an OPEN or REQUEST group (not in it: nothing changes); a CLOSED one's
   * membership is its owners' and the admins': only they leave it (removeGroupMember too).
   * Answers the group as they see it now: null once they do not (an owner leaving a MEMBERS or
   * OWNERS group), so nothing of it reaches them after they left.
   */
  async leave(viewer: Viewer, groupId: string): Promise<GroupModel | null> {
    requireSignedIn(viewer);
    requireGroupId(groupId);
    await this.uow.run(async (tx) => {
      const group = await this.memberships.lock(tx, viewer, groupId);
      if (group.joining === GroupJoining.CLOSED && !(await this.memberships.manages(tx, viewer, group))) {
        throw AppError.forbidden('Its owners and the admins manage who is in this group');
      }
      if (!isMember(group.standing)) return;
      await this.limiter.hitWithin(tx, [[GROUP_JOINS_PER_USER, viewer.id!]]);
      await this.memberships.remove(tx, { groupId, userId: viewer.id!, actorId: viewer.id, reason: 'left' });
    });
    this.ownGroupsChanged(viewer, groupId, false);
    return this.groups.seenNow(viewer, groupId);
  }

  /** Refuses who may not manage the group's members (its owners and the admins may): the group is seen by then. */
  private async requireManager(tx: Tx, viewer: Viewer, group: LockedGroup): Promise<void> {
    if (!(await this.memberships.manages(tx, viewer, group))) {
      throw AppError.forbidden('Only its owners and the admins add and remove its members');
    }
  }

  /**
   * The viewer's own groups changed: the rest of the request sees them as they are now (the
   * session read them before), access to restricted spaces included.
   */
  private ownGroupsChanged(viewer: Viewer, groupId: string, member: boolean): void {
    const user = viewer.user!;
    user.groupIds = member ? [...new Set([...user.groupIds, groupId])] : user.groupIds.filter((id) => id !== groupId);
    this.access.invalidate(viewer);
  }
}

function requireSignedIn(viewer: Viewer): void {
  if (!viewer.signedIn) throw AppError.unauthenticated();
}

/** A group id as an argument of its own (an input's are validated with it). */
export function requireGroupId(groupId: string): void {
  if (!isUuid(groupId)) throw AppError.badField('groupId', 'must be a group id');
}

async function requireUser(tx: Tx, userId: string): Promise<void> {
  if (!(await tx.one(`SELECT 1 FROM users WHERE id = $1`, [userId]))) throw AppError.notFound('User not found');
}
