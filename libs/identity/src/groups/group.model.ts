import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';
import { UserModel } from '../users/user.model';

/** A mention of a group with more members than this tells nobody (as Discourse's limit): it would be a broadcast. */
export const GROUP_MENTION_MAX_MEMBERS = 100;

/** Who may @mention a group (its members are told, see NotificationsHandler). */
export enum GroupMentionable {
  NOBODY = 'NOBODY',
  STAFF = 'STAFF',
  MEMBERS = 'MEMBERS',
  EVERYONE = 'EVERYONE',
}
registerEnumType(GroupMentionable, {
  name: 'GroupMentionable',
  description: 'Who may @mention a group: NOBODY, STAFF (global moderators and admins), MEMBERS (its members, and staff), EVERYONE.',
});

/** Who sees a group and its members (see `seesGroup`). */
export enum GroupVisibility {
  PUBLIC = 'PUBLIC',
  SIGNED_IN = 'SIGNED_IN',
  MEMBERS = 'MEMBERS',
  OWNERS = 'OWNERS',
}
registerEnumType(GroupVisibility, {
  name: 'GroupVisibility',
  description:
    'Who sees a group and its members (to anyone else it does not exist): PUBLIC (anyone, even signed out), SIGNED_IN (signed-in members), ' +
    'MEMBERS (its own members), OWNERS (its owners and the admins; the default). Admins see every group.',
});

/** How people get into a group. */
export enum GroupJoining {
  CLOSED = 'CLOSED',
  OPEN = 'OPEN',
  REQUEST = 'REQUEST',
}
registerEnumType(GroupJoining, {
  name: 'GroupJoining',
  description:
    'How people get in: CLOSED (its owners and the admins add them; the default), OPEN (any signed-in member who sees the group joins and leaves by themselves), ' +
    'REQUEST (they ask, with a message, and an owner or admin accepts or declines; members leave by themselves). OPEN and REQUEST need visibility SIGNED_IN or PUBLIC.',
});

/** Where the viewer stands with a group. */
export enum GroupMembership {
  NONE = 'NONE',
  MEMBER = 'MEMBER',
  OWNER = 'OWNER',
  REQUESTED = 'REQUESTED',
}
registerEnumType(GroupMembership, {
  name: 'GroupMembership',
  description: 'Where the viewer stands with a group: NONE, MEMBER, OWNER (a member who manages it), REQUESTED (their request to join waits).',
});

/** A set of users (employees, customers, partners, an interest group...) that space grants can name. */
@ObjectType('Group')
export class GroupModel {
  @Field(() => ID) id!: string;
  @Field() slug!: string;
  @Field() name!: string;
  @Field() description!: string;
  @Field(() => GroupVisibility) visibility!: GroupVisibility;
  @Field(() => GroupJoining) joining!: GroupJoining;
  /** Shown to whoever sees its members: see GroupsResolver.memberCount. */
  memberCount!: number;
  /** Admins only: see GroupsResolver.mentionable. */
  mentionable!: GroupMentionable;
  @Field() createdAt!: Date;
  /** Where the viewer stands, when the statement that read the group knew it (else a loader reads it). */
  standing?: GroupMembership;
}

export interface GroupRow {
  id: string;
  slug: string;
  name: string;
  description: string;
  visibility: GroupVisibility;
  joining: GroupJoining;
  member_count: number;
  mentionable: GroupMentionable;
  created_at: Date;
}

export function toGroupModel(r: GroupRow & { standing?: GroupMembership }): GroupModel {
  const m = new GroupModel();
  m.id = r.id;
  m.slug = r.slug;
  m.name = r.name;
  m.description = r.description;
  m.visibility = r.visibility;
  m.joining = r.joining;
  m.memberCount = r.member_count;
  m.mentionable = r.mentionable;
  m.createdAt = r.created_at;
  if (r.standing) m.standing = r.standing;
  return m;
}

/** A member of a group, as its members list shows them. */
@ObjectType('GroupMember')
export class GroupMemberModel {
  @Field(() => UserModel) user!: UserModel;
  @Field({ description: 'Whether they own the group: they add and remove its members and decide its requests.' }) owner!: boolean;
  @Field({ description: 'When they joined (or were added).' }) joinedAt!: Date;
}
export const GroupMemberConnection = ConnectionType(GroupMemberModel, 'GroupMember');

/** A request to join a group, waiting for its owners or the admins. */
@ObjectType('GroupRequest')
export class GroupRequestModel {
  @Field(() => ID) id!: string;
  @Field(() => UserModel, { description: 'Who asks.' }) user!: UserModel;
  @Field({ description: 'What they wrote to the owners (plain text).' }) message!: string;
  @Field() createdAt!: Date;
}
export const GroupRequestConnection = ConnectionType(GroupRequestModel, 'GroupRequest');
