import { Injectable } from '@nestjs/common';
import { AccessService, SILENCED } from '../../../access/src/access.service';
import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { newId } from '../../../core/src/ids';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { DecideGroupRequestInput, GroupRequestInput } from './dto/group.inputs';
import { GroupJoining, GroupMembership, GroupModel } from './group.model';
import { GroupMemberships } from './group-memberships';
import { isMember } from './group-visibility';
import { requireGroupId } from './group-members.service';
import { GroupsService } from './groups.service';

/** The outbox event of a new request to join a group: its owners (or the admins) are told (GROUP_MEMBERSHIP_REQUEST). */
export const GROUP_REQUESTED = 'group.membership_requested';
/** The outbox event of a decided request: its requester is told (GROUP_MEMBERSHIP_DECIDED). */
export const GROUP_REQUEST_DECIDED = 'group.membership_decided';
/** Requests to join a group a member may make a day (each tells the group's owners): refused ones do not count. */
export const GROUP_REQUESTS_PER_USER: RateRule = { bucket: 'group-request:user', limit: 10, windowSeconds: 86400 };

/**
 * Requests to join a REQUEST group, as Discourse's: a signed-in member who sees the group asks
 * with a message (not while silenced site-wide, GROUP_REQUESTS_PER_USER a day), may withdraw it
 * while it waits, and an owner of the group or an admin accepts (which adds them) or declines
 * it, once: a second decision, however close, is CONFLICT (the request's row is locked), and
 * so is deciding one that ended otherwise (withdrawn, its requester put in another way or their
 * account deleted: kept, `ended` saying how, so its managers are told so).
 */
@Injectable()
export class GroupRequestsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly memberships: GroupMemberships,
    private readonly groups: GroupsService,
    private readonly access: AccessService,
    private readonly limiter: RateLimiter,
  ) {}

  async request(viewer: Viewer, input: GroupRequestInput): Promise<GroupModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    // A request is words to the owners: a silenced member writes to nobody.
    if (await this.access.silencedSiteWide(viewer)) throw AppError.forbidden(SILENCED);
    await this.uow.run(async (tx) => {
      // Their account held too: one being deleted meanwhile leaves no request behind.
      const group = await this.memberships.lock(tx, viewer, input.groupId, { self: true });
      if (group.joining !== GroupJoining.REQUEST) {
        throw AppError.forbidden(group.joining === GroupJoining.OPEN ? 'Anyone may join this group: joinGroup' : 'Its owners and the admins add people to this group');
      }
      if (isMember(group.standing)) throw AppError.conflict('You are in this group already');
      if (group.standing === GroupMembership.REQUESTED) throw AppError.conflict('Your request to join this group waits already');
      // Its owners could not accept it: admins add people to such a group by hand.
      if (!(await this.memberships.mayAdmit(tx, viewer, group.id))) throw AppError.forbidden(GroupMemberships.ADMINS_ADMIT);
      // Counted in this transaction: a request refused (here or below) counts nothing.
      await this.limiter.hitWithin(tx, [[GROUP_REQUESTS_PER_USER, viewer.id!]]);
      const id = newId();
      const made = await tx.query(
        `INSERT INTO group_requests (id, group_id, user_id, message) VALUES ($1, $2, $3, $4) ON CONFLICT (group_id, user_id) WHERE decided_at IS NULL DO NOTHING RETURNING id`,
        [id, input.groupId, viewer.id, input.message],
      );
      if (made.length === 0) throw AppError.conflict('Your request to join this group waits already');
      await tx.emit({ type: GROUP_REQUESTED, aggregateType: 'group', aggregateId: input.groupId, payload: { requestId: id, groupId: input.groupId, userId: viewer.id } });
    });
    return this.groups.get(viewer, input.groupId);
  }

  /**
   * Withdraws the viewer's waiting request (none waiting: nothing changes), even from a group
   * they no longer see. It ends as a decision ends one (`decided_at`: it waits no more, and they
   * may ask again), ended WITHDRAWN rather than deleted: a manager who goes on to decide it
   * is told it was withdrawn (CONFLICT), not that it never was. Answers the group as they see it
   * now: null for one they do not (it was hidden from them since they asked).
   */
  async withdraw(viewer: Viewer, groupId: string): Promise<GroupModel | null> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    requireGroupId(groupId);
    await this.uow.run(async (tx) => {
      await this.memberships.lock(tx, viewer, groupId, { evenUnseen: (standing) => standing === GroupMembership.REQUESTED });
      await tx.query(`UPDATE group_requests SET decided_at = now(), ended = 'WITHDRAWN' WHERE group_id = $1 AND user_id = $2 AND decided_at IS NULL`, [groupId, viewer.id]);
    });
    return this.groups.seenNow(viewer, groupId);
  }

  /**
   * An owner of the group or an admin accepts (the requester joins) or declines a waiting
   * request. A request of a group the viewer does not manage (nor see) is NOT_FOUND, as one that
   * does not exist, before anything else is said of it; to those who manage it, one that waits no
   * more (decided, withdrawn, its requester in already or deleted) is CONFLICT before what they may not do (FORBIDDEN: an owner
   * accepting into a group only admins fill, or a requester barred since): that would not decide
   * it either, and the client is to refresh its list, not to ask an admin.
   */
  async decide(viewer: Viewer, input: DecideGroupRequestInput): Promise<GroupModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const groupId = await this.uow.run(async (tx) => {
      // Who asked never changes: read before anything is locked, with whether it still waits
      // (a request that waits no more never waits again; one decided meanwhile is found below).
      const named = await tx.one<RequestState & { group_id: string; user_id: string }>(`SELECT group_id, user_id, decided_at, ended FROM group_requests WHERE id = $1`, [input.requestId]);
      if (!named) throw AppError.notFound('Request not found');
      // The group, then (accepting) the requester's account, then the request: the order every
      // path takes them in. An account's deletion holds the account, then ends its requests:
      // an acceptance waits for the account before it holds the request, not the other way round.
      const group = await this.memberships.lock(tx, viewer, named.group_id, { notFound: 'Request not found' });
      if (!(await this.memberships.manages(tx, viewer, group))) throw AppError.notFound('Request not found');
      // To those who may decide it, one that waits no more is said so before what they may not
      // do: as read unlocked above (the request is locked below, after the requester's account,
      // in the order every path takes them), and read again there.
      requireWaiting(named);
      // Accepting, the requester's account is held before the request: one deleted meanwhile
      // ended the request (ACCOUNT_DELETED), which the locked read below finds.
      const account = input.accept ? await this.memberships.holdAccount(tx, named.user_id) : undefined;
      const request = requireWaiting(await tx.one<RequestState & { user_id: string }>(`SELECT user_id, decided_at, ended FROM group_requests WHERE id = $1 FOR UPDATE`, [input.requestId]));
      // Declining stays its owners' too.
      if (input.accept) {
        if (!(await this.memberships.mayAdmit(tx, viewer, group.id))) throw AppError.forbidden(GroupMemberships.ADMINS_ADMIT);
        // A requester suspended or banned site-wide since they asked: an owner declines, an admin
        // may still accept.
        GroupMemberships.judgeAdmissible(viewer, account, { notFound: 'Request not found' });
      }
      await tx.query(`UPDATE group_requests SET decided_at = now(), decided_by = $2, accepted = $3 WHERE id = $1`, [input.requestId, viewer.id, input.accept]);
      if (input.accept) {
        await this.memberships.add(tx, { groupId: group.id, userId: request.user_id, actorId: viewer.id, reason: 'request accepted', details: { requestId: input.requestId } });
      }
      await tx.emit({ type: GROUP_REQUEST_DECIDED, aggregateType: 'group', aggregateId: group.id, payload: { requestId: input.requestId, groupId: group.id, userId: request.user_id, accepted: input.accept } });
      return group.id;
    });
    return this.groups.get(viewer, groupId);
  }
}

/** How a request ended without a decision (`group_requests.ended`). */
type RequestEnding = 'WITHDRAWN' | 'JOINED' | 'ACCOUNT_DELETED' | 'JOINING_CHANGED';

/** A request as `decide` reads it: whether it waits still. */
interface RequestState {
  decided_at: Date | null;
  ended: RequestEnding | null;
}

/** What a manager deciding a request that ended without a decision is told. */
const ENDED: Record<RequestEnding, string> = {
  WITHDRAWN: 'This request was withdrawn',
  JOINED: 'Its requester is in the group already',
  ACCOUNT_DELETED: 'Its requester’s account was deleted',
  JOINING_CHANGED: 'This group no longer takes requests',
};

/**
 * The request, if it waits still: CONFLICT once it was decided or ended otherwise (saying how),
 * NOT_FOUND once it is gone (its group deleted took it with it).
 */
function requireWaiting<R extends RequestState>(request: R | undefined): R {
  if (!request) throw AppError.notFound('Request not found');
  if (request.ended) throw AppError.conflict(ENDED[request.ended]);
  if (request.decided_at) throw AppError.conflict('This request was decided already');
  return request;
}
