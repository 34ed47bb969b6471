import { Field, ID, ObjectType } from '@nestjs/graphql';
import { AccessLevel } from '../../../access/src/access-level';

/** A level of access given to a group or a user in a space. */
@ObjectType('SpaceGrant')
export class SpaceGrantModel {
  @Field(() => ID, { description: 'The grant’s own id: revokeSpaceAccess takes it as `grantId`.' }) id!: string;
  @Field(() => AccessLevel) level!: AccessLevel;
  @Field(() => ID, { nullable: true, description: 'The group it is given to; null for a user’s grant, and for one to a group you may not see (`groupHidden`).' })
  groupId!: string | null;
  @Field(() => ID, { nullable: true }) userId!: string | null;
  @Field({
    description:
      'Whether it is given to a group you may not see (its `visibility`): it counts for the space all the same, but which group is not yours to know; ' +
      'revoke it by its `id` (revokeSpaceAccess with `grantId`).',
  })
  groupHidden!: boolean;
  @Field() createdAt!: Date;
}
