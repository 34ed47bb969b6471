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
  /** Only resolved for the user themself (see UsersResolver.email). */
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

/**
 * What a member tells about themselves (`updateProfile`): read apart from UserRow, which every
 * author a list joins in carries, and only for the users a request asks these fields of
 * (UsersLoader.profile).
 */
export interface ProfileRow {
  id: string;
  /** The bio's markdown as its author wrote it: shown to them alone, to edit. */
  bio: string | null;
  bio_html: string | null;
  location: string | null;
  website: string | null;
  /** Only the user, moderators and admins see the profile (UsersLoader.profileShown). */
  hide_profile: boolean;
}

/** When a user was last seen (UsersLoader.lastSeen): read only for the users a request asks it of. */
export interface LastSeenRow {
  id: string;
  last_seen_at: Date | null;
}

/** A user's columns selected beside another row under an `a_` prefix: the author of a post or topic. */
export type AuthorColumns = { [K in keyof UserRow as `a_${K}`]: UserRow[K] };

/** The select list of AuthorColumns, for users joined as `u`. */
export const AUTHOR_COLUMNS = `u.id AS a_id, u.email AS a_email, u.handle AS a_handle, u.display_name AS a_display_name, u.role AS a_role,
  u.trust_level AS a_trust_level, u.is_placeholder AS a_is_placeholder, u.created_at AS a_created_at`;

export function authorOf(r: AuthorColumns): UserRow {
  return {
    id: r.a_id,
    email: r.a_email,
    handle: r.a_handle,
    display_name: r.a_display_name,
    role: r.a_role,
    trust_level: r.a_trust_level,
    is_placeholder: r.a_is_placeholder,
    created_at: r.a_created_at,
  };
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
