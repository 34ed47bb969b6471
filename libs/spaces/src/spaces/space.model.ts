import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { AccessLevel } from '../../../access/src/access-level';

export enum SpaceVisibility {
  PUBLIC = 'PUBLIC',
  MEMBERS = 'MEMBERS',
  RESTRICTED = 'RESTRICTED',
}
registerEnumType(SpaceVisibility, {
  name: 'SpaceVisibility',
  description: 'PUBLIC: anyone reads, signed-in users participate. MEMBERS: signed-in users. RESTRICTED: only grantees.',
});

/** A community: an internal, customer or partner space with its own boards and access. */
@ObjectType('Space')
export class SpaceModel {
  @Field(() => ID) id!: string;
  @Field() slug!: string;
  @Field() name!: string;
  @Field() description!: string;
  @Field(() => SpaceVisibility) visibility!: SpaceVisibility;
  @Field({ description: 'Language of the space content (BCP 47 primary tag), used by search.' }) language!: string;
  @Field() createdAt!: Date;
  /** Filled by the resolver from the access policy. */
  viewerAccess?: AccessLevel;
}

export interface SpaceRow {
  id: string;
  slug: string;
  name: string;
  description: string;
  visibility: SpaceVisibility;
  language: string;
  created_at: Date;
}

export function toSpaceModel(r: SpaceRow): SpaceModel {
  const m = new SpaceModel();
  m.id = r.id;
  m.slug = r.slug;
  m.name = r.name;
  m.description = r.description;
  m.visibility = r.visibility;
  m.language = r.language;
  m.createdAt = r.created_at;
  return m;
}
