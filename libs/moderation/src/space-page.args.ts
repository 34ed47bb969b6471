import { ArgsType, Field, ID } from '@nestjs/graphql';
import { IsOptional, IsUUID } from 'class-validator';
import { PageArgs } from '../../core/src/graphql/pagination';
import { ID_VERSION } from '../../core/src/ids';

/** A page of a moderation list: one space's, or, without `spaceId`, everything within reach. */
@ArgsType()
export class SpacePageArgs extends PageArgs {
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a space id' }) spaceId?: string;
}
