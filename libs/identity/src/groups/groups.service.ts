import { Injectable } from '@nestjs/common';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError, found } from '../../../core/src/errors';
import { validKeyValue } from '../../../core/src/graphql/cursor-values';
import { nestedCount, nestedCounts, nestedPage } from '../../../core/src/graphql/nested-pages';
import { Connection, decodeCursor, idFromCursor, PageArgs, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { Viewer } from '../../../core/src/graphql/viewer';
import { newId } from '../../../core/src/ids';
import { UserModel } from '../users/user.model';
import { UsersLoader } from '../users/users.loader';
import { CreateGroupInput, UpdateGroupInput } from './dto/group.inputs';
import {
  GroupJoining,
  GroupMemberModel,
  GroupMembership,
  GroupMentionable,
  GroupModel,
  GroupRequestModel,
  GroupVisibility,
  toGroupModel,
} from './group.model';
import { groupCreationLockSql } from './automatic-groups';
import { GroupMemberships } from './group-memberships';
import { seesGroup } from './group-visibility';
import { GroupsRepository } from './groups.repository';

const MEMBERS_CURSOR = 'group-members';
const REQUESTS_CURSOR = 'group-requests';

/**
 * A group that may be mentioned needs a slug a mention can name: as handles are, 3–30
 * characters (the renderer reads no other `@name`); a longer or shorter one would be
 * mentionable in name only.
 */
function assertMentionable(slug: string, mentionable: GroupMentionable | undefined): void {
  if (mentionable && mentionable !== GroupMentionable.NOBODY && (slug.length < 3 || slug.length > 30)) {
    throw AppError.badField('mentionable', 'a group is @mentioned by its slug, which must then be 3–30 characters long');
  }
}

/** People join or ask to join only a group they see: OPEN and REQUEST need it SIGNED_IN or PUBLIC (the table's CHECK too). */
function assertJoinable(visibility: GroupVisibility, joining: GroupJoining): void {
  if (joining !== GroupJoining.CLOSED && visibility !== GroupVisibility.SIGNED_IN && visibility !== GroupVisibility.PUBLIC) {
    throw AppError.badField('joining', 'an OPEN or REQUEST group must be visible to those who join it: visibility SIGNED_IN or PUBLIC');
  }
}

/**
 * Groups: their settings (admins alone create and change them) and what the viewer reads of
 * them, which `seesGroup` decides for the group and its members alike. Membership changes are
 * GroupMembersService's and GroupRequestsService's.
 */
@Injectable()
export class GroupsService {
  constructor(
    private readonly repo: GroupsRepository,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly users: UsersLoader,
    private readonly memberships: GroupMemberships,
  ) {}

  private requireAdmin(viewer: Viewer): void {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (!viewer.isAdmin) throw AppError.forbidden('Only admins manage groups');
  }

  /** Every group for an admin; for others those they see (PUBLIC, SIGNED_IN when signed in, MEMBERS of theirs, any they own). */
  async list(viewer: Viewer): Promise<GroupModel[]> {
    return (await this.repo.list(viewer)).map(toGroupModel);
  }

  /** A group by slug: NOT_FOUND when it does not exist or the viewer may not see it. */
  async bySlug(viewer: Viewer, slug: string): Promise<GroupModel> {
    return toGroupModel(found(await this.repo.bySlug(viewer, slug), 'Group'));
  }

  /** A group the viewer just changed, or changed their place in (seen a moment ago, whatever they see of it now). */
  async get(viewer: Viewer, id: string): Promise<GroupModel> {
    return toGroupModel(found(await this.repo.byId(viewer, id), 'Group'));
  }

  /**
   * A group as the viewer sees it now, null once they do not: what leaving or withdrawing returns,
   * since either may take the group from their sight (an owner leaving a MEMBERS or OWNERS group,
   * a request withdrawn from a group hidden since it was made).
   */
  async seenNow(viewer: Viewer, id: string): Promise<GroupModel | null> {
    const row = await this.repo.seenById(viewer, id);
    return row ? toGroupModel(row) : null;
  }

  async create(viewer: Viewer, input: CreateGroupInput): Promise<GroupModel> {
    this.requireAdmin(viewer);
    assertMentionable(input.slug, input.mentionable);
    const settings = {
      slug: input.slug,
      name: input.name,
      mentionable: input.mentionable ?? GroupMentionable.NOBODY,
      visibility: input.visibility ?? GroupVisibility.OWNERS,
      joining: input.joining ?? GroupJoining.CLOSED,
    };
    assertJoinable(settings.visibility, settings.joining);
    const id = newId();
    await this.uow.run(async (tx) => {
      // First, the creation lock (`groupCreationLockSql`): the changes of a member's confirmed
      // domain under way commit before the group is made, so a list set on it reads their new
      // addresses; one asked meanwhile waits for this and then reads the group.
      await tx.query(`SELECT ${groupCreationLockSql('exclusive')}`);
      const rows = await tx.query(
        `INSERT INTO groups (id, slug, name, description, mentionable, visibility, joining) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (slug) DO NOTHING RETURNING id`,
        [id, settings.slug, settings.name, input.description ?? '', settings.mentionable, settings.visibility, settings.joining],
      );
      if (rows.length === 0) throw AppError.badField('slug', 'is taken');
      await this.audit.append(tx, { actorId: viewer.id, action: 'group.create', targetType: 'group', targetId: id, spaceId: null, after: settings });
    });
    return this.get(viewer, id);
  }

  /**
   * Renames a group, or changes its description, who may mention it, who sees it or how people
   * join it; logged with what it was. Under the group's lock: a member joining as it closes
   * either joined before, or is refused. A group that stops taking requests (REQUEST to OPEN or
   * CLOSED) ends those waiting in the same transaction, their requesters told
   * (`GroupMemberships.endRequestsOnSwitch`); the log entry counts them (`after.requestsEnded`).
   */
  async update(viewer: Viewer, input: UpdateGroupInput): Promise<GroupModel> {
    this.requireAdmin(viewer);
    // A field given as null changes nothing, as an absent one.
    const fields = ['name', 'description', 'mentionable', 'visibility', 'joining'] as const;
    if (fields.every((f) => input[f] == null)) {
      throw AppError.badInput(fields.map((field) => ({ field, message: `give at least one of ${fields.join(', ')}` })));
    }
    await this.uow.run(async (tx) => {
      type Settings = { name: string; description: string; mentionable: GroupMentionable; visibility: GroupVisibility; joining: GroupJoining };
      const before = await tx.one<Settings & { slug: string }>(`SELECT slug, name, description, mentionable, visibility, joining FROM groups WHERE id = $1 FOR UPDATE`, [input.groupId]);
      if (!before) throw AppError.notFound('Group not found');
      const { slug, ...was } = before;
      const after: Settings = { name: input.name ?? was.name, description: input.description ?? was.description, mentionable: input.mentionable ?? was.mentionable, visibility: input.visibility ?? was.visibility, joining: input.joining ?? was.joining };
      assertMentionable(slug, after.mentionable);
      assertJoinable(after.visibility, after.joining);
      if (fields.every((f) => after[f] === was[f])) return; // nothing to change or log
      await tx.query(`UPDATE groups SET name = $2, description = $3, mentionable = $4, visibility = $5, joining = $6 WHERE id = $1`, [
        input.groupId, after.name, after.description, after.mentionable, after.visibility, after.joining,
      ]);
      const switched = was.joining === GroupJoining.REQUEST && after.joining !== GroupJoining.REQUEST;
      const requestsEnded = switched ? await this.memberships.endRequestsOnSwitch(tx, input.groupId, after.joining) : 0;
      await this.audit.append(tx, {
        actorId: viewer.id, action: 'group.update', targetType: 'group', targetId: input.groupId, spaceId: null, before: was,
        after: requestsEnded ? { ...after, requestsEnded } : after,
      });
    });
    return this.get(viewer, input.groupId);
  }

  /**
   * Where the viewer stands with the group: known already when the statement that read the group
   * said it, else read for every group of the batch in one statement.
   */
  async standing(viewer: Viewer, group: GroupModel): Promise<GroupMembership> {
    if (group.standing) return group.standing;
    if (!viewer.id) return GroupMembership.NONE;
    const me = viewer.id;
    return nestedCounts(viewer, 'group-standing', group.id, (ids) => this.repo.standings(me, ids), GroupMembership.NONE);
  }

  /** Whether the viewer sees the group's members (its count, its list): the rule that shows the group (a group met elsewhere, as an article's owner, may not be). */
  async seesMembers(viewer: Viewer, group: GroupModel): Promise<boolean> {
    // Where the viewer stands is asked only when it matters (a MEMBERS or OWNERS group).
    return seesGroup(viewer, group.visibility, GroupMembership.NONE) || seesGroup(viewer, group.visibility, await this.standing(viewer, group));
  }

  /** Whether the viewer manages the group's members and requests: an admin or one of its owners. */
  async manages(viewer: Viewer, group: GroupModel): Promise<boolean> {
    return viewer.isAdmin || (await this.standing(viewer, group)) === GroupMembership.OWNER;
  }

  /** A page of the group's members, owners first, then by when they joined; null to those who may not see them. */
  async members(viewer: Viewer, group: GroupModel, args: PageArgs): Promise<Connection<GroupMemberModel> | null> {
    if (!(await this.seesMembers(viewer, group))) return null;
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, MEMBERS_CURSOR, 3) as [boolean, string, string] | undefined;
    if (after && !(typeof after[0] === 'boolean' && validKeyValue(after[1], 'timestamptz') && validKeyValue(after[2], 'uuid'))) {
      throw AppError.badField('after', 'is not a valid cursor');
    }
    // Asked of every group of a list, one statement for all of them.
    const rows = await nestedPage(viewer, `group-members:${size}:${after?.join(',') ?? ''}`, group.id, (ids) => this.repo.memberPages(ids, size + 1, after), (r) => r.group_id);
    return toConnection(
      rows,
      size,
      MEMBERS_CURSOR,
      (r) => [r.owner, r.k_ts, r.a_id],
      (r) => Object.assign(new GroupMemberModel(), { user: this.users.authorOf(viewer, r), owner: r.owner, joinedAt: r.joined_at }),
      async () => group.memberCount,
    );
  }

  /** A page of the requests waiting in the group, oldest first: to its owners and the admins (null to others). */
  async requests(viewer: Viewer, group: GroupModel, args: PageArgs): Promise<Connection<GroupRequestModel> | null> {
    if (!(await this.manages(viewer, group))) return null;
    const size = pageSize(args.first);
    const after = idFromCursor(args.after, REQUESTS_CURSOR);
    const rows = await nestedPage(viewer, `group-requests:${size}:${after ?? ''}`, group.id, (ids) => this.repo.requestPages(ids, size + 1, after), (r) => r.group_id);
    return toConnection(
      rows,
      size,
      REQUESTS_CURSOR,
      (r) => [r.id],
      (r) => Object.assign(new GroupRequestModel(), { id: r.id, user: this.users.authorOf(viewer, r), message: r.message, createdAt: r.created_at }),
      () => nestedCount(viewer, 'group-requests', group.id, (ids) => this.repo.pendingCounts(ids)),
    );
  }

  /**
   * A user's groups the viewer sees the members of (so a membership the group hides never
   * shows), by name; null when the user hides their profile from the viewer (`hideProfile`).
   * One statement for every user of a list (and the profiles' one, shared with other fields).
   */
  async ofUser(viewer: Viewer, user: UserModel): Promise<GroupModel[] | null> {
    if (!(await this.users.profileShown(viewer, user))) return null;
    const rows = await nestedPage(viewer, 'user-groups', user.id, (ids) => this.repo.userGroups(viewer, ids), (r) => r.member_id);
    return rows.map(toGroupModel);
  }
}
