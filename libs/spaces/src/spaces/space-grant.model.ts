import { Field, ID, ObjectType } from '@nestjs/graphql';
import { AccessLevel } from '../../../access/src/access-level';

/** A level of access given to a group or a user in a space. */
@ObjectType('SpaceGrant')
export class SpaceGrantModel {
  @Field(() => ID) id!: string;
  @Field(() => AccessLevel) level!: AccessLevel;
  @Field(() => ID, { nullable: true }) groupId!: string | null;
  @Field(() => ID, { nullable: true }) userId!: string | null;
  @Field() createdAt!: Date;
}
