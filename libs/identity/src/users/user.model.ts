import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum GlobalRoleEnum {
  MEMBER = 'MEMBER',
  MODERATOR = 'MODERATOR',
  ADMIN = 'ADMIN',
}
registerEnumType(GlobalRoleEnum, { name: 'GlobalRole', description: 'Site-wide role: moderators moderate every space they can read; admins do everything.' });

/** A person (or an imported placeholder) as others see them. */
@ObjectType('User')
export class UserModel {
  @Field(() => ID) id!: string;
  @Field({ description: 'Unique, lower-case handle used in mentions (@handle).' }) handle!: string;
  @Field() displayName!: string;
  @Field(() => GlobalRoleEnum) role!: GlobalRoleEnum;
  @Field(() => Int, { description: '0 new, 1 basic, 2 member, 3 regular, 4 leader.' }) trustLevel!: number;
  @Field() createdAt!: Date;
  /** Only resolved for the user themself and admins (see UsersResolver.email). */
  emailAddress!: string | null;
  /** Set on the user an auth payload returns: the requester just proved to be them. */
  isAuthenticatedSelf?: boolean;
}

export interface UserRow {
  id: string;
  email: string | null;
  handle: string;
  display_name: string;
  role: GlobalRoleEnum;
  trust_level: number;
  is_placeholder: boolean;
  created_at: Date;
}

export function toUserModel(r: UserRow): UserModel {
  const m = new UserModel();
  m.id = r.id;
  m.handle = r.handle;
  m.displayName = r.display_name;
  m.role = r.role;
  m.trustLevel = r.trust_level;
  m.createdAt = r.created_at;
  m.emailAddress = r.email;
  return m;
}
