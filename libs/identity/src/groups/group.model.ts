import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';

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

/** A set of users (employees, customers, partners...) that space grants can name. */
@ObjectType('Group')
export class GroupModel {
  @Field(() => ID) id!: string;
  @Field() slug!: string;
  @Field() name!: string;
  @Field() description!: string;
  /** Admins only: see GroupsResolver.memberCount. */
  memberCount!: number;
  /** Admins only: see GroupsResolver.mentionable. */
  mentionable!: GroupMentionable;
  @Field() createdAt!: Date;
}

export interface GroupRow {
  id: string;
  slug: string;
  name: string;
  description: string;
  member_count: number;
  mentionable: GroupMentionable;
  created_at: Date;
}

export function toGroupModel(r: GroupRow): GroupModel {
  const m = new GroupModel();
  m.id = r.id;
  m.slug = r.slug;
  m.name = r.name;
  m.description = r.description;
  m.memberCount = r.member_count;
  m.mentionable = r.mentionable;
  m.createdAt = r.created_at;
  return m;
}
