import { Field, ID, Int, ObjectType } from '@nestjs/graphql';

/** A set of users (employees, customers, partners...) that space grants can name. */
@ObjectType('Group')
export class GroupModel {
  @Field(() => ID) id!: string;
  @Field() slug!: string;
  @Field() name!: string;
  @Field() description!: string;
  @Field(() => Int) memberCount!: number;
  @Field() createdAt!: Date;
}

export interface GroupRow {
  id: string;
  slug: string;
  name: string;
  description: string;
  member_count: number;
  created_at: Date;
}

export function toGroupModel(r: GroupRow): GroupModel {
  const m = new GroupModel();
  m.id = r.id;
  m.slug = r.slug;
  m.name = r.name;
  m.description = r.description;
  m.memberCount = r.member_count;
  m.createdAt = r.created_at;
  return m;
}
